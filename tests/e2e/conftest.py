"""Browser journeys: Debian's Chromium driven by Playwright against the appliance on a real uvicorn server.

The server runs in a thread on a socket bound before the settings are made, so the address printed in the ticket's
QR code is the address the test opens. The hardware is simulated (mock button, printer emulator on loopback).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from litestar import Litestar
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from edge.app import create_app
from edge.appliance import Appliance
from edge.users import add_user
from pst.clock import ManualClock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
DESKTOP = {"width": 1280, "height": 800}
TV = {"width": 1920, "height": 1080}
STARTUP_S = 15.0
SHUTDOWN_S = 10.0


@dataclass(frozen=True)
class LiveAppliance:
    base_url: str
    app: Litestar
    clock: ManualClock

    @property
    def appliance(self) -> Appliance:
        return self.app.state.appliance

    def count(self, table: str) -> int:
        return self.appliance.store.read.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@dataclass(frozen=True)
class StaffLogin:
    username: str
    password: str


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """Bound and listening before the app exists: the port goes into the settings (and so into the QR code)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


@pytest.fixture
def env(env, listening_socket) -> dict[str, str]:
    port = listening_socket.getsockname()[1]
    return env | {"PST_EDGE_PORT": str(port), "PST_EDGE_PUBLIC_URL": f"http://127.0.0.1:{port}"}


@pytest.fixture
def live_appliance(settings, clock, listening_socket) -> Iterator[LiveAppliance]:
    """The appliance on a real uvicorn server in a thread; server-sent events stream for real."""
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, ws="none", lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening_socket]}, name="uvicorn")
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), STARTUP_S, "the appliance did not start")
        assert server.started, "the appliance's server stopped during start-up"
        yield LiveAppliance(settings.public_url, app, clock)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_S)
    assert not thread.is_alive(), f"the appliance's server did not stop within {SHUTDOWN_S} s"


def staff_account(live_appliance, username: str, role: str) -> StaffLogin:
    login = StaffLogin(username, "rahasia-loket-1")
    add_user(live_appliance.appliance.store, live_appliance.clock, login.username, role, login.password)
    return login


@pytest.fixture
def staff_login(live_appliance) -> StaffLogin:
    """A frontliner's account."""
    return staff_account(live_appliance, "wa_ode", "frontliner")


@pytest.fixture
def librarian_login(live_appliance) -> StaffLogin:
    return staff_account(live_appliance, "la_ode", "librarian")


@pytest.fixture
def head_login(live_appliance) -> StaffLogin:
    """The office head's account (admin): the reports, the complaint queue."""
    return staff_account(live_appliance, "kepala_pst", "admin")


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser journeys drive Debian's `chromium` package; "
            "`make test` installs it (APT_PACKAGES in the Makefile).",
            pytrace=False,
        )
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def csp_violations() -> Iterator[list[str]]:
    """What the pages' Content-Security-Policy refused, as Chromium reports it on the console: nothing, ever."""
    refused: list[str] = []
    yield refused
    assert not refused, "the Content-Security-Policy blocked something:\n" + "\n".join(refused)


def watch_policy(context: BrowserContext, refused: list[str]) -> BrowserContext:
    context.on("console", lambda message: refused.append(message.text)
               if "Content Security Policy" in message.text else None)
    return context


@pytest.fixture
def contexts(browser, live_appliance, csp_violations) -> Iterator[Callable[..., BrowserContext]]:
    """Makes browser contexts on the live appliance; all are closed before the server stops (no stream left open)."""
    made: list[BrowserContext] = []

    def new_context(**options) -> BrowserContext:
        context = browser.new_context(base_url=live_appliance.base_url, locale="id-ID", timezone_id="Asia/Makassar",
                                      **options)
        watch_policy(context, csp_violations)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield new_context
    for context in made:
        context.close()


@pytest.fixture
def kiosk_page(contexts) -> Page:
    return contexts(viewport=DESKTOP).new_page()


@pytest.fixture
def staff_page(contexts) -> Page:
    """The frontliner's own browser: a session of its own, apart from the kiosk's."""
    return contexts(viewport=DESKTOP).new_page()


@pytest.fixture
def phone_page(contexts, playwright) -> Page:
    return contexts(**playwright.devices["Pixel 5"]).new_page()


@pytest.fixture
def board_page(contexts) -> Page:
    return contexts(viewport=TV).new_page()


@pytest.fixture
def screenshot(request) -> Callable[[Page, str], Path]:
    """Saves `test-artifacts/e2e/<test name>--NN-<step>.png`, numbered in the order the steps happen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name.removeprefix("test_"))
    for stale in ARTIFACTS.glob(f"{prefix}--*.png"):
        stale.unlink()
    taken: list[Path] = []

    def take(page: Page, step: str) -> Path:
        path = ARTIFACTS / f"{prefix}--{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take
