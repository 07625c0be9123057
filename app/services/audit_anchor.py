"""Anchors of the audit chain: its head (row count, last row, hash) and the time, kept where the database
cannot reach (a file the operator keeps, the log). A keyed chain stops a DBA from editing rows, but not
from removing the newest ones: an anchor taken before remembers how long the chain was.
"""
import datetime as dt
import json
import logging
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditEvent

log = logging.getLogger("app.audit")
ANCHOR_FIELDS = ("at", "count", "last_id", "hash")


class AnchorFileError(ValueError):
    """An anchor file that cannot be read; `message` says why, in Russian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def chain_head() -> dict:
    """The anchor of the chain as it is now: UTC time, number of rows, id and hash of the last one."""
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    last = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"at": now.isoformat(), "count": count, "last_id": last.id if last else 0, "hash": last.hash if last else ""}


def append_anchor(anchor: dict, path: str | Path) -> None:
    """Append the anchor as one JSON line to the operator's file and write it to the log."""
    line = json.dumps({k: anchor[k] for k in ANCHOR_FIELDS}, ensure_ascii=False)
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    except OSError as err:
        raise AnchorFileError(f"не удалось дописать привязку в файл {path}: {err.strerror}") from None
    log.info("audit anchor %s", line)


def read_anchors(path: str | Path) -> dict[int, dict]:
    """The anchors of a file by row count (every line is checked: a rebuilt chain fails all of them)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AnchorFileError(f"не удалось прочитать файл привязок {path}: "
                              f"{getattr(err, 'strerror', None) or 'не текст UTF-8'}") from None
    anchors = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        anchor = _parse(line)
        if anchor is None:
            raise AnchorFileError(f"файл привязок {path}, строка {number}: ожидается JSON с полями "
                                  f"{', '.join(ANCHOR_FIELDS)}, как пишет `audit anchor`")
        if anchor["count"]:
            anchors[anchor["count"]] = anchor
    if not lines or not any(line.strip() for line in lines):
        raise AnchorFileError(f"в файле привязок {path} нет ни одной привязки")
    return anchors


def _parse(line: str) -> dict | None:
    try:
        anchor = json.loads(line)
    except ValueError:
        return None
    if not isinstance(anchor, dict) or any(k not in anchor for k in ANCHOR_FIELDS):
        return None
    count, last_id = anchor["count"], anchor["last_id"]
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in (count, last_id)) or \
            not isinstance(anchor["hash"], str) or not isinstance(anchor["at"], str):
        return None
    return anchor
