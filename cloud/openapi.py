"""OpenAPI documentation of the JSON bodies that handlers read themselves (`json_object`, the sync protocol's
decoder): Litestar cannot see them, so without this the schema shows no request body and clients (and the fuzz
campaign) cannot know what to send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIMediaType, Operation, Parameter, RequestBody

from pst.skm import CODES, COMMENT_MAX
from sync.protocol import EPOCH, MAX_SEQ, Batch, Enrol, json_schema


def documented(body: dict[str, Any] | None = None, query: dict[str, dict] | None = None,
               required: tuple[str, ...] = ()) -> type[Operation]:
    """An operation class for a route decorator (`operation_class=`): `body` as its JSON body, `query` as its
    query parameters (name → schema; those in `required` must be given)."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if body is not None:
                self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=body)},
                                                required=True)
            if query:
                self.parameters = [*(self.parameters or []), *(
                    Parameter(name=name, param_in="query", schema=schema, required=name in required)  # type: ignore
                    for name, schema in query.items())]

    return DocumentedOperation


def _text(limit: int, least: int = 1) -> dict:
    return {"type": "string", "minLength": least, "maxLength": limit}


ACCOUNT = {
    "type": "object", "required": ["email", "name", "password"],
    "properties": {"email": {"type": "string", "format": "email", "maxLength": 254}, "name": _text(200),
                   "password": _text(1024)},
}
SIGN_IN = {
    "type": "object", "required": ["email", "password"],
    "properties": {"email": {"type": "string", "format": "email", "maxLength": 254}, "password": _text(1024)},
}
RATING = {
    "type": "object", "additionalProperties": False, "required": ["office", "scores"],
    "properties": {
        "office": _text(8), "visit_id": {"type": "string"}, "comment": _text(COMMENT_MAX, 0),
        "scores": {"type": "object", "additionalProperties": False, "required": list(CODES),
                   "properties": {code: {"type": "integer", "minimum": 1, "maximum": 4} for code in CODES}},
    },
}
ENROL = json_schema(Enrol)
BATCH = json_schema(Batch)
STATE_QUERY = {
    "epoch": {"type": "string", "pattern": EPOCH}, "after": {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
    "mark": {"type": "string", "maxLength": 200},
}
