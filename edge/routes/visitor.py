"""The visitor's own ticket page, opened by the random token made when the guestbook was filled (never by the queue
number, which anyone can count): her number, how many are ahead, the time left of the 5-minute promise, the counter
the moment she is called (server-sent events; a plain refresh without JavaScript), then her scans, the rating and
complaint tracking. It shows nothing of any other visitor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import datetime

import anyio
from litestar import get
from litestar.params import FromPath
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from edge.errors import ApiError
from edge.i18n import N_, language
from edge.routes import ApplianceDep
from edge.routes.display import CHANNEL, Channels
from edge.sla import seconds_left
from edge.slip import office_time
from edge.tickets import local_iso
from pst.openapi import content

# Calls come over the board's channel at once; serving, finishing and a skip are not announced, so the stream also
# looks at the ticket every few seconds.
CHECK_S = 5
PING_S = 15
REFRESH_S = 10  # the page without JavaScript
NO_STORE = {"Cache-Control": "no-store"}
UNKNOWN = N_("Halaman antrian tidak ditemukan")


def _visit_or_404(appliance, token: str) -> dict:
    visit = appliance.visits.by_token(token)
    if visit is None:
        raise ApiError(404, UNKNOWN)
    return visit


def visitor_state(appliance, visit: dict) -> dict:
    """What the page shows, as JSON: only this visitor's ticket."""
    ticket = appliance.queue.get(visit["ticket_id"])
    waiting = ticket.status in ("waiting", "called") and visit["service_started_at"] is None
    now = appliance.clock.now()
    return {
        "number": ticket.number,
        "status": ticket.status,
        "ahead": appliance.queue.ahead(ticket) if ticket.status == "waiting" else 0,
        "counter": ticket.counter,
        "call_count": ticket.call_count,
        "serve_by": local_iso(visit["serve_by"], appliance.config.office.tz),
        "seconds_left": seconds_left(datetime.fromisoformat(visit["serve_by"]), now) if waiting else None,
        "downloads": len(_downloads(appliance, visit, now)),
    }


def _downloads(appliance, visit: dict, now: datetime) -> list[dict]:
    tz = appliance.config.office.tz
    return [
        {"code": job.download_code, "code_text": f"{job.download_code[:4]}-{job.download_code[4:]}",
         "pages": job.pages, "until": office_time(datetime.fromisoformat(job.code_expires_at), tz, language())}
        for job in appliance.scans.of_visit(visit["id"]) if job.download_code and not job.expired(now)
    ]


def status_context(appliance, visit: dict, token: str) -> dict:
    state = visitor_state(appliance, visit)
    rated = state["status"] == "done" and appliance.ratings.rated(visit["id"])
    return {
        "office": appliance.config.office, "token": token, "state": state,
        "serve_by_text": office_time(datetime.fromisoformat(visit["serve_by"]), appliance.config.office.tz,
                                     language())[-10:],
        "downloads": _downloads(appliance, visit, appliance.clock.now()),
        "rating_url": f"/penilaian/{token}" if state["status"] == "done" and not rated else None,
        "rated": rated,
        "refresh": REFRESH_S if state["status"] in ("waiting", "called", "serving") else None,
    }


@get("/kunjungan/{token:str}", sync_to_thread=True)
def visitor_page(token: FromPath[str], appliance: ApplianceDep) -> Template:
    visit = _visit_or_404(appliance, token)
    return Template("visitor_ticket.html", context=status_context(appliance, visit, token), headers=NO_STORE)


@get("/kunjungan/{token:str}/status", sync_to_thread=True)
def visitor_status(token: FromPath[str], appliance: ApplianceDep) -> Template:
    """The page's live part alone, for its script to put in place after each change."""
    visit = _visit_or_404(appliance, token)
    return Template("visitor_status.html", context=status_context(appliance, visit, token), headers=NO_STORE)


@get("/api/visitor/{token:str}", sync_to_thread=True)
def visitor_json(token: FromPath[str], appliance: ApplianceDep) -> dict:
    return visitor_state(appliance, _visit_or_404(appliance, token))


@get("/api/visitor/{token:str}/events",
     responses={200: content("text/event-stream", "`state` on connect and on every change")})
async def visitor_events(token: FromPath[str], appliance: ApplianceDep, channels: Channels) -> ServerSentEvent:
    """`state` on connect and whenever this visitor's ticket changes; a comment every 15 s keeps proxies open.
    The board's calls wake the stream; no other visitor's call leaves it."""
    visit = await anyio.to_thread.run_sync(_visit_or_404, appliance, token)

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        async with channels.start_subscription([CHANNEL]) as subscriber, subscriber.run_in_background(inbox.put):
            last, quiet = None, 0.0
            while True:
                state = await anyio.to_thread.run_sync(visitor_state, appliance, visit)
                key = {k: v for k, v in state.items() if k != "seconds_left"}  # the clock alone is no change
                if key != last:
                    last, quiet = key, 0.0
                    yield ServerSentEventMessage(data=json.dumps(state), event="state")
                elif quiet >= PING_S:
                    quiet = 0.0
                    yield ServerSentEventMessage(comment="ping")
                try:  # a call is announced after its commit (EdgeStore.after_commit): what wakes us is there
                    await asyncio.wait_for(inbox.get(), CHECK_S)
                except asyncio.TimeoutError:
                    quiet += CHECK_S

    return ServerSentEvent(stream(), retry_duration=2000, headers=NO_STORE)


routes = [visitor_page, visitor_status, visitor_json, visitor_events]
