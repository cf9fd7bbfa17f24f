"""Loopback stand-in for a networked ESC/POS receipt printer (raw port 9100).

The app's real python-escpos printing path talks to it in simulation mode and tests; it keeps each cut ticket.
"""

from __future__ import annotations

import argparse
import base64
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from .ticket_render import GS, Line, command_length, decode, is_cut, is_status_query, iter_commands, render_png

__all__ = ["Line", "PrinterEmulator", "ReceivedTicket", "decode", "iter_commands", "main", "render_png"]

log = logging.getLogger(__name__)

_REALTIME_STATUS = re.compile(rb"\x10\x04([\x01-\x04])")


@dataclass(frozen=True)
class ReceivedTicket:
    """One cut ticket: its bytes up to and including the cut, and what they print."""

    raw: bytes
    text: str
    qr: list[str]
    lines: list[Line]
    received_at: datetime

    @classmethod
    def from_raw(cls, raw: bytes, received_at: datetime | None = None) -> ReceivedTicket:
        lines, qr = decode(raw)
        text = "\n".join(line.text for line in lines if line.kind == "text").strip("\n")
        return cls(raw, text, qr, lines, received_at or datetime.now(timezone.utc))


class _TicketSplitter:
    """Cuts one connection's stream into tickets at command boundaries, so a cut inside image data is not one."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self.pending += data
        events = []
        while self._pos < len(self.pending):
            size = command_length(self.pending, self._pos)
            if size is None:
                break
            cmd = bytes(self.pending[self._pos:self._pos + size])
            if is_status_query(cmd):
                del self.pending[self._pos:self._pos + size]  # status traffic is not print data
                events.append(("status", cmd))
                continue
            self._pos += size
            if is_cut(cmd):
                events.append(("ticket", bytes(self.pending[:self._pos])))
                del self.pending[:self._pos]
                self._pos = 0
        return events


def _payload_prefix(chunk: bytes, budget: int) -> tuple[int, int]:
    """End index in `chunk` holding at most `budget` non-status bytes, and how many it holds."""
    i = used = 0
    while i < len(chunk) and used < budget:
        if _REALTIME_STATUS.match(chunk, i):
            i += 3
            continue
        i += 1
        used += 1
    return i, used


def _reset_connection(conn: socket.socket) -> None:
    try:  # linger 0 makes close() send RST, like a printer losing power mid-job
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass


def _hang_up(sock: socket.socket) -> None:
    # shutdown wakes a thread blocked in accept()/recv(); close() alone does not on Linux
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class PrinterEmulator:
    """TCP receipt printer on loopback with switches for being off, out of paper, or failing mid-ticket."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_ticket: Callable[[ReceivedTicket], None] | None = None) -> None:
        self._host, self._port, self._on_ticket = host, port, on_ticket
        self._cond = threading.Condition()
        self._switch = threading.Lock()  # serialises start/stop/set_online
        self._online, self._paper, self._jam = True, "ok", None
        self._started = False
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._tickets: list[ReceivedTicket] = []
        self._partial = self._discarded = 0

    port = property(lambda self: self._port, doc="Bound TCP port (the requested one before start()).")
    address = property(lambda self: (self._host, self._port))
    online = property(lambda self: self._online)
    paper = property(lambda self: self._paper)
    partial_count = property(lambda self: self._partial, doc="Connections that closed with uncut data.")
    discarded_bytes = property(lambda self: self._discarded, doc="Bytes dropped while the paper was out.")

    @property
    def tickets(self) -> list[ReceivedTicket]:
        with self._cond:
            return list(self._tickets)

    def start(self) -> PrinterEmulator:
        with self._switch:
            if not self._started:
                self._started = True
                if self._online:
                    self._listen()
        return self

    def stop(self) -> None:
        with self._switch:
            if self._started:
                self._started = False
                self._go_dark()

    def __enter__(self) -> PrinterEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_online(self, online: bool) -> None:
        with self._switch:
            changed, self._online = self._online != online, online
            if changed and self._started and online:
                self._listen()
            elif changed and self._started:
                self._go_dark()

    def set_paper(self, state: Literal["ok", "out"]) -> None:
        if state not in ("ok", "out"):
            raise ValueError(f"paper state must be 'ok' or 'out', not {state!r}")
        with self._cond:
            self._paper = state

    def jam_after(self, n_bytes: int | None) -> None:
        """The next connection is reset after `n_bytes` of print data; None disarms it."""
        with self._cond:
            self._jam = n_bytes

    def clear(self) -> None:
        """Forgets stored tickets and zeroes the partial/discarded counters."""
        with self._cond:
            self._tickets.clear()
            self._partial = self._discarded = 0

    def wait_for_tickets(self, n: int, timeout: float = 2.0) -> list[ReceivedTicket]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._tickets) >= n, timeout):
                raise TimeoutError(f"expected {n} ticket(s) within {timeout}s, got {len(self._tickets)}")
            return list(self._tickets)

    def snapshot(self) -> dict:
        with self._cond:
            tickets, online, paper = list(self._tickets), self._online, self._paper
        return {"online": online, "paper": paper, "tickets": [_ticket_json(t) for t in tickets]}

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # the port must come back after set_online(True) although old connections sit in TIME_WAIT
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._port))
            listener.listen(128)  # bursts of connects can outpace the accept thread
        except OSError:
            listener.close()
            raise
        with self._cond:
            self._listener, self._port = listener, listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True,
                         name=f"printer-emulator-{self._port}").start()

    def _go_dark(self) -> None:
        with self._cond:
            listener, self._listener = self._listener, None
            conns, self._conns = list(self._conns), set()
        if listener is not None:
            _hang_up(listener)
            listener.close()
        for conn in conns:
            _hang_up(conn)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                if self._listener is not listener:
                    return
                time.sleep(0.01)  # transient accept failure (e.g. aborted handshake)
                continue
            with self._cond:
                adopted = self._listener is listener
                if adopted:
                    self._conns.add(conn)
            if not adopted:
                _reset_connection(conn)
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._cond:
            jam, self._jam = self._jam, None
        splitter = _TicketSplitter()
        try:
            self._read_until_closed(conn, splitter, jam)
        except OSError:
            pass  # client reset or the emulator went offline: same as a cable pulled
        except Exception:  # noqa: BLE001 - one bad stream must never stop the printer
            log.exception("printer emulator: connection handler failed")
        finally:
            with self._cond:
                self._conns.discard(conn)
            conn.close()
            self._account_leftover(splitter.pending)

    def _read_until_closed(self, conn: socket.socket, splitter: _TicketSplitter, jam: int | None) -> None:
        used, tail = 0, b""
        while jam is None or used < jam:
            chunk = conn.recv(4096)
            if not chunk:
                return
            if jam is not None:
                end, count = _payload_prefix(chunk, jam - used)
                chunk, used = chunk[:end], used + count
            for kind, data in splitter.feed(chunk):
                self._on_event(conn, kind, data)
            # answered after the chunk's data is handled, so a status reply means "all earlier bytes read"
            window = tail + chunk
            replies = bytes(self._realtime_status(m[1][0]) for m in _REALTIME_STATUS.finditer(window))
            if replies:
                conn.sendall(replies)
            tail = window[-2:]
        _reset_connection(conn)

    def _on_event(self, conn: socket.socket, kind: str, data: bytes) -> None:
        if kind == "ticket":
            self._receive_ticket(data)
        elif data[0] == GS:  # GS r: DLE EOT was already answered as a real-time command
            paper_out = data[2] in (1, 49) and self._paper == "out"
            conn.sendall(b"\x0f" if paper_out else b"\x00")

    def _realtime_status(self, n: int) -> int:
        paper_out, offline = self._paper == "out", not self._online
        return {1: 0x12 | (0x08 if offline else 0), 2: 0x12 | (0x20 if paper_out else 0),
                3: 0x12, 4: 0x7E if paper_out else 0x12}[n]

    def _receive_ticket(self, raw: bytes) -> None:
        with self._cond:
            if self._paper == "out":
                self._discarded += len(raw)
                return
        ticket = ReceivedTicket.from_raw(raw)
        with self._cond:
            self._tickets.append(ticket)
            self._cond.notify_all()
        if self._on_ticket is not None:
            try:
                self._on_ticket(ticket)
            except Exception:  # noqa: BLE001 - a listener's bug is not a printer fault
                log.exception("printer emulator: on_ticket callback failed")

    def _account_leftover(self, pending: bytearray) -> None:
        if not pending:
            return
        with self._cond:
            if self._paper == "out":
                self._discarded += len(pending)
            else:
                self._partial += 1


def _ticket_json(ticket: ReceivedTicket) -> dict:
    return {
        "text": ticket.text,
        "bytes": base64.b64encode(ticket.raw).decode("ascii"),
        "qr": ticket.qr[0] if ticket.qr else None,
        "qr_all": list(ticket.qr),
        "received_at": ticket.received_at.isoformat(),
    }


def _print_ticket(ticket: ReceivedTicket, png_dir: Path | None) -> None:
    stamp = ticket.received_at.strftime("%Y%m%dT%H%M%S.%fZ")
    print(f"----- ticket {stamp} -----\n{ticket.text}", flush=True)
    for payload in ticket.qr:
        print(f"[QR] {payload}", flush=True)
    if png_dir is not None:
        render_png(ticket, png_dir / f"ticket-{stamp}.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Emulated ESC/POS network receipt printer.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--png-dir", type=Path, help="also save each ticket as a PNG here")
    args = parser.parse_args(argv)
    if args.png_dir is not None:
        args.png_dir.mkdir(parents=True, exist_ok=True)
    emulator = PrinterEmulator(args.host, args.port, on_ticket=lambda t: _print_ticket(t, args.png_dir))
    with emulator:
        print(f"printer emulator listening on {args.host}:{emulator.port}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
