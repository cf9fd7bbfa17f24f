"""A Hypothesis state machine over the sync: the desk writes while the transport drops requests, drops answers after
the cloud committed, answers 5xx after committing, duplicates and replays old requests out of order; the agent is
killed between commit and acknowledgement (a new agent each round, as after a restart); the appliance's database is
restored from an older backup or replaced by an empty one; the cloud is restored from an older copy; the clock
jumps. After healing, every record of the appliance is in the cloud exactly once, with the appliance's latest state,
and the appliance shows the cloud's statuses.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from edge import outbox
from edge.store import EdgeStore
from pst.clock import ManualClock, iso
from pst.ids import new_id
from sync.agent import Agent, SyncError
from tests.cloud.conftest import run_db
from tests.faults.soak import campaign_size
from tests.sync.conftest import START, Forward, add_device, desk_visit, new_store, run

FAULTS = st.sampled_from([None, None, "drop_request", "drop_answer", "error_after_commit", "duplicate", "replay"])
_offices = itertools.count(1)


def build_machine(cloud, tmp_path):
    class SyncMachine(RuleBasedStateMachine):
        @initialize()
        def enrol(self):
            # an office of its own per schedule (the checks count by office): 9,000 codes outlast a full campaign
            self.office = f"{1000 + next(_offices) % 9000:04d}"
            code = add_device(cloud, self.office)
            answer = cloud.post("/sync/v1/enroll", json={"code": code}).json()
            from sync.agent import Enrolment

            self.enrolment = Enrolment("http://portal.test", answer["device_id"], answer["office_code"],
                                       answer["name"], answer["credential"])
            self.device_id = answer["device_id"]
            self.clock = ManualClock(START)
            self.generation = 0
            self.store = self._new_store()
            self.backup = None
            self.written: dict[str, int] = {}  # visit id → wait_s, every visit ever written at the desk
            self.complaints: dict[str, str] = {}  # complaint id → its latest status at the desk
            self.snapshot = None
            self.replays: list = []

        def _new_store(self) -> EdgeStore:
            self.generation += 1
            return new_store(tmp_path / f"{self.device_id}-{self.generation}.db")

        def teardown(self):
            self.store.close()

        # --- the desk ---

        @rule(rate=st.booleans(), wait=st.integers(0, 900))
        def visit(self, rate, wait):
            visit_id = desk_visit(self.store, self.clock.now(), rate=rate, wait_s=wait)
            self.written[visit_id] = wait
            self.clock.advance(minutes=3)

        @rule()
        def complaint(self):
            complaint_id, now = new_id(), self.clock.now()
            with self.store.write() as db:
                outbox.append(db, "complaint", complaint_id, "diterima", {
                    "id": complaint_id, "tracking": f"ADU-{self.office}-2611-{complaint_id[-6:].upper()}",
                    "channel": "kotak_saran", "text": "Ruang baca terlalu dingin.", "contact": None,
                    "entered_by": "loket1", "status": "diterima", "received_at": iso(now)}, now)
            self.complaints[complaint_id] = "diterima"

        @precondition(lambda self: any(s == "diterima" for s in self.complaints.values()))
        @rule()
        def resolve(self):
            complaint_id = next(c for c, s in self.complaints.items() if s == "diterima")
            now = self.clock.now()
            with self.store.write() as db:
                outbox.append(db, "complaint", complaint_id, "selesai", {
                    "status": "selesai", "resolved_at": iso(now), "resolved_by": "loket1",
                    "response": "Suhu sudah diatur.", "responded_at": iso(now)}, now)
            self.complaints[complaint_id] = "selesai"

        @rule()
        def softcopy_request(self):
            request_id, now = new_id(), self.clock.now()
            row = {"id": request_id, "visit_id": None, "email": "rina.marlina@example.id", "name": "Rina Marlina",
                   "catalogue_number": None, "year": None, "description": "Indeks Pembangunan Manusia 2025",
                   "purpose": "penelitian", "status": "diajukan", "created_at": iso(now), "status_at": iso(now)}
            with self.store.write() as db:
                db["softcopy_requests"].insert(row)
                outbox.append(db, "softcopy_request", request_id, "created",
                              {k: v for k, v in row.items() if k not in ("status", "status_at")}, now)

        @rule(status=st.sampled_from(["diproses", "ditolak"]))
        def cloud_staff_decide(self, status):
            waiting = run_db(cloud, "SELECT id FROM softcopy_requests WHERE office_code = {} AND status = 'diajukan'",
                             self.office)
            if waiting:
                cloud.blocking_portal.call(_decide, cloud.app.state.db, waiting[0]["id"], self.office, status)

        @rule(jump=st.sampled_from(["cold_boot", "stale", "forward"]))
        def jump_clock(self, jump):
            if jump == "cold_boot":
                self.clock.set(START.replace(year=1970))
            elif jump == "stale":
                self.clock.set(START - timedelta(days=2))
            else:
                self.clock.set(START + timedelta(hours=1 + self.generation))

        # --- the agent and the network ---

        @rule(faults=st.lists(FAULTS, max_size=6), batch=st.sampled_from([1, 3, 500]))
        def sync_round(self, faults, batch):
            transport = Forward(cloud)
            schedule = iter(faults)

            def play(request):
                fault = next(schedule, None)
                if fault == "replay":
                    self.replays.append((request.method, request.url.raw_path.decode(), request.read(),
                                         dict(request.headers)))
                    return None
                return fault

            transport.faults.append(play)
            agent = Agent(self.store, self.enrolment, clock=self.clock, transport=transport, batch=batch)
            try:
                run(agent.round())
            except SyncError:
                pass
            finally:
                run(agent.close())  # the agent is gone: killed between commit and acknowledgement, or not

        @precondition(lambda self: self.replays)
        @rule()
        def replay_old_request(self):
            method, path, body, headers = self.replays.pop(0)
            headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
            answer = cloud.request(method, path, content=body, headers=headers)
            assert answer.status_code in (200, 409), answer.text

        # --- disasters ---

        @rule()
        def back_up_appliance(self):
            if self.backup is not None:
                self.backup.unlink()
            self.backup = self.store.backup(tmp_path / f"{self.device_id}-backup-{self.generation}.db")

        @precondition(lambda self: self.backup is not None)
        @rule()
        def restore_appliance_backup(self):
            self.store.close()
            self.generation += 1
            target = tmp_path / f"{self.device_id}-{self.generation}.db"
            self.backup.rename(target)
            self.backup = None
            self.store = EdgeStore(target)
            self._complaints_of_store()

        def _complaints_of_store(self):
            """The complaints this database knows (a restored or new database has forgotten the later ones)."""
            self.complaints = dict(self.store.read.execute(
                "SELECT entity_id, op FROM outbox WHERE entity = 'complaint' ORDER BY seq").fetchall())

        @rule()
        def replace_appliance_database(self):
            self.store.close()
            self.store = self._new_store()
            self._complaints_of_store()

        @rule()
        def snapshot_cloud(self):
            self.snapshot = {
                "events": {r["event_id"] for r in run_db(
                    cloud, "SELECT event_id FROM sync_events WHERE device_id = {}", self.device_id)},
                "cursors": run_db(cloud, "SELECT epoch, last_seq, last_event_id FROM sync_cursors"
                                         " WHERE device_id = {}", self.device_id),
            }

        @precondition(lambda self: self.snapshot is not None)
        @rule()
        def restore_cloud_from_snapshot(self):
            """What restoring the cloud's older copy does to this appliance's data."""
            later = [r for r in run_db(cloud, "SELECT event_id, entity, entity_id, op FROM sync_events"
                                              " WHERE device_id = {}", self.device_id)
                     if r["event_id"] not in self.snapshot["events"]]
            for row in later:
                run_db(cloud, "DELETE FROM sync_events WHERE event_id = {}", row["event_id"])
                if (row["entity"], row["op"]) == ("visit", "checked_in"):
                    run_db(cloud, "DELETE FROM visits WHERE id = {}", row["entity_id"])
                elif (row["entity"], row["op"]) == ("visit", "service_started"):
                    run_db(cloud, "UPDATE visits SET service_started_at = NULL, wait_s = NULL WHERE id = {}",
                           row["entity_id"])
                elif row["entity"] == "rating":
                    run_db(cloud, "DELETE FROM ratings WHERE id = {}", row["entity_id"])
                elif (row["entity"], row["op"]) == ("complaint", "diterima"):
                    run_db(cloud, "DELETE FROM complaints WHERE id = {}", row["entity_id"])
                elif row["entity"] == "complaint":
                    run_db(cloud, "UPDATE complaints SET status = 'diterima', resolved_at = NULL WHERE id = {}",
                           row["entity_id"])
            run_db(cloud, "DELETE FROM sync_cursors WHERE device_id = {}", self.device_id)
            for cursor in self.snapshot["cursors"]:
                run_db(cloud, "INSERT INTO sync_cursors (device_id, epoch, last_seq, last_event_id, updated_at)"
                              " VALUES ({}, {}, {}, {}, {})", self.device_id, cursor["epoch"], cursor["last_seq"],
                       cursor["last_event_id"], START)
            self.snapshot = None

        # --- what must always hold ---

        @invariant()
        def nothing_doubled(self):
            if not hasattr(self, "device_id"):
                return
            doubled = run_db(cloud, "SELECT visit_id FROM ratings WHERE office_code = {} AND visit_id IS NOT NULL"
                                    " GROUP BY visit_id HAVING count(*) > 1", self.office)
            assert doubled == []
            unknown = {r["id"] for r in run_db(cloud, "SELECT id FROM visits WHERE office_code = {}", self.office)}
            assert unknown <= set(self.written)  # nothing that was not written at this desk

        def heal(self) -> int:
            """The network behaves, the agent runs: rounds until nothing is pending; answers how many it took."""
            for rounds in range(1, 21):
                agent = Agent(self.store, self.enrolment, clock=self.clock, transport=Forward(cloud))
                try:
                    run(agent.round())
                finally:
                    run(agent.close())
                if self.store.read.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0:
                    return rounds
            raise AssertionError("the sync did not heal in 20 rounds")

        def check_healed(self, figures: Figures):
            figures.schedules += 1
            started = time.perf_counter()
            rounds = self.heal()
            figures.drained(time.perf_counter() - started, rounds)
            here = self.store.read
            desk_visits = {r[0]: json.loads(r[1]) for r in here.execute(
                "SELECT entity_id, payload FROM outbox WHERE entity = 'visit' AND op = 'service_started'")}
            cloud_visits = {r["id"]: r["wait_s"] for r in run_db(
                cloud, "SELECT id, wait_s FROM visits WHERE office_code = {}", self.office)}
            # every record of this appliance, with its latest state
            lost = [v for v, payload in desk_visits.items() if cloud_visits.get(v) != payload["wait_s"]]
            desk_ratings = {r[0] for r in here.execute("SELECT entity_id FROM outbox WHERE entity = 'rating'")}
            cloud_ratings = {r["id"] for r in run_db(cloud, "SELECT id FROM ratings WHERE office_code = {}",
                                                     self.office)}
            lost += sorted(desk_ratings - cloud_ratings)
            desk_complaints = dict(here.execute(
                "SELECT entity_id, op FROM outbox WHERE entity = 'complaint' ORDER BY seq").fetchall())
            cloud_complaints = {r["id"]: r["status"] for r in run_db(
                cloud, "SELECT id, status FROM complaints WHERE office_code = {}", self.office)}
            lost += [c for c, status in desk_complaints.items() if cloud_complaints.get(c) != status]
            figures.lost += len(lost)
            assert lost == []
            desk_requests = dict(here.execute("SELECT id, status FROM softcopy_requests").fetchall())
            cloud_requests = {r["id"]: r["status"] for r in run_db(
                cloud, "SELECT id, status FROM softcopy_requests WHERE office_code = {}", self.office)}
            for request_id, status in desk_requests.items():  # the appliance shows the cloud's statuses
                assert cloud_requests[request_id] == status
            applied = run_db(cloud, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM sync_events"
                                    " WHERE device_id = {}", self.device_id)[0]
            figures.duplicated += applied["n"] - applied["d"]
            assert applied["n"] == applied["d"]
            assert run_db(cloud, "SELECT reason FROM sync_dead_letters WHERE device_id = {}", self.device_id) == []

    return SyncMachine


async def _decide(db, request_id: str, office: str, status: str) -> None:
    """Staff in the back office move a request on (as cloud.requests does: the change is journaled with it)."""
    from cloud.changes import record_change

    async with db.transaction():
        await db.execute("UPDATE softcopy_requests SET status = {}, reason = {} WHERE id = {}", status,
                         "Belum tersedia" if status == "ditolak" else None, request_id)
        await record_change(db, "softcopy_request", request_id, office)


@dataclass
class Figures:
    """What one campaign of fault schedules measured: each schedule ends with healing and the checks."""

    schedules: int = 0
    healed: int = 0
    lost: int = 0
    duplicated: int = 0
    longest_drain_s: float = 0.0
    most_rounds: int = 0

    def drained(self, seconds: float, rounds: int) -> None:
        self.healed += 1
        self.longest_drain_s = max(self.longest_drain_s, seconds)
        self.most_rounds = max(self.most_rounds, rounds)

    def line(self, engine: str) -> str:
        share = 100 * self.healed / self.schedules if self.schedules else 0.0
        return (f"SOAK sync-faults engine={engine} schedules={self.schedules} lost={self.lost} "
                f"duplicated={self.duplicated} drained={share:.1f}% longest_drain_s={self.longest_drain_s:.3f} "
                f"longest_drain_rounds={self.most_rounds}")


def example_count(engine: str) -> int:
    """1,000 fault schedules per engine under `make soak`; a few dozen in `make test`."""
    return campaign_size(full=1000, reduced=12 if engine == "postgresql" else 30)


@pytest.mark.slow
@pytest.mark.soak
def test_sync_heals_from_every_fault(cloud, tmp_path):
    machine = build_machine(cloud, tmp_path)
    figures = Figures()

    class Checked(machine):
        def teardown(self):
            if hasattr(self, "device_id"):
                self.check_healed(figures)
            super().teardown()

    from hypothesis.stateful import run_state_machine_as_test

    engine = "postgresql" if "postgresql" in cloud.app.state.db.kind else "sqlite"
    try:
        run_state_machine_as_test(Checked, settings=settings(
            max_examples=example_count(engine), stateful_step_count=25, deadline=None, derandomize=True,
            phases=[Phase.explicit, Phase.generate],  # a failure is reported as found: shrinking can take many minutes
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ))
    finally:
        print(f"\n{figures.line(engine)}")
    assert figures.schedules > 0 and figures.healed == figures.schedules
