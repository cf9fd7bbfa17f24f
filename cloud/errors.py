"""The error shape of the HTTP contract: `{"detail": ..., "errors": {"field": "message"}}` with a 4xx status."""

from __future__ import annotations

import logging

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from cloud.accounts import AccountError
from cloud.catalogue import CatalogueError
from pst.logsafe import redact_path  # download codes and tokens ride in paths

log = logging.getLogger(__name__)
# what asyncpg raises for a NUL in a value bound as text (a path's id, a query's word) or in JSON
NUL_REFUSED = (asyncpg.exceptions.CharacterNotInRepertoireError, asyncpg.exceptions.UntranslatableCharacterError)


class ApiError(HTTPException):
    def __init__(self, status_code: int, detail: str, errors: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=detail)
        self.errors = errors or {}


def error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AccountError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response({"detail": exc.detail, "errors": exc.errors}, status_code=exc.status, headers=headers)
    if isinstance(exc, CatalogueError):
        return Response({"detail": exc.detail, "errors": exc.errors}, status_code=exc.status)
    if isinstance(exc, NUL_REFUSED):  # PostgreSQL's text takes no NUL: such input matches and stores nothing
        return Response({"detail": "Permintaan memuat karakter NUL, yang tidak sah", "errors": {}}, status_code=400)
    status = getattr(exc, "status_code", 500) if isinstance(exc, HTTPException) else 500
    if status >= 500:  # never show internals
        if not isinstance(exc, HTTPException):
            log.exception("unhandled error on %s %s", request.method, redact_path(request.url.path), exc_info=exc)
        return Response({"detail": "Terjadi kesalahan pada server", "errors": {}}, status_code=status)
    errors = getattr(exc, "errors", None)
    if errors is None and isinstance(exc, ValidationException):
        errors = {str(item.get("key") or "body"): str(item.get("message")) for item in exc.extra or [] if isinstance(item, dict)}
    return Response({"detail": exc.detail or "Permintaan tidak dapat diproses", "errors": errors or {}}, status_code=status,
                    headers=getattr(exc, "headers", None))
