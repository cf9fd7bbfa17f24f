"""The kiosk between visitors: a number and its guestbook QR on screen when the printer failed, and a language
choice that ends with the visitor's session (staff keep theirs)."""

from __future__ import annotations

import re

import pytest

from edge.routes.scans import qr_svg
from edge.slip import guestbook_url
from edge.users import add_user

HOST = "http://testserver.local"
GUEST = {
    "name": "Wa Ode Nurhaliza", "gender": "P", "email": "wa.ode@uho.ac.id", "occupation": "pelajar",
    "purposes": "baca_tercetak", "id_type": "KTM",
}


def language_cookie(response) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("pst_lang=")]
    return cookie.lower()


def csrf(client, path: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def take_at_kiosk(client) -> str:
    response = client.post("/kiosk/tiket", data={"_csrf_token": csrf(client, "/")}, follow_redirects=False)
    assert response.status_code == 303
    return response.headers["location"]


def the_qr_for(app, ticket_id: str) -> str:
    appliance = app.state.appliance
    return qr_svg(guestbook_url(appliance.settings.public_url, appliance.queue.get(ticket_id)))


def test_a_ticket_the_printer_could_not_print_shows_its_guestbook_qr_on_screen(client, app):
    assert client.post("/_sim/printer", json={"online": False}).status_code == 200
    path = take_at_kiosk(client)
    page = client.get(path).text
    assert 'class="number" aria-live="polite">A001<' in page and "printer bermasalah" in page
    assert the_qr_for(app, path.rsplit("/", 1)[1]) in page  # the same address as the ticket's printed QR
    assert "Kode QR buku tamu untuk nomor ini" in page


def test_a_printed_ticket_needs_no_qr_on_screen(client, app):
    page = client.get(take_at_kiosk(client)).text
    assert "Silakan ambil tiket Anda di printer." in page and "<svg" not in page


def test_the_kiosk_start_page_shows_the_newest_unprinted_number_with_its_qr(client, app):
    client.post("/_sim/printer", json={"paper": "out"})
    first, second = client.post("/api/tickets").json(), client.post("/api/tickets").json()
    app.state.appliance.spooler.wait_idle(timeout=5)
    page = client.get("/").text
    newest = re.search(r'<div class="guestbook-qr" id="newest-unprinted" data-ticket="([^"]+)">(.*?)</div>\s*</div>',
                       page, re.S)
    assert newest.group(1) == second["id"] and 'class="number">A002<' in newest.group(2)
    assert the_qr_for(app, second["id"]) in page and the_qr_for(app, first["id"]) not in page
    assert '<span class="chip">A001</span><span class="chip">A002</span>' in page


def test_a_visitors_language_choice_lasts_only_the_browser_session(client):
    switched = client.get("/bahasa/en", headers={"referer": f"{HOST}/buku-tamu"}, follow_redirects=False)
    cookie = language_cookie(switched)
    assert switched.headers["location"] == "/buku-tamu"
    assert "pst_lang=en" in cookie and "max-age" not in cookie and "expires" not in cookie


def test_staff_keep_their_language_choice(client, app):
    appliance = app.state.appliance
    add_user(appliance.store, appliance.clock, "wa_ode", "frontliner", "rahasia-loket-1")
    client.post("/api/session", json={"username": "wa_ode", "password": "rahasia-loket-1"})
    cookie = language_cookie(client.get("/bahasa/en", follow_redirects=False))
    assert "pst_lang=en" in cookie and "max-age=31536000" in cookie


def test_sending_the_guestbook_ends_the_language_choice(client):
    client.get("/bahasa/en")
    ticket = client.post("/api/tickets").json()
    data = GUEST | {"_csrf_token": csrf(client, f"/buku-tamu/{ticket['id']}"), "ticket_id": ticket["id"]}
    sent = client.post("/buku-tamu", data=data, follow_redirects=False)
    assert sent.status_code == 303 and "max-age=0" in language_cookie(sent)
    assert '<html lang="id">' in client.get(sent.headers["location"]).text


def test_a_refused_guestbook_keeps_the_language(client):
    client.get("/bahasa/en")
    ticket = client.post("/api/tickets").json()
    data = GUEST | {"_csrf_token": csrf(client, f"/buku-tamu/{ticket['id']}"), "ticket_id": ticket["id"], "name": ""}
    refused = client.post("/buku-tamu", data=data)
    assert refused.status_code == 400 and '<html lang="en">' in refused.text
    assert not [c for c in refused.headers.get_list("set-cookie") if c.startswith("pst_lang=")]


@pytest.mark.parametrize("query, target", [("", "/"), ("?ke=mulai", "/"), ("?ke=pemindai", "/pemindai"),
                                           ("?ke=https://elsewhere.example", "/"), ("?ke=//evil", "/")])
def test_the_kiosk_returns_to_its_start_in_indonesian(client, query, target):
    client.get("/bahasa/en")
    back = client.get(f"/kiosk/selesai{query}", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == target
    assert "max-age=0" in language_cookie(back)
    assert '<html lang="id">' in client.get(target).text


def test_the_ticket_page_returns_to_the_start_through_the_language_reset(client):
    page = client.get(take_at_kiosk(client)).text
    assert 'content="20;url=/kiosk/selesai"' in page and 'href="/kiosk/selesai"' in page
