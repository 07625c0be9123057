"""FAB's menu is rendered once per roles, grants and language (app/views/navbar.py): a page no longer asks
a permission per menu item, the menu is FAB's own, and a grant taken away leaves it at the next request."""
import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import Group, Permission, PermissionView, ViewMenu

from app.extensions import db
from app.views.navbar import CACHE
from tests.journal_helpers import HTTP_WEEK, add_lessons, period_of

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def journal_url(world) -> str:
    return (f"/journal/grid?target=class_id&id={world.classes['5А'].id}&subject={world.subjects['math'].id}"
            f"&period={period_of(world.year_a, 2).id}")


def menu_checks(client, url: str, monkeypatch) -> tuple[int, str]:
    """How many menu permissions one GET asks FAB's security manager, and the page."""
    sm, asked = current_app.appbuilder.sm, []
    real = sm.has_access

    def counted(permission, view, *args, **kwargs):  # the real check, counted
        asked.append(permission) if permission == "menu_access" else None
        return real(permission, view, *args, **kwargs)

    monkeypatch.setattr(sm, "has_access", counted)
    try:
        response = client.get(url)
    finally:
        monkeypatch.undo()
    assert response.status_code == 200
    return len(asked), response.get_data(as_text=True)


def test_the_menu_is_checked_once_per_roles_not_per_page(world, login_as, monkeypatch):
    add_lessons(world, *HTTP_WEEK)
    client = login_as("teacher")
    first, first_page = menu_checks(client, journal_url(world), monkeypatch)
    again, page = menu_checks(client, journal_url(world), monkeypatch)
    other, other_page = menu_checks(client, "/journal/", monkeypatch)
    assert again == other == 0, (first, again, other)
    assert 'href="/journal/"' in page and "Журналы" in page  # the menu is there, in Russian
    menu = page[page.index('<ul class="nav navbar-nav">'):page.index('navbar-right')]
    assert menu in other_page and menu in first_page


def test_a_grant_taken_away_leaves_the_menu_at_the_next_request(world, login_as):
    client = login_as("teacher")
    assert 'href="/journal/"' in client.get("/journal/").get_data(as_text=True)
    roles = current_app.appbuilder.sm.find_user(username="teacher").roles
    journals = db.session.scalar(db.select(PermissionView).join(ViewMenu).join(Permission).where(
        ViewMenu.name == "Journals", Permission.name == "menu_access"))
    for role in roles:
        if journals in role.permissions:
            role.permissions.remove(journals)
    db.session.commit()
    page = client.get("/journal/")
    assert page.status_code == 200 and 'href="/journal/"' not in page.get_data(as_text=True)
    assert 'href="/journal/grid' in page.get_data(as_text=True)  # the page itself is still the teacher's


def menu_of(page: str) -> str:
    return page[page.index('<ul class="nav navbar-nav">'):page.index("navbar-right")]


def test_a_groups_role_counts_in_the_menu_as_in_fabs_checks(world, login_as):
    sm = current_app.appbuilder.sm
    db.session.add(Group(name="Регистраторы", roles=[sm.find_role("Registrar")],
                         users=[sm.find_user(username="teacher_b")]))
    db.session.commit()
    plain = menu_of(login_as("teacher").get("/journal/").get_data(as_text=True))  # kept for the Teacher role
    grouped = menu_of(login_as("teacher_b").get("/journal/").get_data(as_text=True))
    current_app.extensions[CACHE].clear()
    assert grouped != plain and grouped.count("<li") > plain.count("<li")
    assert menu_of(login_as("teacher_b").get("/journal/").get_data(as_text=True)) == grouped  # FAB's own, rendered anew
