"""The kiosk beside the queue button: take a number, see it and how many are ahead. Works without JavaScript."""

from __future__ import annotations

import json
from typing import Any

import anyio
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.auth import current_user
from edge.errors import ApiError
from edge.i18n import language
from edge.queue import next_opening
from edge.routes import ApplianceDep
from edge.routes.language import forget_choice
from edge.slip import PROMISE, guestbook_url, office_time
from edge.tickets import Ticket, UnknownService, ticket_json
from pst.bodies import MAX_DEPTH, MAX_JSON, has_nul, too_deep

RESULT_SECONDS = 20  # the result page returns to the big button by itself
RETURNS = {"mulai": "/", "pemindai": "/pemindai"}  # where a kiosk goes back to when a visitor is done


async def json_object(request: Request, any_type: bool = False) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body). Only `application/json` (what a page on another site cannot
    send without asking first), unless `any_type`: the simulated devices' controls, which the demo documents with
    curl's default form type."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if not any_type and request.content_type[0] != "application/json":
        raise ApiError(415, "Isi permintaan harus JSON (Content-Type: application/json)",
                       {"content-type": "application/json"})
    if len(raw) > MAX_JSON:
        raise ApiError(413, "Isi permintaan terlalu besar", {"body": f"paling banyak {MAX_JSON} bita"})
    if too_deep(raw):  # before parsing: the parser recurses once per level
        raise ApiError(400, "Isi permintaan bersarang terlalu dalam", {"body": f"paling dalam {MAX_DEPTH} tingkat"})
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Isi permintaan bukan JSON yang sah") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Isi permintaan harus berupa objek JSON")
    if has_nul(data):
        raise ApiError(400, "Teks tidak boleh memuat karakter NUL", {"body": "karakter NUL (\\u0000)"})
    return data


def queue_view(appliance: ApplianceDep) -> dict:
    tz = appliance.config.office.tz
    waiting = appliance.queue.of_day(statuses=("waiting",))
    called = appliance.queue.of_day(statuses=("called", "serving"))
    return {
        "service_day": appliance.queue.today().isoformat(),
        "waiting": [ticket_json(t, tz) for t in waiting],
        "called": [ticket_json(t, tz) for t in called],
        "printer": appliance.spooler.state,
    }


@post("/api/tickets", status_code=201)
async def issue_ticket(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    service = data.get("service")
    unknown = set(data) - {"service"}
    if unknown:
        raise ApiError(400, "Isian tidak dikenal", {key: "tidak dikenal" for key in sorted(unknown)})
    if service is not None and not isinstance(service, str):
        raise ApiError(400, "Layanan tidak sah", {"service": "harus berupa kode layanan"})
    source = "staff" if current_user(request) else "kiosk"
    try:
        ticket = await anyio.to_thread.run_sync(appliance.issue, source, service)
    except UnknownService:
        raise ApiError(400, "Layanan tidak dikenal", {"service": f"tidak ada layanan {service!r}"}) from None
    ahead = await anyio.to_thread.run_sync(appliance.queue.ahead, ticket)
    return ticket_json(ticket, appliance.config.office.tz, ahead)


@get("/api/queue", sync_to_thread=True)
def queue_state(appliance: ApplianceDep) -> dict:
    return queue_view(appliance)


@get("/api/tickets/{ticket_id:str}", sync_to_thread=True)
def ticket_state(ticket_id: FromPath[str], appliance: ApplianceDep) -> dict:
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        raise ApiError(404, "Tiket tidak ditemukan")
    return ticket_json(ticket, appliance.config.office.tz, appliance.queue.ahead(ticket))


@get("/", sync_to_thread=True)
def kiosk_page(appliance: ApplianceDep) -> Template:
    config = appliance.config
    now = appliance.clock.now()
    opening = next_opening(now, config.office.tz, config.hours)
    waiting = appliance.queue.of_day(statuses=("waiting",))
    printer_ok = appliance.spooler.state in ("ok", "absent")
    # while the printer is down the spooler only probes it, so later numbers wait with no attempt of their own
    unprinted = [t for t in waiting if t.print_status == "pending" and (t.print_attempts > 0 or not printer_ok)]
    newest = unprinted[-1] if unprinted else None
    return Template("kiosk.html", context={
        "office": config.office,
        "now_text": office_time(now, config.office.tz, language()),
        "opens_text": office_time(opening, config.office.tz, language()) if opening else None,
        "waiting_count": len(waiting),
        "printer_ok": printer_ok,
        "unprinted": unprinted,
        # no paper ticket to scan: the screen shows the newest number's guestbook QR in its place
        "newest_unprinted": newest,
        "newest_qr": guestbook_qr(appliance, newest) if newest else None,
    })


def guestbook_qr(appliance: ApplianceDep, ticket: Ticket) -> str:
    from edge.routes.scans import qr_svg  # the QR library is loaded only when a screen needs a code

    return qr_svg(guestbook_url(appliance.settings.public_url, ticket))


@get("/kiosk/selesai", status_code=303)
async def kiosk_done(request: Request) -> Redirect:
    """Back to the kiosk's start for the next visitor, in Indonesian whatever the last one chose."""
    target = RETURNS.get(request.query_params.get("ke", ""), "/")
    return Redirect(target, status_code=303, cookies=[forget_choice()])


@post("/kiosk/tiket", status_code=303)
async def kiosk_take(appliance: ApplianceDep) -> Redirect:
    ticket = await anyio.to_thread.run_sync(appliance.issue, "kiosk")
    return Redirect(f"/tiket/{ticket.id}", status_code=303)


@get("/tiket/{ticket_id:str}", sync_to_thread=True)
def ticket_page(ticket_id: FromPath[str], appliance: ApplianceDep) -> Template:
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        raise ApiError(404, "Tiket tidak ditemukan")
    appliance.spooler.wait_idle(timeout=3)  # show whether it printed, when the printer answers quickly
    ticket = appliance.queue.get(ticket_id) or ticket
    return Template("ticket.html", context=ticket_context(appliance, ticket))


def ticket_context(appliance: ApplianceDep, ticket: Ticket) -> dict:
    tz = appliance.config.office.tz
    return {
        "office": appliance.config.office,
        "ticket": ticket,
        "ahead": appliance.queue.ahead(ticket),
        "issued_text": office_time(ticket.issued, tz, language()),
        "printed": ticket.print_status == "printed",
        "guestbook_qr": guestbook_qr(appliance, ticket) if ticket.print_status != "printed" else None,
        "printer_state": appliance.spooler.state,
        "promise": PROMISE,
        "return_after": RESULT_SECONDS,
    }


routes = [issue_ticket, queue_state, ticket_state, kiosk_page, kiosk_take, ticket_page, kiosk_done]
