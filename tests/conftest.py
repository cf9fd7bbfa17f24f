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


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No PST_* setting of the machine leaks into a test."""
    for key in list(os.environ):
        if key.startswith("PST_"):
            monkeypatch.delenv(key)


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
