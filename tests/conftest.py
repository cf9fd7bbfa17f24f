"""Fixtures: a real SQLite file per test, the appliance on simulated hardware, a clock the test controls."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.settings import EdgeSettings
from pst.clock import ManualClock

WITA = ZoneInfo("Asia/Makassar")
# A Monday, mid-morning in Kendari: the office is open.
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=WITA)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes():
    """Passwords hashed in the tests' own process take argon2id at its smallest cost: a staff test signs in again
    and again, and the products' cost (RFC 9106's low-memory profile, 64 MiB) takes a tenth of a second a hash here.
    The products' processes started by tests keep that cost, which tests/test_passwords.py checks. A hash of either
    cost verifies under the other (argon2 reads its parameters from the hash)."""
    import argon2

    import cloud.credentials
    import edge.users

    quick = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    saved = [(module, name, getattr(module, name)) for module in (edge.users, cloud.credentials)
             for name in ("_hasher", "_DUMMY_HASH")]
    for module in (edge.users, cloud.credentials):
        module._hasher, module._DUMMY_HASH = quick, quick.hash("pst-pustaka-no-such-user")
    PRODUCTS_HASHERS.extend(value for _, name, value in saved if name == "_hasher")
    yield
    for module, name, value in saved:
        setattr(module, name, value)


PRODUCTS_HASHERS: list = []  # the products' own hashers, kept for tests/test_passwords.py


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No PST_* setting of the machine leaks into a test."""
    for key in list(os.environ):
        if key.startswith("PST_"):
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def unchanged_umask():
    """A `pst` command run in the tests' own process (click's CliRunner) makes its files private by the umask
    (pst.privacy.private_umask); the next test starts with the umask the run began with."""
    found = os.umask(0o022)
    os.umask(found)
    yield
    os.umask(found)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim"}


@pytest.fixture
def settings(env) -> EdgeSettings:
    return EdgeSettings.from_env(env)


@pytest.fixture
def store(tmp_path):
    """A migrated appliance database in its own file (WAL needs a real file)."""
    from edge.migrations import migrate
    from edge.store import EdgeStore

    opened = EdgeStore(tmp_path / "edge.db")
    migrate(opened)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_MORNING)


@pytest.fixture
def appliance(settings, clock):
    from edge.appliance import Appliance

    running = Appliance(settings, clock=clock).start()
    yield running
    running.stop()


@pytest.fixture
def app(settings, clock):
    from edge.app import create_app

    return create_app(settings, clock=clock)


@pytest.fixture
def client(app):
    from litestar.testing import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def emulator(app, client):
    return app.state.appliance.hardware.emulator


def wait_until_healthy(base_url: str, process, what: str, seconds: float = 40) -> None:
    """Until `base_url`/healthz answers 200; fails when `process` (a `pst … serve` it belongs to) ends first or
    `seconds` pass."""
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, f"{what} did not start"
        time.sleep(0.2)

