"""The demo school's structure: staff and logins, classes, groups, a stream, plans, students, families."""
import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    Enrolment,
    Guardian,
    IndividualPlan,
    PeriodKind,
    School,
    Staff,
    Stream,
    Student,
    StudentGuardian,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
    stream_student,
    study_group_student,
)
from app.security.passwords import password_hash
from app.security.roles import (
    ROLE_ADMINISTRATION,
    ROLE_AUDITOR,
    ROLE_CLASS_TEACHER,
    ROLE_REGISTRAR,
    ROLE_TEACHER,
)
from app.services.bulk import insert_rows
from app.services.demo import names
from app.services.demo.curriculum import (
    PRIMARY_SPECIALIST,
    PRIMARY_TEACHER,
    SPECIALTIES,
    SPECIALTY_OF,
    SPLIT_SUBJECTS,
    SUBJECTS,
    WEEKLY_HOURS,
)

DEFAULT_WORK_TYPES = [
    ("Ответ на уроке", 1), ("Домашняя работа", 1), ("Самостоятельная работа", 2),
    ("Практическая работа", 2), ("Лабораторная работа", 2), ("Проверочная работа", 3),
    ("Контрольная работа", 5),
]
SIZES = {
    "small": {"classes": [(1, "А"), (5, "А"), (5, "Б"), (10, "А")], "students": (24, 28), "load": 18},
    "school": {"classes": [(g, letter) for g in range(1, 12) for letter in "АБВ"], "students": (22, 30),
               "load": 18},
}
OFFICE = [
    ("director", "Директор", ROLE_ADMINISTRATION),
    ("deputy", "Заместитель директора по УВР", ROLE_ADMINISTRATION),
    ("registrar", "Секретарь учебной части", ROLE_REGISTRAR),
    ("auditor", "Ответственный за обработку персональных данных", ROLE_AUDITOR),
]


@dataclass
class DemoSchool:
    """What the structure builder made, for the later builders (lessons, marks, consents)."""

    school: School
    year: AcademicYear
    classes: list[ClassUnit] = field(default_factory=list)
    subjects: dict[str, Subject] = field(default_factory=dict)
    teachers: list[Staff] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    student_ids: dict[int, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class StructureBuilder:
    """Builds the school's people and structure deterministically from a seed."""

    def __init__(self, school: School, year: AcademicYear, size: str, rng: random.Random, password: str,
                 prefix: str = ""):
        self.demo = DemoSchool(school, year)
        self.prefix = prefix  # a district's schools after the first: `s02-teacher01`
        self.size = SIZES[size]
        self.rng = rng
        self.password_hash = password_hash(password)
        self.roles = {r.name: r for r in db.session.scalars(select(Role))}

    def build(self) -> DemoSchool:
        """Everything but lessons: reference lists, staff, classes, students, groups, assignments."""
        school = self.demo.school
        db.session.add_all(WorkType(school=school, name=n, weight=w) for n, w in DEFAULT_WORK_TYPES)
        for name, (short, pass_fail) in SUBJECTS.items():
            self.demo.subjects[name] = Subject(school=school, name=name, short_name=short, pass_fail=pass_fail)
        db.session.add_all(self.demo.subjects.values())
        self._office()
        self._classes()
        db.session.flush()
        self._students()
        self._teachers_and_assignments()
        return self.demo

    def _login(self, username: str, staff: Staff, *roles: str) -> None:
        username = self.prefix + username
        staff.user = User(first_name=staff.name, last_name=staff.surname, username=username,
                          email=f"{username}@school.local", active=True, password=self.password_hash,
                          roles=[self.roles[r] for r in roles])
        self.demo.logins.append((username, f"{staff.short_name}, {staff.position}"))

    def _staff(self, position: str) -> Staff:
        surname, name, patronymic = names.person(self.rng, male=self.rng.random() < 0.25)
        staff = Staff(school=self.demo.school, surname=surname, name=name, patronymic=patronymic,
                      position=position)
        db.session.add(staff)
        return staff

    def _office(self) -> None:
        for username, position, role in OFFICE:
            staff = self._staff(position)
            if username == "director":
                self.demo.school.director = staff.full_name
            self._login(username, staff, role)

    def _classes(self) -> None:
        for grade, letter in self.size["classes"]:
            kind = PeriodKind.half_year if grade >= 10 else PeriodKind.quarter
            self.demo.classes.append(ClassUnit(school=self.demo.school, year=self.demo.year, grade=grade,
                                               letter=letter, period_kind=kind))
        db.session.add_all(self.demo.classes)

    def _students(self) -> None:
        """Families of one to three children; each child in a class, enrolled at the year's start."""
        rng, school_id, year = self.rng, self.demo.school.id, self.demo.year
        seats = [(c, rng.randint(*self.size["students"])) for c in self.demo.classes]
        pupils = [c for c, n in seats for _ in range(n)]
        rng.shuffle(pupils)
        students, families = [], []
        while pupils:
            kids = [pupils.pop() for _ in range(min(len(pupils), rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3))))]
            family = rng.choice(names.SURNAMES)
            father = rng.choice(names.MALE)
            families.append((family, father, len(students), len(kids)))
            for cls in kids:
                male = rng.random() < 0.5
                entered = dt.date(year.start.year - cls.grade + 1, 9, 1)
                born = entered - dt.timedelta(days=rng.randint(6 * 365 + 180, 7 * 365 + 300))
                students.append({
                    "school_id": school_id, "surname": family if male else names.feminine_surname(family),
                    "name": rng.choice(names.MALE if male else names.FEMALE),
                    "patronymic": names.patronymic(father, male), "birth_date": born,
                    "file_number": f"{entered.year}-{len(students) + 1:04d}", "class_unit_id": cls.id,
                    "enrolled_on": entered,
                })
        ids = db.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), students).all()
        insert_rows(Enrolment, [
            {"school_id": school_id, "student_id": sid, "class_unit_id": s["class_unit_id"], "start": year.start}
            for sid, s in zip(ids, students)
        ])
        for sid, s in zip(ids, students):
            self.demo.student_ids.setdefault(s["class_unit_id"], []).append(sid)
        self._guardians(families, ids)
        self.demo.counts["students"] = len(ids)

    def _guardians(self, families, student_ids: list[int]) -> None:
        rng, school_id = self.rng, self.demo.school.id
        guardians, links = [], []
        for family, father, first, count in families:
            adults = [("мать", False)] + ([("отец", True)] if rng.random() < 0.6 else [])
            if rng.random() < 0.03:
                adults = [("опекун", rng.random() < 0.3)]
            for relation, male in adults:
                name = father if relation == "отец" else rng.choice(names.MALE if male else names.FEMALE)
                guardians.append({
                    "school_id": school_id, "surname": family if male else names.feminine_surname(family),
                    "name": name, "patronymic": names.patronymic(rng.choice(names.MALE), male),
                    "identity_document": f"паспорт {rng.randint(10, 99)} {rng.randint(10, 99)} "
                                         f"{rng.randint(100000, 999999)}",
                })
                basis = ("постановление органа опеки и попечительства" if relation == "опекун"
                         else "свидетельство о рождении ребёнка")
                links.append([(student_ids[first + k], relation, basis) for k in range(count)])
        ids = db.session.scalars(insert(Guardian).returning(Guardian.id, sort_by_parameter_order=True),
                                 guardians).all()
        insert_rows(StudentGuardian, [
            {"school_id": school_id, "student_id": sid, "guardian_id": gid, "relation": rel, "authority_basis": basis}
            for gid, kids in zip(ids, links) for sid, rel, basis in kids
        ])
        self.demo.counts["guardians"] = len(ids)

    def _teachers_and_assignments(self) -> None:
        """Primary teachers take their class; subject teachers take bundles of their specialty."""
        demo = self.demo
        bundles: dict[str, list[list[tuple[object, str, int]]]] = defaultdict(list)
        primary: list[tuple[ClassUnit, list[tuple[str, int]]]] = []
        groups = []
        for cls in demo.classes:
            own, by_specialty = [], defaultdict(list)
            for subject, hours in WEEKLY_HOURS[cls.grade].items():
                if cls.grade <= 4 and subject not in PRIMARY_SPECIALIST:
                    own.append((subject, hours))
                elif subject in SPLIT_SUBJECTS:
                    pair = [StudyGroup(school=demo.school, class_unit=cls, name=f"{n} группа",
                                       subject=demo.subjects[subject]) for n in (1, 2)]
                    groups.extend((g, cls) for g in pair)
                    bundles[SPECIALTY_OF[subject]].extend([[(g, subject, hours)] for g in pair])
                else:
                    by_specialty[SPECIALTY_OF[subject]].append((cls, subject, hours))
            for specialty, bundle in by_specialty.items():
                bundles[specialty].append(bundle)
            if own:
                primary.append((cls, own))
        db.session.add_all(g for g, _ in groups)
        self._stream_and_plans(bundles)
        db.session.flush()
        self._group_members(groups)
        assignments = []
        for specialty in SPECIALTIES:
            teacher, load = None, 0
            for bundle in bundles.get(specialty, []):
                hours = sum(h for _, _, h in bundle)
                if teacher is None or load + hours > self.size["load"]:
                    teacher, load = self._teacher(specialty), 0
                assignments.extend(self._assign(teacher, s, target, h) for target, s, h in bundle)
                load += hours
        for cls, own in primary:
            teacher = self._teacher(PRIMARY_TEACHER)
            cls.class_teacher = teacher
            assignments.extend(self._assign(teacher, s, cls, h) for s, h in own)
        db.session.add_all(assignments)
        senior = [c for c in demo.classes if c.grade >= 5]
        subject_teachers = [t for t in demo.teachers if t.position != PRIMARY_TEACHER]
        for cls, teacher in zip(senior, self.rng.sample(subject_teachers, len(senior))):
            cls.class_teacher = teacher
        homeroom = {id(c.class_teacher) for c in demo.classes}
        for number, teacher in enumerate(demo.teachers, start=1):
            roles = [ROLE_TEACHER] + ([ROLE_CLASS_TEACHER] if id(teacher) in homeroom else [])
            self._login(f"teacher{number:02d}", teacher, *roles)
        demo.counts.update(teachers=len(demo.teachers), assignments=len(assignments), groups=len(groups))

    def _teacher(self, position: str) -> Staff:
        teacher = self._staff(position)
        self.demo.teachers.append(teacher)
        return teacher

    def _assign(self, teacher: Staff, subject: str, target, hours: int) -> TeachingAssignment:
        key = {ClassUnit: "class_unit", StudyGroup: "group", Stream: "stream", IndividualPlan: "plan"}[type(target)]
        return TeachingAssignment(school=self.demo.school, year=self.demo.year, teacher=teacher,
                                  subject=self.demo.subjects[subject], weekly_hours=hours, **{key: target})

    def _group_members(self, groups) -> None:
        rows = []
        halves: dict[int, list[StudyGroup]] = defaultdict(list)
        for group, cls in groups:
            halves[cls.id].append(group)
        for class_id, pair in halves.items():
            pupils = self.demo.student_ids[class_id]
            middle = (len(pupils) + 1) // 2
            for group, members in zip(pair, (pupils[:middle], pupils[middle:])):
                rows.extend({"group_id": group.id, "student_id": sid} for sid in members)
        if rows:
            insert_rows(study_group_student, rows)

    def _stream_and_plans(self, bundles) -> None:
        """One elective stream of the senior grade and a few home-schooling individual plans."""
        demo, rng = self.demo, self.rng
        senior = [c for c in demo.classes if c.grade == max(c.grade for c in demo.classes)]
        stream = Stream(school=demo.school, year=demo.year, name="Практикум по математике")
        db.session.add(stream)
        db.session.flush()
        members = [sid for c in senior for sid in rng.sample(demo.student_ids[c.id], 5)]
        insert_rows(stream_student, [{"stream_id": stream.id, "student_id": s} for s in members])
        bundles[SPECIALTY_OF["Практикум по математике"]].append([(stream, "Практикум по математике", 1)])
        candidates = [c for c in demo.classes if 5 <= c.grade <= 9] or demo.classes
        for cls in rng.sample(candidates, min(3, len(candidates))):
            subject = "Математика" if cls.grade <= 6 else "Алгебра"
            student = db.session.get(Student, rng.choice(demo.student_ids[cls.id]))
            plan = IndividualPlan(school=demo.school, year=demo.year, student=student,
                                  subject=demo.subjects[subject],
                                  reason="Обучение на дому по медицинским показаниям")
            db.session.add(plan)
            bundles[SPECIALTY_OF[subject]].append([(plan, subject, 2)])
        demo.counts["plans"] = min(3, len(candidates))
