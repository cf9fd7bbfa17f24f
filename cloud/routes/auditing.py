"""How a route records an act with its audit line (cloud.audit): in one transaction with the act, with the signed-in
account and the client address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Request

from cloud import audit
from cloud.accounts import AccountView
from cloud.routes.accounts import client_address


@asynccontextmanager
async def audited(request: Request, account: AccountView | None, action: str, target: str = "",
                  office_code: str | None = None, **detail) -> AsyncIterator[dict]:
    """One transaction around an act and its line: the service's own transaction joins it, so both commit or
    neither. The block may set `line["target"]`, `line["office_code"]`, `line["detail"]` or `line["skip"]`."""
    db = request.app.state.db
    line = {"action": action, "target": target, "office_code": office_code, "detail": detail, "skip": False}
    async with db.transaction():
        yield line
        if not line["skip"]:
            await audit.record(db, request.app.state.clock.now(), actor=account.email if account else None,
                               action=line["action"], target=line["target"], detail=line["detail"],
                               address=client_address(request), office_code=line["office_code"])


async def record_alone(request: Request, account: AccountView | None, action: str, target: str = "",
                       office_code: str | None = None, **detail) -> None:
    """A line for an act that changes nothing else (a report download)."""
    async with audited(request, account, action, target, office_code, **detail):
        pass
