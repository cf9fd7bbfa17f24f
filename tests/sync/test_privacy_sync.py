"""A person's erasure through the sync (sync/PROTOCOL.md, "Erasures"): made at one office's desk it erases the
portal account and reaches another office's appliance; made in the cloud it reaches the appliances; anonymised
visits follow to the cloud's copies; counts stay. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from edge.appliance import Appliance
from edge.settings import EdgeSettings
from tests.cloud.conftest import add_reader, as_, rows_in, run_db
from tests.sync.conftest import enrol, make_agent, run

EMAIL = "rahmat.hidayat@example.id"
SARI = "sari.wulandari@example.id"
GUEST = {"name": "Rahmat Hidayat", "email": EMAIL, "gender": "L", "age": 34, "education": "s2",
         "occupation": "peneliti", "institution": "Universitas Halu Oleo", "purposes": ["baca_tercetak"],
         "id_type": "KTP", "phone": "081234567890"}


@pytest.fixture
def desks(cloud, tmp_path, clock):
    """Two offices' appliances (7400, 7471), enrolled, each with a visit of Rahmat sent up; his portal account."""
    running = {}
    for office in ("7400", "7471"):
        data_dir = tmp_path / f"edge-{office}"
        appliance = Appliance(EdgeSettings.from_env({"PST_DATA_DIR": str(data_dir), "PST_EDGE_HARDWARE": "sim"}),
                              clock=clock).start()
        appliance.check_in(GUEST)
        appliance.check_in(GUEST | {"name": "Sari Wulandari", "email": SARI, "phone": "081399990000"})
        agent, _ = make_agent(appliance.store, enrol(cloud, data_dir, office), cloud, clock=clock)
        run(agent.round())
        running[office] = (appliance, agent)
    add_reader(cloud, EMAIL, "Rahmat Hidayat")
    as_(cloud, None)
    yield running
    for appliance, agent in running.values():
        run(agent.close())
        appliance.stop()


def held(appliance, email: str = EMAIL) -> int:
    return appliance.store.read.execute("SELECT count(*) FROM visits WHERE email = ?", [email]).fetchone()[0]


def test_erasures_at_a_desk_and_in_the_cloud_reach_the_portal_and_every_office(cloud, desks, clock):
    """Rahmat erased at the 7400 desk: his account, then the 7471 appliance; Sari erased in the cloud: both desks."""
    (kendari, kendari_agent), (kota, kota_agent) = desks["7400"], desks["7471"]
    assert rows_in(cloud, "visits") == 4
    clock.advance(hours=5)  # past the guestbook's repeat window: a second visit, not sent up before the erasure
    again = kendari.check_in(GUEST).visit["id"]
    kendari.softcopy_requests.create(again, description="Sakernas 2024", purpose="penelitian")
    kendari.privacy.erase(EMAIL, actor="kepala")
    assert run(kendari_agent.round()).dead == 0
    assert rows_in(cloud, "softcopy_requests") == 0 and rows_in(cloud, "visits") == 5
    assert run_db(cloud, "SELECT count(*) AS n FROM accounts WHERE email = {}", EMAIL)[0]["n"] == 0
    assert held(kota) == 1
    run(kota_agent.round())  # the erasure comes down; the anonymised visit goes up in the next round
    assert held(kota) == 0
    assert run(kota_agent.round()).dead == 0
    assert rows_in(cloud, "visits") == 5
    institutions = [r["institution"] for r in run_db(cloud, "SELECT institution FROM visits")]
    assert sorted(institutions, key=str) == [None, None, None, "Universitas Halu Oleo", "Universitas Halu Oleo"]
    assert run_db(cloud, "SELECT count(*) AS n FROM sync_dead_letters")[0]["n"] == 0
    run(kendari_agent.round())  # its own erasure comes back: nothing left to find, nothing sent again
    assert kendari.store.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND entity = 'erasure'"
                                      ).fetchone()[0] == 0

    from cloud.privacy import Privacy

    state = cloud.app.state
    portal = Privacy(state.db, state.clock, state.settings.signing_key(), state.settings.data_dir, 24)
    assert cloud.blocking_portal.call(portal.erase, SARI, "admin@bps.go.id")["account"] == 0
    for appliance, agent in (desks["7400"], desks["7471"]):
        assert held(appliance, SARI) == 1
        run(agent.round())
        assert held(appliance, SARI) == 0
        assert appliance.store.read.execute("SELECT count(*) FROM visits").fetchone()[0] >= 2
        actors = appliance.store.read.execute("SELECT actor, target FROM audit_log WHERE action = 'privacy.erase'"
                                              ).fetchall()
        assert ("sync" in [a for a, _ in actors]) and all(SARI not in t and EMAIL not in t for _, t in actors)
    for appliance, agent in (desks["7400"], desks["7471"]):
        appliance.check_in(GUEST | {"name": "Ani", "email": "ani@example.id", "phone": None})
        run(agent.round())
    clock.advance(days=800)  # two years on: the daily retention's events go up and are taken without a refusal
    for appliance, agent in (desks["7400"], desks["7471"]):
        assert appliance.privacy.apply()["visits"] == 1
        assert run(agent.round()).dead == 0
    assert run_db(cloud, "SELECT count(*) AS n FROM sync_dead_letters")[0]["n"] == 0 and rows_in(cloud, "visits") == 7
