"""Rules of exam and competition results (SPEC §2 ExamResult); called before every save."""
import datetime as dt

from flask_babel import lazy_gettext as _l

from app.models import ExamResult
from app.services import clock
from app.services.errors import RuleViolation


def validate_exam_result(item: ExamResult, today: dt.date | None = None) -> None:
    """A name, a score ≥ 0 if given, the result on or after the exam's day and not in the future."""
    today = today or clock.today()
    if item.student is None and item.student_id is None:
        raise RuleViolation(_l("Choose the student."), "student")
    if not (item.name or "").strip():
        raise RuleViolation(_l("Give the name of the exam or competition."), "name")
    if item.date is None:
        raise RuleViolation(_l("Give the date of the exam or competition."), "date")
    if item.date > today:
        raise RuleViolation(_l("The exam of %(day)s has not taken place yet.", day=f"{item.date:%d.%m.%Y}"), "date")
    if item.score is not None and item.score < 0:
        raise RuleViolation(_l("The score cannot be negative."), "score")
    if item.result_date is None:
        raise RuleViolation(_l("Give the date the result was obtained."), "result_date")
    if item.result_date < item.date:
        raise RuleViolation(_l("The result date %(result)s is before the exam's date %(day)s.",
                               result=f"{item.result_date:%d.%m.%Y}", day=f"{item.date:%d.%m.%Y}"), "result_date")
    if item.result_date > today:
        raise RuleViolation(_l("The result date %(result)s is in the future.",
                               result=f"{item.result_date:%d.%m.%Y}"), "result_date")
    if item.subject is not None and item.subject.school_id != item.school_id:
        raise RuleViolation(_l("Choose a subject of the student's school."), "subject")
