"""Uploads to staff pages are refused before their body is read when nobody is signed in.

Litestar's CSRF check reads a whole multipart form to find the token, before any route runs; without this gate an
anonymous client could make the portal receive and spool a 200 MB upload only to be turned away after. This ASGI
middleware sits outside the CSRF check: it looks at the session cookie alone (one indexed lookup) and answers at
once — 303 to the sign-in page for the back office's forms, 401 for the staff API.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.types import ASGIApp, Receive, Scope, Send

from cloud.accounts import Accounts

GUARDED = ("/kantor/", "/api/staff/")


class UploadGate:
    def __init__(self, app: ASGIApp, accounts: Accounts, cookie: str):
        self.app, self.accounts, self.cookie = app, accounts, cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(GUARDED):
            headers = dict(scope["headers"])
            if headers.get(b"content-type", b"").startswith(b"multipart/"):
                jar = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
                token = jar[self.cookie].value if self.cookie in jar else None
                if await self.accounts.by_session(token) is None:
                    await _refuse(scope["path"], send)
                    return
        await self.app(scope, receive, send)


async def _refuse(path: str, send: Send) -> None:
    if path.startswith("/api/"):
        status, extra, body = 401, [(b"content-type", b"application/json")], \
            b'{"detail": "Masuk terlebih dahulu", "errors": {}}'
    else:
        status, extra, body = 303, [(b"location", b"/akun/masuk")], b""
    # the body is never read: the connection is closed after the answer
    await send({"type": "http.response.start", "status": status,
                "headers": [*extra, (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
