"""Roster import (SPEC §8 `school import`): app/services/roster.py, the CLI and the /roster/ page.

Files are written into tmp_path by the tests themselves; the database is the real one of conftest.
"""
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import (
    AuditEvent,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DocumentKind,
    Enrolment,
    Guardian,
    Provenance,
    School,
    Student,
    StudentGuardian,
)
from app.services import roster
from tests.journal_helpers import count

SCHOOL = ["--school", "Школа А"]
HEADERS = [c.header for c in roster.COLUMNS]


pytestmark = pytest.mark.usefixtures("frozen_today")  # TODAY, inside the world's year 2026/2027


def snapshot() -> dict[str, int]:
    return {m.__name__: count(m) for m in (Student, Enrolment, Guardian, StudentGuardian, ContactPoint, Consent,
                                           AuditEvent)}


def line(**values) -> dict[str, str]:
    """One roster line by Russian header; unnamed columns stay empty."""
    return {h: "" for h in HEADERS} | values


def mother_of_petr(**extra) -> dict[str, str]:
    return line(**{
        "Класс": "5А", "Номер личного дела": "2026-0101", "Фамилия": "Петров", "Имя": "Пётр",
        "Отчество": "Олегович", "Дата рождения": "12.04.2015", "Дата зачисления": "01.09.2022",
        "Представитель: фамилия": "Петрова", "Представитель: имя": "Ольга", "Представитель: отчество": "Игоревна",
        "Кем приходится": "мать", "Телефон": "8 (916) 123-45-67", "E-mail": "petrova@example.ru",
        "Источник контактов": "заявление", "Реквизиты документа": "Заявление № 7 от 01.09.2026",
        "Решение о согласии": "согласие", "Дата решения": "01.09.2026", "Номер заявления": "7-ПД", **extra})


def family() -> list[dict[str, str]]:
    """Пётр (5А) with mother and father, his sister Анна (5Б) with the same mother, Семён without family."""
    father = mother_of_petr(**{
        "Представитель: фамилия": "Петров", "Представитель: имя": "Олег", "Представитель: отчество": "Николаевич",
        "Кем приходится": "отец", "Телефон": "+79161112233", "E-mail": "", "Источник контактов": "электронный документ",
        "Реквизиты документа": "ЕПГУ-123456789", "Решение о согласии": "", "Дата решения": "", "Номер заявления": ""})
    sister = mother_of_petr(**{
        "Класс": "5Б", "Номер личного дела": "2026-0102", "Фамилия": "Петрова", "Имя": "Анна",
        "Отчество": "Олеговна", "Дата рождения": "2016-05-20", "Дата зачисления": "", "E-mail": "",
        "Телефон": "+79161234567", "Решение о согласии": "отказ", "Дата решения": "02.09.2026",
        "Номер заявления": "8-ПД"})
    loner = line(**{"Класс": "5а", "Номер личного дела": "2026-0103", "Фамилия": "Сидоров", "Имя": "Семён",
                    "Дата рождения": "03.03.2015"})
    return [mother_of_petr(), father, sister, loner]


def write_csv(path: Path, rows: list[dict], delimiter: str = ";", bom: bool = True) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADERS)
    writer.writerows([[r[h] for h in HEADERS] for r in rows])
    path.write_bytes((("\ufeff" if bom else "") + out.getvalue()).encode("utf-8"))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    book.active.append(HEADERS)
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def run(path: Path, world, dry_run: bool = False, actor: str = "registrar") -> roster.ImportResult:
    return roster.run_import(roster.parse(path), world.school_a, world.year_a, actor, dry_run=dry_run)


def student(file_number: str) -> Student:
    found = db.session.scalar(select(Student).where(Student.file_number == file_number))
    assert found is not None, f"no student {file_number}"
    return found


def many(n: int = 300) -> list[dict[str, str]]:
    """n students of 5А/5Б, each with a mother, her phone and e-mail, and a consent."""
    surnames = ["Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов"]
    return [line(**{
        "Класс": "5А" if i % 2 else "5Б", "Номер личного дела": f"2026-{i:04d}", "Фамилия": surnames[i % 8],
        "Имя": f"Ученик{i}", "Дата рождения": (dt.date(2015, 1, 1) + dt.timedelta(days=i)).strftime("%d.%m.%Y"),
        "Представитель: фамилия": surnames[i % 8] + "а", "Представитель: имя": "Мать", "Кем приходится": "мать",
        "Телефон": f"+7916{i:07d}", "E-mail": f"mother{i}@example.ru", "Источник контактов": "заявление",
        "Реквизиты документа": f"Заявление № {i}", "Решение о согласии": "согласие", "Дата решения": "01.09.2026",
        "Номер заявления": f"{i}-ПД"}) for i in range(n)]


# --- template ------------------------------------------------------------------------------------------


def test_downloaded_templates_parse_with_zero_rows(login_as, tmp_path):
    client = login_as("registrar")
    xlsx = client.get("/roster/template.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert [c.value for c in book.worksheets[0][1]] == HEADERS
    assert book.sheetnames == ["Ученики", "Пояснения"]
    assert roster.parse(io.BytesIO(xlsx.data), "roster-template.xlsx") == []
    csv_file = client.get("/roster/template.csv")
    assert csv_file.status_code == 200
    assert csv_file.data.startswith("\ufeffКласс;Номер личного дела;".encode())
    (tmp_path / "t.csv").write_bytes(csv_file.data)
    assert roster.parse(tmp_path / "t.csv") == []


# --- good imports --------------------------------------------------------------------------------------


def test_good_csv_import_creates_students_families_contacts_and_consents(world, tmp_path):
    before = snapshot()
    result = run(write_csv(tmp_path / "roster.csv", family(), delimiter=",", bom=False), world)
    assert result.problems == []
    assert result.counts == {"rows": 4, "students_created": 3, "students_updated": 0, "students_moved": 0,
                             "guardians_created": 2, "links_created": 3, "links_updated": 0, "contacts_created": 3,
                             "contacts_updated": 0, "consents_created": 2}
    db.session.expire_all()
    assert snapshot()["Student"] == before["Student"] + 3
    petr, anna, semen = student("2026-0101"), student("2026-0102"), student("2026-0103")
    assert (petr.full_name, petr.birth_date, petr.enrolled_on) == ("Петров Пётр Олегович", dt.date(2015, 4, 12),
                                                                    dt.date(2022, 9, 1))
    assert (petr.class_unit.name, anna.class_unit.name, semen.class_unit.name) == ("5А", "5Б", "5А")
    assert anna.enrolled_on == dt.date(2026, 9, 1)  # blank: the start of the year
    for kid, cls in ((petr, "5А"), (anna, "5Б"), (semen, "5А")):
        assert [(e.class_unit.name, e.start, e.end) for e in kid.enrolments] == [(cls, dt.date(2026, 9, 1), None)]
        assert kid.school_id == world.school_a.id
    # The sister's mother is the same person: same name and the same phone.
    mother = db.session.scalar(select(Guardian).where(Guardian.name == "Ольга"))
    assert sorted((link.student.name, link.relation, link.authority_basis) for link in mother.children) == [
        ("Анна", "мать", "свидетельство о рождении ребёнка"), ("Пётр", "мать", "свидетельство о рождении ребёнка")]
    contacts = db.session.scalars(select(ContactPoint).order_by(ContactPoint.value)).all()
    assert [(c.guardian.name, c.kind, c.value, c.provenance, c.document_reference) for c in contacts] == [
        ("Олег", ContactKind.phone, "+79161112233", Provenance.electronic_document, "ЕПГУ-123456789"),
        ("Ольга", ContactKind.phone, "+79161234567", Provenance.written_statement, "Заявление № 7 от 01.09.2026"),
        ("Ольга", ContactKind.email, "petrova@example.ru", Provenance.written_statement,
         "Заявление № 7 от 01.09.2026"),
    ]
    consents = db.session.scalars(select(Consent).order_by(Consent.decided_on)).all()
    assert [(c.student.name, c.guardian.name, c.decision, c.decided_on, c.document_kind, c.document_number,
             c.document_date, c.recorded_by) for c in consents] == [
        ("Пётр", "Ольга", Decision.consent, dt.date(2026, 9, 1), DocumentKind.paper, "7-ПД", dt.date(2026, 9, 1),
         "registrar"),
        ("Анна", "Ольга", Decision.refusal, dt.date(2026, 9, 2), DocumentKind.paper, "8-ПД", dt.date(2026, 9, 2),
         "registrar"),
    ]
    assert consents[0].authority_basis == "свидетельство о рождении ребёнка"
    assert consents[0].operator.startswith("МБОУ «Школа А»")
    # Consents, contacts, enrolments and representation links are audited under the importing user.
    events = db.session.scalars(select(AuditEvent)).all()
    assert sorted(e.entity for e in events) == ["consent"] * 2 + ["contact_point"] * 3 + ["enrolment"] * 3 + [
        "student_guardian"] * 3
    assert {e.username for e in events} == {"registrar"}


def test_good_xlsx_import_reads_typed_cells(world, tmp_path):
    index = {h: n for n, h in enumerate(HEADERS)}
    cells = [None] * len(HEADERS)
    for header, value in {"Класс": "5Б", "Номер личного дела": 1201, "Фамилия": "Орлова", "Имя": "Дарья",
                          "Дата рождения": dt.datetime(2015, 7, 9), "Дата зачисления": dt.date(2026, 10, 1),
                          "Представитель: фамилия": "Орлов", "Представитель: имя": "Илья",
                          "Кем приходится": "опекун", "Основание полномочий": "Постановление опеки № 12",
                          "Телефон": 79031234567, "Источник контактов": "электронный документ",
                          "Реквизиты документа": "ЕПГУ-555", "Решение о согласии": "согласие",
                          "Дата решения": dt.date(2026, 10, 1), "Номер заявления": "ЕПГУ-556"}.items():
        cells[index[header]] = value
    result = run(write_xlsx(tmp_path / "roster.xlsx", [cells, [None] * len(HEADERS)]), world)
    assert result.problems == []
    assert (result.counts["rows"], result.counts["students_created"], result.counts["contacts_created"],
            result.counts["consents_created"]) == (1, 1, 1, 1)
    db.session.expire_all()
    darya = student("1201")
    assert (darya.birth_date, darya.enrolled_on, darya.class_unit.name) == (dt.date(2015, 7, 9),
                                                                           dt.date(2026, 10, 1), "5Б")
    assert [(e.class_unit.name, e.start) for e in darya.enrolments] == [("5Б", dt.date(2026, 10, 1))]
    link = darya.guardians[0]
    assert (link.guardian.full_name, link.relation, link.authority_basis) == ("Орлов Илья", "опекун",
                                                                              "Постановление опеки № 12")
    phone = db.session.scalar(select(ContactPoint))
    assert (phone.value, phone.provenance, phone.document_reference) == ("+79031234567",
                                                                         Provenance.electronic_document, "ЕПГУ-555")
    consent = db.session.scalar(select(Consent))
    assert (consent.document_kind, consent.electronic_document_id, consent.document_number) == (
        DocumentKind.electronic, "ЕПГУ-556", "")


def test_reimport_of_the_same_file_changes_nothing(world, tmp_path):
    path = write_csv(tmp_path / "roster.csv", family())
    first = run(path, world)
    assert first.counts["students_created"] == 3
    after_first = snapshot()
    assert after_first["AuditEvent"] == 11
    second = run(path, world)
    assert second.problems == []
    assert second.counts == dict.fromkeys(roster.COUNT_KEYS, 0) | {"rows": 4}
    db.session.expire_all()
    assert snapshot() == after_first
    # The same file as XLSX (dates typed as dates) is the same roster too.
    xlsx = write_xlsx(tmp_path / "roster.xlsx", [[r[h] for h in HEADERS] for r in family()])
    assert run(xlsx, world).counts == dict.fromkeys(roster.COUNT_KEYS, 0) | {"rows": 4}
    assert snapshot() == after_first


def test_changed_roster_moves_updates_and_appends_only_new_decisions(world, tmp_path):
    run(write_csv(tmp_path / "first.csv", family()), world)
    changed = family()
    changed[0] |= {"Класс": "5Б", "Решение о согласии": "отказ", "Дата решения": "15.11.2026",
                   "Номер заявления": "31-ПД", "Реквизиты документа": "Заявление № 31 от 15.11.2026"}
    changed[1] |= {"Класс": "5Б", "Основание полномочий": "свидетельство о рождении II-МЮ № 123456"}
    result = run(write_csv(tmp_path / "second.csv", changed), world)
    assert result.problems == []
    assert {k: v for k, v in result.counts.items() if v} == {
        "rows": 4, "students_moved": 1, "links_updated": 1, "contacts_updated": 2, "consents_created": 1}
    db.session.expire_all()
    petr = student("2026-0101")
    assert petr.class_unit.name == "5Б"
    assert [(e.class_unit.name, e.start, e.end) for e in petr.enrolments] == [
        ("5А", dt.date(2026, 9, 1), dt.date(2026, 11, 19)), ("5Б", dt.date(2026, 11, 20), None)]
    decisions = db.session.scalars(select(Consent.decision).where(Consent.student_id == petr.id)
                                   .order_by(Consent.id)).all()
    assert decisions == [Decision.consent, Decision.refusal]
    # An older decision than the one recorded would rewrite history: refused, nothing saved.
    stale = family()
    stale[0] |= {"Класс": "5Б", "Решение о согласии": "согласие", "Дата решения": "01.10.2026"}
    stale[1] |= {"Класс": "5Б"}
    before = snapshot()
    result = run(write_csv(tmp_path / "stale.csv", stale), world)
    assert [p.line for p in result.problems] == [2]
    assert "15.11.2026" in result.problems[0].reason
    assert snapshot() == before


# --- bad rows ------------------------------------------------------------------------------------------


BAD = {
    "unknown class": ({"Класс": "7Я"}, "В учебном году 2026/2027 нет класса «7Я»."),
    "bad class": ({"Класс": "пятый"}, "«пятый» — не класс"),
    "bad date": ({"Дата рождения": "31.02.2015"}, "«31.02.2015» в столбце «Дата рождения» — не дата"),
    "missing date": ({"Дата рождения": ""}, "Не заполнен столбец «Дата рождения»"),
    "missing surname": ({"Фамилия": ""}, "Не заполнен столбец «Фамилия»"),
    "bad email": ({"E-mail": "petrova@example"}, "Столбец «E-mail»: «petrova@example» — не адрес электронной почты."),
    "bad phone": ({"Телефон": "12-34"}, "Столбец «Телефон»: укажите телефон в виде +7XXXXXXXXXX."),
    "unknown decision": ({"Решение о согласии": "подумаем"}, "Неизвестное решение «подумаем»"),
    "future decision": ({"Дата решения": "01.12.2026"}, "Дата решения 01.12.2026 ещё не наступила"),
    "decision without number": ({"Номер заявления": ""}, "Не заполнен столбец «Номер заявления»"),
    "unknown relation": ({"Кем приходится": "сосед"}, "Неизвестное значение «сосед» в столбце «Кем приходится»"),
    "unknown source": ({"Источник контактов": "звонок"}, "Неизвестный источник «звонок»"),
    "contact without document": ({"Реквизиты документа": ""}, "Не заполнен столбец «Реквизиты документа»: он "
                                                              "обязателен, если указан телефон или e-mail."),
    "guardian without name": ({"Представитель: имя": ""}, "Укажите фамилию и имя законного представителя"),
    "too young": ({"Дата рождения": "01.01.2023"}, "возраст обучающегося составил бы 3"),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_bad_input_gives_its_line_and_reason(world, tmp_path, kind):
    change, reason = BAD[kind]
    rows = family()
    rows[2] |= change  # line 4: Анна of 5Б
    before = snapshot()
    result = run(write_csv(tmp_path / "bad.csv", rows), world)
    assert [p.line for p in result.problems] == [4], result.problems
    assert reason in result.problems[0].reason
    assert result.counts == {}
    assert snapshot() == before


def test_duplicate_key_and_disagreeing_lines_are_reported(world, tmp_path):
    rows = family()
    rows.append(dict(rows[2]))  # line 6 repeats line 4
    rows.append(rows[3] | {"Дата рождения": "04.03.2015"})  # line 7: Семён again, another birth date
    result = run(write_csv(tmp_path / "dup.csv", rows), world)
    assert [(p.line, p.reason) for p in result.problems] == [
        (6, "Повтор строки 4: тот же номер личного дела 2026-0102 и тот же законный представитель."),
        (7, "Обучающийся с номером личного дела 2026-0103: «Дата рождения» не совпадает со строкой 5."),
        (7, "Повтор строки 5: тот же номер личного дела 2026-0103 и тот же законный представитель."),
    ]


def test_a_student_already_in_the_school_under_another_number_is_not_duplicated(world, tmp_path):
    known = world.students["Алексеев"]
    rows = [line(**{"Класс": "5А", "Номер личного дела": "2026-0999", "Фамилия": "Алексеев", "Имя": "Иван",
                    "Отчество": "Иванович", "Дата рождения": known.birth_date.strftime("%d.%m.%Y")})]
    result = run(write_csv(tmp_path / "twin.csv", rows), world)
    assert [p.line for p in result.problems] == [2]
    assert "Алексеев Иван Иванович" in result.problems[0].reason
    assert "уже учится в школе" in result.problems[0].reason


def test_dry_run_reports_the_one_bad_row_among_300_and_saves_nothing(world, runner, tmp_path):
    rows = many()
    rows[150]["E-mail"] = "mother150@example"  # line 152: the header is line 1
    path = write_csv(tmp_path / "big.csv", rows)
    before = snapshot()
    result = runner.invoke(args=["school", "import", str(path), "--dry-run", *SCHOOL])
    assert result.exit_code == 1
    reported = [out for out in result.output.splitlines() if out.startswith("строка ")]
    assert reported == ["строка 152: Столбец «E-mail»: «mother150@example» — не адрес электронной почты."]
    assert "Ничего не сохранено" in result.output
    assert snapshot() == before
    # The real import of the same file is all or nothing: nothing at all is saved.
    result = runner.invoke(args=["school", "import", str(path), *SCHOOL])
    assert result.exit_code == 1
    assert "строка 152:" in result.output
    db.session.expire_all()
    assert snapshot() == before


def test_cli_dry_run_of_a_good_file_counts_and_saves_nothing(world, runner, tmp_path):
    before = snapshot()
    result = runner.invoke(args=["school", "import", str(write_csv(tmp_path / "r.csv", family())), "--dry-run",
                                 *SCHOOL])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Проверка без сохранения (Школа А, 2026/2027): ошибок нет, ничего не сохранено. При импорте:",
        "  строк в файле: 4",
        "  обучающихся добавлено: 3",
        "  обучающихся изменено: 0",
        "  обучающихся переведено в другой класс: 0",
        "  законных представителей добавлено: 2",
        "  связей «представитель — обучающийся» добавлено: 3",
        "  связей «представитель — обучающийся» изменено: 0",
        "  контактов добавлено: 3",
        "  контактов изменено: 0",
        "  решений о согласии записано: 2",
    ]
    db.session.expire_all()
    assert snapshot() == before


def _fail_on_insert(value: str) -> tuple[list[str], list[str]]:
    """DDL of a real database trigger refusing one contact, and of its removal."""
    if db.engine.dialect.name == "postgresql":
        return ([f"CREATE FUNCTION roster_boom() RETURNS trigger AS $$ BEGIN IF NEW.value = '{value}' THEN "
                 f"RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                 "CREATE TRIGGER roster_boom BEFORE INSERT ON contact_point FOR EACH ROW "
                 "EXECUTE FUNCTION roster_boom()"],
                ["DROP TRIGGER roster_boom ON contact_point", "DROP FUNCTION roster_boom()"])
    return ([f"CREATE TRIGGER roster_boom BEFORE INSERT ON contact_point WHEN NEW.value = '{value}' "
             f"BEGIN SELECT RAISE(ABORT, 'boom'); END"], ["DROP TRIGGER roster_boom"])


def _ddl(statements: list[str]) -> None:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


@pytest.mark.commits  # the trigger is committed: the import's own rollback must not take it away
def test_a_failure_while_saving_the_last_row_rolls_back_every_row(world, tmp_path):
    rows = many(20)
    create, drop = _fail_on_insert("mother19@example.ru")
    before = snapshot()
    _ddl(create)
    try:
        result = run(write_csv(tmp_path / "roster.csv", rows), world)
    finally:
        _ddl(drop)
    assert [p.line for p in result.problems] == [21]
    assert "boom" in result.problems[0].reason
    db.session.expire_all()
    assert snapshot() == before


def test_unreadable_files_are_rejected_with_a_clear_message(tmp_path):
    (tmp_path / "roster.txt").write_text("Класс;Фамилия\n")
    with pytest.raises(roster.RosterFormatError, match="Неизвестный формат файла «roster.txt»"):
        roster.parse(tmp_path / "roster.txt")
    with pytest.raises(roster.RosterFormatError, match="не найден"):
        roster.parse(tmp_path / "missing.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(roster.RosterFormatError, match="не читается как XLSX"):
        roster.parse(tmp_path / "broken.xlsx")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(roster.RosterFormatError, match="Файл пуст"):
        roster.parse(tmp_path / "empty.csv")
    (tmp_path / "columns.csv").write_text("Класс;Фамилия;Имя;Дата рождения;Любимый цвет\n"
                                          "5А;Иванов;Иван;1.1.2015;синий\n")
    with pytest.raises(roster.RosterFormatError) as err:
        roster.parse(tmp_path / "columns.csv")
    assert err.value.message == ("Неизвестные столбцы: «Любимый цвет». Используйте заголовки шаблона.")
    (tmp_path / "short.csv").write_text("Класс;Фамилия;Имя;Дата рождения\n5А;Иванов;Иван;1.1.2015\n")
    with pytest.raises(roster.RosterFormatError) as err:
        roster.parse(tmp_path / "short.csv")
    assert err.value.message == "Нет обязательных столбцов: «Номер личного дела»."


def test_csv_in_windows_1251_with_semicolons_is_read(tmp_path):
    content = "Класс;Номер личного дела;Фамилия;Имя;Дата рождения\r\n\r\n5А;77;Ёлкина;Алёна;1.9.2015\r\n"
    (tmp_path / "excel.csv").write_bytes(content.encode("cp1251"))
    rows = roster.parse(tmp_path / "excel.csv")
    assert [(r.line, r.text("file_number"), r.text("surname"), r.text("name"), r.text("birth_date"))
            for r in rows] == [(3, "77", "Ёлкина", "Алёна", "1.9.2015")]
    assert roster.parse_day(rows[0].values["birth_date"]) == dt.date(2015, 9, 1)


# --- CLI -----------------------------------------------------------------------------------------------


def test_cli_imports_and_reports_counts(world, runner, tmp_path):
    path = write_csv(tmp_path / "roster.csv", family())
    result = runner.invoke(args=["school", "import", str(path), *SCHOOL, "--year", "2026/2027"])
    assert result.exit_code == 0, result.output
    assert "Импорт выполнен (Школа А, 2026/2027)" in result.output
    assert "обучающихся добавлено: 3" in result.output
    assert "законных представителей добавлено: 2" in result.output
    db.session.expire_all()
    assert count(Student) == 4 + 3
    consent = db.session.scalar(select(Consent).order_by(Consent.id))
    assert consent.recorded_by == "import"
    assert {e.username for e in db.session.scalars(select(AuditEvent))} == {"import"}
    again = runner.invoke(args=["school", "import", str(path), *SCHOOL])
    assert again.exit_code == 0, again.output
    assert "обучающихся добавлено: 0" in again.output


def test_cli_attributes_the_import_to_the_given_user(world, runner, tmp_path):
    path = write_csv(tmp_path / "roster.csv", family())
    result = runner.invoke(args=["school", "import", str(path), *SCHOOL, "--user", "registrar"])
    assert result.exit_code == 0, result.output
    assert {c.recorded_by for c in db.session.scalars(select(Consent))} == {"registrar"}
    assert {e.username for e in db.session.scalars(select(AuditEvent))} == {"registrar"}
    result = runner.invoke(args=["school", "import", str(path), *SCHOOL, "--user", "nobody"])
    assert result.exit_code == 2
    assert "пользователь «nobody» не найден" in result.output


def test_cli_exit_code_2_on_bad_files_and_settings(world, runner, tmp_path):
    good = write_csv(tmp_path / "roster.csv", family())
    cases = [
        ([str(tmp_path / "missing.csv"), *SCHOOL], "не найден"),
        ([str(good.rename(tmp_path / "roster.ods")), *SCHOOL], "Неизвестный формат файла «roster.ods»"),
        ([str(write_csv(tmp_path / "empty.csv", [])), *SCHOOL], "нет строк с обучающимися"),
        ([str(write_csv(tmp_path / "r.csv", family()))], "Несколько школ (Школа А, Школа Б): выберите одну"),
        ([str(tmp_path / "r.csv"), "--school", "Школа В"], "Школа «Школа В» не найдена"),
        ([str(tmp_path / "r.csv"), *SCHOOL, "--year", "2030/2031"], "Нет учебного года «2030/2031»"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["school", "import", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert result.output.startswith("Ошибка: ")
    assert count(Student) == 4


def test_cli_takes_the_only_school_and_the_current_year_by_default(app, runner, tmp_path):
    from tests import factories

    school = factories.school("Единственная")
    year = factories.year(school)
    factories.class_unit(year, 5, "А")
    factories.class_unit(year, 5, "Б")
    db.session.commit()
    result = runner.invoke(args=["school", "import", str(write_csv(tmp_path / "r.csv", family()))])
    assert result.exit_code == 0, result.output
    assert "Импорт выполнен (Единственная, 2026/2027)" in result.output
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id)) == 3
    app.config["SCHOOL_TODAY"] = "2031-01-10"
    result = runner.invoke(args=["school", "import", str(tmp_path / "r.csv")])
    assert result.exit_code == 2
    assert "Ни один учебный год школы не включает сегодняшний день (10.01.2031)" in result.output


# --- the upload page -----------------------------------------------------------------------------------


def _upload(client, path: Path, world, dry_run: bool):
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "year_id": str(world.year_a.id)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/roster/upload", data=data, content_type="multipart/form-data")


def test_registrar_checks_then_imports_on_the_page(world, login_as, tmp_path):
    client = login_as("registrar")
    page = client.get("/roster/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="file"' in html and 'name="dry_run"' in html and "/roster/template.xlsx" in html
    assert "Импорт списков обучающихся" in html
    path = write_csv(tmp_path / "roster.csv", family())
    before = snapshot()
    checked = _upload(client, path, world, dry_run=True)
    assert checked.status_code == 200
    html = checked.get_data(as_text=True)
    assert "ошибок нет" in html
    assert '<tr data-count="students_created"><td>обучающихся добавлено</td><td class="count">3</td></tr>' in html
    db.session.expire_all()
    assert snapshot() == before
    imported = _upload(client, path, world, dry_run=False)
    assert imported.status_code == 200
    assert '<tr data-count="consents_created"><td>решений о согласии записано</td><td class="count">2</td>' in \
        imported.get_data(as_text=True)
    db.session.expire_all()
    assert count(Student) == before["Student"] + 3
    assert {c.recorded_by for c in db.session.scalars(select(Consent))} == {"registrar"}
    assert {e.username for e in db.session.scalars(select(AuditEvent))} == {"registrar"}
    assert student("2026-0101").school_id == world.school_a.id


def test_page_lists_bad_rows_and_saves_nothing(world, login_as, tmp_path):
    client = login_as("registrar")
    rows = family()
    rows[2]["Класс"] = "9Ы"
    before = snapshot()
    response = _upload(client, write_csv(tmp_path / "roster.csv", rows), world, dry_run=False)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<tr data-line="4"><td>4</td><td>В учебном году 2026/2027 нет класса «9Ы».</td></tr>' in html
    assert "Ничего не сохранено" in html
    db.session.expire_all()
    assert snapshot() == before
    wrong = tmp_path / "roster.pdf"
    wrong.write_bytes(b"%PDF")
    response = _upload(client, wrong, world, dry_run=True)
    assert response.status_code == 400
    assert "Неизвестный формат файла «roster.pdf»" in response.get_data(as_text=True)


def test_teacher_gets_403_and_the_admin_without_a_school_a_message(world, login_as, tmp_path):
    teacher = login_as("teacher")
    assert teacher.get("/roster/").status_code == 403
    assert teacher.get("/roster/template.xlsx").status_code == 403
    path = write_csv(tmp_path / "roster.csv", family())
    assert _upload(teacher, path, world, dry_run=False).status_code == 403
    assert count(Student) == 4
    admin = login_as("admin")
    page = admin.get("/roster/")
    assert page.status_code == 200
    assert "не привязана к школе" in page.get_data(as_text=True)
    assert _upload(admin, path, world, dry_run=False).status_code == 400
    assert count(Student) == 4


def test_menu_offers_the_import_to_the_registrar_only(world, login_as):
    assert "/roster/" in login_as("registrar").get("/").get_data(as_text=True)
    assert "/roster/" not in login_as("teacher").get("/").get_data(as_text=True)


def test_school_of_the_import_is_the_users(world, login_as, tmp_path):
    """director_b of school B imports into school B, where 5А exists but 5Б does not."""
    client = login_as("director_b")
    rows = family()
    data = {"file": (io.BytesIO(write_csv(tmp_path / "r.csv", rows).read_bytes()), "r.csv"),
            "year_id": str(world.year_b.id)}
    response = client.post("/roster/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert '<tr data-line="4"><td>4</td><td>В учебном году 2026/2027 нет класса «5Б».</td></tr>' in \
        response.get_data(as_text=True)
    # A year of another school is not accepted.
    data = {"file": (io.BytesIO((tmp_path / "r.csv").read_bytes()), "r.csv"), "year_id": str(world.year_a.id)}
    assert client.post("/roster/upload", data=data, content_type="multipart/form-data").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Student).where(
        Student.school_id == db.session.scalar(select(School.id).where(School.short_name == "Школа Б")))) == 1


def test_upload_form_carries_a_working_csrf_token(app, world, login_as, tmp_path):
    """CSRFProtect is on outside tests: the form's token is accepted, a post without one is refused."""
    import re

    client = login_as("registrar")
    app.config["WTF_CSRF_ENABLED"] = True
    path = write_csv(tmp_path / "roster.csv", family())
    refused = _upload(client, path, world, dry_run=True)
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/roster/").get_data(as_text=True))[1]
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "year_id": str(world.year_a.id), "dry_run": "y",
            "csrf_token": token}
    checked = client.post("/roster/upload", data=data, content_type="multipart/form-data")
    assert checked.status_code == 200
    assert '<tr data-count="students_created"><td>обучающихся добавлено</td><td class="count">3</td></tr>' in \
        checked.get_data(as_text=True)
