"""Receipt printers that speak ESC/POS, through python-escpos: USB, serial or network (raw port 9100).

Wiring: USB printers need a udev rule giving the `pst` user access to the vendor/product id (see ansible/);
serial printers are wired TX→RX, RX→TX, GND, with hardware flow control off; network printers need a fixed address.
The whole receipt is rendered to bytes first and sent in one write, then the printer's real-time status is read
back, so a printer that stops mid-ticket is noticed and the ticket is printed again.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy

from hardware.interfaces import PrinterFault, PrinterState, QrCode, Receipt, Rule, TextLine

log = logging.getLogger(__name__)


def render(receipt: Receipt, profile: str = "TM-T88V") -> bytes:
    """The exact bytes a printer receives for `receipt` (python-escpos's own command encoder)."""
    out = Dummy(profile=profile)
    columns = int(out.profile.profile_data["fonts"]["0"]["columns"])
    out.hw("INIT")
    for block in receipt.blocks:
        if isinstance(block, TextLine):
            big = block.size > 1
            out.set_with_default(
                align=block.align, bold=block.bold, custom_size=big,
                width=block.size if big else 1, height=block.size if big else 1,
            )
            out.textln(block.text)
        elif isinstance(block, QrCode):
            out.set_with_default(align="center")
            out.qr(block.payload, native=True, size=block.size)
        elif isinstance(block, Rule):
            out.set_with_default(align="left")
            out.textln("-" * columns)
    out.set_with_default()
    out.cut()
    return out.output


class EscposTicketPrinter:
    """A TicketPrinter over any python-escpos connection made by `open_device` (Usb, Serial or Network)."""

    def __init__(
        self,
        open_device: Callable[[], Escpos],
        profile: str = "TM-T88V",
        missing: PrinterState = "offline",
        answers_status: bool = True,
    ):
        self._open_device = open_device
        self._profile = profile
        self._missing = missing  # what "not found" means for this connection: unplugged (USB) or offline (network)
        # A serial line gives no sign of a closed peer: an empty answer there means "no status", not "gone".
        self._answers_status = answers_status
        self._lock = threading.Lock()  # one receipt at a time: the printer has one paper path

    def print_receipt(self, receipt: Receipt) -> None:
        data = render(receipt, self._profile)
        with self._lock:
            device = self._open()
            try:
                if self._paper(device) == "paper_out":
                    raise PrinterFault("paper_out", "printer is out of paper")
                device._raw(data)
                if not self._alive(device):
                    raise PrinterFault("error", "printer stopped answering during the ticket")
            except (OSError, EscposError) as exc:
                raise PrinterFault("error", f"printing failed mid-ticket: {exc}") from exc
            finally:
                _close_quietly(device)

    def status(self) -> PrinterState:
        with self._lock:
            try:
                device = self._open()
            except PrinterFault as fault:
                return fault.kind
            try:
                if not self._alive(device):
                    return "offline"
                return self._paper(device)
            except (OSError, EscposError):
                return "error"
            finally:
                _close_quietly(device)

    def close(self) -> None:
        """Connections are opened per receipt; nothing stays open."""

    def _open(self) -> Escpos:
        try:
            device = self._open_device()
            device.open()
            connection = getattr(device, "device", None)
            if isinstance(connection, socket.socket):
                # the status query follows the ticket at once: without this, Nagle + delayed ACK add ~40 ms
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return device
        except (DeviceNotFoundError, OSError) as exc:
            raise PrinterFault(self._missing, f"printer not reachable: {exc}") from exc
        except EscposError as exc:
            raise PrinterFault("error", f"printer could not be opened: {exc}") from exc

    @staticmethod
    def _paper(device: Escpos) -> PrinterState:
        try:
            level = device.paper_status()
        except OSError as exc:
            if _is_timeout(exc):
                return "ok"  # a printer that does not report its paper is assumed to have some
            raise
        return "paper_out" if level == 0 else "ok"

    def _alive(self, device: Escpos) -> bool:
        """Asks the real-time status after the data: answered only once the printer has read all of it."""
        if not self._answers_status:
            return True
        try:
            return device.is_online()
        except OSError as exc:
            if _is_timeout(exc):
                return True  # a silent printer cannot confirm; the connection accepted every byte
            raise


def _is_timeout(exc: OSError) -> bool:
    # socket.timeout is TimeoutError; pyusb raises its own USBTimeoutError (an OSError)
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def _close_quietly(device: Escpos) -> None:
    try:
        device.close()
    except (OSError, EscposError):
        log.debug("closing the printer connection failed", exc_info=True)


def network_printer(host: str, port: int, timeout_s: float, profile: str) -> EscposTicketPrinter:
    from escpos.printer import Network

    class ClosingNetwork(Network):
        """python-escpos 3.1 leaves the socket open when the connect fails; create_connection closes it."""

        def open(self, raise_not_found: bool = True) -> None:
            try:
                self.device = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                raise DeviceNotFoundError(f"could not connect to {self.host}:{self.port}: {exc}") from exc

    return EscposTicketPrinter(lambda: ClosingNetwork(host, port, timeout=timeout_s, profile=profile), profile, "offline")


def usb_printer(vendor: int, product: int, timeout_s: float, profile: str) -> EscposTicketPrinter:
    from escpos.printer import Usb

    def open_usb() -> Escpos:
        return Usb(vendor, product, timeout=int(timeout_s * 1000), profile=profile)

    return EscposTicketPrinter(open_usb, profile, "unplugged")


def serial_printer(device: str, baudrate: int, timeout_s: float, profile: str) -> EscposTicketPrinter:
    from escpos.printer import Serial

    def open_serial() -> Escpos:
        return Serial(devfile=device, baudrate=baudrate, timeout=timeout_s, profile=profile)

    return EscposTicketPrinter(open_serial, profile, "unplugged", answers_status=False)
