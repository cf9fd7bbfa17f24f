"""The privacy notice (`/privasi`) and the admins' back office page for a person's request (`/kantor/privasi`):
export everything held about an e-mail (a JSON download), or erase it after a confirmation step."""

from __future__ import annotations

import json

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import URLEncodedBody
from litestar.response import Template

from cloud.credentials import email_problem, normalise_email
from cloud.privacy import Privacy, PrivacyError
from cloud.routes import AccountsDep
from cloud.routes.backoffice import (
    BACK_OFFICE,
    NO_STORE,
    _Forbidden,
    _NotSignedIn,
    _page,
    _refused,
    _signed_in,
    _stale_form,
    _to_sign_in,
)
from pst.i18n import N_
from pst.openapi import also_answer

PrivacyDep = NamedDependency[Privacy]
Form = URLEncodedBody[dict[str, str]]


@get("/privasi")
async def privacy_page() -> Template:
    return Template("privasi.html", context={"error": None, "account": None})


async def _admin(request: Request, accounts):
    staff = await _signed_in(request, accounts)
    if staff.role != "admin":
        raise _Forbidden(staff, N_("Hanya admin yang dapat mengekspor atau menghapus data pribadi."))
    return staff


def _form_page(admin, status: int = 200, **context) -> Template:
    return _page("kantor_privasi.html", admin, status, **{"email": "", "confirm": None, "done": None, **context})


def _email(data: dict) -> tuple[str, str | None]:
    email = normalise_email(data.get("email") or "")
    return email, email_problem(email)


@get("/")
async def staff_page(request: Request, accounts: AccountsDep) -> Template:
    return _form_page(await _admin(request, accounts))


@post("/ekspor", status_code=200)
async def export_form(request: Request, data: Form, accounts: AccountsDep, privacy: PrivacyDep) -> Response:
    admin = await _admin(request, accounts)
    email, problem = _email(data)
    if problem:
        return _form_page(admin, 400, email=email, error=N_("Periksa alamat e-mail."), errors={"email": problem})
    address = request.client.host if request.client else None
    document = await privacy.export(email, admin.email, address)
    return Response(json.dumps(document, ensure_ascii=False, indent=2, default=str), media_type="application/json",
                    headers={**NO_STORE, "Content-Disposition": 'attachment; filename="data-pribadi.json"'})


@post("/hapus", status_code=200)
async def erase_form(request: Request, data: Form, accounts: AccountsDep, privacy: PrivacyDep) -> Template:
    """First post: what would be erased, and a confirmation button; second post (`confirm=ya`): erased."""
    admin = await _admin(request, accounts)
    email, problem = _email(data)
    if problem:
        return _form_page(admin, 400, email=email, error=N_("Periksa alamat e-mail."), errors={"email": problem})
    if data.get("confirm") != "ya":
        return _form_page(admin, email=email, confirm=await privacy.preview(email))
    address = request.client.host if request.client else None
    try:
        counts = await privacy.erase(email, admin.email, address)
    except PrivacyError as exc:
        return _form_page(admin, exc.status, email=email, error=exc.detail, errors=exc.errors)
    return _form_page(admin, done=counts)


routes = [privacy_page, Router(
    path="/kantor/privasi", route_handlers=also_answer(BACK_OFFICE, [staff_page, export_form, erase_form]),
    exception_handlers={_NotSignedIn: _to_sign_in, _Forbidden: _refused, PermissionDeniedException: _stale_form},
)]
