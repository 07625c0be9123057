"""FAB's menu rendered once per (roles, their grants, language), not on every page: its template checks a
permission, builds a URL and translates a label for each of ~50 items, a third of the journal grid's
server time. The request's grants (app.security.grants, read once per request anyway) are part of the key,
so a changed grant shows at the next request; anonymous pages render the menu as FAB does."""
from flask import current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from app.extensions import db
from app.security import grants

CACHE = "school.navbar_menu"  # app.extensions: key → the menu's HTML
LIMIT = 256  # role sets × languages a school has are few; a full cache starts again


def navbar_menu() -> Markup:
    """The menu's items (FAB's `appbuilder/navbar_menu.html`) for the current user."""
    key = menu_key()
    if key is None:
        return _render()
    cache = current_app.extensions.setdefault(CACHE, {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= LIMIT:
            cache.clear()
        html = cache[key] = _render()
    return html


def menu_key() -> tuple | None:
    """What the menu's HTML depends on: the language, the URL prefix, the roles (own and their groups')
    and what they grant (None: not kept — anonymous, or no request grants to tell a change by)."""
    sm = current_app.appbuilder.sm
    user = sm.current_user
    if user is None or user.is_anonymous or not user.is_active:
        return None
    roles = sm.get_user_roles(user)  # their groups' roles too, as FAB's checks count them
    held = grants.of_roles(db.session, [role.id for role in roles])
    if held is None:
        return None
    return str(get_locale()), request.script_root, frozenset(role.name for role in roles), held


def _render() -> Markup:
    return Markup(render_template("appbuilder/navbar_menu.html", menu=current_app.appbuilder.menu))


def install(app) -> None:
    """Make `navbar_menu()` available to the navbar template (app/templates/appbuilder/navbar.html)."""
    app.jinja_env.globals["navbar_menu"] = navbar_menu
