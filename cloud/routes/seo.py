"""For web search engines: /robots.txt and the sitemaps (/sitemap.xml, an index of /sitemap-1.xml, …); the
publication pages carry their structured data themselves (cloud.seo)."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from cloud import seo
from cloud.db import Database

XML = "application/xml; charset=utf-8"
CACHE = {"Cache-Control": "public, max-age=3600"}  # a crawler may keep them an hour; the catalogue moves slowly


@get("/robots.txt", include_in_schema=False)
async def robots(request: Request) -> Response:
    return Response(seo.robots_txt(request.app.state.public_url), media_type="text/plain",
                    headers=CACHE)


@get("/sitemap.xml", include_in_schema=False)
async def sitemap_index(request: Request, db: NamedDependency[Database]) -> Response:
    return Response(await seo.Sitemaps(db, request.app.state.public_url).index(), media_type=XML, headers=CACHE)


# Litestar's path parameters take a whole segment, so each numbered sitemap is a path of its own.
@get([f"/sitemap-{number}.xml" for number in range(1, seo.MAX_SITEMAPS + 1)], include_in_schema=False)
async def sitemap(request: Request, db: NamedDependency[Database]) -> Stream:
    number = int(request.url.path.removeprefix("/sitemap-").removesuffix(".xml"))
    sitemaps = seo.Sitemaps(db, request.app.state.public_url)
    if number > await sitemaps.count():
        raise NotFoundException("Berkas tidak ditemukan")  # as for any file the portal does not have
    return Stream(sitemaps.sitemap(number), media_type=XML, headers=CACHE)


routes = [robots, sitemap_index, sitemap]
