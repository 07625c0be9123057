"""A portal stand-in for tests, the demo and the benchmark: a real HTTP server that checks the signature and the
schema, keeps what it accepted (once per idempotency key) and can be told to misbehave.

    python -m app.exchange.simulator --port 8090 --secret S [--path /api/ediary] [--mode ok] [--slow-seconds 3]
                                     [--schema-every 1]

Modes: ok; down (drops the connection unanswered); slow (answers after --slow-seconds); error500 (nothing kept);
garbage (keeps the batch, then answers a non-JSON body); duplicate (every receipt twice); partial (every second
message rejected); silent (receipts for the first half of the batch only, rounded up; the rest not kept).
Control: GET /_sim/state, GET /_sim/messages[?student=ID], POST /_sim/mode {"mode": ...}, POST /_sim/reset.
"""
import argparse
import datetime as dt
import hashlib
import hmac
import json
import pickle
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from threading import Lock
from urllib.parse import parse_qs, urlsplit

MODES = ("ok", "down", "slow", "error500", "garbage", "duplicate", "partial", "silent")
PARTIAL_REASON = "отклонено порталом (проверка)"


class Portal:
    """What the portal has accepted, by idempotency key: the message (pickled: 100 000 of them stay cheap to
    keep), its student, the original accepted_at and how many times the key arrived. The schema is
    checked for every `schema_every`-th message (1: all; 0: none — jsonschema costs milliseconds a message)."""

    def __init__(self, validate, mode: str = "ok", schema_every: int = 1):
        self.validate, self.schema_every, self.lock, self.seen = validate, schema_every, Lock(), count()
        self.reset(mode)

    def reset(self, mode: str = "ok") -> None:
        with self.lock:
            self.generation = getattr(self, "generation", 0) + 1  # a batch that straddles a reset is dropped
            self.mode, self.batches, self.rejected, self.redelivered = mode, 0, 0, 0
            self.accepted: dict[str, list] = {}  # key → [pickled message, student id, accepted_at, arrivals]
            self.by_student, self.kinds = Counter(), Counter()

    def receive(self, messages: list[dict]) -> list[dict]:
        """Receipts for a batch of well-formed envelopes, keeping the accepted ones."""
        mode = self.mode
        if mode == "silent":
            messages = messages[:(len(messages) + 1) // 2]
        problems = [self._problem(m) for m in messages]
        receipts, now = [], dt.datetime.now(dt.UTC).isoformat()
        with self.lock:
            for index, (message, problem) in enumerate(zip(messages, problems, strict=True)):
                key = message["idempotency_key"]
                if key in self.accepted:
                    stored = self.accepted[key]
                    stored[3] += 1
                    self.redelivered += 1
                    receipts.append({"idempotency_key": key, "status": "accepted", "accepted_at": stored[2]})
                    continue
                problem = problem or (PARTIAL_REASON if mode == "partial" and index % 2 else "")
                if problem:
                    self.rejected += 1
                    receipts.append({"idempotency_key": key, "status": "rejected", "reason": problem})
                    continue
                student = str((message.get("student") or {}).get("id"))
                self.accepted[key] = [pickle.dumps(message, pickle.HIGHEST_PROTOCOL), student, now, 1]
                self.by_student[student] += 1
                self.kinds[str(message.get("kind"))] += 1
                receipts.append({"idempotency_key": key, "status": "accepted", "accepted_at": now})
        return [r for r in receipts for _ in range(2)] if mode == "duplicate" else receipts

    def _problem(self, message: dict) -> str:
        if not self.schema_every or next(self.seen) % self.schema_every:
            return ""
        try:
            found = self.validate(message)
        except Exception as error:  # a validator that chokes is a rejection, not a crash
            found = [str(error)]
        return f"schema: {found[0]}" if found else ""

    def state(self) -> dict:
        with self.lock:
            return {"mode": self.mode, "batches": self.batches, "accepted": len(self.accepted),
                    "rejected": self.rejected, "redelivered": self.redelivered,
                    "by_student": dict(self.by_student), "kinds": dict(self.kinds)}

    def messages(self, student: str | None = None) -> list[dict]:
        with self.lock:
            rows = [row[0] for row in self.accepted.values() if student is None or row[1] == student]
        return [pickle.loads(row) for row in rows]


class Handler(BaseHTTPRequestHandler):
    """The portal's endpoint (server.path) and the /_sim/ control endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive replies must not wait for delayed ACKs
    server: "Simulator"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        url, portal = urlsplit(self.path), self.server.portal
        if url.path == "/_sim/state":
            self._reply(200, portal.state())
        elif url.path == "/_sim/messages":
            self._reply(200, portal.messages(parse_qs(url.query).get("student", [None])[0]))
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        path, portal = urlsplit(self.path).path, self.server.portal
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path == self.server.path:
            self._batch(body)
        elif path == "/_sim/mode":
            request = _json(body)
            mode = request.get("mode") if isinstance(request, dict) else None
            if mode not in MODES:
                return self._reply(400, {"error": f"unknown mode {mode!r}", "modes": MODES})
            portal.mode = mode
            self._reply(200, portal.state())
        elif path == "/_sim/reset":
            portal.reset()
            self._reply(200, portal.state())
        else:
            self._reply(404, {"error": "not found"})

    def _batch(self, body: bytes) -> None:
        portal = self.server.portal
        with portal.lock:
            portal.batches += 1
        mode = portal.mode
        if mode == "down":
            self.close_connection = True
            return
        if mode == "slow":
            generation = portal.generation
            time.sleep(self.server.slow_seconds)
            if portal.generation != generation:  # reset while it slept: the caller is long gone
                self.close_connection = True
                return
        if mode == "error500":
            return self._reply(500, "Internal Server Error", "text/plain")
        expected = "sha256=" + hmac.new(self.server.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(self.headers.get("X-Signature", ""), expected):
            return self._reply(401, {"error": "bad signature"})
        batch = _json(body)
        messages = batch.get("messages") if isinstance(batch, dict) else None
        if not isinstance(messages, list):
            return self._reply(400, {"error": "a batch is a JSON object with a messages list"})
        if not all(isinstance(m, dict) and isinstance(m.get("idempotency_key"), str) and m["idempotency_key"]
                   for m in messages):
            return self._reply(400, {"error": "every message needs an idempotency_key"})
        receipts = portal.receive(messages)
        if mode == "garbage":
            return self._reply(200, "<html><body>502 Bad Gateway</body></html>", "text/html")
        self._reply(200, {"receipts": receipts})

    def _reply(self, status: int, data, content_type: str = "application/json") -> None:
        body = (data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _json(body: bytes):
    try:
        return json.loads(body.decode())
    except ValueError:
        return None


class Simulator(ThreadingHTTPServer):
    """The server: one Portal shared by the handler threads."""

    def __init__(self, address, secret: str, path: str = "/api/ediary", mode: str = "ok", slow_seconds: float = 3.0,
                 schema_every: int = 1):
        from app.exchange.schema import errors  # the project's message schema; imported late, it pulls in the app

        super().__init__(address, Handler)
        self.secret, self.path, self.slow_seconds = secret, path, slow_seconds
        self.portal = Portal(errors, mode, schema_every)

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up (timeouts) is routine
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A portal stand-in that checks, keeps and can fail on request.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port (printed)")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--path", default="/api/ediary")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    parser.add_argument("--schema-every", type=int, default=1, metavar="N",
                        help="check the schema of every Nth message (default 1: all; 0: none, for benchmarks)")
    args = parser.parse_args(argv)
    server = Simulator((args.host, args.port), args.secret, args.path, args.mode, args.slow_seconds, args.schema_every)
    print(f"listening on http://{args.host}:{server.server_port}{args.path}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class Running:
    """A simulator started as a subprocess on a free loopback port, for tests, the benchmark and drills:
    `url` for the sender, the control endpoints as methods, `stop()` when done."""

    def __init__(self, secret: str, mode: str = "ok", slow_seconds: float = 3.0, schema_every: int = 1,
                 cwd: str | None = None):
        import queue
        import subprocess
        import sys
        import threading

        import httpx

        self.secret, self._subprocess = secret, subprocess
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.exchange.simulator", "--host", "127.0.0.1", "--port", "0", "--secret", secret,
             "--mode", mode, "--slow-seconds", str(slow_seconds), "--schema-every", str(schema_every)],
            cwd=cwd, stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            line = ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the portal simulator did not start: {line!r}")
        self.url = line.split()[-1]
        self.control = httpx.Client(base_url=str(httpx.URL(self.url).copy_with(path="/")), timeout=30)

    def mode(self, name: str) -> dict:
        return self._ok(self.control.post("/_sim/mode", json={"mode": name}))

    def state(self) -> dict:
        return self._ok(self.control.get("/_sim/state"))

    def messages(self, student=None) -> list[dict]:
        """Accepted messages in arrival order, of one student (by id) or all."""
        return self._ok(self.control.get("/_sim/messages", params={} if student is None else {"student": str(student)}))

    def reset(self) -> dict:
        return self._ok(self.control.post("/_sim/reset"))

    def stop(self) -> None:
        if hasattr(self, "control"):
            self.control.close()
        self.process.terminate()
        try:
            self.process.wait(5)
        except self._subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    @staticmethod
    def _ok(response):
        response.raise_for_status()
        return response.json()



if __name__ == "__main__":
    main()
