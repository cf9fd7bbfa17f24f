"""Guestbook submit latency: `POST /api/visits` with a valid body and a distinct e-mail each time, one visitor after
another, on the appliance as `pst edge serve` runs it (real uvicorn, its own process, simulated hardware, loopback).

Baseline, measured in the same run on the same server: `POST /api/tickets`, the cheapest durable write the appliance
makes (one SQLite commit with its outbox event, then the hand-off to the printer). The two alternate — a ticket, then
the guestbook for that ticket's number — so both see the same database and the same printing in the background, and
the ratio shows what the guestbook adds: validation, the ticket lookup, the repeat-visitor check and the visit with its
outbox event. With --walk-in the guestbook carries no number, and the appliance issues one inside the submit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import httpx

from bench.harness import appliance_server, percentile, summary

OCCUPATIONS = ("pelajar", "peneliti", "asn", "swasta", "wiraswasta")


def visit_body(i: int, ticket_number: str | None) -> dict:
    body = {
        "name": f"Pengunjung Uji {i}",
        "gender": "LP"[i % 2],
        "email": f"pengunjung.{i}@contoh.go.id",
        "occupation": OCCUPATIONS[i % len(OCCUPATIONS)],
        "institution": "Universitas Halu Oleo",
        "purposes": ["baca_tercetak"] if i % 3 else ["pustaka_digital", "softcopy"],
        "id_type": "KTP",
        "age": 20 + i % 40,
    }
    if ticket_number is not None:
        body["ticket_number"] = ticket_number
    return body


def timed_post(client: httpx.Client, path: str, body: dict, expected: int = 201) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.post(path, json=body)
    elapsed_ms = (time.perf_counter() - start) * 1000
    if response.status_code != expected:
        raise SystemExit(f"POST {path}: {response.status_code} {response.text}")
    return elapsed_ms, response.json()


def measure(base: str, submits: int, warmup: int, walk_in: bool) -> tuple[list[float], list[float]]:
    guestbook_ms, ticket_ms = [], []
    with httpx.Client(base_url=base, timeout=10) as client:
        for i in range(warmup + submits):
            ticket_time, ticket = timed_post(client, "/api/tickets", {})
            number = None if walk_in else ticket["number"]
            visit_time, visit = timed_post(client, "/api/visits", visit_body(i, number))
            if not walk_in and visit["ticket_number"] != number:
                raise SystemExit(f"visit for {number} was given {visit['ticket_number']}")
            if i >= warmup:
                ticket_ms.append(ticket_time)
                guestbook_ms.append(visit_time)
    return guestbook_ms, ticket_ms


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:36s} n={len(samples)}  p50={percentile(samples, 50):6.2f} ms  "
        f"p95={percentile(samples, 95):6.2f} ms  max={max(samples):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submits", type=int, default=500, help="timed guestbook submits (and as many tickets)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed pairs first")
    parser.add_argument("--walk-in", action="store_true", help="guestbook without a ticket number")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, appliance_server(tmp) as base:
        guestbook_ms, ticket_ms = measure(base, args.submits, args.warmup, args.walk_in)
    kind = "walk-in, no number" if args.walk_in else "with ticket number"
    report(f"POST /api/visits ({kind})", guestbook_ms)
    report("baseline: POST /api/tickets", ticket_ms)
    print(
        f"ratio guestbook/baseline: p50 {statistics.median(guestbook_ms) / statistics.median(ticket_ms):.2f}x  "
        f"p95 {percentile(guestbook_ms, 95) / percentile(ticket_ms, 95):.2f}x"
    )
    summary(f"POST /api/visits ({kind}) p95", percentile(guestbook_ms, 95), "ms", percentile(ticket_ms, 95),
            "POST /api/tickets p95")


if __name__ == "__main__":
    main()
