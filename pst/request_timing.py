"""Times every request an app routes, for both apps' `/metrics`: plain ASGI, framework-free. A request is named by
its route template (`/api/tickets/{ticket_id}`, never the path it came with), so no number, token or code becomes a
label value; one that matches no route is "unmatched".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Observe = Callable[[str, str, int, float], None]  # method, route template, status, seconds


def timed(app: Any, observe: Observe) -> Any:
    """`app` wrapped: `observe` hears of every HTTP request once it has been answered (or has failed: 500)."""

    async def middleware(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            route = scope.get("path_template") or "unmatched"
            observe(scope["method"], route, status[0], time.perf_counter() - started)

    return middleware
