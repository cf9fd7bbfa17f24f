"""A visitor's morning, in Chromium: number at the kiosk, guestbook on the phone through the ticket's QR code,
called by a frontliner, and the TV board showing the call live (server-sent events, no reload).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# Set in the board's page after it loads; a reload would lose it.
MARK_LOADED = "window.__loadedOnce = true"
# Counts the board's own server-sent `board` events: once it is 1 the board is subscribed to calls.
COUNT_BOARD_EVENTS = """
(() => {
  const Native = window.EventSource;
  window.__boardEvents = 0;
  window.EventSource = function (url, options) {
    const source = new Native(url, options);
    source.addEventListener("board", () => { window.__boardEvents += 1; });
    return source;
  };
  window.EventSource.prototype = Native.prototype;
})();
"""


def fill_guestbook(page: Page, name: str, email: str) -> None:
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=gender][value=P]").check()
    page.locator("input[name=email]").fill(email)
    page.locator("select[name=occupation]").select_option("peneliti")
    page.locator("input[name=purposes][value=baca_tercetak]").check()
    page.locator("input[name=id_type][value=KTP]").check()


def test_visitor_takes_a_number_fills_the_guestbook_on_a_phone_and_is_called_on_the_board(
    live_appliance, staff_login, kiosk_page, phone_page, board_page, staff_page, screenshot,
):
    appliance = live_appliance.appliance

    # (a) the kiosk: one tap, one number
    kiosk_page.goto("/")
    expect(kiosk_page.get_by_role("button", name="Ambil Nomor Antrian")).to_be_visible()
    screenshot(kiosk_page, "kiosk")
    kiosk_page.get_by_role("button", name="Ambil Nomor Antrian").click()
    expect(kiosk_page).to_have_url(re.compile(r"/tiket/[^/]+$"))
    expect(kiosk_page.locator(".ticket .number")).to_have_text("A001")
    expect(kiosk_page.get_by_text("Silakan ambil tiket Anda di printer.")).to_be_visible()
    screenshot(kiosk_page, "ticket-on-kiosk")
    ticket_id = kiosk_page.url.rsplit("/", 1)[1]

    # (b) the printed ticket's QR code opens this ticket's guestbook on the visitor's phone
    qr_url = appliance.hardware.emulator.wait_for_tickets(1, timeout=5)[0].qr[0]
    assert qr_url == f"{live_appliance.base_url}/buku-tamu/{ticket_id}"
    phone_page.goto(qr_url)
    expect(phone_page.locator(".ticket-tag")).to_contain_text("A001")
    fill_guestbook(phone_page, "Wa Ode Sitti Hasanah", "waode.sitti@example.id")
    screenshot(phone_page, "guestbook-filled-on-phone")
    phone_page.locator("form button[type=submit]").tap()
    expect(phone_page).to_have_url(re.compile(r"/kunjungan/[A-Za-z0-9_-]{22}$"))  # her own page, by a random token
    expect(phone_page.locator(".done .number")).to_have_text("A001")
    # checked in at 09.00 on the test's clock: the service standard promises 5 minutes
    expect(phone_page.locator(".done .promise")).to_have_text("Anda akan dilayani paling lambat pukul 09.05 WITA.")
    screenshot(phone_page, "guestbook-thanks-on-phone")
    [visit] = appliance.visits.of_day(appliance.queue.today().isoformat())
    assert (visit["number"], visit["email"], visit["purposes"]) == ("A001", "waode.sitti@example.id", ["baca_tercetak"])

    # (c) the TV board is open, and subscribed, before anyone is called
    board_page.add_init_script(COUNT_BOARD_EVENTS)
    board_page.goto("/layar")
    board_page.evaluate(MARK_LOADED)
    # a function, not an expression: Playwright polls an expression with eval, which the page's CSP refuses
    board_page.wait_for_function("() => window.__boardEvents >= 1")
    expect(board_page.locator("#now-number")).to_have_text("—")
    screenshot(board_page, "board-before-call")

    # (d) the frontliner signs in and calls the next visitor to counter 1
    staff_page.goto("/petugas/masuk")
    staff_page.locator("input[name=username]").fill(staff_login.username)
    staff_page.locator("input[name=password]").fill(staff_login.password)
    screenshot(staff_page, "staff-sign-in")
    staff_page.locator("form button[type=submit]").click()
    expect(staff_page).to_have_url(re.compile(r"/petugas(\?.*)?$"))
    with board_page.expect_response(lambda r: r.url.endswith("/api/voice?number=A001&counter=1")) as spoken:
        staff_page.get_by_role("button", name="Panggil berikutnya ke loket 1").click()
        expect(staff_page.get_by_role("status")).to_have_text("Nomor A001 dipanggil ke loket 1")
        screenshot(staff_page, "console-after-call")

        # (e) the board shows the call without reloading, and asks the appliance for the spoken call
        expect(board_page.locator("#now-number")).to_have_text("A001", timeout=3_000)
        expect(board_page.locator("#now-counter")).to_have_text("Silakan ke loket 1")
        expect(board_page.locator("body")).to_have_attribute("data-last-call", "A001@1", timeout=3_000)
    assert board_page.evaluate("window.__loadedOnce") is True, "the board reloaded instead of updating live"
    assert board_page.evaluate("window.__boardEvents") == 1, "the board's event stream reconnected"
    assert spoken.value.status in (200, 206)  # a media element may ask for a range
    assert spoken.value.header_value("content-type") == "audio/wav"
    screenshot(board_page, "board-after-call")
    assert appliance.queue.get(ticket_id).status == "called"


def test_guestbook_with_a_bad_email_says_so_beside_the_field_and_stores_nothing(live_appliance, phone_page, screenshot):
    issued = phone_page.request.post("/api/tickets", data={})
    assert issued.status == 201
    ticket = issued.json()
    live_appliance.appliance.spooler.wait_idle(timeout=5)
    stored_before = {table: live_appliance.count(table) for table in ("visits", "tickets", "outbox")}
    phone_page.goto(f"/buku-tamu/{ticket['id']}")
    fill_guestbook(phone_page, "La Ode Budi", "budi@")
    screenshot(phone_page, "guestbook-filled-with-bad-email")
    with phone_page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/buku-tamu")) as answer:
        phone_page.locator("form button[type=submit]").tap()
    assert answer.value.status == 400
    email_field = phone_page.locator("label", has=phone_page.locator("input[name=email]"))
    expect(email_field.locator(".field-error")).to_have_text("alamat e-mail tidak sah")
    summary = phone_page.get_by_role("alert")
    expect(summary).to_contain_text("Periksa kembali isian yang ditandai.")
    expect(summary.get_by_role("link", name="alamat e-mail tidak sah")).to_have_attribute("href", "#f-email")
    expect(phone_page.locator("input[name=email]")).to_have_attribute("aria-invalid", "true")
    expect(phone_page.locator(".field-error")).to_have_count(1)
    # what was typed is kept, so only the e-mail needs correcting
    expect(phone_page.locator(".ticket-tag")).to_contain_text(ticket["number"])
    expect(phone_page.locator("input[name=name]")).to_have_value("La Ode Budi")
    expect(phone_page.locator("input[name=email]")).to_have_value("budi@")
    expect(phone_page.locator("input[name=gender][value=P]")).to_be_checked()
    expect(phone_page.locator("select[name=occupation]")).to_have_value("peneliti")
    screenshot(phone_page, "guestbook-bad-email-error")
    assert stored_before["visits"] == 0
    assert {table: live_appliance.count(table) for table in stored_before} == stored_before
