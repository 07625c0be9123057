"""FAB's security manager with session epochs (app/security/sessions.py), a logout that is a POST, and the
roles' permissions read once per request: FAB asks the database once per permission check, and a page's
navbar alone checks one permission per menu item."""
from flask import current_app, has_request_context, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, ViewMenu, assoc_permissionview_role
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select

from app.extensions import db
from app.security import sessions

_PERMISSIONS = "school.role_permissions"  # request.environ key: lives exactly as long as the request


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
    """Sessions and JWTs valid only under their user's current epoch; permission checks answered from one
    query per request and set of roles."""

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

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        """Whether any of the roles has the permission on the view (FAB's question, cached per request)."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        cache = request.environ.setdefault(_PERMISSIONS, {})
        key = frozenset(role_ids)
        if key not in cache:
            cache[key] = self._granted(key)
        return (permission_name, view_name) in cache[key]

    def _granted(self, role_ids: frozenset[int]) -> frozenset[tuple[str, str]]:
        """Every (permission, view) pair the roles hold."""
        rows = self.session.execute(
            select(Permission.name, ViewMenu.name)
            .select_from(PermissionView)
            .join(Permission, PermissionView.permission_id == Permission.id)
            .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
            .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
        )
        return frozenset(tuple(row) for row in rows)
