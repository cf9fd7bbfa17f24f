"""Rounds of the sync agent against the cloud on both engines: exactly once, whatever is lost or repeated."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import rows_in, run_db
from tests.sync.conftest import START, desk_visit, enrol, make_agent, run


def test_a_round_carries_visits_and_ratings_once(cloud, edge_store, tmp_path):
    enrolment = enrol(cloud, tmp_path / "var-edge")
    ids = [desk_visit(edge_store, START) for _ in range(3)]
    agent, transport = make_agent(edge_store, enrolment, cloud)
    result = run(agent.round())
    assert result.sent == 3 * 4
    visits = run_db(cloud, "SELECT id, office_code, wait_s, ticket_number FROM visits ORDER BY id")
    assert sorted(v["id"] for v in visits) == sorted(ids)
    assert {v["office_code"] for v in visits} == {"7400"}
    assert {v["wait_s"] for v in visits} == {120}
    assert {v["ticket_number"] for v in visits} == {"A001"}
    assert rows_in(cloud, "ratings") == 3
    # a second round is idle: one small request
    transport.log.clear()
    again = run(agent.round())
    assert again.sent == 0 and again.requests == 1
    assert rows_in(cloud, "ratings") == 3
