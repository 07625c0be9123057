"""Issue 18 p.1: import of a timetable from CSV/XLSX (the template's columns) and from aSc Timetables' XML
export, all or nothing: each bad row is «строка N: причина», a dry run saves nothing, clashes with the
timetable or between rows are refused like any other write."""
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, TimetableEntry
from app.services.timetable_import import (
    COLUMNS,
    TimetableRejected,
    import_timetable,
    read_table,
    template_csv,
)
from tests.journal_helpers import bell_slot, message, timetable_entry

HEADER = ";".join(header for _key, header in COLUMNS)


def csv_file(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


def entries() -> list[tuple]:
    return db.session.execute(select(TimetableEntry.weekday, TimetableEntry.room).order_by(
        TimetableEntry.weekday)).tuples().all()


@pytest.fixture
def slots(world):
    return bell_slot(world, 1), bell_slot(world, 2)


def test_a_csv_timetable_is_imported_and_audited(world, slots):
    rows = read_table(csv_file("5А;Математика;Учителева Анна Петровна;пн;1;12;;",
                               "5Б;Математика;;вторник;2;14;01.09.2026;31.12.2026"), "расписание.csv")
    outcome = import_timetable(rows, world.school_a, world.year_a)
    db.session.commit()
    assert outcome.created == 2 and entries() == [(0, "12"), (1, "14")]
    second = db.session.scalar(select(TimetableEntry).where(TimetableEntry.weekday == 1))
    assert (second.valid_from.isoformat(), second.valid_to.isoformat()) == ("2026-09-01", "2026-12-31")
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.entity == "timetable_entry")) == 2


def test_an_xlsx_timetable_and_a_dry_run(world, slots):
    book = Workbook()
    book.active.append([header for _key, header in COLUMNS])
    book.active.append(["5А", "Математика", "", "3", 2, "7", None, None])
    data = io.BytesIO()
    book.save(data)
    rows = read_table(data.getvalue(), "timetable.xlsx")
    outcome = import_timetable(rows, world.school_a, world.year_a, dry_run=True)
    db.session.commit()
    assert outcome.created == 1 and entries() == []  # a dry run saves nothing
    import_timetable(rows, world.school_a, world.year_a)
    db.session.commit()
    assert entries() == [(2, "7")]


def test_every_bad_row_is_named_and_nothing_is_saved(world, slots):
    timetable_entry(world, 4, "5Б")  # 5Б mathematics on Fridays, slot 1, room 12
    before = entries()
    rows = read_table(csv_file(
        "5А;Математика;;пн;1;12;;",  # fine alone
        "5В;Математика;;пн;2;;;",  # no such class
        "5А;Физика;;пн;2;;;",  # no such assignment
        "5А;Математика;Другова;пн;2;;;",  # not this teacher's
        "5А;Математика;;вс;2;;;",  # Sunday
        "5А;Математика;;пн;9;;;",  # no 9th lesson
        "5А;Математика;;пн;2;;01.09.2030;",  # outside the year
        "5А;Математика;;пн;1;20;;",  # 5А twice on Monday, lesson 1 (row 2)
        "5А;Математика;;пт;1;12;;",  # room 12 is 5Б's on Fridays
        "5А;Математика;;;2;;;",  # no day
    ), "t.csv")
    with pytest.raises(TimetableRejected) as err:
        import_timetable(rows, world.school_a, world.year_a)
    db.session.rollback()
    lines = dict(err.value.problems)
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    monday, friday = message("Monday").lower(), message("Friday").lower()
    assert "5В" in lines[3] and "Физика" in lines[4] and "Другова" in lines[5]
    assert "вс" in lines[6] and "9" in lines[7] and "2026/2027" in lines[8]
    assert lines[9] == message("Clash: class %(cls)s already has the lesson %(other)s then (%(when)s).",
                               cls="5А", other="Математика (5А)",
                               when=message("%(day)s, lesson %(n)s", day=monday, n=1))
    assert lines[10] == message("Clash: room %(room)s is taken by the lesson %(other)s then (%(when)s).",
                                room="12", other="Математика (5Б)",
                                when=message("%(day)s, lesson %(n)s", day=friday, n=1))
    assert "День недели" in lines[11]
    assert entries() == before


def test_a_file_of_another_format_or_without_the_columns_is_refused(world):
    from app.services.roster import RosterFormatError

    with pytest.raises(RosterFormatError):
        read_table(b"x", "t.pdf")
    with pytest.raises(RosterFormatError):
        read_table("Класс;Предмет\n5А;Математика\n".encode(), "t.csv")
    with pytest.raises(RosterFormatError):
        read_table(b"<timetable><card", "asc.xml")


ASC = """<?xml version="1.0" encoding="UTF-8"?>
<timetable ascttversion="2019" importtype="database" options="idprefix:MyApp">
  <periods><period name="1" period="1" starttime="8:30" endtime="9:15"/>
           <period name="2" period="2" starttime="9:25" endtime="10:10"/></periods>
  <subjects><subject id="S1" name="Математика" short="Мат"/></subjects>
  <teachers><teacher id="T1" name="Учителева Анна Петровна" short="УАП"/>
            <teacher id="T2" name="Другова Анна Петровна" short="ДАП"/></teachers>
  <classrooms><classroom id="R1" name="Кабинет 12" short="12"/></classrooms>
  <classes><class id="C1" name="5А" short="5А"/><class id="C2" name="5Б" short="5Б"/></classes>
  <groups><group id="G1" classid="C1" name="Весь класс" entireclass="1" divisiontag="0"/>
          <group id="G2" classid="C2" name="Весь класс" entireclass="1" divisiontag="0"/></groups>
  <lessons><lesson id="L1" classids="C1" subjectid="S1" periodspercard="1" periodsperweek="2.0" teacherids="T1"
                   classroomids="R1" groupids="G1"/>
           <lesson id="L2" classids="C2" subjectid="S1" periodspercard="1" periodsperweek="1.0" teacherids="T2"
                   classroomids="" groupids="G2"/></lessons>
  <cards><card lessonid="L1" classroomids="R1" period="1" weeks="1" days="10000"/>
         <card lessonid="L1" classroomids="R1" period="2" weeks="1" days="00100"/>
         <card lessonid="L2" classroomids="" period="2" weeks="1" days="10000"/></cards>
</timetable>"""


def test_an_asc_timetables_export_is_imported(world, slots):
    rows = read_table(ASC.encode(), "asc.xml")
    assert [r for _n, r in rows][0] == {"target": "5А", "subject": "Математика", "teacher": "Учителева Анна Петровна",
                                        "weekday": "1", "slot": "1", "room": "12"}
    import_timetable(rows, world.school_a, world.year_a)
    db.session.commit()
    assert entries() == [(0, "12"), (0, ""), (2, "12")]


def test_the_cli_imports_checks_and_writes_the_template(world, slots, runner, tmp_path):
    good, bad, template = tmp_path / "good.csv", tmp_path / "bad.csv", tmp_path / "template.csv"
    good.write_bytes(csv_file("5А;Математика;;пн;1;12;;"))
    bad.write_bytes(csv_file("5А;Математика;;пн;1;12;;", "5А;Математика;;пн;1;13;;"))
    where = ["--school", world.school_a.short_name, "--year", world.year_a.name]
    result = runner.invoke(args=["timetable", "import", str(bad), *where])
    assert result.exit_code == 1 and "строка 3: Накладка: у класса 5А" in result.output
    result = runner.invoke(args=["timetable", "import", str(good), "--dry-run", *where])
    assert result.exit_code == 0 and entries() == []
    result = runner.invoke(args=["timetable", "import", str(good), *where])
    assert result.exit_code == 0 and "1" in result.output
    db.session.expire_all()
    assert entries() == [(0, "12")]
    result = runner.invoke(args=["timetable", "template", str(template)])
    assert result.exit_code == 0 and template.read_bytes() == template_csv()
    assert read_table(template.read_bytes(), "template.csv")[0][1]["subject"] == "Математика"
    assert runner.invoke(args=["timetable", "import", str(tmp_path / "none.csv"), *where]).exit_code == 2


@pytest.mark.usefixtures("isolated")
def test_the_import_page_checks_imports_and_refuses_teachers(world, slots, login_as):
    director = login_as("director")
    good = csv_file("5А;Математика;;пн;1;12;;")

    def upload(client, data: bytes, dry_run: bool):
        form = {"year_id": str(world.year_a.id), "file": (io.BytesIO(data), "t.csv")}
        return client.post("/timetable/import", data={**form, **({"dry_run": "1"} if dry_run else {})},
                           content_type="multipart/form-data")

    response = upload(director, csv_file("5А;Математика;;пн;1;12;;", "5А;Математика;;вс;1;12;;"), False)
    assert response.status_code == 422 and "строка 3:" in response.get_data(as_text=True)
    assert upload(director, good, True).status_code == 200 and entries() == []
    response = upload(director, good, False)
    assert response.status_code == 200 and "Добавлено записей расписания: 1" in response.get_data(as_text=True)
    db.session.expire_all()
    assert entries() == [(0, "12")]
    assert upload(login_as("teacher"), csv_file("5А;Математика;;вт;1;12;;"), False).status_code == 403
    template = director.get("/timetable/template.csv")
    assert template.status_code == 200 and template.data == template_csv()
    assert "filename*=UTF-8''" in template.headers["Content-Disposition"]
