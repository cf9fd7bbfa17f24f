"""Every page of the portal in English once the reader has chosen it: signed out, a reader's own pages, and every
back-office page for staff and for an admin, with the messages the code shows on them (form errors, notices, states)
and times written the English way. One portal on SQLite serves the pages; forms that change it get their own.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import unquote

import pytest
from litestar.testing import TestClient

from cloud.mailsink import MailSink, read_mails
from cloud.settings import CloudSettings
from cloud.times import office_time
from pst.clock import ManualClock
from tests.cloud.conftest import (
    COOKIE, READER_PASSWORD, SECRET, SMALL_CATALOGUE, add_reader, as_, link_token, run_db, sign_in, write_csv,
    write_pdf,
)
from tests.conftest import MONDAY_MORNING

READER = "wa.ode@example.id"
TITLE = "Kota Kendari Dalam Angka 2024"
STAFF_ONLY = "Halaman ini hanya untuk petugas PST."


@pytest.fixture
def database(tmp_path) -> str:
    """The language of a page does not depend on the database: SQLite alone."""
    return f"sqlite:///{tmp_path / 'cloud.db'}"


def csrf_post(client, path: str, data: dict, **options):
    if not client.cookies.get("pst_cloud_csrf"):
        client.get("/akun/masuk")
    return client.post(path, data={**data, "_csrf_token": client.cookies.get("pst_cloud_csrf")},
                       follow_redirects=False, **options)


def english(client, token: str | None = None):
    as_(client, token)
    client.cookies.set("pst_lang", "en")
    return client


def import_catalogue(client, folder) -> dict[str, str]:
    from cloud.catalogue_import import import_csv

    for row in SMALL_CATALOGUE:
        if row.get("file"):
            write_pdf(folder / row["file"], pages=4, text=row["title"])
    state = client.app.state
    client.blocking_portal.call(import_csv, state.db, state.clock, state.settings.data_dir,
                                write_csv(folder / "katalog.csv", SMALL_CATALOGUE))
    return {row["title"]: row["id"] for row in run_db(client, "SELECT id, title FROM publications")}


def add_offices(client, clock) -> None:
    for code, name in (("7400", "BPS Provinsi Sulawesi Tenggara"), ("7471", "BPS Kota Kendari")):
        run_db(client, "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
               f"office-{code}", code, name, clock.now())


def mailed(sink: MailSink, to: str, path: str) -> str:
    """The path and query of the last link to `path` mailed to `to`."""
    [*_, mail] = [m for m in sink.mails() if to in m.to]
    found = re.search(rf"http://portal\.test({re.escape(path)}\?token=[A-Za-z0-9_-]+(?:&next=\S+)?)", mail.body)
    assert found, mail.body
    return unquote(found.group(1))


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One portal with something on every page: offices, the small catalogue, a reader with a request, staff and an
    admin, a complaint, a device with a refused record; and real mailed links to verify, reset and set a password."""
    root = tmp_path_factory.mktemp("portal")
    clock = ManualClock(MONDAY_MORNING)
    with MailSink(root / "mail") as sink:
        settings = CloudSettings.from_env({
            "PST_DATA_DIR": str(root / "var"), "PST_CLOUD_DATABASE_URL": f"sqlite:///{root / 'cloud.db'}",
            "PST_CLOUD_SMTP_URL": sink.url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PUBLIC_URL": "http://portal.test",
        })
        from cloud.app import create_app

        with TestClient(create_app(settings, clock=clock), base_url="http://portal.test") as client:
            add_offices(client, clock)
            ids = import_catalogue(client, root / "katalog")
            tokens = {"reader": add_reader(client, READER, "Wa Ode Nurhaliza"),
                      "staff": sign_in(client, "petugas@bps.go.id", "Petugas Kendari", "staff"),
                      "admin": sign_in(client, "admin@bps.go.id", "Admin Sultra", "admin")}
            as_(client, tokens["reader"])
            asked = client.post("/api/requests", json={"publication_id": ids[TITLE], "purpose": "penelitian"})
            assert asked.status_code == 201, asked.text
            as_(client, None)
            complained = client.post("/api/complaints", json={
                "office": "7400", "channel": "website", "text": "Ruang baca terlalu panas pada siang hari."})
            assert complained.status_code == 201, complained.text
            added = csrf_post(english(client, tokens["admin"]), "/kantor/kantor/perangkat",
                              {"office": "7400", "name": "Meja PST Raha"})
            assert added.status_code == 201, added.text
            [device] = run_db(client, "SELECT id FROM devices")
            run_db(client, "INSERT INTO sync_dead_letters (id, device_id, epoch, seq, event_id, entity, entity_id, op,"
                           " payload, reason, at) VALUES ('dl-1', {}, 'e1', 7, 'ev-1', 'visit', 'v-1', 'insert', {},"
                           " 'unknown version', {})", device["id"], '{"id": "v-1"}', clock.now())
            as_(client, None)
            client.cookies.delete("pst_lang")
            # a new reader (verify), the reader's reset, and a desk visitor's account (set a password)
            client.post("/api/accounts", json={"email": "la.ode@example.id", "name": "La Ode",
                                               "password": "sagu-papeda-kendari"})
            client.post("/api/password-resets", json={"email": READER})
            run_db(client, "INSERT INTO accounts (id, email, name, password_hash, role, created_at)"
                           " VALUES ('desk-1', 'desk@example.id', 'Pengunjung Loket', '!', 'reader', {})", clock.now())
            client.post("/api/accounts", json={"email": "desk@example.id", "name": "Pengunjung",
                                               "password": "sagu-papeda-kendari"})
            links = {"verify": mailed(sink, "la.ode@example.id", "/akun/verifikasi"),
                     "reset": mailed(sink, READER, "/akun/atur-ulang"),
                     "set": mailed(sink, "desk@example.id", "/akun/buat-sandi")}
            yield {"client": client, "tokens": tokens, "ids": ids, "device": device["id"], "links": links,
                   "new_device_page": added.text}


def page_of(portal, who: str, path: str):
    client = english(portal["client"], portal["tokens"].get(who))
    path = path.format(publication=portal["ids"][TITLE], device=portal["device"], **portal["links"])
    return client.get(path)


# (who, path, an English phrase, Indonesian phrases that page shows in Indonesian)
PAGES = [
    ("nobody", "/akun/masuk", "Forgot your password?", ["Kata sandi", "Lupa kata sandi?", ">Masuk<"]),
    ("nobody", "/akun/daftar", "Already have an account? Sign in",
     ["Daftar akun", "Nama lengkap", "Minimal 10 karakter", "Sudah punya akun"]),
    ("nobody", "/akun/lupa-sandi", "we will send you a link", ["Lupa kata sandi", "Masukkan email", "Kirim tautan"]),
    ("nobody", "{reset}", "Save password", ["Kata sandi baru", "Simpan kata sandi", "Minimal 10 karakter"]),
    ("nobody", "/akun/atur-ulang", "Ask for a new link", ["Tautan ini tidak sah", "Minta tautan baru"]),
    ("nobody", "{set}", "Save password and sign in",
     ["Buat kata sandi", "sudah ada sejak kunjungan", "Simpan kata sandi dan masuk"]),
    ("nobody", "/akun/buat-sandi", "has already been used, or has expired", ["sudah kedaluwarsa", "Minta"]),
    ("nobody", "{verify}", "Verify my e-mail", ["Verifikasi email", "Tekan tombol"]),
    ("nobody", "/akun/verifikasi", "Open the verification link", ["Buka tautan verifikasi", "atur ulang kata sandi"]),
    ("nobody", "/publikasi/nothing-here", "This publication is not in the catalogue.",
     ["Publikasi tidak ditemukan", "Kembali ke katalog"]),
    ("reader", "/akun", "My account", ["Akun saya", "Permintaan saya", "Hasil pindaian saya", "Keluar"]),
    ("reader", "/akun/permintaan", "Request a digital copy", ["Permintaan saya", "Keperluan", "diajukan"]),
    ("reader", "/akun/pindaian", "My scans", ["Hasil pindaian saya", "Belum ada hasil pindaian"]),
    ("reader", "/kantor", "This page is for PST staff only.", ["Akses ditolak", STAFF_ONLY, "Ke beranda"]),
    ("reader", "/kantor/pengaduan", "Staff only", ["Khusus petugas", STAFF_ONLY]),
    ("staff", "/kantor", "digital copy request waiting",
     ["Masuk sebagai", "permintaan softcopy menunggu", "publikasi di katalog", "perangkat aktif", "Antrean permintaan",
      "Beranda kantor", "Kantor & perangkat"]),
    ("staff", "/kantor/katalog", "Manage the catalogue",
     ["Kelola katalog", "Tambah publikasi", "Salinan digital", "Belum ada", "Ubah"]),
    ("staff", "/kantor/katalog/baru", "Add a publication",
     ["Tambah publikasi", "Judul", "Nomor katalog", "Kantor penerbit", "Pisahkan dengan titik koma", "tidak disebut"]),
    ("staff", "/kantor/katalog/{publication}", "Detach the digital copy from this publication",
     ["Ubah publikasi", "Lihat di portal", "Simpan perubahan", "Pembaca yang masuk", "Ganti dengan berkas PDF",
      "Hapus publikasi"]),
    ("staff", "/kantor/katalog/{publication}/hapus", "Yes, delete the publication",
     ["Hapus publikasi?", "tidak dapat dibatalkan", "Batal", "No. katalog"]),
    ("staff", "/kantor/katalog/nothing-here", "Back to the catalogue",
     ["Publikasi tidak ditemukan", "Kembali ke katalog"]),
    ("staff", "/kantor/permintaan", "oldest first",
     ["Permintaan softcopy", "Belum selesai", "terlama di atas", "Pembaca", "Keperluan", "Proses", "Tolak",
      "mis. data belum dirilis", ">diajukan<"]),
    ("staff", "/kantor/pengaduan", "Record a complaint from another channel",
     ["Antrean pengaduan", "Semua kantor", "Saluran", "menunggu", "Tanggapan untuk pengadu", "Simpan tanggapan",
      "Tindak lanjuti", "Catat pengaduan", "Kontak pengadu", "Kotak saran", "Diterima", "0 mnt"]),
    ("staff", "/kantor/kantor", "Offices & devices",
     ["Kantor & perangkat", "Terakhir terlihat", "Menunggu pendaftaran", " ditolak<",
      "Hanya admin yang dapat menambah kantor"]),
    ("staff", "/kantor/kantor/perangkat/{device}/ditolak", "Refused records",
     ["Catatan yang ditolak", "Urutan", "Alasan", "Kembali ke kantor"]),
    ("staff", "/kantor/audit", "Only admins can read the audit trail.", ["Akses ditolak", "jejak audit"]),
    ("staff", "/kantor/privasi", "Only admins can export or erase personal data.", ["Akses ditolak", "data pribadi"]),
    ("admin", "/kantor", "Add an office or a device",
     ["Masuk sebagai", "Tambah kantor atau perangkat", "Jejak audit", "Data pribadi"]),
    ("admin", "/kantor/kantor", "Add a device",
     ["Tambah perangkat", "Kode pendaftaran", "Nama perangkat", "Tambah kantor", "Kode satker", "Nama kantor",
      "Meja layanan PST", "Cabut…"]),
    ("admin", "/kantor/kantor/perangkat/{device}/cabut", "Yes, revoke this device",
     ["Cabut perangkat", "tidak dapat sinkron lagi", "Batal"]),
    ("admin", "/kantor/kantor/perangkat/nothing-here/cabut", "This device is not registered.",
     ["Perangkat tidak ditemukan", "Perangkat ini tidak terdaftar"]),
    ("admin", "/kantor/audit", "Every staff action",
     ["Jejak audit", "Setiap tindakan", "Petugas", "Tindakan", "Sampai", "Tampilkan", "baris", "Keterangan",
      "Halaman 1 dari"]),
    ("admin", "/kantor/audit?from=kemarin", "The audit trail filters are not right yet: a date as YYYY-MM-DD",
     ["Saringan jejak audit", "tanggal dengan format"]),
    ("admin", "/kantor/privasi", "Personal data requests",
     ["Permintaan data pribadi", "Untuk permintaan seseorang", "Ekspor data", "Hapus data"]),
]


@pytest.mark.parametrize("who, path, phrase, indonesian", PAGES, ids=[f"{w}:{p}" for w, p, _, _ in PAGES])
def test_every_portal_page_is_in_english_after_the_switch(portal, who, path, phrase, indonesian):
    answer = page_of(portal, who, path)
    assert answer.status_code < 500 and '<html lang="en">' in answer.text
    main = answer.text.split("<main", 1)[1]
    assert phrase in main, main
    left = [words for words in indonesian if words in main]
    assert not left, f"still in Indonesian on {path}: {left}"


def test_a_new_device_is_announced_in_english(portal):
    page = portal["new_device_page"]
    assert '<html lang="en">' in page and "Enrolment code (single use, valid for 48 hours):" in page
    assert "Run this command on the service desk device:" in page and "Back to the list of offices" in page
    assert not [words for words in ("Perangkat ditambahkan", "Kode pendaftaran", "Jalankan perintah", "Catat kode")
                if words in page]


def test_the_privacy_erasure_asks_in_english(portal):
    client = english(portal["client"], portal["tokens"]["admin"])
    page = csrf_post(client, "/kantor/privasi/hapus", {"email": READER}).text
    assert "Found for this e-mail address: accounts 1, digital copy requests 1" in page
    assert "Yes, erase the identity everywhere" in page and "Untuk e-mail ini ditemukan" not in page


def test_the_same_pages_stay_in_indonesian_without_the_switch(portal):
    client = as_(portal["client"], portal["tokens"]["staff"])
    client.cookies.delete("pst_lang")
    page = client.get("/kantor").text
    assert '<html lang="id">' in page and "Masuk sebagai Petugas Kendari (petugas)." in page
    assert "permintaan softcopy menunggu" in page and "1 perangkat aktif" in page
    queue = client.get("/kantor/pengaduan").text
    assert "menunggu 0 mnt" in queue and "30 Nov 2026, 09.00 WITA" in queue and "Kotak saran" in queue


# --- forms answered in English (each on a portal of its own) ------------------------------------------------------
@pytest.mark.parametrize("path, form, english, indonesian", [
    ("/akun/daftar", {"name": "Ani", "email": "ani@example", "password": "12345"},
     ["The account details are not right yet", "Email: not a valid e-mail address", "Password: at least 10 characters"],
     ["Data akun belum benar", "alamat email tidak sah", "minimal 10 karakter"]),
    ("/akun/daftar", {"name": "Ani", "email": "ani@example.id", "password": "1234567890"},
     ["Password: must not be digits only"], ["tidak boleh hanya angka"]),
    ("/akun/masuk", {"email": "ani@example.id", "password": "salah-sekali-2026"},
     ["Wrong e-mail or password"], ["Email atau kata sandi salah"]),
    ("/akun/atur-ulang", {"token": "nothing-here", "password": "sagu-papeda-kendari"},
     ["The link is not valid, has already been used, or has expired"], ["Tautan tidak sah"]),
    ("/akun/lupa-sandi", {"email": "ani@example.id"},
     ["Check your e-mail", "a link to make a new password has been sent"], ["Periksa email Anda"]),
    ("/akun/daftar", {"name": "Ani", "email": "ani@example.id", "password": "sagu-papeda-kendari"},
     ["A verification link has been sent to ani@example.id."], ["Tautan verifikasi telah dikirim"]),
])
def test_a_reader_form_answers_in_english(client, mailbox, path, form, english, indonesian):
    client.cookies.set("pst_lang", "en")
    page = csrf_post(client, path, form).text
    assert '<html lang="en">' in page
    assert [words for words in english if words not in page] == []
    assert [words for words in indonesian if words in page] == []


def test_a_weak_password_is_explained_in_english(client, mailbox):
    client.cookies.set("pst_lang", "en")
    page = csrf_post(client, "/akun/daftar", {"name": "Ani", "email": "ani@example.id", "password": "password12"}).text
    assert "Password: The password is too easy to guess: " in page and "mudah ditebak" not in page


@pytest.mark.parametrize("path, form, english, indonesian", [
    ("/kantor/katalog/baru", {"title": "Kota Kendari Dalam Angka 2025", "year": "dua ribu",
                              "catalogue_number": "1102001.7471"},
     ["The publication details are not right yet; check the marked fields",
      "the year must be a number 1900–2027 (you wrote &#39;dua ribu&#39;)"],
     ["Data publikasi belum benar", "tahun harus angka"]),
    ("/kantor/kantor", {"code": "74", "name": ""},
     ["The office details are not right yet", "BPS work unit code: 4 digits, e.g. 7400", "required, at most 200"],
     ["Data kantor belum benar", "kode satker BPS", "wajib diisi"]),
    ("/kantor/pengaduan", {"office": "", "channel": "kotak_saran", "text": ""},
     ["The complaint is incomplete or not valid", "choose the office concerned", "required"],
     ["Pengaduan belum lengkap", "wajib diisi"]),
    ("/kantor/kantor/perangkat/nothing-here/cabut", {}, ["Cannot be revoked"], ["Tidak dapat dicabut"]),
])
def test_a_back_office_form_error_is_shown_in_english(client, offices, path, form, english, indonesian):
    client.cookies.set(COOKIE, sign_in(client, "admin@bps.go.id", "Admin Sultra", "admin"))
    client.cookies.set("pst_lang", "en")
    page = csrf_post(client, path, form).text
    assert '<html lang="en">' in page
    assert [words for words in english if words not in page] == []
    assert [words for words in indonesian if words in page] == []


def test_a_stale_back_office_form_is_explained_in_english(client, offices):
    client.cookies.set(COOKIE, sign_in(client, "admin@bps.go.id", "Admin Sultra", "admin"))
    client.cookies.set("pst_lang", "en")
    page = client.post("/kantor/kantor", data={"code": "7402", "name": "BPS Kabupaten Muna"})
    assert page.status_code == 403 and "Form expired" in page.text and "Reload the page" in page.text


def test_the_complaint_queue_writes_times_and_waits_the_english_way(client, offices, clock):
    client.post("/api/complaints", json={"office": "7400", "channel": "website", "text": "Antrean terlalu lama."})
    client.cookies.set(COOKIE, sign_in(client, "petugas@bps.go.id", "Petugas", "staff"))
    clock.advance(hours=26, minutes=5)
    client.cookies.set("pst_lang", "en")
    page = client.get("/kantor/pengaduan").text
    assert "30 Nov 2026, 09:00 WITA" in page and "Website (portal)" in page and ">Received<" in page
    assert "waiting 1 d 2 h" in page and "menunggu" not in page


# --- the demo mailbox and the way times are written ------------------------------------------------------------------
def test_the_demo_mailbox_is_in_english_with_office_times(cloud_env, mailbox, clock):
    from cloud.app import create_app

    demo = CloudSettings.from_env(cloud_env | {"PST_CLOUD_DEMO": "1", "PST_DATA_DIR": str(mailbox.folder.parent)})
    with TestClient(create_app(demo, clock=clock)) as client:
        client.post("/api/accounts", json={"email": "ani@example.id", "name": "Ani", "password": READER_PASSWORD})
        [mail] = read_mails(mailbox.folder)
        client.cookies.set("pst_lang", "en")
        page = client.get("/_dev/mail").text
        assert '<html lang="en">' in page and "Demo mailbox" in page and "To ani@example.id" in page
        assert office_time(mail.received_at, "en") in page and "Kotak surat demo" not in page
        client.cookies.set("pst_lang", "id")
        assert office_time(mail.received_at, "id") in client.get("/_dev/mail").text


@pytest.mark.parametrize("locale, written", [("id", "5 Des 2026 14.02 WITA"), ("en", "5 Dec 2026 14:02 WITA")])
def test_office_time_is_written_as_the_language_writes_it(locale, written):
    moment = datetime(2026, 12, 5, 6, 2, 41, tzinfo=timezone.utc)
    assert office_time(moment, locale) == written
    assert office_time(moment.replace(tzinfo=None).isoformat(), locale) == written  # no zone: UTC
    assert office_time(None, locale) == "—"


def test_the_password_and_throttle_words_of_pst_are_in_the_catalogue():
    from pathlib import Path

    from pst import passwords, throttle
    from pst.i18n import Languages

    english = Languages.load(Path(__file__).parents[2] / "cloud" / "locale").catalogues["en"]
    for words in (*passwords.WARNINGS.values(), passwords.GENERIC):
        assert english.translate(words) != words, words
    weak = passwords.password_weakness("password12", ("ani@example.id",))
    assert weak and english.translate(weak).startswith("The password is too easy to guess: ")
    assert english.translate(throttle.wait_message(300)) == (
        "Too many wrong sign-in attempts from this address. Please try again in 5 min.")
