"""Softcopy requests: a reader asks (a publication or a description, and the purpose), staff process and then reject
with a reason or fulfil with a PDF; the reader is mailed and gets the file watermarked for them. Readers see only
their own, staff actions need a staff role, uploads are checked whole before anything is stored."""

from __future__ import annotations

import pymupdf
import pytest

from cloud.requests import MAX_PDF
from tests.cloud.conftest import READER_PASSWORD, add_reader, rows_in, run_db, write_pdf

READER = ("wa.ode@example.id", "Wa Ode Nurhaliza")
OTHER = ("la.ode@example.id", "La Ode Muhammad")
STAFF = ("petugas@bps.go.id", "Petugas PST")
TITLE = "Provinsi Sulawesi Tenggara Dalam Angka 2024"
COOKIE = "pst_cloud_session"


def add_staff(client) -> str:
    from cloud.accounts import Accounts

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    client.blocking_portal.call(accounts.add, STAFF[0], "staff", READER_PASSWORD, STAFF[1])
    signed_in = client.post("/api/session", json={"email": STAFF[0], "password": READER_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.cookies[COOKIE]


def as_(client, token: str):
    client.cookies.set(COOKIE, token)
    return client


@pytest.fixture
def people(client, catalogue):
    """Session tokens of the reader, another reader and a staff member; the client is left signed in as the reader."""
    tokens = {"other": add_reader(client, *OTHER), "staff": add_staff(client), "reader": add_reader(client, *READER)}
    as_(client, tokens["reader"])
    return tokens


def pdf_bytes(tmp_path, pages: int = 3, text: str = "Tabel khusus untuk peneliti") -> bytes:
    return write_pdf(tmp_path / "upload" / "berkas.pdf", pages=pages, text=text).read_bytes()


def pages_text(pdf: bytes) -> list[str]:
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return [" ".join(page.get_text().split()) for page in doc]


def ask(client, **body):
    return client.post("/api/requests", json={"purpose": "penelitian", **body})


def stored_files(tmp_path) -> list:
    folder = tmp_path / "var" / "softcopy"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_life_cycle_to_selesai_mails_the_reader_and_serves_a_watermarked_copy(client, people, catalogue, mailbox, tmp_path):
    made = ask(client, description="Data jumlah nelayan per kecamatan di Wakatobi 2020-2024")
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert made.json()["status"] == "diajukan" and made.json()["purpose"] == "penelitian"
    assert [r["id"] for r in client.get("/api/requests").json()["requests"]] == [request_id]

    as_(client, people["staff"])
    listed = client.get("/api/staff/requests?status=diajukan").json()["requests"]
    assert [(r["id"], r["reader_email"]) for r in listed] == [(request_id, READER[0])]
    processed = client.post(f"/api/staff/requests/{request_id}/process", json={})
    assert processed.status_code == 200 and processed.json()["status"] == "diproses"
    assert client.post(f"/api/staff/requests/{request_id}/process", json={}).status_code == 409
    sent = client.post(f"/api/staff/requests/{request_id}/fulfil",
                       files={"file": ("nelayan-wakatobi.pdf", pdf_bytes(tmp_path), "application/pdf")})
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "selesai" and sent.json()["has_softcopy"]

    [mail] = [m for m in mailbox.mails() if READER[0] in m.to]
    assert "sudah tersedia" in mail.subject and "http://portal.test/akun/permintaan" in mail.body

    as_(client, people["reader"])
    mine = client.get(f"/api/requests/{request_id}").json()
    assert mine["status"] == "selesai" and mine["processed_at"] and mine["finished_at"]
    page = client.get("/akun/permintaan")
    assert page.status_code == 200 and "Permintaan saya" in page.text and f"/api/requests/{request_id}/softcopy" in page.text
    copy = client.get(f"/api/requests/{request_id}/softcopy")
    assert copy.status_code == 200 and copy.headers["content-type"] == "application/pdf"
    assert "no-store" in copy.headers["cache-control"]
    texts = pages_text(copy.content)
    assert len(texts) == 3
    for text in texts:
        assert READER[0] in text and READER[1] in text and copy.headers["x-download-id"] in text
        assert "Tabel khusus untuk peneliti" in text
    logged = run_db(client, "SELECT request_id, account_id FROM request_downloads")
    assert [row["request_id"] for row in logged] == [request_id]
    stored = run_db(client, "SELECT f.storage_path FROM softcopy_requests r JOIN softcopy_files f"
                            " ON f.sha256 = r.softcopy_sha256 WHERE r.id = {}", request_id)[0]
    assert stored["storage_path"].startswith("softcopy/") and (tmp_path / "var" / stored["storage_path"]).is_file()


def test_a_rejection_carries_its_reason_to_the_reader(client, people, catalogue, mailbox):
    request_id = ask(client, publication_id=catalogue[TITLE], purpose="tugas_kuliah").json()["id"]
    as_(client, people["staff"])
    assert client.post(f"/api/staff/requests/{request_id}/reject", json={"reason": " "}).status_code == 400
    rejected = client.post(f"/api/staff/requests/{request_id}/reject", json={"reason": "Data belum dirilis"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "ditolak"
    assert rejected.json()["publication_title"] == TITLE
    [mail] = [m for m in mailbox.mails() if READER[0] in m.to]
    assert "ditolak" in mail.subject and "Data belum dirilis" in mail.body
    as_(client, people["reader"])
    assert client.get(f"/api/requests/{request_id}").json()["reason"] == "Data belum dirilis"
    assert client.get(f"/api/requests/{request_id}/softcopy").status_code == 404
    assert "Data belum dirilis" in client.get("/akun/permintaan").text


def test_bad_forms_are_400_and_store_nothing(client, people, catalogue):
    assert ask(client).status_code == 400  # neither
    both = ask(client, publication_id=catalogue[TITLE], description="juga ini")
    assert both.status_code == 400 and "publication_id" in both.json()["errors"]
    assert ask(client, description="data", purpose="iseng").status_code == 400
    assert ask(client, publication_id="tidak-ada").status_code == 400
    assert ask(client, description="x" * 2001).status_code == 400
    assert rows_in(client, "softcopy_requests") == 0


def test_a_fourth_active_request_is_409_until_one_finishes(client, people, catalogue):
    made = [ask(client, description=f"kebutuhan {n}") for n in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    fourth = ask(client, description="kebutuhan 4")
    assert fourth.status_code == 409
    as_(client, people["other"])
    assert ask(client, description="pembaca lain tidak terhitung").status_code == 201
    as_(client, people["staff"])
    assert client.post(f"/api/staff/requests/{made[0].json()['id']}/reject", json={"reason": "tidak ada"}).status_code == 200
    as_(client, people["reader"])
    assert ask(client, description="kebutuhan 4").status_code == 201
    assert len(client.get("/api/requests").json()["requests"]) == 4


def test_another_readers_request_is_404(client, people, tmp_path):
    request_id = ask(client, description="data saya").json()["id"]
    as_(client, people["staff"])
    client.post(f"/api/staff/requests/{request_id}/fulfil", files={"file": ("a.pdf", pdf_bytes(tmp_path), "application/pdf")})
    as_(client, people["other"])
    assert client.get(f"/api/requests/{request_id}").status_code == 404
    assert client.get(f"/api/requests/{request_id}/softcopy").status_code == 404
    assert client.get("/api/requests").json()["requests"] == []
    assert rows_in(client, "request_downloads") == 0


def test_without_a_session_it_is_401(client, people):
    request_id = ask(client, description="data saya").json()["id"]
    client.cookies.clear()
    assert ask(client, description="lagi").status_code == 401
    assert client.get("/api/requests").status_code == 401
    assert client.get(f"/api/requests/{request_id}").status_code == 401
    assert client.get(f"/api/requests/{request_id}/softcopy").status_code == 401
    assert client.get("/api/staff/requests").status_code == 401
    assert client.post(f"/api/staff/requests/{request_id}/process", json={}).status_code == 401
    page = client.get("/akun/permintaan", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/akun/masuk?next=/akun/permintaan"


def test_a_reader_on_staff_endpoints_is_403(client, people, tmp_path):
    request_id = ask(client, description="data saya").json()["id"]
    before, files = stored_files(tmp_path), rows_in(client, "softcopy_files")
    assert client.get("/api/staff/requests").status_code == 403
    assert client.post(f"/api/staff/requests/{request_id}/process", json={}).status_code == 403
    assert client.post(f"/api/staff/requests/{request_id}/reject", json={"reason": "x"}).status_code == 403
    answer = client.post(f"/api/staff/requests/{request_id}/fulfil",
                         files={"file": ("a.pdf", pdf_bytes(tmp_path), "application/pdf")})
    assert answer.status_code == 403
    assert client.get(f"/api/requests/{request_id}").json()["status"] == "diajukan"
    assert stored_files(tmp_path) == before and rows_in(client, "softcopy_files") == files


@pytest.mark.parametrize("name, content", [
    ("bukan.pdf", b"PK\x03\x04 this is a zip, not a PDF"),
    ("rusak.pdf", b"%PDF-1.7\n this is not really a PDF"),
    ("../../etc/passwd.pdf", None),
    ("..\\..\\boot.pdf", None),
    ("/tmp/abs.pdf", None),
    ("oversized.pdf", b"%PDF-1.7\n" + b"0" * (MAX_PDF - 8)),
    ("far-oversized.pdf", b"%PDF-1.7\n" + b"0" * (MAX_PDF + 3 * 2**20)),
])
def test_bad_uploads_are_400_and_nothing_is_stored(client, people, tmp_path, mailbox, name, content):
    request_id = ask(client, description="data saya").json()["id"]
    before, files = stored_files(tmp_path), rows_in(client, "softcopy_files")
    as_(client, people["staff"])
    upload = content if content is not None else pdf_bytes(tmp_path)
    answer = client.post(f"/api/staff/requests/{request_id}/fulfil", files={"file": (name, upload, "application/pdf")})
    assert answer.status_code == 400, answer.text
    if content is None:  # a good PDF under a name that tries a path
        assert answer.json()["detail"] == "Nama berkas tidak sah"
    assert stored_files(tmp_path) == before and rows_in(client, "softcopy_files") == files
    assert client.get("/api/staff/requests?status=diajukan").json()["requests"][0]["id"] == request_id
    assert not [m for m in mailbox.mails() if READER[0] in m.to]


def test_the_page_makes_a_request_without_javascript(client, people, catalogue):
    page = client.get(f"/akun/permintaan?publikasi={catalogue[TITLE]}")
    assert page.status_code == 200 and catalogue[TITLE] in page.text
    without_softcopy = client.get(f"/publikasi/{catalogue['Statistik Daerah Kota Kendari 2024']}").text
    assert f"/akun/permintaan?publikasi={catalogue['Statistik Daerah Kota Kendari 2024']}" in without_softcopy
    token = client.cookies.get("pst_cloud_csrf")
    bad = client.post("/akun/permintaan", data={"purpose": "jurnalistik", "_csrf_token": token})
    assert bad.status_code == 400 and "isi salah satu" in bad.text
    made = client.post("/akun/permintaan", data={"description": "Data IPM kabupaten", "purpose": "jurnalistik",
                                                 "_csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/akun/permintaan?dikirim=1"
    listed = client.get("/akun/permintaan?dikirim=1").text
    assert "Data IPM kabupaten" in listed and "diajukan" in listed


def test_a_pdf_of_more_pages_than_a_copy_may_have_is_refused(client, people, tmp_path):
    """Every download stamps every page: a file longer than MAX_PAGES never comes in."""
    import pymupdf

    from cloud.catalogue_import import MAX_PAGES

    request_id = ask(client, description="data saya").json()["id"]
    before, files = stored_files(tmp_path), rows_in(client, "softcopy_files")
    long = pymupdf.open()
    for _ in range(MAX_PAGES + 1):
        long.new_page()
    as_(client, people["staff"])
    answer = client.post(f"/api/staff/requests/{request_id}/fulfil",
                         files={"file": ("panjang.pdf", long.tobytes(), "application/pdf")})
    assert answer.status_code == 400 and answer.json()["errors"]["file"] == f"lebih dari {MAX_PAGES} halaman"
    assert stored_files(tmp_path) == before and rows_in(client, "softcopy_files") == files
