"""Lockers on gpiozero MockFactory pins: the relay pulses and the door switch are asserted on the pins."""

import threading
import time

import pytest

from edge.lockers import LockerError

LOCKER_CONFIG = """
[office]
code = "7400"
name = "BPS Provinsi Sulawesi Tenggara"
[printer]
connection = "network"
host = "127.0.0.1"
[lockers]
pulse_s = 0.05
open_timeout_s = 20
close_timeout_s = 300
[[lockers.bank]]
number = 1
relay_pin = 5
door_pin = 6
[[lockers.bank]]
number = 2
relay_pin = 13
door_pin = 19
relay_active_high = false
[[lockers.bank]]
number = 3
relay_pin = 26
door_pin = 20
"""
NIK = "7471012301990004"
GUEST = {"gender": "P", "occupation": "pelajar", "purposes": ["baca_tercetak"], "id_type": "KTP"}


@pytest.fixture
def env(tmp_path):
    config = tmp_path / "pst.toml"
    config.write_text(LOCKER_CONFIG)
    return {"PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_CONFIG": str(config)}


def visit(appliance, name):
    return appliance.check_in(GUEST | {"name": name, "email": f"{name.lower()}@example.id"}).visit["id"]


def wait_pulse_done(bank, number):
    deadline = time.monotonic() + 2
    while bank.relay_active(number) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_assignment_gives_the_lowest_free_locker_and_pulses_its_relay(appliance):
    bank = appliance.hardware.lockers
    relay = bank.relay_pin(1)
    relay.clear_states()
    assert appliance.lockers.assign(visit(appliance, "Ani"), "KTP", NIK) == 1
    wait_pulse_done(bank, 1)
    relay.assert_states([False, True, False])  # one pulse, then locked again
    assert appliance.lockers.assign(visit(appliance, "Budi"), "SIM", "1234-5678-9012") == 2
    wait_pulse_done(bank, 2)
    assert bank.relay_pin(2).state is True  # an active-low relay board rests high


def test_the_id_number_is_never_stored_in_clear(appliance):
    appliance.lockers.assign(visit(appliance, "Ani"), "KTP", NIK)
    row = appliance.store.read.execute("SELECT id_last4, id_hash FROM locker_uses").fetchone()
    assert row[0] == "0004" and len(row[1]) == 64
    appliance.store.read.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in appliance.settings.db_path.parent.glob("edge.db*"))
    assert NIK.encode() not in raw


@pytest.mark.parametrize(
    "id_type, number, field",
    [("KTP", "12345", "id_number"), ("NPWP", NIK, "id_type"), ("SIM", "", "id_number"), ("SIM", "12<3>", "id_number")],
)
def test_a_bad_id_card_is_refused_and_nothing_is_stored(appliance, id_type, number, field):
    with pytest.raises(LockerError) as error:
        appliance.lockers.assign(visit(appliance, "Ani"), id_type, number)
    assert error.value.status == 400 and field in error.value.errors
    assert appliance.store.read.execute("SELECT count(*) FROM locker_uses").fetchone()[0] == 0


def test_no_free_locker_is_a_409_and_out_of_service_ones_are_skipped(appliance):
    appliance.lockers.set_in_service(1, False)
    assert appliance.lockers.assign(visit(appliance, "Ani"), "KTP", NIK) == 2
    assert appliance.lockers.assign(visit(appliance, "Budi"), "KTP", NIK) == 3
    with pytest.raises(LockerError) as error:
        appliance.lockers.assign(visit(appliance, "Citra"), "KTP", NIK)
    assert error.value.status == 409 and "terpakai" in str(error.value)


def test_a_visit_holds_one_locker(appliance):
    guest = visit(appliance, "Ani")
    appliance.lockers.assign(guest, "KTP", NIK)
    with pytest.raises(LockerError, match="sudah memakai loker 1"):
        appliance.lockers.assign(guest, "KTP", NIK)


def test_two_frontliners_assigning_at_once_get_different_lockers(appliance):
    guests = [visit(appliance, name) for name in ("Ani", "Budi", "Citra")]
    barrier, results = threading.Barrier(3), []

    def assign(guest):
        barrier.wait()
        results.append(appliance.lockers.assign(guest, "KTP", NIK))

    threads = [threading.Thread(target=assign, args=(g,)) for g in guests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2, 3]


def test_a_door_that_never_opens_means_a_stuck_relay(appliance, clock):
    appliance.lockers.assign(visit(appliance, "Ani"), "KTP", NIK)
    clock.advance(seconds=21)
    appliance.lockers.check_doors()
    alerts = appliance.store.read.execute("SELECT kind, message FROM alerts WHERE cleared_at IS NULL").fetchall()
    assert alerts == [("locker_1", alerts[0][1])] and "macet" in alerts[0][1]
    appliance.hardware.set_door(1, True)  # the frontliner forces it open: the alert clears
    assert appliance.store.read.execute("SELECT count(*) FROM alerts WHERE cleared_at IS NULL").fetchone()[0] == 0


def test_a_door_left_open_is_reported(appliance, clock):
    appliance.lockers.assign(visit(appliance, "Ani"), "KTP", NIK)
    appliance.hardware.set_door(1, True)
    clock.advance(seconds=299)
    appliance.lockers.check_doors()
    assert appliance.store.read.execute("SELECT count(*) FROM alerts WHERE cleared_at IS NULL").fetchone()[0] == 0
    clock.advance(seconds=2)
    appliance.lockers.check_doors()
    [message] = appliance.store.read.execute("SELECT message FROM alerts WHERE cleared_at IS NULL").fetchone()
    assert "masih terbuka" in message


def test_checkout_unlocks_once_and_frees_the_locker_when_its_door_shuts(appliance):
    guest = visit(appliance, "Ani")
    appliance.lockers.assign(guest, "KTP", NIK)
    wait_pulse_done(appliance.hardware.lockers, 1)
    appliance.hardware.set_door(1, True)
    appliance.hardware.set_door(1, False)  # bag in, door shut
    relay = appliance.hardware.lockers.relay_pin(1)
    relay.clear_states()
    with pytest.raises(LockerError) as mismatch:
        appliance.checkout.checkout(guest, "7471012301990099")
    assert mismatch.value.status == 409
    result = appliance.checkout.checkout(guest, NIK)
    assert result["locker"] == 1 and result["id_card_returned"]
    wait_pulse_done(appliance.hardware.lockers, 1)
    relay.assert_states([False, True, False])
    [state] = [lk for lk in appliance.lockers.bank_state() if lk["number"] == 1]
    assert state["status"] == "releasing"
    other = visit(appliance, "Budi")
    assert appliance.lockers.assign(other, "KTP", NIK) == 2  # 1 stays taken until it is emptied and shut again
    appliance.hardware.set_door(1, True)
    appliance.hardware.set_door(1, False)
    assert [lk["status"] for lk in appliance.lockers.bank_state()][0] == "free"
    with pytest.raises(LockerError) as again:
        appliance.checkout.checkout(guest)
    assert again.value.status == 409


def test_closing_checklist_lists_who_still_holds_a_card(appliance):
    ani, budi = visit(appliance, "Ani"), visit(appliance, "Budi")
    appliance.lockers.assign(ani, "KTP", NIK)
    appliance.lockers.assign(budi, "KTM", "F1B119001")
    appliance.checkout.checkout(ani, NIK)
    assert [(c["name"], c["locker"], c["id_last4"]) for c in appliance.lockers.checklist()] == [("Budi", 2, "9001")]


def test_checkout_without_a_locker_closes_the_visit_and_the_ticket(appliance):
    guest = visit(appliance, "Ani")
    result = appliance.checkout.checkout(guest)
    assert result["locker"] is None
    stored = appliance.visits.get(guest)
    assert stored["finished_at"]
    assert appliance.queue.get(stored["ticket_id"]).status == "skipped"


def test_locker_and_checkout_over_http(client, app, clock):
    from edge.users import add_user

    add_user(app.state.appliance.store, clock, "loket1", "frontliner", "rahasia-loket-1")
    guests = [client.post("/api/visits", json=GUEST | {"name": n, "email": f"{n}@example.id"}).json()["id"]
              for n in ("ani", "budi", "citra", "dedi")]
    assert client.post(f"/api/visits/{guests[0]}/locker", json={"id_type": "KTP", "id_number": NIK}).status_code == 401
    client.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-1"})
    answers = [client.post(f"/api/visits/{g}/locker", json={"id_type": "KTP", "id_number": NIK}) for g in guests]
    assert [a.status_code for a in answers] == [201, 201, 201, 409]
    assert [a.json().get("locker") for a in answers[:3]] == [1, 2, 3]
    assert answers[3].json()["detail"] == "Semua loker sedang terpakai"
    bank = client.get("/api/lockers").json()
    assert [lk["status"] for lk in bank["lockers"]] == ["occupied"] * 3
    assert bank["lockers"][0]["id_masked"] == "••••0004" and len(bank["checklist"]) == 3
    done = client.post(f"/api/visits/{guests[0]}/checkout", json={"id_number": NIK})
    assert done.status_code == 200 and done.json()["locker"] == 1
    assert client.post(f"/api/visits/{guests[0]}/checkout", json={}).status_code == 409
    assert client.post("/api/visits/nope/checkout", json={}).status_code == 404
    for is_open in (True, False):
        door = client.post("/_sim/lockers/1/door", json={"open": is_open})
        assert door.status_code == 200 and door.json()["door_open"] is is_open
    assert {k: v for k, v in client.get("/_sim/lockers").json()[0].items() if k != "unlocked"} == {"number": 1, "door_open": False}
    assert client.post(f"/api/visits/{guests[3]}/locker", json={"id_type": "KTP", "id_number": NIK}).json() == {"locker": 1}


def test_the_demo_pages_drive_the_simulated_devices(client, app, clock):
    from edge.users import add_user

    add_user(app.state.appliance.store, clock, "loket1", "frontliner", "rahasia-loket-1")
    client.post("/api/session", json={"username": "loket1", "password": "rahasia-loket-1"})
    assert "Simulasi: buka pintu" in client.get("/petugas/loker").text
    assert client.post("/_sim/forms/lockers/2/door", follow_redirects=False).status_code == 303
    assert app.state.appliance.hardware.lockers.door_open(2)
    assert "Simulasi: tutup pintu" in client.get("/petugas/loker").text
    assert "Letakkan 3 halaman" in client.get("/pemindai").text
    client.post("/_sim/forms/scanner-feed")
    assert app.state.appliance.hardware.scanner.snapshot()["waiting"] == 3
