"""Staff sign-in and sign-out, for the JSON API and the HTML forms, with throttling of wrong passwords."""

from __future__ import annotations

import anyio
from litestar import Request, delete, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import SESSION_USER, current_user
from edge.errors import ApiError
from edge.i18n import N_
from edge.openapi import SIGN_IN, json_body
from edge.routes import ApplianceDep
from edge.routes.audit import Actor, actor_of, record_alone
from edge.routes.kiosk import json_object
from edge.sessions import renew
from edge.users import address_remaining, authenticate, lockout_remaining, record_attempt
from pst.openapi import PAGE, see_other

Form = URLEncodedBody[dict[str, str]]


class LockedOut(Exception):
    def __init__(self, seconds: int, message: str):
        self.seconds, self.message = seconds, message


def _sign_in(request: Request, appliance, username: object, password: object) -> bool:
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return False
    username = username.strip()[:64]
    address = actor_of(request).address
    crowded = address_remaining(appliance.store, address, appliance.clock)  # too many wrong from this address
    wait = crowded or lockout_remaining(appliance.store, username, appliance.clock)
    if wait:
        record_alone(appliance, Actor(username, address), "signin.failed", reason="terkunci sementara")
        raise LockedOut(wait, ADDRESS_LOCKED if crowded else LOCKED)
    user = authenticate(appliance.store, username, password)
    record_attempt(appliance.store, username, user is not None, appliance.clock, address)
    if user is None:
        return False
    request.set_session({SESSION_USER: {"id": user.id, "username": user.username, "role": user.role}, "counter": 1})
    renew(request)  # a new id: one noted or planted before the sign-in never becomes a staff session
    return True


LOCKED = N_("Terlalu banyak percobaan masuk yang salah. Coba lagi dalam %(minutes)s menit.")
ADDRESS_LOCKED = N_("Terlalu banyak percobaan masuk yang salah dari alamat ini. Coba lagi dalam %(minutes)s menit.")


def _locked_message(locked: LockedOut) -> str:
    return locked.message % {"minutes": max(1, round(locked.seconds / 60))}


def _retry_after(locked: LockedOut) -> dict[str, str]:
    return {"Retry-After": str(locked.seconds)}


@post("/api/session", status_code=200, operation_class=json_body(SIGN_IN))
async def api_login(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    missing = {k: "wajib diisi" for k in ("username", "password") if not data.get(k)}
    if missing:
        raise ApiError(400, "Nama pengguna dan kata sandi wajib diisi", missing)
    try:
        ok = await anyio.to_thread.run_sync(_sign_in, request, appliance, data["username"], data["password"])
    except LockedOut as locked:
        refused = ApiError(429, _locked_message(locked))
        refused.headers = _retry_after(locked)
        raise refused from None
    if not ok:
        raise ApiError(401, "Nama pengguna atau kata sandi salah")
    return current_user(request)


async def _sign_out(request: Request, appliance) -> None:
    if current_user(request):
        await anyio.to_thread.run_sync(record_alone, appliance, actor_of(request), "signout")
    request.clear_session()


@delete("/api/session", status_code=204)
async def api_logout(request: Request, appliance: ApplianceDep) -> None:
    await _sign_out(request, appliance)


@get("/petugas/masuk", sync_to_thread=False)
def login_page(appliance: ApplianceDep) -> Template:
    return Template("login.html", context={"office": appliance.config.office, "error": None})


@post("/petugas/masuk", status_code=303, responses={303: see_other("Signed in: to the console"), "4XX": PAGE})
async def login_form(request: Request, appliance: ApplianceDep, data: Form) -> Redirect | Template:
    try:
        ok = await anyio.to_thread.run_sync(_sign_in, request, appliance, data.get("username"), data.get("password"))
        error, status, headers = N_("Nama pengguna atau kata sandi salah."), 401, None
    except LockedOut as locked:
        ok, error, status, headers = False, _locked_message(locked), 429, _retry_after(locked)
    if ok:
        return Redirect("/petugas", status_code=303)
    return Template("login.html", context={"office": appliance.config.office, "error": error}, status_code=status,
                    headers=headers)


@post("/petugas/keluar", status_code=303)
async def logout_form(request: Request, appliance: ApplianceDep) -> Redirect:
    await _sign_out(request, appliance)
    return Redirect("/petugas/masuk", status_code=303)


routes = [api_login, api_logout, login_page, login_form, logout_form]
