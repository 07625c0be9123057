"""What FAB 5's `AppBuilder.add_permissions(update_perms=True)` makes of the registered views and the menu,
computed instead of done row by row (FAB commits each permission, view, grant: ~500 commits at every
`school init`). Read from FAB 5.3's add_permissions, _add_permission, _add_menu_permissions and the security
manager's add_permissions_view / add_permissions_menu:

- every view's `base_permissions` on its `class_permission_name` (views sharing a name add up);
- `menu_access` on every menu category and item (separators "-" excepted);
- the admin role (`AUTH_ROLE_ADMIN`, unless it is a builtin role) is granted all of these;
- a permission of a view's name outside that view's base permissions is deleted only when no role holds it
  (FAB's removal "from all roles" passes a Permission where a PermissionView is expected and removes
  nothing, and it never deletes a permission-view a role holds); its permission goes with it when no
  permission-view uses it any more. View menus are never deleted; roles never lose a grant.
- Renames (`previous_class_permission_name`, method renames) are FAB's `security-converge`, not
  add_permissions: not done here either.
"""
from app.security.permissions import MENU_ACCESS

Pair = tuple[str, str]  # (permission, view menu)


def view_permissions(appbuilder) -> dict[str, set[str]]:
    """View menu name → the permissions its registered views expose."""
    views: dict[str, set[str]] = {}
    for view in appbuilder.baseviews:
        views.setdefault(view.class_permission_name, set()).update(view.base_permissions or ())
    return views


def menu_names(appbuilder) -> list[str]:
    """Every menu category and item that gets a menu_access permission."""
    names: list[str] = []
    for category in appbuilder.menu.get_list() if appbuilder.menu is not None else []:
        names.append(category.name)
        names.extend(item.name for item in category.childs if item.name != "-")
    return names


def fab_pairs(views: dict[str, set[str]], menus: list[str]) -> set[Pair]:
    """Every (permission, view menu) FAB creates and grants the admin role."""
    return {(perm, view) for view, perms in views.items() for perm in perms} | {(MENU_ACCESS, m) for m in menus}


def obsolete_pairs(existing: set[Pair], held: set[Pair], views: dict[str, set[str]], kept: set[Pair]) -> set[Pair]:
    """Permission-views FAB deletes: on a registered view's name, not among its permissions, held by no role
    (those FAB or the role table would create again at once are `kept`: the same names either way)."""
    spared = held | kept
    return {(perm, view) for perm, view in existing - spared if view in views and perm not in views[view]}
