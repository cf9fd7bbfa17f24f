"""Accounts and sessions over JSON: register, verify, sign in and out, reset a password."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie

from cloud.errors import ApiError
from cloud.openapi import ACCOUNT, SIGN_IN, documented
from cloud.routes import SESSION_COOKIE, AccountsDep, json_object
from pst.openapi import see_other


def session_cookie(request: Request, token: str | None, max_age: int) -> Cookie:
    """HttpOnly and SameSite=Lax; Secure whenever the portal is reached over HTTPS."""
    secure = request.app.state.public_url.startswith("https://")
    return Cookie(key=SESSION_COOKIE, value=token or "", max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure)


SIGN_IN_FIRST = see_other("Not signed in: to the sign-in page, and back here after")  # to sign_in_path


def sign_in_path(request: Request) -> str:
    """The sign-in page that returns to this page once she has signed in (see cloud.accounts.safe_next)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/akun/masuk?next={quote(here, safe='/')}"


def client_address(request: Request) -> str | None:
    """Who is signing in, for the per-address throttle: the proxy's X-Forwarded-For as uvicorn has applied it."""
    return request.client.host if request.client else None


@post("/api/accounts", status_code=201, operation_class=documented(ACCOUNT))
async def register(request: Request, accounts: AccountsDep) -> dict:
    data = await json_object(request, "email", "name", "password")
    account = await accounts.register(data["email"], data["name"], data["password"])
    return account.as_json()


@post("/api/accounts/verify", status_code=200)
async def verify(request: Request, accounts: AccountsDep) -> dict:
    data = await json_object(request, "token")
    await accounts.verify(data["token"])
    return {"verified": True}


@post("/api/session", status_code=200, operation_class=documented(SIGN_IN))
async def login(request: Request, accounts: AccountsDep) -> Response:
    data = await json_object(request, "email", "password")
    token, account = await accounts.login(data["email"], data["password"], client_address(request))
    max_age = int(request.app.state.session_ttl.total_seconds())
    return Response(account.as_json(), cookies=[session_cookie(request, token, max_age)])


@get("/api/session")
async def whoami(request: Request, accounts: AccountsDep) -> dict:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise ApiError(401, "Belum masuk")
    return account.as_json()


@delete("/api/session", status_code=200)
async def logout(request: Request, accounts: AccountsDep) -> Response:
    await accounts.logout(request.cookies.get(SESSION_COOKIE), client_address(request))
    return Response({"detail": "Anda telah keluar"}, cookies=[session_cookie(request, None, 0)])


@post("/api/password-resets", status_code=202)
async def request_reset(request: Request, accounts: AccountsDep) -> dict:
    data = await json_object(request, "email")
    await accounts.request_reset(data["email"])
    return {"detail": "Jika email tersebut terdaftar, tautan atur ulang kata sandi telah dikirim"}


@post("/api/accounts/password", status_code=200)
async def set_password(request: Request, accounts: AccountsDep) -> Response:
    """A password chosen through a set-password link of a mail; signs in."""
    data = await json_object(request, "token", "password")
    token, account = await accounts.set_password(data["token"], data["password"], client_address(request))
    max_age = int(request.app.state.session_ttl.total_seconds())
    return Response(account.as_json(), cookies=[session_cookie(request, token, max_age)])


@post("/api/password-resets/confirm", status_code=200)
async def reset(request: Request, accounts: AccountsDep) -> dict:
    data = await json_object(request, "token", "password")
    await accounts.reset(data["token"], data["password"])
    return {"detail": "Kata sandi telah diganti; silakan masuk"}


routes = [register, verify, login, whoami, logout, request_reset, reset, set_password]
