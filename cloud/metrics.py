"""The portal's `/metrics` for the operators' Prometheus, behind a bearer token (PST_CLOUD_METRICS_TOKEN).

Requests, latency, 429s and sync batches are counted in each worker; with several workers they share one directory
through prometheus_client's multiprocess mode, so a scrape answered by any worker sums them all. What the database
knows (records applied, dead letters, sessions, the fleet) is read from it at scrape time, true across hosts too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from datetime import timedelta
from pathlib import Path

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.types import ASGIApp

from cloud.db import Database
from pst.request_timing import timed
from sync.protocol import PREFIX

SHARED_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name; read when it is first imported
SILENT_AFTER = timedelta(minutes=15)
BATCHES = f"{PREFIX}/events"


def share_between_workers(data_dir: Path) -> None:
    """For `uvicorn --workers N`: every worker of one server counts into $PST_DATA_DIR/metrics/<server pid>, unless
    the operator named a directory; the folders of servers no longer running are removed. Call before the first
    import of prometheus_client in the process."""
    if os.environ.get(SHARED_DIR):
        return
    root = data_dir / "metrics"
    for old in root.glob("*") if root.is_dir() else ():
        if old.name.isdigit() and not _running(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    shared = root / str(os.getppid())  # the server process that started the workers
    shared.mkdir(parents=True, exist_ok=True)
    os.environ[SHARED_DIR] = str(shared)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Recorder:
    """The counters kept in the workers, and the middleware that feeds them."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("pst_cloud_http_requests", "Requests answered, per route and status class",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("pst_cloud_http_request_duration_seconds", "Time to answer a request, per route",
                                 ["method", "route"], registry=self.registry)
        self.throttled = Counter("pst_cloud_http_throttled", "Requests answered 429 (too many or too busy)",
                                 ["route"], registry=self.registry)
        self.batches = Counter("pst_cloud_sync_batches", "Uplink batches by outcome: applied, busy (429), refused",
                               ["outcome"], registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, f"{status // 100}xx").inc()
        self.latency.labels(method, route).observe(seconds)
        if status == 429:
            self.throttled.labels(route).inc()
        if route == BATCHES and method == "POST":
            self.batches.labels("applied" if status < 300 else "busy" if status == 429 else "refused").inc()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Counts every routed request under its route template (`/api/requests/{request_id}`, never the path)."""
        return timed(app, self.observe)

    def counted(self):
        """What the workers counted: all of them in multiprocess mode, else this process's own."""
        if not os.environ.get(SHARED_DIR):
            return self.registry.collect()
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        return MultiProcessCollector(CollectorRegistry(), path=os.environ[SHARED_DIR]).collect()


async def figures(db: Database, now) -> dict:
    """What the database knows now: sync records applied and refused, live sessions, the fleet's devices."""

    async def one(sql: str, *args) -> int:
        return int((await db.execute(sql, *args))[0]["n"] or 0)

    return {
        "received": await one("SELECT count(*) AS n FROM sync_events"),
        "dead": await one("SELECT count(*) AS n FROM sync_dead_letters"),
        "sessions": await one("SELECT count(*) AS n FROM sessions WHERE expires_at > {}", now),
        "revoked": await one("SELECT count(*) AS n FROM devices WHERE revoked_at IS NOT NULL"),
        "enrolled": await one("SELECT count(*) AS n FROM devices WHERE revoked_at IS NULL AND key_hash IS NOT NULL"),
        "waiting": await one("SELECT count(*) AS n FROM devices WHERE revoked_at IS NULL AND key_hash IS NULL"),
        "silent": await one(
            "SELECT count(*) AS n FROM devices WHERE revoked_at IS NULL AND key_hash IS NOT NULL"
            " AND (last_seen_at IS NULL OR last_seen_at < {})", now - SILENT_AFTER),
    }


def families(numbers: dict) -> list:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    devices = GaugeMetricFamily("pst_cloud_devices", "Appliances by state: enrolled, waiting (enrolment code given,"
                                " not used yet), revoked", labels=["state"])
    for state in ("enrolled", "waiting", "revoked"):
        devices.add_metric([state], numbers[state])
    return [
        # every event received is remembered once in sync_events, a refused one also in sync_dead_letters
        CounterMetricFamily("pst_cloud_sync_records_applied", "Appliance events applied (received, less refused)",
                            value=numbers["received"] - numbers["dead"]),
        GaugeMetricFamily("pst_cloud_sync_dead_letters", "Appliance events refused and kept for a person to look at",
                          value=numbers["dead"]),
        GaugeMetricFamily("pst_cloud_sessions_active", "Signed-in browser sessions not yet expired",
                          value=numbers["sessions"]),
        devices,
        GaugeMetricFamily("pst_cloud_devices_silent", "Enrolled appliances not heard from for more than 15 minutes",
                          value=numbers["silent"]),
    ]


def bearer_matches(header: str | None, token: str) -> bool:
    """Compared as digests in constant time, so neither the token's length nor its prefix shows in the timing."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.strip().encode()).digest(), digest(token.encode()).digest())


def routes(token: str | None) -> list:
    """`GET /metrics` when a token is set; without one there is no such route (404), so nothing about the portal's
    internals is given out by default and a scanner cannot tell a metrics endpoint is there."""
    if not token:
        return []

    @get("/metrics", include_in_schema=False)
    async def metrics(request: Request, db: NamedDependency[Database]) -> Response:
        if not bearer_matches(request.headers.get("authorization"), token):
            return Response({"detail": "Token metrik tidak sah", "errors": {}}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        from prometheus_client import CONTENT_TYPE_LATEST
        from prometheus_client.exposition import generate_latest

        counted = list(request.app.state.recorder.counted())
        collected = [*families(await figures(db, request.app.state.clock.now())), *counted]

        class Scrape:
            def collect(self):
                return collected

        return Response(generate_latest(Scrape()), media_type=CONTENT_TYPE_LATEST)

    return [metrics]
