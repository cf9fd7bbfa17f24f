"""What a visitor scanned at a desk, in their portal account ("Hasil pindaian"): the PDF the appliance made and
watermarked for them, sent up by the sync. Only its owner, signed in, gets it; never cached."""

from __future__ import annotations

from pathlib import Path

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from cloud.db import Database, moment
from cloud.errors import ApiError
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.accounts import sign_in_path
from cloud.routes.catalogue import NO_STORE
from cloud.routes.quality import office_time
from cloud.routes.sync import DatabaseDep
from pst.clock import iso
from pst.openapi import content, html, see_other


async def _mine(db: Database, account_id: str) -> list[dict]:
    rows = await db.execute(
        "SELECT d.id, d.office_code, o.name AS office_name, d.pages, d.bytes, d.scanned_at,"
        " f.storage_path IS NOT NULL AS arrived FROM deliverables d LEFT JOIN offices o ON o.code = d.office_code"
        " LEFT JOIN softcopy_files f ON f.sha256 = d.sha256 WHERE d.account_id = {} ORDER BY d.scanned_at DESC",
        account_id,
    )
    return [r | {"arrived": bool(r["arrived"]), "scanned_at": iso(moment(r["scanned_at"]))} for r in rows]


@get("/api/deliverables")
async def api_mine(request: Request, accounts: AccountsDep, db: DatabaseDep) -> dict:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    return {"deliverables": await _mine(db, reader.id)}


@get("/api/deliverables/{deliverable_id:str}/pdf", responses={200: content("application/pdf", "The scan")})
async def api_pdf(request: Request, deliverable_id: FromPath[str], accounts: AccountsDep, db: DatabaseDep) -> Stream:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    rows = await db.execute(
        "SELECT d.id, f.storage_path FROM deliverables d LEFT JOIN softcopy_files f ON f.sha256 = d.sha256"
        " WHERE d.id = {} AND d.account_id = {}", deliverable_id[:100], reader.id,
    )
    if not rows:  # someone else's looks exactly like one that does not exist
        raise ApiError(404, "Hasil pindaian tidak ditemukan")
    if rows[0]["storage_path"] is None:
        raise ApiError(409, "Berkasnya masih dalam perjalanan dari loket; coba lagi nanti")
    path = Path(request.app.state.settings.data_dir) / rows[0]["storage_path"]
    disposition = "attachment" if request.query_params.get("unduh") in ("1", "true") else "inline"
    headers = {**NO_STORE, "Content-Length": str(path.stat().st_size),
               "Content-Disposition": f'{disposition}; filename="pindaian-{rows[0]["id"][:8]}.pdf"'}
    return Stream(_chunks(path), media_type="application/pdf", headers=headers)


def _chunks(path: Path):
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


@get("/akun/pindaian", responses={
    200: html("Her scans"), 303: see_other("Not signed in: to the sign-in page, and back here after")})
async def page(request: Request, accounts: AccountsDep, db: DatabaseDep) -> Response:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        return Redirect(sign_in_path(request), status_code=303, headers=NO_STORE)
    items = [item | {"scanned": office_time(item["scanned_at"])} for item in await _mine(db, reader.id)]
    return Template("pindaian.html", context={"account": reader, "items": items}, headers=NO_STORE)


routes = [api_mine, api_pdf, page]
