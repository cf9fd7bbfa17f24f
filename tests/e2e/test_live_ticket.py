"""The visitor's own ticket page in Chromium: from the guestbook on her phone to "Silakan ke loket 1" the moment a
frontliner calls her (server-sent events, no reload; a refresh where JavaScript is off), the kiosk standing in for a
printer that failed, and the scanner station showing initials only for a typed number.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.test_journey import fill_guestbook

# Counts the page's own `state` events and records vibrations, before the page's script runs.
WATCH_TICKET = """
(() => {
  const Native = window.EventSource;
  window.__stateEvents = 0;
  window.EventSource = function (url, options) {
    const source = new Native(url, options);
    source.addEventListener("state", () => { window.__stateEvents += 1; });
    return source;
  };
  window.EventSource.prototype = Native.prototype;
  window.__vibrations = [];
  Object.defineProperty(Navigator.prototype, "vibrate", {
    configurable: true, value: (pattern) => { window.__vibrations.push(pattern); return true; },
  });
})();
"""
TOKEN_PAGE = re.compile(r"/kunjungan/[A-Za-z0-9_-]{22}$")


def take_number(base_url: str) -> dict:
    response = httpx.post(f"{base_url}/api/tickets", json={}, timeout=5)
    assert response.status_code == 201
    return response.json()


def check_in_on(page: Page, ticket: dict, name: str, email: str) -> None:
    page.goto(f"/buku-tamu/{ticket['id']}")
    fill_guestbook(page, name, email)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(TOKEN_PAGE)


def call_from_console(base_url: str, staff_login, counter: int) -> dict:
    with httpx.Client(base_url=base_url, timeout=5) as console:
        console.post("/api/session", json={"username": staff_login.username, "password": staff_login.password})
        called = console.post(f"/api/counters/{counter}/call")
        assert called.status_code == 200
        return called.json()


def test_her_own_page_says_which_counter_the_moment_she_is_called(
    live_appliance, staff_login, phone_page, contexts, playwright, screenshot,
):
    base_url = live_appliance.base_url
    mine, other = take_number(base_url), take_number(base_url)

    phone_page.add_init_script(WATCH_TICKET)
    check_in_on(phone_page, mine, "Wa Ode Sitti Hasanah", "waode.sitti@example.id")
    expect(phone_page.locator(".visitor-state .number")).to_have_text("A001")
    expect(phone_page.locator(".ahead")).to_have_text("Antrian di depan Anda: 0")
    expect(phone_page.locator(".promise")).to_have_text("Anda akan dilayani paling lambat pukul 09.05 WITA.")
    expect(phone_page.locator(".time-left")).to_have_text(re.compile(r"^Sisa waktu [45]:\d\d$"))
    expect(phone_page.get_by_text("Wa Ode")).to_have_count(0)
    phone_page.evaluate("window.__loadedOnce = true")
    phone_page.wait_for_function("() => window.__stateEvents >= 1")  # subscribed before the call
    screenshot(phone_page, "own-ticket-waiting")

    # the second visitor's phone has JavaScript off: her page refreshes itself instead
    quiet = contexts(**playwright.devices["Pixel 5"], java_script_enabled=False).new_page()
    check_in_on(quiet, other, "La Ode Budi", "laode.budi@example.id")
    expect(quiet.locator(".ahead")).to_have_text("Antrian di depan Anda: 1")
    assert quiet.locator('noscript meta[http-equiv="refresh"]').count() == 1

    with phone_page.expect_response(lambda r: r.url.endswith("/api/voice/chime")) as chime:
        assert call_from_console(base_url, staff_login, 1)["number"] == "A001"
        expect(phone_page.locator(".called")).to_have_text("Silakan ke loket 1", timeout=3_000)
    assert chime.value.status in (200, 206) and chime.value.header_value("content-type") == "audio/wav"
    assert phone_page.evaluate("window.__loadedOnce") is True, "the page reloaded instead of updating live"
    assert phone_page.evaluate("window.__vibrations.length") == 1
    expect(phone_page.locator("body")).to_have_attribute("data-ticket-status", "called")
    screenshot(phone_page, "own-ticket-called")

    # her call moved the other visitor up, and his page shows no one else's number or name
    quiet.reload()
    expect(quiet.locator(".ahead")).to_have_text("Antrian di depan Anda: 0")
    assert call_from_console(base_url, staff_login, 2)["number"] == "A002"
    quiet.reload()
    expect(quiet.locator(".called")).to_have_text("Silakan ke loket 2")
    expect(quiet.get_by_text("A001")).to_have_count(0)
    expect(quiet.get_by_text("Wa Ode")).to_have_count(0)
    screenshot(quiet, "own-ticket-called-without-javascript")


def test_the_kiosk_shows_the_number_and_its_guestbook_qr_when_the_printer_failed(live_appliance, kiosk_page,
                                                                                 screenshot):
    assert httpx.post(f"{live_appliance.base_url}/_sim/printer", json={"online": False}, timeout=5).status_code == 200
    kiosk_page.goto("/")
    kiosk_page.get_by_role("button", name="Ambil Nomor Antrian").click()
    expect(kiosk_page.locator(".ticket .number")).to_have_text("A001")
    expect(kiosk_page.get_by_text("Tiket belum tercetak karena printer bermasalah.")).to_be_visible()
    expect(kiosk_page.get_by_role("img", name="Kode QR buku tamu untuk nomor ini")).to_be_visible()
    box = kiosk_page.locator(".guestbook-qr svg").bounding_box()
    assert box and box["width"] >= 200  # big enough to scan from a phone
    screenshot(kiosk_page, "ticket-with-guestbook-qr")

    # a number from the physical button meanwhile: the start page shows it, with its QR
    live_appliance.appliance.press()
    kiosk_page.goto("/")
    expect(kiosk_page.locator("#newest-unprinted .number")).to_have_text("A002", timeout=5_000)
    expect(kiosk_page.locator("#newest-unprinted svg")).to_be_visible()
    screenshot(kiosk_page, "kiosk-start-with-guestbook-qr")


def test_the_scanner_station_shows_initials_for_a_typed_number(live_appliance, phone_page, kiosk_page, screenshot):
    check_in_on(phone_page, take_number(live_appliance.base_url), "Wa Ode Sitti Hasanah", "waode.sitti@example.id")
    httpx.post(f"{live_appliance.base_url}/_sim/scanner/feed", json={"pages": 2}, timeout=5).raise_for_status()
    kiosk_page.goto("/pemindai")
    kiosk_page.locator("input[name=ticket_number]").fill("A001")
    kiosk_page.get_by_role("button", name="Mulai Memindai").click()
    expect(kiosk_page.locator("h1")).to_have_text("Pindaian selesai, W. O. S. H.", timeout=15_000)
    expect(kiosk_page.get_by_text("Hasanah")).to_have_count(0)
    screenshot(kiosk_page, "scanner-initials-only")
