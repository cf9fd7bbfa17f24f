"""OAI-PMH 2.0 at /oai (cloud.oai): GET with the arguments in the query string, POST with them form-encoded, as the
protocol allows. Every answer is XML with HTTP 200, an OAI error element included; 503 with Retry-After (the
protocol's flow control) only while a long catalogue write holds a list's first page back."""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, get, post

from cloud.oai import Busy, Repository

XML = "text/xml"  # Litestar adds the charset
MAX_BODY = 16 * 1024  # the longest request is a resumption token and a few names


def repository(app: Litestar) -> Repository:
    """The portal's repository, made at the first request (a test may put its own in `app.state.oai` first)."""
    found = app.state.get("oai")
    if found is None:
        settings = app.state.settings
        admin = parseaddr(settings.mail_from)[1] or "no-reply@localhost"
        found = app.state.oai = Repository(app.state.db, settings.public_url, settings.signing_key(), admin)
    return found


async def _answer(request: Request, pairs: list[tuple[str, str]]) -> Response:
    try:
        body = await repository(request.app).respond(pairs)
    except Busy:
        return Response(b"Katalog sedang diperbarui; coba lagi sebentar lagi.\n", status_code=503,
                        media_type="text/plain", headers={"Retry-After": "10"})
    return Response(body, media_type=XML)


@get("/oai", include_in_schema=False)
async def oai_get(request: Request) -> Response:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return await _answer(request, parse_qsl(query, keep_blank_values=True, errors="replace"))


@post("/oai", include_in_schema=False, status_code=200, request_max_body_size=MAX_BODY,
      opt={"exclude_from_csrf": True})  # harvesters post forms without a session: nothing here changes anything
async def oai_post(request: Request) -> Response:
    if request.content_type[0] != "application/x-www-form-urlencoded":
        return Response(b"OAI-PMH POST: Content-Type application/x-www-form-urlencoded\n", status_code=415,
                        media_type="text/plain")
    body = (await request.body()).decode("utf-8", "replace")
    return await _answer(request, parse_qsl(body, keep_blank_values=True, errors="replace"))


routes = [oai_get, oai_post]
