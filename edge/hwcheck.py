"""`pst hw check`: what a technician runs after wiring the appliance."""

from __future__ import annotations

from collections.abc import Callable

from edge.settings import EdgeSettings
from edge.slip import check_slip
from hardware.builder import build_hardware
from hardware.drivers.escpos_database import keep_printer_database
from hardware.interfaces import PrinterFault
from pst.clock import SystemClock


def run_check(settings: EdgeSettings, say: Callable[[str], None]) -> bool:
    config = settings.config
    keep_printer_database(settings.data_dir / "cache")
    hardware = build_hardware(settings.hardware, config)
    try:
        say(f"hardware mode: {settings.hardware}")
        say(f"button:    GPIO{config.pins.button} ({'pressed' if hardware.button.pin.state == 0 else 'released'})")
        say(f"led:       GPIO{config.pins.led}")
        say(f"buzzer:    {'GPIO%d' % config.pins.buzzer if config.pins.buzzer is not None else 'none fitted'}")
        where = f"emulator 127.0.0.1:{hardware.emulator.port}" if hardware.emulator else _describe(config.printer)
        say(f"printer:   {where}: {hardware.printer.status()}")
        try:
            hardware.printer.print_receipt(check_slip(config, SystemClock().now(), settings.public_url))
        except PrinterFault as fault:
            say(f"test ticket: NOT printed ({fault.kind}: {fault})")
            return False
        say("test ticket: printed")
        if hardware.emulator is not None:
            ticket = hardware.emulator.wait_for_tickets(1)[-1]
            say("--- as received by the printer emulator ---")
            say(ticket.text)
        return True
    finally:
        hardware.close()


def _describe(printer) -> str:
    if printer.kind == "network":
        return f"network {printer.host}:{printer.port}"
    if printer.kind == "usb":
        return f"usb {printer.usb_vendor:04x}:{printer.usb_product:04x}"
    if printer.kind == "serial":
        return f"serial {printer.serial_device} @ {printer.baudrate}"
    return "none configured"
