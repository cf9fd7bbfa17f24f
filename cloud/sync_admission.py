"""Admission of the appliances' sync requests (sync/PROTOCOL.md, "Back-pressure"): a few at once, a queue for the
next ones, and for a request turned away the moment its turn will come, from the queue it would join and the time a
request has been taking. Plain asyncio: the route keeps one per worker, sized to the worker's database pool."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

FIRST_GUESS = 0.05  # seconds a request takes, until one has been measured
WEIGHT = 0.2  # of the newest request in the moving mean: the mean follows a change within a dozen requests
MAX_WAIT = 1.0  # seconds a batch may wait in the queue for its turn instead of being turned away
QUEUE_PER_SLOT = 8  # and at most this many batches waiting per slot (each holds its request's body meanwhile)
ROUND_WAIT = 15.0  # seconds a round's state request may wait (half the agent's timeout); it holds no body
LONGEST = 300.0  # the longest wait ever asked for (the agent waits no longer either)
READERS = 4  # connections of a worker's pool left to everything but the sync: readers' pages, /healthz


class Busy(Exception):
    """Turned away: come back after `retry_after` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"busy: come back in {retry_after:.2f} s")
        self.retry_after = retry_after


class Admission:
    """At most `slots` requests served at once; the next ones wait their turn in order while the wait stays short
    (`max_wait`, and `queue_per_slot` when given); beyond that, `Busy` says when to come back.

    Those turned away are told to come back one after another, as fast as the slots have been finishing requests
    (the moving mean of a request's time over the slots), each a little before its turn so that it finds a short
    queue rather than an idle slot: a fleet refused together comes back spread over the time its backlog takes,
    neither all at once nor later than needed."""

    def __init__(self, slots: int, max_wait: float = MAX_WAIT, queue_per_slot: int | None = QUEUE_PER_SLOT,
                 first_guess: float = FIRST_GUESS, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[float], float] | None = None):
        if slots < 1:
            raise ValueError("at least one slot")
        self.slots, self.max_wait = slots, max_wait
        self.max_queue = slots * queue_per_slot if queue_per_slot is not None else None
        self.mean = first_guess  # seconds a request takes from its slot to its answer, moving mean
        self.clock = clock
        self.jitter = jitter or (lambda spread: random.uniform(0, spread))
        self.in_flight = 0
        self._queue: deque[asyncio.Future] = deque()
        self._promised = 0.0  # the clock's time up to which the batches turned away have been given turns

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def spacing(self) -> float:
        """Seconds between two requests finishing while every slot is busy."""
        return self.mean / self.slots

    def wait_for_turn(self) -> float:
        """How long a request arriving now would wait for a slot."""
        if self.in_flight < self.slots and not self._queue:
            return 0.0
        return (len(self._queue) + 1) * self.spacing

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot for one request, waited for in order; raises Busy when the wait would be too long."""
        await self._enter()
        started = self.clock()
        try:
            yield
        finally:
            self.mean += WEIGHT * (self.clock() - started - self.mean)
            self._leave()

    async def _enter(self) -> None:
        if self.in_flight < self.slots and not self._queue:
            self.in_flight += 1
            return
        if self.wait_for_turn() > self.max_wait or self.max_queue is not None and len(self._queue) >= self.max_queue:
            raise Busy(self._turn())
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn  # the request leaving hands its slot over: `in_flight` stays as it was
        except asyncio.CancelledError:
            if not turn.cancelled():  # handed a slot in the same moment as it was cancelled: pass it on
                self._leave()
            elif turn in self._queue:  # (a request leaving may have dropped it already)
                self._queue.remove(turn)
            raise

    def _leave(self) -> None:
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.in_flight -= 1

    def _turn(self) -> float:
        """Seconds until the turn of a request turned away now: after the queue and after every request turned away
        before it, less half the queue's length so that it arrives while a few still wait."""
        now, spacing = self.clock(), self.spacing
        turn = max(self._promised, now + (len(self._queue) + 1) * spacing)
        self._promised = turn + spacing
        queue = self.max_wait if self.max_queue is None else min(self.max_wait, self.max_queue * spacing)
        early = queue / 2
        return min(max(turn - now - early, spacing) + self.jitter(spacing), LONGEST)


@dataclass
class SyncAdmission:
    """A worker's two gates: the rounds' state requests (each writes the appliance's health and reads the downlink)
    and the uplink batches. Both hold a connection of the pool while served; together they leave READERS of it to
    the portal's readers, whatever the fleet does."""

    rounds: Admission
    batches: Admission

    @classmethod
    def sized(cls, kind: str, pool_size: int) -> SyncAdmission:
        """On PostgreSQL a fifth of the pool for the rounds and the rest less READERS for the batches (of ten: two
        and four; on two cores bench/sync_fleet.py drained no faster with three and five, and /healthz waited
        longer); on SQLite, whose writers take turns, two of each: one writing, one getting ready."""
        if kind != "postgresql":
            return cls(Admission(2, ROUND_WAIT, None), Admission(2))
        rounds = max(1, pool_size // 5)
        return cls(Admission(rounds, ROUND_WAIT, None), Admission(max(1, pool_size - rounds - READERS)))
