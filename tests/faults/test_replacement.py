"""A dead appliance replaced, with real processes: `pst cloud serve` on an ephemeral PostgreSQL cluster, `pst edge
serve` on simulated hardware, `pst sync run`. The desk works a morning — tickets, the guestbook, lockers holding ID
cards, a scan — its nightly backup goes up with the sync, the morning goes on; then the appliance dies (SIGKILL) and
its data folder is gone. A new SD card, restored from the cloud's backup (or from the backup file on a USB stick) with
a replacement code, serves the same open visits and locker custody, numbers the next ticket after the last one issued,
hands back the right ID card only, and after syncing the cloud has every record exactly once.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.cloud.conftest import postgres_cluster  # noqa: F401
from tests.faults.test_sync_kill import (  # noqa: F401 — the module's portal and appliances
    GUEST, STARTUP_S, Desk, answers, assert_in_cloud_exactly_once, cloud, desks, portal, pst, pst_ok, wait_for,
)

pytestmark = pytest.mark.slow


def open_visit(desk: Desk, number: int, id_number: str) -> dict:
    """A visitor being served, whose ID card is in a locker."""
    ticket = desk._post("/api/tickets", status=201)
    visit = desk._post("/api/visits", GUEST | {"ticket_number": ticket["number"], "name": f"Tamu {number}",
                                               "email": f"tamu{number}@example.id"}, status=201)
    assert desk._post("/api/counters/1/call")["id"] == ticket["id"]
    desk._post(f"/api/tickets/{ticket['id']}/serve")
    locker = desk._post(f"/api/visits/{visit['id']}/locker", {"id_type": "KTP", "id_number": id_number},
                        status=201)["locker"]
    return {"visit": visit["id"], "ticket": ticket["number"], "locker": locker}


def scan(desk: Desk, visit_id: str, pages: int = 2) -> None:
    desk._post("/_sim/scanner/feed", {"pages": pages})
    job = desk._post("/api/scans", {"visit_id": visit_id}, status=201)
    wait_for(lambda: desk.http.get(f"/api/scans/{job['id']}").json()["status"] == "ready", STARTUP_S,
             "the scan did not finish")


def custody(desk: Desk) -> dict:
    """What the desk must still hold: open visits, the cards in the lockers, today's numbers, the outbox."""
    return {
        "open": sorted(desk.column("SELECT v.id || ' ' || t.number || ' ' || t.status FROM visits v"
                                   " JOIN tickets t ON t.id = v.ticket_id WHERE v.finished_at IS NULL")),
        "lockers": sorted(desk.column("SELECT locker || ' ' || visit_id || ' ' || id_type || ' ' || id_last4"
                                      " FROM locker_uses WHERE released_at IS NULL")),
        "tickets": sorted(desk.column("SELECT number || ' ' || status FROM tickets")),
        "outbox": desk.column("SELECT event_id FROM outbox ORDER BY seq"),
        "scans": desk.column("SELECT status || ' ' || pages FROM scans"),
    }


def die(desk: Desk) -> None:
    """The SD card fails at noon: every process of the appliance killed, its data folder gone."""
    for proc in desk.processes.started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    shutil.rmtree(desk.data_dir)


def serve(desk: Desk) -> None:
    server = desk.processes.spawn(desk.env, "edge", "serve", log=f"{desk.name}-edge-new")
    wait_for(lambda: answers(f"{desk.url}/healthz") or server.poll() is not None, STARTUP_S,
             "the restored appliance did not answer")
    assert server.poll() is None, "the restored appliance stopped during start-up"
    signed_in = desk.http.post("/api/session", json={"username": "wa_ode", "password": "rahasia-loket-1"})
    assert signed_in.status_code == 200, signed_in.text


@pytest.mark.parametrize("source", ["cloud", "usb"])
def test_a_dead_appliance_is_replaced_without_losing_the_day(cloud, desks, tmp_path, source):  # noqa: F811
    [desk] = desks(cloud, "7400")
    desk.start_agent()
    desk.visitor(1)  # served, rated and gone
    first = open_visit(desk, 2, "7471010101900002")
    scan(desk, first["visit"])
    # the nightly backup (here at mid-morning), which the agent takes up in its next round
    pst_ok(desk.env, "edge", "backup")
    [copy] = (desk.data_dir / "backups").glob("edge-*.db")
    usb = tmp_path / "usb" / copy.name
    usb.parent.mkdir()
    shutil.copy(copy, usb)
    wait_for(lambda: cloud.query("SELECT id FROM device_backups WHERE device_id = $1", desk.device_id), STARTUP_S,
             "the backup did not reach the cloud")
    # the morning goes on: what follows is in no backup
    second = open_visit(desk, 3, "7471010101900003")
    waiting = desk._post("/api/tickets", status=201)
    wait_for(lambda: desk.unsent() == 0, STARTUP_S, "the desk did not sync")
    before = custody(desk)
    assert {first["visit"], second["visit"]} <= {line.split()[0] for line in before["open"]}
    assert len(before["lockers"]) == 2
    die(desk)

    code = pst_ok(cloud.env, "cloud", "device", "replace", desk.device_id).strip()
    env = desk.env | {"PST_ENROL_CODE": code}
    source_args = ["--from-cloud"] if source == "cloud" else [str(usb)]
    restored = pst_ok(env, "edge", "restore", *source_args, "--cloud", cloud.url)
    assert "records made after the backup came back from the cloud" in restored, restored
    # the cloud's copy carries neither the appliance's key nor the cards' keyed hashes; the USB stick's does
    assert ("carries no key" in restored) == (source == "cloud"), restored
    assert custody(desk) == before  # the same open visits, cards in lockers, numbers and outbox

    serve(desk)
    assert desk._post("/api/tickets", status=201)["number"] == f"A{int(waiting['number'][1:]) + 1:03d}"
    refused = desk.http.post(f"/api/visits/{second['visit']}/checkout", json={"id_number": "7471010101909999"})
    assert refused.status_code == 409, refused.text  # only the card that was left comes back
    handed = desk._post(f"/api/visits/{second['visit']}/checkout", {"id_number": "7471010101900003"})
    assert handed["locker"] == second["locker"], handed
    desk.start_agent()
    wait_for(lambda: desk.unsent() == 0, STARTUP_S, "the restored desk did not sync")
    assert_in_cloud_exactly_once(desk, cloud)
    assert desk.last_error() is None


def test_a_restore_is_refused_for_another_offices_device_and_for_a_revoked_one(cloud, desks, tmp_path):  # noqa: F811
    kendari, kolaka = desks(cloud, "7400", "7401")
    pst_ok(kendari.env, "edge", "backup")
    kendari.start_agent()
    wait_for(lambda: cloud.query("SELECT id FROM device_backups WHERE device_id = $1", kendari.device_id), STARTUP_S,
             "the backup did not reach the cloud")
    stranger = Path(tmp_path / "stranger")
    shutil.copy(kolaka.data_dir / "sync-enrolment.json", stranger.mkdir() or stranger / "sync-enrolment.json")
    env = kolaka.env | {"PST_DATA_DIR": str(stranger)}
    refused = pst(env, "edge", "restore", "--from-cloud", "--device", kendari.device_id)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stdout + refused.stderr
    assert not (stranger / "edge.db").exists()
    pst_ok(cloud.env, "cloud", "device", "revoke", kendari.device_id)
    again = pst(cloud.env, "cloud", "device", "replace", kendari.device_id)
    assert again.returncode != 0 and "dicabut" in again.stderr
    elsewhere = Path(tmp_path / "revoked")
    shutil.copy(kendari.data_dir / "sync-enrolment.json", elsewhere.mkdir() or elsewhere / "sync-enrolment.json")
    revoked = pst(kendari.env | {"PST_DATA_DIR": str(elsewhere)}, "edge", "restore", "--from-cloud")
    assert revoked.returncode != 0 and "401" in revoked.stderr, revoked.stdout + revoked.stderr
    assert not (elsewhere / "edge.db").exists()
