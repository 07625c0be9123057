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
    if moment.tzinfo is None:  # one call, not three: 500 a batch in the exchange job
        return moment.isoformat(timespec="seconds") + "Z"
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RawJSON(str):
    """A payload's JSON text as the outbox stores it: it goes into the request as it is (`batch_json`), never
    decoded and encoded again on the way (issue 19)."""


def envelope(row, student: dict, school: dict) -> dict:
    """The message an OutboxMessage row sends: its id, key, kind and payload in the envelope (a payload read as
    text stays its stored JSON)."""
    payload = RawJSON(row.payload) if isinstance(row.payload, str) else row.payload
    return {"id": row.id, "idempotency_key": row.key, "kind": row.kind, "version": SCHEMA_VERSION,
            "created_at": utc_iso(row.created_at), "school": school, "student": student, "payload": payload}


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # a str as _encode writes it, without its checks
ENVELOPE = ("id", "idempotency_key", "kind", "version", "created_at", "school", "student", "payload")


def _block(value, blocks: dict) -> str:
    """A student's or school's block, shared by that student's or school's messages of a batch: encoded once.
    The cache holds the block itself: no other block can take its id while the batch is encoded (messages
    made one by one and dropped, e.g. by a generator, would otherwise get another child's block)."""
    held = blocks.get(id(value))
    if held is None:
        held = blocks[id(value)] = (value, _encode(value))
    return held[1]


def _plain(m: dict) -> bool:
    """An envelope() as the job makes it: its fields in order, an int id and str texts. Anything else (a bool
    or float id, a None key) is encoded whole, as json.dumps writes it, rather than miswritten or refused."""
    return tuple(m) == ENVELOPE and type(m["id"]) is int and isinstance(m["idempotency_key"], str) \
        and isinstance(m["kind"], str) and isinstance(m["version"], str) and isinstance(m["created_at"], str)


def _message(m: dict, blocks: dict) -> str:
    if not _plain(m):  # encoded whole, a RawJSON payload decoded (and nothing else: json.dumps's reading)
        payload = m.get("payload")
        return _encode({**m, "payload": json.loads(payload)} if isinstance(payload, RawJSON) else m)
    payload = m["payload"]
    return (f'{{"id":{m["id"]:d},"idempotency_key":{_string(m["idempotency_key"])},"kind":{_string(m["kind"])},'
            f'"version":{_string(m["version"])},"created_at":{_string(m["created_at"])},'
            f'"school":{_block(m["school"], blocks)},"student":{_block(m["student"], blocks)},'
            f'"payload":{payload if isinstance(payload, RawJSON) else _encode(payload)}}}')


def batch_json(batch: str, messages: list[dict]) -> bytes:
    """The request body {"batch", "messages"} as compact UTF-8 JSON, written message by message: a RawJSON
    payload goes in as stored, and a block shared by several messages is encoded once (issue 19: the encoder
    took a tenth of the job's time)."""
    blocks: dict[int, tuple] = {}
    return (f'{{"batch":{_encode(batch)},"messages":[' + ",".join(_message(m, blocks) for m in messages)
            + "]}").encode()
