"""uvicorn's h11 protocol with a deadline for a request's headers and for every gap in its body (see pst.serving)."""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from pst.serving import READ_TIMEOUT

log = logging.getLogger("pst.serving")


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers and for every gap in its body."""

    def __init__(self, *args, read_timeout: float = READ_TIMEOUT, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting: str | None = None  # "request" (its headers), "body", or nothing

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Arms, keeps or stops the deadline for what the connection now waits for from the client."""
        if self.transport.is_closing():
            self._stop()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._awaiting != "request":  # a new request: its headers are due from now; bytes don't extend it
                self._arm("request")
        elif state is h11.SEND_BODY:
            self._arm("body")  # every piece of the body gives the next one a full timeout
        else:
            self._stop()

    def _arm(self, awaiting: str) -> None:
        self._stop()
        self._awaiting = awaiting
        self._timer = self.loop.call_later(self.read_timeout, self._expired)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._awaiting = None, None

    def _expired(self) -> None:
        awaiting, self._timer = self._awaiting, None
        if self.transport.is_closing():
            return
        if awaiting == "body" and self.flow.read_paused:  # the app is behind, not the client
            self._arm("body")
            return
        if awaiting == "request" and self.cycle is not None and not self.cycle.response_complete:
            return  # still answering the previous request: its answer re-arms the deadline
        log.info("closed a connection whose client sent no %s within %g s",
                 "complete request" if awaiting == "request" else "more of its request body", self.read_timeout)
        self._awaiting = None
        self.transport.close()
