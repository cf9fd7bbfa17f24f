"""How `pst edge serve` and `pst cloud serve` run uvicorn: its h11 protocol, with the read timeouts uvicorn lacks.

uvicorn waits for a request's headers and body for as long as a client cares to send them: a client that opens a
connection and sends nothing, or trickles a byte every few seconds, holds a connection and its memory for ever, and a
few hundred of them fill an appliance's memory or use up its file descriptors. Here a connection delivers a request's
headers within `read_timeout` seconds of being opened (or of the previous answer), and a body keeps arriving with no
gap longer than that; otherwise the connection is closed. Slow but steady uploads are unaffected.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

READ_TIMEOUT = 20.0  # seconds; what a browser on a poor mobile link still meets with room to spare


def read_timeout_from(env: Mapping[str, str], name: str, error: type[Exception] = ValueError) -> float:
    """The read timeout a setting names: seconds between 1 and 600 (default READ_TIMEOUT); `error` otherwise."""
    text = (env.get(name) or "").strip()
    if not text:
        return READ_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 600:
        raise error(f"{name}: seconds between 1 and 600, got {text!r}")
    return seconds


def protocol(read_timeout: float):
    """What to give uvicorn as `http=`: the timed protocol with this timeout (picklable, for `--workers`)."""
    from pst.timed_h11 import TimedH11Protocol

    return functools.partial(TimedH11Protocol, read_timeout=read_timeout)
