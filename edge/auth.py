"""Staff sign-in on the appliance: server-side sessions (cookie holds only an id), role guards.

The session cookie is SameSite=Strict, so a page on another site cannot post with it; HTML forms carry a CSRF
token as well.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

SESSION_USER = "user"


def current_user(connection: ASGIConnection) -> dict | None:
    session = connection.scope.get("session") or {}
    return session.get(SESSION_USER)


def staff_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: any signed-in staff member; a handler may narrow it with opt={"roles": (...)}."""
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException(detail="Silakan masuk sebagai petugas")
    roles = handler.opt.get("roles")
    if roles and user["role"] not in roles:
        raise PermissionDeniedException(detail="Peran Anda tidak diizinkan untuk tindakan ini")
