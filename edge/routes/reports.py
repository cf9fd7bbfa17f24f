"""Reports for the office head: the 5-minute service standard per day and for a range."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from litestar import Request, get

from edge.auth import staff_only
from edge.errors import ApiError
from edge.routes import ApplianceDep
from edge.sla import VisitWait, service_report

MAX_DAYS = 366


def _range(appliance, start: str | None, end: str | None) -> tuple[date, date]:
    today = appliance.clock.now().astimezone(appliance.config.office.tz).date()
    errors = {}
    parsed = {}
    for key, value, default in (("from", start, today), ("to", end, today)):
        try:
            parsed[key] = date.fromisoformat(value) if value else default
        except ValueError:
            errors[key] = "tanggal harus YYYY-MM-DD"
    if not errors and parsed["from"] > parsed["to"]:
        errors["from"] = "tidak boleh setelah 'to'"
    if not errors and (parsed["to"] - parsed["from"]).days >= MAX_DAYS:
        errors["to"] = f"rentang maks. {MAX_DAYS} hari"
    if errors:
        raise ApiError(400, "Rentang tanggal tidak sah", errors)
    return parsed["from"], parsed["to"]


@get("/api/reports/service", guards=[staff_only], sync_to_thread=True)
def service_report_api(request: Request, appliance: ApplianceDep) -> dict:
    """Wait = guestbook submitted → service started; days in office time."""
    start, end = _range(appliance, request.query_params.get("from"), request.query_params.get("to"))
    tz = appliance.config.office.tz
    since = datetime.combine(start, time(0), tz)
    until = datetime.combine(end + timedelta(days=1), time(0), tz)
    rows = appliance.visits.waits_between(since, until)
    waits = [VisitWait(checked_in.astimezone(tz).date().isoformat(), checked_in, wait_s) for checked_in, wait_s in rows]
    return {"from": start.isoformat(), "to": end.isoformat()} | service_report(waits, appliance.clock.now())


routes = [service_report_api]
