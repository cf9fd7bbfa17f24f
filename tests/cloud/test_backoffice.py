"""The back office under /kantor: who may open what, the catalogue's forms and softcopy uploads (nothing stored on a
refusal), the request queue's actions, offices and appliances, and the downlink change each catalogue write leaves."""

from __future__ import annotations

import re

import pytest

from tests.cloud.conftest import COOKIE, READER_PASSWORD, add_reader, as_, rows_in, run_db, write_pdf

TITLE = "Provinsi Sulawesi Tenggara Dalam Angka 2024"
NEW = {"title": "Kota Kendari Dalam Angka 2025", "year": "2025", "catalogue_number": "1102001.7471",
       "type": "Dalam Angka", "subjects": "Kependudukan; Pemerintahan", "isbn": "", "abstract": "",
       "office_code": "7471"}


def add_account(client, email: str, role: str) -> str:
    from cloud.accounts import Accounts

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    client.blocking_portal.call(accounts.add, email, role, READER_PASSWORD, email.split("@")[0])
    signed_in = client.post("/api/session", json={"email": email, "password": READER_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.cookies[COOKIE]


@pytest.fixture
def people(client, catalogue) -> dict[str, str]:
    """Session tokens of a reader, a staff member and an admin; the client is left signed in as staff."""
    tokens = {"reader": add_reader(client, "wa.ode@example.id", "Wa Ode Nurhaliza"),
              "staff": add_account(client, "petugas@bps.go.id", "staff"),
              "admin": add_account(client, "admin@bps.go.id", "admin")}
    as_(client, tokens["staff"])
    return tokens


def csrf(client) -> str:
    if not client.cookies.get("pst_cloud_csrf"):
        client.get("/kantor/katalog")
    return client.cookies.get("pst_cloud_csrf")


def post(client, path: str, data: dict | None = None, files=None):
    return client.post(path, data={**(data or {}), "_csrf_token": csrf(client)}, files=files, follow_redirects=False)


def changes(client) -> list[dict]:
    return run_db(client, "SELECT seq, office_code, entity, entity_id FROM changes ORDER BY seq")


def publication(client, publication_id: str) -> dict | None:
    rows = run_db(client, "SELECT * FROM publications WHERE id = {}", publication_id)
    return rows[0] if rows else None


def pdf(tmp_path, pages: int = 2) -> bytes:
    return write_pdf(tmp_path / "unggah" / "berkas.pdf", pages=pages, text="Kota Kendari Dalam Angka").read_bytes()


def stored_files(tmp_path) -> list:
    folder = tmp_path / "var" / "softcopy"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- who may open what ---------------------------------------------------------------------------------------------
PAGES = ["/kantor", "/kantor/katalog", "/kantor/katalog/baru", "/kantor/permintaan", "/kantor/kantor"]


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_every_page_sends_to_the_sign_in_page(client, people, path):
    as_(client, None)
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/akun/masuk"


def test_without_a_session_a_form_changes_nothing(client, people, catalogue):
    before = changes(client)
    as_(client, None)
    answer = post(client, "/kantor/katalog/baru", NEW)
    assert answer.status_code == 303 and answer.headers["location"] == "/akun/masuk"
    assert changes(client) == before and rows_in(client, "publications") == len(catalogue)


@pytest.mark.parametrize("path", PAGES)
def test_a_reader_is_refused_with_403(client, people, path):
    as_(client, people["reader"])
    answer = client.get(path)
    assert answer.status_code == 403 and "Akses ditolak" in answer.text


def test_a_reader_cannot_write_the_catalogue(client, people, catalogue):
    as_(client, people["reader"])
    assert post(client, "/kantor/katalog/baru", NEW).status_code == 403
    assert post(client, f"/kantor/katalog/{catalogue[TITLE]}/hapus").status_code == 403
    assert rows_in(client, "publications") == len(catalogue) and publication(client, catalogue[TITLE])


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admins_open_every_page(client, people, role):
    as_(client, people[role])
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert "no-store" in answer.headers["cache-control"]
    assert 'href="/kantor">Kantor</a>' in client.get("/akun").text


def test_every_link_of_the_back_office_menu_opens(client, people):
    menu = re.search(r'<nav class="office".*?</nav>', client.get("/kantor").text, re.S).group(0)
    links = re.findall(r'href="(/kantor[^"]*)"', menu)
    assert "/kantor/katalog" in links and "/kantor/kantor" in links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_header_link_is_for_staff_only(client, people):
    as_(client, people["reader"])
    assert 'href="/kantor"' not in client.get("/akun").text


def test_the_landing_page_counts(client, people, catalogue):
    as_(client, people["reader"])
    client.post("/api/requests", json={"description": "Data nelayan Wakatobi", "purpose": "penelitian"})
    as_(client, people["staff"])
    page = client.get("/kantor").text
    assert re.search(r"<strong>1</strong>permintaan softcopy menunggu", page)
    assert re.search(rf"<strong>{len(catalogue)}</strong>publikasi di katalog", page)


def test_offices_and_devices_are_written_by_admins_only(client, people):
    as_(client, people["staff"])
    page = client.get("/kantor/kantor")
    assert page.status_code == 200 and "Tambah perangkat" not in page.text
    assert post(client, "/kantor/kantor", {"code": "7402", "name": "BPS Kabupaten Muna"}).status_code == 403
    assert post(client, "/kantor/kantor/perangkat", {"office": "7400", "name": "Meja PST"}).status_code == 403
    assert rows_in(client, "devices") == 0
    assert not run_db(client, "SELECT code FROM offices WHERE code = '7402'")


# --- the catalogue -------------------------------------------------------------------------------------------------
def test_the_list_searches_the_catalogue(client, people, catalogue):
    page = client.get("/kantor/katalog?q=kendari")
    assert page.status_code == 200
    assert "Kota Kendari Dalam Angka 2024" in page.text and TITLE not in page.text
    assert f"/kantor/katalog/{catalogue['Kota Kendari Dalam Angka 2024']}" in page.text


def test_adding_a_publication_stores_it_and_one_change(client, people, catalogue):
    before = changes(client)
    answer = post(client, "/kantor/katalog/baru", NEW)
    assert answer.status_code == 303, answer.text
    publication_id = answer.headers["location"].split("/")[3].split("?")[0]
    stored = publication(client, publication_id)
    assert (stored["title"], stored["year"], stored["office_code"]) == (NEW["title"], 2025, "7471")
    assert stored["subjects"] == "Kependudukan;Pemerintahan"
    subjects = run_db(client, "SELECT subject FROM publication_subjects WHERE publication_id = {} ORDER BY subject",
                      publication_id)
    assert [row["subject"] for row in subjects] == ["Kependudukan", "Pemerintahan"]
    [change] = changes(client)[len(before):]
    assert (change["entity"], change["entity_id"], change["office_code"]) == ("publication", publication_id, "7471")
    assert "Publikasi ditambahkan" in client.get(answer.headers["location"]).text
    assert client.get("/api/publications?q=kendari 2025").json()["total"] == 1


@pytest.mark.parametrize("field, value, message", [
    ("title", " ", "wajib diisi"),
    ("year", "20x5", "tahun harus angka"),
    ("year", "2999", "tahun harus angka"),
    ("catalogue_number", "satu.dua", "nomor katalog berbentuk angka"),
    ("isbn", "12345", "ISBN"),
    ("office_code", "9999", "pilih kantor dari daftar"),
    ("title", "x" * 301, "terlalu panjang"),
])
def test_bad_input_shows_the_form_again_and_stores_nothing(client, people, catalogue, field, value, message):
    before = changes(client)
    answer = post(client, "/kantor/katalog/baru", {**NEW, field: value})
    assert answer.status_code == 400
    assert message in answer.text and 'aria-invalid="true"' in answer.text
    assert f'id="{field}-error"' in answer.text
    assert NEW["catalogue_number"] in answer.text  # what was typed is kept
    assert rows_in(client, "publications") == len(catalogue) and changes(client) == before


def test_the_same_catalogue_number_and_year_is_refused_clearly(client, people, catalogue):
    before = changes(client)
    answer = post(client, "/kantor/katalog/baru", {**NEW, "catalogue_number": "1102001.74", "year": "2024"})
    assert answer.status_code == 409
    assert "sudah dipakai publikasi lain" in answer.text and TITLE in answer.text
    assert rows_in(client, "publications") == len(catalogue) and changes(client) == before
    other = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2023"]
    moved = post(client, f"/kantor/katalog/{other}", {**NEW, "catalogue_number": "1102001.74", "year": "2024",
                                                      "office_code": "7400"})
    assert moved.status_code == 409 and publication(client, other)["year"] == 2023 and changes(client) == before


def test_editing_changes_the_metadata_and_leaves_one_change(client, people, catalogue):
    publication_id = catalogue[TITLE]
    form = client.get(f"/kantor/katalog/{publication_id}")
    assert form.status_code == 200 and 'value="1102001.74"' in form.text and "Kependudukan; Pemerintahan" in form.text
    before = changes(client)
    saved = post(client, f"/kantor/katalog/{publication_id}", {
        "title": TITLE, "year": "2024", "catalogue_number": "1102001.74", "type": "Dalam Angka",
        "subjects": "Kependudukan; Pertanian", "isbn": "978-623-00-1234-5", "abstract": "Data pokok provinsi.",
        "office_code": "7400",
    })
    assert saved.status_code == 303 and saved.headers["location"] == f"/kantor/katalog/{publication_id}?pesan=disimpan"
    stored = publication(client, publication_id)
    assert stored["abstract"] == "Data pokok provinsi." and stored["subjects"] == "Kependudukan;Pertanian"
    assert client.get("/api/publications?subject=Pertanian").json()["total"] == 1
    [change] = changes(client)[len(before):]
    assert (change["entity"], change["entity_id"], change["office_code"]) == ("publication", publication_id, "7400")
    assert client.get(f"/kantor/katalog/{publication_id}-tidak-ada").status_code == 404


def test_an_edit_with_bad_input_keeps_the_edition_as_it_was(client, people, catalogue):
    publication_id = catalogue[TITLE]
    before, stored = changes(client), publication(client, publication_id)
    answer = post(client, f"/kantor/katalog/{publication_id}", {**NEW, "year": "dua ribu"})
    assert answer.status_code == 400 and "tahun harus angka" in answer.text and 'value="dua ribu"' in answer.text
    assert publication(client, publication_id) == stored and changes(client) == before


def test_a_real_pdf_becomes_the_softcopy_stored_by_its_hash(client, people, catalogue, tmp_path):
    import hashlib

    publication_id = catalogue["Statistik Daerah Kota Kendari 2024"]
    before = changes(client)
    content = pdf(tmp_path, pages=2)
    answer = post(client, f"/kantor/katalog/{publication_id}/softcopy",
                  files={"file": ("kendari-2024.pdf", content, "application/pdf")})
    assert answer.status_code == 303, answer.text
    sha256 = hashlib.sha256(content).hexdigest()
    assert publication(client, publication_id)["softcopy_sha256"] == sha256
    [stored] = run_db(client, "SELECT pages, size, storage_path FROM softcopy_files WHERE sha256 = {}", sha256)
    assert (stored["pages"], stored["size"]) == (2, len(content))
    assert stored["storage_path"] == f"softcopy/{sha256[:2]}/{sha256}.pdf"
    assert (tmp_path / "var" / stored["storage_path"]).read_bytes() == content
    [change] = changes(client)[len(before):]
    assert (change["entity"], change["entity_id"]) == ("publication", publication_id)
    assert "2 halaman" in client.get(answer.headers["location"]).text

    removed = post(client, f"/kantor/katalog/{publication_id}/softcopy/hapus")
    assert removed.status_code == 303 and publication(client, publication_id)["softcopy_sha256"] is None
    assert [c["entity_id"] for c in changes(client)[len(before):]] == [publication_id, publication_id]


@pytest.mark.parametrize("name, content, message", [
    ("bukan.pdf", b"PK\x03\x04 this is a zip, not a PDF", "bukan berkas PDF"),
    ("rusak.pdf", b"%PDF-1.7\n this is not really a PDF", "PDF rusak"),
    ("kosong.pdf", b"", "bukan berkas PDF"),
    ("../../etc/passwd.pdf", None, "nama berkas tanpa jalur"),
    ("..\\..\\boot.pdf", None, "nama berkas tanpa jalur"),
    (".tersembunyi.pdf", None, "nama berkas tanpa jalur"),
])
def test_a_bad_upload_is_refused_and_nothing_is_stored(client, people, catalogue, tmp_path, name, content, message):
    publication_id = catalogue["Statistik Daerah Kota Kendari 2024"]
    before, files, folder = changes(client), rows_in(client, "softcopy_files"), stored_files(tmp_path)
    upload = content if content is not None else pdf(tmp_path)
    answer = post(client, f"/kantor/katalog/{publication_id}/softcopy",
                  files={"file": (name, upload, "application/pdf")})
    assert answer.status_code == 400, answer.text
    assert message in answer.text and 'id="file-error"' in answer.text
    assert publication(client, publication_id)["softcopy_sha256"] is None
    assert changes(client) == before and rows_in(client, "softcopy_files") == files
    assert stored_files(tmp_path) == folder


def test_a_pdf_of_more_pages_than_a_copy_may_have_is_refused(client, people, catalogue, tmp_path):
    import pymupdf

    from cloud.catalogue_import import MAX_PAGES

    publication_id = catalogue["Statistik Daerah Kota Kendari 2024"]
    before, folder = changes(client), stored_files(tmp_path)
    long = pymupdf.open()
    for _ in range(MAX_PAGES + 1):
        long.new_page()
    answer = post(client, f"/kantor/katalog/{publication_id}/softcopy",
                  files={"file": ("panjang.pdf", long.tobytes(), "application/pdf")})
    assert answer.status_code == 400 and f"PDF lebih dari {MAX_PAGES} halaman" in answer.text
    assert publication(client, publication_id)["softcopy_sha256"] is None
    assert changes(client) == before and stored_files(tmp_path) == folder


def test_an_oversized_upload_is_refused(client, people, catalogue, tmp_path, monkeypatch):
    import cloud.catalogue_admin

    monkeypatch.setattr(cloud.catalogue_admin, "MAX_UPLOAD", 2**20)
    publication_id = catalogue["Statistik Daerah Kota Kendari 2024"]
    before, folder = changes(client), stored_files(tmp_path)
    big = b"%PDF-1.7\n" + b"0" * (2**20)
    answer = post(client, f"/kantor/katalog/{publication_id}/softcopy",
                  files={"file": ("besar.pdf", big, "application/pdf")})
    assert answer.status_code == 400 and "terlalu besar" in answer.text
    assert publication(client, publication_id)["softcopy_sha256"] is None
    assert changes(client) == before and stored_files(tmp_path) == folder


def test_an_upload_without_a_file_asks_for_one(client, people, catalogue):
    publication_id = catalogue["Statistik Daerah Kota Kendari 2024"]
    answer = post(client, f"/kantor/katalog/{publication_id}/softcopy", files={"file": ("", b"", "application/pdf")})
    assert answer.status_code == 400 and "pilih berkas PDF" in answer.text


def test_removing_a_publication_asks_first_then_leaves_one_change(client, people, catalogue):
    publication_id = catalogue["Statistik Hotel dan Akomodasi Provinsi Sulawesi Tenggara 2022"]
    confirm = client.get(f"/kantor/katalog/{publication_id}/hapus")
    assert confirm.status_code == 200 and "Ya, hapus publikasi" in confirm.text
    assert publication(client, publication_id)
    before = changes(client)
    answer = post(client, f"/kantor/katalog/{publication_id}/hapus")
    assert answer.status_code == 303 and answer.headers["location"] == "/kantor/katalog?pesan=dihapus"
    assert publication(client, publication_id) is None
    assert not run_db(client, "SELECT id FROM publication_subjects WHERE publication_id = {}", publication_id)
    assert client.get("/api/publications?q=hotel").json()["total"] == 0
    [change] = changes(client)[len(before):]
    assert (change["entity"], change["entity_id"], change["office_code"]) == ("publication", publication_id, "7400")
    assert post(client, f"/kantor/katalog/{publication_id}/hapus").status_code == 404


def test_a_publication_a_reader_asked_for_is_not_removed(client, people, catalogue):
    publication_id = catalogue[TITLE]
    as_(client, people["reader"])
    asked = client.post("/api/requests", json={"publication_id": publication_id, "purpose": "penelitian"})
    assert asked.status_code == 201
    as_(client, people["staff"])
    before = changes(client)
    answer = post(client, f"/kantor/katalog/{publication_id}/hapus")
    assert answer.status_code == 409 and "sudah pernah diunduh atau diminta" in answer.text
    assert publication(client, publication_id) and changes(client) == before


def test_every_catalogue_write_leaves_exactly_one_change_with_a_rising_number(client, people, catalogue, tmp_path):
    imported = changes(client)
    assert len(imported) == len(catalogue)  # the import notes each edition it wrote
    added = post(client, "/kantor/katalog/baru", NEW).headers["location"].split("/")[3].split("?")[0]
    writes = [
        lambda: post(client, f"/kantor/katalog/{added}", {**NEW, "abstract": "Data pokok kota."}),
        lambda: post(client, f"/kantor/katalog/{added}/softcopy",
                     files={"file": ("a.pdf", pdf(tmp_path), "application/pdf")}),
        lambda: post(client, f"/kantor/katalog/{added}/softcopy/hapus"),
        lambda: post(client, f"/kantor/katalog/{added}/hapus"),
    ]
    seen = changes(client)
    assert len(seen) == len(imported) + 1
    for write in writes:
        assert write().status_code == 303
        now = changes(client)
        assert len(now) == len(seen) + 1 and now[-1]["seq"] > seen[-1]["seq"] and now[-1]["entity_id"] == added
        seen = now
    assert [c["seq"] for c in seen] == list(range(1, len(seen) + 1))
    assert run_db(client, "SELECT n FROM change_counter")[0]["n"] == len(seen)


def test_record_change_refuses_to_run_outside_a_transaction(client):
    from cloud.changes import record_change

    with pytest.raises(RuntimeError, match="inside the transaction"):
        client.blocking_portal.call(record_change, client.app.state.db, "publication", "x", None)
    assert rows_in(client, "changes") == 0


# --- the request queue ---------------------------------------------------------------------------------------------
def ask(client, people, text: str) -> str:
    as_(client, people["reader"])
    made = client.post("/api/requests", json={"description": text, "purpose": "penelitian"})
    assert made.status_code == 201, made.text
    as_(client, people["staff"])
    return made.json()["id"]


def test_the_queue_lists_waiting_requests_oldest_first(client, people, clock):
    first = ask(client, people, "Data nelayan Wakatobi")
    clock.advance(minutes=5)
    second = ask(client, people, "Data IPM kabupaten")
    page = client.get("/kantor/permintaan")
    assert page.status_code == 200
    assert page.text.index(f'id="r-{first}"') < page.text.index(f'id="r-{second}"')
    assert "wa.ode@example.id" in page.text
    assert client.get("/kantor/permintaan?status=selesai").text.count('id="r-') == 0
    assert client.get("/kantor/permintaan?status=semua").text.count('id="r-') == 2


def test_process_reject_and_fulfil_from_the_queue(client, people, tmp_path, mailbox):
    processed, rejected, fulfilled = (ask(client, people, f"kebutuhan {n}") for n in range(3))
    # as if taken at a desk of office 7400: their status moves are noted for that appliance
    run_db(client, "UPDATE softcopy_requests SET origin = 'edge', office_code = '7400'")
    before = changes(client)

    answer = post(client, f"/kantor/permintaan/{processed}/proses", {"status": "aktif"})
    assert answer.status_code == 303 and answer.headers["location"] == "/kantor/permintaan?status=aktif&pesan=diproses"
    assert post(client, f"/kantor/permintaan/{processed}/proses").status_code == 409  # already diproses

    empty = post(client, f"/kantor/permintaan/{rejected}/tolak", {"reason": " "})
    assert empty.status_code == 400 and "wajib diisi" in empty.text
    assert post(client, f"/kantor/permintaan/{rejected}/tolak", {"reason": "Data belum dirilis"}).status_code == 303

    not_pdf = post(client, f"/kantor/permintaan/{fulfilled}/selesai",
                   files={"file": ("x.pdf", b"PK\x03\x04", "application/pdf")})
    assert not_pdf.status_code == 400 and "harus berkas PDF" in not_pdf.text
    done = post(client, f"/kantor/permintaan/{fulfilled}/selesai",
                files={"file": ("tabel.pdf", pdf(tmp_path), "application/pdf")})
    assert done.status_code == 303, done.text

    statuses = {row["id"]: row["status"] for row in run_db(client, "SELECT id, status FROM softcopy_requests")}
    assert statuses == {processed: "diproses", rejected: "ditolak", fulfilled: "selesai"}
    noted = changes(client)[len(before):]
    assert [(c["entity"], c["entity_id"]) for c in noted] == [
        ("softcopy_request", processed), ("softcopy_request", rejected), ("softcopy_request", fulfilled)]
    assert all(c["office_code"] == "7400" for c in noted)  # for the desk that took them
    assert len([m for m in mailbox.mails() if "wa.ode@example.id" in m.to]) == 2
    assert "Data belum dirilis" in client.get("/kantor/permintaan?status=ditolak").text

    portal_only = ask(client, people, "kebutuhan dari portal")
    as_(client, people["staff"])
    before = changes(client)
    assert post(client, f"/kantor/permintaan/{portal_only}/proses").status_code == 303
    assert changes(client) == before  # a request made on the portal has no appliance to tell


def test_a_reader_cannot_act_on_the_queue(client, people):
    request_id = ask(client, people, "Data IPM kabupaten")
    as_(client, people["reader"])
    assert post(client, f"/kantor/permintaan/{request_id}/proses").status_code == 403
    assert post(client, f"/kantor/permintaan/{request_id}/tolak", {"reason": "x"}).status_code == 403
    assert run_db(client, "SELECT status FROM softcopy_requests")[0]["status"] == "diajukan"


# --- offices and appliances ----------------------------------------------------------------------------------------
def test_an_admin_adds_an_office_and_a_device_and_sees_the_code_once(client, people):
    as_(client, people["admin"])
    bad = post(client, "/kantor/kantor", {"code": "74", "name": "BPS Kabupaten Muna"})
    assert bad.status_code == 400 and "4 angka" in bad.text
    assert post(client, "/kantor/kantor", {"code": "7402", "name": "BPS Kabupaten Muna"}).status_code == 303
    again = post(client, "/kantor/kantor", {"code": "7402", "name": "BPS Kabupaten Muna"})
    assert again.status_code == 409 and "sudah ada" in again.text

    added = post(client, "/kantor/kantor/perangkat", {"office": "7402", "name": "Meja PST Raha"})
    assert added.status_code == 201
    code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', added.text).group(1)
    assert f"pst edge enroll --cloud http://portal.test --code {code}" in added.text
    assert "no-store" in added.headers["cache-control"]
    listing = client.get("/kantor/kantor").text
    assert "Meja PST Raha" in listing and "Menunggu pendaftaran" in listing and code not in listing

    assert rows_in(client, "devices") == 1
    from cloud.devices import Devices

    service = Devices(client.app.state.db, client.app.state.clock, client.app.state.settings.signing_key())
    auth, _ = client.blocking_portal.call(service.enroll, code)
    assert auth.office_code == "7402"
    assert "Terdaftar" in client.get("/kantor/kantor").text


def test_a_device_with_bad_input_is_not_added(client, people):
    as_(client, people["admin"])
    answer = post(client, "/kantor/kantor/perangkat", {"office": "9999", "name": ""})
    assert answer.status_code == 400 and "kantor tidak dikenal" in answer.text and "wajib diisi" in answer.text
    assert rows_in(client, "devices") == 0


def test_an_admin_revokes_a_device_after_confirming(client, people):
    as_(client, people["admin"])
    post(client, "/kantor/kantor/perangkat", {"office": "7400", "name": "Meja PST Kendari"})
    [device] = run_db(client, "SELECT id FROM devices")
    as_(client, people["staff"])
    assert client.get(f"/kantor/kantor/perangkat/{device['id']}/cabut").status_code == 403
    assert post(client, f"/kantor/kantor/perangkat/{device['id']}/cabut").status_code == 403
    as_(client, people["admin"])
    confirm = client.get(f"/kantor/kantor/perangkat/{device['id']}/cabut")
    assert confirm.status_code == 200 and "Meja PST Kendari" in confirm.text and "Ya, cabut" in confirm.text
    assert run_db(client, "SELECT revoked_at FROM devices")[0]["revoked_at"] is None
    answer = post(client, f"/kantor/kantor/perangkat/{device['id']}/cabut")
    assert answer.status_code == 303 and answer.headers["location"] == "/kantor/kantor?pesan=dicabut"
    assert run_db(client, "SELECT revoked_at FROM devices")[0]["revoked_at"] is not None
    assert "Dicabut" in client.get("/kantor/kantor").text
    assert post(client, f"/kantor/kantor/perangkat/{device['id']}/cabut").status_code == 409


def test_a_far_oversized_attachment_gets_a_page_and_changes_nothing(client, people, tmp_path):
    from cloud.requests import MAX_PDF

    request_id = ask(client, people, "Data nelayan Wakatobi")
    before, folder = changes(client), stored_files(tmp_path)
    answer = post(client, f"/kantor/permintaan/{request_id}/selesai",
                  files={"file": ("besar.pdf", b"%PDF-1.7\n" + b"0" * (MAX_PDF + 3 * 2**20), "application/pdf")})
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html")
    assert "Berkas terlalu besar" in answer.text and 'href="/kantor/permintaan"' in answer.text
    assert run_db(client, "SELECT status FROM softcopy_requests")[0]["status"] == "diajukan"
    assert changes(client) == before and stored_files(tmp_path) == folder


def test_a_form_with_a_stale_token_gets_a_page_and_stores_nothing(client, people, catalogue):
    before = changes(client)
    answer = client.post("/kantor/katalog/baru", data={**NEW, "_csrf_token": "basi"}, follow_redirects=False)
    assert answer.status_code == 403 and "Formulir kedaluwarsa" in answer.text
    assert 'href="/kantor/katalog/baru"' in answer.text
    assert rows_in(client, "publications") == len(catalogue) and changes(client) == before


def test_an_admin_hands_a_dead_appliance_to_a_new_card_and_downloads_its_backup_on_the_record(client, people):
    import gzip
    import hashlib
    from datetime import datetime, timezone

    from cloud.backups import Backups
    from cloud.devices import Devices

    as_(client, people["admin"])
    added = post(client, "/kantor/kantor/perangkat", {"office": "7400", "name": "Meja PST Kendari"})
    code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', added.text).group(1)
    service = Devices(client.app.state.db, client.app.state.clock, client.app.state.settings.signing_key())
    auth, old_credential = client.blocking_portal.call(service.enroll, code)
    assert f"/kantor/kantor/perangkat/{auth.device_id}/ganti" in client.get("/kantor/kantor").text
    empty = client.get(f"/kantor/kantor/perangkat/{auth.device_id}/ganti")
    assert empty.status_code == 200 and "Belum ada cadangan" in empty.text
    database = b"SQLite format 3\x00" + b"\x00" * 4080
    backups = Backups(client.app.state.db, client.app.state.settings.data_dir)

    async def upload():
        async def body():
            yield gzip.compress(database)
        return await backups.receive(auth.device_id, "e1", 12, datetime(2026, 12, 1, 14, tzinfo=timezone.utc),
                                     hashlib.sha256(database).hexdigest(), body(), client.app.state.clock.now())

    stored = client.blocking_portal.call(upload)
    fleet_page = client.get(f"/kantor/perangkat/{auth.device_id}").text
    assert "Cadangan di cloud" in fleet_page and "0,0 MB" in fleet_page and "/ganti" in fleet_page
    as_(client, people["staff"])  # staff see the fleet, but neither a backup nor a replacement code
    assert "Cadangan di cloud" in (staff_view := client.get(f"/kantor/perangkat/{auth.device_id}").text)
    assert "/ganti" not in staff_view
    assert client.get(f"/kantor/kantor/perangkat/{auth.device_id}/ganti").status_code == 403
    assert post(client, f"/kantor/kantor/perangkat/{auth.device_id}/ganti").status_code == 403
    assert client.get(f"/kantor/kantor/perangkat/{auth.device_id}/cadangan/{stored['id']}").status_code == 403
    as_(client, people["admin"])
    page = client.get(f"/kantor/kantor/perangkat/{auth.device_id}/ganti")
    link = f"/kantor/kantor/perangkat/{auth.device_id}/cadangan/{stored['id']}"
    assert page.status_code == 200 and link in page.text and "Buat kode pengganti" in page.text
    download = client.get(link)
    assert download.status_code == 200 and gzip.decompress(download.content) == database
    assert download.headers["content-type"] == "application/gzip"
    [line] = run_db(client, "SELECT actor, detail FROM audit_log WHERE action = 'device.backup.download'")
    assert line["actor"] == "admin@bps.go.id" and stored["id"] in line["detail"]
    assert client.get(f"/kantor/kantor/perangkat/{auth.device_id}/cadangan/nope").status_code == 404

    made = post(client, f"/kantor/kantor/perangkat/{auth.device_id}/ganti")
    new_code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', made.text).group(1)
    assert made.status_code == 201 and "no-store" in made.headers["cache-control"]
    assert f"pst edge restore --from-cloud --cloud http://portal.test --code {new_code}" in made.text
    assert client.blocking_portal.call(service.authenticate, old_credential) is not None  # until the new card enrols
    new_auth, _ = client.blocking_portal.call(service.enroll, new_code)
    assert new_auth.device_id == auth.device_id
    assert client.blocking_portal.call(service.authenticate, old_credential) is None
    post(client, f"/kantor/kantor/perangkat/{auth.device_id}/cabut")
    refused = post(client, f"/kantor/kantor/perangkat/{auth.device_id}/ganti")
    assert refused.status_code == 409 and "sudah dicabut" in refused.text
