"""The error shape of the HTTP contract: `{"detail": ..., "errors": {"field": "message"}}` with a 4xx status."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR


@dataclass
class ErrorBody:
    """Every 4xx answer: a sentence for people, and a message per field at fault (`{}` when none is)."""

    detail: str
    errors: dict[str, str]


ERROR_RESPONSE = ResponseSpec(ErrorBody, generate_examples=False,
                              description="The request was refused; nothing was stored")


def document_errors(handlers: list) -> None:
    """Every operation (in a Router too) documents the one error shape for any 4xx, in place of Litestar's own 400
    schema, which this app's error handler never sends."""
    for handler in handlers:
        if isinstance(handler, Router):
            document_errors([h for route in handler.routes for h in getattr(route, "route_handlers", ())])
        elif isinstance(handler, HTTPRouteHandler):
            handler.responses = {400: ERROR_RESPONSE, "4XX": ERROR_RESPONSE, **(handler.responses or {})}


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
