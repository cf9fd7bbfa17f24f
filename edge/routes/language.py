"""The page language: `GET /bahasa/{code}` keeps the choice in a cookie (a plain link, no JavaScript), and a
middleware sets the language of every request from it. A handler with `opt={"language": ...}` keeps its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.types import ASGIApp, Receive, Scope, Send

from edge.auth import current_user
from edge.errors import ApiError
from edge.i18n import COOKIE, Languages, current_language

COOKIE_MAX_AGE = 365 * 24 * 3600
LanguagesDep = NamedDependency[Languages]


def language_middleware(app: ASGIApp, languages: Languages) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        pinned = handler.opt.get("language") if handler is not None else None
        code = languages.choose(pinned or ASGIConnection(scope).cookies.get(COOKIE))
        token = current_language.set(code)
        try:
            await app(scope, receive, send)
        finally:
            current_language.reset(token)

    return middleware


def back_to(request: Request) -> str:
    """The path of the page the switch was clicked on, when that page is on this appliance; else the kiosk."""
    referer = urlsplit(request.headers.get("referer", ""))
    path = referer.path
    same_site = referer.scheme in ("http", "https") and referer.netloc == request.url.netloc
    # "//host" and "/\host" are read by browsers as another site; a switch link must not lead to another switch
    if not same_site or not path.startswith("/") or path.startswith(("//", "/bahasa/")) or "\\" in path:
        return "/"
    return f"{path}?{referer.query}" if referer.query else path


@get("/bahasa/{code:str}", status_code=303)
async def choose_language(request: Request, code: FromPath[str], languages: LanguagesDep) -> Redirect:
    if code not in languages.codes:
        raise ApiError(404, "Bahasa tidak tersedia", {"code": f"pilih salah satu dari {', '.join(languages.codes)}"})
    # a shared kiosk must not keep one visitor's choice for the next: visitors get a cookie that ends with the
    # browser session (and earlier, see `forget_choice`); signed-in staff keep theirs for a year
    max_age = COOKIE_MAX_AGE if current_user(request) else None
    cookie = Cookie(key=COOKIE, value=code, max_age=max_age, path="/", samesite="lax", httponly=True)
    return Redirect(back_to(request), status_code=303, cookies=[cookie])


def forget_choice() -> Cookie:
    """Clears the language choice: the visitor's session at the kiosk has ended (guestbook sent, back to start)."""
    return Cookie(key=COOKIE, value="", max_age=0, path="/", samesite="lax", httponly=True)


routes = [choose_language]
