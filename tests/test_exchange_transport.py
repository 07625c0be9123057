"""The HTTP adapter to the portal against the real simulator process: signed batches, receipts, and every fault
mode (nothing kept twice, failures raised as PortalUnavailable); and the adapter's reading of odd replies."""
import datetime as dt
import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from app.exchange.simulator import PARTIAL_REASON
from app.exchange.transport import HttpPortal, PortalUnavailable, Receipt, portal_from_config, sign
from tests.exchange_helpers import SLOW_SECONDS


def mark(student: int = 7, value: int = 5) -> dict:
    """A minimal valid `mark` envelope with a fresh idempotency key."""
    return {"id": 1, "idempotency_key": uuid.uuid4().hex, "kind": "mark", "version": "1.0",
            "created_at": "2026-11-20T09:00:00Z", "school": {"id": 1, "name": "МБОУ «Школа А»"},
            "student": {"id": student, "file_number": "12", "name": "Алексеев Алексей", "class": "5А"},
            "payload": {"id": 3, "deleted": False, "lesson_id": 2, "date": "2026-11-20", "subject": "Математика",
                        "work_type": "Контрольная работа", "weight": 2, "value": value, "comment": "",
                        "teacher": "Иванова И. И.", "version": 1}}


@pytest.fixture
def sim(portal_server):
    """The session's simulator, emptied and in mode ok (no app or database needed here)."""
    portal_server.reset()
    return portal_server


@pytest.fixture
def adapter(sim):
    """The adapter pointed at the simulator."""
    with HttpPortal(sim.url, sim.secret, timeout=5) as adapter:
        yield adapter


def keys(messages) -> list[str]:
    return [m["idempotency_key"] for m in messages]


def test_sign_is_hmac_sha256_of_the_body():
    body = '{"ученик":"Алексеев"}'.encode()
    assert sign(body, "s3cret") == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()


def test_a_good_batch_is_accepted_and_kept(sim, adapter):
    batch = [mark(7), mark(7, 4), mark(8)]
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    receipts = adapter.send(batch)
    assert [r.key for r in receipts] == keys(batch) and all(r.accepted and not r.reason for r in receipts)
    assert all(before <= r.accepted_at <= dt.datetime.now(dt.UTC).replace(tzinfo=None) for r in receipts)
    assert sim.state() == {"mode": "ok", "batches": 1, "accepted": 3, "rejected": 0, "redelivered": 0,
                           "by_student": {"7": 2, "8": 1}, "kinds": {"mark": 3}}
    assert sim.messages(student=7) == batch[:2] and sim.messages() == batch


def test_a_wrong_secret_is_refused_and_nothing_kept(sim):
    with HttpPortal(sim.url, "not-the-secret") as wrong, pytest.raises(PortalUnavailable, match="401"):
        wrong.send([mark()])
    assert sim.state()["accepted"] == 0 and sim.messages() == []


def test_an_unreadable_envelope_is_a_bad_request(sim, adapter):
    with pytest.raises(PortalUnavailable, match="400.*idempotency_key"):
        adapter.send([{"kind": "mark"}])
    assert sim.state()["accepted"] == 0


def test_a_message_against_the_schema_is_rejected_its_batch_mates_accepted(sim, adapter):
    batch = [mark(), mark(value=7), mark()]
    good, bad, other = adapter.send(batch)
    assert good.accepted and other.accepted and not bad.accepted and bad.accepted_at is None
    assert bad.reason.startswith("schema: payload.value")
    assert sim.state()["accepted"] == 2 and sim.state()["rejected"] == 1


@pytest.mark.parametrize("mode, reason", [("down", "портал недоступен"), ("error500", "портал ответил 500")])
def test_a_portal_down_or_failing_keeps_nothing(sim, adapter, mode, reason):
    sim.mode(mode)
    with pytest.raises(PortalUnavailable, match=reason):
        adapter.send([mark()])
    assert sim.state()["accepted"] == 0


def test_no_portal_at_all_is_unavailable():
    with HttpPortal("http://127.0.0.1:9/api", "s") as nowhere, pytest.raises(PortalUnavailable, match="нет соединения"):
        nowhere.send([mark()])


def test_a_garbage_reply_after_keeping_the_batch_then_resending_is_not_accepted_twice(sim, adapter):
    batch = [mark(), mark(8)]
    sim.mode("garbage")
    with pytest.raises(PortalUnavailable, match="ответ портала не разобран"):
        adapter.send(batch)
    assert sim.state()["accepted"] == 2
    sim.mode("ok")
    first, again = adapter.send(batch), adapter.send(batch)
    assert all(r.accepted for r in first) and first == again
    state = sim.state()
    assert (state["accepted"], state["redelivered"], state["by_student"]) == (2, 4, {"7": 1, "8": 1})


def test_duplicate_receipts_are_read_once(sim, adapter):
    sim.mode("duplicate")
    batch = [mark(), mark()]
    assert [r.key for r in adapter.send(batch)] == keys(batch)


def test_partial_acceptance_rejects_every_second_message(sim, adapter):
    sim.mode("partial")
    receipts = adapter.send([mark() for _ in range(4)])
    assert [r.accepted for r in receipts] == [True, False, True, False]
    assert {r.reason for r in receipts if not r.accepted} == {PARTIAL_REASON}
    assert (sim.state()["accepted"], sim.state()["rejected"]) == (2, 2)


def test_a_silent_portal_answers_for_the_first_half_only(sim, adapter):
    sim.mode("silent")
    batch = [mark() for _ in range(5)]
    assert [r.key for r in adapter.send(batch)] == keys(batch[:3])
    assert keys(sim.messages()) == keys(batch[:3])


def test_a_slow_portal_times_out_and_a_resend_is_not_accepted_twice(sim):
    sim.mode("slow")
    batch = [mark(), mark()]
    with HttpPortal(sim.url, sim.secret, timeout=0.3) as impatient, pytest.raises(PortalUnavailable, match="вовремя"):
        impatient.send(batch)
    with HttpPortal(sim.url, sim.secret, timeout=SLOW_SECONDS + 5) as patient:
        assert all(r.accepted for r in patient.send(batch))
    assert (sim.state()["batches"], sim.state()["accepted"]) == (2, 2)


def test_odd_receipts_are_skipped_or_merged():
    batch = [mark(), mark(), mark(), mark()]
    a, b, c, d = keys(batch)
    items = [{"idempotency_key": a, "status": "rejected", "reason": "нет"},
             {"idempotency_key": a, "status": "accepted", "accepted_at": "2026-11-20T10:00:00+03:00"},
             {"idempotency_key": a, "status": "rejected", "reason": "снова нет"},
             {"idempotency_key": b, "status": "accepted"}, "garbage", {"status": "accepted"},
             {"idempotency_key": uuid.uuid4().hex, "status": "accepted", "accepted_at": "2026-11-20T07:00:00Z"},
             {"idempotency_key": c, "status": "maybe"},
             {"idempotency_key": d, "status": "accepted", "accepted_at": "2026-11-20T07:00:00Z"}]
    seen = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"receipts": items})

    with HttpPortal("http://portal.test/api", "s", client=httpx.Client(transport=httpx.MockTransport(reply))) as p:
        receipts = p.send(batch)
    moment = dt.datetime(2026, 11, 20, 7)
    assert receipts == [Receipt(a, True, "", moment), Receipt(d, True, "", moment)]
    request = seen[0]
    assert request.headers["X-Signature"] == sign(request.content, "s")
    assert request.headers["Idempotency-Key"] == json.loads(request.content)["batch"]
    assert "Алексеев" in request.content.decode() and b": " not in request.content


@pytest.mark.parametrize("reply", [httpx.Response(200, json={"ok": True}), httpx.Response(200, json=[1]),
                                   httpx.Response(200, json={"receipts": "all"}), httpx.Response(200, text="")])
def test_a_reply_without_receipts_is_not_understood(reply):
    client = httpx.Client(transport=httpx.MockTransport(lambda request: reply))
    with HttpPortal("http://portal.test/api", "s", client=client) as p, pytest.raises(PortalUnavailable,
                                                                                         match="не разобран"):
        p.send([mark()])


def test_the_adapter_follows_the_settings():
    with portal_from_config({"PORTAL_URL": "http://x.test/p", "PORTAL_SECRET": "k", "PORTAL_TIMEOUT": "2.5"}) as p:
        assert (p.url, p.secret, p.client.timeout.read) == ("http://x.test/p", "k", 2.5)
