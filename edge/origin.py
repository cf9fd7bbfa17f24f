"""Every request that changes something must come from the appliance's own pages.

The staff cookie is SameSite=Strict, but "site" ignores the port: a page served from another port of the LAN host
(a printer's or a router's admin page, anything on the Pi) is the same site, and its script could make a signed-in
staff browser call the next visitor. Browsers say where a request comes from (`Origin`, `Sec-Fetch-Site`): a POST,
PUT, PATCH or DELETE that another origin sent is refused with 403 before it reaches a handler. A request that says
nothing (a command-line client, the appliance's own scripts) is not a browser's, and is let through; the JSON API
also takes only `application/json` bodies (edge.routes.kiosk.json_object), which a cross-site form cannot send.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from litestar.types import ASGIApp, Receive, Scope, Send

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED = {"detail": "Permintaan dari halaman situs lain ditolak", "errors": {}}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        if not parts.scheme or not parts.hostname:
            return None
        return parts.scheme, parts.hostname.lower(), parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return None


def own_origins(scope: Scope, public_url: str | None) -> set[tuple[str, str, int]]:
    """The origins the appliance's pages have for this request: as the browser addressed it, and its public URL."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    found = {_origin(f"{scope.get('scheme', 'http')}://{host}")} if host else set()
    if public_url:
        found.add(_origin(public_url))
    return {origin for origin in found if origin}


def same_origin_only(app: ASGIApp, public_url: str | None = None) -> ASGIApp:
    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in UNSAFE:
            headers = dict(scope.get("headers") or [])
            site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
            origin = headers.get(b"origin")
            refused = site not in ("", "same-origin", "none")
            if origin is not None and not refused:
                refused = _origin(origin.decode("latin-1")) not in own_origins(scope, public_url)
            if refused:
                body = json.dumps(REFUSED).encode()
                await send({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guard
