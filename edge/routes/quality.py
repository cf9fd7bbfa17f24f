"""Service quality at the desk: the SKM questionnaire (after checkout, or walk-up at the kiosk), complaints with a
tracking number, the staff's complaint queue and the IKM report. Pages work without JavaScript."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import current_user, flash, staff_only
from edge.complaints import CHANNELS, PUBLIC_CHANNELS, STATUS_WORDS, ComplaintError
from edge.errors import ApiError
from edge.i18n import N_, language
from edge.ratings import COMMENT_MAX, RatingError, ikm_json
from edge.openapi import RATING, json_body
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, audited
from edge.routes.kiosk import json_object
from edge.routes.reports import _range
from edge.slip import office_time
from edge.users import staff_names
from pst.skm import CODES, ELEMENTS, GRADES, SCALE_WORDS, shown
from pst.openapi import PAGE, html, see_other
from pst.throttle import Misses

Form = URLEncodedBody[dict[str, str]]

# pst.skm is shared with the cloud and has no catalogue marks; its words are marked here so that pybabel (which
# reads edge/ only) puts them in the catalogue. tests/edge/test_ratings.py checks this list against pst.skm.
SKM_WORDS = (
    N_("Persyaratan"), N_("Sistem, mekanisme, dan prosedur"), N_("Waktu penyelesaian"), N_("Biaya/tarif"),
    N_("Produk spesifikasi jenis pelayanan"), N_("Kompetensi pelaksana"), N_("Perilaku pelaksana"),
    N_("Penanganan pengaduan, saran dan masukan"), N_("Sarana dan prasarana"),
    N_("Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"),
    N_("Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?"),
    N_("Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?"),
    N_("Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?"),
    N_("Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum dalam standar"
       " pelayanan dengan hasil yang diberikan?"),
    N_("Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?"),
    N_("Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?"),
    N_("Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?"),
    N_("Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?"),
    N_("Tidak sesuai"), N_("Kurang sesuai"), N_("Sesuai"), N_("Sangat sesuai"),
    N_("Tidak mudah"), N_("Kurang mudah"), N_("Mudah"), N_("Sangat mudah"),
    N_("Tidak cepat"), N_("Kurang cepat"), N_("Cepat"), N_("Sangat cepat"),
    N_("Sangat mahal"), N_("Cukup mahal"), N_("Murah"), N_("Gratis"),
    N_("Tidak kompeten"), N_("Kurang kompeten"), N_("Kompeten"), N_("Sangat kompeten"),
    N_("Tidak sopan dan ramah"), N_("Kurang sopan dan ramah"), N_("Sopan dan ramah"), N_("Sangat sopan dan ramah"),
    N_("Tidak ada"), N_("Ada tetapi tidak berfungsi"), N_("Berfungsi kurang maksimal"), N_("Dikelola dengan baik"),
    N_("Buruk"), N_("Cukup"), N_("Baik"), N_("Sangat baik"),
    N_("Tidak baik"), N_("Kurang baik"),
)


def _run(fn, *args):
    try:
        return fn(*args)
    except (RatingError, ComplaintError) as exc:
        raise ApiError(exc.status, str(exc), exc.errors) from None


def _unknown(data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ApiError(400, "Isian tidak dikenal", {key: "tidak dikenal" for key in sorted(unknown)})


# --- JSON API ------------------------------------------------------------------------------------------------------
@post("/api/ratings", status_code=201, operation_class=json_body(RATING))
async def api_rate(request: Request, appliance: ApplianceDep) -> dict:
    """A visit's rating needs the visitor's own key (`token`, given with her guestbook entry and her ticket page):
    a visit's id alone is no proof; without either the rating is anonymous."""
    data = await json_object(request)
    _unknown(data, {"visit_id", "token", "scores", "comment"})
    visit_id = await anyio.to_thread.run_sync(_proven_visit, appliance, data.get("visit_id"), data.get("token"))
    return await anyio.to_thread.run_sync(
        _run, appliance.ratings.submit, visit_id, data.get("scores"), data.get("comment"), "api"
    )


def _proven_visit(appliance, visit_id: object, token: object) -> str | None:
    if token is None:
        if visit_id is not None:
            raise ApiError(403, N_("Penilaian sebuah kunjungan memerlukan kunci halaman pengunjung"),
                           {"token": N_("wajib bersama visit_id")})
        return None
    visit = appliance.visits.by_token(token) if isinstance(token, str) else None
    if visit is None or visit_id not in (None, visit["id"]):
        raise ApiError(403, N_("Kunci halaman pengunjung tidak cocok"), {"token": N_("tidak cocok")})
    return visit["id"]


@post("/api/complaints", status_code=201)
async def api_complain(request: Request, appliance: ApplianceDep) -> dict:
    """The complainant at the kiosk (langsung, kotak_saran), or staff with a session (every channel)."""
    data = await json_object(request)
    _unknown(data, {"channel", "text", "contact"})
    staff = current_user(request)
    complaint = await anyio.to_thread.run_sync(
        _run, appliance.complaints.submit, data.get("channel"), data.get("text"), data.get("contact"),
        staff["id"] if staff else None,
    )
    return complaint if staff else {"tracking": complaint["tracking"], "status": complaint["status"],
                                    "received_at": complaint["received_at"]}


@get("/api/complaints/{tracking:str}", sync_to_thread=True)
def api_complaint_lookup(request: Request, tracking: FromPath[str], appliance: ApplianceDep) -> dict:
    found, wait = _look_up(request, appliance, tracking)
    if wait:
        refused = ApiError(429, _guessing(wait))
        refused.headers = {"Retry-After": str(wait)}
        raise refused
    if found is None:
        raise ApiError(404, "Nomor pengaduan tidak ditemukan")
    return found


GUESSING = N_("Terlalu banyak nomor pengaduan yang salah dari alamat ini. Coba lagi dalam %(minutes)s menit.")


def _look_up(request: Request, appliance, tracking: str) -> tuple[dict | None, int]:
    """The complaint of a tracking number, or how long this address must wait: past 20 wrong numbers in 10 minutes
    (some 500 a second were tried) it gets 429 until the oldest leaves the window."""
    address, now = request.client.host if request.client else None, appliance.clock.now()
    guesses = request.app.state.get("tracking_guesses")
    if guesses is None:  # wrong numbers per address, kept by this app in memory
        guesses = request.app.state.tracking_guesses = Misses(limit=20, window=timedelta(minutes=10))
    wait = guesses.wait(address, now)
    if wait:
        return None, wait
    found = appliance.complaints.lookup(tracking)
    if found is None:
        guesses.missed(address, now)
    return found, 0


def _guessing(wait: int) -> str:
    return GUESSING % {"minutes": max(1, round(wait / 60))}


@get("/api/complaints", guards=[staff_only], opt=needs("complaints"), sync_to_thread=True)
def api_complaints(request: Request, appliance: ApplianceDep) -> list[dict]:
    status = request.query_params.get("status")
    if status and status not in STATUS_WORDS:
        raise ApiError(400, "Status tidak dikenal", {"status": ", ".join(STATUS_WORDS)})
    return appliance.complaints.queue(status)


@post("/api/complaints/{complaint_id:str}/{status:str}", guards=[staff_only], opt=needs("complaints"), status_code=200)
async def api_complaint_advance(request: Request, complaint_id: FromPath[str], status: FromPath[str],
                                appliance: ApplianceDep) -> dict:
    data = await json_object(request)
    _unknown(data, {"response"})
    staff = current_user(request)["id"]
    return await anyio.to_thread.run_sync(
        _advance, appliance, actor_of(request), complaint_id, status, staff, data.get("response")
    )


def _advance(appliance, actor, complaint_id: str, status: str, staff_id: str, response) -> dict:
    """A complaint's next status, with its line: complaint.answer when staff wrote the answer, else .status."""
    action = "complaint.answer" if isinstance(response, str) and response.strip() else "complaint.status"
    with audited(appliance, actor, action, f"complaint:{complaint_id}", status=status) as line:
        complaint = _run(appliance.complaints.advance, complaint_id, status, staff_id, response)
        line["detail"]["tracking"] = complaint["tracking"]
    return complaint


def _enter(appliance, actor, channel, text, contact, staff_id: str) -> dict:
    with audited(appliance, actor, "complaint.enter", channel=channel) as line:
        complaint = _run(appliance.complaints.submit, channel, text, contact, staff_id)
        line["target"], line["detail"]["tracking"] = f"complaint:{complaint['id']}", complaint["tracking"]
    return complaint


def _ikm_report(appliance, start_raw: str | None, end_raw: str | None) -> tuple[dict, object]:
    start, end = _range(appliance, start_raw, end_raw)
    tz = appliance.config.office.tz
    since = datetime.combine(start, time(0), tz)
    until = datetime.combine(end + timedelta(days=1), time(0), tz)
    result = appliance.ratings.ikm_between(since, until)
    period = {"from": start.isoformat(), "to": end.isoformat(), "office": appliance.config.office.code}
    return period | ikm_json(result), result


@get("/api/reports/ikm", guards=[staff_only], opt=needs("reports"), sync_to_thread=True)
def api_ikm_report(request: Request, appliance: ApplianceDep) -> dict:
    """Ratings made in [from, to] office days; see pst.skm for partial answers, weights and grade boundaries."""
    return _ikm_report(appliance, request.query_params.get("from"), request.query_params.get("to"))[0]


# --- the questionnaire (kiosk tablet or the visitor's phone) --------------------------------------------------------
RATED = see_other("Rated, now or before: to the thanks")


def _questionnaire(appliance, visit: dict | None, values: dict, errors: dict, status_code: int = 200,
                   token: str | None = None) -> Template:
    return Template("rating.html", status_code=status_code, context={
        "office": appliance.config.office, "visit": visit, "elements": ELEMENTS, "values": values,
        "errors": errors, "comment_max": COMMENT_MAX,
        "action": f"/penilaian/{token}" if visit else "/penilaian",
    })


def _visit_or_404(appliance, token: str) -> dict:
    """The visit whose visitor holds this key (her ticket page's); a visit's id opens nothing here."""
    visit = appliance.visits.by_token(token)
    if visit is None:
        raise ApiError(404, "Kunjungan tidak ditemukan")
    return visit


@get("/penilaian")
async def rating_walk_up(appliance: ApplianceDep) -> Template:
    return _questionnaire(appliance, None, {}, {})


@get("/penilaian/terima-kasih")
async def rating_thanks(request: Request, appliance: ApplianceDep) -> Template:
    return Template("rating_done.html", context={
        "office": appliance.config.office, "already": request.query_params.get("sudah") == "1",
    })


@get("/penilaian/{token:str}", responses={200: html("The questionnaire"), 303: RATED})
async def rating_page(token: FromPath[str], appliance: ApplianceDep) -> Template | Redirect:
    # async: a sync handler is wrapped twice when another handler shares its path (Litestar 2.25)
    visit = await anyio.to_thread.run_sync(_visit_or_404, appliance, token)
    if await anyio.to_thread.run_sync(appliance.ratings.rated, visit["id"]):
        return Redirect("/penilaian/terima-kasih?sudah=1", status_code=303)
    return _questionnaire(appliance, visit, {}, {}, token=token)


async def _submit_form(request: Request, appliance, visit: dict | None, token: str | None = None) -> Template | Redirect:
    form = await request.form()
    scores = {code: form.get(code) for code in CODES}
    comment = form.get("comment")
    try:
        await anyio.to_thread.run_sync(
            appliance.ratings.submit, visit["id"] if visit else None, scores, comment, "kiosk"
        )
    except RatingError as exc:
        if exc.status == 409:
            return Redirect("/penilaian/terima-kasih?sudah=1", status_code=303)
        errors = exc.errors or {"scores": str(exc)}
        values = {code: form.get(code) for code in CODES} | {"comment": comment or ""}
        return _questionnaire(appliance, visit, values, errors, status_code=exc.status, token=token)
    return Redirect("/penilaian/terima-kasih", status_code=303)


@post("/penilaian", status_code=303, responses={303: RATED, "4XX": PAGE})
async def rating_walk_up_submit(request: Request, appliance: ApplianceDep) -> Template | Redirect:
    return await _submit_form(request, appliance, None)


@post("/penilaian/{token:str}", status_code=303, responses={303: RATED, "4XX": PAGE})
async def rating_submit(request: Request, token: FromPath[str], appliance: ApplianceDep) -> Template | Redirect:
    visit = await anyio.to_thread.run_sync(_visit_or_404, appliance, token)
    return await _submit_form(request, appliance, visit, token)


# --- complaints: the complainant's form and lookup ----------------------------------------------------------------
def _complaint_form(appliance, values: dict, errors: dict, status_code: int = 200) -> Template:
    return Template("complaint.html", status_code=status_code, context={
        "office": appliance.config.office, "values": values, "errors": errors,
        "channels": {code: CHANNELS[code] for code in PUBLIC_CHANNELS},
    })


@get("/pengaduan")
async def complaint_page(appliance: ApplianceDep) -> Template:
    return _complaint_form(appliance, {"channel": "langsung"}, {})


@post("/pengaduan", status_code=303, responses={303: see_other("Received: to its tracking number's page"), "4XX": PAGE})
async def complaint_submit(request: Request, appliance: ApplianceDep) -> Template | Redirect:
    form = await request.form()
    values = {key: form.get(key) for key in ("channel", "text", "contact")}
    try:
        complaint = await anyio.to_thread.run_sync(
            appliance.complaints.submit, values["channel"], values["text"], values["contact"], None
        )
    except ComplaintError as exc:
        return _complaint_form(appliance, values, exc.errors or {"text": str(exc)}, status_code=exc.status)
    return Redirect(f"/pengaduan/cek?{urlencode({'nomor': complaint['tracking'], 'baru': 1})}", status_code=303)


@get("/pengaduan/cek", sync_to_thread=True, responses={"4XX": PAGE})
def complaint_lookup_page(request: Request, appliance: ApplianceDep) -> Template:
    number = request.query_params.get("nomor", "").strip()[:40]
    found, wait = _look_up(request, appliance, number) if number else (None, 0)
    tz = appliance.config.office.tz
    status = 429 if wait else 404 if number and not found else 200
    return Template("complaint_status.html", status_code=status, headers={"Retry-After": str(wait)} if wait else None,
                    context={
        "office": appliance.config.office, "number": number, "found": found, "status_words": STATUS_WORDS,
        "refused": _guessing(wait) if wait else None,
        "new": request.query_params.get("baru") == "1",
        "time_of": lambda v: office_time(datetime.fromisoformat(v), tz, language()) if v else "—",
    })


# --- staff: complaint queue and the IKM table -----------------------------------------------------------------------
ACTIONS = {"diterima": ("ditindaklanjuti", "selesai"), "ditindaklanjuti": ("selesai",), "selesai": ()}
ACTION_WORDS = {"ditindaklanjuti": N_("Tindak lanjuti"), "selesai": N_("Selesaikan")}


@get("/petugas/pengaduan", guards=[staff_only], opt=needs("complaints"))
async def complaints_page(request: Request, appliance: ApplianceDep) -> Template:
    rows = await anyio.to_thread.run_sync(appliance.complaints.queue)
    names = await anyio.to_thread.run_sync(staff_names, appliance.store)
    tz = appliance.config.office.tz
    return Template("complaints_staff.html", context={
        "office": appliance.config.office, "user": current_user(request), "complaints": rows,
        "channels": CHANNELS, "status_words": STATUS_WORDS, "actions": ACTIONS, "action_words": ACTION_WORDS,
        "staff_name": lambda staff_id: names.get(staff_id, "") if staff_id else "",
        "time_of": lambda v: office_time(datetime.fromisoformat(v), tz, language()) if v else "—",
    })


def _back(request: Request, kind: str, message: str) -> Redirect:
    flash(request, kind, message)
    return Redirect("/petugas/pengaduan", status_code=303)


@post("/petugas/pengaduan", guards=[staff_only], opt=needs("complaints"), status_code=303)
async def complaint_staff_entry(request: Request, appliance: ApplianceDep, data: Form) -> Redirect:
    """A complaint that came by box, e-mail, WhatsApp or SP4N LAPOR, typed in by staff."""
    staff = current_user(request)["id"]
    try:
        complaint = await anyio.to_thread.run_sync(
            _enter, appliance, actor_of(request), data.get("channel"), data.get("text"), data.get("contact"), staff
        )
    except ApiError as exc:
        reasons = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()) or exc.detail
        return _back(request, "error", N_("Pengaduan belum dicatat: %(reason)s") % {"reason": reasons})
    return _back(request, "success", N_("Pengaduan dicatat dengan nomor %(number)s") % {"number": complaint["tracking"]})


@post("/petugas/pengaduan/{complaint_id:str}/{status:str}", guards=[staff_only], opt=needs("complaints"),
      status_code=303)
async def complaint_advance_form(request: Request, complaint_id: FromPath[str], status: FromPath[str],
                                 appliance: ApplianceDep, data: Form) -> Redirect:
    staff = current_user(request)["id"]
    try:
        complaint = await anyio.to_thread.run_sync(
            _advance, appliance, actor_of(request), complaint_id, status, staff, data.get("response")
        )
    except ApiError as exc:
        return _back(request, "error", N_("Tidak dapat: %(reason)s") % {"reason": exc.detail})
    words = {"number": complaint["tracking"], "status": complaint["status"]}
    return _back(request, "success", N_("Pengaduan %(number)s: %(status)s") % words)


@get("/petugas/ikm", guards=[staff_only], opt=needs("reports"), sync_to_thread=True, responses={"4XX": PAGE})
def ikm_page(request: Request, appliance: ApplianceDep) -> Template:
    start, end = request.query_params.get("from"), request.query_params.get("to")
    try:
        report, result = _ikm_report(appliance, start, end)
        error = None
    except ApiError as exc:
        report, result, error = None, None, exc.detail
    return Template("ikm.html", status_code=400 if error else 200, context={
        "office": appliance.config.office, "user": current_user(request), "report": report, "result": result,
        "error": error, "start": report["from"] if report else start or "", "end": report["to"] if report else end or "",
        "grades": GRADES, "shown": shown,
        "scale_words": SCALE_WORDS,
    })


routes = [
    api_rate, api_complain, api_complaint_lookup, api_complaints, api_complaint_advance, api_ikm_report,
    rating_walk_up, rating_thanks, rating_page, rating_walk_up_submit, rating_submit,
    complaint_page, complaint_submit, complaint_lookup_page,
    complaints_page, complaint_staff_entry, complaint_advance_form, ikm_page,
]
