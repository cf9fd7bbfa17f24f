"""The reading room: catalogue search for visitors (the tablet on the LAN, no sign-in), fetch-from-storage requests
for staff (per visit and the librarian's queue), and counting in-house use of display-shelf items."""

from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import current_user, flash, staff_only
from edge.catalogue import LOCATIONS, CatalogueError
from edge.errors import ApiError
from edge.fetches import STATUS_WORDS, FetchError
from edge.i18n import N_
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, audited
from edge.routes.kiosk import json_object
from edge.tickets import local_iso
from edge.users import staff_names
from pst.openapi import PAGE

Form = URLEncodedBody[dict[str, str]]
PER_PAGE = 20
# the buttons each open status offers: (target status, label)
ACTIONS = {
    "diminta": (("diambil", N_("Sudah diambil")), ("tidak_tersedia", N_("Tidak tersedia")), ("dibatalkan", N_("Batalkan"))),
    "diambil": (("diserahkan", N_("Serahkan ke pengunjung")), ("tidak_tersedia", N_("Tidak tersedia")),
                ("dibatalkan", N_("Batalkan"))),
    "diserahkan": (("dikembalikan", N_("Sudah dikembalikan")),),
}


def _run(fn, *args):
    try:
        return fn(*args)
    except (CatalogueError, FetchError) as exc:
        raise ApiError(exc.status, str(exc), exc.errors) from None


def _request_fetch(appliance, actor, visit_id: str, publication_id, staff_id: str, note) -> dict:
    with audited(appliance, actor, "fetch.request", visit=visit_id) as line:
        item = _run(appliance.fetches.request, visit_id, publication_id, staff_id, note)
        line["target"] = f"fetch_request:{item['id']}"
    return item


def _advance_fetch(appliance, actor, request_id: str, status: str, staff_id: str, note) -> dict:
    """A fetch request's next step; the line's action is its new status (fetch.diserahkan, fetch.dibatalkan …)."""
    with audited(appliance, actor, "fetch.status", f"fetch_request:{request_id}") as line:
        item = _run(appliance.fetches.advance, request_id, status, staff_id, note)
        line["action"] = f"fetch.{item['status']}"
    return item


def fetch_json(item: dict, tz) -> dict:
    """A request as the API shows it: times in office time with offset."""
    return {k: local_iso(v, tz) if k.endswith("_at") else v for k, v in item.items()}


def _search(appliance, params, per_page=PER_PAGE) -> dict:
    return _run(appliance.catalogue.search, params.get("q", ""), params.get("year"), params.get("subject"),
                params.get("location"), params.get("page") or 1, per_page)


# --- JSON --------------------------------------------------------------------------------------------------------------
@get("/api/catalogue", sync_to_thread=True)
def api_search(request: Request, appliance: ApplianceDep) -> dict:
    return _search(appliance, request.query_params, request.query_params.get("per_page") or PER_PAGE)


@get("/api/catalogue/{publication_id:str}", sync_to_thread=True)
def api_publication(publication_id: FromPath[str], appliance: ApplianceDep) -> dict:
    publication = appliance.catalogue.get(publication_id)
    if publication is None:
        raise ApiError(404, N_("Publikasi tidak ditemukan di katalog"))
    return publication


@post("/api/catalogue/{publication_id:str}/use", guards=[staff_only], opt=needs("library"), status_code=201)
async def api_count_use(request: Request, publication_id: FromPath[str], appliance: ApplianceDep) -> dict:
    staff = current_user(request)["id"]
    return await anyio.to_thread.run_sync(_run, appliance.catalogue.count_use, publication_id, staff)


@post("/api/visits/{visit_id:str}/fetches", guards=[staff_only], opt=needs("desk"), status_code=201)
async def api_request_fetch(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    staff = current_user(request)["id"]
    item = await anyio.to_thread.run_sync(
        _request_fetch, appliance, actor_of(request), visit_id, data.get("publication_id"), staff, data.get("note")
    )
    return fetch_json(item, appliance.config.office.tz)


@get("/api/visits/{visit_id:str}/fetches", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_visit_fetches(visit_id: FromPath[str], appliance: ApplianceDep) -> dict:
    if appliance.visits.get(visit_id) is None:
        raise ApiError(404, N_("Kunjungan tidak ditemukan"))
    tz = appliance.config.office.tz
    return {"requests": [fetch_json(r, tz) for r in appliance.fetches.of_visit(visit_id)]}


@post("/api/fetches/{request_id:str}/{status:str}", guards=[staff_only], opt=needs("library"), status_code=200)
async def api_advance_fetch(request: Request, request_id: FromPath[str], status: FromPath[str], appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    staff = current_user(request)["id"]
    item = await anyio.to_thread.run_sync(
        _advance_fetch, appliance, actor_of(request), request_id, status, staff, data.get("note")
    )
    return fetch_json(item, appliance.config.office.tz)


@get("/api/fetches", guards=[staff_only], opt=needs("library"), sync_to_thread=True)
def api_fetch_queue(appliance: ApplianceDep) -> dict:
    tz = appliance.config.office.tz
    return {"requests": [fetch_json(r, tz) for r in appliance.fetches.queue()]}


# --- pages -------------------------------------------------------------------------------------------------------------
def _clock_time(appliance):
    tz = appliance.config.office.tz
    return lambda value: datetime.fromisoformat(value).astimezone(tz).strftime("%H.%M") if value else "—"


def visit_fetches_context(appliance, visit_id: str) -> dict:
    """What `visit_fetches.html` needs, for the visit page to merge into its context."""
    return {
        "fetches": appliance.fetches.of_visit(visit_id), "fetch_words": STATUS_WORDS, "fetch_actions": ACTIONS,
        "fetch_time": _clock_time(appliance), "staff_name": _staff_name(appliance),
    }


def _staff_name(appliance):
    names = staff_names(appliance.store)
    return lambda staff_id: names.get(staff_id, "") if staff_id else ""


def _page_context(request: Request, appliance) -> dict:
    params = request.query_params
    filters = {k: (params.get(k) or "").strip()[:200] for k in ("q", "year", "subject", "location")}
    try:
        result, error = _search(appliance, params), None
    except ApiError as exc:
        result, error = {"total": 0, "items": []}, exc.detail
    page = int(params.get("page")) if (params.get("page") or "").isdigit() else 1

    def page_link(number: int) -> str:
        query = {k: v for k, v in filters.items() if v} | {"page": number}
        return f"{request.url.path}?{urlencode(query)}"

    return {
        "office": appliance.config.office, "user": current_user(request), "filters": filters, "result": result,
        "error": error, "page": page, "pages": max(1, math.ceil(result["total"] / PER_PAGE)), "page_link": page_link,
        "years": appliance.catalogue.years(), "subjects": appliance.catalogue.subjects(), "locations": LOCATIONS,
        "here": _here(request),
    }


@get("/katalog", sync_to_thread=True, responses={"4XX": PAGE})
def catalogue_page(request: Request, appliance: ApplianceDep) -> Template:
    context = _page_context(request, appliance)
    return Template("catalogue.html", context=context, status_code=400 if context["error"] else 200)


def _fetch_queue_context(appliance) -> dict:
    queue = appliance.fetches.queue()
    return {
        "to_fetch": [r for r in queue if r["status"] != "diserahkan"],
        "reading": [r for r in queue if r["status"] == "diserahkan"],
        "fetch_words": STATUS_WORDS, "fetch_actions": ACTIONS, "fetch_time": _clock_time(appliance),
        "here": "/petugas/permintaan",
    }


@get("/petugas/permintaan", guards=[staff_only], opt=needs("library"), sync_to_thread=True)
def fetch_queue_page(request: Request, appliance: ApplianceDep) -> Template:
    return Template("fetch_queue.html", context=_fetch_queue_context(appliance) | {
        "office": appliance.config.office, "user": current_user(request),
    })


@get("/petugas/permintaan/daftar", guards=[staff_only], opt=needs("library"), sync_to_thread=True)
def fetch_queue_fragment(appliance: ApplianceDep) -> Template:
    """The queue's lists alone, fetched by live.js so the page never reloads under a half-typed reason."""
    return Template("fetch_queue_list.html", context=_fetch_queue_context(appliance))


@get("/petugas/kunjungan/{visit_id:str}/katalog", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def visit_catalogue_page(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> Template:
    visit = appliance.visits.get(visit_id)
    if visit is None:
        raise ApiError(404, N_("Kunjungan tidak ditemukan"))
    context = _page_context(request, appliance) | visit_fetches_context(appliance, visit_id)
    return Template("visit_catalogue.html", context=context | {
        "visit": visit, "ticket": appliance.queue.get(visit["ticket_id"]),
    })


@post("/petugas/kunjungan/{visit_id:str}/permintaan", guards=[staff_only], opt=needs("desk"), status_code=303)
async def request_fetch_form(request: Request, visit_id: FromPath[str], appliance: ApplianceDep, data: Form) -> Redirect:
    staff = current_user(request)["id"]
    try:
        item = await anyio.to_thread.run_sync(
            _request_fetch, appliance, actor_of(request), visit_id, data.get("publication_id"), staff, data.get("note")
        )
        flash(request, "success", N_("Diminta dari ruang penyimpanan: %(title)s") % {"title": item["publication"]["title"]})
    except ApiError as exc:
        flash(request, "error", N_("Tidak dapat: %(reason)s") % {"reason": exc.detail})
    return _back(data.get("kembali"), f"/petugas/kunjungan/{visit_id}")


@post("/petugas/permintaan/{request_id:str}/{status:str}", guards=[staff_only], opt=needs("library"),
      status_code=303)
async def advance_fetch_form(request: Request, request_id: FromPath[str], status: FromPath[str], appliance: ApplianceDep,
                             data: Form) -> Redirect:
    staff = current_user(request)["id"]
    try:
        item = await anyio.to_thread.run_sync(
            _advance_fetch, appliance, actor_of(request), request_id, status, staff, data.get("note")
        )
        words = {"title": item["publication"]["title"], "status": STATUS_WORDS[status]}
        flash(request, "success", N_("%(title)s: %(status)s") % words)
    except ApiError as exc:
        flash(request, "error", N_("Tidak dapat: %(reason)s") % {"reason": exc.detail})
    return _back(data.get("kembali"), "/petugas/permintaan")


@post("/petugas/katalog/{publication_id:str}/pakai", guards=[staff_only], opt=needs("library"), status_code=303)
async def count_use_form(request: Request, publication_id: FromPath[str], appliance: ApplianceDep, data: Form) -> Redirect:
    staff = current_user(request)["id"]
    try:
        result = await anyio.to_thread.run_sync(_run, appliance.catalogue.count_use, publication_id, staff)
        flash(request, "success", N_("Penggunaan di tempat dicatat (sudah %(uses)s kali)") % {"uses": result["in_house_uses"]})
    except ApiError as exc:
        flash(request, "error", N_("Tidak dapat: %(reason)s") % {"reason": exc.detail})
    return _back(data.get("kembali"), "/katalog")


def _here(request: Request) -> str:
    """This page's own address, for forms to come back to (without a `pesan` an old link may still carry)."""
    query = [(k, v) for k, v in parse_qsl(request.url.query) if k != "pesan"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def _back(target: object, default: str) -> Redirect:
    """Back to the page the form was on, when it is one of ours (never another site); the message is flashed."""
    path = target if isinstance(target, str) else ""
    parts = urlsplit(path)
    local = path.startswith(("/petugas", "/katalog")) and not parts.scheme and not parts.netloc and "\\" not in path
    parts = urlsplit(path if local else default)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "pesan"]
    return Redirect(parts.path + (f"?{urlencode(query)}" if query else ""), status_code=303)


routes = [
    api_search, api_publication, api_count_use, api_request_fetch, api_visit_fetches, api_advance_fetch, api_fetch_queue,
    catalogue_page, fetch_queue_page, fetch_queue_fragment, visit_catalogue_page, request_fetch_form, advance_fetch_form, count_use_form,
]
