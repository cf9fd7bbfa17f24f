"""Reports for the office heads, for staff only: the service figures and the IKM over JSON, per office or for all
offices (`office` empty), and the page /kantor/laporan with the charts and the report as CSV, XLSX and PDF."""

from __future__ import annotations

from datetime import date, timedelta

import anyio
from litestar import Request, Response, get
from litestar.response import Redirect, Template

from cloud.accounts import AccountView
from cloud.errors import ApiError
from cloud.reports import Reports
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.auditing import record_alone
from pst.charts import report_charts
from pst.report_files import filename, to_csv, to_xlsx
from pst.report_pdf import to_pdf
from pst.reports import (
    MONTHS, RangeError, duration, ikm_json, ikm_number, number, percent, period_words, read_range, service_json,
)
from pst.skm import shown

STAFF_ROLES = ("staff", "admin")
MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _reports(request: Request) -> Reports:
    state = request.app.state
    return Reports(state.db, state.clock)


async def _staff(request: Request, accounts) -> AccountView:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    if account.role not in STAFF_ROLES:
        raise ApiError(403, "Hanya petugas yang dapat melakukan ini")
    return account


def _query(request: Request, reports: Reports, month_by_default: bool = False) -> tuple[str, date, date]:
    params = request.query_params
    today = reports.today()
    try:
        start, end = read_range(params.get("from"), params.get("to"), today,
                                today.replace(day=1) if month_by_default else None)
    except RangeError as exc:
        raise ApiError(400, "Rentang tanggal tidak sah", exc.errors) from None
    office = (params.get("office") or "").strip()[:8]
    return office, start, end


def _period(office: str, start: date, end: date) -> dict:
    return {"from": start.isoformat(), "to": end.isoformat(), "office": office or None}


@get("/api/reports/service")
async def service_report(request: Request, accounts: AccountsDep) -> dict:
    await _staff(request, accounts)
    reports = _reports(request)
    office, start, end = _query(request, reports)
    return _period(office, start, end) | service_json(await reports.figures(office, start, end))


@get("/api/reports/ikm")
async def ikm_report(request: Request, accounts: AccountsDep) -> dict:
    await _staff(request, accounts)
    reports = _reports(request)
    office, start, end = _query(request, reports)
    await reports.office_name(office)  # 404 for an unknown office
    return _period(office, start, end) | ikm_json(await reports.ikm(office, start, end))


def _months(today: date) -> list[tuple[str, date, date]]:
    """Quick links: this month so far and the three before it."""
    links = []
    first = today.replace(day=1)
    for _ in range(4):
        last = min((first + timedelta(days=32)).replace(day=1) - timedelta(days=1), today)
        links.append((f"{MONTHS[first.month - 1]} {first.year}", first, last))
        first = (first - timedelta(days=1)).replace(day=1)
    return links


@get("/kantor/laporan")
async def report_page(request: Request, accounts: AccountsDep) -> Response:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        return Redirect("/akun/masuk", status_code=303)
    if account.role not in STAFF_ROLES:
        raise ApiError(403, "Hanya petugas yang dapat melakukan ini")
    reports = _reports(request)
    context = {"account": account, "offices": await reports.offices(), "months": _months(reports.today()),
               "office": (request.query_params.get("office") or "").strip()[:8], "figures": None, "charts": {},
               "start": request.query_params.get("from", ""), "end": request.query_params.get("to", ""),
               "error": None, "number": number, "percent": percent, "duration": duration,
               "ikm_number": ikm_number, "shown": shown}
    try:
        office, start, end = _query(request, reports, month_by_default=True)
        figures = await reports.figures(office, start, end)
    except ApiError as exc:
        return Template("kantor_laporan.html", status_code=exc.status_code,
                        context=context | {"error": " · ".join([exc.detail, *(f"{k}: {v}" for k, v in exc.errors.items())])})
    return Template("kantor_laporan.html", context=context | {
        "figures": figures, "charts": report_charts(figures), "start": start.isoformat(), "end": end.isoformat(),
        "period": period_words(start, end),
    })


async def _export(request: Request, accounts, kind: str) -> Response:
    staff = await _staff(request, accounts)
    reports = _reports(request)
    office, start, end = _query(request, reports, month_by_default=True)
    figures = await reports.figures(office, start, end)
    make = {"pdf": to_pdf, "xlsx": to_xlsx, "csv": to_csv}[kind]
    data = await anyio.to_thread.run_sync(make, figures)  # a PDF takes a tenth of a second: not on the loop
    await record_alone(request, staff, "export.report", "report:service", office or None, format=kind,
                       start=start.isoformat(), end=end.isoformat())
    disposition = "inline" if kind == "pdf" else "attachment"
    return Response(data, media_type=MEDIA_TYPES[kind], headers={
        "content-disposition": f'{disposition}; filename="{filename(figures, kind)}"', "cache-control": "no-store",
    })


@get("/kantor/laporan/csv")
async def report_csv(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "csv")


@get("/kantor/laporan/xlsx")
async def report_xlsx(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "xlsx")


@get("/kantor/laporan/pdf")
async def report_pdf(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "pdf")


routes = [service_report, ikm_report, report_page, report_csv, report_xlsx, report_pdf]
