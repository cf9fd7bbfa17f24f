"""The office head's report on the appliance: the staff page with its charts, the exports, the JSON contract."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pymupdf
import pytest
from openpyxl import load_workbook

from edge.users import add_user

GUEST = {"name": "Wa Ode Nurhayati", "gender": "P", "occupation": "peneliti", "education": "s2",
         "institution": "Universitas Halu Oleo", "purposes": ["baca_tercetak", "pindai"], "id_type": "KTP"}
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
MONDAY = {"from": "2026-11-30", "to": "2026-11-30"}


@pytest.fixture
def staff(client, app, clock):
    add_user(app.state.appliance.store, clock, "kepala", "admin", "rahasia-kepala-1")
    assert client.post("/api/session", json={"username": "kepala", "password": "rahasia-kepala-1"}).status_code == 200
    return client


@pytest.fixture
def served_day(staff, clock):
    """Two visitors on Monday: one served after 2 minutes, one after 7; one rating; one complaint."""
    first = staff.post("/api/visits", json=GUEST | {"email": "nur@example.id"}).json()
    second = staff.post("/api/visits", json=GUEST | {"email": "budi@example.id", "institution": "IAIN Kendari",
                                                       "purposes": ["softcopy"]}).json()
    clock.advance(minutes=2)
    called = staff.post("/api/counters/1/call").json()
    staff.post(f"/api/tickets/{called['id']}/serve")
    clock.advance(minutes=5)
    called = staff.post("/api/counters/2/call").json()
    staff.post(f"/api/tickets/{called['id']}/serve")
    staff.post("/api/ratings", json={"token": first["token"], "scores": {f"U{i}": 4 for i in range(1, 10)} | {"U3": 2}})
    staff.post("/api/complaints", json={"channel": "langsung", "text": "Antrian di loket terlalu lama hari ini"})
    return staff


def test_the_report_page_needs_a_staff_session(client):
    answer = client.get("/petugas/laporan", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/petugas/masuk"
    for kind in EXPORTS:
        assert client.get(f"/petugas/laporan/{kind}", follow_redirects=False).status_code in (303, 401)


def test_the_page_shows_the_figures_and_the_charts(served_day):
    page = served_day.get("/petugas/laporan", params=MONDAY)
    assert page.status_code == 200
    html = page.text
    assert "Laporan layanan perpustakaan" in html and "/petugas/laporan/pdf?from=2026-11-30&amp;to=2026-11-30" in html
    assert "50,0%" in html  # one of two served within 5 minutes
    svgs = [part.split("</svg>")[0] + "</svg>" for part in html.split("<svg")[1:]]
    assert len(svgs) >= 8
    day_chart = ET.fromstring("<svg" + svgs[0])
    assert day_chart.find("{http://www.w3.org/2000/svg}title").text == "Kunjungan per hari"


def test_the_page_follows_the_language(served_day):
    served_day.cookies.set("pst_lang", "en")
    html = served_day.get("/petugas/laporan", params=MONDAY).text
    assert "Library service report" in html and "Visits per day" in html and "30 November 2026" in html
    assert "50.0%" in html and "4 min 30 s" in html  # English numbers and units; Indonesian writes 50,0% and mnt


@pytest.mark.parametrize("query, field", [
    ({"from": "30-11-2026"}, "from"),
    ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-11-30"}, "to"),
])
def test_a_bad_range_is_refused_on_the_page_and_the_exports(staff, query, field):
    page = staff.get("/petugas/laporan", params=query)
    assert page.status_code == 400 and 'role="alert"' in page.text
    for kind in EXPORTS:
        answer = staff.get(f"/petugas/laporan/{kind}", params=query)
        assert answer.status_code == 400 and field in answer.json()["errors"]


def test_the_exports_have_their_content_types_and_the_figures(served_day):
    for kind, media_type in EXPORTS.items():
        answer = served_day.get(f"/petugas/laporan/{kind}", params=MONDAY)
        assert answer.status_code == 200 and answer.headers["content-type"] == media_type
        assert "laporan-pst-7400-2026-11-30-2026-11-30" in answer.headers["content-disposition"]
    csv_text = served_day.get("/petugas/laporan/csv", params=MONDAY).content.decode("utf-8-sig")
    assert "ringkasan,kunjungan,Kunjungan,2" in csv_text and "instansi,universitas halu oleo" in csv_text
    book = load_workbook(io.BytesIO(served_day.get("/petugas/laporan/xlsx", params=MONDAY).content))
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=5, values_only=True)}
    assert summary["Kunjungan"] == 2 and summary["Rasio dilayani dalam 5 menit"] == 0.5
    pdf = pymupdf.open(stream=served_day.get("/petugas/laporan/pdf", params=MONDAY).content)
    text = " ".join(page.get_text() for page in pdf)
    assert "Badan Pusat Statistik Provinsi Sulawesi Tenggara" in text and "Kendari, 30 November 2026" in text


def test_the_service_api_keeps_its_contract_and_adds_the_profile(served_day):
    report = served_day.get("/api/reports/service", params=MONDAY).json()
    assert {"visits", "served", "median_wait_s", "p90_wait_s", "within_5min_ratio", "days"} <= set(report)
    assert report["visits"] == 2 and report["served"] == 2 and report["within_5min_ratio"] == 0.5
    assert report["days"][0]["date"] == "2026-11-30" and report["days"][0]["visits"] == 2
    institutions = {row["label"]: row["count"] for row in report["institutions"]}
    assert institutions == {"Universitas Halu Oleo": 1, "IAIN Kendari": 1}
    purposes = {row["key"]: row["count"] for row in report["purposes"]}
    assert purposes["baca_tercetak"] == 1 and purposes["softcopy"] == 1 and purposes["pustaka_digital"] == 0
    assert report["complaints"]["by_status"] == {"diterima": 1, "ditindaklanjuti": 0, "selesai": 0}


def test_a_morning_visit_counts_on_its_office_day(staff, clock):
    """Stored in UTC, reported by office day: 07:30 WITA on Tuesday is still Monday 23:30 UTC."""
    from datetime import datetime

    from tests.conftest import WITA

    clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=WITA))
    staff.post("/api/visits", json=GUEST | {"email": "pagi@example.id"})
    tuesday = staff.get("/api/reports/service", params={"from": "2026-12-01", "to": "2026-12-01"}).json()
    monday = staff.get("/api/reports/service", params={"from": "2026-11-30", "to": "2026-11-30"}).json()
    assert tuesday["visits"] == 1 and monday["visits"] == 0


def test_every_shared_word_the_page_shows_is_in_the_catalogue():
    from edge.reports import REPORT_WORDS, SHARED_WORDS
    from edge.guestbook import EDUCATION, OCCUPATIONS, PURPOSES
    from pst import reports

    assert set(SHARED_WORDS) <= set(REPORT_WORDS)
    assert (reports.PURPOSES, reports.EDUCATION, reports.OCCUPATIONS) == (PURPOSES, EDUCATION, OCCUPATIONS)


def test_the_shared_ikm_answer_is_the_desk_s(served_day, app):
    """The cloud answers /api/reports/ikm through pst.reports.ikm_json: the same shape as the appliance's."""
    from datetime import date

    from edge.ratings import ikm_json as desk_json
    from edge.reports import report_figures
    from pst.reports import ikm_json

    appliance = app.state.appliance
    figures = report_figures(appliance.store, appliance.config, date(2026, 11, 30), date(2026, 11, 30),
                             appliance.clock.now())
    assert ikm_json(figures.ikm) == desk_json(figures.ikm)
    answer = served_day.get("/api/reports/ikm", params=MONDAY).json()
    assert {key: answer[key] for key in ikm_json(figures.ikm)} == ikm_json(figures.ikm)


# --- the IKM per period ----------------------------------------------------------------------------------------------
def test_the_ikm_per_period_needs_a_staff_session(client):
    for path in ("/petugas/ikm/periode", "/petugas/ikm/periode/pdf"):
        assert client.get(path, follow_redirects=False).status_code in (303, 401)


def test_every_period_is_one_click_away_and_the_chosen_one_is_named_in_words(served_day):
    page = served_day.get("/petugas/ikm/periode", params={"periode": "2026-T4"})
    assert page.status_code == 200
    html = page.text
    for key in ("2026-11", "2026-10", "2026-T4", "2026-T3", "2026-S2", "2026-S1", "2026", "2025"):
        assert f'href="/petugas/ikm/periode?periode={key}"' in html, key
    assert 'periode=2026-T4" aria-current="page">Triwulan IV 2026</a>' in html
    assert 'data-figure="period">Periode Triwulan IV 2026<' in html and 'data-figure="respondents">1<' in html
    # one respondent: 4 everywhere but U3 (2): weighted NRR 34/9 = 3,7777, IKM 94,44, A
    assert 'data-figure="nrr_weighted">3,7777<' in html and 'data-figure="ikm">94,44<' in html
    assert 'data-figure="grade">A<' in html and "Kepala BPS Provinsi Sulawesi Tenggara" in html
    assert "Kendari, 30 November 2026" in html and "tepat 1/9" in html
    assert "/petugas/ikm/periode/pdf?periode=2026-T4" in html


def test_the_ikm_per_period_in_english(served_day):
    served_day.cookies.set("pst_lang", "en")
    html = served_day.get("/petugas/ikm/periode", params={"periode": "2026-T4"}).text
    assert "Period Quarter IV 2026" in html and 'data-figure="ikm">94.44<' in html and "Very good" in html


def test_a_period_without_ratings_says_so_on_the_page_and_on_the_sheet(served_day):
    html = served_day.get("/petugas/ikm/periode", params={"periode": "2025"}).text
    assert 'data-figure="empty"' in html and "Tidak ada responden SKM pada periode ini" in html
    assert 'data-figure="respondents">0<' in html and "NaN" not in html
    pdf = pymupdf.open(stream=served_day.get("/petugas/ikm/periode/pdf", params={"periode": "2025"}).content)
    assert "Tidak ada responden SKM pada periode ini" in pdf[0].get_text()


def test_the_ikm_sheet_as_a_pdf_to_sign(served_day):
    answer = served_day.get("/petugas/ikm/periode/pdf", params={"periode": "bulan-ini"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert 'filename="ikm-7400-2026-11.pdf"' in answer.headers["content-disposition"]
    text = pymupdf.open(stream=answer.content)[0].get_text()
    for words in ("LAPORAN INDEKS KEPUASAN MASYARAKAT (IKM)", "Periode November 2026", "94,44", "Sangat baik",
                  "Kendari, 30 November 2026", "Kepala BPS Provinsi Sulawesi Tenggara", "NIP."):
        assert words in text, words


@pytest.mark.parametrize("periode", ["2026-13", "triwulan-depan", "kemarin"])
def test_a_period_that_cannot_be_read_is_a_400_on_the_page_and_the_pdf(staff, periode):
    page = staff.get("/petugas/ikm/periode", params={"periode": periode})
    assert page.status_code == 400 and 'role="alert"' in page.text and "Triwulan" in page.text  # the choices stay
    answer = staff.get("/petugas/ikm/periode/pdf", params={"periode": periode})
    assert answer.status_code == 400 and "periode" in answer.json()["errors"]


def test_the_ikm_page_links_to_each_period_and_says_when_nobody_answered(staff):
    html = staff.get("/petugas/ikm", params={"from": "2026-07-01", "to": "2026-09-30"}).text
    for key in ("bulan-ini", "bulan-lalu", "triwulan-ini", "triwulan-lalu", "semester-ini", "semester-lalu",
                "tahun-ini", "tahun-lalu"):
        assert f'href="/petugas/ikm/periode?periode={key}"' in html, key
    assert "Periode Triwulan III 2026 · 0 responden" in html and "Tidak ada responden SKM" in html


def test_a_report_of_a_period_without_data_says_so_plainly(staff):
    html = staff.get("/petugas/laporan", params={"from": "2026-10-01", "to": "2026-10-31"}).text
    assert 'data-figure="empty"' in html and "Tidak ada data layanan pada periode ini" in html
    assert "<svg" not in html and "NaN" not in html and "Oktober 2026" in html
