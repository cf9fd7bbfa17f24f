"""A reader's way through the portal, in Chromium: register, open the mailed verification link, sign in, search the
catalogue, read a softcopy watermarked with their e-mail on every page, ask for a softcopy the catalogue lacks, and
download it once a staff member (in a browser of their own) has attached the PDF.

The portal runs as `pst cloud serve` would (the app factory on uvicorn, SQLite under tmp) on a socket bound before
the settings are made, so the links in the mails point at it; mail goes to the local SMTP sink. The catalogue and
the staff account are made with the `pst cloud` commands, as an office would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import pytest
import uvicorn
from click.testing import CliRunner
from playwright.sync_api import BrowserContext, Page, expect

from cloud.app import create_app
from cloud.mailsink import MailSink, ReceivedMail
from cloud.settings import CloudSettings
from pst.cli import main
from tests.cloud.conftest import SECRET, edition, write_csv, write_pdf
from tests.e2e.conftest import DESKTOP, SHUTDOWN_S, STARTUP_S, wait_until, watch_policy

READER = {"name": "Wa Ode Nurhaliza", "email": "waode.nurhaliza@example.id", "password": "kopi-toraja-2026"}
STAFF = {"email": "petugas.pst@bps.go.id", "password": "loket-pst-7400-aman"}
SOFTCOPY_PAGES = 6
REQUESTED_PAGES = 3
CATALOGUE = [
    edition("Kota Kendari Dalam Angka", 2024, "1102001.7471", type="Dalam Angka", subjects="Kependudukan",
            office="7471", file="pdf/kendari-da-2024.pdf"),
    edition("Statistik Daerah Kota Kendari", 2024, "1101002.7471", type="Statistik Daerah", subjects="Pemerintahan",
            office="7471"),
    edition("Kabupaten Wakatobi Dalam Angka", 2024, "1102001.7407", type="Dalam Angka", subjects="Kependudukan",
            office="7407"),
]


@dataclass(frozen=True)
class LivePortal:
    base_url: str
    mailbox: MailSink

    def mail_to(self, address: str, subject: str) -> ReceivedMail:
        """The newest mail to `address` whose subject contains `subject`, waiting for it to arrive."""
        found: list[ReceivedMail] = []

        def arrived() -> bool:
            found[:] = [m for m in self.mailbox.mails() if address in " ".join(m.to) and subject in m.subject]
            return bool(found)

        wait_until(arrived, 10, f"no mail {subject!r} to {address}")
        return found[0]


def in_own_thread(action: Callable[[], object]) -> object:
    """The `pst` commands run their own event loop: away from the browser driver's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(action).result()


def pst(env: dict[str, str], *args: str, input: str | None = None) -> str:
    done = in_own_thread(lambda: CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False))
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture
def portal(tmp_path, clock, listening_socket) -> Iterator[LivePortal]:
    """The portal on a real uvicorn server in a thread, its catalogue imported and a staff account added."""
    folder = tmp_path / "katalog"
    write_pdf(folder / "pdf/kendari-da-2024.pdf", pages=SOFTCOPY_PAGES, text="Kota Kendari Dalam Angka 2024")
    catalogue_csv = write_csv(folder / "katalog.csv", CATALOGUE)
    port = listening_socket.getsockname()[1]
    with MailSink(tmp_path / "mail") as mailbox:
        env = {
            "PST_DATA_DIR": str(tmp_path / "var"), "PST_CLOUD_DATABASE_URL": f"sqlite:///{tmp_path / 'cloud.db'}",
            "PST_CLOUD_SMTP_URL": mailbox.url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PORT": str(port),
            "PST_CLOUD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        assert f"{len(CATALOGUE)} added" in pst(env, "cloud", "catalogue", "import", str(catalogue_csv))
        pst(env, "cloud", "user", "add", STAFF["email"], "--role", "staff", "--name", "Petugas PST",
            input=STAFF["password"] + "\n")
        settings = CloudSettings.from_env(env)
        config = uvicorn.Config(create_app(settings, clock=clock), log_config=None, log_level="warning",
                                access_log=False, ws="none", lifespan="on", timeout_graceful_shutdown=3)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listening_socket]}, name="portal")
        thread.start()
        try:
            wait_until(lambda: server.started or not thread.is_alive(), STARTUP_S, "the portal did not start")
            assert server.started, "the portal's server stopped during start-up"
            yield LivePortal(settings.public_url, mailbox)
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_S)
        assert not thread.is_alive(), f"the portal's server did not stop within {SHUTDOWN_S} s"


@pytest.fixture
def browsers(browser, portal, csp_violations) -> Iterator[Callable[[], BrowserContext]]:
    """Browser contexts on the live portal, each with its own cookies; closed before the server stops."""
    made: list[BrowserContext] = []

    def new_context() -> BrowserContext:
        context = browser.new_context(base_url=portal.base_url, locale="id-ID", timezone_id="Asia/Makassar",
                                      viewport=DESKTOP, accept_downloads=True)
        watch_policy(context, csp_violations)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield new_context
    for context in made:
        context.close()


def pages_text(pdf: bytes) -> list[str]:
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return [page.get_text() for page in doc]


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/akun/masuk")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/akun$"))


def fulfil(staff: Page, request_id: str, pdf: Path, screenshot) -> None:
    """Through the back office's queue page where this build has it, else through the staff JSON API."""
    queue = staff.goto("/kantor/permintaan")
    form = staff.locator(f'form[action="/kantor/permintaan/{request_id}/selesai"]')
    if queue is not None and queue.ok and form.count() == 1:
        screenshot(staff, "staff-queue")
        form.locator("input[type=file]").set_input_files(pdf)
        form.get_by_role("button", name="Selesai").click()
        expect(staff.locator(f"#r-{request_id}")).to_have_count(0)  # gone from the queue of open requests
        screenshot(staff, "staff-queue-after-fulfil")
        return
    answer = staff.request.post(f"/api/staff/requests/{request_id}/fulfil", multipart={
        "file": {"name": pdf.name, "mimeType": "application/pdf", "buffer": pdf.read_bytes()},
    })
    assert answer.status == 200, answer.text()
    assert answer.json()["status"] == "selesai"


def test_reader_registers_reads_a_watermarked_softcopy_and_gets_a_requested_one_fulfilled_by_staff(
    portal, browsers, screenshot, tmp_path,
):
    reader = browsers().new_page()

    # (a) register; the verification link arrives at the SMTP sink and opens in the browser
    reader.goto("/akun/daftar")
    for field in ("name", "email", "password"):
        reader.locator(f"input[name={field}]").fill(READER[field])
    screenshot(reader, "register-filled")
    reader.get_by_role("button", name="Daftar").click()
    expect(reader.get_by_role("heading", name="Periksa email Anda")).to_be_visible()
    mail = portal.mail_to(READER["email"], "Verifikasi email")
    link = re.search(rf"{re.escape(portal.base_url)}/akun/verifikasi\?token=[A-Za-z0-9_-]+", mail.body)
    assert link, f"no verification link in: {mail.body}"
    reader.goto(link.group(0))
    reader.get_by_role("button", name="Verifikasi email saya").click()
    expect(reader.get_by_role("heading", name="Email terverifikasi")).to_be_visible()

    # (b) sign in, search, open the publication
    sign_in(reader, READER["email"], READER["password"])
    reader.goto("/katalog")
    reader.locator("input[name=q]").fill("kendari angka")
    reader.get_by_role("button", name="Cari").click()
    expect(reader.locator(".results li")).to_have_count(1)
    expect(reader.locator("p.count")).to_contain_text("1 publikasi")
    expect(reader.locator(".facets")).to_contain_text("Kependudukan")
    screenshot(reader, "catalogue-search")
    reader.get_by_role("link", name="Kota Kendari Dalam Angka 2024").click()
    expect(reader.get_by_role("heading", name="Kota Kendari Dalam Angka 2024")).to_be_visible()
    expect(reader.locator("dl.metadata")).to_contain_text(f"PDF, {SOFTCOPY_PAGES} halaman")
    screenshot(reader, "publication-signed-in")

    # (c) read it: the PDF the page links to, made for this reader, their e-mail on every page
    read_link = reader.get_by_role("link", name="Baca", exact=True).get_attribute("href")
    publication_id = read_link.split("/")[2]
    copy = reader.request.get(read_link)
    assert copy.status == 200 and copy.headers["content-type"] == "application/pdf"
    assert copy.headers["cache-control"] == "private, no-store" and copy.headers["x-download-id"]
    texts = pages_text(copy.body())
    assert len(texts) == SOFTCOPY_PAGES
    assert [READER["email"] in text for text in texts] == [True] * SOFTCOPY_PAGES
    assert all(copy.headers["x-download-id"] in text.replace("\n", " ") for text in texts)

    # ... and without a session there is none
    anonymous = browsers().request
    refused = anonymous.get(f"/api/publications/{publication_id}/softcopy")
    assert refused.status == 401 and refused.headers["content-type"].startswith("application/json")
    assert anonymous.get(read_link, max_redirects=0).headers["location"] == f"/akun/masuk?next={read_link}"

    # (d) a publication without softcopy: ask for it from the form its page links to
    reader.goto("/katalog?q=statistik+daerah+kendari")
    reader.get_by_role("link", name="Statistik Daerah Kota Kendari 2024").click()
    reader.get_by_role("link", name="Minta salinan digital").click()
    expect(reader.locator("input[name=publication_id]")).not_to_have_value("")
    expect(reader.locator("form dl.metadata")).to_contain_text("Statistik Daerah Kota Kendari 2024")  # by its title
    reader.locator("#purpose").select_option("penelitian")
    screenshot(reader, "request-form")
    reader.get_by_role("button", name="Ajukan").click()
    expect(reader.get_by_role("status")).to_contain_text("Permintaan Anda sudah diajukan")
    mine = reader.locator(".results li", has_text="Statistik Daerah Kota Kendari 2024")
    expect(mine.locator(".tag")).to_have_text("diajukan")
    screenshot(reader, "request-made")
    [made] = reader.request.get("/api/requests").json()["requests"]

    # (e) a staff member, in a browser of their own, attaches the PDF
    requested = write_pdf(tmp_path / "permintaan" / "statistik-daerah-kendari-2024.pdf", pages=REQUESTED_PAGES,
                          text="Statistik Daerah Kota Kendari 2024")
    staff = browsers().new_page()
    sign_in(staff, STAFF["email"], STAFF["password"])
    fulfil(staff, made["id"], requested, screenshot)
    assert "Permintaan saya" in portal.mail_to(READER["email"], "sudah tersedia").body

    # (f) the reader finds it done under "Permintaan saya" and downloads their own watermarked copy
    reader.goto("/akun/permintaan")
    expect(reader.get_by_role("heading", name="Permintaan saya")).to_be_visible()
    expect(mine.locator(".tag")).to_have_text("selesai")
    screenshot(reader, "request-done")
    with reader.expect_download() as download:
        mine.get_by_role("link", name="Unduh").click()
    texts = pages_text(Path(download.value.path()).read_bytes())
    assert download.value.suggested_filename == f"permintaan-{made['id']}.pdf"
    assert len(texts) == REQUESTED_PAGES
    assert [READER["email"] in text for text in texts] == [True] * REQUESTED_PAGES
    assert all(f"halaman {n}" in text for n, text in enumerate(texts, start=1))  # the staff member's file
