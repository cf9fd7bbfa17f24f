"""Schemathesis against an app's own OpenAPI document, through Litestar's TestClient: every operation gets generated
requests (valid and invalid), and every answer is checked — no 5xx, and its status, media type, headers and body are
the ones the operation documents.

Bounded (a handful of examples per operation, derandomized) unless PST_SOAK is set; then thousands per operation.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from itertools import chain

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.faults.soak import SOAK, campaign_size

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
TRACE = bool(os.environ.get("PST_FUZZ_TRACE"))  # read at import: tests/conftest.py clears PST_* before each test


def examples_per_operation() -> int:
    """Examples per operation and generation mode (valid, invalid). PST_SOAK unset: a handful (the whole tests/fuzz
    folder within ~90 s); PST_SOAK=1: a thousand of each, where the inputs allow that many; PST_SOAK=N (> 1): N."""
    return campaign_size(full=1000, reduced=3)


@dataclass
class Tally:
    """What one run did: cases sent, answers by status class, and the failures (at most a few per operation)."""

    name: str
    cases: int = 0
    server_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def summary(self) -> str:
        by_class = ", ".join(f"{k}xx: {v}" for k, v in sorted(self.statuses.items()))
        slow = ", ".join(f"{label} {seconds:.1f} s" for seconds, label in sorted(self.slowest, reverse=True)[:3])
        return (f"{self.name}: {self.cases} cases, {self.server_errors} server errors, {len(self.failures)} failures"
                f" ({by_class}) in {self.seconds:.1f} s; slowest: {slow}")


ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def load_document(client) -> dict:
    """The app's own OpenAPI document, as Litestar serves it."""
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200, answer.text
    return answer.json()


def load(client) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(load_document(client))


def _send(client, case, headers: dict[str, str]):
    sent = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"), headers=headers)
    cookies = sent.pop("cookies", None) or {}
    request_headers = dict(sent.get("headers") or {})
    if cookies:  # per-request cookies are deprecated in httpx: sent as the header a browser would send
        request_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = {}
    if "json" in sent:
        body["json"] = sent["json"]
    if "data" in sent:
        data = sent["data"]
        body["content" if isinstance(data, (bytes, str)) else "data"] = data
    if "files" in sent:
        body["files"] = sent["files"]
    return client.request(sent["method"], sent["url"], params=sent.get("params"), headers=request_headers,
                          follow_redirects=False, **body)


def _run_operation(client, operation, mode: GenerationMode, examples: int, headers: dict[str, str],
                   tally: Tally) -> None:
    seen_here: list[str] = []

    @settings(max_examples=examples, deadline=None, derandomize=not SOAK, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate], print_blob=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case) -> None:
        response = _send(client, case, headers)
        tally.cases += 1
        tally.statuses[response.status_code // 100] = tally.statuses.get(response.status_code // 100, 0) + 1
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failed:
            if len(seen_here) < 3:
                seen_here.append(f"{operation.label} [{mode.value}] → {response.status_code}:"
                                 f" {response.text[:300]!r}\n{failed}")

    try:
        exercise()
    except Unsatisfiable:  # every invalid request the schema allows was already tried
        pass
    tally.failures += seen_here


def csrf_header(client) -> dict[str, str]:
    """The CSRF token a page would put in its forms, sent as Litestar's header: without it every HTML form POST
    stops at 403 and its handler is never reached."""
    client.get("/")
    token = next((cookie.value for cookie in client.cookies.jar if "csrf" in cookie.name), None)
    return {"x-csrftoken": token} if token else {}


def negatable(operation) -> bool:
    """Whether invalid requests can be made for the operation at all: a body, a typed or constrained parameter, a
    required one that can be left out. Without one, Hypothesis spends seconds per operation failing to find any."""
    if len(operation.body):
        return True
    for parameter in chain(operation.path_parameters, operation.query, operation.headers, operation.cookies):
        schema = parameter.definition.get("schema", {})
        if set(schema) - {"type"} or schema.get("type") != "string":
            return True
        if parameter.is_required and parameter.location.value != "path":
            return True
    return False


def fuzz(client, schema, name: str, *, headers: dict[str, str] | None = None, only: str | None = None,
         skip: tuple[str, ...] = ()) -> Tally:
    """Every operation of the schema (those whose path starts with `only`, minus the labels in `skip`), in both
    generation modes; a caller asserts on the returned tally."""
    tally, started, examples = Tally(name), time.perf_counter(), examples_per_operation()
    headers = {**csrf_header(client), **(headers or {})}
    for result in schema.get_all_operations():
        operation = result.ok()
        if (only and not operation.path.startswith(only)) or operation.label in skip:
            continue
        begun = time.perf_counter()
        if TRACE:
            print(f"[fuzz] {operation.label} …", flush=True)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[:2 if negatable(operation) else 1]:
            _run_operation(client, operation, mode, examples, headers, tally)
        tally.slowest.append((time.perf_counter() - begun, operation.label))
        if TRACE:
            print(f"[fuzz] {operation.label}: {time.perf_counter() - begun:.2f} s", flush=True)
    tally.seconds = time.perf_counter() - started
    if SOAK:
        print(f"\n[fuzz] {tally.summary()}")
    return tally


def report(tally: Tally) -> str:
    return tally.summary() + "\n\n" + "\n\n".join(tally.failures[:40])
