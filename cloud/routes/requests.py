"""Softcopy requests over JSON and as the reader's page "Permintaan saya" (Indonesian, works without JavaScript).
Readers: make one, list theirs, open one, fetch the fulfilled file watermarked for them. Staff: list, process, reject
(JSON), fulfil (a multipart upload, field `file`)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Stream, Template

from cloud.accounts import AccountView
from cloud.catalogue import Catalogue, CatalogueError
from cloud.deliverables import KINDS
from cloud.errors import ApiError
from cloud.requests import MAX_PDF, PURPOSES, Requests
from cloud.routes import SESSION_COOKIE, AccountsDep, json_object
from cloud.routes.accounts import SIGN_IN_FIRST, sign_in_path
from cloud.routes.auditing import audited
from cloud.routes.catalogue import NO_STORE, CatalogueDep, softcopy_stream, while_connected
from pst.openapi import PAGE, content, html, see_other

RequestsDep = NamedDependency[Requests]
Form = URLEncodedBody[dict[str, str]]


async def _signed_in(request: Request, accounts) -> AccountView:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    return account


@post("/api/requests", status_code=201)
async def create(request: Request, accounts: AccountsDep, requests: RequestsDep) -> dict:
    reader = await _signed_in(request, accounts)
    data = await json_object(request)
    return await requests.create(reader, data.get("publication_id"), data.get("description"), data.get("purpose"))


@get("/api/requests")
async def mine(request: Request, accounts: AccountsDep, requests: RequestsDep) -> dict:
    reader = await _signed_in(request, accounts)
    return {"requests": await requests.mine(reader)}


@get("/api/requests/{request_id:str}")
async def one(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> dict:
    return await requests.get(await _signed_in(request, accounts), request_id)


@get("/api/requests/{request_id:str}/softcopy", responses={
    200: content(KINDS[".pdf"].media_type, "Her copy: the PDF watermarked for her, or a table (XLSX, CSV)",
                 KINDS[".xlsx"].media_type, KINDS[".csv"].media_type)})
async def softcopy(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> Response:
    """`?unduh=1` asks the browser to save it; otherwise it opens inline. Never cached, made for this request."""
    reader = await _signed_in(request, accounts)
    disposition = "attachment" if request.query_params.get("unduh") in ("1", "true") else "inline"
    copy = await while_connected(request, requests.softcopy(reader, request_id))
    return copy if isinstance(copy, Response) else softcopy_stream(copy, disposition)


# --- staff ---------------------------------------------------------------------------------------------------------
@get("/api/staff/requests")
async def staff_list(request: Request, accounts: AccountsDep, requests: RequestsDep) -> dict:
    staff = await _signed_in(request, accounts)
    return {"requests": await requests.all(staff, request.query_params.get("status", ""))}


@post("/api/staff/requests/{request_id:str}/process", status_code=200)
async def process(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> dict:
    staff = await _signed_in(request, accounts)
    await json_object(request)
    async with audited(request, staff, "request.process", f"softcopy_request:{request_id}"):
        return await requests.process(staff, request_id)


@post("/api/staff/requests/{request_id:str}/reject", status_code=200)
async def reject(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> dict:
    staff = await _signed_in(request, accounts)
    data = await json_object(request)
    async with audited(request, staff, "request.reject", f"softcopy_request:{request_id}"):
        return await requests.reject(staff, request_id, data.get("reason"))


# The body may hold a whole PDF of the largest size allowed plus the multipart framing; the service says 400 above.
@post("/api/staff/requests/{request_id:str}/fulfil", status_code=200, request_max_body_size=MAX_PDF + 2 * 2**20)
async def fulfil(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> dict:
    staff = await _signed_in(request, accounts)
    if staff.role not in ("staff", "admin"):  # before reading the upload
        raise ApiError(403, "Hanya petugas yang dapat melakukan ini")
    if request.content_type[0] != "multipart/form-data":
        raise ApiError(415, "Unggah berkas sebagai multipart/form-data, kolom `file`")
    try:
        form = await request.form()
    except HTTPException as exc:
        if exc.status_code == 413:  # far above the limit: refused like any oversized file, before it is read
            raise ApiError(400, f"Berkas terlalu besar (maks. {MAX_PDF // 2**20} MB)", {"file": "terlalu besar"}) from None
        raise
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "Berkas belum dilampirkan", {"file": "wajib diisi"})
    try:
        data = await upload.read()
    finally:
        await upload.close()
    async with audited(request, staff, "request.fulfil", f"softcopy_request:{request_id}", filename=upload.filename):
        return await requests.fulfil(staff, request_id, data, upload.filename)


# --- the reader's page -----------------------------------------------------------------------------------------------
async def _page(requests: Requests, catalogue: Catalogue, reader: AccountView, status: int = 200,
                **context) -> Template:
    """The reader's requests and the form; a publication chosen in the catalogue is named by its title."""
    chosen = (context.get("form") or {}).get("publication_id")
    return Template("permintaan.html", status_code=status, context={
        "account": reader, "requests": await requests.mine(reader), "purposes": PURPOSES, "errors": {}, "error": None,
        "form": {}, "created": False, "publication": await catalogue.get(chosen) if chosen else None, **context,
    })


@get("/akun/permintaan", responses={200: html("Her requests and the form"), 303: SIGN_IN_FIRST})
async def requests_page(request: Request, accounts: AccountsDep, requests: RequestsDep,
                        catalogue: CatalogueDep) -> Response:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        return Redirect(sign_in_path(request), status_code=303, headers=NO_STORE)
    form = {"publication_id": request.query_params.get("publikasi", "")}
    return await _page(requests, catalogue, reader, form=form, created=request.query_params.get("dikirim") == "1")


@post("/akun/permintaan", status_code=303, responses={
    303: see_other("Sent: to her requests; not signed in: to the sign-in page"), "4XX": PAGE})
async def requests_form(request: Request, data: Form, accounts: AccountsDep, requests: RequestsDep,
                        catalogue: CatalogueDep) -> Response:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        return Redirect("/akun/masuk", status_code=303)
    form = {key: data.get(key, "") for key in ("publication_id", "description", "purpose")}
    try:
        await requests.create(reader, form["publication_id"], form["description"], form["purpose"])
    except CatalogueError as exc:
        return await _page(requests, catalogue, reader, exc.status, error=exc.detail, errors=exc.errors, form=form)
    return Redirect("/akun/permintaan?dikirim=1", status_code=303)


routes = [create, mine, one, softcopy, staff_list, process, reject, fulfil, requests_page, requests_form]
