"""The portal on a phone, in Chromium: the catalogue's results come before its facets, which fold into a <details>
(no JavaScript needed) and open beside the results on a wide screen; links and buttons are at least 44 px tall; a
complaint number wraps at its hyphens, not letter by letter; the English switch is one tap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import DESKTOP, watch_policy
from tests.e2e.test_portal_journey import portal  # noqa: F401  (the live portal fixture)

TOUCH_PX = 44


@pytest.fixture
def open_portal(browser, portal, csp_violations, playwright) -> Iterator[Callable[..., Page]]:  # noqa: F811
    made: list[BrowserContext] = []

    def new_page(device: str | None = "Pixel 5") -> Page:
        options = dict(playwright.devices[device]) if device else {"viewport": DESKTOP}
        context = browser.new_context(base_url=portal.base_url, locale="id-ID", java_script_enabled=False, **options)
        watch_policy(context, csp_violations)
        context.set_default_timeout(10_000)
        made.append(context)
        return context.new_page()

    yield new_page
    for context in made:
        context.close()


def test_on_a_phone_the_results_come_first_and_the_facets_fold(open_portal):
    page = open_portal()
    page.goto("/katalog")
    results, facets = page.locator(".results").bounding_box(), page.locator("details.facets").bounding_box()
    assert results["y"] < facets["y"], "the results must come before the facets on a phone"
    year_link = page.locator(".facets a", has_text="2024")
    expect(year_link).to_be_hidden()
    summary = page.locator(".facets summary")
    assert summary.bounding_box()["height"] >= TOUCH_PX
    summary.click()  # a <details> opens without JavaScript (this context has none)
    expect(year_link).to_be_visible()
    assert year_link.bounding_box()["height"] >= TOUCH_PX


def test_on_a_wide_screen_the_facets_stay_open_beside_the_results(open_portal):
    page = open_portal(device=None)
    page.goto("/katalog")
    expect(page.locator(".facets summary")).to_be_hidden()
    expect(page.locator(".facets a", has_text="2024")).to_be_visible()
    facets, results = page.locator("details.facets").bounding_box(), page.locator(".results").bounding_box()
    assert facets["x"] + facets["width"] <= results["x"]


@pytest.mark.parametrize("path", ["/", "/katalog", "/pengaduan", "/akun/masuk"])
def test_links_and_buttons_are_big_enough_for_a_finger(open_portal, path):
    page = open_portal()
    page.goto(path)
    targets = page.locator(
        "header nav a, nav.links a, .pager a, main button, main input:not([type=hidden]), main select")
    small = [(target.text_content() or target.get_attribute("name"), box["height"])
             for target in targets.all() if (box := target.bounding_box()) and box["height"] < TOUCH_PX]
    assert targets.count() > 1 and not small


def test_a_complaint_number_wraps_at_its_hyphens_on_a_phone(open_portal):
    page = open_portal()
    page.goto("/pengaduan")
    page.locator("#f-office").select_option(index=1)
    page.locator("#f-text").fill("Ruang baca terlalu panas pada siang hari; mohon kipas angin diperbaiki.")
    page.get_by_role("button", name="Kirim pengaduan").click()
    tracking = page.locator("p.tracking")
    expect(tracking).to_be_visible()
    number = tracking.inner_text().replace("\n", "")
    assert number.count("-") >= 2
    line = tracking.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    lines = round(tracking.bounding_box()["height"] / line)
    assert lines <= 2, f"{number} takes {lines} lines"
    assert tracking.bounding_box()["width"] <= page.viewport_size["width"]


def test_the_english_switch_is_one_tap_and_keeps_the_page(open_portal):
    page = open_portal()
    page.goto("/pengaduan")
    page.locator("header a.lang").click()
    expect(page).to_have_url(page.url)  # back on the same page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Send complaint")).to_be_visible()
