"""Self-service scanning over HTTP: pages from SANE's real `test` backend (the simulated feeder) become one PDF
watermarked on every page (checked by pymupdf's text extraction), fetched by a download code that expires."""

from __future__ import annotations

import hashlib
import re
import threading
import time

import pymupdf
import pytest

from edge import outbox
from edge.lockers import LockerError
from edge.scans import CODE_ALPHABET, CODE_LENGTH, INTERRUPTED
from pst.watermark import watermark_lines
from tests.hardware.test_scanning import require_sane

GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["pindai"], "id_type": "KTM"}


@pytest.fixture
def appliance(app, client):
    running = app.state.appliance
    require_sane(running.settings.data_dir / "sane")
    return running


def check_in(client, name: str) -> dict:
    response = client.post("/api/visits", json=GUEST | {"name": name, "email": f"{name.split()[-1].lower()}@example.id"})
    assert response.status_code == 201, response.text
    return response.json()


def scan(client, appliance, pages: int, jam_after: int | None = None, **who) -> dict:
    assert client.post("/_sim/scanner/feed", json={"pages": pages, "jam_after": jam_after}).status_code == 200
    started = client.post("/api/scans", json=who)
    assert started.status_code == 201, started.text
    appliance.scans.wait(started.json()["id"])
    return client.get(f"/api/scans/{started.json()['id']}").json()


def lines_for(appliance, name: str, visit_id: str) -> list[str]:
    office = appliance.config.office
    return watermark_lines(office.name, name, appliance.clock.now(), office.tz, visit_id)


class HeldScanner:
    """The simulated feeder, held after its first page until the test lets the rest through."""

    def __init__(self, inner):
        self.inner, self.release = inner, threading.Event()

    def pages(self, limit=None, cancel=None):
        for number, page in enumerate(self.inner.pages(limit, cancel)):
            yield page
            if number == 0:
                self.release.wait(10)

    def close(self):
        pass


@pytest.fixture
def held(appliance):
    scanner = HeldScanner(appliance.hardware.scanner)
    appliance.scans.scanner = scanner
    yield scanner
    scanner.release.set()


def wait_for_pages(client, job_id: str, pages: int) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = client.get(f"/api/scans/{job_id}").json()
        if state["pages"] >= pages:
            return state
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {pages} pages")


def test_a_scan_becomes_one_pdf_watermarked_on_every_page(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 3, ticket_number=visit["ticket_number"].lower())  # "a001" is read kindly
    assert (job["status"], job["pages"]) == ("ready", 3)
    assert len(job["download_code"]) == CODE_LENGTH and set(job["download_code"]) <= set(CODE_ALPHABET)
    response = client.get(f"/d/{job['download_code']}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    lines = lines_for(appliance, "Wa Ode Nurhaliza", visit["id"])
    assert lines[1:3] == ["untuk Wa Ode Nurhaliza", "30 November 2026 09.00 WITA"]
    with pymupdf.open(stream=response.content, filetype="pdf") as pdf:
        assert pdf.page_count == 3
        for page in pdf:
            text = page.get_text()
            assert all(line in text for line in lines), text
            assert f"hal. {page.number + 1}/3" in text
            [image] = page.get_images()
            assert pdf.xref_get_key(image[0], "Filter") == ("name", "/DCTDecode")  # the scan, not re-compressed
    # written whole: one revision, nothing to truncate back to an unwatermarked original
    assert response.content.count(b"%%EOF") == 1 and b"/Prev" not in response.content


def test_a_job_started_by_visit_id_works_the_same(client, appliance):
    visit = check_in(client, "La Ode Budi")
    assert scan(client, appliance, 2, visit_id=visit["id"])["pages"] == 2


@pytest.mark.parametrize("code", ["ZZZZZZZZ", "abc", "00000000", "%2E%2E%2Fedge.db"])
def test_a_wrong_code_is_404(client, appliance, code):
    check_in(client, "Wa Ode Nurhaliza")
    scan(client, appliance, 1, ticket_number="A001")
    response = client.get(f"/d/{code}")
    assert response.status_code == 404 and response.json()["detail"]


def test_a_code_expires(client, appliance, clock):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 1, ticket_number=visit["ticket_number"])
    code = job["download_code"]
    clock.advance(minutes=29)
    assert client.get(f"/d/{code[:4]}-{code[4:].lower()}").status_code == 200  # as shown on screen, typed loosely
    clock.advance(minutes=1)
    assert client.get(f"/d/{code}").status_code == 404
    assert client.get(f"/d/{code}", headers={"accept": "text/html"}).status_code == 404  # a page for phones
    assert client.get(f"/api/scans/{job['id']}").json()["download_code"] is None


def test_pages_show_up_while_the_job_runs_and_a_second_job_is_409(client, appliance, held):
    ani, budi = check_in(client, "Ani Lestari"), check_in(client, "Budi Santoso")
    client.post("/_sim/scanner/feed", json={"pages": 4})
    job_id = client.post("/api/scans", json={"ticket_number": ani["ticket_number"]}).json()["id"]
    state = wait_for_pages(client, job_id, 1)
    assert (state["status"], state["pages"], state["download_code"]) == ("scanning", 1, None)
    assert appliance.scans.state == "scanning"
    again = client.post("/api/scans", json={"ticket_number": ani["ticket_number"]})
    other = client.post("/api/scans", json={"visit_id": budi["id"]})
    assert (again.status_code, other.status_code) == (409, 409)
    assert "masih berjalan" in again.json()["detail"] and "dipakai" in other.json()["detail"]
    page = client.get(f"/pemindai/{job_id}")
    assert 'http-equiv="refresh"' in page.text and re.search(r'class="pages"[^>]*>1<', page.text)
    held.release.set()
    assert appliance.scans.wait(job_id).pages == 4 and appliance.scans.state == "ok"
    assert appliance.store.read.execute("SELECT count(*) FROM scans").fetchone()[0] == 1


def test_checkout_waits_for_a_running_scan(client, appliance, held):
    visit = check_in(client, "Ani Lestari")
    client.post("/_sim/scanner/feed", json={"pages": 2})
    job_id = client.post("/api/scans", json={"visit_id": visit["id"]}).json()["id"]
    wait_for_pages(client, job_id, 1)
    with pytest.raises(LockerError) as refused:
        appliance.checkout.checkout(visit["id"])
    assert refused.value.status == 409 and str(refused.value) == "Pemindaian masih berjalan"
    held.release.set()
    appliance.scans.wait(job_id)
    assert appliance.checkout.checkout(visit["id"])["finished_at"]
    finished = client.post("/api/scans", json={"visit_id": visit["id"]})
    assert finished.status_code == 400 and "sudah selesai" in finished.json()["detail"]


def test_a_jam_fails_the_job_but_keeps_the_pages_scanned(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 5, jam_after=2, ticket_number=visit["ticket_number"])
    assert (job["status"], job["pages"]) == ("failed", 2)
    assert job["error"] == "Kertas macet di pemindai. Mohon minta bantuan petugas."
    kept = client.get(f"/d/{job['download_code']}")
    with pymupdf.open(stream=kept.content, filetype="pdf") as pdf:
        assert pdf.page_count == 2
    page = client.get(f"/pemindai/{job['id']}").text
    assert "Kertas macet" in page and "tetap tersimpan" in page
    assert scan(client, appliance, 3, ticket_number=visit["ticket_number"])["status"] == "ready"  # the rest


def test_an_empty_feeder_fails_with_a_message_and_no_file(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 0, ticket_number=visit["ticket_number"])
    assert (job["status"], job["pages"], job["download_code"]) == ("failed", 0, None)
    assert job["error"].startswith("Tidak ada kertas di pengumpan")


def test_pages_are_counted_per_visit(client, appliance):
    ani, budi = check_in(client, "Ani Lestari"), check_in(client, "Budi Santoso")
    scan(client, appliance, 3, visit_id=ani["id"])
    scan(client, appliance, 4, visit_id=budi["id"])
    scan(client, appliance, 5, jam_after=2, visit_id=ani["id"])
    assert appliance.scans.pages_for_visit(ani["id"]) == 5 and appliance.scans.pages_for_visit(budi["id"]) == 4
    per_visit = dict(appliance.store.read.execute("SELECT visit_id, SUM(pages) FROM scans GROUP BY visit_id").fetchall())
    assert per_visit == {ani["id"]: 5, budi["id"]: 4}


def test_a_finished_scan_is_queued_for_the_portal(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 2, ticket_number=visit["ticket_number"])
    pdf = client.get(f"/d/{job['download_code']}").content
    [event] = [e for e in outbox.pending(appliance.store.read) if e["entity"] == "scan"]
    assert (event["entity_id"], event["op"]) == (job["id"], "ready")
    assert event["payload"]["visit_id"] == visit["id"] and event["payload"]["pages"] == 2
    assert event["payload"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (appliance.settings.data_dir / event["payload"]["file"]).read_bytes() == pdf


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"ticket_number": "A099"}, 404, "ticket_number"),
        ({"ticket_number": "loket"}, 400, "ticket_number"),
        ({"visit_id": "nope"}, 404, None),
        ({}, 400, "ticket_number"),
        ({"ticket_number": "A001", "visit_id": "x"}, 400, "ticket_number"),
        ({"ticket_number": "A001", "halaman": 3}, 400, "halaman"),
    ],
)
def test_bad_starts_are_refused_and_store_nothing(client, appliance, body, status, field):
    check_in(client, "Wa Ode Nurhaliza")
    response = client.post("/api/scans", json=body)
    assert response.status_code == status and response.json()["detail"]
    if field:
        assert field in response.json()["errors"]
    assert appliance.store.read.execute("SELECT count(*) FROM scans").fetchone()[0] == 0


def test_a_ticket_without_a_guestbook_entry_cannot_scan(client, appliance):
    number = client.post("/api/tickets").json()["number"]
    response = client.post("/api/scans", json={"ticket_number": number})
    assert response.status_code == 404 and "buku tamu" in response.json()["detail"]


def test_the_station_takes_a_ticket_number_and_shows_the_code_and_qr(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    client.post("/_sim/scanner/feed", json={"pages": 2})
    station = client.get("/pemindai")
    assert station.status_code == 200 and 'name="ticket_number"' in station.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', station.text).group(1)
    unknown = client.post("/pemindai", data={"_csrf_token": token, "ticket_number": "A077"})
    assert unknown.status_code == 404 and "A077" in unknown.text and 'name="ticket_number"' in unknown.text
    started = client.post("/pemindai", data={"_csrf_token": token, "ticket_number": visit["ticket_number"]}, follow_redirects=False)
    assert started.status_code == 303
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job = appliance.scans.wait(job_id)
    page = client.get(started.headers["location"]).text
    assert f"{job.download_code[:4]}-{job.download_code[4:]}" in page and "<svg" in page
    assert f"/d/{job.download_code}" in page and "09.30 WITA" in page  # valid 30 minutes, in office time
    assert 'content="180;url=/kiosk/selesai?ke=pemindai"' in page  # the next visitor does not find this code
    assert "Pindaian selesai, W. O. N." in page and "Nurhaliza" not in page  # a typed number shows initials only


def test_a_job_cut_off_by_a_power_cut_ends_with_the_pages_it_had(client, appliance):
    visit = check_in(client, "Wa Ode Nurhaliza")
    with appliance.store.write() as db:
        db.execute(
            "INSERT INTO scans (id, visit_id, status, pages, started_at) VALUES ('j1', ?, 'scanning', 0, ?)",
            [visit["id"], "2026-11-30T01:00:00.000+00:00"],
        )
    spool = appliance.scans.folder / "j1.pages"
    spool.mkdir(parents=True)
    feeder = appliance.hardware.scanner
    feeder.feed(2)
    for number, page in enumerate(feeder.pages(), start=1):
        (spool / f"{number:04d}-150.jpg").write_bytes(page.jpeg)
    appliance.scans.start_service()  # as on the next start of the appliance
    job = appliance.scans.get("j1")
    assert (job.status, job.pages, job.error) == ("failed", 2, INTERRUPTED)
    with pymupdf.open(appliance.scans.download(job.download_code)) as pdf:
        assert pdf.page_count == 2
    assert not spool.exists()


def test_the_sim_feeder_rejects_bad_counts(client, appliance):
    for body in ({"pages": -1}, {"pages": "3"}, {"pages": True}, {"pages": 2, "jam_after": "x"}, {"paper": 3}):
        assert client.post("/_sim/scanner/feed", json=body).status_code == 400
    assert client.post("/_sim/scanner/feed", json={"pages": 7}).json()["waiting"] == 7
    assert client.get("/_sim/scanner").json()["waiting"] == 7


# --- the watermark itself, on PDFs that did not come from the scanner --------------------------------------------


def stamped_text(pdf_bytes: bytes, lines: list[str]) -> list[str]:
    from pst.pdfstamp import stamp_pdf

    with pymupdf.open(stream=stamp_pdf(pdf_bytes, lines), filetype="pdf") as out:
        return [page.get_text() for page in out]


def test_rotated_pages_get_the_footer_at_their_visible_foot():
    from pst.pdfstamp import stamp_pdf

    source = pymupdf.open()
    for rotation in (0, 90, 180, 270):
        page = source.new_page(width=595, height=842)
        page.insert_text((72, 72), "Tabel 1", fontsize=12)
        page.set_rotation(rotation)
    with pymupdf.open(stream=stamp_pdf(source.tobytes(), ["BPS", "untuk Ani"]), filetype="pdf") as out:
        for page in out:
            [block] = [b for b in page.get_text("blocks") if "hal." in b[4]]
            footer = pymupdf.Rect(block[:4]) * page.rotation_matrix  # extraction speaks unrotated coordinates
            assert footer.y0 > page.rect.height - 30, (page.rotation, footer)  # near the bottom as displayed
            assert abs((footer.x0 + footer.x1) / 2 - page.rect.width / 2) < 5  # centred
            assert footer.width > footer.height  # and running along it


def test_a_cropped_page_gets_its_footer_inside_the_visible_area():
    source = pymupdf.open()
    page = source.new_page(width=595, height=842)
    page.set_cropbox(pymupdf.Rect(50, 100, 545, 700))  # top-left based: the visible box ends 142 pt above the foot
    with pymupdf.open(stream=stamp_pdf_bytes(source.tobytes(), ["untuk Ani"]), filetype="pdf") as out:
        [block] = [b for b in out[0].get_text("blocks", clip=out[0].rect) if "hal." in b[4]]
        assert out[0].rect.height - 30 < block[1] < out[0].rect.height


def stamp_pdf_bytes(source: bytes, lines: list[str]) -> bytes:
    from pst.pdfstamp import stamp_pdf

    return stamp_pdf(source, lines)


def test_shared_and_inherited_resources_keep_their_fonts():
    source = pymupdf.open()
    for number in range(3):
        source.new_page().insert_text((72, 72), f"Halaman {number}", fontsize=12)
    shared = source.xref_get_key(source[0].xref, "Resources")[1]
    for number in range(3):  # one /Resources object for every page, as many producers write it
        source.xref_set_key(source[number].xref, "Resources", shared)
    texts = stamped_text(source.tobytes(), ["untuk Ani"])
    assert [("Halaman %d" % n) in t and "untuk Ani" in t for n, t in enumerate(texts)] == [True] * 3


def test_a_name_outside_latin_1_still_reads():
    source = pymupdf.open()
    source.new_page()
    [text] = stamped_text(source.tobytes(), ["untuk Nguyễn Thị Ánh (Ṣalāḥ)"])
    assert "untuk Nguyen Thi Ánh (Salah)" in text


def test_a_pdf_stamped_twice_keeps_both_stamps():
    source = pymupdf.open()
    source.new_page()
    once = stamp_pdf_bytes(source.tobytes(), ["untuk Ani"])
    [text] = stamped_text(once, ["untuk Budi"])
    assert text.count("untuk Ani") == 2 and text.count("untuk Budi") == 2  # diagonal and footer, each


def test_old_pdfs_go_once_the_cloud_has_them(client, appliance, clock):
    visit = check_in(client, "Wa Ode Nurhaliza")
    job = scan(client, appliance, 1, ticket_number=visit["ticket_number"])
    path = appliance.settings.data_dir / appliance.scans.get(job["id"]).pdf_path
    clock.advance(days=8)
    assert appliance.scans.purge() == 0 and path.exists()  # not yet sent to the cloud: kept
    with appliance.store.write() as db:
        db.execute("UPDATE outbox SET sent_at = ? WHERE entity = 'scan'", ["2026-12-08T00:00:00.000+00:00"])
    assert appliance.scans.purge() == 1 and not path.exists()
    assert appliance.scans.get(job["id"]).pdf_path is None and appliance.scans.pages_for_visit(visit["id"]) == 1
