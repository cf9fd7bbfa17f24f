"""The catalogue over JSON and as pages (Indonesian, no JavaScript): search with facets and pages, one publication,
and its softcopy, watermarked for the signed-in reader ("Baca" opens it in the browser, "Unduh" saves it)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from cloud.catalogue import Catalogue, CatalogueError
from cloud.errors import ApiError
from cloud.reading import Reading
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.accounts import SIGN_IN_FIRST, sign_in_path
from cloud.seo import page_tags
from pst.i18n import N_
from pst.openapi import PAGE, content

CatalogueDep = NamedDependency[Catalogue]
ReadingDep = NamedDependency[Reading]
SEARCH_PARAMS = ("q", "year", "subject", "type", "page")
T = TypeVar("T")
NO_STORE = {"Cache-Control": "private, no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff"}


def _search_args(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in (*SEARCH_PARAMS, "per_page")}


@get("/api/publications")
async def search(request: Request, catalogue: CatalogueDep) -> dict:
    return await catalogue.search(**_search_args(request))


@get("/api/publications/{publication_id:str}")
async def publication(publication_id: FromPath[str], catalogue: CatalogueDep) -> dict:
    found = await catalogue.get(publication_id)
    if found is None:
        raise ApiError(404, "Publikasi tidak ditemukan")
    return found


@get("/api/publications/{publication_id:str}/softcopy",
     responses={200: content("application/pdf", "Her watermarked copy")})
async def softcopy(request: Request, publication_id: FromPath[str], accounts: AccountsDep, reading: ReadingDep) -> Response:
    """`?unduh=1` asks the browser to save it (attachment); otherwise it opens inline."""
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        raise ApiError(401, "Masuk terlebih dahulu untuk membaca salinan digital")
    return await _serve(request, reading, publication_id, reader, request.query_params.get("unduh") in ("1", "true"))


async def _serve(request: Request, reading: Reading, publication_id: str, reader, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    copy = await while_connected(request, reading.softcopy(publication_id, reader, disposition))
    return copy if isinstance(copy, Response) else softcopy_stream(copy, disposition)


CLIENT_GONE = 499  # nginx's "client closed request": the handler's answer when nobody is left to receive it


async def while_connected(request: Request, work: Awaitable[T]) -> T | Response:
    """`work` (a copy being stamped), given up when the client disconnects first: a reader who closed the tab or
    whose connection dropped leaves no stamping process working for nobody. Its answer is then CLIENT_GONE."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:  # cancelled itself (the server stopping): both go
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait((task,))
    if task.cancelled():
        return Response(b"", status_code=CLIENT_GONE, headers=NO_STORE)
    return task.result()


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the request has no body to read: what comes before is dropped)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def softcopy_stream(copy, disposition: str) -> Stream:
    """A reader's copy, streamed from this request's own temporary file and removed once sent; no ETag or
    Last-Modified, since no two answers are the same file."""
    try:
        headers = {**NO_STORE, "X-Download-Id": copy.download_id, "Content-Length": str(copy.path.stat().st_size),
                   "Content-Disposition": f'{disposition}; filename="{copy.filename}"'}
        return Stream(_chunks(copy.path), media_type=copy.media_type, headers=headers)
    except BaseException:
        copy.path.unlink(missing_ok=True)
        raise


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


# --- pages ---------------------------------------------------------------------------------------------------------
@get("/katalog", responses={"4XX": PAGE})
async def catalogue_page(request: Request, catalogue: CatalogueDep, accounts: AccountsDep) -> Template:
    args = _search_args(request)
    args.pop("per_page")
    try:
        result = await catalogue.search(**args)
        error = None
    except CatalogueError as exc:
        result, error = await catalogue.search(q=args["q"]), exc.detail
    pages = max(1, math.ceil(result["total"] / result["per_page"]))
    current = {k: v for k, v in args.items() if v and k != "page"}

    def url(**changes) -> str:
        params = {k: v for k, v in {**current, **changes}.items() if v not in (None, "")}
        return "/katalog" + (f"?{urlencode(params)}" if params else "")

    return Template("katalog.html", context={
        "result": result, "args": args, "current": current, "pages": pages, "url": url, "error": error,
        "account": await accounts.by_session(request.cookies.get(SESSION_COOKIE)),
    }, status_code=400 if error else 200)


@get("/publikasi/{publication_id:str}", responses={"4XX": PAGE})
async def publication_page(request: Request, publication_id: FromPath[str], catalogue: CatalogueDep,
                           accounts: AccountsDep) -> Template:
    found = await catalogue.get(publication_id)
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if found is None:
        return Template("notice.html", context={"title": N_("Publikasi tidak ditemukan"), "error": None,
                                                "text": N_("Publikasi ini tidak ada di katalog."),
                                                "link": ("/katalog", N_("Kembali ke katalog"))}, status_code=404)
    return Template("publikasi.html", context={"p": found, "account": account, "error": None,
                                               "seo": page_tags(found, request.app.state.public_url)})


@get("/publikasi/{publication_id:str}/baca", responses={
    200: content("application/pdf", "Her watermarked copy, inline"), 303: SIGN_IN_FIRST, "4XX": PAGE})
async def read_page(request: Request, publication_id: FromPath[str], accounts: AccountsDep, reading: ReadingDep) -> Response:
    return await _page_copy(request, publication_id, accounts, reading, download=False)


@get("/publikasi/{publication_id:str}/unduh", responses={
    200: content("application/pdf", "Her watermarked copy, to save"), 303: SIGN_IN_FIRST, "4XX": PAGE})
async def download_page(request: Request, publication_id: FromPath[str], accounts: AccountsDep, reading: ReadingDep) -> Response:
    return await _page_copy(request, publication_id, accounts, reading, download=True)


async def _page_copy(request, publication_id, accounts, reading, download: bool) -> Response:
    reader = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if reader is None:
        return Redirect(sign_in_path(request), status_code=303, headers=NO_STORE)
    try:
        return await _serve(request, reading, publication_id, reader, download)
    except CatalogueError as exc:
        return Template("notice.html", context={"title": N_("Salinan digital tidak tersedia"), "text": exc.detail,
                                                "error": None, "link": (f"/publikasi/{publication_id}", N_("Kembali"))},
                        status_code=exc.status)


routes = [search, publication, softcopy, catalogue_page, publication_page, read_page, download_page]
