"""Back-pressure of the sync (cloud.sync_admission, sync/PROTOCOL.md "Back-pressure"): a bounded number of batches
at once, a short queue, and a Retry-After that follows the queue and the measured batch time; a fleet refused and
sent again loses nothing and applies nothing twice."""

from __future__ import annotations

import asyncio
import random

import pytest

from cloud.sync_admission import READERS, Admission, Busy, SyncAdmission
from edge.store import EdgeStore
from sync.agent import Agent, Enrolment, SyncError
from tests.cloud.conftest import rows_in, run_db
from tests.sync.conftest import Forward, START, desk_visit, enrol, new_store, run


class Clock:
    """Seconds that pass only when told."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def no_jitter(spread: float) -> float:
    return 0.0


# --- the gate alone ------------------------------------------------------------------------------------------------

def test_no_more_batches_at_once_than_slots_and_every_one_served_in_order():
    gate = Admission(3, max_wait=60, queue_per_slot=100)
    at_once, most, entered = 0, 0, []

    async def batch(n: int) -> None:
        nonlocal at_once, most
        async with gate.slot():
            entered.append(n)
            at_once += 1
            most = max(most, at_once)
            await asyncio.sleep(random.uniform(0, 0.004))
            at_once -= 1

    async def fleet() -> None:
        await asyncio.gather(*(batch(n) for n in range(60)))

    run(fleet())
    assert most == 3 and entered == list(range(60))  # three at a time, each in its turn, none left out
    assert gate.in_flight == 0 and gate.waiting == 0


def test_a_batch_waits_briefly_for_a_slot_instead_of_being_turned_away():
    gate = Admission(1, max_wait=1.0, queue_per_slot=4, first_guess=0.01)

    async def two() -> list[str]:
        order = []

        async def batch(name: str) -> None:
            async with gate.slot():
                order.append(name)
                await asyncio.sleep(0.02)

        await asyncio.gather(batch("first"), batch("second"))
        return order

    assert run(two()) == ["first", "second"]


def test_turned_away_beyond_the_queue_with_a_retry_after_that_grows_with_it():
    clock = Clock()
    gate = Admission(2, max_wait=10, queue_per_slot=2, first_guess=0.1, clock=clock, jitter=no_jitter)

    async def storm() -> tuple[list[float], list[float]]:
        release = asyncio.Event()

        async def holder() -> None:
            async with gate.slot():
                await release.wait()

        holders = [asyncio.create_task(holder()) for _ in range(2 + 4)]  # two slots, four in the queue
        await asyncio.sleep(0)
        assert gate.in_flight == 2 and gate.waiting == 4
        refused = []
        for _ in range(5):
            with pytest.raises(Busy) as busy:
                async with gate.slot():
                    pass
            refused.append(busy.value.retry_after)
        release.set()
        await asyncio.gather(*holders)
        return refused, [gate.spacing]

    refused, (spacing,) = run(storm())
    # each one after the queue and after the ones refused before it, one spacing (mean / slots) apart
    assert refused == sorted(refused) and len(set(refused)) == 5
    assert all(b - a == pytest.approx(0.05) for a, b in zip(refused, refused[1:]))
    assert refused[0] == pytest.approx(5 * 0.05 - min(10, 4 * 0.05) / 2)  # its turn, a little early


def test_retry_after_follows_the_measured_batch_time():
    def refused_after(batch_s: float) -> float:
        clock = Clock()
        gate = Admission(1, max_wait=0.0, queue_per_slot=1, first_guess=0.05, clock=clock, jitter=no_jitter)

        async def go() -> float:
            for _ in range(40):  # the moving mean settles on the batches' time
                async with gate.slot():
                    clock.now += batch_s
            release = asyncio.Event()

            async def holder() -> None:
                async with gate.slot():
                    await release.wait()

            held = asyncio.create_task(holder())
            await asyncio.sleep(0)
            with pytest.raises(Busy) as busy:
                async with gate.slot():
                    pass
            release.set()
            await held
            return busy.value.retry_after

        return run(go())

    quick, slow = refused_after(0.02), refused_after(0.4)
    assert quick == pytest.approx(0.02, rel=0.01) and slow == pytest.approx(0.4, rel=0.01)


def test_the_fleet_turned_away_comes_back_spread_evenly_with_small_jitter():
    clock = Clock()
    gate = Admission(4, max_wait=0.0, queue_per_slot=0, first_guess=0.2, clock=clock)
    gate.in_flight = 4  # every slot taken
    turns = []
    for _ in range(100):
        with pytest.raises(Busy) as busy:
            run(_enter(gate))
        turns.append(busy.value.retry_after)
    spacing = 0.2 / 4
    assert turns[-1] == pytest.approx(100 * spacing, abs=spacing)  # the whole backlog's time, not more
    assert all(0 < b - a < 2 * spacing for a, b in zip(turns, turns[1:]))  # one after another


async def _enter(gate: Admission) -> None:
    async with gate.slot():
        pass


def test_a_batch_that_gives_up_while_waiting_leaves_no_slot_taken():
    gate = Admission(1, max_wait=60, queue_per_slot=10)

    async def go() -> None:
        release = asyncio.Event()

        async def holder() -> None:
            async with gate.slot():
                await release.wait()

        held = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiting = asyncio.create_task(_enter(gate))
        await asyncio.sleep(0)
        assert gate.waiting == 1
        waiting.cancel()  # its connection closed
        await asyncio.sleep(0)
        release.set()
        await held
        assert gate.in_flight == 0 and gate.waiting == 0
        await _enter(gate)  # and the slot is free for the next

    run(go())


@pytest.mark.parametrize("pool", [1, 3, 10, 20])
def test_the_sync_leaves_readers_their_connections(pool):
    sized = SyncAdmission.sized("postgresql", pool)
    assert sized.rounds.slots >= 1 and sized.batches.slots >= 1
    if pool > READERS + 1:
        assert sized.rounds.slots + sized.batches.slots <= pool - READERS


# --- a fleet against the portal ------------------------------------------------------------------------------------

class Watched(Admission):
    """The portal's gate, noting the most requests it ever let in at once."""

    most = 0

    async def _enter(self) -> None:
        await super()._enter()
        self.most = max(self.most, self.in_flight)


def small_gate(cloud, max_wait: float = 0.0, queue_per_slot: int = 0) -> SyncAdmission:
    """The portal's admission made tight (one batch at once), so that a small fleet is turned away often."""
    admitted = SyncAdmission(Admission(2, 15.0, None), Watched(1, max_wait, queue_per_slot, first_guess=0.01))
    cloud.app.state.sync_admission = admitted
    return admitted


def test_a_fleet_turned_away_and_sent_again_loses_nothing_and_applies_nothing_twice(cloud, tmp_path):
    admitted = small_gate(cloud)
    stores: list[EdgeStore] = []
    agents: list[Agent] = []
    transports: list[Forward] = []
    for n in range(8):
        enrolment: Enrolment = enrol(cloud, tmp_path / f"var-edge-{n}", office_code=f"{7401 + n}")
        store = new_store(tmp_path / f"edge-{n}.db")
        for _ in range(6):
            desk_visit(store, START)  # 24 events: three batches of ten
        transport = Forward(cloud)
        stores.append(store)
        transports.append(transport)
        agents.append(Agent(store, enrolment, transport=transport, batch=10))

    async def together():
        results = await asyncio.gather(*(agent.round() for agent in agents))
        for agent in agents:
            await agent.close()
        return results

    results = run(together())
    refused = sum(status == 429 for t in transports for _, _, status in t.log)
    assert refused > 0 and sum(r.busy for r in results) == refused  # each sent again within its round
    assert all(r.sent == 24 and r.duplicates == 0 for r in results)
    assert all(s.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0 for s in stores)
    events = run_db(cloud, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM sync_events")[0]
    assert events["n"] == events["d"] == 8 * 24
    assert rows_in(cloud, "visits") == 8 * 6 and rows_in(cloud, "ratings") == 8 * 6
    assert rows_in(cloud, "sync_dead_letters") == 0
    assert admitted.batches.most == 1 and admitted.batches.in_flight == 0 and admitted.batches.waiting == 0
    for store in stores:
        store.close()


def test_a_refused_batch_carries_a_fractional_retry_after_from_the_queue(cloud, edge_store, tmp_path):
    admitted = small_gate(cloud)
    admitted.batches.in_flight = 1  # every slot taken
    enrolment = enrol(cloud, tmp_path / "var-edge")
    desk_visit(edge_store, START)
    agent = Agent(edge_store, enrolment, transport=Forward(cloud), busy_patience=0)  # the round ends at once
    with pytest.raises(SyncError) as busy:
        run(agent.round())
    assert str(busy.value).startswith("429") and 0 < busy.value.retry_after < 1
    assert rows_in(cloud, "visits") == 0
    admitted.batches.in_flight = 0
    assert run(agent.round()).sent == 4 and rows_in(cloud, "visits") == 1
    run(agent.close())
