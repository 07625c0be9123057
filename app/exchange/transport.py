"""The one adapter to the portal: a batch of diary messages POSTed as signed JSON, a receipt per message back.

Wire: `{"batch": <uuid hex>, "messages": [...]}` with `X-Signature: sha256=<HMAC-SHA256 of the body>` and
`Idempotency-Key: <batch>`; the answer is `{"receipts": [{"idempotency_key", "status", "reason", "accepted_at"}]}`.
Another adapter (e.g. СМЭВ) only has to offer the same `send`. Retries are the sender's business, not this one's.
"""
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from functools import lru_cache

import httpx

from app.exchange.schema import batch_json

DEFAULT_URL = "http://127.0.0.1:8090/api/ediary"


def sign(body: bytes, secret: str) -> str:
    """The X-Signature of a body: "sha256=" and the hex HMAC-SHA256 of its bytes with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class PortalUnavailable(Exception):
    """The batch did not get through (worth retrying); the message is the reason staff will read."""


@dataclass(frozen=True)
class Receipt:
    """The portal's word on one message; `accepted_at` is naive UTC (None when rejected)."""

    key: str
    accepted: bool
    reason: str
    accepted_at: dt.datetime | None


@lru_cache(maxsize=1024)  # a batch's receipts mostly share one accepted_at
def _utc(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _receipt(item, keys) -> Receipt | None:
    """A receipt for a key of the batch, or None for anything malformed or foreign."""
    key = item.get("idempotency_key") if isinstance(item, dict) else None
    if not isinstance(key, str) or key not in keys:
        return None
    status, reason = item.get("status"), str(item.get("reason") or "")
    if status == "rejected":
        return Receipt(key, False, reason, None)
    if status != "accepted":
        return None
    try:
        return Receipt(key, True, reason, _utc(item.get("accepted_at")))
    except (TypeError, ValueError):  # an acceptance without its time is no acknowledgement
        return None


def _portal_error(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


class HttpPortal:
    """The portal over HTTP; one connection pool for the adapter's life (`close()` or use `with`)."""

    # The job POSTs on a thread of its own while it claims the next batch; an adapter whose `send` touches the
    # job's database (a test's) sets this False and is called on the job's thread.
    concurrent = True

    def __init__(self, url: str, secret: str, timeout: float = 10.0, client: httpx.Client | None = None):
        self.url, self.secret = url, secret
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, messages: list[dict]) -> list[Receipt]:
        """Send one batch; receipts in batch order, one per acknowledged key (accepted beats rejected).
        Raises PortalUnavailable when the batch did not get through or the answer is unreadable."""
        batch = uuid.uuid4().hex
        body = batch_json(batch, messages)
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Signature": sign(body, self.secret),
                   "Idempotency-Key": batch}
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise PortalUnavailable("портал недоступен: не ответил вовремя") from error
        except httpx.ConnectError as error:
            raise PortalUnavailable(f"портал недоступен: нет соединения ({error})") from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise PortalUnavailable(f"портал недоступен: {error or type(error).__name__}") from error
        if response.status_code == 401:
            raise PortalUnavailable(f"портал отверг подпись (401): {_portal_error(response)}")
        if response.status_code == 400:
            raise PortalUnavailable(f"портал отверг пакет (400): {_portal_error(response)}")
        if response.status_code != 200:
            raise PortalUnavailable(f"портал ответил {response.status_code}")
        try:
            items = response.json()["receipts"]
            if not isinstance(items, list):
                raise TypeError("receipts is not a list")
        except (ValueError, KeyError, TypeError) as error:
            raise PortalUnavailable(f"ответ портала не разобран: {response.text[:80]!r}") from error
        keys = dict.fromkeys(m.get("idempotency_key") for m in messages)
        best: dict[str, Receipt] = {}
        for receipt in filter(None, (_receipt(item, keys.keys()) for item in items)):
            if receipt.key not in best or receipt.accepted and not best[receipt.key].accepted:
                best[receipt.key] = receipt
        return [best[key] for key in keys if key in best]

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_settings(config) -> str | None:
    """What is wrong with the portal settings (asked before anything is claimed), or None."""
    raw = config.get("PORTAL_URL") or DEFAULT_URL
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        return f"PORTAL_URL «{raw}» не является адресом http(s)://…"
    if not config.get("PORTAL_SECRET"):
        return "PORTAL_SECRET не задан: пакеты нечем подписать"
    return None


def portal_from_config(config) -> HttpPortal:
    """The adapter the app's settings name: PORTAL_URL, PORTAL_SECRET, PORTAL_TIMEOUT (seconds, default 10)."""
    return HttpPortal(config.get("PORTAL_URL") or DEFAULT_URL, config.get("PORTAL_SECRET") or "",
                      float(config.get("PORTAL_TIMEOUT") or 10))
