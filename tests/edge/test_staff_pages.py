"""Staff pages that can be trusted: messages from the session (never the address), errors shown as errors, live
lists without a page reload, lockers with one state and an alert staff can acknowledge, readable times and names."""

import re
from datetime import timedelta

import pytest

from edge.users import add_user

GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}
NIK = "7471012301990004"
SHELVES = [{"title": "Kecamatan Mandonga Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
            "catalogue_number": "1102001.7471", "location": "storage", "shelf": "G-01-2"}]


def signed_in(client, app, clock, username: str, role: str):
    add_user(app.state.appliance.store, clock, username, role, f"rahasia-{username}-1")
    assert client.post("/api/session", json={"username": username, "password": f"rahasia-{username}-1"}).status_code == 200
    return client


@pytest.fixture
def desk(client, app, clock):
    """A signed-in frontliner."""
    return signed_in(client, app, clock, "dewi", "frontliner")


@pytest.fixture
def librarian(client, app, clock):
    return signed_in(client, app, clock, "rina", "librarian")


@pytest.fixture
def head(client, app, clock):
    """The office head: an admin, who may open every staff page."""
    return signed_in(client, app, clock, "kepala", "admin")


def guest(client, name="Ani"):
    return client.post("/api/visits", json=GUEST | {"name": name, "email": f"{name.lower()}@example.id"}).json()


def token(client, path="/petugas"):
    return re.search(r'name="_csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_no_staff_page_shows_words_from_the_address(head):
    visit = guest(head)["id"]
    pages = ["/petugas", "/petugas/loker", "/petugas/permintaan", f"/petugas/kunjungan/{visit}", "/petugas/pengaduan",
             "/petugas/pengaduan/baru", "/katalog", f"/petugas/kunjungan/{visit}/katalog"]
    for page in pages:
        answer = head.get(page, params={"pesan": "HACKED: call 0800"})
        assert answer.status_code == 200, page
        assert "HACKED" not in answer.text, page


def test_a_failed_checkout_is_shown_once_as_an_error(desk):
    visit = guest(desk)["id"]
    desk.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    form = {"_csrf_token": token(desk), "id_number": "9999"}
    sent = desk.post(f"/petugas/kunjungan/{visit}/checkout", data=form, follow_redirects=False)
    assert sent.status_code == 303 and "pesan" not in sent.headers["location"]
    page = desk.get(sent.headers["location"]).text
    assert re.search(r'<p class="fault flash" role="alert"><strong>Gagal:</strong> Checkout belum bisa: Nomor kartu', page)
    assert 'class="ok' not in page
    assert "Checkout belum bisa" not in desk.get(sent.headers["location"]).text  # once


def test_a_success_is_a_status_message(desk):
    sent = desk.post("/petugas/tiket", data={"_csrf_token": token(desk)})
    assert '<p class="ok flash" role="status">Nomor A001 diterbitkan</p>' in sent.text


def test_checkout_accepts_the_last_four_digits_the_pages_show(desk, app):
    visit = guest(desk)["id"]
    desk.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    assert "berakhiran 0004" in desk.get(f"/petugas/kunjungan/{visit}").text
    wrong = desk.post(f"/api/visits/{visit}/checkout", json={"id_number": "0005"})
    assert wrong.status_code == 409 and wrong.json()["errors"] == {"id_number": "tidak cocok"}
    assert app.state.appliance.visits.get(visit)["finished_at"] is None  # nothing stored on a 4xx
    done = desk.post(f"/api/visits/{visit}/checkout", json={"id_number": "••••0004"})
    assert done.status_code == 200 and done.json()["locker"] == 1


@pytest.mark.parametrize("typed, matches", [("0004", True), (NIK, True), ("7471 0123 0199 0004", True),
                                            ("0040", False), ("7471012301990005", False)])
def test_the_card_matches_by_its_last_four_or_its_whole_number(appliance, typed, matches):
    visit = appliance.check_in(GUEST | {"name": "Ani", "email": "ani@example.id"}).visit["id"]
    appliance.lockers.assign(visit, "KTP", NIK)
    if matches:
        assert appliance.checkout.checkout(visit, typed)["locker"] == 1
    else:
        with pytest.raises(ValueError, match="tidak cocok"):
            appliance.checkout.checkout(visit, typed)


@pytest.mark.parametrize("page, fragment, inside", [
    ("/petugas/permintaan", "/petugas/permintaan/daftar", "Tidak ada permintaan yang menunggu."),
    ("/petugas/loker", "/petugas/loker/daftar", 'data-live-key="locker-1"'),
])
def test_live_pages_update_their_list_without_reloading(librarian, page, fragment, inside):
    html = librarian.get(page).text
    assert 'http-equiv="refresh"' not in html
    assert f'data-live-src="{fragment}"' in html and '<script src="/static/live.js" defer></script>' in html
    assert f'<a href="{page}">Muat ulang</a>' in html  # without JavaScript
    part = librarian.get(fragment)
    assert part.status_code == 200 and "<html" not in part.text and inside in part.text and inside in html
    assert librarian.get("/static/live.js").status_code == 200


def test_the_fetch_list_keeps_its_forms_pointing_at_the_page(librarian, app):
    app.state.appliance.catalogue.import_rows(SHELVES)
    visit = guest(librarian)["id"]
    item = librarian.get("/api/catalogue", params={"q": "mandonga"}).json()["items"][0]["id"]
    assert librarian.post(f"/api/visits/{visit}/fetches", json={"publication_id": item}).status_code == 201
    part = librarian.get("/petugas/permintaan/daftar").text
    assert "Kecamatan Mandonga Dalam Angka 2024" in part and 'name="kembali" value="/petugas/permintaan"' in part
    assert 'name="note"' in part and "_csrf_token" in part


def test_a_locker_card_shows_exactly_one_state(desk, app):
    visit = guest(desk)["id"]
    desk.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    hardware = app.state.appliance.hardware
    hardware.set_door(1, True)
    hardware.set_door(1, False)
    desk.post(f"/api/visits/{visit}/checkout", json={})
    cards = re.findall(r'<p class="locker-state">([^<]*)</p>', desk.get("/petugas/loker/daftar").text)
    assert cards[0] == "checkout: menunggu pengunjung membuka pintu" and len(cards) == 4
    html = desk.get("/petugas/loker").text
    assert "Pintu tertutup" not in html and "Pintu terbuka" not in html
    hardware.set_door(1, True)
    assert re.findall(r'<p class="locker-state">([^<]*)</p>', desk.get("/petugas/loker/daftar").text)[0] == \
        "checkout: menunggu pintu ditutup"
    hardware.set_door(1, False)
    assert [lk["state"] for lk in desk.get("/api/lockers").json()["lockers"]][0] == "kosong"


def test_a_visitor_may_take_a_minute_to_open_the_locker(appliance, clock):
    assert appliance.config.lockers.open_timeout_s == 180
    visit = appliance.check_in(GUEST | {"name": "Ani", "email": "ani@example.id"}).visit["id"]
    appliance.lockers.assign(visit, "KTP", NIK)
    clock.advance(seconds=90)
    appliance.lockers.check_doors()
    assert appliance.store.read.execute("SELECT count(*) FROM alerts WHERE cleared_at IS NULL").fetchone()[0] == 0
    clock.advance(seconds=91)
    appliance.lockers.check_doors()
    [message] = appliance.store.read.execute("SELECT message FROM alerts WHERE cleared_at IS NULL").fetchone()
    assert message.startswith("Pintu loker 1 belum dibuka 3 menit setelah kuncinya dilepas")


def test_staff_acknowledge_a_locker_alert_and_it_stays_closed(desk, app, clock):
    appliance = app.state.appliance
    visit = guest(desk)["id"]
    desk.post(f"/api/visits/{visit}/locker", json={"id_type": "KTP", "id_number": NIK})
    clock.advance(seconds=200)
    appliance.lockers.check_doors()
    console = desk.get("/petugas").text
    assert 'action="/petugas/loker/1/peringatan"' in console and "Sudah ditangani" in console
    sent = desk.post("/petugas/loker/1/peringatan", data={"_csrf_token": token(desk), "kembali": "/petugas"})
    assert str(sent.url).endswith("/petugas") and "Peringatan loker 1 ditandai sudah ditangani" in sent.text
    clock.advance(seconds=200)
    appliance.lockers.check_doors()  # not raised again for the same unlock
    assert [a for a in desk.get("/api/alerts").json() if a["kind"].startswith("locker_")] == []
    [(actor, target)] = appliance.store.read.execute(
        "SELECT actor, target FROM audit_log WHERE action = 'locker.acknowledge'").fetchall()
    assert (actor, target) == ("dewi", "locker:1")
    again = desk.post("/api/lockers/1/acknowledge")
    assert again.status_code == 200 and again.json() == {"number": 1, "acknowledged": False}
    assert desk.post("/api/lockers/9/acknowledge").status_code == 404


def test_calling_to_a_counter_still_serving_someone_warns_first(desk, app):
    first, second = guest(desk, "Ani"), guest(desk, "Budi")
    desk.post("/api/counters/1/call")
    desk.post(f"/api/tickets/{app.state.appliance.visits.get(first['id'])['ticket_id']}/serve")
    page = desk.get("/petugas").text
    assert "Loket 1 masih menangani nomor A001 (dilayani)." in page and "Tetap panggil berikutnya ke loket 1" in page
    stale = desk.post("/petugas/panggil", data={"_csrf_token": token(desk)})  # a page that did not show it
    assert 'role="alert"><strong>Gagal:</strong> Belum dipanggil: loket 1 masih menangani nomor A001' in stale.text
    assert app.state.appliance.queue.get(
        app.state.appliance.visits.get(second["id"])["ticket_id"]).status == "waiting"
    busy_id = re.search(r'name="tetap" value="([^"]+)"', stale.text).group(1)
    called = desk.post("/petugas/panggil", data={"_csrf_token": token(desk), "tetap": busy_id})
    assert "Nomor A002 dipanggil ke loket 1" in called.text


def test_an_overdue_visitor_reads_in_minutes(desk, clock):
    guest(desk)
    clock.advance(seconds=300 + 724)
    part = desk.get("/petugas/antrian").text
    assert 'data-remaining="-724">lewat 12 mnt</span>' in part and "-724 dtk" not in part


def test_the_sync_line_speaks_indonesian_in_office_time(desk, app, clock):
    from sync.agent import Enrolment

    appliance = app.state.appliance
    Enrolment("http://portal.test", "dev", "7400", "Meja depan", "pstd1.dev.secret").save(appliance.settings.data_dir)
    success = clock.now().replace(hour=14, minute=2) - timedelta(hours=8)  # 14.02 WITA is 06.02 UTC
    with appliance.store.write() as db:
        db.execute("UPDATE sync_state SET last_success_at = ?, last_error = ?, last_error_at = ? WHERE id = 1",
                   [success.isoformat(), "ConnectError: All connection attempts failed", clock.now().isoformat()])
    part = desk.get("/petugas/antrian").text
    assert "Tidak terhubung ke cloud sejak" in part and "ConnectError" not in part
    assert re.search(r"Tidak terhubung ke cloud sejak (\d+ \w+ )?\d\d\.\d\d", part)
    desk.cookies.set("pst_lang", "en")
    assert "Not connected to the cloud since" in desk.get("/petugas/antrian").text


def test_staff_appear_by_name_in_a_visits_fetch_history(desk, app):
    app.state.appliance.catalogue.import_rows(SHELVES)
    visit = guest(desk)["id"]
    item = desk.get("/api/catalogue", params={"q": "mandonga"}).json()["items"][0]["id"]
    desk.post(f"/api/visits/{visit}/fetches", json={"publication_id": item})
    page = desk.get(f"/petugas/kunjungan/{visit}").text
    staff_id = app.state.appliance.store.read.execute("SELECT id FROM users WHERE username = 'dewi'").fetchone()[0]
    assert '<span class="muted staff-name">dewi</span>' in page and staff_id not in page


def test_a_complaint_says_who_entered_it(head):
    sent = head.post("/petugas/pengaduan", data={"_csrf_token": token(head, "/petugas/pengaduan"), "channel": "email",
                                                 "text": "Ruang baca terlalu dingin sepanjang hari ini."})
    assert "dicatat oleh kepala" in sent.text and 'role="status">Pengaduan dicatat dengan nomor' in sent.text


def test_the_desk_records_a_complaint_and_gives_its_number_without_the_queue(desk, app):
    form = {"_csrf_token": token(desk, "/petugas/pengaduan/baru"), "channel": "whatsapp",
            "text": "Petugas loket 2 tidak ada di tempat.", "contact": "0812 3456 7890"}
    sent = desk.post("/petugas/pengaduan/baru", data=form)
    tracking = app.state.appliance.store.read.execute("SELECT tracking FROM complaints").fetchone()[0]
    assert sent.url.path == "/petugas/pengaduan/baru"
    assert f'role="status">Pengaduan dicatat dengan nomor {tracking}</p>' in sent.text
    assert "0812 3456 7890" not in sent.text and 'href="/petugas/pengaduan"' not in sent.text
    assert desk.get("/petugas/pengaduan").status_code == 403


@pytest.mark.parametrize("start, end, words", [
    ("2026-11-20", "2026-11-01", "Tanggal awal harus sebelum tanggal akhir"),
    ("2026-11-xx", "2026-11-01", "Tanggal harus ditulis TTTT-BB-HH, misalnya 2026-12-03"),
    ("2024-01-01", "2026-11-01", "Rentang tanggal paling panjang 366 hari"),
])
def test_the_reports_date_error_is_a_sentence(head, start, end, words):
    page = head.get("/petugas/laporan", params={"from": start, "to": end})
    assert page.status_code == 400 and f'<p class="fault" role="alert">{words}</p>' in page.text
    assert "tidak boleh setelah" not in page.text
