"""HTTP routes of the portal: they parse, call a service, and answer; no SQL here."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from cloud.accounts import Accounts
from cloud.errors import ApiError
from pst.bodies import MAX_DEPTH, MAX_JSON, has_nul, too_deep

AccountsDep = NamedDependency[Accounts]
SESSION_COOKIE = "pst_cloud_session"


async def json_object(request: Request, *required: str) -> dict[str, Any]:
    """The JSON object in the body, with each of `required` a non-empty string (else 400 naming the fields).

    Only `application/json` is accepted: a cross-site HTML form cannot send it, which keeps the API safe from CSRF
    together with the SameSite=Lax session cookie.
    """
    if request.content_type[0] != "application/json":
        raise ApiError(415, "Isi permintaan harus berupa JSON (Content-Type: application/json)")
    raw = await request.body() or b"{}"
    if len(raw) > MAX_JSON:
        raise ApiError(413, "Isi permintaan terlalu besar", {"body": f"paling banyak {MAX_JSON} bita"})
    if too_deep(raw):  # before parsing: the parser recurses once per level
        raise ApiError(400, "Isi permintaan bersarang terlalu dalam", {"body": f"paling dalam {MAX_DEPTH} tingkat"})
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Isi permintaan bukan JSON yang sah") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Isi permintaan harus berupa objek JSON")
    if has_nul(data):
        raise ApiError(400, "Teks tidak boleh memuat karakter NUL", {"body": "karakter NUL (\\u0000)"})
    missing = {key: "wajib diisi" for key in required if not isinstance(data.get(key), str) or not data[key].strip()}
    if missing:
        raise ApiError(400, "Data belum lengkap", missing)
    return data
