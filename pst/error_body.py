"""The one error shape both web apps answer with and document in their OpenAPI: `{"detail", "errors"}` for any 4xx."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec


@dataclass
class ErrorBody:
    """Every 4xx answer: a sentence for people, and a message per field at fault (`{}` when none is)."""

    detail: str
    errors: dict[str, str]


ERROR_RESPONSE = ResponseSpec(ErrorBody, generate_examples=False,
                              description="The request was refused; nothing was stored")


def document_errors(handlers: list) -> None:
    """Every operation (in a Router too) documents the one error shape for any 4xx, in place of Litestar's own 400
    schema, which the apps' error handlers never send."""
    for handler in handlers:
        if isinstance(handler, Router):
            document_errors([h for route in handler.routes for h in getattr(route, "route_handlers", ())])
        elif isinstance(handler, HTTPRouteHandler):
            handler.responses = {400: ERROR_RESPONSE, "4XX": ERROR_RESPONSE, **(handler.responses or {})}
