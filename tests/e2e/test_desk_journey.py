"""A visit at the desk, in Chromium: a locker against the ID card, three pages through the self-service scanner,
the watermarked PDF downloaded by its code, and checkout (bag and ID card back, locker free once its door shuts).
"""

from __future__ import annotations

import re

import pymupdf
from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_until

NIK = "7471015708990002"
GUEST = {
    "name": "Wa Ode Nurhaliza", "gender": "P", "email": "wa.ode@uho.ac.id", "occupation": "pelajar",
    "institution": "Universitas Halu Oleo", "purposes": ["baca_tercetak", "pindai"], "id_type": "KTP",
}


def sign_in(page: Page, login) -> None:
    page.goto("/petugas/masuk")
    page.locator("input[name=username]").fill(login.username)
    page.locator("input[name=password]").fill(login.password)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/petugas(\?.*)?$"))


def test_locker_scan_download_and_checkout_from_the_pages(
    live_appliance, staff_login, staff_page, kiosk_page, screenshot,
):
    appliance = live_appliance.appliance
    visit = appliance.check_in(GUEST).visit
    number = appliance.queue.get(visit["ticket_id"]).number

    # the frontliner gives a locker against the KTP
    sign_in(staff_page, staff_login)
    staff_page.goto(f"/petugas/kunjungan/{visit['id']}")
    staff_page.locator("input[name=id_number]").fill(NIK)
    screenshot(staff_page, "visit-before-locker")
    staff_page.get_by_role("button", name="Beri loker").click()
    expect(staff_page.get_by_role("status")).to_have_text("Loker 1 dibuka untuk pengunjung ini")
    expect(staff_page.locator("main")).to_contain_text("berakhiran 0002")
    screenshot(staff_page, "visit-with-locker")
    for is_open in (True, False):  # the bag goes in, the door shuts
        assert staff_page.request.post("/_sim/lockers/1/door", data={"open": is_open}).ok

    # three pages through the self-service scanner
    assert staff_page.request.post("/_sim/scanner/feed", data={"pages": 3}).ok
    kiosk_page.goto("/pemindai")
    kiosk_page.locator("input[name=ticket_number]").fill(number)
    screenshot(kiosk_page, "scanner-station")
    kiosk_page.locator("form.scan-form button[type=submit]").click()
    expect(kiosk_page.locator(".code")).to_be_visible(timeout=20_000)  # the job page refreshes until it is ready
    expect(kiosk_page.locator("main")).to_contain_text("3 halaman dalam PDF ini")
    screenshot(kiosk_page, "scan-ready")
    code = kiosk_page.locator(".code").inner_text().strip()

    # the PDF, by its code: three pages, each watermarked for this visitor
    download = kiosk_page.request.get(f"/d/{code}")
    assert download.ok and download.headers["content-type"] == "application/pdf"
    pdf = pymupdf.open(stream=download.body(), filetype="pdf")
    assert pdf.page_count == 3
    for page in pdf:
        text = " ".join(page.get_text().split())
        assert "untuk Wa Ode Nurhaliza" in text and "BPS Provinsi Sulawesi Tenggara" in text
    assert kiosk_page.request.get(f"/d/{code[::-1]}").status == 404

    # checkout: the locker opens once more, the ID card goes back, the visit closes
    staff_page.goto(f"/petugas/kunjungan/{visit['id']}")
    staff_page.locator("input[name=id_number]").fill(NIK)
    staff_page.get_by_role("button", name="Checkout: kembalikan tas dan kartu identitas").click()
    expect(staff_page.get_by_role("status")).to_have_text(
        "Checkout selesai; loker 1 dibuka dan kartu identitas dikembalikan"
    )
    screenshot(staff_page, "visit-checked-out")
    assert appliance.visits.get(visit["id"])["finished_at"]
    assert [lk["status"] for lk in appliance.lockers.bank_state()][0] == "releasing"
    for is_open in (True, False):  # the visitor takes the bag and shuts the door
        assert staff_page.request.post("/_sim/lockers/1/door", data={"open": is_open}).ok
    wait_until(lambda: appliance.lockers.bank_state()[0]["status"] == "free", 5, "locker 1 was not freed")
    staff_page.goto("/petugas/loker")
    expect(staff_page.locator(".locker").first).to_contain_text("kosong")
    screenshot(staff_page, "locker-bank-after-checkout")
