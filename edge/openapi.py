"""OpenAPI documentation of the JSON bodies that handlers read themselves (`json_object`): Litestar cannot see them,
so without this the schema shows no request body and clients (and the fuzz campaign) cannot know what to send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from edge.guestbook import EDUCATION, GENDERS, ID_TYPES, LIMITS, OCCUPATIONS, PURPOSES
from pst.skm import CODES, COMMENT_MAX


def json_body(schema: dict[str, Any], required: bool = True) -> type[Operation]:
    """An operation class for a route decorator (`operation_class=`) that documents `schema` as its JSON body."""

    @dataclass
    class JsonBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=schema)},
                                            required=required)

    return JsonBodyOperation


def _text(limit: int, least: int = 0) -> dict:
    return {"type": "string", "maxLength": limit, **({"minLength": least} if least else {})}


VISIT = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "gender", "occupation", "email", "purposes", "id_type"],
    "properties": {
        "ticket_number": _text(LIMITS["ticket_number"]), "ticket_id": _text(LIMITS["ticket_id"]),
        "name": _text(LIMITS["name"], 2), "gender": {"enum": list(GENDERS)},
        "age": {"type": "integer", "minimum": 10, "maximum": 100}, "education": {"enum": list(EDUCATION)},
        "occupation": {"enum": list(OCCUPATIONS)}, "institution": _text(LIMITS["institution"]),
        "email": {"type": "string", "format": "email", "maxLength": LIMITS["email"]}, "phone": _text(LIMITS["phone"]),
        "purposes": {"type": "array", "items": {"enum": list(PURPOSES)}, "minItems": 1, "uniqueItems": True},
        "id_type": {"enum": list(ID_TYPES)}, "has_portal_account": {"type": "boolean"},
    },
}
SCORES = {
    "type": "object", "additionalProperties": False,
    "properties": {code: {"type": "integer", "minimum": 1, "maximum": 4} for code in CODES},
}
RATING = {
    "type": "object", "additionalProperties": False, "required": ["scores"],
    "properties": {"visit_id": {"type": "string"}, "token": {"type": "string"}, "scores": SCORES,
                   "comment": _text(COMMENT_MAX)},
    "description": "A visit's rating needs its visitor's key (`token`, from her guestbook entry); a visit_id alone is"
                   " refused with 403; neither: an anonymous rating.",
}
SIGN_IN = {
    "type": "object", "additionalProperties": False, "required": ["username", "password"],
    "properties": {"username": _text(64, 1), "password": _text(1024, 1)},
}
