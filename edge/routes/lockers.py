"""Lockers at the desk: assign against an ID card, the bank's state, out-of-service, the closing checklist; and
checkout."""

from __future__ import annotations

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import current_user, flash, staff_only
from edge.errors import ApiError
from edge.i18n import N_
from edge.alerts import open_alerts
from edge.lockers import ALERT_PREFIX, LockerError
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, audited
from edge.routes.kiosk import json_object

Form = URLEncodedBody[dict[str, str]]


def _run(fn, *args):
    try:
        return fn(*args)
    except LockerError as exc:
        raise ApiError(exc.status, str(exc), exc.errors) from None


def _set_in_service(appliance, actor, number: int, in_service: bool) -> None:
    with audited(appliance, actor, "locker.service", f"locker:{number}", in_service=in_service):
        _run(appliance.lockers.set_in_service, number, in_service)


@post("/api/visits/{visit_id:str}/locker", guards=[staff_only], opt=needs("desk"), status_code=201)
async def api_assign_locker(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    staff = current_user(request)["id"]
    number = await anyio.to_thread.run_sync(
        _run, appliance.lockers.assign, visit_id, data.get("id_type"), data.get("id_number"), staff, actor_of(request)
    )
    return {"locker": number}


@post("/api/visits/{visit_id:str}/checkout", guards=[staff_only], opt=needs("desk"), status_code=200)
async def api_checkout(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    return await anyio.to_thread.run_sync(
        _run, appliance.checkout.checkout, visit_id, data.get("id_number"), actor_of(request)
    )


@get("/api/lockers", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_lockers(appliance: ApplianceDep) -> dict:
    return {"lockers": appliance.lockers.bank_state(), "checklist": appliance.lockers.checklist()}


@post("/api/lockers/{number:int}/service", guards=[staff_only], opt=needs("locker_service"), status_code=200)
async def api_locker_service(request: Request, number: FromPath[int], appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    if not isinstance(data.get("in_service"), bool):
        raise ApiError(400, "in_service harus true atau false", {"in_service": "harus true atau false"})
    await anyio.to_thread.run_sync(_set_in_service, appliance, actor_of(request), number, data["in_service"])
    return {"number": number, "in_service": data["in_service"]}


def _acknowledge(appliance, actor, number: int) -> bool:
    if number not in appliance.lockers.bank.numbers:
        raise ApiError(404, N_("Loker %(number)s tidak ada") % {"number": number})
    with audited(appliance, actor, "locker.acknowledge", f"locker:{number}") as line:
        line["skip"] = not appliance.lockers.acknowledge(number)  # no alert was open: nothing to record
    return not line["skip"]


@post("/api/lockers/{number:int}/acknowledge", guards=[staff_only], opt=needs("desk"), status_code=200)
async def api_locker_acknowledge(request: Request, number: FromPath[int], appliance: ApplianceDep) -> dict:
    """Staff saw the door's alert: it closes and is not raised again until the door's next unlock or opening."""
    done = await anyio.to_thread.run_sync(_acknowledge, appliance, actor_of(request), number)
    return {"number": number, "acknowledged": done}


def _bank_context(appliance) -> dict:
    alerts = [a | {"locker": int(a["kind"].removeprefix(ALERT_PREFIX))}
              for a in open_alerts(appliance.store.read) if a["kind"].startswith(ALERT_PREFIX)]
    return {"lockers": appliance.lockers.bank_state(), "checklist": appliance.lockers.checklist(),
            "locker_alerts": alerts}


@get("/petugas/loker", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def lockers_page(request: Request, appliance: ApplianceDep) -> Template:
    return Template("lockers.html", context=_bank_context(appliance) | {
        "office": appliance.config.office, "user": current_user(request),
    })


@get("/petugas/loker/daftar", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def lockers_fragment(appliance: ApplianceDep) -> Template:
    """The bank and the checklist alone, fetched by live.js (the page itself never reloads)."""
    return Template("lockers_bank.html", context=_bank_context(appliance))


@post("/petugas/loker/{number:int}/peringatan", guards=[staff_only], opt=needs("desk"), status_code=303)
async def locker_acknowledge_form(request: Request, number: FromPath[int], appliance: ApplianceDep, data: Form) -> Redirect:
    done = await anyio.to_thread.run_sync(_acknowledge, appliance, actor_of(request), number)
    if done:
        flash(request, "success", N_("Peringatan loker %(number)s ditandai sudah ditangani") % {"number": number})
    else:
        flash(request, "info", N_("Tidak ada peringatan terbuka untuk loker %(number)s") % {"number": number})
    return Redirect("/petugas" if data.get("kembali") == "/petugas" else "/petugas/loker", status_code=303)


@post("/petugas/loker/{number:int}/layanan", guards=[staff_only], opt=needs("locker_service"), status_code=303)
async def locker_service_form(request: Request, number: FromPath[int], appliance: ApplianceDep, data: Form) -> Redirect:
    in_service = data.get("in_service") == "1"
    await anyio.to_thread.run_sync(_set_in_service, appliance, actor_of(request), number, in_service)
    message = N_("Loker %(number)s dipakai kembali") if in_service else N_("Loker %(number)s ditandai rusak")
    flash(request, "success", message % {"number": number})
    return Redirect("/petugas/loker", status_code=303)


@post("/petugas/kunjungan/{visit_id:str}/loker", guards=[staff_only], opt=needs("desk"), status_code=303)
async def assign_form(request: Request, visit_id: FromPath[str], appliance: ApplianceDep, data: Form) -> Redirect:
    staff = current_user(request)["id"]
    try:
        number = await anyio.to_thread.run_sync(
            _run, appliance.lockers.assign, visit_id, data.get("id_type"), data.get("id_number", ""), staff,
            actor_of(request),
        )
        flash(request, "success", N_("Loker %(number)s dibuka untuk pengunjung ini") % {"number": number})
    except ApiError as exc:
        flash(request, "error", N_("Loker belum diberikan: %(reason)s") % {"reason": exc.detail})
    return Redirect(f"/petugas/kunjungan/{visit_id}", status_code=303)


@post("/petugas/kunjungan/{visit_id:str}/checkout", guards=[staff_only], opt=needs("desk"), status_code=303)
async def checkout_form(request: Request, visit_id: FromPath[str], appliance: ApplianceDep, data: Form) -> Redirect:
    try:
        result = await anyio.to_thread.run_sync(
            _run, appliance.checkout.checkout, visit_id, data.get("id_number"), actor_of(request)
        )
    except ApiError as exc:
        flash(request, "error", N_("Checkout belum bisa: %(reason)s") % {"reason": exc.detail})
        return Redirect(f"/petugas/kunjungan/{visit_id}", status_code=303)
    if result["locker"]:
        done = N_("Checkout selesai; loker %(number)s dibuka dan kartu identitas dikembalikan") % {"number": result["locker"]}
    else:
        done = N_("Checkout selesai")
    # the visit page now offers the SKM questionnaire (step 6 of the standard) to hand to the visitor
    flash(request, "success", done)
    return Redirect(f"/petugas/kunjungan/{visit_id}", status_code=303)


routes = [
    api_assign_locker, api_checkout, api_lockers, api_locker_service, api_locker_acknowledge, lockers_page,
    lockers_fragment, locker_acknowledge_form, locker_service_form, assign_form, checkout_form,
]
