"""Pages in Indonesian and English: the catalogue covers every message, the switch is a cookie and a link, the
language reaches handlers run in worker threads, the API, the display board and the printed ticket stay Indonesian.
"""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from edge.i18n import Languages, current_language, read_catalogue
from edge.slip import PROMISE, office_time
from edge.users import add_user
from tests.conftest import MONDAY_MORNING, WITA

ROOT = Path(__file__).parents[2]
LOCALE = ROOT / "edge" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
HOST = "http://testserver.local"  # the test client's base URL


def extracted_msgids() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map)
    }


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def read(path: Path):
    with path.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    return extracted_msgids()


def test_every_message_has_an_english_translation(msgids):
    english = read(LOCALE / "en" / "LC_MESSAGES" / "messages.po")
    assert len(msgids) > 100  # the extraction did find the templates and the code
    missing = sorted(m for m in msgids if m not in english or not english[m].string or english[m].fuzzy)
    assert not missing, "translate these in edge/locale/en/LC_MESSAGES/messages.po (see babel.cfg)"
    wrong = {m: english[m].string for m in msgids if placeholders(m) != placeholders(english[m].string)}
    assert not wrong, "a translation must keep the message's %(placeholders)s"


def test_the_template_catalogue_is_up_to_date(msgids):
    template = {message.id for message in read(LOCALE / "messages.pot") if message.id}
    assert template == msgids, "run the pybabel extract and update commands in babel.cfg"


@pytest.mark.parametrize(
    "indonesian, english",
    [
        ("Tiket tidak ditemukan", "Ticket not found"),
        ("Nomor A001 dipanggil ke loket 2", "Number A001 called to counter 2"),
        ("Nomor A001 dipanggil ulang", "Number A001 called again"),
        ("terlalu panjang (maks. 100 karakter)", "too long (max. 100 characters)"),
        ("Tidak dapat: nomor A001 sedang selesai", "Could not do that: number A001 is done"),
        ("A001 (Wa Ode (Ani)) harus dilayani dalam 30 detik.", "A001 (Wa Ode (Ani)) must be served within 30 seconds."),
        ("Catatan bebas dari petugas", "Catatan bebas dari petugas"),  # not a message: shown as it is
        ("Catatan: siap", "Catatan: siap"),  # "%(title)s: %(status)s" has no words of its own to match by
    ],
)
def test_text_made_by_the_code_is_translated_where_it_is_shown(indonesian, english):
    catalogue = read_catalogue(LOCALE / "en" / "LC_MESSAGES" / "messages.po")
    assert catalogue.translate(indonesian) == english


def test_a_catalogue_compiled_into_the_cache_reads_back_the_same(tmp_path):
    source = LOCALE / "en" / "LC_MESSAGES" / "messages.po"
    fresh = read_catalogue(source)
    first, again = read_catalogue(source, tmp_path), read_catalogue(source, tmp_path)
    assert len(list(tmp_path.glob("en.*.mo"))) == 1
    assert first.msgids == again.msgids == fresh.msgids and len(fresh.msgids) > 100
    assert all(again.gettext(msgid) == fresh.gettext(msgid) for msgid in fresh.msgids)
    assert again.translate("Nomor A007 dipanggil ulang") == fresh.translate("Nomor A007 dipanggil ulang")


def test_a_changed_catalogue_is_compiled_again_and_the_old_copy_dropped(tmp_path):
    po = tmp_path / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Buka"\nmsgstr "Open"\n')
    cache = tmp_path / "cache"
    assert Languages.load(po.parents[2], cache).catalogues["en"].gettext("Buka") == "Open"
    po.write_text(po.read_text().replace('"Open"', '"Opened"'))
    assert Languages.load(po.parents[2], cache).catalogues["en"].gettext("Buka") == "Opened"
    (only,) = cache.glob("en.*.mo")
    only.write_bytes(b"not a catalogue")  # a damaged copy is compiled again
    assert Languages.load(po.parents[2], cache).catalogues["en"].msgids == {"Buka"}


def test_office_time_in_each_language():
    assert office_time(MONDAY_MORNING, WITA) == "Senin, 30 November 2026 09.00 WITA"
    assert office_time(MONDAY_MORNING, WITA, "en") == "Monday, 30 November 2026 09:00 WITA"


def test_the_kiosk_switches_to_english_and_back(client):
    assert 'lang="id"' in client.get("/").text
    switched = client.get("/bahasa/en", headers={"referer": f"{HOST}/"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/"
    cookie = switched.headers["set-cookie"].lower()
    # a visitor's choice on a shared kiosk ends with the browser session (test_kiosk_visitor_session.py)
    assert "pst_lang=en" in cookie and "samesite=lax" in cookie and "max-age" not in cookie.split(",")[0]
    page = client.get("/").text
    assert '<html lang="en">' in page and "Take a queue number" in page and "Ambil Nomor Antrian" not in page
    assert 'href="/bahasa/id"' in page and "Bahasa Indonesia" in page
    client.get("/bahasa/id")
    page = client.get("/").text
    assert '<html lang="id">' in page and "Ambil Nomor Antrian" in page and 'href="/bahasa/en"' in page


def test_pages_made_in_worker_threads_follow_the_cookie(client):
    # the kiosk page (sync_to_thread) formats its clock in the worker thread with the request's language
    client.cookies.set("pst_lang", "en")
    assert "Monday, 30 November 2026 09:00 WITA" in client.get("/").text
    ticket = client.post("/api/tickets").json()
    form = client.get(f"/buku-tamu/{ticket['id']}").text
    assert "Full name" in form and "Purpose of visit" in form and "Reading printed publications" in form
    assert "Staff sign-in" in client.get("/petugas/masuk").text


def test_the_language_reaches_a_sync_handler_in_its_thread():
    import threading

    from litestar import Litestar, get
    from litestar.middleware import DefineMiddleware
    from litestar.testing import TestClient

    from edge.i18n import language
    from edge.routes.language import language_middleware

    @get("/probe", sync_to_thread=True)
    def probe() -> dict:
        return {"language": language(), "thread": threading.get_ident()}

    @get("/loop")
    async def loop() -> dict:
        return {"thread": threading.get_ident()}

    app = Litestar([probe, loop], middleware=[DefineMiddleware(language_middleware, languages=Languages.load())])
    with TestClient(app) as client:
        client.cookies.set("pst_lang", "en")
        answer = client.get("/probe").json()
        assert answer["language"] == "en" and answer["thread"] != client.get("/loop").json()["thread"]
        client.cookies.set("pst_lang", "xx")  # unknown: the source language
        assert client.get("/probe").json()["language"] == "id"
    assert current_language.get() == "id"  # nothing leaks out of a request


@pytest.mark.parametrize(
    "referer, location",
    [
        (f"{HOST}/buku-tamu?nomor=A001", "/buku-tamu?nomor=A001"),
        ("https://evil.example/x", "/"),
        (f"{HOST}//evil.example/x", "/"),
        (f"{HOST}/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        (f"{HOST}/bahasa/id", "/"),
        (None, "/"),
    ],
)
def test_the_switch_only_goes_back_to_this_appliance(client, referer, location):
    headers = {"referer": referer} if referer else {}
    response = client.get("/bahasa/en", headers=headers, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == location


def test_an_unknown_language_is_refused(client):
    response = client.get("/bahasa/fr", follow_redirects=False)
    assert response.status_code == 404 and "pst_lang" not in response.headers.get("set-cookie", "")


def test_guestbook_errors_are_translated_on_the_form_but_not_in_the_api(client):
    client.cookies.set("pst_lang", "en")
    ticket = client.post("/api/tickets").json()
    form = client.get(f"/buku-tamu/{ticket['id']}").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
    data = {"_csrf_token": token, "ticket_id": ticket["id"], "name": "x" * 101, "gender": "P", "email": "ani@",
            "occupation": "jurnalis", "id_type": "KTP"}
    page = client.post("/buku-tamu", data=data).text
    assert 'id="err-email">not a valid e-mail address' in page
    assert 'id="err-name">too long (max. 100 characters)' in page
    assert 'id="err-purposes">choose at least one purpose' in page
    answer = client.post("/api/visits", json={k: v for k, v in data.items() if k != "_csrf_token"}).json()
    assert answer["errors"]["email"] == "alamat e-mail tidak sah"


def test_console_messages_follow_the_language(client, app, clock):
    add_user(app.state.appliance.store, clock, "loket1", "frontliner", "rahasia-loket-1")
    assert client.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-1"}).status_code == 200
    client.post("/api/tickets")
    client.cookies.set("pst_lang", "en")
    page = client.get("/petugas").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    assert "Call next to counter 1" in page and "Printer: <strong>ready</strong>" in page
    called = client.post("/petugas/panggil", data={"_csrf_token": token})
    assert str(called.url).endswith("/petugas")  # the message waits in the session, in Indonesian
    assert "Number A001 called to counter 1" in called.text and "Called &amp; being served" in called.text


def test_the_display_board_and_the_printed_ticket_stay_indonesian(client, emulator):
    client.cookies.set("pst_lang", "en")
    board = client.get("/layar").text
    assert '<html lang="id">' in board and "Panggilan sebelumnya" in board and "Silakan ke loket {counter}" in board
    landing = client.get("/").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', landing).group(1)
    page = client.post("/kiosk/tiket", data={"_csrf_token": token}).text
    assert "Your queue number" in page and "Served within 5 minutes of filling in the guestbook" in page
    printed = emulator.wait_for_tickets(1)[0].text
    assert "Senin, 30 November 2026 09.00 WITA" in printed and PROMISE in printed
