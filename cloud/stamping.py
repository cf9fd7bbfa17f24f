"""Watermarked copies are stamped in worker processes of their own, never in the process that serves the pages.

pymupdf keeps Python's interpreter lock while it stamps and saves, so a copy stamped in a thread stalls every other
request of its worker for as long as it takes: measured here, a 20-page copy (17 ms) held the event loop for 24 ms at
a time, and under 100 readers (bench/portal_load.py) a download made the searches beside it wait. In a process of
its own the stamping runs on another core and the worker keeps answering. A worker stamps at most `STAMPERS` copies
at once; more downloads wait their turn in the pool's queue.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import tempfile
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cloud.catalogue import CatalogueError
from pst.i18n import N_

STAMPERS = 2  # processes per portal worker

log = logging.getLogger("cloud.stamping")

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class Job:
    """One copy being stamped in a stamping process. `stop()` ends it early: a job still queued never starts (or,
    the one the pool has already handed to its processes' queue, stops before its first page), a running one sees
    the file `stop_when` appear within 64 pages (pst.pdfstamp.STOP_EVERY) and gives up."""

    def __init__(self, pool: ProcessPoolExecutor, source: Path, lines: list[str]):
        from cloud.reading import stamp_copy

        self.stop_when = Path(tempfile.gettempdir()) / f"pst-stamping-stop-{uuid.uuid4().hex}"
        self.future = pool.submit(stamp_copy, source, lines, self.stop_when)
        self.future.add_done_callback(lambda _: self.stop_when.unlink(missing_ok=True))

    def stop(self) -> None:
        self.future.add_done_callback(_remove_copy)  # a copy that got finished all the same is nobody's
        if not self.future.cancel() and not self.future.done():
            self.stop_when.touch()
            if self.future.done():  # it ended between the two looks: its callback has run already
                self.stop_when.unlink(missing_ok=True)


def _remove_copy(future) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().unlink(missing_ok=True)


async def stamped(source: Path, lines: list[str]) -> Path:
    """`cloud.reading.stamp_copy(source, lines)` in a stamping process: the copy's temporary file. 503 when the
    process died under it (the next copy gets new processes). Cancelled (the reader left, the server stops), it
    stops the stamping process's work too."""
    pool = _stampers()
    try:
        job = Job(pool, source, lines)  # a pool that lost a process refuses at once
    except BrokenProcessPool:
        raise _unavailable(pool) from None
    copy = asyncio.wrap_future(job.future)
    try:
        return await asyncio.shield(copy)
    except asyncio.CancelledError:
        copy.add_done_callback(lambda done: done.cancelled() or done.exception())  # its Stopped is expected
        job.stop()
        log.info("stopped stamping a copy nobody waits for any more")
        raise
    except BrokenProcessPool:
        raise _unavailable(pool) from None


def _unavailable(pool: ProcessPoolExecutor) -> CatalogueError:
    _discard(pool)
    return CatalogueError(503, N_("Salinan digital sedang tidak dapat dibuat; coba lagi sebentar lagi"))


def _stampers() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # forkserver: a clean process to start from, not a copy of a worker with its threads and event loop
            _pool = ProcessPoolExecutor(STAMPERS, mp_context=multiprocessing.get_context("forkserver"))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def processes() -> list[int]:
    """The process ids of this worker's stamping processes (none before its first copy)."""
    with _lock:
        pool = _pool
    return list(pool._processes or ()) if pool is not None else []


def close() -> None:
    """Stops the stamping processes (the portal's shutdown); a later copy starts new ones."""
    with _lock:
        pool = _pool
    if pool is not None:
        _discard(pool)
