"""The office head's report from the cloud's tables, for one office or for every office: the desk records the sync
brought up (visits, ratings, complaints; fetch requests and scans as `edge_records`) and the portal's own ratings
and complaints, through the same arithmetic as the appliance (`pst.reports`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from cloud.db import Database, moment
from cloud.errors import ApiError
from pst.clock import Clock
from pst.i18n import N_
from pst.reports import (
    ComplaintRow, FetchRow, Figures, IkmReport, RatingRow, ScanRow, VisitRow, bare_office_name, compute_figures,
)
from pst.skm import CODES, IkmResult, Period, compute_ikm

OFFICE_TZ = ZoneInfo("Asia/Makassar")  # every office so far is in Southeast Sulawesi (WITA)
SCORES = ", ".join(code.lower() for code in CODES)

# pst.charts, pst.reports and pst.skm carry no catalogue marks; the words the report pages show from them are marked
# here so that the portal's extraction (cloud/babel.cfg) puts them in its catalogue.
REPORT_WORDS = (
    N_("Kunjungan per hari"), N_("Kunjungan per minggu"), N_("Kunjungan per bulan"),
    N_("Median waktu tunggu per hari (menit)"), N_("Keperluan kunjungan"), N_("Instansi pengunjung terbanyak"),
    N_("Pendidikan pengunjung"), N_("Pekerjaan pengunjung"), N_("Nilai rata-rata unsur SKM (terendah lebih dulu)"),
    N_("Pengaduan menurut status"), N_("Tidak ada data"), N_("Standar 5 menit"), N_("menit"),
    N_("Diterima"), N_("Ditindaklanjuti"), N_("Selesai"), N_("Tidak diisi"), N_("Lainnya"),
    N_("Triwulan %(number)s %(year)s"), N_("Semester %(number)s %(year)s"), N_("Tahun %(year)s"),
    N_("Sangat baik"), N_("Baik"), N_("Kurang baik"), N_("Tidak baik"),
    N_("Persyaratan"), N_("Sistem, mekanisme, dan prosedur"), N_("Waktu penyelesaian"), N_("Biaya/tarif"),
    N_("Produk spesifikasi jenis pelayanan"), N_("Kompetensi pelaksana"), N_("Perilaku pelaksana"),
    N_("Penanganan pengaduan, saran dan masukan"), N_("Sarana dan prasarana"),
)


class Reports:
    def __init__(self, db: Database, clock: Clock, tz: ZoneInfo = OFFICE_TZ):
        self.db, self.clock, self.tz = db, clock, tz

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    async def offices(self) -> list[dict]:
        return await self.db.execute("SELECT code, name FROM offices ORDER BY code")

    async def office_name(self, code: str) -> str:
        """"" for all offices; 404 for a code no office has."""
        if not code:
            return ""
        rows = await self.db.execute("SELECT name FROM offices WHERE code = {}", code)
        if not rows:
            raise ApiError(404, "Kantor tidak dikenal", {"office": "kode kantor tidak ada"})
        return bare_office_name(rows[0]["name"])

    def _bounds(self, start: date, end: date) -> tuple[datetime, datetime]:
        since = datetime.combine(start, time(0), self.tz).astimezone(timezone.utc)
        return since, datetime.combine(end + timedelta(days=1), time(0), self.tz).astimezone(timezone.utc)

    async def _rows(self, sql: str, column: str, office: str, start: date, end: date) -> list[dict]:
        """`sql` (SELECT … FROM t) for rows whose `column` falls in the office days, of one office or of all."""
        since, until = self._bounds(start, end)
        where = f" WHERE {column} >= {{}} AND {column} < {{}}"
        if office:
            return await self.db.execute(sql + where + " AND office_code = {}", since, until, office)
        return await self.db.execute(sql + where, since, until)

    async def ikm(self, office: str, start: date, end: date) -> IkmResult:
        return compute_ikm(r.scores for r in await self._ratings(office, start, end) if r.scores)

    async def ikm_report(self, office: str, period: Period) -> IkmReport:
        """The IKM of one office (or of all, "") over `period`, for the IKM page and its A4 sheet."""
        name = await self.office_name(office)
        return IkmReport(office, name, period, await self.ikm(office, period.start, period.end), self.tz,
                         self.clock.now())

    async def _ratings(self, office: str, start: date, end: date) -> list[RatingRow]:
        rows = await self._rows(f"SELECT {SCORES}, rated_at FROM ratings", "rated_at", office, start, end)
        return [RatingRow(moment(row["rated_at"]),
                          {code: row[code.lower()] for code in CODES if row[code.lower()] is not None})
                for row in rows]

    async def figures(self, office: str, start: date, end: date) -> Figures:
        name = await self.office_name(office)
        visits = [
            VisitRow(moment(row["checked_in_at"]), None if row["wait_s"] is None else float(row["wait_s"]),
                     tuple(p for p in (row["purposes"] or "").split(";") if p), row["institution"],
                     row["education"], row["occupation"])
            for row in await self._rows(
                "SELECT checked_in_at, wait_s, purposes, institution, education, occupation FROM visits",
                "checked_in_at", office, start, end)
        ]
        complaints = [
            ComplaintRow(moment(row["received_at"]), row["status"], moment(row["resolved_at"]))
            for row in await self._rows("SELECT received_at, status, resolved_at FROM complaints", "received_at",
                                        office, start, end)
        ]
        fetches, scans = await self._desk_records(office, start, end)
        return compute_figures(
            start, end, self.tz, self.clock.now(), office_code=office, office_name=name, visits=visits,
            ratings=await self._ratings(office, start, end), complaints=complaints, fetches=fetches, scans=scans,
        )

    async def _desk_records(self, office: str, start: date, end: date) -> tuple[list[FetchRow], list[ScanRow]]:
        """Fetch requests and scans as the sync keeps them: the latest state of each, as the appliance's JSON."""
        rows = await self._rows("SELECT entity, data, born_at FROM edge_records", "born_at", office, start, end)
        fetches, scans = [], []
        for row in rows:
            if row["entity"] not in ("fetch_request", "scan"):
                continue
            try:
                data = json.loads(row["data"])
            except ValueError:
                continue
            born = moment(row["born_at"])
            if row["entity"] == "fetch_request":
                fetches.append(FetchRow(moment(data.get("requested_at")) or born, str(data.get("status", ""))))
            else:
                status = data.get("status") or data.get("last_event") or ("failed" if data.get("error") else "ready")
                scans.append(ScanRow(born, int(data.get("pages") or 0), status))
        return fetches, scans
