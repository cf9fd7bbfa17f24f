"""Reports for the office head: the service figures over JSON, the staff page `/petugas/laporan` with its charts and
the same report as CSV, XLSX and a printable A4 PDF, and the IKM per period (`/petugas/ikm/periode`: a month, a
quarter, a semester or a year at one click) as a page and as the A4 sheet to sign."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import anyio
from babel.dates import format_date
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template

from edge.auth import current_user, staff_only
from edge.errors import ApiError
from edge.i18n import N_, Languages, language
from edge.report_file import made_apart
from edge.reports import ikm_report, office_place, report_figures
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, record_alone
from pst import formats
from pst.charts import report_charts
from pst.openapi import PAGE, content
from pst.report_files import filename, to_csv
from pst.reports import MAX_DAYS, RangeError, ikm_filename, read_range, service_json
from pst.skm import PeriodError, grade_bands, periods_around, read_period

LanguagesDep = NamedDependency[Languages]
MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
EXPORTS = {kind: content(media_type, f"The report as {kind.upper()}") for kind, media_type in MEDIA_TYPES.items()}
IKM_SHEET = content(MEDIA_TYPES["pdf"], "The IKM sheet to sign, A4")


def _range(appliance, start: str | None, end: str | None, default_start: date | None = None) -> tuple[date, date]:
    """The office days asked for; today when not given (the page starts at the first of the month)."""
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    try:
        return read_range(start, end, today, default_start)
    except RangeError as exc:
        raise ApiError(400, _range_problem(start, end, exc.errors), exc.errors) from None


def _range_problem(start: str | None, end: str | None, errors: dict[str, str]) -> str:
    """One sentence for the page, rather than the fields' codes ("from: tidak boleh setelah 'to'")."""
    if any(key in errors for key in ("from", "to")) and not _dates_readable(start, end):
        return N_("Tanggal harus ditulis TTTT-BB-HH, misalnya 2026-12-03")
    if "from" in errors:
        return N_("Tanggal awal harus sebelum tanggal akhir")
    return N_("Rentang tanggal paling panjang %(days)s hari") % {"days": MAX_DAYS}


def _dates_readable(*values: str | None) -> bool:
    try:
        [date.fromisoformat(value) for value in values if value]
    except ValueError:
        return False
    return True


def _figures(appliance, request: Request, month_by_default: bool = False):
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    first = today.replace(day=1) if month_by_default else None
    start, end = _range(appliance, request.query_params.get("from"), request.query_params.get("to"), first)
    return report_figures(appliance.store, appliance.config, start, end, appliance.clock.now())


@get("/api/reports/service", guards=[staff_only], opt=needs("reports"), sync_to_thread=True)
def service_report_api(request: Request, appliance: ApplianceDep) -> dict:
    """Wait = guestbook submitted → service started; days in office time. The contract's fields, then the
    report's other figures (visitor profile, weeks and months, fetches, scans, complaints)."""
    figures = _figures(appliance, request)
    period = {"from": figures.start.isoformat(), "to": figures.end.isoformat(), "office": figures.office_code}
    return period | service_json(figures)


def _months_around(today: date) -> list[tuple[str, date, date]]:
    """Quick links: this month so far and the three before it, named in the page's language."""
    links = []
    first = today.replace(day=1)
    for _ in range(4):
        last = min((first + timedelta(days=32)).replace(day=1) - timedelta(days=1), today)
        links.append((format_date(first, "MMMM y", locale=language()), first, last))
        first = (first - timedelta(days=1)).replace(day=1)
    return links


@get("/petugas/laporan", guards=[staff_only], opt=needs("reports"), responses={"4XX": PAGE})
async def report_page(request: Request, appliance: ApplianceDep, languages: LanguagesDep) -> Template:
    try:
        figures = await anyio.to_thread.run_sync(_figures, appliance, request, True)
        error, errors = None, {}
    except ApiError as exc:
        figures, error, errors = None, exc.detail, exc.errors
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    lang = language()
    return Template("laporan.html", status_code=400 if error else 200, context={
        "office": appliance.config.office, "user": current_user(request), "figures": figures, "error": error,
        "errors": errors, "charts": report_charts(figures, languages.translate, lang) if figures else {},
        "start": figures.start.isoformat() if figures else request.query_params.get("from", ""),
        "end": figures.end.isoformat() if figures else request.query_params.get("to", ""),
        "months": _months_around(today),
        # numbers, shares and durations in the page's language (pst.formats, as the filters of the same names)
        "number": formats.decimal, "percent": formats.percent, "duration": formats.duration,
        "ikm_number": lambda result: formats.cut(result.ikm, 2),
        "period": formats.range_words(figures.start, figures.end, lang, languages.translate) if figures else "",
    })


def _file(appliance, request: Request, kind: str) -> tuple:
    figures = _figures(appliance, request, True)
    if kind == "csv":
        return figures, to_csv(figures)
    # openpyxl and pymupdf are loaded by a process of the file's own, which gives their memory back when it ends
    return figures, made_apart(kind, figures, place=office_place(appliance.config.office.address))


async def _export(request: Request, appliance, kind: str) -> Response:
    figures, data = await anyio.to_thread.run_sync(_file, appliance, request, kind)
    await anyio.to_thread.run_sync(functools.partial(
        record_alone, appliance, actor_of(request), "export.report", "report:service", format=kind,
        start=figures.start.isoformat(), end=figures.end.isoformat(),
    ))
    disposition = "inline" if kind == "pdf" else "attachment"
    return Response(data, media_type=MEDIA_TYPES[kind], headers={
        "content-disposition": f'{disposition}; filename="{filename(figures, kind)}"', "cache-control": "no-store",
    })


@get("/petugas/laporan/csv", guards=[staff_only], opt=needs("reports"), responses={200: EXPORTS["csv"]})
async def report_csv(request: Request, appliance: ApplianceDep) -> Response:
    return await _export(request, appliance, "csv")


@get("/petugas/laporan/xlsx", guards=[staff_only], opt=needs("reports"), responses={200: EXPORTS["xlsx"]})
async def report_xlsx(request: Request, appliance: ApplianceDep) -> Response:
    return await _export(request, appliance, "xlsx")


@get("/petugas/laporan/pdf", guards=[staff_only], opt=needs("reports"), responses={200: EXPORTS["pdf"]})
async def report_pdf(request: Request, appliance: ApplianceDep) -> Response:
    return await _export(request, appliance, "pdf")


def _ikm_period(appliance, request: Request):
    """The IKM of the period asked for (`?periode=2026-T3`, or `triwulan-ini`; this month when not given)."""
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    try:
        period = read_period(request.query_params.get("periode"), today)
    except PeriodError as exc:
        raise ApiError(400, N_("Periode tidak dikenal: pilih salah satu periode yang ditawarkan"), exc.errors) from None
    return ikm_report(appliance.ratings, appliance.config, period, appliance.clock.now())


@get("/petugas/ikm/periode", guards=[staff_only], opt=needs("reports"), responses={"4XX": PAGE})
async def ikm_period_page(request: Request, appliance: ApplianceDep) -> Template:
    """The IKM of a month, quarter, semester or year at one click, laid out as the A4 sheet (which prints as is)."""
    try:
        report = await anyio.to_thread.run_sync(_ikm_period, appliance, request)
        error = None
    except ApiError as exc:
        report, error = None, exc.detail
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    return Template("ikm_periode.html", status_code=400 if error else 200, context={
        "office": appliance.config.office, "user": current_user(request), "report": report, "error": error,
        "choices": periods_around(today), "bands": grade_bands(),
        "place": office_place(appliance.config.office.address),
    })


@get("/petugas/ikm/periode/pdf", guards=[staff_only], opt=needs("reports"), responses={200: IKM_SHEET})
async def ikm_period_pdf(request: Request, appliance: ApplianceDep) -> Response:
    report = await anyio.to_thread.run_sync(_ikm_period, appliance, request)
    data = await anyio.to_thread.run_sync(functools.partial(
        made_apart, "ikm_pdf", report, place=office_place(appliance.config.office.address)))
    await anyio.to_thread.run_sync(functools.partial(
        record_alone, appliance, actor_of(request), "export.report", "report:ikm", format="pdf",
        start=report.period.start.isoformat(), end=report.period.end.isoformat(),
    ))
    return Response(data, media_type=MEDIA_TYPES["pdf"], headers={
        "content-disposition": f'inline; filename="{ikm_filename(report)}"', "cache-control": "no-store",
    })


routes = [service_report_api, report_page, report_csv, report_xlsx, report_pdf, ikm_period_page, ikm_period_pdf]
