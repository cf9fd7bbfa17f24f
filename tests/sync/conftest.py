"""The sync against a real cloud app (SQLite and PostgreSQL) and a real appliance store, through a transport that
forwards to the app in-process and can misbehave on purpose."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
import pytest

from cloud.devices import Devices
from edge import outbox
from edge.migrations import migrate
from edge.store import EdgeStore
from pst.clock import ManualClock, iso
from pst.ids import new_id
from sync.agent import Agent, Enrolment
from tests.cloud.conftest import cloud_env, cloud_settings, database, mailbox, postgres_cluster  # noqa: F401


@pytest.fixture
def cloud(cloud_settings, clock):  # noqa: F811
    """The portal app on SQLite or PostgreSQL (see tests/cloud/conftest.py), in its own thread and event loop."""
    from litestar.testing import TestClient

    from cloud.app import create_app

    with TestClient(create_app(cloud_settings, clock=clock), base_url="http://portal.test") as test_client:
        yield test_client


class Forward(httpx.AsyncBaseTransport):
    """Hands each request to the cloud app (Litestar's TestClient, in its own thread and loop). `faults` is a list
    of callables consulted per request: each may return a fault name to play for it."""

    def __init__(self, client):
        self.client = client
        self.faults: list = []
        self.log: list[tuple[str, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = next((f for f in (rule(request) for rule in self.faults) if f), None)
        if fault == "drop_request":
            raise httpx.ConnectError("dropped before reaching the cloud", request=request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        body = await request.aread()  # a file goes up as a stream of blocks
        for _ in range(2 if fault == "duplicate" else 1):
            answer = await asyncio.to_thread(self.client.request, request.method, request.url.raw_path.decode(),
                                             content=body, headers=headers)
        self.log.append((request.method, request.url.path, answer.status_code))
        if fault == "drop_answer":
            raise httpx.ReadTimeout("answer lost after the cloud committed", request=request)
        if fault == "error_after_commit":
            return httpx.Response(503, headers={"Retry-After": "0"}, content=b'{"detail": "upstream"}',
                                  request=request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content, request=request)


def add_device(client, office_code: str = "7400", name: str = "Meja depan") -> str:
    """An enrolment code for a new device of the office (the office is made when missing)."""
    app = client.app
    devices = Devices(app.state.db, app.state.clock, app.state.settings.signing_key())

    async def make() -> str:
        await devices.ensure_office(office_code, f"BPS {office_code}")
        return (await devices.add_device(office_code, name))[1]

    return client.blocking_portal.call(make)


def enrol(client, data_dir, office_code: str = "7400") -> Enrolment:
    from sync.agent import enroll

    code = add_device(client, office_code)
    response = client.post("/sync/v1/enroll", json={"code": code})
    assert response.status_code == 201, response.text
    answer = response.json()
    enrolment = Enrolment("http://portal.test", answer["device_id"], answer["office_code"], answer["name"],
                          answer["credential"])
    enrolment.save(data_dir)
    assert enroll  # the CLI path is tested in test_cli_sync
    return enrolment


@pytest.fixture
def edge_store(tmp_path):
    opened = EdgeStore(tmp_path / "edge-a.db")
    migrate(opened)
    yield opened
    opened.close()


def new_store(path) -> EdgeStore:
    opened = EdgeStore(path)
    migrate(opened)
    return opened


def make_agent(store: EdgeStore, enrolment: Enrolment, client, clock=None, batch: int = 500) -> tuple[Agent, Forward]:
    transport = Forward(client)
    return Agent(store, enrolment, clock=clock, transport=transport, batch=batch), transport


# --- records as the appliance writes them --------------------------------------------------------------------------

def desk_visit(store: EdgeStore, now: datetime, rate: bool = True, wait_s: int = 120) -> str:
    """A visit (checked in, served after `wait_s`, rated) written to the outbox as the appliance's services do."""
    visit_id, ticket_id = new_id(), new_id()
    with store.write() as db:
        outbox.append(db, "ticket", ticket_id, "issued", {"id": ticket_id, "number": "A001", "issued_at": iso(now)},
                      now)
        outbox.append(db, "visit", visit_id, "checked_in", {
            "id": visit_id, "ticket_id": ticket_id, "name": "Siti Rahmawati", "email": "siti@example.id",
            "gender": "P", "age": 34, "education": "s1", "occupation": "asn", "institution": "Dinas Kesehatan",
            "purposes": ["baca_tercetak"], "checked_in_at": iso(now), "service_started_at": None, "wait_s": None,
        }, now)
        outbox.append(db, "visit", visit_id, "service_started", {"at": iso(now), "wait_s": wait_s}, now)
        if rate:
            outbox.append(db, "rating", new_id(), "submitted", {
                "visit_id": visit_id, "source": "kiosk", **{f"u{i}": 3 + (i % 2) for i in range(1, 10)},
                "comment": None, "gender": "P", "age_band": "30-39", "education": "s1", "occupation": "asn",
                "rated_at": iso(now),
            }, now)
    return visit_id


def run(coro):
    return asyncio.run(coro)


START = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock_edge() -> ManualClock:
    return ManualClock(START)
