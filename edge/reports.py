"""The office head's report from the appliance's store: rows read for a range of office days, the figures computed by
`pst.reports` (the same arithmetic the cloud uses).

Times are stored as ISO text in UTC, so a range is compared in UTC too (an office-time bound written with +08:00
would compare wrongly as text).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

from edge.config import ApplianceConfig
from edge.i18n import N_
from edge.store import EdgeStore
from pst.charts import TITLES, WORDS
from pst.clock import iso
from pst.reports import (
    COMPLAINT_STATUSES, NOT_FILLED, OTHERS, ComplaintRow, FetchRow, Figures, IkmReport, RatingRow, ScanRow, VisitRow,
    bare_office_name, compute_figures,
)
from pst.skm import CODES, GRADES, Period

# pst.charts and pst.reports are shared with the cloud and carry no catalogue marks; the words the report page shows
# from them are marked here so that pybabel (which reads edge/ only) puts them in the catalogue.
# tests/edge/test_report_pages.py checks this list against those modules.
REPORT_WORDS = (
    N_("Kunjungan per hari"), N_("Kunjungan per minggu"), N_("Kunjungan per bulan"),
    N_("Median waktu tunggu per hari (menit)"), N_("Keperluan kunjungan"), N_("Instansi pengunjung terbanyak"),
    N_("Pendidikan pengunjung"), N_("Pekerjaan pengunjung"), N_("Nilai rata-rata unsur SKM (terendah lebih dulu)"),
    N_("Pengaduan menurut status"), N_("Tidak ada data"), N_("Standar 5 menit"), N_("menit"),
    N_("Diterima"), N_("Ditindaklanjuti"), N_("Selesai"), N_("Tidak diisi"), N_("Lainnya"),
    # a period in words (pst.skm.Period.words) and the grades' performance (pst.skm.GRADES)
    N_("Triwulan %(number)s %(year)s"), N_("Semester %(number)s %(year)s"), N_("Tahun %(year)s"),
    N_("Sangat baik"), N_("Baik"), N_("Kurang baik"), N_("Tidak baik"),
)
SHARED_WORDS = (*TITLES.values(), *WORDS, *COMPLAINT_STATUSES.values(), NOT_FILLED, OTHERS,
                *(grade.performance for grade in GRADES))


def _utc(moment: datetime) -> str:
    return iso(moment.astimezone(timezone.utc))


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def report_figures(store: EdgeStore, config: ApplianceConfig, start: date, end: date, now: datetime) -> Figures:
    """Every figure of the report over the office days start..end (inclusive)."""
    tz = config.office.tz
    bounds = [_utc(datetime.combine(start, time(0), tz)), _utc(datetime.combine(end + timedelta(days=1), time(0), tz))]
    read = store.read
    visits = [
        VisitRow(datetime.fromisoformat(at), wait, tuple(json.loads(purposes or "[]")), institution, education, job)
        for at, wait, purposes, institution, education, job in read.execute(
            "SELECT checked_in_at, wait_s, purposes, institution, education, occupation FROM visits"
            " WHERE checked_in_at >= ? AND checked_in_at < ?", bounds)
    ]
    columns = ", ".join(code.lower() for code in CODES)
    ratings = [
        RatingRow(datetime.fromisoformat(row[-1]), {c: s for c, s in zip(CODES, row[:-1]) if s is not None})
        for row in read.execute(f"SELECT {columns}, rated_at FROM ratings WHERE rated_at >= ? AND rated_at < ?", bounds)
    ]
    complaints = [
        ComplaintRow(datetime.fromisoformat(at), status, _when(resolved))
        for at, status, resolved in read.execute(
            "SELECT received_at, status, resolved_at FROM complaints WHERE received_at >= ? AND received_at < ?", bounds)
    ]
    fetches = [
        FetchRow(datetime.fromisoformat(at), status)
        for at, status in read.execute(
            "SELECT requested_at, status FROM fetch_requests WHERE requested_at >= ? AND requested_at < ?", bounds)
    ]
    scans = [
        ScanRow(datetime.fromisoformat(at), pages or 0, status)
        for at, pages, status in read.execute(
            "SELECT started_at, pages, status FROM scans WHERE started_at >= ? AND started_at < ?", bounds)
    ]
    return compute_figures(
        start, end, tz, now, office_code=config.office.code, office_name=bare_office_name(config.office.name),
        visits=visits, ratings=ratings, complaints=complaints, fetches=fetches, scans=scans,
    )


def ikm_report(ratings, config: ApplianceConfig, period: Period, now: datetime) -> IkmReport:
    """The IKM of the office over `period` (office days), from `ratings` (edge.ratings.Ratings)."""
    tz = config.office.tz
    since = datetime.combine(period.start, time(0), tz)
    until = datetime.combine(period.end + timedelta(days=1), time(0), tz)
    return IkmReport(config.office.code, bare_office_name(config.office.name), period,
                     ratings.ikm_between(since, until), tz, now)


def office_place(address: str) -> str:
    """The city for the signature line: the last part of the address ("Jl. Boulevard No. 1, Kendari" → "Kendari")."""
    return address.rsplit(",", 1)[-1].strip() if address else ""
