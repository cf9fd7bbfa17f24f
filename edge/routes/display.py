"""The TV display board: the number called and its counter, the last calls, how many wait; live over SSE, with a
chime and a spoken call generated on the appliance.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator

import anyio
from litestar import Request, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.response import File, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from edge.errors import ApiError
from edge.i18n import SOURCE
from edge.routes import ApplianceDep
from pst.openapi import content

CHANNEL = "display"
PING_S = 15
Channels = NamedDependency[ChannelsPlugin]
EVENTS = content("text/event-stream", "`board` on connect, then `call` for each call and recall")
WAV = content("audio/wav", "The sound, played inline")


# The board speaks to the whole waiting room, as the spoken calls do: in the office's language, whatever the
# language of the browser it is opened in.
@get("/layar", sync_to_thread=True, opt={"language": SOURCE})
def display_page(appliance: ApplianceDep) -> Template:
    return Template("display.html", context={
        "office": appliance.config.office, "board": appliance.board(), "voice": appliance.voice.available,
    })


@get("/api/display", sync_to_thread=True)
def display_state(appliance: ApplianceDep) -> dict:
    return appliance.board()


@get("/api/display/events", responses={200: EVENTS})
async def display_events(appliance: ApplianceDep, channels: Channels) -> ServerSentEvent:
    """`board` once on connect, then `call` for every call and recall; a comment every 15 s keeps proxies open."""

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        async with channels.start_subscription([CHANNEL]) as subscriber, subscriber.run_in_background(inbox.put):
            board = await anyio.to_thread.run_sync(appliance.board)
            yield ServerSentEventMessage(data=json.dumps(board), event="board")
            while True:
                try:
                    message = await asyncio.wait_for(inbox.get(), PING_S)
                except asyncio.TimeoutError:
                    yield ServerSentEventMessage(comment="ping")
                    continue
                event = json.loads(message)
                yield ServerSentEventMessage(data=json.dumps(event), event=event.get("type", "call"))

    return ServerSentEvent(stream(), retry_duration=2000)


@get("/api/voice", sync_to_thread=True, responses={200: WAV})
def voice_call(request: Request, appliance: ApplianceDep) -> File:
    """Chime and spoken call as WAV (the chime alone where no voice is installed); cached per phrase."""
    number = request.query_params.get("number", "")
    counter_text = request.query_params.get("counter", "")
    counter = int(counter_text) if counter_text.isdigit() else 0
    if not (1 <= len(number) <= 8 and number.isascii() and number.isalnum()) or not 1 <= counter <= 99:
        raise ApiError(400, "Nomor atau loket tidak sah", {"number": "huruf/angka, maks. 8", "counter": "1–99"})
    path = appliance.voice.call_audio(number.upper(), counter)
    return File(path, media_type="audio/wav", content_disposition_type="inline")


@get("/api/voice/chime", sync_to_thread=True, responses={200: WAV})
def voice_chime(appliance: ApplianceDep) -> File:
    return File(appliance.voice.chime_path(), media_type="audio/wav", content_disposition_type="inline")


routes = [display_page, display_state, display_events, voice_call, voice_chime]
