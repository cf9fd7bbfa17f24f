"""Work nobody waits for is stopped: a copy whose reader left, or whose server stops, no longer keeps a stamping
process busy (cloud.stamping, pst.pdfstamp), with a PDF far longer than any the portal now accepts (an old upload)."""

from __future__ import annotations

import asyncio
import glob
import os
import pickle
import tempfile
import time

import pymupdf
import pytest

from cloud import stamping
from pst.pdfstamp import STOP_EVERY, Stopped, stamp
from tests.cloud.conftest import add_reader, run_db

LINES = ["BPS Provinsi Sulawesi Tenggara", "Wa Ode Nurhaliza", "30 November 2026", "unduhan 1"]
PAGES = 50_000  # stamped in several seconds: long enough to be stopped midway


def many_pages(count: int) -> bytes:
    """A PDF of `count` empty A4 pages sharing one content stream, written directly (pymupdf's new_page slows with
    every page it adds)."""
    kids = " ".join(f"{4 + i} 0 R" for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
               b"<< /Length 0 >>\nstream\n\nendstream"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>"] * count
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def leftovers() -> set[str]:
    """The stamping's temporary files: copies and stop marks."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "pst-s*")))


@pytest.fixture
def long_pdf(tmp_path):
    path = tmp_path / "panjang.pdf"
    path.write_bytes(many_pages(PAGES))
    return path


@pytest.fixture
def warm_stampers(tmp_path):
    """Both stamping processes started (a first copy each), so a job submitted next starts at once."""
    short = tmp_path / "pendek.pdf"
    short.write_bytes(many_pages(2))
    pool = stamping._stampers()
    for copy in [stamping.Job(pool, short, LINES).future for _ in range(stamping.STAMPERS)]:
        copy.result(timeout=60).unlink()
    yield pool
    stamping.close()


def test_stamping_asks_every_64_pages_and_ends_where_it_is_told():
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) == 3

    with pymupdf.open(stream=many_pages(1000), filetype="pdf") as doc, pytest.raises(Stopped) as stopped:
        stamp(doc, LINES, stop=stop)
    assert (stopped.value.pages, stopped.value.count) == (2 * STOP_EVERY, 1000)
    assert str(stopped.value) == "stopped after 128 of 1000 pages"
    again = pickle.loads(pickle.dumps(stopped.value))  # as it comes back from a stamping process
    assert (again.pages, again.count) == (128, 1000)
    with pymupdf.open(stream=many_pages(100), filetype="pdf") as doc:
        stamp(doc, LINES, stop=lambda: False)  # never told: every page
        assert all("Wa Ode Nurhaliza" in page.get_text() for page in doc)


def test_a_stopped_job_ends_midway_and_leaves_no_file(warm_stampers, long_pdf):
    before = leftovers()
    job = stamping.Job(warm_stampers, long_pdf, LINES)
    time.sleep(1.0)
    job.stop()
    failed = job.future.exception(timeout=60)
    assert isinstance(failed, Stopped) and failed.count == PAGES and failed.pages < PAGES, failed
    assert wait_until(lambda: leftovers() <= before)  # neither the half-made copy nor the mark stays


def test_a_queued_job_never_stamps_a_page(warm_stampers, long_pdf):
    busy = [stamping.Job(warm_stampers, long_pdf, LINES) for _ in range(stamping.STAMPERS)]
    queued = [stamping.Job(warm_stampers, long_pdf, LINES) for _ in range(6)]
    time.sleep(0.3)
    for job in queued + busy:
        job.stop()
    # the pool hands a few jobs to its processes' queue early (one more than it has processes, once they have taken
    # theirs): those start and stop before their first page; the others never start
    cancelled = [job for job in queued if job.future.cancelled()]
    assert len(cancelled) >= len(queued) - stamping.STAMPERS - 1
    for job in queued:
        if job not in cancelled:
            failed = job.future.exception(timeout=60)
            assert isinstance(failed, Stopped) and failed.pages == 0, failed
    assert all(isinstance(job.future.exception(timeout=60), Stopped) for job in busy)


def test_a_cancelled_copy_stops_its_stamping_process(warm_stampers, long_pdf):
    async def leave_early() -> None:
        copy = asyncio.ensure_future(stamping.stamped(long_pdf, LINES))
        await asyncio.sleep(1.0)
        copy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await copy

    before = leftovers()
    asyncio.run(leave_early())
    assert wait_until(lambda: leftovers() <= before)  # the process gave up: its mark and its copy are gone
    quick = stamping.Job(warm_stampers, long_pdf.with_name("pendek.pdf"), LINES)
    assert quick.future.result(timeout=10).stat().st_size > 0  # and both processes serve again
    quick.future.result().unlink()


def wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_reader_who_leaves_before_the_copy_is_made_stops_it(client, catalogue, caplog):
    """Over ASGI as a server runs it: the reader's connection closes while the copy is stamped; the handler answers
    499 (nobody receives it) and the stamping process gives up."""
    add_reader(client, "wa.ode@example.id", "Wa Ode Nurhaliza")
    pid = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    stored = run_db(client, "SELECT f.storage_path FROM publications p JOIN softcopy_files f"
                            " ON f.sha256 = p.softcopy_sha256 WHERE p.id = {}", pid)[0]["storage_path"]
    (client.app.state.settings.data_dir / stored).write_bytes(many_pages(PAGES))  # an old upload, before the cap
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": f"/api/publications/{pid}/softcopy",
             "raw_path": f"/api/publications/{pid}/softcopy".encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"portal.test"), (b"cookie", cookie.encode())],
             "client": ("127.0.0.1", 50000), "server": ("portal.test", 80), "state": {}}
    sent = []

    async def visit() -> None:
        asked = 0

        async def receive() -> dict:
            nonlocal asked
            asked += 1
            if asked == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(1.0)  # then the tab is closed
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await client.app(scope, receive, send)

    before = leftovers()
    started = time.monotonic()
    client.blocking_portal.call(visit)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert time.monotonic() - started < 30
    assert "stopped stamping a copy nobody waits for any more" in caplog.text
    assert wait_until(lambda: leftovers() <= before)
