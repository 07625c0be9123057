"""The portal simulator for the exchange tests: a real server process (`app.exchange.simulator`) on a free
loopback port, driven through its /_sim/ control endpoints.

`portal_server` starts one for the session; `portal` resets it (mode ok, nothing kept) and points the app's
PORTAL_URL and PORTAL_SECRET at it. tests/conftest.py loads them as a plugin.
"""
from pathlib import Path

import pytest

from app.exchange.simulator import Running

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-portal-secret"
SLOW_SECONDS = 1.5  # how long the `slow` mode keeps a batch waiting


@pytest.fixture(scope="session")
def portal_server():
    """One simulator process for the session."""
    server = Running(SECRET, slow_seconds=SLOW_SECONDS, cwd=ROOT)
    yield server
    server.stop()


@pytest.fixture
def portal(portal_server, app):
    """The session's simulator, emptied, in mode ok, and the app's settings pointing at it."""
    portal_server.reset()
    app.config["PORTAL_URL"], app.config["PORTAL_SECRET"] = portal_server.url, portal_server.secret
    return portal_server
