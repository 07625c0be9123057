"""What is closed, read per school (issue 19): the freeze guards (app.services.freeze, freeze_year) compare a
write with the closed periods and years of the schools its rows belong to, never with the whole district's.

A school's closed state is read once per transaction. A caller names the schools it knows from the session
and asks the database for the others' through what the rows point at (an assignment, lesson, period, class,
year or student): one statement whatever the mix, every school asked answering with at least one row, so
that a school with nothing closed is remembered too. A flush or statement that changes periods or years
forgets it all; one that changes what decides a row's school forgets only which rows were resolved."""
from dataclasses import dataclass, field

from sqlalchemy import and_, event, join, or_, select
from sqlalchemy.orm import Session

from app.models import (
    AcademicYear,
    ClassUnit,
    Enrolment,
    Lesson,
    PeriodKind,
    ReportingPeriod,
    School,
    StudyGroup,
    TeachingAssignment,
)

CLOSED = "freeze_closed_state"  # session.info: the ClosedState of the current transaction
REFERS = (TeachingAssignment, Lesson, ClassUnit, StudyGroup, Enrolment)  # changing them may move a row's school


def _schools_of(kind: str, ids):
    """The schools of rows a claim points at, as a subquery (rows of other schools are never read)."""
    if kind == "assignment":
        return select(TeachingAssignment.school_id).where(TeachingAssignment.id.in_(ids))
    if kind == "lesson":
        return (select(TeachingAssignment.school_id).join(Lesson, Lesson.assignment_id == TeachingAssignment.id)
                .where(Lesson.id.in_(ids)))
    if kind == "period":
        return select(ReportingPeriod.school_id).where(ReportingPeriod.id.in_(ids))
    if kind == "year":
        return select(AcademicYear.school_id).where(AcademicYear.id.in_(ids))
    if kind == "class":
        return select(ClassUnit.school_id).where(ClassUnit.id.in_(ids))
    # "student": the schools of the classes the student was ever enrolled in
    return (select(ClassUnit.school_id).join(Enrolment, Enrolment.class_unit_id == ClassUnit.id)
            .where(Enrolment.student_id.in_(ids)))


@dataclass
class ClosedState:
    """The closed periods and years of the schools read so far in this transaction."""

    schools: dict = field(default_factory=dict)  # school id → (its closed periods, its closed years)
    resolved: set = field(default_factory=set)  # (kind, id) whose school is among `schools`

    def periods(self) -> list[ReportingPeriod]:
        """Every school's closed periods, each closed year's own period first (see freeze.closed_periods)."""
        firsts = [p for periods, years in self.schools.values() for p in periods[:len(years)]]
        return firsts + [p for periods, years in self.schools.values() for p in periods[len(years):]]

    def years(self) -> list[AcademicYear]:
        return [y for _periods, years in self.schools.values() for y in years]


def closed_state(session: Session, schools=(), asks: dict | None = None) -> ClosedState:
    """The closed state holding at least `schools` and the schools of `asks` ({kind: ids}, see _schools_of),
    read in one statement when some of them are not known yet in this transaction."""
    state = session.info.get(CLOSED)
    if state is None:
        state = session.info[CLOSED] = ClosedState()
    missing = {s for s in schools if s is not None} - set(state.schools)
    pending = {kind: {i for i in ids if i is not None and (kind, i) not in state.resolved}
               for kind, ids in (asks or {}).items()}
    pending = {kind: ids for kind, ids in pending.items() if ids}
    if missing or pending:
        _read(session, state, missing, pending)
    return state


def _read(session: Session, state: ClosedState, missing: set, pending: dict) -> None:
    closed = join(AcademicYear, ReportingPeriod, ReportingPeriod.year_id == AcademicYear.id, isouter=True)
    wanted = [School.id.in_(missing)] if missing else []
    wanted += [School.id.in_(_schools_of(kind, ids)) for kind, ids in pending.items()]
    rows = session.execute(  # the year's `closed` as stored, not as pending in the session
        select(School.id, AcademicYear, ReportingPeriod, AcademicYear.closed).select_from(School)
        .outerjoin(closed, and_(AcademicYear.school_id == School.id,
                                or_(ReportingPeriod.closed.is_(True), AcademicYear.closed.is_(True))))
        .where(or_(*wanted))).all()
    found = {}
    for school_id, year, period, stored in rows:
        years, periods = found.setdefault(school_id, ({}, []))
        if year is not None and stored:
            years[year.id] = year
        if period is not None:
            periods.append(period)
    for school_id, (years, periods) in found.items():
        state.schools[school_id] = _ordered(years, periods)
    for school_id in missing - set(found):
        state.schools[school_id] = ([], [])
    state.resolved |= {(kind, i) for kind, ids in pending.items() for i in ids}


def _ordered(years: dict, periods: list) -> tuple[list, list]:
    """The school's closed periods with each closed year's own period first (a stand-in spanning a year
    without a «year» period, never saved), and its closed years in the same order."""
    firsts = {p.year_id: p for p in periods if p.year_id in years and p.kind == PeriodKind.year}
    for year in years.values():
        if year.id not in firsts:
            firsts[year.id] = ReportingPeriod(id=0, school_id=year.school_id, year_id=year.id, kind=PeriodKind.year,
                                              number=1, start=year.start, end=year.end, closed=True)
            firsts[year.id].year = year
    ordered = [years[year_id] for year_id in firsts]
    return list(firsts.values()) + [p for p in periods if p not in firsts.values()], ordered


@event.listens_for(Session, "after_flush")
def _forget_if_changed(session: Session, _context) -> None:
    state = session.info.get(CLOSED)
    if state is None:
        return
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, (ReportingPeriod, AcademicYear)) for o in changed):
        session.info.pop(CLOSED, None)
    elif any(isinstance(o, REFERS) for o in changed):
        state.resolved.clear()


def forgotten_with_its_transaction(key: str) -> None:
    """A `session.info` entry read once per transaction: gone when the transaction (or a savepoint) ends and
    after any bulk INSERT, UPDATE or DELETE (which the after-flush checks of its owner cannot see)."""
    @event.listens_for(Session, "do_orm_execute")
    def _forget_on_dml(orm_state) -> None:
        if orm_state.is_update or orm_state.is_delete or orm_state.is_insert:
            orm_state.session.info.pop(key, None)

    @event.listens_for(Session, "after_transaction_end")
    def _forget(session: Session, transaction) -> None:
        if transaction.parent is None or transaction.nested:
            session.info.pop(key, None)


forgotten_with_its_transaction(CLOSED)
