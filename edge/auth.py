"""Staff sign-in on the appliance: server-side sessions (cookie holds only an id), role guards.

The session cookie is SameSite=Strict, so a page on another site cannot post with it; HTML forms carry a CSRF
token as well.
"""

from __future__ import annotations

from jinja2 import pass_context
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from edge.i18n import N_
from edge.roles import allowed

SESSION_USER = "user"
SESSION_FLASH = "flash"
FLASH_KINDS = ("success", "error", "info")


def current_user(connection: ASGIConnection) -> dict | None:
    session = connection.scope.get("session") or {}
    return session.get(SESSION_USER)


class RoleRefused(PermissionDeniedException):
    """A signed-in staff member whose role does not hold the route's capability (a page shows refused.html)."""


REFUSED = N_("Peran Anda tidak diizinkan untuk tindakan ini")


def staff_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: a signed-in staff member whose role holds the capability the handler names, `opt=needs("desk")`
    (edge.roles); a handler that names none is refused to every role."""
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException(detail="Silakan masuk sebagai petugas")
    if not allowed(user["role"], handler.opt.get("capability")):
        raise RoleRefused(detail=REFUSED)


@pass_context
def can(context, capability: str) -> bool:
    """For templates: `{% if can("reports") %}` — whether the signed-in staff member may use what the link leads to."""
    request = context.get("request")
    user = current_user(request) if request is not None else None
    return user is not None and allowed(user["role"], capability)


def flash(connection: ASGIConnection, kind: str, text: str) -> None:
    """Leave a message for the next page this browser opens (after a form's redirect). It lives in the server-side
    session, never in the address: a link cannot put words on a staff page."""
    if kind not in FLASH_KINDS:
        raise ValueError(f"flash kind must be one of {FLASH_KINDS}, got {kind!r}")
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        session = connection.scope["session"] = {}
    session[SESSION_FLASH] = {"kind": kind, "text": str(text)[:500]}


def take_flash(connection: ASGIConnection) -> dict | None:
    """The waiting message, once: shown by templates/flash.html, then gone."""
    session = connection.scope.get("session")
    return session.pop(SESSION_FLASH, None) if isinstance(session, dict) else None
