"""The privacy notice (`/privasi`, for visitors) and the admins' page for a person's request (`/petugas/privasi`):
export everything held about an e-mail, or erase it after a confirmation step. Both are in the audit trail."""

from __future__ import annotations

import json

import anyio
from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from edge.auth import current_user, staff_only
from edge.guestbook import EMAIL
from edge.i18n import N_
from edge.roles import needs
from edge.routes import ApplianceDep
from pst.openapi import PAGE

Form = URLEncodedBody[dict[str, str]]
NO_STORE = {"Cache-Control": "private, no-store"}


def notice_context(appliance) -> dict:
    """What the guestbook's notice and /privasi say: the office, its contact and the configured months."""
    rules = appliance.config.privacy
    return {"office": appliance.config.office, "privacy_months": rules.identity_months,
            "privacy_contact": rules.contact or appliance.config.office.name}


@get("/privasi", sync_to_thread=False)
def privacy_page(appliance: ApplianceDep) -> Template:
    return Template("privacy.html", context=notice_context(appliance))


def _staff_page(request: Request, appliance, status: int = 200, **context) -> Template:
    return Template("privacy_staff.html", status_code=status, headers=NO_STORE, context={
        "office": appliance.config.office, "user": current_user(request), "email": "", "error": None,
        "confirm": None, "done": None, **context,
    })


def _email(data: dict) -> str | None:
    email = (data.get("email") or "").strip()
    return email if EMAIL.fullmatch(email) else None


@get("/petugas/privasi", guards=[staff_only], opt=needs("privacy"), sync_to_thread=False)
def staff_page(request: Request, appliance: ApplianceDep) -> Template:
    return _staff_page(request, appliance)


@post("/petugas/privasi/ekspor", guards=[staff_only], opt=needs("privacy"), status_code=200, responses={"4XX": PAGE})
async def export_form(request: Request, appliance: ApplianceDep, data: Form) -> Response:
    email = _email(data)
    if email is None:
        return _staff_page(request, appliance, 400, error=N_("alamat e-mail tidak sah"), email=data.get("email", ""))
    actor = current_user(request)["username"]
    address = request.client.host if request.client else None
    document = await anyio.to_thread.run_sync(appliance.privacy.export, email, actor, address)
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return Response(body, media_type="application/json", headers={
        **NO_STORE, "Content-Disposition": 'attachment; filename="data-pribadi.json"'})


@post("/petugas/privasi/hapus", guards=[staff_only], opt=needs("privacy"), status_code=200, responses={"4XX": PAGE})
async def erase_form(request: Request, appliance: ApplianceDep, data: Form) -> Template:
    """First post: what would be erased, and a confirmation button; second post (`confirm=ya`): erased."""
    email = _email(data)
    if email is None:
        return _staff_page(request, appliance, 400, error=N_("alamat e-mail tidak sah"), email=data.get("email", ""))
    if data.get("confirm") != "ya":
        from edge.privacy import find

        person = await anyio.to_thread.run_sync(lambda: find(appliance.store.read, email))
        return _staff_page(request, appliance, email=email, confirm={
            "visits": len(person.visits), "softcopy_requests": len(person.requests),
            "complaints": len(person.complaints)})
    actor = current_user(request)["username"]
    address = request.client.host if request.client else None
    counts = await anyio.to_thread.run_sync(appliance.privacy.erase, email, actor, address)
    return _staff_page(request, appliance, done=counts)


routes = [privacy_page, staff_page, export_form, erase_form]
