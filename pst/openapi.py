"""What both web apps' OpenAPI documents say an operation answers beyond what Litestar reads from a handler's
signature: the one error shape `{"detail", "errors"}` for any 4xx, the pages a form or a guard answers with, the
redirects (with their `Location`) and the files.

A handler declares its own answers in its decorator (`responses={303: see_other(...), "4XX": PAGE}`); what a guard
or an exception handler answers for many handlers is added with `also_answer`; `document_errors` then gives every
operation the error body, once the app's routes are all known.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Router
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Operation, Schema


@dataclass
class ErrorBody:
    """Every 4xx answer: a sentence for people, and a message per field at fault (`{}` when none is)."""

    detail: str
    errors: dict[str, str]


HTML = MediaType.HTML.value
ERROR_RESPONSE = ResponseSpec(ErrorBody, generate_examples=False,
                              description="The request was refused; nothing was stored")
# `"4XX": PAGE` — the operation answers some of its 4xx as a page for people (a form shown again with its errors,
# "Akses ditolak"); what the middleware refuses before the handler runs is still the error body.
PAGE = ResponseSpec(str, media_type=HTML, generate_examples=False,
                    description="The request was refused: a page that says why, or the error body")
REDIRECTS = ("301", "302", "303", "307", "308")
LOCATION = OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True, description="Where to go on")


def html(description: str) -> ResponseSpec:
    """An HTML page."""
    return ResponseSpec(str, media_type=HTML, generate_examples=False, description=description)


def see_other(description: str) -> ResponseSpec:
    """A redirect (no body; where to in `Location`)."""
    return ResponseSpec(None, description=description)


def no_content(description: str) -> ResponseSpec:
    """An answer without a body."""
    return ResponseSpec(None, description=description)


def error_body(description: str) -> ResponseSpec:
    """The error body for a status outside 4xx that an operation answers on purpose (a 503 without a printer)."""
    return ResponseSpec(ErrorBody, generate_examples=False, description=description)


@dataclass
class Content(ResponseSpec):
    """A body of one of several media types (Litestar documents one a status; the rest are added when documented)."""

    also: tuple[str, ...] = ()


def content(media_type: str, description: str, *others: str) -> ResponseSpec:
    """A body of `media_type` (or one of `others`): a report, a PDF, an archive, a sound, server-sent events."""
    return Content(bytes, media_type=media_type, generate_examples=False, description=description, also=others)


def _handlers(handlers: list):
    for handler in handlers:
        if isinstance(handler, Router):
            yield from _handlers([h for route in handler.routes for h in getattr(route, "route_handlers", ())])
        elif isinstance(handler, HTTPRouteHandler):
            yield handler


def also_answer(responses: dict, handlers: list) -> list:
    """`handlers` (in a Router too), each documenting `responses` as well — what a guard or an exception handler
    answers around them. An answer a handler documents itself for the same status stays its own; a redirect of its
    own says where the other one goes too."""
    for handler in _handlers(handlers):
        own = dict(handler.responses or {})
        for status, spec in responses.items():
            if status in own:
                if own[status].data_container is None and spec.data_container is None:
                    own[status] = _either(own[status], spec)
            elif str(status) != str(handler.status_code):  # else the decorator's own answer, as Litestar documents it
                own[status] = spec
        handler.responses = own
    return handlers


def _either(own: ResponseSpec, other: ResponseSpec) -> ResponseSpec:
    if other.description in own.description:  # an app made again
        return own
    return ResponseSpec(None, description=f"{own.description}; {other.description[0].lower()}{other.description[1:]}")


def document_errors(handlers: list) -> None:
    """Every operation (in a Router too) documents the one error shape for any 4xx, in place of Litestar's own 400
    schema, which the apps' error handlers never send; one that answers a 4xx with a page documents both."""
    for handler in _handlers(handlers):
        handler.responses = {400: ERROR_RESPONSE, "4XX": ERROR_RESPONSE, **(handler.responses or {})}
        if not getattr(handler.operation_class, "answers_documented", False):  # an app made again: done already
            handler.operation_class = _answering(handler.operation_class, handler)


def _answering(operation_class: type[Operation], handler: HTTPRouteHandler) -> type[Operation]:
    """`operation_class` (Litestar's, or one documenting a request body) completing the responses Litestar made from
    `handler.responses`, which hold one media type a status: a 4xx page beside the error body, the other media types
    of a `content`, `Location` on a redirect."""

    @dataclass
    class AnsweringOperation(operation_class):  # type: ignore[misc, valid-type]
        answers_documented = True

        def __post_init__(self) -> None:
            if hasattr(super(), "__post_init__"):
                super().__post_init__()
            responses = self.responses or {}
            refused = responses["400"].content or {}  # the error body, as JSON
            pages = (responses["4XX"].content or {}).get(HTML)
            if pages is not None:
                responses["4XX"].content = {**refused, HTML: pages}
                responses["400"].content = {**refused, HTML: pages}
            for status, spec in (handler.responses or {}).items():
                documented = responses[str(status)].content or {}
                for media_type in getattr(spec, "also", ()):
                    documented[media_type] = documented[spec.media_type]
            for status in REDIRECTS:
                if status in responses:  # Litestar's own says `location` is optional: every redirect here has one
                    others = {k: v for k, v in (responses[status].headers or {}).items() if k.lower() != "location"}
                    responses[status].headers = {**others, "Location": LOCATION}

    return AnsweringOperation
