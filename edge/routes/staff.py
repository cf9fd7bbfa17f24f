"""Staff sign-in, today's tickets with reprint, and the alerts they must act on."""

from __future__ import annotations

import anyio
from litestar import Request, delete, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from edge.alerts import open_alerts
from edge.appliance import Appliance
from edge.routes import ApplianceDep
from edge.auth import SESSION_USER, current_user, staff_only
from edge.errors import ApiError
from edge.routes.kiosk import json_object
from edge.slip import office_time
from edge.tickets import ticket_json
from edge.users import authenticate
from hardware.interfaces import PrinterFault

Form = URLEncodedBody[dict[str, str]]


async def sign_in(request: Request, appliance: ApplianceDep, username: object, password: object) -> bool:
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return False
    user = await anyio.to_thread.run_sync(authenticate, appliance.store, username, password)
    if user is None:
        return False
    request.clear_session()
    request.set_session({SESSION_USER: {"id": user.id, "username": user.username, "role": user.role}})
    return True


@post("/api/session", status_code=200)
async def api_login(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    missing = {k: "wajib diisi" for k in ("username", "password") if not data.get(k)}
    if missing:
        raise ApiError(400, "Nama pengguna dan kata sandi wajib diisi", missing)
    if not await sign_in(request, appliance, data["username"], data["password"]):
        raise ApiError(401, "Nama pengguna atau kata sandi salah")
    return current_user(request)


@delete("/api/session", status_code=204)
async def api_logout(request: Request) -> None:
    request.clear_session()


@post("/api/tickets/{ticket_id:str}/reprint", guards=[staff_only], sync_to_thread=True, status_code=200)
def reprint(ticket_id: FromPath[str], appliance: ApplianceDep) -> dict:
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        raise ApiError(404, "Tiket tidak ditemukan")
    try:
        appliance.spooler.reprint(ticket)
    except PrinterFault as fault:
        raise ApiError(503, f"Printer tidak dapat mencetak: {fault.kind}", {"printer": str(fault)}) from None
    ticket = appliance.queue.get(ticket_id)
    return ticket_json(ticket, appliance.config.office.tz, appliance.queue.ahead(ticket))


@get("/api/alerts", guards=[staff_only], sync_to_thread=True)
def alerts(appliance: ApplianceDep) -> list[dict]:
    return open_alerts(appliance.store.read)


@get("/petugas/masuk", sync_to_thread=False)
def login_page(request: Request, appliance: ApplianceDep) -> Template:
    return Template("login.html", context={"office": appliance.config.office, "error": None})


@post("/petugas/masuk")
async def login_form(request: Request, appliance: ApplianceDep, data: Form) -> Redirect | Template:
    if await sign_in(request, appliance, data.get("username"), data.get("password")):
        return Redirect("/petugas", status_code=303)
    context = {"office": appliance.config.office, "error": "Nama pengguna atau kata sandi salah."}
    return Template("login.html", context=context, status_code=401)


@post("/petugas/keluar")
async def logout_form(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/petugas/masuk", status_code=303)


@get("/petugas", guards=[staff_only], sync_to_thread=True)
def staff_page(request: Request, appliance: ApplianceDep) -> Template:
    tz = appliance.config.office.tz
    tickets = appliance.queue.of_day()
    return Template("staff.html", context={
        "office": appliance.config.office,
        "user": current_user(request),
        "alerts": open_alerts(appliance.store.read),
        "tickets": [(t, office_time(t.issued, tz)[-10:]) for t in reversed(tickets)],
        "printer_state": appliance.spooler.state,
        "message": request.query_params.get("pesan"),
    })


@post("/petugas/tiket", guards=[staff_only])
async def staff_issue(appliance: ApplianceDep) -> Redirect:
    ticket = await anyio.to_thread.run_sync(appliance.issue, "staff")
    return Redirect(f"/petugas?pesan=Nomor+{ticket.number}+diterbitkan", status_code=303)


@post("/petugas/tiket/{ticket_id:str}/cetak-ulang", guards=[staff_only], sync_to_thread=True)
def staff_reprint(ticket_id: FromPath[str], appliance: ApplianceDep) -> Redirect:
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        raise ApiError(404, "Tiket tidak ditemukan")
    try:
        appliance.spooler.reprint(ticket)
        message = f"Nomor {ticket.number} dicetak ulang"
    except PrinterFault:
        message = f"Printer bermasalah: nomor {ticket.number} belum dapat dicetak ulang"
    return Redirect(f"/petugas?pesan={message.replace(' ', '+')}", status_code=303)
