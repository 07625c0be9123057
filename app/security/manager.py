"""FAB's security manager with the roles' permissions read once per request: FAB asks the database once
per permission check, and a page's navbar alone checks one permission per menu item."""
from flask import has_request_context, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, ViewMenu, assoc_permissionview_role
from sqlalchemy import select

_CACHE = "school.role_permissions"  # request.environ key: lives exactly as long as the request


class SchoolSecurityManager(SecurityManager):
    """Permission checks answered from one query per request and set of roles."""

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        """Whether any of the roles has the permission on the view (FAB's question, cached per request)."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        cache = request.environ.setdefault(_CACHE, {})
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
