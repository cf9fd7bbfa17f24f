"""Plain server-rendered pages for readers (Indonesian first, no JavaScript): register, verify, sign in and out, reset.
They call the same service as the JSON API; every form carries the CSRF token.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from cloud.accounts import AccountError, safe_next
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.accounts import client_address, session_cookie
from pst.i18n import N_
from pst.openapi import PAGE, html, see_other

Form = URLEncodedBody[dict[str, str]]


def page(name: str, status: int = 200, headers: dict[str, str] | None = None, **context) -> Template:
    return Template(name, context={"errors": {}, "error": None, "form": {}, **context}, status_code=status,
                    headers=headers)


def failed(name: str, exc: AccountError, form: dict, **context) -> Template:
    wait = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None  # a throttled sign-in says how long
    return page(name, exc.status, wait, error=exc.detail, errors=exc.errors, form=form, **context)


@get("/")
async def home(request: Request, accounts: AccountsDep) -> Template:
    return page("home.html", account=await accounts.by_session(request.cookies.get(SESSION_COOKIE)))


@get("/akun/daftar")
async def register_page() -> Template:
    return page("register.html")


@post("/akun/daftar", responses={"4XX": PAGE})
async def register_form(data: Form, accounts: AccountsDep) -> Template:
    form = {"email": data.get("email", ""), "name": data.get("name", "")}
    try:
        account = await accounts.register(form["email"], form["name"], data.get("password", ""))
    except AccountError as exc:
        return failed("register.html", exc, form)
    return page("notice.html", 201, title=N_("Periksa email Anda"), text=N_(
        "Tautan verifikasi telah dikirim ke %(email)s. Buka tautan itu untuk mengaktifkan akun Anda."
    ) % {"email": account.email})


@get("/akun/verifikasi")
async def verify_page(token: FromQuery[str] = "") -> Template:
    return page("verify.html", token=token)


@post("/akun/verifikasi", status_code=200, responses={"4XX": PAGE})
async def verify_form(data: Form, accounts: AccountsDep) -> Template:
    try:
        await accounts.verify(data.get("token", ""))
    except AccountError as exc:
        return failed("verify.html", exc, {}, token="")
    return page("notice.html", title=N_("Email terverifikasi"), text=N_("Akun Anda sudah aktif."),
                link=("/akun/masuk", N_("Masuk")))


@get("/akun/masuk")
async def login_page(request: Request) -> Template:
    return page("login.html", next=safe_next(request.query_params.get("next"), ""))


@post("/akun/masuk", status_code=303, responses={
    303: see_other("Signed in: back to the page that sent her here, else her account"), "4XX": PAGE})
async def login_form(request: Request, data: Form, accounts: AccountsDep) -> Response:
    """Back to the page that sent her here (`next`, a path of this site only), else her account."""
    form = {"email": data.get("email", "")}
    try:
        token, _ = await accounts.login(form["email"], data.get("password", ""), client_address(request))
    except AccountError as exc:
        return failed("login.html", exc, form, next=safe_next(data.get("next"), ""))
    max_age = int(request.app.state.session_ttl.total_seconds())
    return Redirect(safe_next(data.get("next")), status_code=303, cookies=[session_cookie(request, token, max_age)])


@get("/akun", responses={200: html("Her account"), 303: see_other("Not signed in: to the sign-in page")})
async def account_page(request: Request, accounts: AccountsDep) -> Response:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        return Redirect("/akun/masuk", status_code=303)
    return page("account.html", account=account)


@post("/akun/keluar", status_code=303, responses={303: see_other("Signed out: to the sign-in page")})
async def logout_form(request: Request, accounts: AccountsDep) -> Response:
    await accounts.logout(request.cookies.get(SESSION_COOKIE), client_address(request))
    return Redirect("/akun/masuk", status_code=303, cookies=[session_cookie(request, None, 0)])


@get("/akun/lupa-sandi")
async def forgot_page() -> Template:
    return page("forgot.html")


@post("/akun/lupa-sandi", status_code=202)
async def forgot_form(data: Form, accounts: AccountsDep) -> Template:
    email = data.get("email", "")
    if email.strip():
        await accounts.request_reset(email)
    return page("notice.html", 202, title=N_("Periksa email Anda"), text=N_(
        "Jika email tersebut terdaftar, tautan untuk membuat kata sandi baru telah dikirim. Tautan berlaku 1 jam."
    ))


@get("/akun/atur-ulang")
async def reset_page(token: FromQuery[str] = "") -> Template:
    return page("reset.html", token=token)


@post("/akun/atur-ulang", status_code=200, responses={"4XX": PAGE})
async def reset_form(data: Form, accounts: AccountsDep) -> Template:
    token = data.get("token", "")
    try:
        await accounts.reset(token, data.get("password", ""))
    except AccountError as exc:
        return failed("reset.html", exc, {}, token=token)
    return page("notice.html", title=N_("Kata sandi diganti"), text=N_("Silakan masuk dengan kata sandi baru."),
                link=("/akun/masuk", N_("Masuk")))


@get("/akun/buat-sandi")
async def set_password_page(request: Request, token: FromQuery[str] = "") -> Template:
    return page("set_password.html", token=token, next=safe_next(request.query_params.get("next")))


@post("/akun/buat-sandi", status_code=303, responses={
    303: see_other("Signed in: to the page the mail announced"), "4XX": PAGE})
async def set_password_form(request: Request, data: Form, accounts: AccountsDep) -> Response:
    """The password chosen through a mail's link; signed in, she goes on to the page the mail announced."""
    token, next_path = data.get("token", ""), safe_next(data.get("next"))
    try:
        session, _ = await accounts.set_password(token, data.get("password", ""), client_address(request))
    except AccountError as exc:
        return failed("set_password.html", exc, {}, token=token if "password" in exc.errors else "", next=next_path)
    max_age = int(request.app.state.session_ttl.total_seconds())
    return Redirect(next_path, status_code=303, cookies=[session_cookie(request, session, max_age)])


routes = [
    home, register_page, register_form, verify_page, verify_form, login_page, login_form, account_page, logout_form,
    forgot_page, forgot_form, reset_page, reset_form, set_password_page, set_password_form,
]
