"""The error shape of the HTTP contract: `{"detail": ..., "errors": {"field": "message"}}` with a 4xx status."""

from __future__ import annotations

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR


class ApiError(HTTPException):
    def __init__(self, status_code: int, detail: str, errors: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=detail)
        self.errors = errors or {}


def error_response(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", HTTP_500_INTERNAL_SERVER_ERROR)
    detail = getattr(exc, "detail", "") or "Terjadi kesalahan"
    errors = getattr(exc, "errors", None)
    if errors is None and isinstance(exc, ValidationException):
        errors = {}
        for item in exc.extra or []:
            if isinstance(item, dict):
                errors[str(item.get("key") or "body")] = str(item.get("message"))
    if status == HTTP_500_INTERNAL_SERVER_ERROR:  # never show internals
        detail = "Terjadi kesalahan pada server"
    headers = getattr(exc, "headers", None)
    return Response({"detail": detail, "errors": errors or {}}, status_code=status, headers=headers)
