"""FAB's security manager with session epochs (app/security/sessions.py) and a logout that is a POST."""
from flask import current_app, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app.extensions import db
from app.security import sessions


class AuthDBView(FabAuthDBView):
    """FAB's sign-in, with logout as a POST with the CSRF token (the navbar's button) that ends every
    session and token of the user. GET /logout/ only asks. (Same class name: same endpoints as FAB's.)"""

    logout_template = "security/logout.html"

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        """GET: the confirmation form; POST (CSRF-checked like every form): sign out everywhere."""
        if request.method == "GET":
            if not current_user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template(self.logout_template, title=_l("Sign out"))
        user = self._get_authenticated_user()
        if user is not None:
            sessions.end_sessions(user.id)
            db.session.commit()
        logout_user()
        if user is not None:
            self.appbuilder.sm.on_user_logout(user)
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL", self.appbuilder.get_url_for_login))


class SchoolSecurityManager(SecurityManager):
    """Sessions and JWTs valid only under their user's current epoch."""

    authdbview = AuthDBView

    def create_login_manager(self, app):
        """FAB's login manager; a session of an older epoch loads no user (anonymous)."""
        lm = super().create_login_manager(app)
        lm.user_loader(self.load_session_user)
        return lm

    def load_session_user(self, pk):
        """The session's user while active and signed in under the current epoch."""
        user = self.load_user(pk)
        return user if user is not None and sessions.session_is_current(user) else None

    def create_jwt_manager(self, app):
        """FAB's JWT manager; every token carries the epoch, an older one is revoked (401)."""
        jwt_manager = super().create_jwt_manager(app)
        sessions.install_jwt(jwt_manager)
        return jwt_manager
