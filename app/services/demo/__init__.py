"""The demo school: `load_demo(size, seed, today)` builds it deterministically from the seed.

Builders run in order and each extends what the previous made (structure now; lessons, marks and
consents are later builders), all in one transaction.
"""
import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import AssessmentMode, AssessmentRule, School
from app.services.curriculum import fill_curriculum
from app.services.demo.advice import AdviceBuilder
from app.services.demo.calendar import build_bells, build_calendar
from app.services.demo.curriculum import ASSESSMENT
from app.services.demo.families import FamiliesBuilder
from app.services.demo.journal import JournalBuilder
from app.services.demo.last_year import LastYearBuilder
from app.services.demo.results import ResultsBuilder
from app.services.demo.school import DemoSchool, StructureBuilder

DEMO_SHORT_NAME = "Лицей № 2"
DISTRICT_LIMIT = 100  # schools one `school demo --schools N` makes (about a large city district)


@dataclass(frozen=True)
class DistrictSchool:
    """The n-th school of a demo district: the first is today's demo school exactly (names, logins, seed);
    the others are «Школа № n» with logins prefixed `sNN-` and a seed of their own."""

    number: int

    @property
    def short_name(self) -> str:
        return DEMO_SHORT_NAME if self.number == 1 else f"Школа № {self.number}"

    @property
    def full_name(self) -> str:
        kind = "Лицей № 2" if self.number == 1 else f"Средняя общеобразовательная школа № {self.number}"
        return f"Муниципальное бюджетное общеобразовательное учреждение «{kind}»"

    @property
    def address(self) -> str:
        return "г. Энск, ул. Школьная, д. 2" if self.number == 1 else f"г. Энск, ул. Школьная, д. {self.number + 100}"

    @property
    def prefix(self) -> str:
        return "" if self.number == 1 else f"s{self.number:02d}-"

    def seed(self, seed: int) -> int:
        return seed if self.number == 1 else seed * 1000 + self.number


class DemoAlreadyLoaded(Exception):
    """The demo school is in the database already."""


@dataclass
class DemoResult:
    """What was loaded, for the CLI to print."""

    demo: DemoSchool
    password: str
    first: bool = True

    def summary(self) -> str:
        """Counts and the demo logins, in Russian (a district's later schools: their logins in one line)."""
        c = self.demo.counts
        lines = [
            f"Демо-школа «{self.demo.school.short_name}», {self.demo.year.name} учебный год:",
            f"  классов {len(self.demo.classes)}, учеников {c['students']}, представителей {c['guardians']}, "
            f"учителей {c['teachers']}, нагрузок {c['assignments']}, подгрупп {c['groups']}",
            f"  уроков {c['lessons']}, отметок {c['marks']}, пропусков {c['absences']}",
            f"  итоговых отметок {c['finals']} (отложено {c['deferred']}), закрытых периодов {c['closed_periods']}, "
            f"результатов олимпиад {c['exam_results']}, рекомендаций учителей {c['recommendations']}",
            f"  согласий {c['consent_consent']}, отказов {c['consent_refusal']}, отзывов {c['consent_withdrawal']}, "
            f"без решения {c['consent_none']}",
            f"Прошлый учебный год {c['last_year']} закрыт: годовых отметок {c['last_finals']}, решений "
            f"{c['decisions']} (переведены {c['last_promoted']}, условно {c['last_conditional']}, оставлены "
            f"на повторное обучение {c['last_retained']}, окончили уровень {c['last_graduated']}, "
            f"выбыли {c['last_left']})",
            f"Входы (пароль «{self.password}»):",
        ]
        if not self.first:
            logins = [login for login, _who in self.demo.logins]
            return "\n".join(lines + [f"  {', '.join(logins[:4])}, {logins[4]} … {logins[-1]}"])
        lines.append("  admin — администратор системы")
        lines += [f"  {login} — {who}" for login, who in self.demo.logins]
        return "\n".join(lines)


def load_demo(size: str, seed: int, today: dt.date, password: str, number: int = 1) -> DemoResult:
    """Load the demo school (the `number`-th of a district); refuses if it is already there. Commits once
    at the end."""
    if size not in ("small", "school"):
        raise ValueError(f"неизвестный размер «{size}»: small или school")
    place = DistrictSchool(number)
    if db.session.scalar(select(School.id).where(School.short_name == place.short_name)):
        raise DemoAlreadyLoaded(f"Демо-школа «{place.short_name}» уже загружена.")
    seed = place.seed(seed)
    rng = random.Random(seed)
    school = School(full_name=place.full_name, short_name=place.short_name, address=place.address,
                    study_days_per_week=5)
    year, periods, holidays = build_calendar(school, today)
    db.session.add_all([school, year, *periods, *holidays, *build_bells(school)])
    db.session.flush()
    demo = StructureBuilder(school, year, size, rng, password, place.prefix).build()
    db.session.add_all(AssessmentRule(school=school, grade=grade, subject=demo.subjects[name] if name else None,
                                      mode=AssessmentMode(mode)) for grade, name, mode in ASSESSMENT)
    db.session.flush()
    demo.counts.update(JournalBuilder(demo, rng, today).build())
    for cls in demo.classes:  # planned hours from the timetable just built, before a period closes
        fill_curriculum(cls)
    demo.counts.update(FamiliesBuilder(demo, rng, today).build())
    demo.counts.update(ResultsBuilder(demo, rng, today).build())
    demo.counts.update(AdviceBuilder(demo, today).build())
    demo.counts.update(LastYearBuilder(demo, seed, today).build())
    db.session.commit()
    return DemoResult(demo, password, first=number == 1)
