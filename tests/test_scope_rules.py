"""The row filter fails closed, and one table says what each role may do (app/security/roles.py)."""
import uuid

from app.extensions import db
from app.models import OutboxMessage
from app.security import scope
from app.security.roles import (
    ADMINISTERS,
    PRINTS_HOMEROOM,
    READS_SCHOOL,
    ROLE_CAPABILITIES,
    ROLE_PERMISSIONS,
    capabilities,
)
from tests.journal_helpers import actor, count


def _unruled_models() -> list[type]:
    """School-owned models with neither a teacher rule nor a place among the school-wide reference data."""
    models = [m.class_ for m in db.Model.registry.mappers]
    return [m for m in models if hasattr(m, "school_id") and m not in scope._TEACHER_RULES
            and m not in scope.SCHOOL_WIDE]


def test_a_school_owned_model_with_no_rule_shows_a_teacher_nothing(world):
    db.session.add(OutboxMessage(school_id=world.school_a.id, key=str(uuid.uuid4()), kind="mark",
                                 student_id=world.students["Алексеев"].id, payload={}))
    db.session.commit()
    unruled = _unruled_models()
    assert OutboxMessage in unruled  # the outbox has no teacher rule: nobody wrote one
    teacher, director = actor("teacher").scope, actor("director").scope
    for model in unruled:
        assert count(model, scope.visible_clause(model, teacher)) == 0, model.__name__
    assert count(OutboxMessage, scope.visible_clause(OutboxMessage, director)) == 1
    assert not scope.is_visible(db.session.scalars(db.select(OutboxMessage)).one(), teacher)


def test_every_role_has_its_capabilities_and_they_add_up():
    assert set(ROLE_CAPABILITIES) == set(ROLE_PERMISSIONS)  # a new role must say what it may do
    assert capabilities(["Teacher", "ClassTeacher"]) == {PRINTS_HOMEROOM}
    assert READS_SCHOOL in capabilities(["Auditor"]) and ADMINISTERS not in capabilities(["Auditor"])
    assert capabilities(["Unknown"]) == frozenset()


def test_the_journal_and_the_extracts_read_the_same_table(world):
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import select

    from app.services.extracts import printer_of

    for username in ("director", "registrar", "classteacher", "teacher", "auditor"):
        user = db.session.scalar(select(User).where(User.username == username))
        can = capabilities(user.roles)
        assert actor(username).administration == (ADMINISTERS in can), username
        assert actor(username).scope.reads_school == (READS_SCHOOL in can), username
        assert printer_of(user).homeroom == (PRINTS_HOMEROOM in can), username
