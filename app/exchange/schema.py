"""The diary message format (SPEC §6): the envelope of one outbox message and its validation against
`schema/diary-message.v1.json` (JSON Schema draft 2020-12, documented in docs/exchange.md)."""
import datetime as dt
import json
from functools import cache
from importlib.resources import files

from jsonschema import Draft202012Validator

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "diary-message.v1.json"


@cache
def schema() -> dict:
    """The message schema as shipped with the package."""
    return json.loads(files(__package__).joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8"))


KINDS: tuple[str, ...] = tuple(schema()["properties"]["kind"]["enum"])
ENTITY_KINDS: tuple[str, ...] = tuple(schema()["$defs"]["item"]["properties"]["kind"]["enum"])


@cache
def validator() -> Draft202012Validator:
    """The schema's validator, checking formats (dates) too."""
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "message"


def errors(message: dict) -> list[str]:
    """What is wrong with a message, one readable line per error: «payload.value: 7 is greater than the
    maximum of 5»; empty when the message is valid."""
    found = [(_path(e.absolute_path), e.message) for e in validator().iter_errors(message)]
    return [f"{path}: {text}" for path, text in sorted(found)]


def utc_iso(moment: dt.datetime) -> str:
    """A moment as ISO 8601 UTC with «Z»; a naive moment is taken as UTC (as the database stores it)."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class RawJSON(str):
    """A payload's JSON text as the outbox stores it: it goes into the request as it is (`batch_json`), never
    decoded and encoded again on the way (issue 19)."""


def envelope(row, student: dict, school: dict) -> dict:
    """The message an OutboxMessage row sends: its id, key, kind and payload in the envelope (a payload read as
    text stays its stored JSON)."""
    payload = RawJSON(row.payload) if isinstance(row.payload, str) else row.payload
    return {"id": row.id, "idempotency_key": row.key, "kind": row.kind, "version": SCHEMA_VERSION,
            "created_at": utc_iso(row.created_at), "school": school, "student": student, "payload": payload}


_HOLE = '"payload":null}'  # no JSON string holds it unescaped, and only the envelope has a "payload" key


def _shell(message: dict, whole: bool) -> dict:
    """The message to encode: a RawJSON payload decoded (`whole`) or left as a null to fill in."""
    payload = message.get("payload")
    if not isinstance(payload, RawJSON):
        return message
    return {**message, "payload": json.loads(payload) if whole else None}


def batch_json(batch: str, messages: list[dict]) -> bytes:
    """The request body {"batch", "messages"} as compact UTF-8 JSON. When every payload is RawJSON, the
    envelopes are encoded once with empty payloads and each payload's text is written into its place."""
    raw = [m["payload"] for m in messages if isinstance(m.get("payload"), RawJSON)]
    whole = len(raw) < len(messages) or not messages  # then a RawJSON payload among them is decoded
    shells = [_shell(m, whole) for m in messages] if raw else messages
    body = json.dumps({"batch": batch, "messages": shells}, ensure_ascii=False, separators=(",", ":"))
    if not whole:
        parts = body.split(_HOLE)
        body = parts[0] + "".join(f'"payload":{text}}}{rest}' for text, rest in zip(raw, parts[1:], strict=True))
    return body.encode()
