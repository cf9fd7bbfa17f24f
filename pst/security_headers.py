"""The response headers both web apps send with every answer (pages, JSON, files, errors): a Content-Security-Policy
that runs only the apps' own script files, no framing, no referrer beyond the site (download codes and mailed tokens
ride in URLs), no MIME sniffing; HSTS when the answer goes out over TLS. A Litestar `before_send` hook, plain ASGI."""

from __future__ import annotations

from collections.abc import Callable

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # every script is a file under /static: no inline code, no eval
    "style-src 'self' 'unsafe-inline'",  # pages carry <style> blocks and style attributes (chart bars); styles only
    "img-src 'self' data:",
    "media-src 'self'",  # the display board's spoken calls, /api/voice
    "connect-src 'self'",  # the display board's event stream and the console's refreshes
    "font-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"


def over_tls(scope: dict) -> bool:
    """The request came over HTTPS, to this process or to the TLS proxy in front of it (X-Forwarded-Proto)."""
    if scope.get("scheme") == "https":
        return True
    return any(name == b"x-forwarded-proto" and value.split(b",")[0].strip() == b"https"
               for name, value in scope.get("headers", ()))


def security_headers(*, strict_transport: bool, public_https: bool = False) -> Callable:
    """The hook. `strict_transport`: send HSTS on answers that go out over TLS, or on every answer when the public
    address is https (`public_https`; a browser heeds HSTS only over TLS). The portal does; the appliance does not:
    it is mostly plain HTTP on the office LAN, and a name pinned to HTTPS could not fall back."""

    async def add_headers(message: dict, scope: dict) -> None:
        if message["type"] != "http.response.start":
            return
        headers = message["headers"] = list(message.get("headers", ()))
        present = {bytes(name).lower() for name, _ in headers}
        wanted = dict(HEADERS)
        if strict_transport and (public_https or over_tls(scope)):
            wanted["strict-transport-security"] = HSTS
        for name, value in wanted.items():
            if name.encode() not in present:
                headers.append((name.encode(), value.encode()))

    return add_headers
