"""The self-service scanner: the station page (ticket number → job page that follows the pages as they come, then the
download code and its QR), the scan API, the LAN download by code, and the simulated feeder (`sim_routes`).
Works without JavaScript: the job page refreshes itself while scanning.
"""

from __future__ import annotations

from datetime import datetime

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import File, Redirect, Response, Template

from edge.errors import ApiError
from edge.i18n import N_, language
from edge.routes import ApplianceDep
from edge.routes.kiosk import json_object
from edge.scans import ScanError, ScanJob
from edge.slip import office_time
from edge.visits import initials
from pst.openapi import PAGE, content, error_body, html, see_other

Form = URLEncodedBody[dict[str, str]]
REFRESH_SECONDS = 2  # the job page while pages come in
DONE_SECONDS = 180  # the job page goes back to the station by itself: the next visitor must not see this code
GONE = N_("Kode unduhan salah atau sudah kedaluwarsa")


def _start(appliance, visit_id, ticket_number) -> str:
    try:
        return appliance.scans.start(visit_id, ticket_number)
    except ScanError as exc:
        raise ApiError(exc.status, str(exc), exc.errors) from None


@post("/api/scans", status_code=201,
      responses={503: error_body("No scanner, or the appliance is stopping")})
async def api_start_scan(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    unknown = set(data) - {"visit_id", "ticket_number"}
    if unknown:
        raise ApiError(400, N_("Isian tidak dikenal"), {key: N_("tidak dikenal") for key in sorted(unknown)})
    job_id = await anyio.to_thread.run_sync(_start, appliance, data.get("visit_id"), data.get("ticket_number"))
    return {"id": job_id}


@get("/api/scans/{job_id:str}", sync_to_thread=True)
def api_scan_state(job_id: FromPath[str], appliance: ApplianceDep) -> dict:
    job = appliance.scans.get(job_id)
    if job is None:
        raise ApiError(404, N_("Pemindaian tidak ditemukan"))
    return job.json(appliance.clock.now())


@get("/d/{code:str}", sync_to_thread=True, responses={
    200: content("application/pdf", "The scan"), "4XX": PAGE})
def download(request: Request, code: FromPath[str], appliance: ApplianceDep) -> Response:
    path = appliance.scans.download(code)
    if path is None:
        if "text/html" in request.headers.get("accept", ""):  # a phone that followed an old QR: a page, not JSON
            return Template("scan_job.html", status_code=404, context={"office": appliance.config.office, "gone": True})
        raise ApiError(404, GONE)
    return File(
        path=path, filename=f"pindaian-{path.stem[-8:]}.pdf", media_type="application/pdf",
        content_disposition_type="inline", headers={"Cache-Control": "no-store"},
    )


def station_page(appliance, error: str = "", ticket_number: str = "", status_code: int = 200) -> Template:
    return Template("scanner.html", status_code=status_code, context={
        "office": appliance.config.office, "error": error, "ticket_number": ticket_number,
        "code_ttl_min": int(appliance.scans.code_ttl.total_seconds() // 60),
    })


# No thread: nothing here blocks, and Litestar 2.25 wraps a sync_to_thread handler twice when another handler (the
# POST below) shares its path, which turns its answer into an un-awaited coroutine.
@get("/pemindai", sync_to_thread=False)
def scanner_station(appliance: ApplianceDep) -> Template:
    return station_page(appliance)


@post("/pemindai", status_code=303, responses={
    303: see_other("The scan's own page"), "4XX": PAGE, 503: html("No scanner, or the appliance is stopping")})
async def scanner_start(appliance: ApplianceDep, data: Form) -> Response:
    number = (data.get("ticket_number") or "").strip()[:12]
    try:
        job_id = await anyio.to_thread.run_sync(_start, appliance, None, number)
    except ApiError as exc:
        return station_page(appliance, exc.detail, number, status_code=exc.status_code)
    return Redirect(f"/pemindai/{job_id}", status_code=303)


@get("/pemindai/{job_id:str}", sync_to_thread=True)
def scan_job_page(job_id: FromPath[str], appliance: ApplianceDep) -> Template:
    job = appliance.scans.get(job_id)
    if job is None:
        raise ApiError(404, N_("Pemindaian tidak ditemukan"))
    return Template("scan_job.html", context=job_context(appliance, job))


def job_context(appliance, job: ScanJob) -> dict:
    now, tz = appliance.clock.now(), appliance.config.office.tz
    live = job.download_code is not None and not job.expired(now)
    url = f"{appliance.settings.public_url}/d/{job.download_code}" if live else None
    return {
        "office": appliance.config.office, "job": job, "live": live, "url": url,
        "code_text": f"{job.download_code[:4]}-{job.download_code[4:]}" if live else None,
        "qr_svg": qr_svg(url) if live else None,
        "expires_text": office_time(datetime.fromisoformat(job.code_expires_at), tz, language()) if live else None,
        # the station is reached by typing a ticket number, which anyone can: initials only, never the name
        "initials": initials(appliance.scans.visitor_name(job.visit_id)),
        "visit_pages": appliance.scans.pages_for_visit(job.visit_id),
        "refresh": REFRESH_SECONDS if job.status == "scanning" else None,
        "done_after": DONE_SECONDS,
    }


def qr_svg(payload: str) -> str:
    """The download URL as an inline SVG QR code (no image file, no JavaScript)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(payload, image_factory=SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


@get("/_sim/scanner", sync_to_thread=False)
def sim_scanner_state(appliance: ApplianceDep) -> dict:
    return appliance.hardware.scanner.snapshot()


@post("/_sim/scanner/feed", status_code=200)
async def sim_scanner_feed(request: Request, appliance: ApplianceDep) -> dict:
    data = await json_object(request, any_type=True)
    errors = {}
    for key in ("pages", "jam_after"):
        value = data.get(key)
        if (key == "pages" or value is not None) and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 500):
            errors[key] = "bilangan bulat 0–500"
    for key in set(data) - {"pages", "jam_after"}:
        errors[key] = "tidak dikenal"
    if errors:
        raise ApiError(400, "Isi pengumpan simulasi tidak sah", errors)
    scanner = appliance.hardware.scanner
    scanner.feed(data["pages"], data.get("jam_after"))
    return scanner.snapshot()


routes = [api_start_scan, api_scan_state, download, scanner_station, scanner_start, scan_job_page]
sim_routes = [sim_scanner_state, sim_scanner_feed]
