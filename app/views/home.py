"""The home page: who you are, your school and your classes (and the exchange's state for its readers)."""
from flask_appbuilder import IndexView, expose
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, School
from app.security.scope import current_scope, visible_clause
from app.views.exchange import dashboard


class HomeView(IndexView):
    """Greets the user with their school and the classes they may open."""

    index_template = "home.html"

    @expose("/")
    def index(self):
        """Home page; anonymous visitors see the login invitation."""
        scope = current_scope()
        school = db.session.get(School, scope.school_id) if scope.school_id else None
        classes = []
        if scope.user_id:
            query = select(ClassUnit).order_by(ClassUnit.grade, ClassUnit.letter)
            clause = visible_clause(ClassUnit, scope)
            if clause is not None:
                query = query.where(clause)
            classes = db.session.scalars(query.limit(60)).all()
        exchange = dashboard(scope) if scope.user_id else None
        return self.render_template(self.index_template, school=school, classes=classes, scope=scope,
                                    exchange=exchange)
