"""Ratings (SKM) and complaints on the portal, over JSON and as pages that work without JavaScript: the
questionnaire /penilaian, the complaint form /pengaduan and its lookup /pengaduan/lacak, and the staff's complaint
queue /kantor/pengaduan (staff and admins; a desk complaint is shown there read-only)."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from cloud.accounts import AccountView
from cloud.errors import ApiError
from cloud.openapi import RATING, documented
from cloud.quality import (
    AT_THE_DESK, CHANNEL_WORDS, STAFF_ROLES, STATUS_WORDS, Quality, QualityError, staff_only,
)
from cloud.routes import SESSION_COOKIE, AccountsDep, json_object
from cloud.routes.auditing import audited
from cloud.times import office_time as written_time
from pst import skm
from pst.i18n import N_, language
from pst.openapi import PAGE, html, see_other

QualityDep = NamedDependency[Quality]
Form = URLEncodedBody[dict[str, str]]
STAFF_ACTIONS = {"ditindaklanjuti": "follow_up", "tanggapan": "respond", "selesai": "resolve"}
ACTION_WORDS = {"ditindaklanjuti": N_("Tindak lanjuti"), "tanggapan": N_("Simpan tanggapan"),
                "selesai": N_("Selesaikan")}
DONE_WORDS = {"ditindaklanjuti": N_("sedang ditindaklanjuti"), "tanggapan": N_("tanggapannya disimpan"),
              "selesai": N_("selesai"), "dicatat": N_("dicatat")}


async def _account(request: Request, accounts) -> AccountView | None:
    return await accounts.by_session(request.cookies.get(SESSION_COOKIE))


def _unknown(data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ApiError(400, "Isian tidak dikenal", {str(key)[:40]: "tidak dikenal" for key in sorted(unknown)})


def _banner(exc: QualityError) -> str | None:
    """The message above a form: none when the form marks its fields itself."""
    return None if exc.errors else exc.detail


def office_time(value: str | None) -> str:
    """An ISO time as the office reads it, in the page's language: 30 Nov 2026, 09.05 WITA (09:05 in English)."""
    return written_time(value, language(), ", ")


def duration(seconds: int | None) -> str:
    """In Indonesian; the page shows it `|translated`."""
    if seconds is None:
        return "—"
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return N_("%(days)s hari %(hours)s jam") % {"days": days, "hours": hours}
    if hours:
        return N_("%(hours)s jam %(minutes)s mnt") % {"hours": hours, "minutes": minutes}
    return N_("%(minutes)s mnt") % {"minutes": minutes}


# --- JSON API --------------------------------------------------------------------------------------------------------
@post("/api/ratings", status_code=201, operation_class=documented(RATING))
async def api_rate(request: Request, accounts: AccountsDep, quality: QualityDep) -> dict:
    """`{"office", "scores": {"U1": 1..4, … "U9"}, "comment"?, "visit_id"?}`: all nine, numbers (not text)."""
    data = await json_object(request)
    _unknown(data, {"office", "visit_id", "scores", "comment"})
    reader = await _account(request, accounts)
    return await quality.rate(data.get("office"), data.get("scores"), data.get("comment"), data.get("visit_id"),
                              reader)


@post("/api/complaints", status_code=201)
async def api_complain(request: Request, accounts: AccountsDep, quality: QualityDep) -> dict:
    """The public (channel website) or, with a staff session, any channel. The public gets the tracking number."""
    data = await json_object(request)
    _unknown(data, {"office", "channel", "text", "contact"})
    account = await _account(request, accounts)
    staff = account if account and account.role in STAFF_ROLES else None
    made = await quality.complain(data.get("office"), data.get("channel"), data.get("text"), data.get("contact"),
                                  staff=staff, reader=None if staff else account)
    if staff:
        return made
    return {key: made[key] for key in ("tracking", "office_code", "status", "received_at")}


@get("/api/complaints/{tracking:str}")
async def api_complaint_lookup(tracking: FromPath[str], quality: QualityDep) -> dict:
    found = await quality.lookup(tracking)
    if found is None:
        raise ApiError(404, "Nomor pengaduan tidak ditemukan")
    return found


@get("/api/staff/complaints")
async def api_queue(request: Request, accounts: AccountsDep, quality: QualityDep) -> dict:
    params = request.query_params
    complaints = await quality.queue(await _account(request, accounts), params.get("status", ""),
                                     params.get("office", ""), params.get("channel", ""))
    return {"complaints": complaints}


@post("/api/staff/complaints/{complaint_id:str}/{action:str}", status_code=200)
async def api_handle(request: Request, complaint_id: FromPath[str], action: FromPath[str], accounts: AccountsDep,
                     quality: QualityDep) -> dict:
    """action = ditindaklanjuti | tanggapan | selesai, body `{"response"?}` (needed for tanggapan, and for selesai
    unless a response was given before)."""
    staff = staff_only(await _account(request, accounts))
    if action not in STAFF_ACTIONS:
        raise ApiError(404, "Tindakan tidak dikenal", {"action": ", ".join(STAFF_ACTIONS)})
    data = await json_object(request)
    _unknown(data, {"response"})
    return await _handle(request, quality, staff, complaint_id, action, data.get("response"))


async def _handle(request: Request, quality: Quality, staff: AccountView, complaint_id: str, action: str,
                  response) -> dict:
    """A staff step on a complaint and its line: complaint.answer when it carries the answer, else .status."""
    answered = action == "tanggapan" or (isinstance(response, str) and bool(response.strip()))
    async with audited(request, staff, "complaint.answer" if answered else "complaint.status",
                       f"complaint:{complaint_id}", step=action) as line:
        done = await getattr(quality, STAFF_ACTIONS[action])(staff, complaint_id, response)
        line["office_code"], line["detail"]["tracking"] = done.get("office_code"), done.get("tracking")
    return done


# --- the questionnaire -----------------------------------------------------------------------------------------------
async def _questionnaire(quality: Quality, account, values: dict, errors: dict, status: int = 200,
                         error: str | None = None) -> Template:
    office = values.get("office") or ""
    already = bool(account and office and await quality.rated_this_month(account, office))
    return Template("penilaian.html", status_code=status, context={
        "account": account, "offices": await quality.offices(), "elements": skm.ELEMENTS, "values": values,
        "errors": errors, "error": error, "comment_max": skm.COMMENT_MAX, "already": already,
    })


@get("/penilaian")
async def rating_page(request: Request, accounts: AccountsDep, quality: QualityDep) -> Template:
    values = {"office": request.query_params.get("kantor", "")[:8]}
    return await _questionnaire(quality, await _account(request, accounts), values, {})


@post("/penilaian", status_code=303, responses={303: see_other("Rated: to the thanks"), "4XX": PAGE})
async def rating_form(request: Request, data: Form, accounts: AccountsDep, quality: QualityDep) -> Response:
    account = await _account(request, accounts)
    values = {key: data.get(key, "") for key in ("office", "comment", *skm.CODES)}
    scores = {code: values[code] for code in skm.CODES}
    try:
        await quality.rate(values["office"], scores, values["comment"], None, account, text_digits=True)
    except QualityError as exc:
        errors = exc.errors if exc.status == 400 else {}  # a refusal of the whole sheet (409, 429) is said above it
        return await _questionnaire(quality, account, values, errors, exc.status, None if errors else exc.detail)
    return Redirect(f"/penilaian/terima-kasih?{urlencode({'kantor': values['office']})}", status_code=303)


@get("/penilaian/terima-kasih")
async def rating_thanks(request: Request, accounts: AccountsDep) -> Template:
    return Template("penilaian_terima_kasih.html", context={
        "account": await _account(request, accounts), "office": request.query_params.get("kantor", "")[:8],
    })


# --- complaints: the complainant's form and lookup --------------------------------------------------------------------
async def _complaint_form(quality: Quality, account, values: dict, errors: dict, status: int = 200,
                          error: str | None = None) -> Template:
    return Template("pengaduan.html", status_code=status, context={
        "account": account, "offices": await quality.offices(), "values": values, "errors": errors, "error": error,
        "text_max": skm.COMPLAINT_TEXT_MAX, "contact_max": skm.CONTACT_MAX,
    })


@get("/pengaduan")
async def complaint_page(request: Request, accounts: AccountsDep, quality: QualityDep) -> Template:
    values = {"office": request.query_params.get("kantor", "")[:8]}
    return await _complaint_form(quality, await _account(request, accounts), values, {})


@post("/pengaduan", status_code=303,
      responses={303: see_other("Received: to its tracking number's page"), "4XX": PAGE})
async def complaint_form(request: Request, data: Form, accounts: AccountsDep, quality: QualityDep) -> Response:
    values = {key: data.get(key, "") for key in ("office", "text", "contact")}
    account = await _account(request, accounts)
    try:
        made = await quality.complain(values["office"], "website", values["text"], values["contact"], reader=account)
    except QualityError as exc:
        return await _complaint_form(quality, account, values, exc.errors, exc.status, _banner(exc))
    return Redirect(f"/pengaduan/lacak?{urlencode({'nomor': made['tracking'], 'baru': 1})}", status_code=303)


@get("/pengaduan/lacak", responses={"4XX": PAGE})
async def complaint_lookup_page(request: Request, accounts: AccountsDep, quality: QualityDep) -> Template:
    number = request.query_params.get("nomor", "").strip()[:40]
    found = await quality.lookup(number) if number else None
    return Template("pengaduan_lacak.html", status_code=404 if number and not found else 200, context={
        "account": await _account(request, accounts), "number": number, "found": found, "new": request.query_params.get("baru") == "1", "time_of": office_time,
    })


# --- staff: the complaint queue ---------------------------------------------------------------------------------------
STAFF_PAGE = {303: see_other("Not signed in: to the sign-in page"), "4XX": PAGE}  # a reader: 403, a page
STAFF_FORM = {**STAFF_PAGE, 303: see_other("Done: back to the queue; not signed in: to the sign-in page")}


async def _staff(request: Request, accounts) -> AccountView | Response:
    """The signed-in staff member, or the answer for anyone else: sign in first, or 403."""
    account = await _account(request, accounts)
    if account is None:
        return Redirect("/akun/masuk", status_code=303)
    if account.role not in STAFF_ROLES:
        return Template("notice.html", status_code=403, context={
            "title": N_("Khusus petugas"), "text": N_("Halaman ini hanya untuk petugas PST."),
            "link": ("/", N_("Beranda")),
            "errors": {}, "error": None, "form": {},
        })
    return account


def _filters(source) -> dict[str, str]:
    return {key: str(source.get(key, ""))[:20] for key in ("status", "office", "channel")}


async def _queue_page(quality: Quality, staff: AccountView, filters: dict, status: int = 200, **context) -> Template:
    try:
        complaints = await quality.queue(staff, **filters)
    except QualityError as exc:
        complaints, status, context["error"] = [], exc.status, exc.detail
    return Template("kantor_pengaduan.html", status_code=status, context={
        "account": staff, "complaints": complaints, "filters": filters, "offices": await quality.offices(),
        "channels": CHANNEL_WORDS, "statuses": STATUS_WORDS, "action_words": ACTION_WORDS, "at_the_desk": AT_THE_DESK,
        "time_of": office_time, "duration": duration, "back": urlencode({k: v for k, v in filters.items() if v}),
        "errors": {}, "error": None, "entry": {}, "done": None, **context,
    })


@get("/kantor/pengaduan", responses={200: html("The complaint queue"), **STAFF_PAGE})
async def queue_page(request: Request, accounts: AccountsDep, quality: QualityDep) -> Response:
    staff = await _staff(request, accounts)
    if not isinstance(staff, AccountView):
        return staff
    params = request.query_params
    done = None
    if params.get("hasil") in DONE_WORDS and skm.normalise_tracking(params.get("nomor", "")):
        done = (skm.normalise_tracking(params["nomor"]), DONE_WORDS[params["hasil"]])
    return await _queue_page(quality, staff, _filters(params), done=done)


def _back(tracking: str, result: str, filters: dict) -> Redirect:
    query = {**{k: v for k, v in filters.items() if v}, "hasil": result, "nomor": tracking}
    return Redirect(f"/kantor/pengaduan?{urlencode(query)}", status_code=303)


@post("/kantor/pengaduan", status_code=303, responses=STAFF_FORM)
async def queue_entry(request: Request, data: Form, accounts: AccountsDep, quality: QualityDep) -> Response:
    """A complaint that came by box, e-mail, WhatsApp, SP4N LAPOR or in person, typed in by staff."""
    staff = await _staff(request, accounts)
    if not isinstance(staff, AccountView):
        return staff
    entry = {key: data.get(key, "") for key in ("office", "channel", "text", "contact")}
    try:
        async with audited(request, staff, "complaint.enter", office_code=entry["office"][:8] or None,
                           channel=entry["channel"][:20]) as line:
            made = await quality.complain(entry["office"], entry["channel"], entry["text"], entry["contact"],
                                          staff=staff)
            line["target"], line["detail"]["tracking"] = f"complaint:{made.get('id', '')}", made["tracking"]
    except QualityError as exc:
        return await _queue_page(quality, staff, _filters({}), exc.status, error=exc.detail, errors=exc.errors,
                                 entry=entry)
    return _back(made["tracking"], "dicatat", _filters({}))


@post("/kantor/pengaduan/{complaint_id:str}/{action:str}", status_code=303, responses=STAFF_FORM)
async def queue_action(request: Request, complaint_id: FromPath[str], action: FromPath[str], data: Form,
                       accounts: AccountsDep, quality: QualityDep) -> Response:
    staff = await _staff(request, accounts)
    if not isinstance(staff, AccountView):
        return staff
    filters = _filters({key: data.get(f"f_{key}", "") for key in ("status", "office", "channel")})
    if action not in STAFF_ACTIONS:
        return await _queue_page(quality, staff, filters, 404, error=N_("Tindakan tidak dikenal"))
    try:
        done = await _handle(request, quality, staff, complaint_id, action, data.get("response"))
    except QualityError as exc:
        return await _queue_page(quality, staff, filters, exc.status, error=exc.detail)
    return _back(done["tracking"], action, filters)


routes = [
    api_rate, api_complain, api_complaint_lookup, api_queue, api_handle,
    rating_page, rating_form, rating_thanks, complaint_page, complaint_form, complaint_lookup_page,
    queue_page, queue_entry, queue_action,
]
