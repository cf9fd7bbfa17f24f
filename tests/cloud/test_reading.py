"""Reading softcopy: only for a signed-in reader, watermarked on every page for that reader (name, e-mail, time,
download id), logged before it is sent, made fresh for every request and never cacheable."""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import tempfile
import time

import pymupdf
import pytest

from tests.cloud.conftest import add_reader, run_db

READER = ("wa.ode@example.id", "Wa Ode Nurhaliza")
TITLE = "Provinsi Sulawesi Tenggara Dalam Angka 2024"


def pages_text(pdf: bytes) -> list[str]:
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return [page.get_text() for page in doc]


@pytest.fixture
def reader(client, catalogue):
    add_reader(client, *READER)
    return client


def test_softcopy_needs_a_signed_in_reader(client, catalogue):
    pid = catalogue[TITLE]
    answer = client.get(f"/api/publications/{pid}/softcopy")
    assert answer.status_code == 401 and answer.json()["detail"].startswith("Masuk")
    page = client.get(f"/publikasi/{pid}/baca", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/akun/masuk?next=/publikasi/{pid}/baca"
    client.cookies.set("pst_cloud_session", "bukan-sesi")
    assert client.get(f"/api/publications/{pid}/softcopy").status_code == 401
    assert run_db(client, "SELECT count(*) AS n FROM downloads")[0]["n"] == 0


def test_every_page_carries_the_reader_and_the_logged_download_id(reader, catalogue):
    pid = catalogue[TITLE]
    answer = reader.get(f"/api/publications/{pid}/softcopy")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    download_id = answer.headers["x-download-id"]
    texts = pages_text(answer.content)
    assert len(texts) == 5
    for text in texts:
        flat = " ".join(text.split())
        assert READER[0] in flat and download_id in flat and "Wa Ode Nurhaliza" in flat
        assert "30 November 2026 09.00 WITA" in flat  # the test clock, in office time
        assert TITLE in flat  # the page itself is still there
    logged = run_db(reader, "SELECT d.id, d.publication_id, d.disposition, a.email FROM downloads d"
                            " JOIN accounts a ON a.id = d.account_id")
    assert logged == [{"id": download_id, "publication_id": pid, "disposition": "inline", "email": READER[0]}]


def test_the_copy_is_written_whole_and_the_stored_original_is_untouched(reader, catalogue, tmp_path):
    pid = catalogue[TITLE]
    stored = run_db(reader, "SELECT f.sha256, f.storage_path FROM publications p JOIN softcopy_files f"
                            " ON f.sha256 = p.softcopy_sha256 WHERE p.id = {}", pid)[0]
    pdf = reader.get(f"/api/publications/{pid}/softcopy").content
    assert pdf.count(b"%%EOF") == 1  # no incremental update hiding the unmarked original
    original = (tmp_path / "var" / stored["storage_path"]).read_bytes()
    assert hashlib.sha256(original).hexdigest() == stored["sha256"]


def test_the_answer_is_never_cacheable_nor_kept(reader, catalogue):
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "pst-softcopy-*")))
    answer = reader.get(f"/api/publications/{catalogue[TITLE]}/softcopy")
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "pst-softcopy-*"))) <= before  # this copy is gone
    assert "no-store" in answer.headers["cache-control"] and "private" in answer.headers["cache-control"]
    assert "etag" not in answer.headers


def test_two_readers_and_two_requests_get_different_files(reader, catalogue):
    pid = catalogue[TITLE]
    first = reader.get(f"/api/publications/{pid}/softcopy")
    again = reader.get(f"/api/publications/{pid}/softcopy")
    add_reader(reader, "la.ode@example.id", "La Ode Muhammad")  # signs this client in as the second reader
    other = reader.get(f"/api/publications/{pid}/softcopy")
    ids = {r.headers["x-download-id"] for r in (first, again, other)}
    assert len(ids) == 3 and len({r.content for r in (first, again, other)}) == 3
    assert "la.ode@example.id" in pages_text(other.content)[0] and "wa.ode@example.id" not in pages_text(other.content)[0]
    assert run_db(reader, "SELECT count(*) AS n FROM downloads")[0]["n"] == 3


def test_baca_opens_in_the_browser_and_unduh_saves(reader, catalogue):
    pid = catalogue[TITLE]
    read = reader.get(f"/publikasi/{pid}/baca")
    assert read.status_code == 200 and read.headers["content-disposition"].startswith("inline")
    saved = reader.get(f"/publikasi/{pid}/unduh")
    assert saved.headers["content-disposition"].startswith("attachment") and "1102001.74-2024.pdf" in saved.headers["content-disposition"]
    assert [r["disposition"] for r in run_db(reader, "SELECT disposition FROM downloads ORDER BY disposition")] == ["attachment", "inline"]


def test_a_publication_without_softcopy_is_404(reader, catalogue):
    answer = reader.get(f"/api/publications/{catalogue['Statistik Daerah Kota Kendari 2024']}/softcopy")
    assert answer.status_code == 404
    assert reader.get("/api/publications/tidak-ada/softcopy").status_code == 404
    assert reader.get(f"/publikasi/{catalogue['Statistik Daerah Kota Kendari 2024']}/baca").status_code == 404
    assert run_db(reader, "SELECT count(*) AS n FROM downloads")[0]["n"] == 0


def test_copies_are_stamped_in_processes_of_their_own_and_a_dead_one_costs_one_503(reader, catalogue):
    """pymupdf keeps the interpreter lock while it stamps: the portal's worker hands the stamping to processes of
    its own (cloud.stamping). One of them killed: that download is a 503 (nothing half-made is sent), the next one
    gets new processes; the worker itself never stopped answering."""
    from cloud import stamping

    pid = catalogue[TITLE]
    assert reader.get(f"/api/publications/{pid}/softcopy").status_code == 200
    stampers = stamping.processes()
    assert stampers and os.getpid() not in stampers
    os.kill(stampers[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not stamping._pool._broken and time.monotonic() < deadline:  # the pool sees its process gone
        time.sleep(0.05)
    failed = reader.get(f"/api/publications/{pid}/softcopy")
    assert failed.status_code == 503 and failed.json()["detail"].startswith("Salinan digital sedang tidak dapat")
    assert reader.get("/healthz").status_code == 200
    again = reader.get(f"/api/publications/{pid}/softcopy")
    assert again.status_code == 200 and len(pages_text(again.content)) == 5
    assert set(stamping.processes()).isdisjoint(stampers)


@pytest.mark.parametrize("path", [
    "/api/publications/%00/softcopy", "/api/publications/a%00b/softcopy?unduh=1", "/publikasi/%00/baca",
    "/publikasi/%00/unduh", "/api/requests/%00/softcopy", "/publikasi/%00",
])
def test_a_nul_in_an_id_is_refused_not_a_server_error(reader, catalogue, path):
    """PostgreSQL's text takes no NUL: an id carrying one is a 4xx on both engines, and logs no download."""
    answer = reader.get(path, follow_redirects=False)
    assert 400 <= answer.status_code < 500, answer.text
    assert run_db(reader, "SELECT count(*) AS n FROM downloads")[0]["n"] == 0
