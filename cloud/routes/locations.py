"""Staff API: where each office keeps an edition (`PUT /api/staff/publications/{id}/locations/{office}`)."""

from __future__ import annotations

from litestar import Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from cloud.errors import ApiError
from cloud.locations import Locations
from cloud.routes import SESSION_COOKIE, AccountsDep, json_object
from cloud.routes.auditing import audited

LocationsDep = NamedDependency[Locations]


async def _staff(request: Request, accounts):
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    if account.role not in ("staff", "admin"):
        raise ApiError(403, "Hanya untuk petugas")
    return account


@get("/api/staff/publications/{publication_id:str}/locations")
async def list_locations(request: Request, publication_id: FromPath[str], accounts: AccountsDep,
                         locations: LocationsDep) -> dict:
    await _staff(request, accounts)
    return {"locations": await locations.of(publication_id)}


@put("/api/staff/publications/{publication_id:str}/locations/{office:str}")
async def put_location(request: Request, publication_id: FromPath[str], office: FromPath[str],
                       accounts: AccountsDep, locations: LocationsDep) -> dict:
    """`{"location": "display"|"storage", "shelf"?, "copies"}` → the location; the office's appliance gets it."""
    staff = await _staff(request, accounts)
    data = await json_object(request)
    async with audited(request, staff, "catalogue.location", f"publication:{publication_id}", office[:8] or None,
                       location=data.get("location")):
        return await locations.put(publication_id, office, data.get("location"), data.get("shelf"), data.get("copies"))


routes = [list_locations, put_location]
