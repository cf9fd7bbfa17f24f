"""Staff sign-in and sign-out, for the JSON API and the HTML forms, with throttling of wrong passwords."""

from __future__ import annotations

import anyio
from litestar import Request, delete, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import SESSION_USER, current_user
from edge.errors import ApiError
from edge.i18n import N_
from edge.routes import ApplianceDep
from edge.routes.kiosk import json_object
from edge.users import authenticate, lockout_remaining, record_attempt

Form = URLEncodedBody[dict[str, str]]


class LockedOut(Exception):
    def __init__(self, seconds: int):
        self.seconds = seconds


def _sign_in(request: Request, appliance, username: object, password: object) -> bool:
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return False
    username = username.strip()[:64]
    wait = lockout_remaining(appliance.store, username, appliance.clock)
    if wait:
        raise LockedOut(wait)
    user = authenticate(appliance.store, username, password)
    record_attempt(appliance.store, username, user is not None, appliance.clock)
    if user is None:
        return False
    request.clear_session()
    request.set_session({SESSION_USER: {"id": user.id, "username": user.username, "role": user.role}, "counter": 1})
    return True


def _locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return N_("Terlalu banyak percobaan masuk yang salah. Coba lagi dalam %(minutes)s menit.") % {"minutes": minutes}


@post("/api/session", status_code=200)
async def api_login(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    missing = {k: "wajib diisi" for k in ("username", "password") if not data.get(k)}
    if missing:
        raise ApiError(400, "Nama pengguna dan kata sandi wajib diisi", missing)
    try:
        ok = await anyio.to_thread.run_sync(_sign_in, request, appliance, data["username"], data["password"])
    except LockedOut as locked:
        raise ApiError(429, _locked_message(locked.seconds)) from None
    if not ok:
        raise ApiError(401, "Nama pengguna atau kata sandi salah")
    return current_user(request)


@delete("/api/session", status_code=204)
async def api_logout(request: Request) -> None:
    request.clear_session()


@get("/petugas/masuk", sync_to_thread=False)
def login_page(appliance: ApplianceDep) -> Template:
    return Template("login.html", context={"office": appliance.config.office, "error": None})


@post("/petugas/masuk")
async def login_form(request: Request, appliance: ApplianceDep, data: Form) -> Redirect | Template:
    try:
        ok = await anyio.to_thread.run_sync(_sign_in, request, appliance, data.get("username"), data.get("password"))
        error, status = N_("Nama pengguna atau kata sandi salah."), 401
    except LockedOut as locked:
        ok, error, status = False, _locked_message(locked.seconds), 429
    if ok:
        return Redirect("/petugas", status_code=303)
    return Template("login.html", context={"office": appliance.config.office, "error": error}, status_code=status)


@post("/petugas/keluar")
async def logout_form(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/petugas/masuk", status_code=303)


routes = [api_login, api_logout, login_page, login_form, logout_form]
