"""FAB's security manager with session epochs (app/security/sessions.py), a logout that is a POST, and the
roles' permissions read once per request: FAB asks the database once per permission check, and a page's
navbar alone checks one permission per menu item."""
from flask import current_app, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app.extensions import db
from app.security import grants, sessions


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
        """The session's user while active and signed in under the current epoch (one statement: the user, their
        roles and groups, and the epoch)."""
        user = self.load_user(pk)
        return user if user is not None and sessions.session_is_current(user) else None

    def create_jwt_manager(self, app):
        """FAB's JWT manager; every token carries the epoch, an older one is revoked (401)."""
        jwt_manager = super().create_jwt_manager(app)
        sessions.install_jwt(jwt_manager)
        return jwt_manager

    def load_user(self, pk):
        """The active user of this id, with roles and groups, read once per request (sessions.user_and_epoch)."""
        user, _epoch = sessions.user_and_epoch(int(pk))
        return user if user is not None and user.is_active else None

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        """Whether any of the roles has the permission on the view (FAB's question, cached per request)."""
        granted = grants.of_roles(self.session, role_ids)
        if granted is None:
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        return (permission_name, view_name) in granted

    def _public_grants(self):
        """The public role's id and grants for this request; a request that names its user (session or bearer
        token: FAB's REST checks ask the public role before the user) reads them with the user."""
        if grants.public_unread(self.auth_role_public):
            user_id = sessions.claimed_user_id()
            if user_id is not None:
                sessions.user_and_epoch(user_id)
        return grants.public(self.session, self.auth_role_public)

    def is_item_public(self, permission_name: str, view_name: str) -> bool:
        """Whether the public role has the permission on the view (FAB reads the role and its permissions at
        every check: twice per menu item of an anonymous page, twice per REST call)."""
        public = self._public_grants()
        if public is None:
            return super().is_item_public(permission_name, view_name)
        return (permission_name, view_name) in public[1]

    def get_public_role(self):
        """The public role, its id read once per request (with its grants)."""
        public = self._public_grants()
        if public is None:
            return super().get_public_role()
        return None if public[0] is None else self.session.get(self.role_model, public[0])

    def _get_user_permission_view_menus(self, user, permission_name: str, view_menus_name: list[str]) -> set[str]:
        """The menu names with this permission for the user (None: the public), as FAB answers them (built-in
        roles by their patterns, database roles by their grants), from the request's grants: FAB's menu asks
        once per category."""
        roles = [self.get_public_role()] if user is None else self.get_user_roles(user)
        db_role_ids = [role.id for role in roles if role.name not in self.builtin_roles]
        granted = grants.of_roles(self.session, db_role_ids)
        if granted is None:
            return super()._get_user_permission_view_menus(user, permission_name, view_menus_name)
        result = {view for perm, view in granted if perm == permission_name}
        result.update(
            name for role in roles if role.name in self.builtin_roles for name in view_menus_name
            if self._has_access_builtin_roles(role, permission_name, name))
        return result

    def get_role_permissions(self, role) -> set[tuple[str, str]]:
        """Every (permission, view) pair of the role, from the request's grants for a database role."""
        granted = None if role.name in self.builtin_roles else grants.of_roles(self.session, [role.id])
        return super().get_role_permissions(role) if granted is None else set(granted)
