"""The appliance's `/metrics` for the operators' Prometheus: the day's figures read from the database at scrape time,
request latency kept in this process. Answered only to loopback and the office LAN. prometheus_client is imported
when `/metrics` is first asked, so an appliance nobody scrapes never loads it.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
from datetime import datetime

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from edge.appliance import Appliance
from pst.reports import SERVICE_STANDARD, wait_seconds
from pst.request_timing import timed

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# loopback, RFC 1918, link-local, and IPv6 loopback, unique-local and link-local
LAN = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10",
))


class Latency:
    """Request durations per (method, route template, status class) in plain Python, for the histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], list[float]] = {}  # bucket counts, then count and sum

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        with self._lock:
            row = self._series.setdefault(labels, [0.0] * (len(BUCKETS) + 2))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[index] += 1
            row[-2] += 1
            row[-1] += seconds

    def snapshot(self) -> list[tuple[tuple[str, str, str], list[float]]]:
        with self._lock:
            return [(labels, list(row)) for labels, row in sorted(self._series.items())]


def timing_middleware(latency: Latency):
    """Times every routed request under its route template (`/api/tickets/{ticket_id}`, never the raw path)."""

    def observe(method: str, route: str, status: int, seconds: float) -> None:
        latency.observe((method, route, f"{status // 100}xx"), seconds)

    return lambda app: timed(app, observe)


def on_the_lan(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])  # a zone id (fe80::1%eth0) is not part of it
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in LAN)


def lan_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The figures are for the office's own monitoring: loopback and private LAN addresses only, else 403."""
    if not on_the_lan(connection.client.host if connection.client else None):
        raise PermissionDeniedException("Hanya dari jaringan kantor")


def figures(appliance: Appliance) -> dict:
    """The day's figures and the sync backlog, from the database as it is now."""
    db, now = appliance.store.read, appliance.clock.now()
    day = appliance.queue.today().isoformat()
    issued = dict(db.execute(
        "SELECT service, count(*) FROM tickets WHERE service_day = ? GROUP BY service", [day]).fetchall())
    print_failed, print_pending = db.execute(
        "SELECT coalesce(sum(print_attempts > (print_status = 'printed')), 0),"
        " (SELECT count(*) FROM tickets WHERE print_status = 'pending') FROM tickets WHERE service_day = ?",
        [day]).fetchone()
    visits = db.execute("SELECT checked_in_at, wait_s FROM visits WHERE service_day = ?", [day]).fetchall()
    breaches = sum(1 for checked_in, wait in visits if (
        wait_seconds(wait) > SERVICE_STANDARD.total_seconds() if wait is not None
        else now - datetime.fromisoformat(checked_in) >= SERVICE_STANDARD))
    backlog, oldest = db.execute("SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL").fetchone()
    last_success = (db.execute("SELECT last_success_at FROM sync_state WHERE id = 1").fetchone() or [None])[0]
    return {
        "issued": {service.code: issued.get(service.code, 0) for service in appliance.config.services},
        "print_failed": print_failed, "print_pending": print_pending,
        "printer_ok": appliance.spooler.state == "ok",
        "visits": len(visits), "breaches": breaches, "backlog": backlog,
        "oldest_age": (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0,
        "last_success": datetime.fromisoformat(last_success).timestamp() if last_success else None,
    }


def families(numbers: dict | None, latency: Latency) -> list:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, value=value)

    found = [gauge("pst_edge_database_readable", "1 when the database answered this scrape", numbers is not None)]
    if numbers is not None:
        issued = GaugeMetricFamily("pst_edge_tickets_issued_today", "Queue tickets issued today", labels=["service"])
        for service, count in numbers["issued"].items():
            issued.add_metric([service], count)
        found += [
            issued,
            gauge("pst_edge_tickets_print_failed_today", "Tickets issued today whose printing failed at least once",
                  numbers["print_failed"]),
            gauge("pst_edge_tickets_print_pending", "Tickets waiting for the printer", numbers["print_pending"]),
            gauge("pst_edge_printer_ok", "1 when the ticket printer is ready", numbers["printer_ok"]),
            gauge("pst_edge_visits_today", "Guestbook entries today", numbers["visits"]),
            gauge("pst_edge_sla_breaches_today",
                  "Visitors today served more than 5 minutes after the guestbook, or still waiting past them",
                  numbers["breaches"]),
            gauge("pst_edge_sync_backlog", "Outbox events not yet sent to the portal", numbers["backlog"]),
            gauge("pst_edge_sync_backlog_oldest_age_seconds", "Age of the oldest unsent outbox event (0: none)",
                  numbers["oldest_age"]),
        ]
        if numbers["last_success"] is not None:
            found.append(gauge("pst_edge_sync_last_success_timestamp_seconds", "When a sync round last succeeded",
                               numbers["last_success"]))
    requests = HistogramMetricFamily("pst_edge_http_request_duration_seconds", "Time to answer a request, per route",
                                     labels=["method", "route", "status"])
    for labels, row in latency.snapshot():
        buckets = [(str(bound), row[index]) for index, bound in enumerate(BUCKETS)] + [("+Inf", row[-2])]
        requests.add_metric(list(labels), buckets, row[-1])
    return [*found, requests]


@get("/metrics", sync_to_thread=True, guards=[lan_only], include_in_schema=False)
def metrics(request: Request, appliance: NamedDependency[Appliance]) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST
    from prometheus_client.exposition import generate_latest

    try:
        numbers = figures(appliance)
    except sqlite3.DatabaseError:  # a damaged store still gets its latency and the flag that says so
        numbers = None
    collected = families(numbers, request.app.state.latency)

    class Scrape:
        def collect(self):
            return collected

    return Response(generate_latest(Scrape()), media_type=CONTENT_TYPE_LATEST)
