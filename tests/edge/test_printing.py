"""The button → ticket path on the real printing stack (python-escpos Network → TCP emulator), and its faults."""

import pytest

from edge.alerts import open_alerts
from edge.appliance import Appliance
from edge.slip import PROMISE


def press(appliance, times=1):
    for _ in range(times):
        appliance.hardware.press_button()
    appliance.spooler.wait_idle()


def test_button_press_prints_the_number_and_a_guestbook_qr(appliance):
    press(appliance)
    [printed] = appliance.hardware.emulator.wait_for_tickets(1)
    [ticket] = appliance.queue.of_day()
    assert ticket.source == "button" and ticket.print_status == "printed"
    assert "A001" in printed.text
    assert "BPS Provinsi Sulawesi Tenggara" in printed.text
    assert "Senin, 30 November 2026 09.00 WITA" in printed.text
    assert "Antrian di depan Anda: 0" in printed.text
    assert PROMISE in printed.text
    assert printed.qr == [f"{appliance.settings.public_url}/buku-tamu/{ticket.id}"]
    big = [line for line in printed.lines if line.text == "A001"]
    assert big and big[0].double_height and big[0].double_width


def test_a_number_taken_while_closed_says_which_day_it_is_for(appliance, clock):
    clock.advance(hours=9)  # Monday 18:00, after closing
    press(appliance)
    [printed] = appliance.hardware.emulator.wait_for_tickets(1)
    assert "Berlaku untuk layanan Selasa, 1 Desember 2026" in printed.text


def test_holding_the_button_gives_one_ticket(appliance, clock):
    pin = appliance.hardware.button.pin
    pin.drive_low()
    for _ in range(10):  # held for 10 s, well past the hold time
        clock.advance(1)
        pin.drive_low()
    pin.drive_high()
    appliance.spooler.wait_idle()
    assert len(appliance.queue.of_day()) == 1


def test_presses_inside_the_minimum_interval_give_one_ticket(appliance, clock):
    press(appliance)
    clock.advance(0.5)  # a bouncing contact, or a visitor pressing twice
    press(appliance)
    assert len(appliance.queue.of_day()) == 1
    clock.advance(appliance.config.queue.min_press_interval_s)
    press(appliance)
    assert [t.number for t in appliance.queue.of_day()] == ["A001", "A002"]


@pytest.mark.parametrize(
    "fault, state",
    [({"paper": "out"}, "paper_out"), ({"online": False}, "offline")],
)
def test_a_printer_fault_never_loses_the_number(appliance, clock, fault, state):
    emulator = appliance.hardware.emulator
    if "paper" in fault:
        emulator.set_paper("out")
    else:
        emulator.set_online(False)
    press(appliance)
    [ticket] = appliance.queue.of_day()
    assert (ticket.number, ticket.print_status) == ("A001", "pending")
    assert ticket.print_error.startswith(state)
    assert appliance.spooler.state == state
    assert appliance.hardware.indicator.state == "fault"
    assert [a["kind"] for a in open_alerts(appliance.store.read)] == ["printer"]
    assert emulator.tickets == []

    clock.advance(appliance.config.queue.min_press_interval_s)
    press(appliance)  # a second visitor while it is still down
    emulator.set_paper("ok")
    emulator.set_online(True)
    printed = emulator.wait_for_tickets(2, timeout=10)
    assert ["A001" in printed[0].text, "A002" in printed[1].text] == [True, True]
    assert _eventually(lambda: {t.print_status for t in appliance.queue.of_day()} == {"printed"})
    assert appliance.spooler.state == "ok"
    assert appliance.hardware.indicator.state == "ready"
    assert open_alerts(appliance.store.read) == []


def test_a_ticket_whose_visitor_left_is_not_printed_late(appliance, clock):
    emulator = appliance.hardware.emulator
    emulator.set_paper("out")
    press(appliance)
    with appliance.store.write() as db:  # the frontliner called the visitor meanwhile
        db.execute("UPDATE tickets SET status = 'called'")
    emulator.set_paper("ok")
    appliance.spooler.submit()
    assert _eventually(lambda: appliance.queue.of_day()[0].print_status == "not_printed")
    assert emulator.tickets == []


def test_an_error_mid_ticket_prints_the_whole_ticket_again(appliance):
    emulator = appliance.hardware.emulator
    emulator.jam_after(60)
    press(appliance)
    [printed] = emulator.wait_for_tickets(1, timeout=10)
    assert "A001" in printed.text and PROMISE in printed.text
    assert emulator.partial_count == 1
    assert _eventually(lambda: appliance.queue.of_day()[0].print_status == "printed")
    ticket = appliance.queue.of_day()[0]
    assert (ticket.print_status, ticket.print_attempts) == ("printed", 2)


def test_tickets_left_unprinted_by_a_restart_print_on_start(settings, clock):
    first = Appliance(settings, clock=clock).start()
    first.hardware.emulator.set_online(False)
    press(first)
    first.stop()
    assert first.hardware.emulator.tickets == []

    second = Appliance(settings, clock=clock).start()
    try:
        [printed] = second.hardware.emulator.wait_for_tickets(1, timeout=10)
        assert "A001" in printed.text
        assert _eventually(lambda: second.queue.of_day()[0].print_status == "printed")
    finally:
        second.stop()


def test_staff_reprint_marks_the_copy(appliance):
    press(appliance)
    appliance.spooler.reprint(appliance.queue.of_day()[0])
    first, again = appliance.hardware.emulator.wait_for_tickets(2)
    assert "CETAK ULANG" not in first.text and "CETAK ULANG" in again.text
    assert first.qr == again.qr


def _eventually(check, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
