"""Paper extracts: the PDF's text comes from the database, long extracts repeat the table header,
every page says «стр. N из M» of its own extract, each document is laid out once, batches keep
class-list order and come out the same in the pool, paper-only excludes consented families, the log
and verification."""
import datetime as dt
import hashlib
import io

import pytest
from flask_appbuilder.security.sqla.models import User
from pypdf import PdfReader
from reportlab.platypus.doctemplate import BaseDocTemplate
from sqlalchemy import func, select

from app.extensions import db
from app.models import ExtractLog, FinalGrade, FinalStatus, FinalValue
from app.services.errors import RuleViolation
from app.services.extracts import NOT_FOUND, make_order, print_order, printer_of, system_printer, verify
from app.services.extracts_data import SECTIONS
from tests.consent_helpers import record
from tests.factories import assign, subject
from tests.finals_helpers import give_marks, q1
from tests.journal_helpers import HTTP_TODAY, add_students

pytestmark = pytest.mark.usefixtures("frozen_today")  # HTTP_TODAY


def pages(data: bytes) -> list[str]:
    """The text of each page."""
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def final(world, kid, period, value=None, status=FinalStatus.final, deadline=None) -> FinalGrade:
    grade = FinalGrade(school=world.school_a, student=world.students[kid], subject=world.subjects["math"],
                       period=period, value=value, status=status, deferral_deadline=deadline,
                       deferral_reason="болезнь" if deadline else "")
    db.session.add(grade)
    db.session.commit()
    return grade


def printed(world, **kwargs) -> tuple[bytes, list[ExtractLog]]:
    order = make_order(system_printer(), period_id=q1(world).id, **kwargs)
    data = print_order(system_printer(), order, HTTP_TODAY)
    db.session.commit()
    return data, order.logs


def assert_numbered(texts: list[str], logs: list[ExtractLog]) -> None:
    """Each page of each extract ends with «стр. N из M», N and M of that extract."""
    assert sum(log.pages for log in logs) == len(texts)
    for log in logs:
        for n in range(1, log.pages + 1):
            assert texts[log.first_page + n - 2].rstrip().endswith(f"стр. {n} из {log.pages}")


def log_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ExtractLog))


def test_extract_shows_name_subject_marks_average_and_final(world):
    give_marks(world, world.students["Алексеев"], [(5, 1), (4, 1), (3, 5)])
    final(world, "Алексеев", q1(world), FinalValue.four)
    data, logs = printed(world, student_id=world.students["Алексеев"].id, sections=list(SECTIONS),
                         end=dt.date(2026, 11, 2))
    text = "\n".join(pages(data))
    assert "Алексеев Иван Иванович" in text and "Математика" in text and "5А" in text
    assert "5 (01.09)" in text and "4 (02.09)" in text and "3* (03.09)" in text
    lines = [line.strip() for line in text.splitlines()]
    at = lines.index("3,42")  # (5 + 4 + 3·5) / 7, truncated
    assert lines[at + 1] == "4" and "Итоговая" in text
    assert logs[0].number in text and "Директорова Д. Д." in text
    assert "Осенние каникулы" in text and "Учителева" in text
    assert log_count() == 1 and logs[0].sha256 and logs[0].pages == len(pages(data))


def test_deferred_final_prints_as_deferral(world):
    final(world, "Борисов", q1(world), status=FinalStatus.deferred, deadline=dt.date(2026, 12, 15))
    data, _logs = printed(world, student_id=world.students["Борисов"].id)
    assert "отсрочка до 15.12.2026" in " ".join(" ".join(pages(data)).split())


def test_long_extracts_span_pages_repeat_the_header_and_number_their_own_pages(world):
    for n in range(45):
        assign(world.staff["teacher"], subject(world.school_a, f"Предмет номер {n:02d} с длинным названием"),
               world.classes["5А"])
    db.session.commit()
    data, logs = printed(world, class_id=world.classes["5А"].id)  # two students, in one file
    texts = pages(data)
    assert len(logs) == 2 and all(log.pages > 1 for log in logs)
    marks_pages = [t for t in texts if "Предмет номер" in t]
    assert len(marks_pages) > 2 and all("Отметки (дата)" in t for t in marks_pages)
    assert_numbered(texts, logs)


def test_each_extract_is_laid_out_once(world, app, monkeypatch):
    """xhtml2pdf lays a document with <pdf:pagecount> out twice; the pages are numbered after merging."""
    builds, build = [], BaseDocTemplate.build
    monkeypatch.setattr(BaseDocTemplate, "build", lambda doc, *a, **kw: builds.append(doc) or build(doc, *a, **kw))
    app.config["EXTRACTS_POOL_MIN"] = 99  # converted here, where the builds are counted
    _data, logs = printed(world, class_id=world.classes["5А"].id)
    assert len(logs) == 2 and len(builds) == 2
    builds.clear()
    data, logs = printed(world, class_id=world.classes["5А"].id, sections=list(SECTIONS))
    assert len(builds) == 3  # each student's part, and the class's sections they share once
    texts = pages(data)
    assert_numbered(texts, logs)
    for log in logs:  # the shared pages carry each extract's own number and student in the footer
        own = texts[log.first_page - 1:log.first_page - 1 + log.pages]
        assert sum("Каникулы" in t for t in own) == 1 and "Рекомендации педагогов" in own[0]
        footer = f"Выписка № {log.number} от {HTTP_TODAY:%d.%m.%Y} · {log.student.short_name} · стр."
        assert all(footer in t for t in own)


def test_class_batch_has_one_extract_per_student_in_order_and_the_pool_changes_no_byte(world, app):
    add_students(world, "5А", 3, prefix="Яковлев")
    app.config["EXTRACTS_POOL_MIN"] = 99
    order = make_order(system_printer(), period_id=q1(world).id, class_id=world.classes["5А"].id)
    here = print_order(system_printer(), order, HTTP_TODAY)
    db.session.rollback()  # the same numbers again
    app.config["EXTRACTS_POOL_MIN"] = 1
    data, logs = printed(world, class_id=world.classes["5А"].id)
    assert data == here
    names = [log.student.surname for log in logs]
    assert names == ["Алексеев", "Борисов", "Яковлев00", "Яковлев01", "Яковлев02"]
    texts = pages(data)
    for log in logs:
        first = texts[log.first_page - 1]
        assert log.number in first and log.student.surname in first
    assert_numbered(texts, logs)
    assert len({log.sha256 for log in logs}) == 1 and [log.seq for log in logs] == [1, 2, 3, 4, 5]


def test_paper_only_excludes_consented_families(world):
    record(world)  # Алексеев's mother consents to electronic delivery
    data, logs = printed(world, class_id=world.classes["5А"].id, paper_only=True)
    assert [log.student.surname for log in logs] == ["Борисов"]
    assert "Алексеев" not in "\n".join(pages(data))
    _data, school = printed(world, all_paper=True)
    assert [log.student.surname for log in school] == ["Борисов", "Васильев"]


def test_verification_accepts_the_file_and_refuses_a_changed_one(world):
    data, logs = printed(world, student_id=world.students["Алексеев"].id)
    number = logs[0].number
    assert number.startswith("В-2026-") and verify(number, data).ok
    changed = data.replace(b"/Producer", b"/Produser", 1) if b"/Producer" in data else data + b"%"
    assert not verify(number, changed).ok and verify(number, changed).found
    assert not verify("В-2026-999999", data).found


@pytest.mark.parametrize("kwargs, field", [
    ({"class_id": 999999}, "class"),
    ({"student_id": 999999}, "student"),
    ({"class_id": "B5А"}, "class"),
    ({"student_id": "Алексеев", "start": dt.date(2026, 10, 1), "end": dt.date(2026, 9, 1)}, "start"),
    ({"student_id": "Алексеев", "sections": ["gossip"]}, "sections"),
    ({"student_id": "Алексеев", "start": dt.date(2025, 1, 1)}, "start"),
])
def test_bad_input_is_refused_and_nothing_logged(world, kwargs, field):
    if kwargs.get("class_id") == "B5А":
        kwargs["class_id"] = world.classes["B5А"].id
    if kwargs.get("student_id") == "Алексеев":
        kwargs["student_id"] = world.students["Алексеев"].id
    with pytest.raises(RuleViolation) as err:
        make_order(printer_of(db.session.scalar(select(User).where(User.username == "director"))),
                   period_id=q1(world).id, **kwargs)
    assert err.value.field == field and err.value.message
    if field in NOT_FOUND:
        assert err.value.message == str(NOT_FOUND[field])
    with pytest.raises(RuleViolation):
        make_order(system_printer(), period_id=999999, student_id=world.students["Алексеев"].id)
    assert log_count() == 0


def test_cli_print_and_verify_exit_codes(world, runner, tmp_path):
    out = tmp_path / "5a.pdf"
    result = runner.invoke(args=["extracts", "print", "--class", "5А", "--period", "1 четверть",
                                 "--school", "Школа А", "--out", str(out)])
    assert result.exit_code == 0, result.output
    number = db.session.scalars(select(ExtractLog.number).order_by(ExtractLog.seq)).first()
    assert out.exists() and log_count() == 2
    ok = runner.invoke(args=["extracts", "verify", number, str(out)])
    assert ok.exit_code == 0, ok.output
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(out.read_bytes() + b"\n%changed")
    assert runner.invoke(args=["extracts", "verify", number, str(changed)]).exit_code == 1
    assert runner.invoke(args=["extracts", "verify", "В-1-1", str(out)]).exit_code == 2
    for bad in (["--class", "9Я", "--period", "1 четверть"], ["--class", "5А", "--period", "7 четверть"],
                ["--class", "5А", "--period", "1 четверть", "--from", "2026-10-01", "--to", "2026-09-01"]):
        missing = tmp_path / "bad.pdf"
        result = runner.invoke(args=["extracts", "print", *bad, "--school", "Школа А", "--out", str(missing)])
        assert result.exit_code == 2, result.output
        assert "Ошибка" in result.output and not missing.exists()
    no_class = runner.invoke(args=["extracts", "print", "--period", "1 четверть", "--school", "Школа А",
                                   "--out", str(tmp_path / "school.pdf")])
    assert no_class.exit_code == 2 and "--paper-only" in no_class.output
    assert log_count() == 2


def test_cli_file_that_cannot_be_written_uses_no_number(world, runner, tmp_path):
    """The printed file is the one handed over: when it cannot be written (a folder that does not exist),
    nothing is logged and the next print gets the same number."""
    args = ["extracts", "print", "--class", "5А", "--period", "1 четверть", "--school", "Школа А", "--out"]
    failed = runner.invoke(args=[*args, str(tmp_path / "нет такой папки" / "5А.pdf")])
    assert failed.exit_code == 2 and "Ошибка: не удалось записать" in failed.output
    assert log_count() == 0
    out = tmp_path / "5А.pdf"
    assert runner.invoke(args=[*args, str(out)]).exit_code == 0
    db.session.expire_all()
    assert db.session.scalars(select(ExtractLog.number).order_by(ExtractLog.seq)).all() == \
        ["В-2026-000001", "В-2026-000002"]
    assert {x.sha256 for x in db.session.scalars(select(ExtractLog))} == {hashlib.sha256(out.read_bytes()).hexdigest()}
