"""The keyed audit chain (issue 15, point 3): a database administrator who edits a row and recomputes
every later hash (with the old unkeyed SHA-256, or a guessed key) fails `audit verify`; anchors kept
outside the database reveal rows removed from the end or a rebuilt chain; production needs AUDIT_KEY."""
import hashlib
import hmac
import json
import logging

import pytest
from sqlalchemy import update

import config
from app import create_app
from app.extensions import db
from app.security.hardening import DEMO_AUDIT_KEY, UnsafeConfiguration
from app.services.audit import HASHED_FIELDS, event_hash, verify_chain
from tests.test_audit_chain import TABLE, rechain, row, tamper, trail  # noqa: F401 - trail is a fixture: seven chained events
from tests.test_hardening import STRONG_KEY

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def unkeyed_hash(content: dict) -> str:
    """The chain's hash before it was keyed: plain SHA-256 of the same content (what a DBA can compute)."""
    plain = {k: content[k].isoformat() if hasattr(content[k], "isoformat") else content[k] for k in HASHED_FIELDS}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def keyed_with(key: str):
    def compute(content: dict) -> str:
        plain = {k: content[k].isoformat() if hasattr(content[k], "isoformat") else content[k]
                 for k in HASHED_FIELDS}
        message = json.dumps(plain, sort_keys=True, ensure_ascii=False, default=str).encode()
        return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return compute


def edit_and_rechain(pk: int, compute) -> None:
    """The DBA's attack: change row `pk` and recompute its hash and every later one with `compute`."""
    with db.engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == pk).values(username="director"))
        rechain(conn, compute, start=pk)
    db.session.expire_all()


def run(runner, *args):
    result = runner.invoke(args=["audit", *args])
    return result.exit_code, result.output


def test_the_chain_is_keyed_with_audit_key(app, trail):  # noqa: F811
    first = row(trail[0])
    assert first["hash"] == keyed_with(app.config["AUDIT_KEY"])(first) == event_hash(first)
    assert first["hash"] != unkeyed_hash(first)


@pytest.mark.parametrize("compute", [unkeyed_hash, keyed_with("guessed-key")], ids=["unkeyed", "wrong-key"])
def test_a_row_edited_and_rechained_without_the_key_fails_verify(runner, trail, compute):  # noqa: F811
    edit_and_rechain(trail[2], compute)
    assert row(trail[2])["username"] == "director" and row(trail[3])["prev_hash"] == row(trail[2])["hash"]
    code, output = run(runner, "verify")
    assert code == 1
    assert f"запись №{trail[2]}: содержимое изменено после записи" in output
    assert "проверено записей до неё: 2" in output


def test_only_the_key_rechains_and_then_an_anchor_still_catches_it(app, runner, trail, tmp_path):  # noqa: F811
    """The control of the test above: rechained with the real key the chain verifies, so what failed
    there was the key. An anchor taken before the rebuild still names the rebuilt row."""
    anchors = tmp_path / "anchors.jsonl"
    assert run(runner, "anchor", "--file", str(anchors))[0] == 0
    edit_and_rechain(trail[2], keyed_with(app.config["AUDIT_KEY"]))
    assert run(runner, "verify")[0] == 0
    code, output = run(runner, "verify", "--anchor", str(anchors))
    assert code == 1
    assert f"запись №{trail[6]}: хеш не совпадает с привязкой от" in output
    assert "запись 7 по счёту" in output


def test_anchor_appends_the_head_to_the_file_and_the_log(runner, trail, tmp_path, caplog):  # noqa: F811
    anchors = tmp_path / "anchors.jsonl"
    with caplog.at_level(logging.INFO, logger="app.audit"):
        code, output = run(runner, "anchor", "--file", str(anchors))
    assert code == 0, output
    head = json.loads(anchors.read_text(encoding="utf-8"))
    school = str(row(trail[6])["school_id"])
    assert head["chains"] == {school: {"count": 7, "last_id": trail[6], "hash": row(trail[6])["hash"]}}
    assert head["at"].endswith("+00:00")
    line = json.dumps(head, ensure_ascii=False, sort_keys=True)
    assert "записей 7" in output and line in output
    assert any(line in r.getMessage() for r in caplog.records)
    assert run(runner, "anchor", "--file", str(anchors))[0] == 0  # appended, not overwritten
    assert len(anchors.read_text(encoding="utf-8").splitlines()) == 2


def test_anchor_uses_the_configured_file_by_default(app, runner, trail, tmp_path):  # noqa: F811
    app.config["AUDIT_ANCHOR_FILE"] = str(tmp_path / "default.jsonl")
    assert run(runner, "anchor")[0] == 0
    head = json.loads((tmp_path / "default.jsonl").read_text(encoding="utf-8"))
    assert [chain["count"] for chain in head["chains"].values()] == [7]


def test_an_untouched_chain_passes_with_its_anchors(runner, trail, tmp_path):  # noqa: F811
    anchors = tmp_path / "anchors.jsonl"
    assert run(runner, "anchor", "--file", str(anchors))[0] == 0
    code, output = run(runner, "verify", "--anchor", str(anchors))
    assert code == 0, output
    assert "проверено записей 7; привязок сверено: 1" in output


def test_rows_removed_from_the_end_are_caught_only_with_an_anchor(runner, trail, tmp_path):  # noqa: F811
    anchors = tmp_path / "anchors.jsonl"
    assert run(runner, "anchor", "--file", str(anchors))[0] == 0
    tamper(f"DELETE FROM audit_event WHERE id >= {trail[5]}")
    assert run(runner, "verify")[0] == 0  # the chain alone cannot tell
    code, output = run(runner, "verify", "--anchor", str(anchors))
    assert code == 1
    assert f"записи после записи №{trail[4]} удалены" in output
    assert f"было записей 7 (последняя №{trail[6]}), сейчас 5" in output
    # The whole trail emptied: the same.
    tamper("DELETE FROM audit_event")
    code, output = run(runner, "verify", "--anchor", str(anchors))
    assert code == 1 and "записи с первой удалены" in output


def test_anchor_refuses_a_broken_chain_and_writes_nothing(runner, trail, tmp_path):  # noqa: F811
    anchors = tmp_path / "anchors.jsonl"
    edit_and_rechain(trail[2], unkeyed_hash)
    code, output = run(runner, "anchor", "--file", str(anchors))
    assert code == 1 and "привязка не записана" in output
    assert not anchors.exists()


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "не удалось прочитать файл привязок"),
    ("", "нет ни одной привязки"),
    ("not json\n", "строка 1: ожидается JSON с полями at, chains"),
    ('{"at": "2026-12-01T10:00:00+00:00", "count": -1, "last_id": 1, "hash": "x"}\n', "строка 1"),
])
def test_a_bad_anchor_file_is_a_clear_error(runner, trail, tmp_path, content, fragment):  # noqa: F811
    path = tmp_path / "anchors.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, output = run(runner, "verify", "--anchor", str(path))
    assert code == 2 and fragment in output, output
    assert verify_chain() == (7, None)


@pytest.mark.parametrize("key", [None, "", DEMO_AUDIT_KEY, "short-audit-key"])
def test_production_refuses_to_start_without_an_audit_key(monkeypatch, key):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", STRONG_KEY)
    monkeypatch.setattr(config.ProductionConfig, "AUDIT_KEY", key)
    with pytest.raises(UnsafeConfiguration, match="AUDIT_KEY is missing, is the demo key"):
        create_app("config.ProductionConfig")


def test_rekey_moves_an_intact_unkeyed_trail_to_the_key_once(runner, trail):  # noqa: F811
    """A trail written before the upgrade (unkeyed) fails verify until `audit rekey` chains it with the key;
    a second run changes nothing."""
    edit_and_rechain(trail[0], unkeyed_hash)  # the whole trail as the old code wrote it (username edited too)
    assert run(runner, "verify")[0] == 1
    code, output = run(runner, "rekey")
    assert code == 0 and "связан ключом AUDIT_KEY: записей 7" in output, output
    assert run(runner, "verify") == (0, "Журнал аудита цел: проверено записей 7\n")
    hashes = [row(pk)["hash"] for pk in trail]
    code, output = run(runner, "rekey")
    assert code == 0 and "уже связан ключом" in output
    assert [row(pk)["hash"] for pk in trail] == hashes


@pytest.mark.commits  # the command's rollback must not undo the tampering committed before it
def test_rekey_refuses_a_broken_unkeyed_trail_and_changes_nothing(runner, trail):  # noqa: F811
    edit_and_rechain(trail[0], unkeyed_hash)
    tamper("UPDATE audit_event SET username = 'auditor' WHERE id = :id", id=trail[3])
    before = [row(pk) for pk in trail]
    code, output = run(runner, "rekey")
    assert code == 1 and f"запись №{trail[3]}: цепочка без ключа нарушена" in output
    assert [row(pk) for pk in trail] == before
