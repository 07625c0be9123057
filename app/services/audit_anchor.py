"""Anchors of the audit chains: each chain's head (row count, last row, hash; a chain per school) and the
time, kept where the database cannot reach (a file the operator keeps, the log). A keyed chain stops a DBA
from editing rows, but not from removing the newest ones: an anchor taken before remembers how long each
chain was. Lines written before the chains were per school hold the whole trail's head and still count.
"""
import datetime as dt
import json
import logging
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditEvent

log = logging.getLogger("app.audit")
ANCHOR_FIELDS = ("at", "chains")  # chains: {"<school id>" or "none": {count, last_id, hash}}
HEAD_FIELDS = ("count", "last_id", "hash")  # a chain's head; also the whole trail's, in lines written before


class AnchorFileError(ValueError):
    """An anchor file that cannot be read; `message` says why, in Russian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def chain_head() -> dict:
    """The anchor of the trail as it is now: UTC time and, per chain, its number of rows, id and hash of the
    last one (two statements, the heads found by the index (school_id, id))."""
    from app.services.audit_chain import chain_key

    heads = db.session.execute(select(AuditEvent.school_id, func.count(), func.max(AuditEvent.id))
                               .group_by(AuditEvent.school_id)).all()
    hashes = dict(db.session.execute(select(AuditEvent.id, AuditEvent.hash)
                                     .where(AuditEvent.id.in_([last for _, _, last in heads]))).all()) if heads else {}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"at": now.isoformat(), "chains": {chain_key(school_id): {"count": count, "last_id": last,
                                                                     "hash": hashes[last]}
                                              for school_id, count, last in heads}}


def anchored_rows(anchor: dict) -> int:
    """Rows an anchor covers (of every chain)."""
    return sum(head["count"] for head in anchor["chains"].values())


def anchor_line(anchor: dict) -> str:
    """An anchor as one JSON line (the file, the log and the command's output write the same)."""
    return json.dumps({k: anchor[k] for k in ANCHOR_FIELDS}, ensure_ascii=False, sort_keys=True)


def append_anchor(anchor: dict, path: str | Path) -> None:
    """Append the anchor as one JSON line to the operator's file and write it to the log."""
    line = anchor_line(anchor)
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    except OSError as err:
        raise AnchorFileError(f"не удалось дописать привязку в файл {path}: {err.strerror}") from None
    log.info("audit anchor %s", line)


def read_anchors(path: str | Path) -> list[dict]:
    """The anchors of a file (every line is checked: a rebuilt chain fails all of them)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AnchorFileError(f"не удалось прочитать файл привязок {path}: "
                              f"{getattr(err, 'strerror', None) or 'не текст UTF-8'}") from None
    anchors = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        anchor = _parse(line)
        if anchor is None:
            raise AnchorFileError(f"файл привязок {path}, строка {number}: ожидается JSON с полями "
                                  f"{', '.join(ANCHOR_FIELDS)}, как пишет `audit anchor`")
        anchors.append(anchor)
    if not anchors:
        raise AnchorFileError(f"в файле привязок {path} нет ни одной привязки")
    return anchors


def _head(value) -> bool:
    """A head: a count and a last id (whole numbers, not negative) and a hash."""
    if not isinstance(value, dict) or any(k not in value for k in HEAD_FIELDS) or not isinstance(value["hash"], str):
        return False
    return all(isinstance(value[k], int) and not isinstance(value[k], bool) and value[k] >= 0
               for k in ("count", "last_id"))


def _parse(line: str) -> dict | None:
    try:
        anchor = json.loads(line)
    except ValueError:
        return None
    if not isinstance(anchor, dict) or not isinstance(anchor.get("at"), str):
        return None
    chains = anchor.get("chains")
    if chains is None:  # a line written before the chains were per school: the whole trail's head
        return anchor if _head(anchor) else None
    if not isinstance(chains, dict) or not all(_chain_name(k) and _head(v) for k, v in chains.items()):
        return None
    return anchor


def _chain_name(name) -> bool:
    return name == "none" or (isinstance(name, str) and name.isdigit())
