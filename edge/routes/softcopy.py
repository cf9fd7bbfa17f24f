"""Softcopy requests taken at the desk (staff): made here, fulfilled in the cloud, status brought back by the sync."""

from __future__ import annotations

from urllib.parse import quote

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from edge.auth import flash, staff_only
from edge.errors import ApiError
from edge.i18n import N_
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, audited
from edge.routes.kiosk import json_object
from edge.softcopy_requests import SoftcopyRequestError


def _run(fn, *args):
    try:
        return fn(*args)
    except SoftcopyRequestError as exc:
        raise ApiError(exc.status, exc.message, exc.errors) from None


@post("/api/softcopy-requests", status_code=201, guards=[staff_only], opt=needs("desk"))
async def api_create(request: Request, appliance: ApplianceDep) -> dict:
    """`{"visit_id", "publication_id"? | "description", "purpose"}` → 201 the request (status diajukan)."""
    data = await json_object(request)
    unknown = set(data) - {"visit_id", "publication_id", "description", "purpose"}
    if unknown:
        raise ApiError(400, "Isian tidak dikenal", {key: "tidak dikenal" for key in sorted(unknown)})
    return await anyio.to_thread.run_sync(
        _run, _create, appliance, actor_of(request), data.get("visit_id"), data.get("publication_id"),
        data.get("description"), data.get("purpose"),
    )


def _create(appliance, actor, visit_id, publication_id, description, purpose) -> dict:
    """The request and its line (request.create) in one transaction."""
    with audited(appliance, actor, "request.create", purpose=purpose) as line:
        made = appliance.softcopy_requests.create(visit_id, publication_id, description, purpose)
        line["target"], line["detail"]["visit"] = f"softcopy_request:{made['id']}", made.get("visit_id")
    return made


@get("/api/visits/{visit_id:str}/softcopy-requests", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_of_visit(visit_id: FromPath[str], appliance: ApplianceDep) -> list[dict]:
    """The visit's softcopy requests with the status the cloud last gave them."""
    return appliance.softcopy_requests.of_visit(visit_id)


@post("/petugas/kunjungan/{visit_id:str}/softcopy", guards=[staff_only], opt=needs("desk"), status_code=303)
async def visit_form(request: Request, visit_id: FromPath[str], appliance: ApplianceDep,
                     data: URLEncodedBody[dict[str, str]]) -> Redirect:
    """The visit page's form; back to the page with a message either way (the form keeps nothing on an error)."""
    try:
        await anyio.to_thread.run_sync(
            _create, appliance, actor_of(request), visit_id, None, data.get("description"), data.get("purpose"))
    except SoftcopyRequestError as exc:
        reason = "; ".join([exc.message, *exc.errors.values()])
        flash(request, "error", N_("Permintaan softcopy belum dicatat: %(reason)s") % {"reason": reason})
    else:
        flash(request, "success", N_("Permintaan softcopy dicatat; dikirim ke cloud pada sinkronisasi berikutnya"))
    return Redirect(f"/petugas/kunjungan/{quote(visit_id)}#softcopy", status_code=303)


routes = [api_create, api_of_visit, visit_form]
