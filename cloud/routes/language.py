"""The portal's page language: `GET /bahasa/{code}` keeps the choice in a cookie for a year (a plain link, no
JavaScript) and returns to the page it was clicked on; `pst.i18n.language_middleware` reads it on every request.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from cloud.errors import ApiError
from pst.i18n import COOKIE, Languages, back_to

COOKIE_MAX_AGE = 365 * 24 * 3600
LanguagesDep = NamedDependency[Languages]


@get("/bahasa/{code:str}", status_code=303)
async def choose_language(request: Request, code: FromPath[str], languages: LanguagesDep) -> Redirect:
    if code not in languages.codes:
        raise ApiError(404, "Bahasa tidak tersedia", {"code": f"pilih salah satu dari {', '.join(languages.codes)}"})
    # the portal is read on the reader's own device: the choice is kept, unlike at the appliance's shared kiosk
    cookie = Cookie(key=COOKIE, value=code, max_age=COOKIE_MAX_AGE, path="/", samesite="lax", httponly=True)
    return Redirect(back_to(request.headers.get("referer", ""), request.url.netloc), status_code=303, cookies=[cookie])


routes = [choose_language]
