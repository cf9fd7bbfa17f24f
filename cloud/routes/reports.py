"""Reports for the office heads, for staff only: the service figures and the IKM over JSON, per office or for all
offices (`office` empty), the page /kantor/laporan with the charts and the report as CSV, XLSX and PDF, and the IKM
per period (/kantor/ikm: a month, a quarter, a semester or a year at one click) as a page and as the A4 sheet."""

from __future__ import annotations

from datetime import date

import anyio
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from cloud.accounts import AccountView
from cloud.errors import ApiError
from cloud.reports import Reports
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.auditing import record_alone
from pst.charts import report_charts
from pst.i18n import N_, Languages, language
from pst.openapi import PAGE, content, html, see_other
from pst.report_files import filename, to_csv, to_xlsx
from pst.report_pdf import ikm_pdf, to_pdf
from pst.reports import RangeError, ikm_filename, ikm_json, read_range, service_json
from pst.skm import Period, PeriodError, grade_bands, period_of, periods_around, read_period

LanguagesDep = NamedDependency[Languages]
STAFF_ROLES = ("staff", "admin")
MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
EXPORTS = {kind: content(media_type, f"The report as {kind.upper()}") for kind, media_type in MEDIA_TYPES.items()}
# a page: 303 to the sign-in page when signed out, the page again with 400 for a range or period it cannot read
STAFF_PAGE = {303: see_other("Not signed in: to the sign-in page"), "4XX": PAGE}


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


def _months(today: date) -> list[tuple[Period, date, date]]:
    """Quick links: this month so far and the three before it (each named by the `period` filter)."""
    month = period_of("bulan", today)
    links = []
    for _ in range(4):
        links.append((month, month.start, min(month.end, today)))
        month = month.previous()
    return links


async def _staff_page(request: Request, accounts) -> AccountView | Redirect:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        return Redirect("/akun/masuk", status_code=303)
    if account.role not in STAFF_ROLES:
        raise ApiError(403, "Hanya petugas yang dapat melakukan ini")
    return account


@get("/kantor/laporan", responses={200: html("The service report"), **STAFF_PAGE})
async def report_page(request: Request, accounts: AccountsDep, languages: LanguagesDep) -> Response:
    account = await _staff_page(request, accounts)
    if isinstance(account, Redirect):
        return account
    reports = _reports(request)
    context = {"account": account, "offices": await reports.offices(), "months": _months(reports.today()),
               "office": (request.query_params.get("office") or "").strip()[:8], "figures": None, "charts": {},
               "start": request.query_params.get("from", ""), "end": request.query_params.get("to", ""),
               "error": None}
    try:
        office, start, end = _query(request, reports, month_by_default=True)
        figures = await reports.figures(office, start, end)
    except ApiError as exc:
        return Template("kantor_laporan.html", status_code=exc.status_code,
                        context=context | {"error": " · ".join([exc.detail, *(f"{k}: {v}" for k, v in exc.errors.items())])})
    return Template("kantor_laporan.html", context=context | {
        "figures": figures, "charts": report_charts(figures, languages.translate, language()),
        "start": start.isoformat(), "end": end.isoformat(),
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


@get("/kantor/laporan/csv", responses={200: EXPORTS["csv"]})
async def report_csv(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "csv")


@get("/kantor/laporan/xlsx", responses={200: EXPORTS["xlsx"]})
async def report_xlsx(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "xlsx")


@get("/kantor/laporan/pdf", responses={200: EXPORTS["pdf"]})
async def report_pdf(request: Request, accounts: AccountsDep) -> Response:
    return await _export(request, accounts, "pdf")


async def _ikm_period(request: Request, reports: Reports):
    """The IKM of the office (`?office=`, all when empty) over the period asked for (`?periode=2026-T3` or
    `triwulan-ini`; this month when not given)."""
    office = (request.query_params.get("office") or "").strip()[:8]
    try:
        period = read_period(request.query_params.get("periode"), reports.today())
    except PeriodError as exc:
        raise ApiError(400, N_("Periode tidak dikenal: pilih salah satu periode yang ditawarkan"), exc.errors) from None
    return await reports.ikm_report(office, period)


@get("/kantor/ikm", responses={200: html("The IKM of a period, as the A4 sheet"), **STAFF_PAGE})
async def ikm_period_page(request: Request, accounts: AccountsDep) -> Response:
    """The IKM of a month, quarter, semester or year at one click, per office or for all, laid out as the A4 sheet."""
    account = await _staff_page(request, accounts)
    if isinstance(account, Redirect):
        return account
    reports = _reports(request)
    context = {"account": account, "offices": await reports.offices(), "choices": periods_around(reports.today()),
               "office": (request.query_params.get("office") or "").strip()[:8], "report": None, "error": None,
               "bands": grade_bands(), "section": "/kantor/laporan"}
    try:
        report = await _ikm_period(request, reports)
    except ApiError as exc:
        return Template("kantor_ikm.html", status_code=exc.status_code, context=context | {"error": exc.detail})
    return Template("kantor_ikm.html", context=context | {"report": report})


@get("/kantor/ikm/pdf", responses={200: content(MEDIA_TYPES["pdf"], "The IKM sheet to sign, A4")})
async def ikm_period_pdf(request: Request, accounts: AccountsDep) -> Response:
    staff = await _staff(request, accounts)
    report = await _ikm_period(request, _reports(request))
    data = await anyio.to_thread.run_sync(ikm_pdf, report)
    await record_alone(request, staff, "export.report", "report:ikm", report.office_code or None, format="pdf",
                       start=report.period.start.isoformat(), end=report.period.end.isoformat())
    return Response(data, media_type=MEDIA_TYPES["pdf"], headers={
        "content-disposition": f'inline; filename="{ikm_filename(report)}"', "cache-control": "no-store",
    })


routes = [service_report, ikm_report, report_page, report_csv, report_xlsx, report_pdf, ikm_period_page, ikm_period_pdf]
