"""One visitor, one account, in Chromium: what she leaves at the desk under her e-mail (a scan, a softcopy request)
is in the portal account she later opens with that e-mail, through a mailed set-password link, without ever being
told that the address is taken.

The appliance and the portal both run on real uvicorn servers; the appliance's sync agent carries the desk's records
up over real HTTP, and the portal's mail goes to the local SMTP sink.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from cloud.app import create_app
from cloud.mailsink import MailSink
from cloud.settings import CloudSettings
from sync.agent import Agent, enroll
from tests.cloud.conftest import SECRET, write_pdf
from tests.e2e.conftest import DESKTOP, SHUTDOWN_S, STARTUP_S, wait_until, watch_policy
from tests.e2e.test_portal_journey import STAFF, LivePortal, fulfil, in_own_thread, pst, sign_in

EMAIL = "wa.ode@uho.ac.id"
PASSWORD = "sagu-papeda-kendari"
GUEST = {
    "name": "Wa Ode Nurhaliza", "gender": "P", "email": EMAIL, "occupation": "pelajar",
    "institution": "Universitas Halu Oleo", "purposes": ["baca_tercetak"], "id_type": "KTP",
}


@dataclass(frozen=True)
class DeskPortal(LivePortal):
    enrolment_code: str = ""  # a one-time code for the appliance, from `pst cloud device add`


@pytest.fixture
def portal(tmp_path, clock) -> Iterator[DeskPortal]:
    """The portal on its own socket (the appliance has the other), with office 7400 and a staff account."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    with sock, MailSink(tmp_path / "portal-mail") as mailbox:
        env = {
            "PST_DATA_DIR": str(tmp_path / "portal"), "PST_CLOUD_DATABASE_URL": f"sqlite:///{tmp_path / 'cloud.db'}",
            "PST_CLOUD_SMTP_URL": mailbox.url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PORT": str(port),
            "PST_CLOUD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        pst(env, "cloud", "office", "add", "7400", "BPS Provinsi Sulawesi Tenggara")
        pst(env, "cloud", "user", "add", STAFF["email"], "--role", "staff", "--name", "Petugas PST",
            input=STAFF["password"] + "\n")
        code = pst(env, "cloud", "device", "add", "--office", "7400").strip().splitlines()[0]
        settings = CloudSettings.from_env(env)
        config = uvicorn.Config(create_app(settings, clock=clock), log_config=None, log_level="warning",
                                access_log=False, ws="none", lifespan="on", timeout_graceful_shutdown=3)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="portal")
        thread.start()
        try:
            wait_until(lambda: server.started or not thread.is_alive(), STARTUP_S, "the portal did not start")
            assert server.started, "the portal's server stopped during start-up"
            yield DeskPortal(settings.public_url, mailbox, code)
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_S)
        assert not thread.is_alive(), f"the portal's server did not stop within {SHUTDOWN_S} s"


@pytest.fixture
def sync_up(portal, live_appliance, tmp_path):
    """One sync round of the appliance against the portal, as `pst edge sync` would run it."""
    enrolment = enroll(portal.base_url, portal.enrolment_code, tmp_path / "enrolment")
    appliance = live_appliance.appliance

    def run_round() -> None:
        async def once() -> None:
            agent = Agent(appliance.store, enrolment, data_dir=appliance.settings.data_dir)
            try:
                await agent.round()
            finally:
                await agent.close()

        in_own_thread(lambda: asyncio.run(once()))

    return run_round


@pytest.fixture
def portal_page(browser, portal, csp_violations) -> Iterator[Page]:
    context = browser.new_context(base_url=portal.base_url, locale="id-ID", timezone_id="Asia/Makassar",
                                  viewport=DESKTOP, accept_downloads=True)
    watch_policy(context, csp_violations)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def set_password_from(page: Page, portal: LivePortal, subject: str) -> None:
    """Opens the set-password link of the newest mail to her with this subject, and chooses her password."""
    mail = portal.mail_to(EMAIL, subject)
    link = re.search(rf"{re.escape(portal.base_url)}/akun/buat-sandi\?\S+", mail.body)
    assert link, f"no set-password link in: {mail.body}"
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Buat kata sandi")).to_be_visible()
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Simpan kata sandi dan masuk").click()


def test_a_desk_scan_is_in_the_account_she_registers_later_with_the_same_email(
    live_appliance, portal, sync_up, kiosk_page, phone_page, staff_page, portal_page, screenshot,
):
    appliance = live_appliance.appliance

    # at the desk: a number, the guestbook on her phone, three pages through the self-service scanner
    kiosk_page.goto("/")
    kiosk_page.get_by_role("button", name="Ambil Nomor Antrian").click()
    expect(kiosk_page).to_have_url(re.compile(r"/tiket/[^/]+$"))
    phone_page.goto(appliance.hardware.emulator.wait_for_tickets(1, timeout=5)[0].qr[0])
    phone_page.locator("input[name=name]").fill(GUEST["name"])
    phone_page.locator("input[name=gender][value=P]").check()
    phone_page.locator("input[name=email]").fill(EMAIL)
    phone_page.locator("select[name=occupation]").select_option("pelajar")
    phone_page.locator("input[name=purposes][value=pindai]").check()
    phone_page.locator("input[name=id_type][value=KTP]").check()
    phone_page.locator("form button[type=submit]").tap()
    expect(phone_page.locator("main")).to_contain_text("A001")  # her number, on the page the guestbook leads to
    day = appliance.queue.today().isoformat()
    wait_until(lambda: [v["email"] for v in appliance.visits.of_day(day)] == [EMAIL], 5, "the guestbook was not kept")
    assert staff_page.request.post("/_sim/scanner/feed", data={"pages": 3}).ok
    kiosk_page.goto("/pemindai")
    kiosk_page.locator("input[name=ticket_number]").fill("A001")
    kiosk_page.locator("form.scan-form button[type=submit]").click()
    expect(kiosk_page.locator(".code")).to_be_visible(timeout=20_000)
    sync_up()  # the visit, the scan and its PDF go up; the portal keeps them under her e-mail

    # on the portal, days later: she registers with the same e-mail and is not told it is taken
    portal_page.goto("/akun/daftar")
    portal_page.locator("input[name=name]").fill("Wa Ode N.")
    portal_page.locator("input[name=email]").fill(EMAIL)
    portal_page.locator("input[name=password]").fill("kopi-toraja-2026")
    portal_page.get_by_role("button", name="Daftar").click()
    expect(portal_page.get_by_role("heading", name="Periksa email Anda")).to_be_visible()
    screenshot(portal_page, "registered-with-desk-email")
    set_password_from(portal_page, portal, "Aktifkan akun")
    expect(portal_page).to_have_url(re.compile(r"/akun$"))
    portal_page.get_by_role("link", name="Hasil pindaian saya").click()
    rows = portal_page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("BPS Provinsi Sulawesi Tenggara")
    expect(rows.first.locator("td").nth(2)).to_have_text("3")
    screenshot(portal_page, "her-desk-scan-in-the-portal")
    scan = portal_page.request.get(rows.first.get_by_role("link", name="Baca").get_attribute("href"))
    assert scan.ok and scan.headers["content-type"] == "application/pdf"


def test_the_softcopy_ready_mail_leads_a_desk_visitor_through_a_new_password_to_her_request(
    live_appliance, portal, sync_up, staff_login, staff_page, portal_page, browser, screenshot, tmp_path,
):
    appliance = live_appliance.appliance
    visit = appliance.check_in(GUEST).visit

    # the frontliner takes her softcopy request on the visit page
    staff_page.goto("/petugas/masuk")
    staff_page.locator("input[name=username]").fill(staff_login.username)
    staff_page.locator("input[name=password]").fill(staff_login.password)
    staff_page.locator("form button[type=submit]").click()
    staff_page.goto(f"/petugas/kunjungan/{visit['id']}")
    staff_page.locator("form.softcopy-form textarea[name=description]").fill("Jumlah penduduk per kecamatan 2024")
    staff_page.locator("form.softcopy-form select[name=purpose]").select_option("penelitian")
    staff_page.locator("form.softcopy-form button[type=submit]").click()
    [asked] = appliance.softcopy_requests.of_visit(visit["id"])
    sync_up()

    # portal staff attach the PDF; the mail to her carries a set-password link to "Permintaan saya"
    office = browser.new_context(base_url=portal.base_url, viewport=DESKTOP)
    try:
        portal_staff = office.new_page()
        sign_in(portal_staff, STAFF["email"], STAFF["password"])
        fulfil(portal_staff, asked["id"], write_pdf(tmp_path / "tabel-penduduk.pdf", pages=2), screenshot)
    finally:
        office.close()
    set_password_from(portal_page, portal, "sudah tersedia")
    expect(portal_page).to_have_url(re.compile(r"/akun/permintaan$"))
    mine = portal_page.locator(".results li", has_text="Jumlah penduduk per kecamatan 2024")
    expect(mine.locator(".tag")).to_have_text("selesai")
    screenshot(portal_page, "her-desk-request-in-the-portal")
    with portal_page.expect_download() as download:
        mine.get_by_role("link", name="Unduh").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
