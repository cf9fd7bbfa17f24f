"""The office head's report in Chromium: a month of desk activity (made through the appliance's services), the
page with its server-drawn SVG charts, and its exports; screenshots under test-artifacts/e2e/."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from edge.demo_activity import generate_activity
from tests.e2e.test_desk_journey import sign_in


def test_the_monthly_report_in_the_browser(live_appliance, head_login, staff_page, screenshot, settings):
    appliance = live_appliance.appliance
    visits = generate_activity(appliance.store, settings, until=date(2026, 11, 30), days=29)
    assert visits > 100
    sign_in(staff_page, head_login)
    staff_page.goto("/petugas/laporan?from=2026-11-01&to=2026-11-29")
    expect(staff_page.locator("h1")).to_be_visible()
    charts = staff_page.locator("svg")
    assert charts.count() >= 4
    assert staff_page.locator("svg title").count() > 20  # every bar names its value
    text = staff_page.locator("main").inner_text()
    assert str(visits) in text  # the month's visits, as counted in the store
    assert "IKM" in text
    screenshot(staff_page, "report")
    for kind, media in (("pdf", "application/pdf"), ("xlsx", "spreadsheetml"), ("csv", "text/csv")):
        answer = staff_page.request.get(f"/petugas/laporan/{kind}?from=2026-11-01&to=2026-11-29")
        assert answer.ok and media in answer.headers["content-type"]


def test_the_ikm_of_a_quarter_at_one_click_prints_as_an_a4_sheet(live_appliance, head_login, staff_page, screenshot,
                                                                settings):
    generate_activity(live_appliance.appliance.store, settings, until=date(2026, 11, 30), days=29)
    sign_in(staff_page, head_login)
    staff_page.goto("/petugas/ikm")
    staff_page.get_by_role("link", name="Triwulan ini").click()
    sheet = staff_page.locator("article.sheet")
    expect(sheet.locator("[data-figure=period]")).to_have_text("Periode Triwulan IV 2026")
    expect(sheet.locator("tr[data-element]")).to_have_count(9)
    assert "," in sheet.locator("[data-figure=ikm]").inner_text()  # 88,31 — Indonesian decimals
    screenshot(staff_page, "ikm-quarter")
    staff_page.emulate_media(media="print")
    assert not staff_page.locator("nav.choices").is_visible() and sheet.is_visible()
    screenshot(staff_page, "ikm-quarter-print")
    staff_page.emulate_media(media="screen")
    answer = staff_page.request.get("/petugas/ikm/periode/pdf?periode=2026-T4")
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
