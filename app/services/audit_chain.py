"""Verifying the audit trail chain by chain: each school's events are chained to the previous event of the same
school (no school: a chain of its own), so a broken link names its school and leaves the others valid.

Events older than `AuditChainStart.per_school_from` (the trail before migration 0014) were written as one chain
over every school: each of them links to the previous event of the whole trail; the first per-school event of a
school links to that school's newest event, old or new. Anchors (`audit_anchor`) hold each chain's head; the
anchors written before hold the whole trail's head by its row count and are checked as such.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditChainStart, AuditEvent
from app.services.audit import HASHED_FIELDS, audit_key, event_hash, legacy_hash


def chain_name(school_id: int | None) -> str:
    """«цепочка школы №3», «цепочка без школы»: how a chain is named to the auditor."""
    return "цепочка без школы" if school_id is None else f"цепочка школы №{school_id}"


def chain_key(school_id: int | None) -> str:
    """A chain's key in an anchor's JSON."""
    return "none" if school_id is None else str(school_id)


@dataclass
class Chain:
    """Walking one chain: the hash its next event must link to, the rows found intact, the first problem."""

    previous: str = ""
    checked: int = 0
    last_id: int = 0
    problem: str | None = None
    anchors: dict = field(default_factory=dict)  # row count → the anchor of this chain at that count


def per_school_from() -> int:
    """The first id chained per school (0 when the trail was per school from its start)."""
    return db.session.scalar(select(AuditChainStart.per_school_from).limit(1)) or 0


def _link_problem(event_row, previous: str, key: str) -> str | None:
    if event_row.prev_hash != previous:
        return (f"запись №{event_row.id}: не совпадает хеш предыдущей записи — запись перед ней удалена, "
                f"вставлена или переставлена")
    if event_hash({k: getattr(event_row, k) for k in HASHED_FIELDS}, key) != event_row.hash:
        return f"запись №{event_row.id}: содержимое изменено после записи"
    return None


class Walk:
    """The trail in id order, every chain at once (one pass, in batches)."""

    def __init__(self, anchors: list[dict]):
        self.chains: dict[int | None, Chain] = defaultdict(Chain)
        self.single = Chain()  # the one chain of the events before per_school_from
        self.whole = Chain()  # the whole trail in id order, for the anchors written before the chains
        self.key, self.start = audit_key(), per_school_from()
        self.whole.anchors = {a["count"]: a for a in anchors if "chains" not in a and a["count"]}
        self.anchored: dict[int | None, int] = {}
        for anchor in (a for a in anchors if "chains" in a):
            for name, head in anchor["chains"].items():
                school_id = None if name == "none" else int(name)
                self.chains[school_id].anchors[head["count"]] = {**head, "at": anchor["at"]}
                self.anchored[school_id] = max(self.anchored.get(school_id, 0), head["count"])

    def take(self, event_row) -> None:
        chain = self.chains[event_row.school_id]
        link = self.single if event_row.id < self.start else chain
        if chain.problem is None:
            chain.problem = _link_problem(event_row, link.previous, self.key) or \
                _anchor_problem(chain, chain.checked + 1, event_row, "в цепочке")
            if chain.problem is None:
                chain.checked, chain.last_id = chain.checked + 1, event_row.id
        self.whole.problem = self.whole.problem or _anchor_problem(self.whole, self.whole.checked + 1, event_row)
        self.whole.checked, self.whole.last_id = self.whole.checked + 1, event_row.id
        link.previous = chain.previous = event_row.hash  # a broken link is named once, not at every later row

    def problems(self) -> list[str]:
        """Each broken chain's first problem, named by its chain; then rows missing from the end."""
        out = [f"{chain_name(s)}: {c.problem}" for s, c in sorted(self.chains.items(), key=lambda i: i[0] or 0)
               if c.problem]
        for school_id, count in sorted(self.anchored.items(), key=lambda i: i[0] or 0):
            chain = self.chains[school_id]
            if chain.problem is None and chain.checked < count:
                out.append(f"{chain_name(school_id)}: {_shorter(chain, count)}")
        longest = max(self.whole.anchors, default=0)
        if self.whole.problem:
            out.append(f"весь журнал: {self.whole.problem}")
        elif longest > self.whole.checked:
            out.append(f"весь журнал: {_shorter(self.whole, longest)}")
        return out


def _anchor_problem(chain: Chain, position: int, event_row, where: str = "в журнале") -> str | None:
    anchor = chain.anchors.get(position)
    if anchor is None or anchor["hash"] == event_row.hash:
        return None
    return (f"запись №{event_row.id}: хеш не совпадает с привязкой от {anchor['at']} (запись {position} по счёту "
            f"{where}) — журнал до неё перестроен")


def _shorter(chain: Chain, count: int) -> str:
    """The problem of a chain that ends before its longest anchor's row (its tail was removed)."""
    anchor = chain.anchors[count]
    first = f"после записи №{chain.last_id}" if chain.last_id else "с первой"
    return (f"записи {first} удалены: по привязке от {anchor['at']} было записей {count} "
            f"(последняя №{anchor['last_id']}), сейчас {chain.checked}")


def verify_chains(batch: int = 5000, anchors: list[dict] | None = None) -> tuple[int, str | None]:
    """Walk the trail; returns (rows found intact, the problems of the broken chains joined, or None)."""
    walk, last_id = Walk(anchors or []), 0
    while True:
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                    .order_by(AuditEvent.id).limit(batch)).all()
        if not events:
            break
        for event_row in events:
            walk.take(event_row)
        last_id = events[-1].id
    problems = walk.problems()
    return sum(c.checked for c in walk.chains.values()), "; ".join(problems) or None


def rekey() -> tuple[int, str | None]:
    """Once, at the upgrade to AUDIT_KEY: check the trail under the old unkeyed hash (one chain over the whole
    trail, as it was written) and, only if it is intact, chain it again with the key, per school. Returns (rows
    re-keyed, the first problem or None); on a problem nothing changes."""
    old_previous, heads, done, key = "", {}, 0, audit_key()
    for event_row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        row = {k: getattr(event_row, k) for k in HASHED_FIELDS}
        if event_row.prev_hash != old_previous or legacy_hash(row) != event_row.hash:
            db.session.rollback()
            return 0, f"запись №{event_row.id}: цепочка без ключа нарушена — перевод на ключ отменён"
        old_previous = event_row.hash
        event_row.prev_hash = row["prev_hash"] = heads.get(event_row.school_id, "")
        event_row.hash = heads[event_row.school_id] = event_hash(row, key)
        done += 1
    start = db.session.get(AuditChainStart, 1)
    if start is not None:
        start.per_school_from = 0  # every event is now chained per school
    db.session.commit()
    return done, None
