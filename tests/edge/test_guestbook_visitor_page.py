"""After the guestbook: the visitor's own ticket page, reached by a random token, showing only her ticket."""

from __future__ import annotations

import json
import re

import pytest

from edge.users import add_user
from edge.visits import initials

GUEST = {
    "name": "Wa Ode Nurhaliza", "gender": "P", "email": "wa.ode@uho.ac.id", "occupation": "pelajar",
    "purposes": ["baca_tercetak", "pindai"], "id_type": "KTM",
}


def csrf(client, path: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def submit_guestbook(client, ticket: dict, **change) -> object:
    data = GUEST | change | {"_csrf_token": csrf(client, f"/buku-tamu/{ticket['id']}"), "ticket_id": ticket["id"]}
    return client.post("/buku-tamu", data=data, follow_redirects=False)


@pytest.fixture
def staff(app, client):
    appliance = app.state.appliance
    add_user(appliance.store, appliance.clock, "wa_ode", "frontliner", "rahasia-loket-1")

    def act(method: str, path: str, **kwargs):
        client.post("/api/session", json={"username": "wa_ode", "password": "rahasia-loket-1"})
        try:
            return client.request(method, path, **kwargs)
        finally:
            client.delete("/api/session")

    return act


@pytest.fixture
def checked_in(client) -> tuple[dict, str]:
    """A ticket taken and its guestbook filled on the phone: the ticket and the path of her page."""
    ticket = client.post("/api/tickets").json()
    response = submit_guestbook(client, ticket)
    assert response.status_code == 303
    return ticket, response.headers["location"]


def test_the_guestbook_leads_to_the_visitors_own_page_by_an_unguessable_token(client, app, checked_in):
    ticket, path = checked_in
    token = path.removeprefix("/kunjungan/")
    [visit] = app.state.appliance.visits.of_day(app.state.appliance.queue.today().isoformat())
    assert len(token) >= 22 and token not in (ticket["id"], ticket["number"], visit["id"])
    page = client.get(path)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'class="number">A001<' in page.text
    assert "Antrian di depan Anda: <strong>0</strong>" in page.text
    assert "paling lambat pukul <strong>09.05 WITA</strong>" in page.text
    assert 'data-remaining="300"' in page.text and "Sisa waktu 5:00" in page.text
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in page.text
    assert f'data-events="/api/visitor/{token}/events"' in page.text and "/static/visitor.js" in page.text
    assert "Wa Ode" not in page.text  # not even her own name: the address could be shared


def test_the_token_is_not_sent_to_the_cloud(app, checked_in):
    _, path = checked_in
    payloads = [row[0] for row in app.state.appliance.store.read.execute("SELECT payload FROM outbox")]
    assert payloads and not any(path.removeprefix("/kunjungan/") in payload for payload in payloads)


@pytest.mark.parametrize("token", ["A001", "00000000-0000-7000-8000-000000000000", "x" * 22, "x" * 500])
def test_a_wrong_token_finds_nothing(client, checked_in, token):
    assert client.get(f"/kunjungan/{token}").status_code == 404
    assert client.get(f"/api/visitor/{token}").status_code == 404
    assert client.get(f"/kunjungan/{token}/status").status_code == 404


def test_the_page_counts_those_ahead_and_shows_no_other_visitor(client, checked_in):
    first, _ = checked_in
    second = client.post("/api/tickets").json()
    path = submit_guestbook(client, second, name="La Ode Budi", email="laode@kendaripos.co.id").headers["location"]
    state = client.get(path.replace("/kunjungan/", "/api/visitor/")).json()
    assert (state["number"], state["status"], state["ahead"]) == ("A002", "waiting", 1)
    page = client.get(path).text
    assert "A001" not in page and "Wa Ode" not in page and "La Ode" not in page


def test_the_call_says_which_counter_and_the_countdown_keeps_running(client, clock, staff, checked_in):
    ticket, path = checked_in
    clock.advance(seconds=100)
    assert staff("POST", "/api/counters/1/call").json()["number"] == "A001"
    fragment = client.get(f"{path}/status")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Silakan ke loket 1" in fragment.text and 'data-remaining="200"' in fragment.text
    clock.advance(seconds=400)
    assert "Lewat 3:20 dari janji 5 menit" in client.get(path).text  # 500 s after check-in
    staff("POST", f"/api/tickets/{ticket['id']}/serve")
    page = client.get(path).text
    assert "Anda sedang dilayani di loket 1." in page and "data-remaining" not in page


def test_after_service_the_page_offers_the_scan_the_rating_and_complaint_tracking(client, app, staff, checked_in):
    ticket, path = checked_in
    appliance = app.state.appliance
    client.post("/_sim/scanner/feed", json={"pages": 2})
    job = appliance.scans.wait(client.post("/api/scans", json={"ticket_number": "A001"}).json()["id"])
    staff("POST", "/api/counters/1/call")
    staff("POST", f"/api/tickets/{ticket['id']}/done")
    page = client.get(path).text
    assert f'href="/d/{job.download_code}"' in page and "Unduh PDF (2 halaman)" in page
    token = path.rsplit("/", 1)[-1]  # the page's own key opens the rating form
    assert f'href="/penilaian/{token}"' in page
    assert 'href="/pengaduan"' in page and 'href="/pengaduan/cek"' in page
    assert '<meta http-equiv="refresh"' not in page  # nothing more to wait for
    scores = {f"U{i}": 4 for i in range(1, 10)}
    assert client.post("/api/ratings", json={"token": token, "scores": scores}).status_code == 201
    rated = client.get(path).text
    assert "penilaian Anda sudah kami terima" in rated and "/penilaian/" not in rated


def test_a_repeat_entry_greets_back_without_the_name_or_the_first_entrys_page(client, checked_in):
    _, path = checked_in
    other = client.post("/api/tickets").json()
    again = submit_guestbook(client, other, name="Someone Else")  # the same e-mail within the repeat window
    assert again.status_code == 200 and "Selamat datang kembali!" in again.text
    assert "A001" in again.text and "Wa Ode" not in again.text and path not in again.text


def test_the_error_summary_names_each_field(client):
    ticket = client.post("/api/tickets").json()
    response = submit_guestbook(client, ticket, name="", email="", gender="", purposes=[])
    assert response.status_code == 400
    summary = re.search(r'<div class="fault" role="alert" id="errors">(.*?)</div>', response.text, re.S).group(1)
    assert '<a href="#f-name">Nama lengkap: wajib diisi</a>' in summary
    assert '<a href="#f-gender">Jenis kelamin: wajib diisi</a>' in summary
    assert "E-mail aktif: wajib diisi" in summary and "Keperluan kunjungan: pilih minimal satu keperluan" in summary
    assert 'id="f-gender"' in response.text and 'id="f-purposes"' in response.text  # the links lead somewhere


def test_the_error_summary_is_translated_with_its_labels(client):
    client.cookies.set("pst_lang", "en")
    ticket = client.post("/api/tickets").json()
    response = submit_guestbook(client, ticket, name="")
    assert response.status_code == 400 and "Full name: required" in response.text


def test_the_outbox_still_carries_the_visit(app, checked_in):
    row = app.state.appliance.store.read.execute(
        "SELECT payload FROM outbox WHERE entity = 'visit' AND op = 'checked_in'").fetchone()
    assert json.loads(row[0])["name"] == GUEST["name"] and "visitor_token" not in json.loads(row[0])


@pytest.mark.parametrize("name, shown", [
    ("Wa Ode Nurhaliza", "W. O. N."), ("la ode  budi", "L. O. B."), ("Muhammad", "M."), ("", ""), (None, ""),
    ("A B C D E F", "A. B. C. D."), ("(Hj.) Sitti", "S."),
])
def test_initials_are_all_a_shared_screen_shows_of_a_name(name, shown):
    assert initials(name) == shown
