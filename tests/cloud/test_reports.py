"""The office heads' report on the portal: figures per office and for all offices from the tables the sync fills
(visits, ratings, complaints, edge_records), for staff only, the page with its charts and the exports. Every test
runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pymupdf
import pytest
from openpyxl import load_workbook

from tests.cloud.conftest import add_reader, as_, run_db, sign_in
from tests.conftest import MONDAY_MORNING

STAFF = ("kepala@bps.go.id", "Kepala BPS Sultra")

MONDAY = {"from": "2026-11-30", "to": "2026-11-30"}
SHEET_HIGH = {f"u{i}": 4 for i in range(1, 10)}
SHEET_LOW = {f"u{i}": 3 for i in range(1, 10)} | {"u3": 1}


def visit(client, office: str, number: int, wait_s: int | None, minutes: int = 0, **profile) -> None:
    at = MONDAY_MORNING + timedelta(minutes=minutes)
    run_db(client, "INSERT INTO visits (id, office_code, checked_in_at, wait_s, purposes, institution, education,"
                   " occupation) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
           f"visit-{office}-{number}", office, at, wait_s, profile.get("purposes", "baca_tercetak"),
           profile.get("institution"), profile.get("education", "s1"), profile.get("occupation", "pelajar"))


def rating(client, office: str, number: int, sheet: dict, source: str = "kiosk") -> None:
    columns = ", ".join(sheet)
    marks = ", ".join("{}" for _ in sheet)
    run_db(client, f"INSERT INTO ratings (id, office_code, source, rated_at, received_at, {columns})"
                   f" VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {marks})",
           f"rating-{office}-{number}", office, source, MONDAY_MORNING, MONDAY_MORNING, *sheet.values())


def complaint(client, office: str, number: int, status: str, resolved_after: timedelta | None = None) -> None:
    resolved = MONDAY_MORNING + resolved_after if resolved_after else None
    run_db(client, "INSERT INTO complaints (id, tracking, office_code, origin, channel, text, status, received_at,"
                   " resolved_at, updated_at) VALUES ({}, {}, {}, 'edge', 'langsung', 'Ruang baca panas sekali',"
                   " {}, {}, {}, {})",
           f"complaint-{office}-{number}", f"ADU-{office}-2611-ABCDE{number}", office, status, MONDAY_MORNING,
           resolved, MONDAY_MORNING)


def desk_record(client, office: str, entity: str, record_id: str, data: dict) -> None:
    run_db(client, "INSERT INTO edge_records (entity, record_id, office_code, data, born_at, updated_at)"
                   " VALUES ({}, {}, {}, {}, {}, {})",
           entity, record_id, office, json.dumps(data), MONDAY_MORNING, MONDAY_MORNING)


@pytest.fixture
def month(client, offices):
    """Kendari province office (7400): 3 visits (1, 3⅓ and 7 minutes), 2 ratings, a complaint resolved in 2 hours,
    a fetch handed over, a scan of 12 pages. Kota Kendari (7471): 2 visits, 1 rating, an open complaint, a scan of 5
    pages. And one 7400 visit in October, outside the range."""
    visit(client, "7400", 1, 60, institution="Universitas Halu Oleo", purposes="baca_tercetak;pindai")
    visit(client, "7400", 2, 200, minutes=30, institution="universitas  halu oleo", education="s2")
    visit(client, "7400", 3, 420, minutes=60, institution="Bappeda Provinsi Sultra", occupation="asn")
    visit(client, "7400", 4, 30, minutes=-60 * 24 * 40)
    visit(client, "7471", 1, 100, institution="IAIN Kendari", purposes="softcopy")
    visit(client, "7471", 2, 500, minutes=5, occupation="jurnalis")
    rating(client, "7400", 1, SHEET_HIGH)
    rating(client, "7400", 2, SHEET_LOW, source="portal")
    rating(client, "7471", 1, SHEET_LOW)
    complaint(client, "7400", 1, "selesai", timedelta(hours=2))
    complaint(client, "7471", 1, "diterima")
    desk_record(client, "7400", "fetch_request", "fetch-1",
                {"status": "diserahkan", "requested_at": MONDAY_MORNING.isoformat(), "last_event": "diserahkan"})
    desk_record(client, "7400", "scan", "scan-1", {"pages": 12, "error": None, "last_event": "ready"})
    desk_record(client, "7471", "scan", "scan-2", {"pages": 5, "error": "Kertas macet", "last_event": "failed"})
    desk_record(client, "7471", "ticket", "ticket-1", {"status": "done"})
    return client


@pytest.fixture
def staff(month):
    return as_(month, sign_in(month, *STAFF, "staff"))


def test_one_office_has_its_own_figures(staff):
    report = staff.get("/api/reports/service", params=MONDAY | {"office": "7400"}).json()
    assert report["office"] == "7400" and report["visits"] == 3 and report["served"] == 3
    assert report["median_wait_s"] == 200.0 and report["within_5min_ratio"] == round(2 / 3, 4)
    assert report["days"] == [{"date": "2026-11-30", "visits": 3, "served": 3, "median_wait_s": 200.0,
                               "p90_wait_s": 376.0, "within_5min_ratio": round(2 / 3, 4)}]
    assert report["institutions"][0] == {"key": "universitas halu oleo", "label": "Universitas Halu Oleo", "count": 2}
    assert report["fetches"]["requests"] == 1 and report["fetches"]["handed"] == 1
    assert report["scans"] == {"jobs": 1, "pages": 12, "failed": 0}
    assert report["complaints"] == {"total": 1, "resolved": 1, "by_status": {"diterima": 0, "ditindaklanjuti": 0,
                                    "selesai": 1}, "median_resolve_s": 7200}


def test_all_offices_add_up(staff):
    report = staff.get("/api/reports/service", params=MONDAY).json()
    assert report["office"] is None and report["visits"] == 5 and report["served"] == 5
    assert report["scans"] == {"jobs": 2, "pages": 17, "failed": 1}
    assert report["complaints"]["by_status"] == {"diterima": 1, "ditindaklanjuti": 0, "selesai": 1}
    occupations = {row["key"]: row["count"] for row in report["occupation"]}
    assert occupations["pelajar"] == 3 and occupations["asn"] == 1 and occupations["jurnalis"] == 1


def test_the_ikm_per_office_and_for_all(staff):
    one = staff.get("/api/reports/ikm", params=MONDAY | {"office": "7400"}).json()
    assert one["respondents"] == 2 and one["nrr"]["U3"] == 2.5 and one["nrr"]["U1"] == 3.5
    assert one["weakest_first"][0] == "U3" and one["weight"] == "1/9"
    every = staff.get("/api/reports/ikm", params=MONDAY).json()
    assert every["respondents"] == 3 and every["nrr"]["U1"] == 3.3333 and every["grade"] in ("A", "B", "C", "D")


def test_reports_are_for_staff_only(month, offices):
    as_(month, None)
    assert month.get("/api/reports/service").status_code == 401
    assert month.get("/api/reports/ikm").status_code == 401
    assert month.get("/kantor/laporan", follow_redirects=False).headers["location"] == "/akun/masuk"
    as_(month, add_reader(month, "pembaca@example.id", "Pembaca Setia"))
    assert month.get("/api/reports/service").status_code == 403
    assert month.get("/api/reports/ikm").status_code == 403
    assert month.get("/kantor/laporan").status_code == 403
    assert month.get("/kantor/laporan/pdf").status_code == 403


@pytest.mark.parametrize("query, status, field", [
    ({"from": "30-11-2026"}, 400, "from"),
    ({"from": "2026-12-01", "to": "2026-11-30"}, 400, "from"),
    ({"office": "9999"}, 404, "office"),
])
def test_bad_ranges_and_unknown_offices_are_refused(staff, query, status, field):
    for path in ("/api/reports/service", "/api/reports/ikm", "/kantor/laporan/csv"):
        answer = staff.get(path, params=query)
        assert answer.status_code == status and field in answer.json()["errors"]
    assert staff.get("/kantor/laporan", params=query).status_code == status


def test_the_page_and_the_exports(staff):
    page = staff.get("/kantor/laporan", params=MONDAY | {"office": "7400"})
    assert page.status_code == 200 and "Provinsi Sulawesi Tenggara" in page.text
    assert page.text.count("<svg") >= 9 and "/kantor/laporan/pdf?office=7400&amp;from=2026-11-30" in page.text
    csv_answer = staff.get("/kantor/laporan/csv", params=MONDAY | {"office": "7400"})
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "ringkasan,kunjungan,Kunjungan,3" in csv_answer.content.decode("utf-8-sig")
    book = load_workbook(io.BytesIO(staff.get("/kantor/laporan/xlsx", params=MONDAY).content))
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=5, values_only=True)}
    assert summary["Kunjungan"] == 5 and summary["Halaman dipindai"] == 17
    pdf_answer = staff.get("/kantor/laporan/pdf", params=MONDAY | {"office": "7471"})
    assert pdf_answer.headers["content-type"] == "application/pdf"
    assert 'filename="laporan-pst-7471-2026-11-30-2026-11-30.pdf"' in pdf_answer.headers["content-disposition"]
    text = " ".join(p.get_text() for p in pymupdf.open(stream=pdf_answer.content))
    assert "Badan Pusat Statistik Kota Kendari" in text and "Jurnalis" in text


# --- the IKM per period ----------------------------------------------------------------------------------------------
def test_the_ikm_per_period_per_office_and_for_all(staff):
    html = staff.get("/kantor/ikm", params={"office": "7400", "periode": "2026-T4"}).text
    assert 'data-figure="period">Periode Triwulan IV 2026<' in html and 'data-figure="respondents">2<' in html
    # all 4s and all 3s but U3 = 1: U3 averages 2,5, the weighted NRR (3,5 × 8 + 2,5) / 9 = 3,3888, IKM 84,72: B
    assert 'data-figure="nrr_weighted">3,3888<' in html and 'data-figure="ikm">84,72<' in html
    assert 'data-figure="grade">B<' in html and "Kepala BPS Provinsi Sulawesi Tenggara" in html
    for key in ("2026-11", "2026-10", "2026-T4", "2026-T3", "2026-S2", "2026-S1", "2026", "2025"):
        assert f'href="/kantor/ikm?office=7400&amp;periode={key}"' in html, key
    every = staff.get("/kantor/ikm", params={"periode": "2026-11"}).text
    assert 'data-figure="respondents">3<' in every and "Perpustakaan PST, semua kantor BPS" in every
    assert "/kantor/ikm?office=" in staff.get("/kantor/laporan", params=MONDAY).text  # one click from the report


def test_the_ikm_sheet_as_a_pdf_per_office_and_for_all(staff):
    answer = staff.get("/kantor/ikm/pdf", params={"office": "7471", "periode": "bulan-ini"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert 'filename="ikm-7471-2026-11.pdf"' in answer.headers["content-disposition"]
    text = pymupdf.open(stream=answer.content)[0].get_text()
    for words in ("Badan Pusat Statistik Kota Kendari", "Periode November 2026", ": 1 orang", "Kepala BPS Kota Kendari",
                  "30 November 2026", "NIP."):
        assert words in text, words
    every = pymupdf.open(stream=staff.get("/kantor/ikm/pdf", params={"periode": "2026"}).content)[0].get_text()
    assert "Perpustakaan PST, semua kantor BPS" in every and "Periode Tahun 2026" in every


def test_a_period_without_ratings_says_so(staff):
    html = staff.get("/kantor/ikm", params={"office": "7400", "periode": "2025-S2"}).text
    assert 'data-figure="empty"' in html and 'data-figure="respondents">0<' in html and "NaN" not in html
    report = staff.get("/kantor/laporan", params={"office": "7400", "from": "2026-09-01", "to": "2026-09-30"}).text
    assert 'data-figure="empty"' in report and "<svg" not in report


@pytest.mark.parametrize("query, status, field", [
    ({"periode": "2026-T9"}, 400, "periode"),
    ({"periode": "minggu-ini"}, 400, "periode"),
    ({"office": "9999", "periode": "2026-11"}, 404, "office"),
])
def test_a_bad_period_or_office_is_refused_on_the_ikm_page_and_pdf(staff, query, status, field):
    assert staff.get("/kantor/ikm", params=query).status_code == status
    answer = staff.get("/kantor/ikm/pdf", params=query)
    assert answer.status_code == status and field in answer.json()["errors"]


def test_the_ikm_per_period_is_for_staff_only(month, offices):
    as_(month, None)
    assert month.get("/kantor/ikm", follow_redirects=False).headers["location"] == "/akun/masuk"
    assert month.get("/kantor/ikm/pdf").status_code == 401
    as_(month, add_reader(month, "pembaca@example.id", "Pembaca Setia"))
    assert month.get("/kantor/ikm").status_code == 403 and month.get("/kantor/ikm/pdf").status_code == 403
