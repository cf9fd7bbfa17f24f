"""The response headers both web apps send with every answer (pages, JSON, files, errors): a Content-Security-Policy
that runs only the apps' own script files, no framing, no referrer beyond the site (download codes and mailed tokens
ride in URLs), no MIME sniffing; HSTS when the answer goes out over TLS. The appliances' JSON API gets nosniff alone
(see `MACHINE_API`). A Litestar `before_send` hook, plain ASGI."""

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

# The sync API (sync.protocol.PREFIX) is read by the appliances' agent only, never rendered by a browser, and its
# idle round must stay under 1 KB (sync/PROTOCOL.md, "Health"), of which the browser headers were 371 B. So its JSON
# answers carry what still protects there, and nothing else:
# - nosniff stays: a browser sent to such a URL must not sniff the JSON into HTML or a script.
# - CSP, Permissions-Policy and Referrer-Policy govern a document (its scripts, its features, the referrer of the
#   requests it makes); a JSON answer with nosniff is never a document.
# - X-Frame-Options and frame-ancestors stop a page being framed for clickjacking; a framed JSON answer has nothing
#   to click, and a frame cannot send the bearer credential every sync request needs (no cookie is read there), so
#   what it could show is the 401 error.
# - HSTS pins a host to HTTPS in browsers; they learn it from any page or file of the portal, never from the sync
#   API, and the agent ignores it (its enrolled address already says https; the TLS proxy may still add HSTS).
# Any other answer under the prefix (an HTML error page, a file) keeps the full set.
MACHINE_API = "/sync/v1/"
MACHINE_HEADERS = {"x-content-type-options": "nosniff"}


def over_tls(scope: dict) -> bool:
    """The request came over HTTPS, to this process or to the TLS proxy in front of it (X-Forwarded-Proto)."""
    if scope.get("scheme") == "https":
        return True
    return any(name == b"x-forwarded-proto" and value.split(b",")[0].strip() == b"https"
               for name, value in scope.get("headers", ()))


def for_machines(scope: dict, headers: list[tuple[bytes, bytes]]) -> bool:
    """A JSON answer of the sync API: read by the agent, no browser renders it."""
    if not scope.get("path", "").startswith(MACHINE_API):
        return False
    content_type = next((bytes(value) for name, value in headers if bytes(name).lower() == b"content-type"), b"")
    return content_type.split(b";")[0].strip().lower() == b"application/json"


def security_headers(*, strict_transport: bool, public_https: bool = False) -> Callable:
    """The hook. `strict_transport`: send HSTS on answers that go out over TLS, or on every answer when the public
    address is https (`public_https`; a browser heeds HSTS only over TLS). The portal does; the appliance does not:
    it is mostly plain HTTP on the office LAN, and a name pinned to HTTPS could not fall back."""

    async def add_headers(message: dict, scope: dict) -> None:
        if message["type"] != "http.response.start":
            return
        headers = message["headers"] = list(message.get("headers", ()))
        present = {bytes(name).lower() for name, _ in headers}
        if for_machines(scope, headers):
            wanted = dict(MACHINE_HEADERS)
        else:
            wanted = dict(HEADERS)
            if strict_transport and (public_https or over_tls(scope)):
                wanted["strict-transport-security"] = HSTS
        for name, value in wanted.items():
            if name.encode() not in present:
                headers.append((name.encode(), value.encode()))

    return add_headers
