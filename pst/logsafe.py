"""What the servers' logs may say about a request: uvicorn's access line names the path and query string, and
links carry secrets there (a verification or reset token in `?token=`, a scan's download code in `/d/<code>`, an
e-mail typed into a search). The filter keeps the method, the route, the query's keys and the status, and masks
the values; `uvicorn_log_config()` puts it on the access log of `pst edge serve` and `pst cloud serve`.
"""

from __future__ import annotations

import copy
import logging
import re
from urllib.parse import parse_qsl

MASK = "***"
# path segments that are secrets themselves: /d/<download code>, and any segment holding an e-mail address
SECRET_SEGMENT = re.compile(r"(?<=^/d/)[^/?]+|[^/?]*@[^/?]*")


def redact_path(path: str) -> str:
    """/akun/verifikasi?token=abc → /akun/verifikasi?token=***; /d/K7Q2-99 → /d/***."""
    route, _, query = path.partition("?")
    route = SECRET_SEGMENT.sub(MASK, route)
    if not query:
        return route
    keys = [key for key, _ in parse_qsl(query, keep_blank_values=True)] or [MASK]
    return route + "?" + "&".join(f"{key[:40]}={MASK}" for key in keys[:20])


class AccessRedaction(logging.Filter):
    """On uvicorn's access logger: its record's args are (client, method, full path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging configuration with the redaction on its access handler (a dict, so the worker
    processes of `--workers` configure it the same way)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "pst.logsafe.AccessRedaction"}
    config["handlers"]["access"].setdefault("filters", []).append("redact")
    return config
