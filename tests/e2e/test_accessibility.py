"""Every page of the appliance and the portal through axe-core in Chromium, in Indonesian and in English: a
`critical` or `serious` violation fails, named by page, language, rule and the elements to fix.

One appliance and one portal serve the whole module, filled first through their own HTTP endpoints (tickets, a
guestbook entry, a call, a locker, a scan, requests, a rating, complaints, one sync round from the desk to the
portal), so the audit reads pages as the office sees them. Visitor and public pages are audited at a phone's size,
staff and back-office pages at a desktop's; a screenshot of each is left in `test-artifacts/screens/a11y/`.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import APIRequestContext, Browser, BrowserContext, Page

from cloud.app import create_app as create_portal
from cloud.mailsink import MailSink
from cloud.settings import CloudSettings
from edge.app import create_app as create_appliance
from edge.settings import EdgeSettings
from edge.users import add_user
from pst.clock import ManualClock
from sync.agent import Agent, enroll
from tests.cloud.conftest import SECRET, edition, write_csv, write_pdf
from tests.conftest import MONDAY_MORNING
from tests.e2e.conftest import DESKTOP, SHUTDOWN_S, STARTUP_S, TV, wait_until
from tests.e2e.test_portal_journey import in_own_thread, pst

SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens" / "a11y"
PHONE = {"width": 390, "height": 844}
LANGUAGES = ("id", "en")
BLOCKING = ("critical", "serious")
# target-size (WCAG 2.5.8) is off in axe's defaults; kiosk and phone pages are used with a finger
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}}
PASSWORD = "rahasia-loket-1"
STAFF = {"frontliner": "wa_ode", "librarian": "la_ode", "admin": "kepala_pst"}
PORTAL_STAFF = {"staff": "petugas.pst@bps.go.id", "admin": "admin.pst@bps.go.id"}
READER = {"name": "Wa Ode Nurhaliza", "email": "wa.ode@uho.ac.id", "password": "sagu-papeda-kendari"}
OTHERS = [{"name": name, "email": email, "gender": gender, "occupation": "pelajar", "purposes": ["baca_tercetak"],
           "id_type": "KTP"}
          for name, email, gender in (("La Ode Budi", "budi@example.id", "L"), ("Sitti Aminah", "ami@example.id", "P"))]
SHELVES = [
    {"title": "Kota Kendari Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.7471", "location": "display", "shelf": "R-01-1"},
    {"title": "Kecamatan Mandonga Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.7471010", "location": "storage", "shelf": "G-01-2"},
    {"title": "Statistik Daerah Kota Kendari 2023", "year": 2023, "subjects": ["Pemerintahan"],
     "catalogue_number": "1101002.7471", "location": "display", "shelf": "R-02-4"},
]
CATALOGUE = [
    edition("Kota Kendari Dalam Angka", 2024, "1102001.7471", type="Dalam Angka", subjects="Kependudukan",
            office="7400", file="pdf/kendari-da-2024.pdf"),
    edition("Statistik Daerah Kota Kendari", 2024, "1101002.7471", type="Statistik Daerah", subjects="Pemerintahan",
            office="7400"),
    edition("Kabupaten Wakatobi Dalam Angka", 2023, "1102001.7407", type="Dalam Angka", subjects="Kependudukan",
            office="7400"),
]
SCORES = {f"U{n}": 4 - n % 2 for n in range(1, 10)}


# --- the two servers -------------------------------------------------------------------------------------------------
@contextmanager
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    with sock:
        yield sock


@contextmanager
def served(app, sock: socket.socket, name: str) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, ws="none",
                                           lifespan="on", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), STARTUP_S, f"the {name} did not start")
        assert server.started, f"the {name}'s server stopped during start-up"
        yield
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_S)
    assert not thread.is_alive(), f"the {name}'s server did not stop within {SHUTDOWN_S} s"


@dataclass
class Servers:
    appliance_url: str
    portal_url: str
    appliance: object
    mailbox: MailSink
    enrolment_code: str
    data: dict[str, str] = field(default_factory=dict)  # ids and numbers the seeding made, for the pages' paths


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("a11y")
    clock = ManualClock(MONDAY_MORNING)
    with listening() as edge_sock, listening() as cloud_sock, MailSink(folder / "mail") as mailbox:
        edge_port, cloud_port = edge_sock.getsockname()[1], cloud_sock.getsockname()[1]
        settings = EdgeSettings.from_env({
            "PST_DATA_DIR": str(folder / "edge"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(edge_port),
            "PST_EDGE_PUBLIC_URL": f"http://127.0.0.1:{edge_port}",
        })
        appliance_app = create_appliance(settings, clock=clock)
        code, portal_settings = prepared_portal(folder, mailbox, cloud_port)
        with served(appliance_app, edge_sock, "appliance"), \
                served(create_portal(portal_settings, clock=clock), cloud_sock, "portal"):
            yield Servers(settings.public_url, portal_settings.public_url, appliance_app.state.appliance, mailbox,
                          code)


def prepared_portal(folder: Path, mailbox: MailSink, port: int) -> tuple[str, CloudSettings]:
    """The portal's office, catalogue (one edition with its softcopy), staff and admin, and an appliance's code."""
    write_pdf(folder / "katalog/pdf/kendari-da-2024.pdf", pages=2, text="Kota Kendari Dalam Angka 2024")
    env = {
        "PST_DATA_DIR": str(folder / "cloud"), "PST_CLOUD_DATABASE_URL": f"sqlite:///{folder / 'cloud.db'}",
        "PST_CLOUD_SMTP_URL": mailbox.url, "PST_CLOUD_SECRET": SECRET, "PST_CLOUD_PORT": str(port),
        "PST_CLOUD_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    pst(env, "cloud", "office", "add", "7400", "BPS Provinsi Sulawesi Tenggara")
    pst(env, "cloud", "catalogue", "import", str(write_csv(folder / "katalog/katalog.csv", CATALOGUE)))
    for role, email in PORTAL_STAFF.items():
        pst(env, "cloud", "user", "add", email, "--role", role, "--name", f"{role.title()} PST",
            input=PASSWORD + "-cloud\n")
    code = pst(env, "cloud", "device", "add", "--office", "7400").strip().splitlines()[0]
    return code, CloudSettings.from_env(env)


# --- real data on the pages, through the apps' own endpoints ---------------------------------------------------------
def ok(answer, what: str):
    assert answer.ok, f"{what}: {answer.status} {answer.text()}"
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text()


def fill_guestbook(page: Page, ticket_id: str) -> str:
    """Her guestbook on her phone, from her ticket's QR; the token of her own ticket page it leads to."""
    page.goto(f"/buku-tamu/{ticket_id}")
    page.locator("input[name=name]").fill(READER["name"])
    page.locator("input[name=gender][value=P]").check()
    page.locator("input[name=email]").fill(READER["email"])
    page.locator("select[name=occupation]").select_option("pelajar")
    page.locator("input[name=institution]").fill("Universitas Halu Oleo")
    for purpose in ("baca_tercetak", "pindai"):
        page.locator(f"input[name=purposes][value={purpose}]").check()
    page.locator("input[name=id_type][value=KTP]").check()
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/kunjungan/[^/]+$"))
    return page.url.rsplit("/", 1)[1]


def seed_appliance(servers: Servers, desk: APIRequestContext, phone: Page) -> None:
    """Her number called, with a locker, a fetch, a softcopy request and a scan; Budi served and rated; Sitti and a
    number without a guestbook waiting; one complaint new and one followed up."""
    appliance, data = servers.appliance, servers.data
    appliance.catalogue.import_rows(SHELVES)  # as `pst edge catalogue import` does
    for role, username in STAFF.items():
        add_user(appliance.store, appliance.clock, username, role, PASSWORD)
    ok(desk.post("/api/session", data={"username": STAFF["frontliner"], "password": PASSWORD}), "sign-in")
    data["token"] = fill_guestbook(phone, ok(desk.post("/api/tickets", data={}), "her number")["id"])
    data["visit"] = ok(desk.get("/api/visits", params={"q": READER["email"]}), "her visit")[0]["id"]
    budi, unrated = (ok(desk.post("/api/visits", data=guest), "a guestbook") for guest in OTHERS)
    data["unrated"] = unrated["token"]  # the rating page opens with the visitor's own key
    data["ticket"] = ok(desk.post("/api/tickets", data={}), "a number without a guestbook")["id"]
    ok(desk.post("/api/counters/1/call", data={}), "her call")
    budi_ticket = ok(desk.post("/api/counters/2/call", data={}), "Budi's call")["id"]
    for step in ("serve", "done"):
        ok(desk.post(f"/api/tickets/{budi_ticket}/{step}", data={}), f"Budi: {step}")
    ok(desk.post("/api/ratings", data={"token": budi["token"], "scores": SCORES, "comment": "Ruang baca nyaman."}),
       "rating")
    ok(desk.post(f"/api/visits/{data['visit']}/locker", data={"id_type": "KTP", "id_number": "7471015708990002"}),
       "a locker")
    for is_open in (True, False):
        ok(desk.post("/_sim/lockers/1/door", data={"open": is_open}), "the locker's door")
    shelf = ok(desk.get("/api/catalogue", params={"q": "Mandonga"}), "the catalogue")["items"][0]["id"]
    ok(desk.post(f"/api/visits/{data['visit']}/fetches", data={"publication_id": shelf}), "a fetch")
    ok(desk.post("/api/softcopy-requests", data={"visit_id": data["visit"], "purpose": "penelitian",
                                                 "description": "Jumlah penduduk per kecamatan 2024"}), "a softcopy")
    ok(desk.post("/_sim/scanner/feed", data={"pages": 2}), "paper in the scanner")
    data["scan"] = ok(desk.post("/api/scans", data={"ticket_number": "A001"}), "a scan")["id"]
    wait_until(lambda: desk.get(f"/api/scans/{data['scan']}").json()["status"] != "scanning", 30, "the scan ended")
    complaint = {"channel": "langsung", "text": "Kursi ruang baca kurang.", "contact": "ami@example.id"}
    data["tracking"] = ok(desk.post("/api/complaints", data=complaint), "a complaint")["tracking"]
    by_mail = ok(desk.post("/api/complaints", data=complaint | {"channel": "email"}), "a complaint by e-mail")
    ok(desk.post("/api/session", data={"username": STAFF["admin"], "password": PASSWORD}), "the head's sign-in")
    ok(desk.post(f"/api/complaints/{by_mail['id']}/ditindaklanjuti", data={"response": "Kursi ditambah besok."}),
       "its follow-up")


def sync_round(servers: Servers, folder: Path) -> None:
    """The appliance enrols in the portal and sends its records up, as `pst edge sync` would."""
    enrolment = enroll(servers.portal_url, servers.enrolment_code, folder)

    async def once() -> None:
        agent = Agent(servers.appliance.store, enrolment, data_dir=servers.appliance.settings.data_dir)
        try:
            await agent.round()
        finally:
            await agent.close()

    in_own_thread(lambda: asyncio.run(once()))


def mailed_token(servers: Servers, subject: str) -> str:
    found: list[str] = []

    def arrived() -> bool:
        found[:] = [re.search(r"token=([A-Za-z0-9_.-]+)", m.body).group(1) for m in servers.mailbox.mails()
                    if READER["email"] in " ".join(m.to) and subject in m.subject]
        return bool(found)

    wait_until(arrived, 10, f"no mail {subject!r}")
    return found[0]


def seed_portal(servers: Servers, reader: APIRequestContext, staff: APIRequestContext, folder: Path) -> None:
    """Her account (her desk scan and softcopy request come up with the sync), two more requests (one in process, one
    fulfilled), a rating, and a complaint followed up by staff."""
    data = servers.data
    ok(reader.post("/api/accounts", data=READER), "her registration")
    ok(reader.post("/api/accounts/verify", data={"token": mailed_token(servers, "Verifikasi")}), "her e-mail")
    ok(reader.post("/api/session", data={"email": READER["email"], "password": READER["password"]}), "her sign-in")
    ok(staff.post("/api/session", data={"email": PORTAL_STAFF["staff"], "password": PASSWORD + "-cloud"}), "staff")
    sync_round(servers, folder / "enrolment")
    items = ok(reader.get("/api/publications", params={"q": "Kendari"}), "the catalogue")["items"]
    data["publication"] = next(i["id"] for i in items if i["title"].startswith("Kota Kendari"))
    data["plain_publication"] = next(i["id"] for i in items if i["title"].startswith("Statistik Daerah"))
    asked = [ok(reader.post("/api/requests", data=wish | {"purpose": "penelitian"}), "a request")["id"] for wish in (
        {"publication_id": data["plain_publication"]}, {"description": "Tabel IPM kabupaten 2020-2024"})]
    ok(staff.post(f"/api/staff/requests/{asked[0]}/process", data={}), "a request in process")
    ok(staff.post(f"/api/staff/requests/{asked[1]}/fulfil", multipart={"file": {
        "name": "ipm.pdf", "mimeType": "application/pdf",
        "buffer": write_pdf(folder / "ipm.pdf", pages=1, text="IPM").read_bytes()}}), "a request fulfilled")
    ok(reader.post("/api/ratings", data={"office": "7400", "scores": SCORES, "comment": "Cepat."}), "her rating")
    complaint = {"office": "7400", "channel": "website", "text": "Tautan unduhan sempat gagal.",
                 "contact": READER["email"]}
    data["portal_tracking"] = ok(reader.post("/api/complaints", data=complaint), "her complaint")["tracking"]
    queue = ok(staff.get("/api/staff/complaints"), "the complaint queue")["complaints"]
    mine = next(c["id"] for c in queue if c["tracking"] == data["portal_tracking"])
    ok(staff.post(f"/api/staff/complaints/{mine}/ditindaklanjuti", data={"response": "Sedang kami periksa."}),
       "its follow-up")
    ok(staff.post("/api/session", data={"email": PORTAL_STAFF["admin"], "password": PASSWORD + "-cloud"}), "admin")
    offices = ok(staff.get("/kantor/kantor"), "the offices page")
    data["device"] = re.search(r"/kantor/kantor/perangkat/([^/\"]+)/cabut", offices).group(1)


@pytest.fixture(scope="module")
def contexts(browser: Browser, servers: Servers) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts on either server, each with its own cookies; all closed before the servers stop."""
    made: list[BrowserContext] = []

    def new_context(base_url: str, viewport: dict) -> BrowserContext:
        context = browser.new_context(base_url=base_url, locale="id-ID", timezone_id="Asia/Makassar",
                                      viewport=viewport)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield new_context
    for context in made:
        context.close()


@pytest.fixture(scope="module")
def seeded(servers: Servers, contexts, tmp_path_factory) -> Servers:
    folder = tmp_path_factory.mktemp("seed")
    desk, phone = contexts(servers.appliance_url, DESKTOP), contexts(servers.appliance_url, PHONE)
    seed_appliance(servers, desk.request, phone.new_page())
    reader, staff = contexts(servers.portal_url, PHONE), contexts(servers.portal_url, DESKTOP)
    seed_portal(servers, reader.request, staff.request, folder)
    return servers


# --- the audit -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Screen:
    name: str
    path: str = ""  # formatted with the seeded ids
    visit: Callable[[Page, dict], None] | None = None  # a page reached through a form
    language: str | None = None  # a page that keeps its own language whatever the visitor chose
    viewport: dict | None = None  # a page made for another screen than its audience's


@dataclass
class Audit:
    """Runs axe-core on each page and keeps what blocks, per page and language, for one failure message; every
    finding (moderate and minor too) goes to `axe-findings.json` beside the screenshots."""
    app: str
    sizes: tuple[tuple[str, dict], ...]  # the first is the audit's; screenshots at each
    findings: list[dict]
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    axe: Axe = field(default_factory=Axe)

    def run(self, page: Page, screens: list[Screen], data: dict, who: str = "") -> None:
        for language in LANGUAGES:
            page.goto(f"/bahasa/{language}")  # the language switch, as its link does
            for screen in screens:
                self.check(page, screen, data, language, who)

    def check(self, page: Page, screen: Screen, data: dict, language: str, who: str) -> None:
        page.set_viewport_size(screen.viewport or self.sizes[0][1])
        if screen.visit:
            screen.visit(page, data)
        else:
            page.goto(screen.path.format(**data))
        page.wait_for_load_state("load")
        found = self.axe.run(page, options=AXE_OPTIONS).response["violations"]
        self.pages += 1
        label = f"{self.app}{' ' + who if who else ''}: {screen.name} [{language}] /{page.url.split('/', 3)[3]}"
        self.findings += [{"page": label, "rule": v["id"], "impact": v["impact"], "help": v["help"],
                           "targets": targets(v, most=50)} for v in found]
        lines = [f"  {v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(targets(v))
                 for v in found if v["impact"] in BLOCKING]
        lang = page.locator("html").get_attribute("lang")
        if lang != (screen.language or language):
            lines.append(f"  html lang is {lang!r}, not {screen.language or language!r}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > (screen.viewport or self.sizes[0][1])["width"]:  # WCAG 1.4.10: no sideways scrolling
            lines.append(f"  the page is {width} px wide: it scrolls sideways on this screen")
        if lines:
            self.problems.append(label + "\n" + "\n".join(lines))
        self.shoot(page, screen, language, who)

    def shoot(self, page: Page, screen: Screen, language: str, who: str) -> None:
        sizes = [("tv", screen.viewport)] if screen.viewport else self.sizes
        for size_name, size in sizes:
            page.set_viewport_size(size)
            name = "-".join(filter(None, (self.app, who, slug(screen.name), language, size_name)))
            page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)

    def report(self) -> str:
        return (f"{len(self.problems)} of {self.pages} pages fail (a critical or serious axe-core rule, the page's"
                " language, sideways scrolling):\n\n"
                + "\n\n".join(self.problems))


def targets(violation: dict, most: int = 6) -> list[str]:
    """Each element's selector, with what axe measured there (a contrast ratio and its colours, a missing name)."""
    named = []
    for node in violation["nodes"]:
        selector = " >>> ".join(t if isinstance(t, str) else " ".join(t) for t in node["target"])
        checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
        why = next((check["message"] for check in checks if check.get("message")), "")
        named.append(f"{selector} — {why}" if why else selector)
    return named[:most] + ([f"… and {len(named) - most} more"] if len(named) > most else [])


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.fixture(scope="module")
def findings() -> Iterator[list[dict]]:
    """Every axe-core finding of the module, whatever its impact, as `axe-findings.json` for whoever fixes them."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for stale in SCREENS.glob("*.png"):
        stale.unlink()
    kept: list[dict] = []
    yield kept
    (SCREENS / "axe-findings.json").write_text(json.dumps(kept, indent=1, ensure_ascii=False))


PHONE_SIZES = (("phone", PHONE), ("desktop", DESKTOP))
DESKTOP_SIZES = (("desktop", DESKTOP),)


# --- pages reached through a form ------------------------------------------------------------------------------------
def guestbook_with_errors(page: Page, _: dict) -> None:
    page.goto("/buku-tamu")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def guestbook_again(page: Page, _: dict) -> None:
    """The same e-mail typed again: the number, no second page. The kiosk forgets the language choice after it."""
    page.goto("/buku-tamu")
    page.locator("input[name=name]").fill(READER["name"])
    page.locator("input[name=gender][value=P]").check()
    page.locator("input[name=email]").fill(READER["email"])
    page.locator("select[name=occupation]").select_option("pelajar")
    page.locator("input[name=purposes][value=baca_tercetak]").check()
    page.locator("input[name=id_type][value=KTP]").check()
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def ticket_without_paper(page: Page, _: dict) -> None:
    """A number taken while the printer is out of paper: the screen shows it with its guestbook QR."""
    ok(page.request.post("/_sim/printer", data={"paper": "out"}), "paper out")
    try:
        page.goto("/")
        page.locator("form[action='/kiosk/tiket'] button").click()
        page.wait_for_url(re.compile(r"/tiket/"))
    finally:
        ok(page.request.post("/_sim/printer", data={"paper": "ok"}), "paper back")


def kiosk_without_paper(page: Page, _: dict) -> None:
    ok(page.request.post("/_sim/printer", data={"paper": "out"}), "paper out")
    page.request.post("/_sim/button")  # the desk's button: a number the printer cannot print
    page.goto("/")
    page.locator("#newest-unprinted").wait_for()
    ok(page.request.post("/_sim/printer", data={"paper": "ok"}), "paper back")


def staff_sign_in_failed(page: Page, _: dict) -> None:
    page.goto("/petugas/masuk")
    page.locator("input[name=username]").fill(STAFF["frontliner"])
    page.locator("input[name=password]").fill("salah-sandi")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def console_with_message(page: Page, _: dict) -> None:
    page.goto("/petugas")
    page.locator("form[action='/petugas/tiket'] button").click()
    page.locator(".flash").wait_for()


def portal_sign_in_failed(page: Page, _: dict) -> None:
    page.goto("/akun/masuk")
    page.locator("input[name=email]").fill("bukan.pembaca@example.id")
    page.locator("input[name=password]").fill("salah-sandi-sekali")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def new_device(page: Page, _: dict) -> None:
    page.goto("/kantor/kantor")
    form = page.locator("form[action='/kantor/kantor/perangkat']")
    form.locator("select[name=office]").select_option("7400")
    form.locator("input[name=name]").fill("Kios ruang baca")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


# --- the pages -------------------------------------------------------------------------------------------------------
VISITOR_PAGES = [
    Screen("kiosk", "/"),
    Screen("ticket", "/tiket/{ticket}"),
    Screen("guestbook", "/buku-tamu"),
    Screen("guestbook for a ticket", "/buku-tamu/{ticket}"),
    Screen("guestbook with errors", visit=guestbook_with_errors),
    Screen("her ticket page", "/kunjungan/{token}"),
    Screen("display board", "/layar", language="id", viewport=TV),
    Screen("catalogue", "/katalog"),
    Screen("catalogue search", "/katalog?q=Kendari&year=2024"),
    Screen("scanner", "/pemindai"),
    Screen("scan job", "/pemindai/{scan}"),
    Screen("expired download code", "/d/ABCD2345"),
    Screen("rating at the kiosk", "/penilaian"),
    Screen("rating of a visit", "/penilaian/{unrated}"),
    Screen("rating thanks", "/penilaian/terima-kasih"),
    Screen("complaint", "/pengaduan"),
    Screen("complaint lookup", "/pengaduan/cek"),
    Screen("complaint found", "/pengaduan/cek?nomor={tracking}&baru=1"),
    Screen("complaint not found", "/pengaduan/cek?nomor=PGD-0000-0000"),
    Screen("privacy", "/privasi"),
    Screen("ticket without paper", visit=ticket_without_paper),
    Screen("kiosk without paper", visit=kiosk_without_paper),
    Screen("guestbook again", visit=guestbook_again),  # last: it ends the visitor's language choice
]
SIGNED_OUT_STAFF_PAGES = [
    Screen("sign-in", "/petugas/masuk"),
    Screen("sign-in failed", visit=staff_sign_in_failed),
]
STAFF_PAGES = {
    "frontliner": [
        Screen("console", "/petugas"),
        Screen("console with a message", visit=console_with_message),
        Screen("visits", "/petugas/kunjungan"),
        Screen("visits found", "/petugas/kunjungan?q=Wa%20Ode"),
        Screen("visit", "/petugas/kunjungan/{visit}"),
        Screen("visit catalogue", "/petugas/kunjungan/{visit}/katalog?q=Kendari"),
        Screen("lockers", "/petugas/loker"),
        Screen("catalogue", "/katalog?q=Kendari"),
        Screen("record a complaint", "/petugas/pengaduan/baru"),
    ],
    "librarian": [Screen("console", "/petugas"), Screen("fetch requests", "/petugas/permintaan")],
    "admin": [Screen("console", "/petugas"), Screen("complaints", "/petugas/pengaduan"), Screen("ikm", "/petugas/ikm"),
              Screen("ikm of this month", "/petugas/ikm/periode?periode=bulan-ini"), Screen("report", "/petugas/laporan"),
              Screen("audit trail", "/petugas/audit"), Screen("privacy", "/petugas/privasi")],
}
PORTAL_PAGES = [
    Screen("home", "/"),
    Screen("catalogue", "/katalog"),
    Screen("catalogue with facets", "/katalog?q=Kendari&year=2024&type=Dalam%20Angka"),
    Screen("publication with softcopy", "/publikasi/{publication}"),
    Screen("publication", "/publikasi/{plain_publication}"),
    Screen("sign-in", "/akun/masuk"),
    Screen("sign-in failed", visit=portal_sign_in_failed),
    Screen("register", "/akun/daftar"),
    Screen("forgot password", "/akun/lupa-sandi"),
    Screen("verify", "/akun/verifikasi?token=kedaluwarsa"),
    Screen("reset password", "/akun/atur-ulang?token=kedaluwarsa"),
    Screen("set password", "/akun/buat-sandi?token=kedaluwarsa"),
    Screen("rating", "/penilaian?kantor=7400"),
    Screen("rating thanks", "/penilaian/terima-kasih?kantor=7400"),
    Screen("complaint", "/pengaduan"),
    Screen("complaint tracking", "/pengaduan/lacak"),
    Screen("complaint tracked", "/pengaduan/lacak?nomor={portal_tracking}&baru=1"),
    Screen("privacy", "/privasi"),
]
READER_PAGES = [
    Screen("account", "/akun"),
    Screen("requests", "/akun/permintaan"),
    Screen("request form for a publication", "/akun/permintaan?publikasi={publication}"),
    Screen("scans", "/akun/pindaian"),
    Screen("publication signed in", "/publikasi/{publication}"),
    Screen("rating already given", "/penilaian?kantor=7400"),
    Screen("back office refused", "/kantor"),
]
OFFICE_PAGES = {
    "staff": [
        Screen("back office", "/kantor"),
        Screen("catalogue", "/kantor/katalog"),
        Screen("catalogue search", "/kantor/katalog?q=Kendari"),
        Screen("new publication", "/kantor/katalog/baru"),
        Screen("publication", "/kantor/katalog/{publication}"),
        Screen("remove publication", "/kantor/katalog/{publication}/hapus"),
        Screen("requests", "/kantor/permintaan"),
        Screen("all requests", "/kantor/permintaan?status=semua"),
        Screen("complaints", "/kantor/pengaduan"),
        Screen("report", "/kantor/laporan"),
        Screen("ikm of this month", "/kantor/ikm?periode=bulan-ini&office=7400"),
        Screen("offices", "/kantor/kantor"),
        Screen("refused records", "/kantor/kantor/perangkat/{device}/ditolak"),
        Screen("device fleet", "/kantor/perangkat"),
        Screen("device", "/kantor/perangkat/{device}"),
    ],
    "admin": [
        Screen("back office", "/kantor"),
        Screen("offices", "/kantor/kantor"),
        Screen("new device", visit=new_device),
        Screen("revoke device", "/kantor/kantor/perangkat/{device}/cabut"),
        Screen("replace device", "/kantor/kantor/perangkat/{device}/ganti"),
        Screen("audit trail", "/kantor/audit"),
        Screen("privacy", "/kantor/privasi"),
    ],
}


def signed_in(context: BrowserContext, path: str, credentials: dict) -> Page:
    ok(context.request.post(path, data=credentials), "sign-in")
    return context.new_page()


# --- the tests -------------------------------------------------------------------------------------------------------
def test_the_visitor_pages_of_the_appliance_pass_the_audit(seeded, contexts, findings):
    audit = Audit("appliance", PHONE_SIZES, findings)
    audit.run(contexts(seeded.appliance_url, PHONE).new_page(), VISITOR_PAGES, seeded.data)
    assert not audit.problems, audit.report()


def test_the_staff_pages_of_the_appliance_pass_the_audit_for_every_role(seeded, contexts, findings):
    audit = Audit("appliance", DESKTOP_SIZES, findings)
    audit.run(contexts(seeded.appliance_url, DESKTOP).new_page(), SIGNED_OUT_STAFF_PAGES, seeded.data)
    for role, screens in STAFF_PAGES.items():
        page = signed_in(contexts(seeded.appliance_url, DESKTOP), "/api/session",
                         {"username": STAFF[role], "password": PASSWORD})
        audit.run(page, screens, seeded.data, who=role)
    assert not audit.problems, audit.report()


def test_the_public_and_reader_pages_of_the_portal_pass_the_audit(seeded, contexts, findings):
    audit = Audit("portal", PHONE_SIZES, findings)
    audit.run(contexts(seeded.portal_url, PHONE).new_page(), PORTAL_PAGES, seeded.data)
    page = signed_in(contexts(seeded.portal_url, PHONE), "/api/session",
                     {"email": READER["email"], "password": READER["password"]})
    audit.run(page, READER_PAGES, seeded.data, who="reader")
    assert not audit.problems, audit.report()


def test_the_back_office_pages_of_the_portal_pass_the_audit_for_staff_and_admin(seeded, contexts, findings):
    audit = Audit("portal", DESKTOP_SIZES, findings)
    for role, screens in OFFICE_PAGES.items():
        page = signed_in(contexts(seeded.portal_url, DESKTOP), "/api/session",
                         {"email": PORTAL_STAFF[role], "password": PASSWORD + "-cloud"})
        audit.run(page, screens, seeded.data, who=role)
    assert not audit.problems, audit.report()


def test_a_kiosk_result_page_goes_back_to_the_start_only_after_a_quiet_spell(seeded, contexts):
    """WCAG 2.2.1: the ticket page's return to the big button (for the next visitor's privacy) waits again after
    each touch, so a visitor still reading is not cut off; it is no timed refresh a browser would run regardless."""
    page = contexts(seeded.appliance_url, PHONE).new_page()
    page.clock.install()
    page.goto("/tiket/{ticket}".format(**seeded.data))
    assert page.locator("head > meta[http-equiv=refresh]").count() == 0  # only inside <noscript>
    page.clock.run_for(15_000)
    page.mouse.click(10, 300)  # still reading: the 20 s start again
    page.clock.run_for(15_000)
    assert "/tiket/" in page.url
    with page.expect_navigation():
        page.clock.run_for(6_000)
    assert page.url.endswith("/")
