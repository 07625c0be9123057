"""The demo's consents, contacts and delivery preferences: ~85% consented, ~5% refused, ~10% no
decision yet, a few withdrawals; every contact with its provenance."""
import datetime as dt
import random

from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    Channel,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DeliveryPreference,
    DocumentKind,
    Provenance,
    StudentGuardian,
)
from app.services.bulk import insert_rows
from app.services.consent import STANDARD_TEXT
from app.services.demo.school import DemoSchool


class FamiliesBuilder:
    """Builds the families' paperwork of a DemoSchool deterministically."""

    def __init__(self, demo: DemoSchool, rng: random.Random, today: dt.date):
        self.demo, self.rng, self.today = demo, rng, today
        school = demo.school
        self.operator = f"{school.full_name}, {school.address}"

    def build(self) -> dict[str, int]:
        """Contacts for every representative, decisions and preferences for every student."""
        rng, school_id, start = self.rng, self.demo.school.id, self.demo.year.start
        links = db.session.execute(select(StudentGuardian.student_id, StudentGuardian.guardian_id,
                                          StudentGuardian.authority_basis)
                                   .where(StudentGuardian.school_id == school_id)
                                   .order_by(StudentGuardian.student_id, StudentGuardian.id)).all()
        contacts = self._contacts(sorted({g for _s, g, _b in links}))
        first_link = {}
        for student_id, guardian_id, basis in links:
            first_link.setdefault(student_id, (guardian_id, basis))
        consents, preferences, counts = [], [], {"consent": 0, "refusal": 0, "none": 0, "withdrawal": 0}
        for n, (student_id, (guardian_id, basis)) in enumerate(sorted(first_link.items()), start=1):
            x = rng.random()
            signed = start - dt.timedelta(days=rng.randint(0, 20))
            decision = None
            if x < 0.10:
                counts["none"] += 1
            else:
                decision = Decision.refusal if x < 0.15 else Decision.consent
                consents.append(self._consent(student_id, guardian_id, basis, decision, signed, n))
                if decision == Decision.consent and rng.random() < 0.015:
                    withdrawn = min(self.today, start + dt.timedelta(days=rng.randint(20, 80)))
                    consents.append(self._consent(student_id, guardian_id, basis, Decision.withdrawal, withdrawn, n))
                    decision = Decision.withdrawal
                counts[decision.value] += 1
            own = contacts.get(guardian_id, {})
            if decision == Decision.consent:
                channel = Channel.portal if rng.random() < 0.8 or ContactKind.email not in own else Channel.email
                kind = ContactKind.portal if channel == Channel.portal else ContactKind.email
                preferences.append({"school_id": school_id, "student_id": student_id, "channel": channel.value,
                                    "contact_id": own.get(kind)})
            else:
                preferences.append({"school_id": school_id, "student_id": student_id, "channel": Channel.paper.value,
                                    "contact_id": None})
        insert_rows(Consent, consents)
        insert_rows(DeliveryPreference, preferences)
        return {f"consent_{k}": v for k, v in counts.items()}

    def _consent(self, student_id, guardian_id, basis, decision: Decision, day: dt.date, n: int) -> dict:
        paper = self.rng.random() < 0.7
        return {"school_id": self.demo.school.id, "student_id": student_id, "guardian_id": guardian_id,
                "decision": decision.value, "decided_on": day, "authority_basis": basis, "operator": self.operator,
                **STANDARD_TEXT, "document_kind": (DocumentKind.paper if paper else DocumentKind.electronic).value,
                "document_number": f"{n}-ПД" if paper else "", "document_date": day if paper else None,
                "electronic_document_id": "" if paper else f"ЕПГУ-{self.rng.randint(10**8, 10**9 - 1)}",
                "recorded_by": "registrar", "recorded_at": dt.datetime.combine(day, dt.time(10, 0))}

    def _contacts(self, guardian_ids: list[int]) -> dict[int, dict[ContactKind, int]]:
        rng, school_id, rows = self.rng, self.demo.school.id, []
        for gid in guardian_ids:
            written = rng.random() < 0.7
            provenance = Provenance.written_statement if written else Provenance.electronic_document
            reference = (f"Заявление № {gid} от {self.demo.year.start:%d.%m.%Y}" if written
                         else f"ЕПГУ-{rng.randint(10**8, 10**9 - 1)}")
            values = {ContactKind.phone: f"+79{rng.randint(10**8, 10**9 - 1)}",
                      ContactKind.portal: f"esia:{rng.randint(10**9, 10**10 - 1)}"}
            if rng.random() < 0.7:
                values[ContactKind.email] = f"parent{gid}@example.ru"
            rows += [{"school_id": school_id, "guardian_id": gid, "kind": kind.value, "value": value,
                      "provenance": provenance.value, "document_reference": reference, "active": True}
                     for kind, value in values.items()]
        ids = db.session.scalars(insert(ContactPoint).returning(ContactPoint.id, sort_by_parameter_order=True),
                                 rows).all()
        out: dict[int, dict[ContactKind, int]] = {}
        for row, cid in zip(rows, ids, strict=True):
            out.setdefault(row["guardian_id"], {})[ContactKind(row["kind"])] = cid
        return out

