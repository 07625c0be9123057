"""The portal simulator for the exchange tests: a real server process (`app.exchange.simulator`) on a free
loopback port, driven through its /_sim/ control endpoints.

`portal_server` starts one for the session; `portal` resets it (mode ok, nothing kept) and points the app's
PORTAL_URL and PORTAL_SECRET at it. tests/conftest.py loads them as a plugin.
"""
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-portal-secret"
SLOW_SECONDS = 1.5  # how long the `slow` mode keeps a batch waiting


class Portal:
    """A running simulator: `url` and `secret` for the sender, the rest for the test."""

    def __init__(self, secret: str = SECRET, mode: str = "ok", slow_seconds: float = SLOW_SECONDS,
                 schema_every: int = 1):
        self.secret = secret
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.exchange.simulator", "--port", "0", "--secret", secret, "--mode", mode,
             "--slow-seconds", str(slow_seconds), "--schema-every", str(schema_every)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True).start()
        try:
            found = re.search(r"listening on (http://[^/\s]+)(\S*)", lines.get(timeout=20))
        except queue.Empty:
            found = None
        if not found:
            self.stop()
            raise RuntimeError("the portal simulator did not start")
        self.url = found[1] + found[2]
        self.control = httpx.Client(base_url=found[1], timeout=10)

    def mode(self, name: str) -> dict:
        return self._ok(self.control.post("/_sim/mode", json={"mode": name}))

    def state(self) -> dict:
        return self._ok(self.control.get("/_sim/state"))

    def messages(self, student=None) -> list[dict]:
        """Accepted messages in arrival order, of one student (by id) or all."""
        params = {} if student is None else {"student": str(student)}
        return self._ok(self.control.get("/_sim/messages", params=params))

    def reset(self) -> dict:
        return self._ok(self.control.post("/_sim/reset"))

    def stop(self) -> None:
        if hasattr(self, "control"):
            self.control.close()
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    @staticmethod
    def _ok(response: httpx.Response):
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def portal_server():
    """One simulator process for the session."""
    server = Portal()
    yield server
    server.stop()


@pytest.fixture
def portal(portal_server, app):
    """The session's simulator, emptied, in mode ok, and the app's settings pointing at it."""
    portal_server.reset()
    app.config["PORTAL_URL"], app.config["PORTAL_SECRET"] = portal_server.url, portal_server.secret
    return portal_server
