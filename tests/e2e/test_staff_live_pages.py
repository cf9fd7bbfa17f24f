"""The staff's live pages in Chromium: the lists update in place (no reload), and what a librarian is typing stays."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_desk_journey import sign_in

SHELVES = [
    {"title": "Kecamatan Mandonga Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.7471010", "location": "storage", "shelf": "G-01-2"},
    {"title": "Kecamatan Poasia Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.7471020", "location": "storage", "shelf": "G-01-3"},
]
GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}


def navigations(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    return seen


def publication(appliance, title: str) -> str:
    return next(i["id"] for i in appliance.catalogue.search(title)["items"] if i["title"] == title)


def test_a_half_typed_reason_survives_the_fetch_list_updating(live_appliance, librarian_login, staff_page):
    appliance = live_appliance.appliance
    appliance.catalogue.import_rows(SHELVES)
    ani = appliance.check_in(GUEST | {"name": "Ani", "email": "ani@example.id"}).visit["id"]
    appliance.fetches.request(ani, publication(appliance, "Kecamatan Mandonga Dalam Angka 2024"))
    sign_in(staff_page, librarian_login)
    staff_page.goto("/petugas/permintaan")
    loads = navigations(staff_page)
    reason = staff_page.locator("input[name=note]").first
    reason.click()
    reason.press_sequentially("dipinjam bagian")
    budi = appliance.check_in(GUEST | {"name": "Budi", "email": "budi@example.id"}).visit["id"]
    appliance.fetches.request(budi, publication(appliance, "Kecamatan Poasia Dalam Angka 2024"))
    expect(staff_page.locator("#fetch-list")).to_contain_text("Kecamatan Poasia Dalam Angka 2024", timeout=20_000)
    expect(reason).to_have_value("dipinjam bagian")
    expect(reason).to_be_focused()
    assert loads == []  # updated in place: the page never reloaded
    expect(staff_page.locator("meta[http-equiv=refresh]")).to_have_count(0)


def test_the_locker_bank_follows_its_doors_in_place(live_appliance, staff_login, staff_page):
    sign_in(staff_page, staff_login)
    staff_page.goto("/petugas/loker")
    loads = navigations(staff_page)
    card = staff_page.locator(".locker").first.locator(".locker-state")
    expect(card).to_have_text("kosong")
    assert staff_page.request.post("/_sim/lockers/1/door", data={"open": True}).ok
    expect(card).to_have_text("kosong, pintu terbuka", timeout=10_000)
    assert loads == []
