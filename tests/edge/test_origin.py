"""A request that changes something is taken only from the appliance's own pages: another origin (another port of the
LAN host is the same *site*, and the staff cookie goes with it) is refused before any handler runs, and the JSON API
takes only application/json."""

from __future__ import annotations

import pytest

from edge.users import add_user

PASSWORD = "rahasia-loket-1"
OWN = "http://testserver.local"


@pytest.fixture
def desk(client, app, clock):
    add_user(app.state.appliance.store, clock, "dewi", "frontliner", PASSWORD)
    assert client.post("/api/session", json={"username": "dewi", "password": PASSWORD},
                       headers={"Origin": OWN, "Sec-Fetch-Site": "same-origin"}).status_code == 200
    return client


def counts(app) -> tuple[int, int, int]:
    read = app.state.appliance.store.read
    return tuple(read.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in ("tickets", "complaints", "outbox"))


@pytest.mark.parametrize("headers", [
    {"Origin": "http://testserver.local:8080", "Sec-Fetch-Site": "same-site"},  # another port of the same host
    {"Origin": "http://testserver.local:8080"},  # an older browser: no Sec-Fetch-*
    {"Origin": "https://testserver.local"},  # another scheme
    {"Origin": "https://jahat.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "null"},  # a sandboxed frame, a redirect across sites
    {"Sec-Fetch-Site": "same-site"},
])
def test_another_origin_changes_nothing(desk, app, headers):
    desk.post("/api/tickets", json={}, headers={"Origin": OWN})  # someone waits
    app.state.appliance.spooler.wait_idle()  # the ticket printed (its print is recorded too)
    before = counts(app)
    for method, path, body in (("POST", "/api/counters/1/call", None), ("POST", "/api/tickets", None),
                               ("POST", "/api/complaints", '{"channel": "langsung", "text": "Antrian lama sekali"}'),
                               ("DELETE", "/api/session", None)):
        answer = desk.request(method, path, content=body, headers=headers | {"Content-Type": "text/plain"})
        assert answer.status_code == 403 and answer.json()["detail"].startswith("Permintaan dari halaman situs lain")
    assert counts(app) == before
    assert desk.get("/petugas", follow_redirects=False).status_code == 200  # still signed in


def test_the_appliance_s_own_pages_and_clients_without_a_browser_are_served(desk, app):
    same = {"Origin": OWN, "Sec-Fetch-Site": "same-origin"}
    assert desk.post("/api/tickets", json={}, headers=same).status_code == 201
    assert desk.post("/api/tickets", json={}).status_code == 201  # no Origin: curl, the appliance's own scripts
    assert desk.post("/api/counters/1/call", headers=same).status_code == 200


def test_the_json_api_takes_only_json(client, app):
    before = counts(app)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = client.post("/api/complaints", content='{"channel": "langsung", "text": "Antrian lama sekali"}',
                             headers={"Content-Type": content_type})
        assert answer.status_code == 415 and answer.json()["errors"] == {"content-type": "application/json"}
    assert counts(app) == before
    assert client.post("/api/complaints", json={"channel": "langsung", "text": "Antrian lama sekali"}).status_code == 201
