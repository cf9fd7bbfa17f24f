"""The guestbook pages (kiosk tablet and the visitor's own phone through the ticket's QR) and `POST /api/visits`."""

from __future__ import annotations

import anyio
from litestar import Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from edge.errors import ApiError
from edge.auth import current_user
from edge.guestbook import EDUCATION, FIELDS, GENDERS, ID_TYPES, LABELS, OCCUPATIONS, PURPOSES, GuestbookError
from edge.i18n import N_
from edge.openapi import VISIT, json_body
from edge.routes import ApplianceDep
from edge.routes.kiosk import json_object
from edge.routes.language import forget_choice
from edge.routes.privacy import notice_context
from edge.tickets import local_iso
from pst.openapi import PAGE, html, see_other

CHOICES = {
    "genders": GENDERS, "education": EDUCATION, "occupations": OCCUPATIONS, "purposes": PURPOSES, "id_types": ID_TYPES,
}


def visit_json(appliance, result) -> dict:
    """The visit as its guestbook entry answers it; a new entry also gets the visitor's own key (`token`: her ticket
    page, `page`, and the proof a rating of this visit needs), an entry typed again never does (anyone who knows a
    ticket number could type one)."""
    tz = appliance.config.office.tz
    visit = result.visit
    answer = {
        "id": visit["id"],
        "ticket_number": result.ticket.number,
        "checked_in_at": local_iso(visit["checked_in_at"], tz),
        "serve_by": local_iso(visit["serve_by"], tz),
        "welcome_back": not result.created,
    }
    if result.created:
        token = appliance.visits.token_of(visit["id"])
        answer |= {"token": token, "page": f"/kunjungan/{token}"}
    return answer


@post("/api/visits", status_code=201, operation_class=json_body(VISIT), responses={200: ResponseSpec(
    dict, generate_examples=False, description="An e-mail again within the window: the same visit, `welcome_back`")})
async def api_check_in(request: Request, appliance: ApplianceDep) -> Response:
    data = await json_object(request)
    try:
        result = await anyio.to_thread.run_sync(appliance.check_in, data)
    except GuestbookError as exc:
        raise ApiError(400, "Buku tamu belum lengkap atau tidak sah", exc.errors) from None
    return Response(visit_json(appliance, result), status_code=201 if result.created else 200)


def form_page(appliance, values: dict, errors: dict, ticket=None, status_code: int = 200) -> Template:
    return Template("guestbook.html", status_code=status_code, context={
        "office": appliance.config.office, "values": values, "errors": errors, "ticket": ticket, "labels": LABELS,
        **CHOICES,
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


@post("/buku-tamu", status_code=303, responses={
    303: see_other("Checked in: to the visitor's own page"),
    200: html("An e-mail typed again within the window: the number only"), "4XX": PAGE})
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
    # the visit's record is made: a kiosk's next visitor starts in Indonesian (staff keep their own choice)
    cookies = [] if current_user(request) else [forget_choice()]
    if not result.created:  # an e-mail typed again: the number only, never the key to the first entry's page
        return Template("guestbook_done.html", cookies=cookies, context={
            "office": appliance.config.office, "ticket": result.ticket,
        })
    token = await anyio.to_thread.run_sync(appliance.visits.token_of, result.visit["id"])
    return Redirect(f"/kunjungan/{token}", status_code=303, cookies=cookies)


routes = [api_check_in, guestbook_page, guestbook_for_ticket, guestbook_submit]
