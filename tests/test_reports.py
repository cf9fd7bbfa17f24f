"""The report's figures from plain rows (known answers), and what they become: SVG charts, CSV, XLSX and the A4 PDF."""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pymupdf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from pst.charts import TITLES, bar_chart, bars_of, column_chart, line_chart, report_charts
from pst.report_files import SECTIONS, filename, table_rows, to_csv, to_xlsx
from pst.report_pdf import ikm_pdf, to_pdf
from pst.reports import (
    ComplaintRow, Count, FetchRow, IkmReport, RangeError, RatingRow, ScanRow, VisitRow, compute_figures, duration,
    ikm_filename, institutions, number, percent, period_words, read_range, service_json, summarize_waits, wait_json,
    wait_seconds,
)
from pst.skm import Period, compute_ikm
from tests.conftest import WITA

SVG = "{http://www.w3.org/2000/svg}"
NOV = (date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=WITA)
ALL_FOUR = {f"U{i}": 4 for i in range(1, 10)}


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WITA)


VISITS = [
    VisitRow(at(2), 60, ("baca_tercetak", "pindai"), "Universitas Halu Oleo", "s1", "pelajar"),
    VisitRow(at(2, 10), 240, ("baca_tercetak",), "universitas halu  oleo", "s2", "peneliti"),
    VisitRow(at(3), 420, ("softcopy",), "IAIN Kendari", "s1", "pelajar"),
    VisitRow(at(10), 120, ("pustaka_digital",), "Bappeda Provinsi Sultra", None, "asn"),
    VisitRow(at(10, 11), 600, ("baca_tercetak",), "", "sma", "jurnalis"),
    VisitRow(at(30, 14), None, ("lainnya",), None, "s3", "lainnya"),  # not served, 5 minutes long past
    VisitRow(at(1, 7, 30, month=12), 30, ("pindai",), "IAIN Kendari", "s1", "pelajar"),  # December: outside
    # 07:30 WITA on 1 November is 23:30 UTC on 31 October: it counts on 1 November
    VisitRow(datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), 90, ("pindai",), "IAIN Kendari", "s1", "pelajar"),
]


@pytest.fixture
def figures():
    return compute_figures(
        *NOV, WITA, NOW, office_code="7400", office_name="Provinsi Sulawesi Tenggara", visits=VISITS,
        ratings=[RatingRow(at(2), ALL_FOUR), RatingRow(at(3), ALL_FOUR | {"U3": 2, "U9": 3}),
                 RatingRow(at(3), {"U3": 3}), RatingRow(at(1, month=12), {"U1": 1})],
        complaints=[ComplaintRow(at(2), "selesai", at(2, 13)), ComplaintRow(at(5), "selesai", at(7, 9)),
                    ComplaintRow(at(20), "ditindaklanjuti"), ComplaintRow(at(28), "diterima")],
        fetches=[FetchRow(at(2), "dikembalikan"), FetchRow(at(2), "diserahkan"), FetchRow(at(3), "tidak_tersedia"),
                 FetchRow(at(10), "dibatalkan"), FetchRow(at(1, month=12), "diserahkan")],
        scans=[ScanRow(at(2), 12, "ready"), ScanRow(at(3), 3, "failed"), ScanRow(at(1, month=12), 50, "ready")],
        top=2,
    )


def test_visits_per_day_week_and_month_in_office_time(figures):
    assert figures.visits == 7
    days = {c.key: c.value for c in figures.by_day}
    assert len(days) == 30 and days["2026-11-01"] == 1 and days["2026-11-02"] == 2 and days["2026-11-10"] == 2
    assert sum(days.values()) == 7
    assert [(c.label, c.value) for c in figures.by_week] == [
        ("1 Nov", 1), ("2 Nov–8 Nov", 3), ("9 Nov–15 Nov", 2), ("16 Nov–22 Nov", 0), ("23 Nov–29 Nov", 0),
        ("30 Nov", 1)]
    assert [(c.label, c.value) for c in figures.by_month] == [("November 2026", 7)]


def test_waits_median_p90_and_the_share_within_five_minutes(figures):
    waits = figures.waits
    assert waits.served == 6 and waits.median_s == 180.0 and waits.p90_s == pytest.approx(510.0)
    # 60, 90, 120, 240 within; 420 and 600 late; the unserved visitor of 30 Nov is a failure too
    assert (waits.within, waits.decided) == (4, 7) and waits.ratio == pytest.approx(4 / 7)
    report = service_json(figures)
    assert report["within_5min_ratio"] == 0.5714 and report["median_wait_s"] == 180.0
    assert [d["date"] for d in report["days"]] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-10",
                                                   "2026-11-30"]


def test_profile_counts_every_code_in_order_and_the_blanks(figures):
    assert [(c.key, c.value) for c in figures.purposes] == [
        ("baca_tercetak", 3), ("pustaka_digital", 1), ("pindai", 2), ("softcopy", 1), ("lainnya", 1)]
    assert [(c.key, c.value) for c in figures.education] == [
        ("sma", 1), ("diploma", 0), ("s1", 3), ("s2", 1), ("s3", 1), ("", 1)]
    assert figures.education[-1].label == "Tidak diisi"
    assert {c.key: c.value for c in figures.occupation}["pelajar"] == 3


def test_institutions_are_counted_alike_whatever_the_spelling_and_cut_to_the_top(figures):
    assert [(c.label, c.value) for c in figures.institutions] == [
        ("IAIN Kendari", 2), ("Universitas Halu Oleo", 2), ("Lainnya", 1), ("Tidak diisi", 2)]
    assert sum(c.value for c in figures.institutions) == figures.visits
    spelled = institutions(["BPS  Kendari", "bps kendari", "BPS Kendari", None])
    assert spelled == (Count("bps kendari", "BPS Kendari", 3), Count("", "Tidak diisi", 1))


def test_fetches_scans_and_complaints(figures):
    assert (figures.fetches.requests, figures.fetches.handed, figures.fetches.unavailable,
            figures.fetches.cancelled) == (4, 2, 1, 1)
    assert (figures.scans.jobs, figures.scans.pages, figures.scans.failed) == (2, 15, 1)
    complaints = figures.complaints
    assert [(c.key, c.value) for c in complaints.by_status] == [("diterima", 1), ("ditindaklanjuti", 1), ("selesai", 2)]
    # 4 hours and 2 days: the median is their middle, 26 hours
    assert complaints.resolved == 2 and complaints.median_resolve_s == 26 * 3600


def test_ikm_through_pst_skm_with_the_weakest_elements_first(figures):
    ikm = figures.ikm
    assert ikm.respondents == 3 and ikm.answers["U3"] == 3 and ikm.answers["U1"] == 2
    assert [e.code for e, _ in ikm.weakest_first()[:2]] == ["U3", "U9"]
    assert float(ikm.nrr["U3"]) == 3.0 and float(ikm.nrr["U9"]) == 3.5 and ikm.grade.letter == "A"


@pytest.mark.parametrize("start, end, field", [
    ("2026-11-31", None, "from"), ("kemarin", None, "from"), ("2026-11-02", "2026-11-01", "from"),
    ("2025-01-01", "2026-11-30", "to"),
])
def test_a_bad_range_names_its_field(start, end, field):
    with pytest.raises(RangeError) as refused:
        read_range(start, end, date(2026, 11, 30))
    assert field in refused.value.errors


def test_a_range_defaults_to_today_or_the_given_start():
    assert read_range(None, None, date(2026, 11, 30)) == (date(2026, 11, 30), date(2026, 11, 30))
    assert read_range(None, None, date(2026, 11, 30), date(2026, 11, 1)) == NOV


@pytest.mark.parametrize("value, text", [
    (number(1234567), "1.234.567"), (number(3.14159, 2), "3,14"), (number(None), "—"), (percent(0.8571), "85,7%"),
    (duration(200), "3 mnt 20 dtk"), (duration(7500), "2 jam 5 mnt"), (duration(93600), "1 hari 2 jam"),
    (period_words(*NOV), "November 2026"), (period_words(date(2026, 11, 3), date(2026, 11, 9)),
                                            "3 November 2026 s.d. 9 November 2026"),
])
def test_numbers_and_periods_are_written_the_indonesian_way(value, text):
    assert value == text


# --- charts ------------------------------------------------------------------------------------------------------------
def test_every_chart_is_svg_with_a_title_and_a_bar_per_figure(figures):
    charts = report_charts(figures)
    assert set(charts) == set(TITLES)
    for key, svg in charts.items():
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        assert root.find(f"{SVG}title").text == TITLES[key] and root.find(f"{SVG}desc").text
    days = ET.fromstring(charts["visits_day"])
    bars = days.findall(f".//{SVG}g[@class='bar']")
    assert len(bars) == 30 and bars[1].find(f"{SVG}title").text == "2 Nov: 2"
    heights = [float(bar.find(f"{SVG}rect").get("height")) for bar in bars]
    assert heights[1] == max(heights) and heights[4] == 0
    purposes = ET.fromstring(charts["purposes"])
    titles = [g.find(f"{SVG}title").text for g in purposes.findall(f".//{SVG}g[@class='bar']")]
    assert titles[0] == "Membaca pustaka tercetak: 3"
    ikm = ET.fromstring(charts["ikm"])
    assert ikm.findall(f".//{SVG}g[@class='bar']")[0].find(f"{SVG}title").text.startswith("U3 Waktu penyelesaian: 3,00")


def test_the_wait_line_leaves_gaps_and_draws_the_standard(figures):
    root = ET.fromstring(report_charts(figures)["waits_day"])
    assert len(root.findall(f".//{SVG}g[@class='point']")) == 4  # the days with a served visitor
    assert root.find(f".//{SVG}g[@class='reference']/{SVG}title").text == "Standar 5 menit"


def test_chart_text_is_escaped_and_an_empty_chart_says_so():
    svg = bar_chart("A & B <c>", bars_of([Count("x", "<script>alert(1)</script>", 2)]))
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "A & B <c>" and "<script>" not in svg
    for empty in (column_chart("Kosong", []), bar_chart("Kosong", []), line_chart("Kosong", [])):
        assert "Tidak ada data" in ET.tostring(ET.fromstring(empty), encoding="unicode")


# --- files ------------------------------------------------------------------------------------------------------------
def test_csv_holds_every_figure_one_a_row(figures):
    rows = list(csv.DictReader(io.StringIO(to_csv(figures).decode("utf-8-sig"))))
    found = {(r["bagian"], r["kunci"]): r["nilai"] for r in rows}
    assert found[("ringkasan", "kunjungan")] == "7" and found[("ringkasan", "rasio_5_menit")] == "0.5714"
    assert found[("kunjungan_harian", "2026-11-02")] == "2" and found[("instansi", "iain kendari")] == "2"
    assert found[("ikm", "U3")] == "3.0" and found[("pengaduan", "selesai")] == "2"
    assert to_csv(figures).startswith("\ufeff".encode())


def test_xlsx_has_a_sheet_per_section_with_the_same_numbers(figures):
    book = load_workbook(io.BytesIO(to_xlsx(figures)))
    assert book.sheetnames == list(SECTIONS.values())
    summary = {row[0]: row[1] for row in book["Ringkasan"].iter_rows(min_row=5, values_only=True)}
    assert summary["Kunjungan"] == 7 and isinstance(summary["Kunjungan"], int)
    assert summary["Halaman dipindai"] == 15 and summary["Rasio dilayani dalam 5 menit"] == 0.5714
    assert summary["Dari tanggal"].date() == date(2026, 11, 1)
    days = list(book["Kunjungan harian"].iter_rows(min_row=5, values_only=True))
    assert len(days) == 30 and days[1][0].date() == date(2026, 11, 2) and days[1][1] == 2
    assert days[1][3] == 2.5  # median wait of 60 and 240 seconds, in minutes
    for section, key, label, value in table_rows(figures):
        if section in ("keperluan", "pendidikan", "pekerjaan"):
            sheet = {row[0]: row[1] for row in book[SECTIONS[section]].iter_rows(min_row=5, values_only=True)}
            assert sheet[label] == value
    ikm = list(book["IKM"].iter_rows(min_row=5, max_row=6, values_only=True))
    assert ikm[0] == ("U3", "Waktu penyelesaian", 3, 3.0)


def test_the_pdf_is_a4_with_the_letterhead_the_figures_and_the_signature(figures):
    doc = pymupdf.open(stream=to_pdf(figures, place="Kendari"))
    assert all(round(page.rect.width) == 595 and round(page.rect.height) == 842 for page in doc)
    text = " ".join(page.get_text() for page in doc)
    for words in ("Badan Pusat Statistik Provinsi Sulawesi Tenggara", "Laporan Bulanan Layanan Perpustakaan PST — November 2026",
                  "Jumlah kunjungan", "4 dari 7 (57,1%)", "3 mnt 0 dtk", "Universitas Halu Oleo", "≤ SMA",
                  "Waktu penyelesaian", "Kendari, 1 Desember 2026", "NIP.", "Kunjungan per hari", "halaman 1 dari"):
        assert words in text, words
    assert doc.metadata["title"].startswith("Laporan Layanan Perpustakaan PST")


def test_the_pdf_of_an_empty_period_still_reads(figures):
    empty = compute_figures(*NOV, WITA, NOW, office_name="Kota Kendari")
    text = " ".join(page.get_text() for page in pymupdf.open(stream=to_pdf(empty)))
    assert "Badan Pusat Statistik Kota Kendari" in text and "Tidak ada data" in text
    assert filename(empty, "pdf") == "laporan-pst-semua-2026-11-01-2026-11-30.pdf"


# --- one rule for waits on both sides --------------------------------------------------------------------------------
@pytest.mark.parametrize("measured, counted", [(167.4, 168), (168.0, 168), (300.0, 300), (300.001, 301), (0.0, 0),
                                               (None, None)])
def test_a_wait_counts_in_whole_seconds_rounded_up(measured, counted):
    assert wait_seconds(measured) == counted


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=7200, allow_nan=False)), max_size=40))
def test_the_appliances_measured_waits_and_the_portals_whole_seconds_give_the_same_figures(measured):
    """The appliance keeps a wait to the millisecond, the portal in whole seconds rounded up (as the sync stores it):
    summarized, both give the same visits, median, 90th percentile and share within 5 minutes."""
    since = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    desk = [VisitRow(since, wait) for wait in measured]
    portal = [VisitRow(since, None if wait is None else math.ceil(wait)) for wait in measured]
    later = since + timedelta(minutes=30)
    assert summarize_waits(desk, later) == summarize_waits(portal, later)
    assert wait_json(summarize_waits(desk, later)) == wait_json(summarize_waits(portal, later))


# --- the IKM of a period on one A4 page ------------------------------------------------------------------------------
def ikm_sheet(ratings, office_name="Provinsi Sulawesi Tenggara", period=Period(2026, "triwulan", 4)) -> list[str]:
    report = IkmReport("7400", office_name, period, compute_ikm(ratings), WITA, NOW)
    doc = pymupdf.open(stream=ikm_pdf(report, place="Kendari"))
    assert len(doc) == 1 and round(doc[0].rect.width) == 595 and round(doc[0].rect.height) == 842
    assert ikm_filename(report) == f"ikm-7400-{period.key}.pdf"
    return doc[0].get_text().splitlines()


def test_the_ikm_sheet_has_the_regulations_layout_and_the_signature_block():
    text = ikm_sheet([ALL_FOUR, ALL_FOUR | {"U3": 2, "U9": 3}, {f"U{i}": 3 for i in range(1, 10)}])
    for words in ("Badan Pusat Statistik Provinsi Sulawesi Tenggara", "LAPORAN INDEKS KEPUASAN MASYARAKAT (IKM)",
                  "Periode Triwulan IV 2026", ": 3 orang", ": Peraturan Menteri PANRB Nomor 14 Tahun 2017",
                  "Jumlah NRR tertimbang", "IKM unit pelayanan (jumlah NRR tertimbang × 25)",
                  "Kendari, 1 Desember 2026", "Kepala BPS Provinsi Sulawesi Tenggara",
                  "NIP. ...............................", "hasil periode ini"):
        assert words in text, words
    # U3: (4 + 2 + 3) / 3 = 3; weighted 3/9 = 0,3333; U1: 11/3 = 3,6666 (cut), weighted 0,4074
    u3 = text.index("Waktu penyelesaian")
    assert text[u3 + 1:u3 + 5] == ["3", "3,0000", "1/9", "0,3333"]
    u1 = text.index("Persyaratan")
    assert text[u1 + 1:u1 + 5] == ["3", "3,6666", "1/9", "0,4074"]
    # the weighted NRRs add up to 3,5555…: IKM 88,88, above 88,31, so A (Sangat baik)
    assert text[text.index("Jumlah NRR tertimbang") + 1] == "3,5555"
    assert text.count("88,88") == 2 and "Sangat baik" in text  # the table's last row, and the framed verdict
    assert "1,00 – 2,5996" in text and "88,31 – 100,00" in text


def test_an_ikm_sheet_without_respondents_says_so_and_still_reads():
    text = ikm_sheet([], office_name="Kota Kendari", period=Period(2026, "bulan", 11))
    assert "Tidak ada responden SKM pada periode ini, sehingga IKM tidak dapat dihitung." in text
    assert ": 0 orang" in text and "Kepala BPS Kota Kendari" in text and "Periode November 2026" in text
    assert "Jumlah NRR tertimbang" not in text and "NaN" not in " ".join(text)


def test_an_ikm_sheet_with_an_element_unanswered_names_it_instead_of_an_index():
    text = " ".join(ikm_sheet([{"U1": 4, "U2": 3}]))
    assert "IKM belum dapat dihitung: belum ada jawaban untuk U3, U4, U5, U6, U7, U8, U9" in text
    assert "hasil periode ini" not in text


def test_the_report_of_an_empty_period_says_so_without_charts():
    empty = compute_figures(*NOV, WITA, NOW, office_name="Kota Kendari")
    assert empty.empty and not compute_figures(*NOV, WITA, NOW, visits=VISITS).empty
    doc = pymupdf.open(stream=to_pdf(empty, place="Kendari"))
    text = " ".join(page.get_text() for page in doc)
    assert "Tidak ada data layanan pada periode ini" in text and "Kunjungan per hari" not in text
    assert "Kendari, 1 Desember 2026" in text and len(doc) == 1
