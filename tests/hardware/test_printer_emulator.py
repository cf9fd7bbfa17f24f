"""The printer emulator, driven over real loopback sockets by python-escpos's own Network printer."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import socket
import threading
import time
import warnings
from datetime import timezone

import pytest
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, Network
from PIL import Image

from hardware.sim.printer_emulator import Line, PrinterEmulator, ReceivedTicket, decode, render_png

GUESTBOOK_URL = "http://127.0.0.1:8000/buku-tamu?tiket=A-001"


@pytest.fixture
def emulator():
    with PrinterEmulator() as running:
        yield running


def _printer(emulator: PrinterEmulator) -> Network:
    printer = Network("127.0.0.1", emulator.port, timeout=2)
    printer.open()
    return printer


def _queue_ticket(printer, number: str = "A-001", url: str = GUESTBOOK_URL) -> None:
    printer.set(align="center", double_height=True, double_width=True)
    printer.text(f"ANTRIAN\n{number}\n")
    printer.set(normal_textsize=True, align="left")
    printer.textln("Layanan: Konsultasi Statistik")
    printer.qr(url, native=True)
    printer.cut()


def _print_queue_ticket(emulator: PrinterEmulator, number: str = "A-001") -> None:
    printer = _printer(emulator)
    try:
        _queue_ticket(printer, number)
    finally:
        printer.close()


def _assert_refused(port: int) -> None:
    # python-escpos 3.1 drops the socket of a failed connect without closing it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(DeviceNotFoundError):
            Network("127.0.0.1", port, timeout=2).open()


def _wait_until(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def test_queue_ticket_is_decoded(emulator):
    _print_queue_ticket(emulator)

    [ticket] = emulator.wait_for_tickets(1)
    assert ticket.text.splitlines() == ["ANTRIAN", "A-001", "Layanan: Konsultasi Statistik"]
    assert ticket.qr == [GUESTBOOK_URL]
    title, number, service, qr = ticket.lines
    assert (title.double_height, title.double_width, title.align) == (True, True, "center")
    assert number == Line("A-001", True, True, False, "center")
    assert (service.double_height, service.double_width, service.align) == (False, False, "left")
    assert qr == Line(GUESTBOOK_URL, align="left", kind="qr")
    assert ticket.raw.endswith(b"\x1dV\x00")
    assert ticket.received_at.tzinfo == timezone.utc


def test_raw_ticket_is_exactly_what_python_escpos_sent(emulator):
    expected = Dummy()
    _queue_ticket(expected)
    _print_queue_ticket(emulator)

    assert emulator.wait_for_tickets(1)[0].raw == expected.output


def test_paper_out_reports_no_paper_and_prints_nothing(emulator):
    emulator.set_paper("out")
    printer = _printer(emulator)
    try:
        assert printer.paper_status() == 0
        _queue_ticket(printer)
        assert printer.paper_status() == 0  # answered only after the ticket bytes were read
    finally:
        printer.close()

    assert emulator.tickets == []
    assert emulator.discarded_bytes > 0
    assert emulator.paper == "out"


def test_paper_ok_and_online_status(emulator):
    printer = _printer(emulator)
    try:
        assert printer.paper_status() == 2
        assert printer.is_online() is True
    finally:
        printer.close()
    assert emulator.partial_count == 0  # a status-only connection is not a lost ticket


def test_transmit_paper_sensor_status(emulator):
    with socket.create_connection(emulator.address, timeout=2) as conn:
        conn.sendall(b"\x1dr\x01")
        assert conn.recv(1) == b"\x00"
        emulator.set_paper("out")
        conn.sendall(b"\x1dr\x01")
        assert conn.recv(1) == b"\x0f"


def test_status_is_answered_in_the_middle_of_a_command(emulator):
    with socket.create_connection(emulator.address, timeout=2) as conn:
        conn.sendall(b"\x1d(k\x20\x001P0half a payload" + b"\x10\x04\x04")
        assert conn.recv(1) == b"\x12"


def test_offline_refuses_connections_then_comes_back_on_same_port(emulator):
    port = emulator.port
    emulator.set_online(False)
    assert emulator.online is False
    _assert_refused(port)

    emulator.set_online(True)
    _print_queue_ticket(emulator, "B-002")

    assert emulator.port == port
    assert "B-002" in emulator.wait_for_tickets(1)[0].text


def test_going_offline_drops_open_connections(emulator):
    printer = _printer(emulator)
    try:
        emulator.set_online(False)
        with contextlib.suppress(ConnectionResetError):
            assert printer.device.recv(1) == b""
    finally:
        printer.close()


def test_jam_loses_the_ticket_once(emulator):
    emulator.jam_after(40)
    printer = _printer(emulator)
    with contextlib.suppress(OSError):
        _queue_ticket(printer)
        printer.is_online()  # the reset shows up here at the latest
    printer.close()
    _wait_until(lambda: emulator.partial_count == 1)
    assert emulator.tickets == []

    _print_queue_ticket(emulator, "A-002")
    [ticket] = emulator.wait_for_tickets(1)
    assert "A-002" in ticket.text and ticket.qr == [GUESTBOOK_URL]
    assert emulator.partial_count == 1


def test_two_printers_at_once_keep_tickets_intact(emulator):
    expected = {}
    for number in ("C-001", "D-001"):
        model = Dummy()
        _chatty_ticket(model, number)
        expected[number] = model.output

    def print_one(number: str) -> None:
        printer = _printer(emulator)
        try:
            _chatty_ticket(printer, number)
        finally:
            printer.close()

    workers = [threading.Thread(target=print_one, args=(number,)) for number in expected]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(2)

    tickets = emulator.wait_for_tickets(2)
    assert sorted(t.raw for t in tickets) == sorted(expected.values())


def _chatty_ticket(printer, number: str) -> None:
    # many small writes so the two connections interleave on the emulator side
    printer.set(bold=True)
    for row in range(30):
        printer.textln(f"{number} baris {row}")
    printer.qr(f"{GUESTBOOK_URL}&n={number}", native=True)
    printer.cut()


GARBAGE = [
    b"\x1d(k\xff\xff1P0never ends",
    b"\x1dv0\x00\xff\xff\xff\xff",
    b"\x1dk\x02123",
    b"\x1b",
    b"\x10\x04\x01\x10\x04\x04\x10\x04",
    b"\x1d8L\xff\xff\xff\xff",
    b"\x1c(A\x05\x00",
] + [random.Random(seed).randbytes(300) for seed in range(25)]


def test_malformed_streams_do_not_stop_the_printer(emulator):
    for blob in GARBAGE:
        with contextlib.suppress(OSError), socket.create_connection(emulator.address, timeout=2) as conn:
            conn.sendall(blob)

    _print_queue_ticket(emulator, "Z-999")
    _wait_until(lambda: any("Z-999" in t.text for t in emulator.tickets))


@pytest.mark.parametrize("seed", range(200))
def test_decode_survives_random_bytes(seed):
    blob = random.Random(seed).randbytes(random.Random(-seed).randint(1, 400))
    lines, qr = decode(blob)
    assert all(isinstance(line, Line) for line in lines) and all(isinstance(p, str) for p in qr)


def test_decode_sizes_codepages_and_feeds():
    raw = (b"\x1b@\n\n\x1d!\x10wide\n\x1d!\x01tall\n\x1b!\x08bold\x1ba\x02\n\x1ba\x00"
           b"\x1b!\x00Caf\x82 \x1bt\x0f\xa4   \x1bd\x03\x1dV\x41\x00")
    lines, qr = decode(raw)
    assert lines == [
        Line("wide", double_width=True),
        Line("tall", double_height=True),
        Line("bold", bold=True),  # alignment set after the first character waits for the next line
        Line("Café €"),
    ]
    assert qr == []


def test_cut_inside_image_data_does_not_end_the_ticket(emulator):
    image = b"\x1dv0\x00\x03\x00\x01\x00" + b"\x1dV\x00"  # 3x1 raster whose bytes look like a cut
    with socket.create_connection(emulator.address, timeout=2) as conn:
        conn.sendall(b"logo\n" + image + b"after\n\x1dV\x01")
    [ticket] = emulator.wait_for_tickets(1)
    assert ticket.text == "logo\nafter"


def test_wait_for_tickets_times_out(emulator):
    with pytest.raises(TimeoutError):
        emulator.wait_for_tickets(1, timeout=0.05)


def test_snapshot_is_json_ready(emulator):
    _print_queue_ticket(emulator)
    ticket = emulator.wait_for_tickets(1)[0]

    snapshot = json.loads(json.dumps(emulator.snapshot()))
    assert snapshot["online"] is True and snapshot["paper"] == "ok"
    [entry] = snapshot["tickets"]
    assert base64.b64decode(entry["bytes"]) == ticket.raw
    assert entry["qr"] == GUESTBOOK_URL and entry["qr_all"] == [GUESTBOOK_URL]
    assert entry["text"] == ticket.text and entry["received_at"] == ticket.received_at.isoformat()

    emulator.clear()
    assert emulator.snapshot()["tickets"] == []


def test_stop_closes_the_port():
    emulator = PrinterEmulator().start()
    port = emulator.port
    emulator.stop()
    _assert_refused(port)


def _longest_dark_run(row: list[int]) -> int:
    best = run = 0
    for value in row:
        run = run + 1 if value < 128 else 0
        best = max(best, run)
    return best


def test_render_png_shows_text_and_qr(tmp_path):
    printer = Dummy()
    printer.set(align="center", double_height=True, double_width=True)
    printer.textln("A-001")
    printer.qr(GUESTBOOK_URL, native=True)
    printer.cut()
    ticket = ReceivedTicket.from_raw(printer.output)

    buffer = io.BytesIO()
    render_png(ticket, buffer)
    render_png(ticket, tmp_path / "ticket.png")
    with Image.open(tmp_path / "ticket.png") as saved:
        assert saved.format == "PNG" and saved.width == 576
    buffer.seek(0)
    with Image.open(buffer) as png:
        assert png.format == "PNG" and png.width == 576
        image = png.convert("L")

    pixels = image.load()
    rows = [[pixels[x, y] for x in range(image.width)] for y in range(image.height)]
    first_ink = next(y for y, row in enumerate(rows) if min(row) < 128)
    # QR finder patterns have solid edges 7 modules wide, far wider than any stroke of a glyph
    finder_rows = [y for y, row in enumerate(rows) if _longest_dark_run(row) >= 30]
    assert len(finder_rows) >= 20
    assert min(finder_rows) > first_ink + 30  # the ticket number is printed above the code
    ink_columns = [x for x in range(image.width) if pixels[x, finder_rows[0]] < 128]
    assert 100 < ink_columns[0] and ink_columns[-1] < 476  # centred like the text above it
