"""The portal's /metrics: what was done through the real app, read back through a Prometheus text parser; only
with the bearer token from the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cloud.devices import Devices
from edge import outbox
from tests.cloud.conftest import add_reader
from tests.sync.conftest import START, add_device, desk_visit, enrol, make_agent, new_store, run

TOKEN = "metrics-" + "0123456789abcdef" * 3


@pytest.fixture
def portal(cloud_env, clock):
    from cloud.app import create_app
    from cloud.settings import CloudSettings

    settings = CloudSettings.from_env(cloud_env | {"PST_CLOUD_METRICS_TOKEN": TOKEN})
    with TestClient(create_app(settings, clock=clock), base_url="http://portal.test") as test_client:
        yield test_client


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def revoke_new_device(client) -> None:
    app = client.app
    devices = Devices(app.state.db, app.state.clock, app.state.settings.signing_key())

    async def revoke() -> None:
        await devices.ensure_office("7400", "BPS 7400")
        device, _ = await devices.add_device("7400", "Meja lama")
        await devices.revoke(device["id"])

    client.blocking_portal.call(revoke)


@pytest.fixture
def edge_store(tmp_path):
    opened = new_store(tmp_path / "edge.db")
    yield opened
    opened.close()


def test_sync_batches_records_429s_sessions_and_the_fleet_are_counted(portal, edge_store, tmp_path, clock):
    from cloud.sync_admission import Admission, SyncAdmission
    from sync.agent import SyncError

    add_reader(portal, "wa.ode@example.id", "Wa Ode")
    enrolment = enrol(portal, tmp_path / "var-edge")
    add_device(portal, name="Meja baru")  # waits for its appliance
    revoke_new_device(portal)
    desk_visit(edge_store, START)  # 4 events
    with edge_store.write() as db:
        outbox.append(db, "teleport", "x", "beamed", {}, START)  # an unknown kind: refused, kept as a dead letter
    agent, transport = make_agent(edge_store, enrolment, portal)
    run(agent.round())
    desk_visit(edge_store, START)
    # the one batch slot taken and no queue: the next batch is turned away (429), and the agent does not wait for it
    admitted = portal.app.state.sync_admission = SyncAdmission(Admission(2), Admission(1, max_wait=0, queue_per_slot=0))
    admitted.batches.in_flight = 1
    agent.busy_patience = 0
    with pytest.raises(SyncError):
        run(agent.round())
    admitted.batches.in_flight = 0
    posted = [status for method, path, status in transport.log if path == "/sync/v1/events"]
    assert posted == [200, 429]

    found = scrape(portal)
    assert found[("pst_cloud_sync_records_applied_total", ())] == 4
    assert found[("pst_cloud_sync_dead_letters", ())] == 1
    assert found[("pst_cloud_sync_batches_total", (("outcome", "applied"),))] == 1
    assert found[("pst_cloud_sync_batches_total", (("outcome", "busy"),))] == 1
    assert found[("pst_cloud_http_throttled_total", (("route", "/sync/v1/events"),))] == 1
    events = (("method", "POST"), ("route", "/sync/v1/events"))
    assert found[("pst_cloud_http_requests_total", (*events, ("status", "2xx")))] == 1
    assert found[("pst_cloud_http_requests_total", (*events, ("status", "4xx")))] == 1
    assert found[("pst_cloud_http_request_duration_seconds_count", events)] == 2
    assert found[("pst_cloud_sessions_active", ())] == 1
    fleet = {dict(labels)["state"]: value for (name, labels), value in found.items() if name == "pst_cloud_devices"}
    assert fleet == {"enrolled": 1, "waiting": 1, "revoked": 1}
    assert found[("pst_cloud_devices_silent", ())] == 0
    clock.advance(timedelta(minutes=16).total_seconds())
    assert scrape(portal)[("pst_cloud_devices_silent", ())] == 1


def test_routes_are_labelled_by_template_never_by_path(portal):
    for _ in range(2):
        portal.get("/api/requests/7c1d6a55-no-such-request")
        portal.get("/publikasi/7c1d6a55-no-such-publication")
    found = scrape(portal)
    routes = {dict(labels).get("route", "") for name, labels in found}
    assert not [route for route in routes if "7c1d6a55" in route]
    assert found[("pst_cloud_http_requests_total",
                  (("method", "GET"), ("route", "/publikasi/{publication_id}"), ("status", "4xx")))] == 2


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN,
])
def test_a_scrape_without_the_token_is_refused(portal, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = portal.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "pst_cloud" not in response.text


def test_without_a_token_set_the_portal_has_no_metrics(client):
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize("token", ["short", "x" * 31, "with space " + "x" * 30])
def test_a_weak_metrics_token_is_refused_at_start(tmp_path, token):
    from cloud.settings import CloudSettings, ConfigError

    with pytest.raises(ConfigError, match="PST_CLOUD_METRICS_TOKEN"):
        CloudSettings.from_env({"PST_DATA_DIR": str(tmp_path), "PST_CLOUD_METRICS_TOKEN": token})


@pytest.mark.slow
def test_several_workers_answer_with_the_sum_of_all_their_counts(cloud_env, tmp_path):
    """A real `pst cloud serve --workers 2`: whichever worker answers the scrape, it counts every worker's requests."""
    import os
    import subprocess
    import sys

    import httpx

    from cloud.mailsink import free_port
    from tests.cloud.test_workers import REPO, wait_until_up

    port = free_port()
    env = {**os.environ, **cloud_env, "PST_CLOUD_PORT": str(port), "PST_CLOUD_METRICS_TOKEN": TOKEN,
           "PYTHONPATH": str(REPO)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (tmp_path / "worker0.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "cloud", "serve",
                                   "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, tmp_path, seconds=60)
        before = healthz_count(url)
        for _ in range(30):
            assert httpx.get(f"{url}/healthz", headers={"Connection": "close"}).status_code == 200
        for _ in range(4):  # answered by either worker
            assert healthz_count(url) == before + 30
        shared = tmp_path / "var" / "metrics" / str(server.pid)
        assert shared.is_dir() and list(shared.glob("*.db"))
    finally:
        server.terminate()
        server.wait(timeout=20)


def healthz_count(url: str) -> float:
    import httpx

    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"})
    assert response.status_code == 200, response.text
    return sum(sample.value for family in text_string_to_metric_families(response.text) for sample in family.samples
               if sample.name == "pst_cloud_http_requests_total" and sample.labels["route"] == "/healthz")
