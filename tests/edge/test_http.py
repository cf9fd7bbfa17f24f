"""The appliance's HTTP contract (ARCHITECTURE.md) through Litestar's test client, on a real SQLite file."""

import logging
import re

import pytest

from edge import outbox
from edge.users import add_user


def ticket_count(app):
    return app.state.appliance.store.read.execute("SELECT count(*) FROM tickets").fetchone()[0]


def test_healthz_reports_version_and_devices(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["version"]
    assert body["hardware"]["printer"] == "ok"
    assert body["hardware"]["indicator"] == "ready"


def test_post_tickets_issues_like_a_button_press(client, emulator):
    first = client.post("/api/tickets", json={})
    second = client.post("/api/tickets")
    assert (first.status_code, second.status_code) == (201, 201)
    body = second.json()
    assert body["number"] == "A002" and body["ahead"] == 1
    assert body["issued_at"] == "2026-11-30T09:00:00.000+08:00"  # office time with its offset
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    assert [t.qr[0].endswith(body["id"]) for t in emulator.wait_for_tickets(2)][1]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service": "Z"}, "service"),
        ({"service": 7}, "service"),
        ({"nomor": "A999"}, "nomor"),
    ],
)
def test_bad_ticket_requests_store_nothing(client, app, body, field):
    response = client.post("/api/tickets", json=body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert ticket_count(app) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"A001"'])
def test_malformed_bodies_get_a_clear_error(client, app, raw):
    response = client.post("/api/tickets", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"]
    assert ticket_count(app) == 0


def test_an_unexpected_fault_is_logged_and_answered_with_the_error_body(client, app, monkeypatch, caplog):
    def broken():
        raise RuntimeError("the board's state is gone")

    monkeypatch.setattr(app.state.appliance, "board", broken)
    with caplog.at_level(logging.ERROR, logger="edge.app"):
        answer = client.get("/api/display")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "Terjadi kesalahan pada server", "errors": {}}  # nothing of the fault
    assert "unhandled error on GET /api/display" in caplog.text and "the board's state is gone" in caplog.text


def test_queue_lists_waiting_tickets_in_order(client):
    for _ in range(3):
        client.post("/api/tickets")
    queue = client.get("/api/queue").json()
    assert [t["number"] for t in queue["waiting"]] == ["A001", "A002", "A003"]
    assert queue["called"] == [] and queue["service_day"] == "2026-11-30"


def test_sim_button_and_printer_endpoints(client, emulator):
    assert client.post("/_sim/button").status_code == 204
    emulator.wait_for_tickets(1)
    printer = client.get("/_sim/printer").json()
    assert printer["online"] is True and printer["paper"] == "ok"
    assert "A001" in printer["tickets"][0]["text"]
    assert printer["tickets"][0]["qr"].startswith("http://127.0.0.1:8000/buku-tamu/")
    assert client.post("/_sim/printer", json={"paper": "out"}).json()["paper"] == "out"
    assert client.post("/_sim/printer", json={"paper": "empty"}).status_code == 400
    image = client.get("/_sim/printer/tickets/0/image")
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")


def test_sim_endpoints_do_not_exist_on_real_hardware(env, clock):
    from litestar.testing import TestClient

    from edge.app import create_app
    from edge.settings import EdgeSettings
    from hardware.builder import build_hardware

    settings = EdgeSettings.from_env(env | {"PST_EDGE_HARDWARE": "pi"})
    devices = build_hardware("sim", settings.config)  # a PC has no GPIO: real-mode routes over sim devices
    with TestClient(create_app(settings, clock=clock, hardware=devices)) as client:
        assert client.post("/_sim/button").status_code == 404
        assert client.get("/_sim/printer").status_code == 404
        assert client.get("/healthz").status_code == 200


@pytest.fixture
def staff(app, client, clock):
    add_user(app.state.appliance.store, clock, "wa_ode", "frontliner", "rahasia-loket-1")
    return {"username": "wa_ode", "password": "rahasia-loket-1"}


def test_staff_endpoints_refuse_anonymous_callers(client):
    client.post("/api/tickets")
    ticket_id = client.get("/api/queue").json()["waiting"][0]["id"]
    assert client.post(f"/api/tickets/{ticket_id}/reprint").status_code == 401
    assert client.get("/api/alerts").status_code == 401
    page = client.get("/petugas", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/petugas/masuk"


def test_staff_sign_in_reprint_and_issue(client, staff, emulator, app):
    assert client.post("/api/session", json=staff | {"password": "salah-sekali"}).status_code == 401
    assert client.post("/api/session", json=staff).json()["role"] == "frontliner"
    issued = client.post("/api/tickets").json()
    reprinted = client.post(f"/api/tickets/{issued['id']}/reprint")
    assert reprinted.status_code == 200 and reprinted.json()["number"] == "A001"
    first, again = emulator.wait_for_tickets(2)
    assert "CETAK ULANG" in again.text
    assert app.state.appliance.queue.get(issued["id"]).source == "staff"
    assert client.delete("/api/session").status_code == 204
    assert client.get("/api/alerts").status_code == 401


def test_reprint_while_the_printer_is_down_says_so(client, staff, emulator):
    client.post("/api/session", json=staff)
    ticket = client.post("/api/tickets").json()
    emulator.set_paper("out")
    response = client.post(f"/api/tickets/{ticket['id']}/reprint")
    assert response.status_code == 503 and "paper_out" in response.json()["detail"]


def test_staff_alerts_show_a_printer_fault(client, staff, emulator, app):
    client.post("/api/session", json=staff)
    emulator.set_online(False)
    client.post("/api/tickets")
    app.state.appliance.spooler.wait_idle()
    [alert] = client.get("/api/alerts").json()
    assert alert["kind"] == "printer" and "tidak terhubung" in alert["message"]
    page = client.get("/petugas")
    assert "tidak terhubung" in page.text and "A001" in page.text


def test_kiosk_form_takes_a_number_without_javascript(client, emulator):
    landing = client.get("/")
    assert "Ambil Nomor Antrian" in landing.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', landing.text).group(1)
    assert client.post("/kiosk/tiket", data={}, follow_redirects=False).status_code == 403  # no CSRF token
    taken = client.post("/kiosk/tiket", data={"_csrf_token": token}, follow_redirects=False)
    assert taken.status_code == 303
    page = client.get(taken.headers["location"])
    assert "A001" in page.text and "Antrian di depan Anda" in page.text
    assert "Silakan ambil tiket Anda" in page.text


def test_kiosk_shows_the_number_when_the_printer_is_out_of_paper(client, emulator, app):
    emulator.set_paper("out")
    client.post("/_sim/button")
    app.state.appliance.spooler.wait_idle()
    landing = client.get("/")
    assert "Printer tiket sedang bermasalah" in landing.text
    assert re.search(r'<span class="chip">A001</span>', landing.text)
    assert client.get("/api/queue").json()["printer"] == "paper_out"


def test_staff_form_sign_in_needs_the_csrf_token(client, staff):
    page = client.get("/petugas/masuk")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/petugas/masuk", data=staff, follow_redirects=False).status_code == 403
    signed = client.post("/petugas/masuk", data=staff | {"_csrf_token": token}, follow_redirects=False)
    assert signed.status_code == 303
    assert "Panggil berikutnya ke loket 1" in client.get("/petugas").text


def test_every_issue_reaches_the_outbox(client, app):
    client.post("/api/tickets")
    client.post("/_sim/button")
    events = outbox.pending(app.state.appliance.store.read)
    assert [e["op"] for e in events if e["op"] == "issued"] == ["issued", "issued"]
