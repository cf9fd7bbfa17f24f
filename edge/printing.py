"""Printing queue tickets without ever holding a number hostage to the printer.

A number is committed before printing starts. One spooler thread prints tickets in issue order; on a fault the
ticket stays `pending`, staff get an alert, the LED blinks and the buzzer sounds, and the spooler asks the printer
for its status every few seconds. When the printer is back, each pending ticket is printed if its visitor still
waits, else marked `not_printed`. Pending tickets left by a restart are picked up the same way.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from edge.alerts import clear_alert, raise_alert
from edge.i18n import N_
from hardware.interfaces import Indicator, PrinterFault, PrinterState, TicketPrinter

if TYPE_CHECKING:  # the sync agent reads FAULT_MESSAGES (edge.health) and prints nothing: no slip, no Babel dates
    from edge.tickets import QueueService, Ticket

log = logging.getLogger(__name__)

FAULT_MESSAGES = {
    "paper_out": N_("Printer tiket kehabisan kertas. Ganti gulungan kertas; tiket yang tertunda akan dicetak."),
    "offline": N_("Printer tiket tidak terhubung. Periksa daya dan kabel jaringan printer."),
    "unplugged": N_("Printer tiket tidak ditemukan. Periksa kabel USB/serial printer."),
    "error": N_("Printer tiket berhenti saat mencetak. Periksa kertas macet; tiket akan dicetak ulang."),
}


class TicketSpooler:
    def __init__(
        self, queue: QueueService, printer: TicketPrinter, indicator: Indicator, public_url: str,
        retry_s: float = 2.0,
    ):
        self.queue, self.printer, self.indicator = queue, printer, indicator
        self.public_url = public_url
        self.retry_s = retry_s
        self.state: PrinterState = "ok"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.state = self.printer.status()
        self._show(self.state)
        self._thread = threading.Thread(target=self._run, name="ticket-spooler", daemon=True)
        self._thread.start()
        self._wake.set()  # tickets left pending by a restart

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def submit(self) -> None:
        """A ticket was committed: print what is pending."""
        with self._idle:
            self._busy = True
        self._wake.set()

    def reprint(self, ticket: Ticket) -> None:
        """Staff asked for another copy: printed at once, whatever its print status; raises PrinterFault."""
        from edge.slip import ticket_slip

        slip = ticket_slip(ticket, self.queue.ahead(ticket), self.queue.config, self.public_url, reprint=True)
        self.printer.print_receipt(slip)
        if ticket.print_status != "printed":
            self.queue.record_print(ticket.id, "printed")

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Until every submitted ticket has been handled (printed, or left pending on a fault)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._step()
            except Exception:  # the spooler must outlive any one bad ticket or device error
                log.exception("ticket spooler step failed")
            with self._idle:
                if not self._wake.is_set():
                    self._busy = False
                    self._idle.notify_all()

    def _step(self) -> None:
        if self.state not in ("ok", "absent"):
            probe = self.printer.status()  # asks without printing: no attempt is recorded while it is down
            if probe != "ok":
                self._set_state(probe)
                return
            self._set_state("ok")
        self._flush()

    def _flush(self) -> None:
        from edge.slip import ticket_slip

        for ticket in self.queue.pending_prints():
            if self.state == "absent":
                self.queue.record_print(ticket.id, "not_printed", "no printer configured")
                continue
            if not self.queue.still_waits(ticket):
                self.queue.record_print(ticket.id, "not_printed", "visitor no longer waiting when the printer returned")
                continue
            slip = ticket_slip(ticket, self.queue.ahead(ticket), self.queue.config, self.public_url)
            try:
                self.printer.print_receipt(slip)
            except PrinterFault as fault:
                log.warning("ticket %s not printed: %s", ticket.number, fault)
                self.queue.record_print(ticket.id, "failed", f"{fault.kind}: {fault}")
                self._set_state(fault.kind)
                return
            self.queue.record_print(ticket.id, "printed")
            self._set_state("ok")

    def _set_state(self, state: PrinterState) -> None:
        if state == self.state:
            return
        previous, self.state = self.state, state
        log.info("printer state %s -> %s", previous, state)
        self._show(state)

    def _show(self, state: PrinterState) -> None:
        now = self.queue.clock.now()
        if state in FAULT_MESSAGES:
            raise_alert(self.queue.store, "printer", FAULT_MESSAGES[state], now)
            self.indicator.show("fault")
        else:
            clear_alert(self.queue.store, "printer", now)
            self.indicator.show("ready")
