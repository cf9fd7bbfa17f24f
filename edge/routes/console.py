"""The frontliner console: live queue with the 5-minute countdowns, calls to a counter, today's visits, alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Response, Template

from edge.alerts import open_alerts, storage_alerts
from edge.auth import current_user, flash, staff_only
from edge.calls import STATUS_WORDS, DeskError
from edge.errors import ApiError
from edge.guestbook import EDUCATION, GENDERS, ID_TYPES, OCCUPATIONS, PURPOSES
from edge.i18n import N_, language
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import Actor, actor_of, audited, record_alone
from edge.routes.catalogue import visit_fetches_context
from edge.sla import sla_state
from edge.slip import CLOCK_PATTERNS, office_time
from edge.softcopy_requests import PURPOSE_WORDS as SOFTCOPY_PURPOSES
from edge.softcopy_requests import STATUS_WORDS as SOFTCOPY_WORDS
from edge.tickets import ticket_json
from pst.openapi import error_body, no_content
from hardware.interfaces import PrinterFault

# Messages here are Indonesian, as the JSON API gives them; the pages translate them when they show them.
PRINTER_WORDS = {
    "ok": N_("siap"), "paper_out": N_("kertas habis"), "offline": N_("tidak terhubung"),
    "unplugged": N_("tidak ditemukan"), "error": N_("galat"), "absent": N_("tidak dipasang"),
}
DONE_MESSAGES = {
    "recall": N_("Nomor %(number)s dipanggil ulang"), "skip": N_("Nomor %(number)s dilewati"),
    "serve": N_("Nomor %(number)s mulai dilayani"), "done": N_("Nomor %(number)s selesai dilayani"),
    "reprint": N_("Nomor %(number)s dicetak ulang"),
}
LABELS = {"genders": GENDERS, "education": EDUCATION, "occupations": OCCUPATIONS, "purposes": PURPOSES, "id_types": ID_TYPES}


def console_view(appliance) -> dict:
    """Today's queue as the console shows it, with waits measured now."""
    now = appliance.clock.now()
    tz = appliance.config.office.tz
    visits = {v["ticket_id"]: v for v in appliance.visits.of_day(appliance.queue.today().isoformat())}
    rows = {"waiting": [], "called": [], "serving": []}
    for ticket in appliance.queue.of_day(statuses=("waiting", "called", "serving")):
        visit = visits.get(ticket.id)
        row = ticket_json(ticket, tz) | {
            "waited_s": int((now - ticket.issued).total_seconds()), "visit": None,
        }
        if visit:
            checked_in = datetime.fromisoformat(visit["checked_in_at"])
            waited = (now - checked_in) if not visit["service_started_at"] else None
            row["visit"] = {
                "id": visit["id"], "name": visit["name"], "serve_by": visit["serve_by"],
                "remaining_s": int((datetime.fromisoformat(visit["serve_by"]) - now).total_seconds()),
                "sla": sla_state(waited) if waited is not None else "served",
            }
        rows[ticket.status].append(row)
    sla_alerts = [
        {"kind": f"sla_{r['visit']['sla']}", "message": _sla_message(r)}
        for r in rows["waiting"] + rows["called"] if r["visit"] and r["visit"]["sla"] in ("warning", "breach")
    ]
    sync = sync_view(appliance)
    return rows | {
        "now": now.astimezone(tz).isoformat(timespec="seconds"),
        "alerts": storage_alerts(appliance.store) + open_alerts(appliance.store.read) + sla_alerts + sync.pop("alerts"),
        "printer": appliance.spooler.state,
        "sync": sync,
    }


SYNC_STALE = timedelta(hours=1)
# what the agent records (`Agent._failed`: "ConnectError: …", "503: …") → words staff can act on; the raw text is
# for the agent's log and `GET /api/sync`, not for the console
NETWORK_ERRORS = frozenset({
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ReadError", "WriteError",
    "RemoteProtocolError", "NetworkError", "TimeoutException", "TransportError", "ProxyError",
})
SYNC_TROUBLE = {
    "network": N_("Tidak terhubung ke cloud sejak %(time)s"),
    "refused": N_("Cloud menolak perangkat ini sejak %(time)s; periksa pendaftarannya (pst edge enroll)"),
    "cloud": N_("Cloud sedang bermasalah sejak %(time)s; dicoba lagi otomatis"),
    "other": N_("Sinkronisasi gagal sejak %(time)s; rinciannya ada di log agen sinkronisasi"),
}


def sync_trouble(state: dict, now: datetime, tz, locale: str) -> str | None:
    """The last failed round in words, with the time (office time) since the cloud last answered."""
    error = state.get("last_error")
    if not error:
        return None
    kind = error.split(":", 1)[0].strip()
    if kind in NETWORK_ERRORS:
        key = "network"
    elif kind in ("401", "403"):
        key = "refused"
    else:
        key = "cloud" if kind.isdigit() else "other"
    since = datetime.fromisoformat(state.get("last_success_at") or state.get("last_error_at") or now.isoformat())
    return SYNC_TROUBLE[key] % {"time": _clock(since, now, tz, locale)}


def _clock(moment: datetime, now: datetime, tz, locale: str) -> str:
    """"14.02" today, "3 Des 14.02" on an earlier day (office time; "14:02" outside Indonesian)."""
    from babel.dates import format_datetime

    clock = CLOCK_PATTERNS.get(locale, "HH:mm")
    same_day = moment.astimezone(tz).date() == now.astimezone(tz).date()
    return format_datetime(moment, clock if same_day else f"d MMM {clock}", tzinfo=tz, locale=locale)


def sync_view(appliance) -> dict:
    """The sync's backlog and last round as the console and `GET /api/sync` show them (office time)."""
    from sync.agent import Enrolment, status

    state = status(appliance.store)
    tz = appliance.config.office.tz
    enrolled = Enrolment.load(appliance.settings.data_dir) is not None
    shown = {k: (datetime.fromisoformat(v).astimezone(tz).isoformat(timespec="seconds") if v else None)
             for k, v in state.items() if k.endswith("_at")}
    alerts = []
    last = state["last_success_at"]
    if enrolled and state["pending"] and (last is None or appliance.clock.now() - datetime.fromisoformat(last) > SYNC_STALE):
        alerts.append({"kind": "sync_stale", "message": N_("Sinkronisasi ke cloud tertunda: %(pending)s catatan belum"
                                                            " terkirim") % {"pending": state["pending"]}})
    trouble = sync_trouble(state, appliance.clock.now(), tz, language())
    return state | shown | {"enrolled": enrolled, "alerts": alerts, "trouble": trouble}


def _sla_message(row: dict) -> str:
    visit = row["visit"]
    values = {"number": row["number"], "name": visit["name"], "seconds": max(0, visit["remaining_s"])}
    if visit["sla"] == "breach":
        return N_("%(number)s (%(name)s) melewati batas 5 menit sejak mengisi buku tamu.") % values
    return N_("%(number)s (%(name)s) harus dilayani dalam %(seconds)s detik.") % values


def _counter(request: Request, appliance, value=None) -> int:
    counter = value if value is not None else request.session.get("counter", 1)
    try:
        counter = int(counter)
    except (TypeError, ValueError):
        counter = 0
    if not 1 <= counter <= appliance.config.desk.counters:
        raise ApiError(400, "Loket tidak sah", {"counter": f"loket 1–{appliance.config.desk.counters}"})
    return counter


@post("/api/counters/{counter:int}/call", guards=[staff_only], opt=needs("desk"), status_code=200,
      responses={204: no_content("Nobody is waiting")})
async def api_call_next(request: Request, counter: FromPath[int], appliance: ApplianceDep) -> Response:
    counter = _counter(request, appliance, counter)
    staff = current_user(request)["id"]
    ticket = await anyio.to_thread.run_sync(_call_next, appliance, actor_of(request), counter, staff)
    if ticket is None:
        return Response(None, status_code=204)
    return Response(ticket_json(ticket, appliance.config.office.tz), status_code=200)


@post("/api/tickets/{ticket_id:str}/{action:str}", guards=[staff_only], opt=needs("desk"), status_code=200,
      responses={503: error_body("A reprint the printer cannot make: its fault in `errors`")})
async def api_ticket_action(request: Request, ticket_id: FromPath[str], action: FromPath[str], appliance: ApplianceDep) -> dict:
    ticket = await anyio.to_thread.run_sync(_act, appliance, ticket_id, action, current_user(request)["id"],
                                            actor_of(request))
    return ticket_json(ticket, appliance.config.office.tz, appliance.queue.ahead(ticket))


def _call_next(appliance, actor: Actor, counter: int, staff_id: str):
    with audited(appliance, actor, "visit.update", step="call", counter=counter) as line:
        ticket = appliance.desk.call_next(counter, staff_id)
        line["target"], line["detail"]["number"] = (f"ticket:{ticket.id}", ticket.number) if ticket else ("", None)
        line["skip"] = ticket is None  # nobody waited: nothing changed
    return ticket


def _act(appliance, ticket_id: str, action: str, staff_id: str, actor: Actor):
    """A ticket's step at the desk, with its audit line (a reprint's once the printer has taken it)."""
    if action == "reprint":
        ticket = _reprint(appliance, ticket_id)
        record_alone(appliance, actor, "visit.update", f"ticket:{ticket_id}", step=action, number=ticket.number)
        return ticket
    try:
        with audited(appliance, actor, "visit.update", f"ticket:{ticket_id}", step=action) as line:
            ticket = appliance.desk.act(ticket_id, action, staff_id)
            line["detail"]["number"] = ticket.number
        return ticket
    except DeskError as exc:
        raise ApiError(exc.status, str(exc)) from None


def _reprint(appliance, ticket_id: str):
    ticket = appliance.queue.get(ticket_id)
    if ticket is None:
        raise ApiError(404, N_("Tiket tidak ditemukan"))
    try:
        appliance.spooler.reprint(ticket)
    except PrinterFault as fault:
        detail = N_("Printer tidak dapat mencetak: %(fault)s") % {"fault": fault.kind}
        raise ApiError(503, detail, {"printer": str(fault)}) from None
    return appliance.queue.get(ticket_id)


@get("/api/alerts", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_alerts(appliance: ApplianceDep) -> list[dict]:
    return console_view(appliance)["alerts"]


@get("/api/console", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_console(appliance: ApplianceDep) -> dict:
    return console_view(appliance)


@get("/api/sync", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_sync(appliance: ApplianceDep) -> dict:
    """`{"pending", "last_success_at", "last_error", ...}`: the backlog and the last round of the sync agent."""
    view = sync_view(appliance)
    view.pop("alerts")
    return view


@get("/api/visits", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def api_visits(request: Request, appliance: ApplianceDep) -> list[dict]:
    query = request.query_params.get("q", "").strip()[:100]
    return appliance.visits.of_day(appliance.queue.today().isoformat(), query)


@get("/petugas", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def console_page(request: Request, appliance: ApplianceDep) -> Template:
    return Template("console.html", context={
        "office": appliance.config.office, "user": current_user(request), "view": console_view(appliance),
        "counter": request.session.get("counter", 1), "counters": range(1, appliance.config.desk.counters + 1),
        "busy": _busy(request, appliance),
        "printer_words": PRINTER_WORDS, "status_words": STATUS_WORDS,
    })


@get("/petugas/antrian", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def console_fragment(request: Request, appliance: ApplianceDep) -> Template:
    """The live part of the console, fetched every few seconds by the console's script."""
    return Template("console_queue.html", context={
        "view": console_view(appliance), "status_words": STATUS_WORDS, "printer_words": PRINTER_WORDS,
    })


@post("/petugas/loket", guards=[staff_only], opt=needs("desk"), status_code=303)
async def choose_counter(request: Request, appliance: ApplianceDep, data: URLEncodedBody[dict[str, str]]) -> Redirect:
    request.session["counter"] = _counter(request, appliance, data.get("counter"))
    return Redirect("/petugas", status_code=303)


def _busy(request: Request, appliance):
    try:
        return appliance.desk.busy_at(_counter(request, appliance))
    except ApiError:
        return None


@post("/petugas/panggil", guards=[staff_only], opt=needs("desk"), status_code=303)
async def call_next_form(request: Request, appliance: ApplianceDep, data: URLEncodedBody[dict[str, str]]) -> Redirect:
    counter = _counter(request, appliance)
    busy = await anyio.to_thread.run_sync(appliance.desk.busy_at, counter)
    if busy is not None and data.get("tetap") != busy.id:  # the page did not show this one: ask first
        words = {"counter": counter, "number": busy.number, "status": STATUS_WORDS[busy.status]}
        return _back(request, "error", N_("Belum dipanggil: loket %(counter)s masih menangani nomor %(number)s"
                                          " (%(status)s). Selesaikan dulu, atau tekan Tetap panggil.") % words)
    ticket = await anyio.to_thread.run_sync(_call_next, appliance, actor_of(request), counter, current_user(request)["id"])
    if ticket is None:
        return _back(request, "info", N_("Tidak ada yang menunggu"))
    return _back(request, "success",
                 N_("Nomor %(number)s dipanggil ke loket %(counter)s") % {"number": ticket.number, "counter": counter})


@post("/petugas/tiket", guards=[staff_only], opt=needs("desk"), status_code=303)
async def issue_form(request: Request, appliance: ApplianceDep) -> Redirect:
    ticket = await anyio.to_thread.run_sync(appliance.issue, "staff")
    return _back(request, "success", N_("Nomor %(number)s diterbitkan") % {"number": ticket.number})


@post("/petugas/tiket/{ticket_id:str}/{action:str}", guards=[staff_only], opt=needs("desk"), status_code=303)
async def ticket_action_form(request: Request, ticket_id: FromPath[str], action: FromPath[str], appliance: ApplianceDep) -> Redirect:
    try:
        ticket = await anyio.to_thread.run_sync(_act, appliance, ticket_id, action, current_user(request)["id"],
                                                actor_of(request))
    except ApiError as exc:
        return _back(request, "error", N_("Tidak dapat: %(reason)s") % {"reason": exc.detail})
    return _back(request, "success", DONE_MESSAGES[action] % {"number": ticket.number})


def _back(request: Request, kind: str, message: str) -> Redirect:
    flash(request, kind, message)
    return Redirect("/petugas", status_code=303)


@get("/petugas/kunjungan", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def visits_page(request: Request, appliance: ApplianceDep) -> Template:
    query = request.query_params.get("q", "").strip()[:100]
    return Template("visits.html", context={
        "office": appliance.config.office, "user": current_user(request), "q": query,
        "visits": appliance.visits.of_day(appliance.queue.today().isoformat(), query),
        "tz": appliance.config.office.tz,
        "time_of": lambda v: office_time(datetime.fromisoformat(v), appliance.config.office.tz, language())[-10:],
        **LABELS,
    })


@get("/petugas/kunjungan/{visit_id:str}", guards=[staff_only], opt=needs("desk"), sync_to_thread=True)
def visit_page(request: Request, visit_id: FromPath[str], appliance: ApplianceDep) -> Template:
    visit = appliance.visits.get(visit_id)
    if visit is None:
        raise ApiError(404, "Kunjungan tidak ditemukan")
    tz = appliance.config.office.tz
    return Template("visit.html", context={
        "office": appliance.config.office, "user": current_user(request), "visit": visit,
        "ticket": appliance.queue.get(visit["ticket_id"]), "status_words": STATUS_WORDS,
        "time_of": lambda v: office_time(datetime.fromisoformat(v), tz, language()) if v else "—", **LABELS,
        "locker": appliance.lockers.held_by(visit_id),
        "scan_pages": appliance.scans.pages_for_visit(visit_id), **visit_fetches_context(appliance, visit_id),
        "rated": appliance.ratings.rated(visit_id),
        "rating_token": appliance.visits.token_of(visit_id),  # the visitor's own key to the SKM form
        "softcopy_requests": appliance.softcopy_requests.of_visit(visit_id),
        "softcopy_purposes": SOFTCOPY_PURPOSES, "softcopy_words": SOFTCOPY_WORDS,
    })


routes = [
    api_call_next, api_ticket_action, api_alerts, api_sync, api_console, api_visits, console_page, console_fragment,
    choose_counter, call_next_form, issue_form, ticket_action_form, visits_page, visit_page,
]
