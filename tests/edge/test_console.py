"""Console flows over HTTP with a staff session: call next, recall, skip, serve, done; forms need CSRF."""

import re

import pytest

from edge import outbox
from edge.users import add_user

GUEST = {"name": "Andi Saputra", "gender": "L", "occupation": "asn", "purposes": ["pustaka_digital"], "id_type": "KTP"}


@pytest.fixture
def staff(app, clock):
    add_user(app.state.appliance.store, clock, "loket1", "frontliner", "rahasia-loket-1")
    return {"username": "loket1", "password": "rahasia-loket-1"}


@pytest.fixture
def signed_in(client, staff):
    assert client.post("/api/session", json=staff).status_code == 200
    return client


def csrf(client, path="/petugas"):
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/counters/1/call"), ("post", "/api/tickets/x/serve"), ("get", "/api/console"),
        ("get", "/api/visits"), ("get", "/api/alerts"), ("get", "/api/reports/service"),
    ],
)
def test_staff_endpoints_refuse_anonymous_access(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401 and response.json()["detail"]


@pytest.mark.parametrize("path", ["/petugas", "/petugas/antrian", "/petugas/kunjungan", "/petugas/kunjungan/x"])
def test_staff_pages_send_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/petugas/masuk"


def test_call_next_prefers_visitors_whose_five_minutes_run(signed_in, clock):
    plain = signed_in.post("/api/tickets").json()  # A001, no guestbook yet
    clock.advance(10)
    checked = signed_in.post("/api/visits", json=GUEST | {"email": "andi@example.id"}).json()  # A002, checked in
    first = signed_in.post("/api/counters/2/call")
    assert first.status_code == 200
    assert (first.json()["number"], first.json()["counter"]) == (checked["ticket_number"], 2)
    second = signed_in.post("/api/counters/1/call").json()
    assert second["number"] == plain["number"]
    assert signed_in.post("/api/counters/1/call").status_code == 204  # nobody waits


def test_a_ticket_moves_through_call_serve_done(signed_in, app):
    ticket = signed_in.post("/api/tickets").json()
    called = signed_in.post("/api/counters/1/call").json()
    assert called["status"] == "called" and called["called_at"]
    assert signed_in.post(f"/api/tickets/{ticket['id']}/recall").json()["status"] == "called"
    assert signed_in.post(f"/api/tickets/{ticket['id']}/serve").json()["status"] == "serving"
    assert signed_in.post(f"/api/tickets/{ticket['id']}/done").json()["status"] == "done"
    again = signed_in.post(f"/api/tickets/{ticket['id']}/serve")
    assert again.status_code == 409 and "selesai" in again.json()["detail"]
    events = outbox.pending(app.state.appliance.store.read)
    ops = [e["op"] for e in events if e["entity_id"] == ticket["id"] and not e["op"].startswith("print_")]
    assert ops == ["issued", "called", "called", "serving", "done"]


def test_skip_a_no_show_and_reject_unknown_actions(signed_in):
    ticket = signed_in.post("/api/tickets").json()
    signed_in.post("/api/counters/1/call")
    assert signed_in.post(f"/api/tickets/{ticket['id']}/skip").json()["status"] == "skipped"
    assert signed_in.post(f"/api/tickets/{ticket['id']}/recall").status_code == 409
    assert signed_in.post(f"/api/tickets/{ticket['id']}/dance").status_code == 404
    assert signed_in.post("/api/tickets/unknown/serve").status_code == 404
    assert signed_in.post("/api/counters/9/call").status_code == 400


def test_console_forms_need_the_csrf_token(signed_in):
    signed_in.post("/api/tickets")
    assert signed_in.post("/petugas/panggil", follow_redirects=False).status_code == 403
    token = csrf(signed_in)
    done = signed_in.post("/petugas/panggil", data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and "A001" in signed_in.get(done.headers["location"]).text
    moved = signed_in.post("/petugas/loket", data={"_csrf_token": token, "counter": "2"}, follow_redirects=False)
    assert moved.status_code == 303
    assert "Panggil berikutnya ke loket 2" in signed_in.get("/petugas").text


def test_console_shows_the_countdown_and_searchable_visits(signed_in, clock):
    visit = signed_in.post("/api/visits", json=GUEST | {"email": "andi@example.id", "institution": "Bappeda Provinsi Sultra"}).json()
    clock.advance(seconds=100)
    page = signed_in.get("/petugas").text
    assert 'data-remaining="200"' in page and "Andi Saputra" in page
    assert "Andi Saputra" in signed_in.get("/petugas/kunjungan", params={"q": "bappeda"}).text
    assert "Tidak ada kunjungan yang cocok" in signed_in.get("/petugas/kunjungan", params={"q": "unhalu"}).text
    detail = signed_in.get(f"/petugas/kunjungan/{visit['id']}").text
    assert "andi@example.id" in detail and "Pustaka digital" in detail
    assert [v["name"] for v in signed_in.get("/api/visits", params={"q": "andi"}).json()] == ["Andi Saputra"]


def test_wrong_passwords_are_throttled(client, staff):
    for _ in range(5):
        assert client.post("/api/session", json=staff | {"password": "salah-terus"}).status_code == 401
    locked = client.post("/api/session", json=staff)
    assert locked.status_code == 429 and "15 menit" in locked.json()["detail"]


def test_throttling_lifts_after_fifteen_minutes(client, staff, clock):
    for _ in range(5):
        client.post("/api/session", json=staff | {"password": "salah-terus"})
    clock.advance(minutes=15, seconds=1)
    assert client.post("/api/session", json=staff).status_code == 200
