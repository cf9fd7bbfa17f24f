"""The guestbook pages (kiosk tablet and the visitor's own phone through the ticket's QR) and `POST /api/visits`."""

from __future__ import annotations

from datetime import datetime

import anyio
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from edge.errors import ApiError
from edge.guestbook import EDUCATION, FIELDS, GENDERS, ID_TYPES, OCCUPATIONS, PURPOSES, GuestbookError
from edge.i18n import N_, language
from edge.openapi import VISIT, json_body
from edge.routes import ApplianceDep
from edge.routes.kiosk import json_object
from edge.routes.privacy import notice_context
from edge.slip import office_time
from edge.tickets import local_iso

CHOICES = {
    "genders": GENDERS, "education": EDUCATION, "occupations": OCCUPATIONS, "purposes": PURPOSES, "id_types": ID_TYPES,
}


def visit_json(appliance, result) -> dict:
    tz = appliance.config.office.tz
    visit = result.visit
    return {
        "id": visit["id"],
        "ticket_number": result.ticket.number,
        "checked_in_at": local_iso(visit["checked_in_at"], tz),
        "serve_by": local_iso(visit["serve_by"], tz),
        "welcome_back": not result.created,
    }


@post("/api/visits", status_code=201, operation_class=json_body(VISIT))
async def api_check_in(request: Request, appliance: ApplianceDep) -> Response:
    data = await json_object(request)
    try:
        result = await anyio.to_thread.run_sync(appliance.check_in, data)
    except GuestbookError as exc:
        raise ApiError(400, "Buku tamu belum lengkap atau tidak sah", exc.errors) from None
    return Response(visit_json(appliance, result), status_code=201 if result.created else 200)


def form_page(appliance, values: dict, errors: dict, ticket=None, status_code: int = 200) -> Template:
    return Template("guestbook.html", status_code=status_code, context={
        "office": appliance.config.office, "values": values, "errors": errors, "ticket": ticket, **CHOICES,
        **notice_context(appliance),
    })


@get("/buku-tamu")
async def guestbook_page(request: Request, appliance: ApplianceDep) -> Template:
    # async on purpose: Litestar 2.25 wraps a sync handler twice when another handler shares its path
    return form_page(appliance, {"ticket_number": request.query_params.get("nomor", "")[:8]}, {})


@get("/buku-tamu/{ticket_id:str}", sync_to_thread=True)
def guestbook_for_ticket(ticket_id: FromPath[str], appliance: ApplianceDep) -> Template:
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        return form_page(appliance, {}, {"ticket_number": N_("Tiket tidak ditemukan; isi nomor antrian Anda.")})
    return form_page(appliance, {"ticket_id": ticket.id, "ticket_number": ticket.number}, {}, ticket=ticket)


@post("/buku-tamu")
async def guestbook_submit(request: Request, appliance: ApplianceDep) -> Template | Redirect:
    form = await request.form()
    data = {k: form.get(k) for k in FIELDS if k in form and k != "purposes"}
    data["purposes"] = form.getall("purposes") if "purposes" in form else []
    data["has_portal_account"] = data.get("has_portal_account") or "tidak"
    try:
        result = await anyio.to_thread.run_sync(appliance.check_in, data)
    except GuestbookError as exc:
        ticket = appliance.queue.get(data["ticket_id"]) if data.get("ticket_id") else None
        return form_page(appliance, data, exc.errors, ticket=ticket, status_code=400)
    return Redirect(f"/buku-tamu/selesai/{result.visit['id']}?kembali={int(not result.created)}", status_code=303)


@get("/buku-tamu/selesai/{visit_id:str}", sync_to_thread=True)
def guestbook_done(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> Template:
    visit = appliance.visits.get(visit_id)
    if visit is None:
        raise ApiError(404, "Kunjungan tidak ditemukan")
    ticket = appliance.queue.get(visit["ticket_id"])
    tz = appliance.config.office.tz
    return Template("guestbook_done.html", context={
        "office": appliance.config.office, "visit": visit, "ticket": ticket, "welcome_back": request.query_params.get("kembali") == "1",
        "serve_by_text": office_time(datetime.fromisoformat(visit["serve_by"]), tz, language())[-10:],
    })


routes = [api_check_in, guestbook_page, guestbook_for_ticket, guestbook_submit, guestbook_done]
