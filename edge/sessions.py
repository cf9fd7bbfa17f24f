"""Staff sessions on the appliance, kept server-side in the data folder (the cookie holds only an id).

A session is stored only for a browser that has something to keep (a sign-in, a message for its next page), always
under an id the appliance made, and a new one at every sign-in: Litestar's own server-side sessions wrote a file for
every request that came without a cookie (3,000 `GET /api/queue`: 3,000 files on the SD card) and kept whatever id
a browser sent, so an id planted before a sign-in became the staff session. Expired sessions are deleted every hour
(`purge`); the store itself only drops one when it is asked for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

log = logging.getLogger(__name__)
STATE = "pst.session"  # in the request's scope: the stored session's id, and whether to give it a new one
PURGE_EVERY_S = 3600


class Sessions(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        state = connection.scope.setdefault(STATE, {})  # type: ignore[typeddict-item]
        session_id = connection.cookies.get(self.config.key)
        if session_id and session_id != "null":
            data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
            if data is not None:
                state["stored"] = session_id
                return self.deserialize_data(data)
        return {}

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection) -> None:
        state = connection.scope.get(STATE) or {}  # type: ignore[call-overload]
        stored, store = state.get("stored"), self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        sent = connection.cookies.get(self.config.key)
        if scope_session is Empty or not scope_session:  # nothing to keep: nothing stored, any cookie cleared
            if stored:
                await self.delete(stored, store=store)
            if sent and sent != "null":
                headers.add("Set-Cookie", Cookie(value="null", key=self.config.key, expires=0, **cookie).to_header(
                    header=""))
            return
        session_id = stored if stored and not state.get("renew") else self.generate_session_id()
        if stored and session_id != stored:
            await self.delete(stored, store=store)
        await self.set(session_id=session_id, data=self.serialize_data(scope_session, connection.scope), store=store)
        headers.add("Set-Cookie", Cookie(value=session_id, key=self.config.key, **cookie).to_header(header=""))


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = Sessions


def renew(connection: ASGIConnection) -> None:
    """The session gets a new id when the answer goes out (a sign-in): the one the browser had is dropped."""
    connection.scope.setdefault(STATE, {})["renew"] = True  # type: ignore[typeddict-item]


async def purge(store: Store, stop: asyncio.Event, every: float = PURGE_EVERY_S) -> None:
    """Deletes expired sessions now and every `every` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            await store.delete_expired()
        except OSError:  # a full or read-only card: the store's state says so elsewhere; try again later
            log.warning("expired sessions could not be deleted", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
