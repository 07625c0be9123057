"""Shared pieces of the permission, row-level and API tests.

Every test-client request runs in its own application context and database session (the `app`
fixture's IsolatedClient), so a test with two users checks each of them, and checks read what was committed.
"""
import re

import pytest
from flask import current_app
from flask_appbuilder import Model
from flask_appbuilder.api.manager import OpenApi
from sqlalchemy import select

from app.extensions import db
from app.security.roles import ROLE_ADMIN, ROLE_PERMISSIONS, ROLE_PUBLIC


def is_ours(view) -> bool:
    """A view of this project rather than one of FAB's own (security, OpenAPI, menu): app/api/openapi.py's
    spec view is FAB's, only cached."""
    return not isinstance(view, OpenApi) and not type(view).__module__.startswith("flask_appbuilder")


@pytest.fixture
def isolated_requests(app):
    """Kept for old tests: request isolation is now the `app` fixture's default (tests/isolation.py)."""


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a JWT."""
    return {"Authorization": f"Bearer {token}"}


def role_names(username: str) -> set[str]:
    """The roles of a login of the world, read from the database."""
    sm = current_app.appbuilder.sm
    return {r.name for r in sm.find_user(username=username).roles}


def granted(roles: set[str]) -> set[tuple[str, str]] | None:
    """Union of the role table's grants for these roles; None means everything (Admin)."""
    if ROLE_ADMIN in roles:
        return None
    out = set(ROLE_PERMISSIONS[ROLE_PUBLIC])
    for role in roles:
        out |= ROLE_PERMISSIONS[role]
    return out


def may(grants: set[tuple[str, str]] | None, permission: str, resource: str) -> bool:
    """Whether the grants (None: everything) include this permission on this resource."""
    return grants is None or (permission, resource) in grants


def snapshot() -> dict[str, list[tuple]]:
    """Every committed row of every school table (not FAB's), to prove that nothing changed."""
    out = {}
    with db.engine.connect() as conn:
        for table in Model.metadata.sorted_tables:
            if table.name.startswith("ab_") or table.name == "alembic_version":
                continue
            out[table.name] = sorted(tuple(repr(v) for v in row) for row in conn.execute(select(table)))
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    """Names of the tables whose rows differ between two snapshots."""
    return sorted(name for name in before if before[name] != after.get(name))


def fresh(model, pk):
    """The committed state of one row (the test's own session may hold stale copies)."""
    db.session.expire_all()
    return db.session.get(model, pk)


_SELECT = re.compile(r'<select\b([^>]*)>(.*?)</select>', re.S)
_NAME = re.compile(r'\bname="([^"]+)"')
_OPTION = re.compile(r'<option\b[^>]*\bvalue="([^"]*)"')


def select_options(page: str) -> dict[str, set[str]]:
    """Option values of every <select> of a page, by field name (blank choices dropped).

    The list page's search form embeds its fields as JSON-escaped HTML: that is unescaped first.
    """
    page = page.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    out: dict[str, set[str]] = {}
    for attrs, body in _SELECT.findall(page):
        name = _NAME.search(attrs)
        if name:
            values = {v for v in _OPTION.findall(body) if v not in ("", "__None")}
            out.setdefault(name.group(1), set()).update(values)
    return out


SHOW_LINK = r'href="{route}/show/(\d+)"'


def listed_pks(page: str, route_base: str) -> set[int]:
    """Primary keys of the rows of a list page (from their «show» links)."""
    return {int(pk) for pk in re.findall(SHOW_LINK.format(route=re.escape(route_base)), page)}


_ERROR = re.compile(r'alert alert-danger">\s*([^<]*?)\s*<')
_LABEL = re.compile(r'<label for="([^"]+)"')


def field_errors(page: str) -> dict[str, str]:
    """Validation messages of a re-rendered FAB form, by field name."""
    out = {}
    for match in _ERROR.finditer(page):
        labels = _LABEL.findall(page, 0, match.start())
        if labels:
            out[labels[-1]] = match.group(1)
    return out
