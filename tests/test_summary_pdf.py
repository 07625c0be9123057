"""The summary sheet PDF: numbers never broken across lines (a full block of subjects), headings kept with
their tables, the class in the file name and the PDF title, every page numbered «стр. N из M»."""
import io
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.security.scope import scope_for_user
from app.services.extracts import summary_pdf
from tests import factories
from tests.journal_helpers import add_students, staff_of
from tests.test_summary import _final

pytestmark = pytest.mark.usefixtures("isolated")
SUBJECTS = 6


@pytest.fixture
def full_block(world):
    """5А with six subjects (more than a table holds), each with finals 5, 4, 2, н/а in the first quarter
    (СОУ 46,75 %: «46,8», which the old layout broke into «46,» and «8»)."""
    kids = [world.students["Алексеев"], world.students["Борисов"], *add_students(world, "5А", 2)]
    subjects = [world.subjects["math"]] + [factories.subject(world.school_a, f"Предмет с длинным названием {n}")
                                           for n in range(1, SUBJECTS)]
    db.session.flush()
    for subject in subjects:
        for kid, value in zip(kids, ["5", "4", "2", "н/а"], strict=True):
            _final(world, kid, value, subject=subject)
    db.session.commit()
    return subjects


def test_the_summary_pdf_keeps_numbers_whole_and_has_a_title(world, full_block, login_as):
    scope = scope_for_user(staff_of("classteacher").user)
    _cls, data = summary_pdf(scope, world.classes["5А"].id)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title == "Сводная ведомость итоговых отметок 5А класса, 2026/2027 учебный год"
    totals = next(page.extract_text() for page in reader.pages if "Итоги класса" in page.extract_text())
    assert "4 четверть" in totals and "Директорова Д. Д." in totals  # heading, table and signatures together
    assert not re.search(r"\d,\s*\n\s*\d", text), "a number is broken across lines"
    assert text.count("46,8") == SUBJECTS  # СОУ of each subject, whole
    count = len(reader.pages)
    assert all("Сводная ведомость 5А · " in page.extract_text() and page.extract_text().rstrip()
               .endswith(f"стр. {n} из {count}") for n, page in enumerate(reader.pages, start=1))  # stamped
    response = login_as("classteacher").get(f"/finals/summary.pdf?class_id={world.classes['5А'].id}")
    assert "5%D0%90" in response.headers["Content-Disposition"]  # «5А» in the file name
