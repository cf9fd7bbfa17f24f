"""The six-hour summary of the appliances' health history (cloud.fleet) on both engines: the writer keeps it as the
samples land, it matches what the samples say, the migration sums up the history it finds the same way, and it is
pruned with the samples it sums up."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cloud.fleet import KEEP, PERIOD_SLOTS, Fleet, slot
from cloud.migrations import m016_fleet_summary
from sync.protocol import Health
from tests.cloud.conftest import run_db

START = datetime(2026, 12, 1, 4, 40, tzinfo=timezone.utc)  # 12.40 WITA; a period ends at 06.00 UTC


@pytest.fixture
def device(client) -> str:
    now = START - timedelta(days=1)
    run_db(client, "INSERT INTO offices (id, code, name, created_at) VALUES ('office-7471', '7471', 'BPS Kota"
           " Kendari', {})", now)
    run_db(client, "INSERT INTO devices (id, office_id, name, created_at, key_hash) VALUES ('device-1', 'office-7471',"
           " 'Meja layanan', {}, 'hash-1')", now)
    return "device-1"


def call(client, fn, *args):
    return client.blocking_portal.call(fn, *args)


def backlog(step: int) -> int | None:
    """A backlog that builds up and drains over the day, and now and then a round without one (an older agent)."""
    return None if step % 11 == 5 else (step * 7) % 23


def record_days(client, device: str, days: int, every: timedelta) -> list[tuple[datetime, int | None]]:
    """Rounds every `every` for `days` days from START, each reporting `backlog(step)`; also a second round within
    each slot, which keeps no sample and so must not be counted."""
    fleet, rounds = Fleet(client.app.state.db), []
    for step in range(int(timedelta(days=days) / every)):
        at = START + step * every
        call(client, fleet.record, device, Health(1, pending=backlog(step)), at)
        call(client, fleet.record, device, Health(1, pending=999), at + timedelta(seconds=30))
        rounds.append((at, backlog(step)))
    return rounds


def summaries(client) -> dict[tuple[str, int], tuple[int, int | None]]:
    rows = run_db(client, "SELECT device_id, period, samples, pending_max FROM device_health_summary")
    return {(row["device_id"], row["period"]): (row["samples"], row["pending_max"]) for row in rows}


def expected(rounds: list[tuple[datetime, int | None]], device: str) -> dict[tuple[str, int], tuple[int, int | None]]:
    """Per period: how many samples, and the highest backlog reported."""
    found: dict[tuple[str, int], tuple[int, int | None]] = {}
    for at, pending in rounds:
        key = (device, slot(at) // PERIOD_SLOTS)
        samples, most = found.get(key, (0, None))
        found[key] = (samples + 1, pending if most is None or (pending is not None and pending > most) else most)
    return found


def test_the_writer_sums_up_each_six_hours_of_samples_over_several_days(client, device):
    rounds = record_days(client, device, days=3, every=timedelta(minutes=25))
    kept = summaries(client)
    assert kept == expected(rounds, device)
    assert len(kept) == 13  # 3 days from 12.40 WITA: the first period's last hour and twelve more
    assert sum(samples for samples, _ in kept.values()) == len(rounds)


def test_the_summary_rebuilt_from_the_samples_is_the_one_the_writer_kept(client, device):
    record_days(client, device, days=2, every=timedelta(minutes=35))
    kept = summaries(client)
    call(client, Fleet(client.app.state.db).summarise_history)
    assert summaries(client) == kept
    run_db(client, "DELETE FROM device_health_summary")
    run_db(client, m016_fleet_summary()[2])  # the migration's summing up of the history it finds
    assert summaries(client) == kept


def test_summaries_go_with_their_samples_past_30_days(client, device):
    fleet = Fleet(client.app.state.db)
    rounds = record_days(client, device, days=1, every=timedelta(hours=1))
    later = START + KEEP + timedelta(hours=8, minutes=12)  # the cut falls inside the third period
    call(client, fleet.record, device, Health(1, pending=3), later)
    cut = slot(later - KEEP)
    samples = {row["slot"] for row in run_db(client, "SELECT slot FROM device_health_history")}
    assert min(samples) >= cut
    periods = {period for _, period in summaries(client)}
    assert periods == {s // PERIOD_SLOTS for s in samples} | {cut // PERIOD_SLOTS}  # the cut's period stays
    assert min(periods) == cut // PERIOD_SLOTS
    assert summaries(client)[(device, slot(later) // PERIOD_SLOTS)] == (1, 3)
    untouched = expected(rounds, device)[(device, cut // PERIOD_SLOTS)]
    assert summaries(client)[(device, cut // PERIOD_SLOTS)] == untouched  # summed up before the cut, kept whole
    # the portal's minute loop prunes an appliance that stopped reporting: the last sample at once, its period's
    # summary once the whole period is past 30 days
    call(client, fleet.prune, later + KEEP + timedelta(minutes=5))
    assert run_db(client, "SELECT slot FROM device_health_history") == []
    assert list(summaries(client)) == [(device, slot(later) // PERIOD_SLOTS)]
    call(client, fleet.prune, later + KEEP + timedelta(hours=6))
    assert summaries(client) == {}


def test_a_round_without_a_new_sample_changes_no_summary(client, device):
    fleet = Fleet(client.app.state.db)
    call(client, fleet.record, device, Health(1, pending=4), START)
    call(client, fleet.record, device, Health(1, pending=40), START + timedelta(seconds=40))
    call(client, fleet.record, device, Health(1), START + timedelta(minutes=5))  # a sample without a backlog
    assert summaries(client) == {(device, slot(START) // PERIOD_SLOTS): (2, 4)}
