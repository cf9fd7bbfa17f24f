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
    staff.post("/api/ratings", json={"visit_id": first["id"], "scores": {f"U{i}": 4 for i in range(1, 10)} | {"U3": 2}})
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
