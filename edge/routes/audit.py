"""The audit trail at the desk: how routes record a staff act with its line (`audited`), and the admins' page and
JSON (`/petugas/audit`, `/api/audit`). Nothing here edits or deletes a line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from edge import audit
from edge.audit import Actor
from edge.auth import current_user, staff_only
from edge.errors import ApiError
from edge.i18n import N_, language
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.slip import office_time
from pst.openapi import PAGE

FILTERS = ("person", "action", "record", "from", "to")


def actor_of(request: Request) -> Actor:
    """The signed-in staff member and the client address (the appliance is reached directly on the office LAN)."""
    user = current_user(request) or {}
    return Actor(user.get("username"), request.client.host if request.client else None)


@contextmanager
def audited(appliance, actor: Actor, action: str, target: str = "", **detail) -> Iterator[dict]:
    """One transaction around a staff act and its line: the service's own write joins it, so the act and the line
    commit together or not at all. The block may fill in `line["target"]` and `line["detail"]` from the result, or
    set `line["skip"]` when nothing changed."""
    line = {"action": action, "target": target, "detail": detail, "skip": False}
    with appliance.store.write() as db:
        yield line
        if line["skip"]:  # the act turned out to change nothing
            return
        audit.record(db, appliance.clock.now(), actor=actor.username, action=line["action"], target=line["target"],
                     detail=line["detail"], address=actor.address)


def record_alone(appliance, actor: Actor, action: str, target: str = "", **detail) -> None:
    """A line for an act that changes nothing else (a sign-in, a report download)."""
    with audited(appliance, actor, action, target, **detail):
        pass


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    values = {key: (params.get(key) or "").strip()[:100] for key in FILTERS}
    errors = {}
    for key in ("from", "to"):
        if values[key]:
            try:
                date.fromisoformat(values[key])
            except ValueError:
                errors[key] = N_("tanggal dengan format YYYY-MM-DD")
    if errors:
        raise ApiError(400, N_("Saringan jejak audit belum benar"), errors)
    return values


def _page_number(request: Request) -> int:
    raw = request.query_params.get("hal", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _lines(appliance, values: dict[str, str], page: int, per_page: int = audit.PAGE) -> tuple[list[dict], int]:
    query = {"actor": values["person"], "action": values["action"], "target": values["record"],
             "date_from": values["from"], "date_to": values["to"], "tz": appliance.config.office.tz}
    db = appliance.store.read
    return audit.search(db, **query, limit=per_page, offset=(page - 1) * per_page), audit.count(db, **query)


@get("/api/audit", guards=[staff_only], opt=needs("audit"), sync_to_thread=True)
def api_audit(request: Request, appliance: ApplianceDep) -> dict:
    values, page = _filters(request), _page_number(request)
    lines, total = _lines(appliance, values, page)
    tz = appliance.config.office.tz
    shown = [line | {"at_local": datetime.fromisoformat(line["at"]).astimezone(tz).isoformat()} for line in lines]
    return {"lines": shown, "total": total, "page": page, "per_page": audit.PAGE}


@get("/petugas/audit", guards=[staff_only], opt=needs("audit"), sync_to_thread=True, responses={"4XX": PAGE})
def audit_page(request: Request, appliance: ApplianceDep) -> Template:
    try:
        values, error = _filters(request), None
    except ApiError as exc:
        values, error = {key: "" for key in FILTERS}, exc.detail
    page = _page_number(request)
    lines, total = _lines(appliance, values, page)
    tz = appliance.config.office.tz
    kept = {key: value for key, value in values.items() if value}
    return Template("audit.html", context={
        "office": appliance.config.office, "user": current_user(request), "lines": lines, "total": total,
        "values": values, "error": error, "page": page, "pages": max(1, -(-total // audit.PAGE)),
        "query": urlencode(kept), "time_of": lambda v: office_time(datetime.fromisoformat(v), tz, language()),
    }, status_code=400 if error else 200)


routes = [api_audit, audit_page]
