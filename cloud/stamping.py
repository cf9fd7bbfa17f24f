"""Watermarked copies are stamped in worker processes of their own, never in the process that serves the pages.

pymupdf keeps Python's interpreter lock while it stamps and saves, so a copy stamped in a thread stalls every other
request of its worker for as long as it takes: measured here, a 20-page copy (17 ms) held the event loop for 24 ms at
a time, and under 100 readers (bench/portal_load.py) a download made the searches beside it wait. In a process of
its own the stamping runs on another core and the worker keeps answering. A worker stamps at most `STAMPERS` copies
at once; more downloads wait their turn in the pool's queue.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from cloud.catalogue import CatalogueError
from pst.i18n import N_

STAMPERS = 2  # processes per portal worker

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


async def stamped(source: Path, lines: list[str]) -> Path:
    """`cloud.reading.stamp_copy(source, lines)` in a stamping process: the copy's temporary file. 503 when the
    process died under it (the next copy gets new processes)."""
    from cloud.reading import stamp_copy

    pool = _stampers()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, stamp_copy, source, lines)
    except BrokenProcessPool:
        _discard(pool)
        raise CatalogueError(503, N_("Salinan digital sedang tidak dapat dibuat; coba lagi sebentar lagi")) from None


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
