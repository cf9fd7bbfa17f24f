"""Picks the devices for a hardware mode: `pi` (real GPIO and printer) or `sim` (gpiozero MockFactory pins and the
TCP printer emulator). Sim is only ever chosen by name, never as a fallback when a real device is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.config import ApplianceConfig
from hardware.interfaces import Indicator, LockerBank, PrinterFault, PrinterState, QueueButton, Receipt, TicketPrinter


class NoPrinter:
    """`printer.connection = "none"`: numbers are shown on screen only."""

    def print_receipt(self, receipt: Receipt) -> None:
        raise PrinterFault("absent", "no printer is configured")

    def status(self) -> PrinterState:
        return "absent"

    def close(self) -> None:
        pass


@dataclass
class Hardware:
    mode: str
    button: QueueButton
    indicator: Indicator
    printer: TicketPrinter
    lockers: LockerBank | None = None
    scanner: Any = None  # hardware.scanning.Scanner; made by the appliance, which knows the data folder
    emulator: Any = None  # PrinterEmulator in sim mode
    pin_factory: Any = None
    extra: dict = field(default_factory=dict)

    def press_button(self) -> None:
        """Sim only: a press and release on the mock pin (pull-up: pressed = low)."""
        if self.mode != "sim":
            raise RuntimeError("the button can only be pressed by software in sim mode")
        pin = self.button.pin
        pin.drive_low()
        pin.drive_high()

    def set_door(self, number: int, is_open: bool) -> None:
        """Sim only: open or shut a locker door (the reed switch opens the circuit when the door opens)."""
        if self.mode != "sim":
            raise RuntimeError("doors can only be moved by software in sim mode")
        pin = self.lockers.door_pin(number)
        closed_level_low = pin.pull == "up"
        if is_open == closed_level_low:
            pin.drive_high()
        else:
            pin.drive_low()

    def close(self) -> None:
        for part in (self.button, self.indicator, self.printer, self.lockers, self.scanner):
            if part is not None and hasattr(part, "close"):
                part.close()
        if self.emulator is not None:
            self.emulator.stop()
        if self.pin_factory is not None:
            self.pin_factory.close()


def build_hardware(mode: str, config: ApplianceConfig) -> Hardware:
    if mode == "sim":
        return _sim(config)
    if mode == "pi":
        return _pi(config)
    raise ValueError(f"unknown hardware mode {mode!r}")


def _sim(config: ApplianceConfig) -> Hardware:
    from gpiozero.pins.mock import MockFactory

    from hardware.drivers.escpos_printer import network_printer
    from hardware.drivers.gpio import GpioIndicator, GpioQueueButton
    from hardware.drivers.lockers import GpioLockerBank
    from hardware.sim.printer_emulator import PrinterEmulator

    factory = MockFactory()
    emulator = PrinterEmulator("127.0.0.1", 0)
    emulator.start()
    pins = config.pins
    hardware = Hardware(
        mode="sim",
        button=GpioQueueButton(pins.button, pins.bounce_ms, pins.hold_s, pin_factory=factory),
        indicator=GpioIndicator(pins.led, pins.buzzer, pin_factory=factory),
        printer=network_printer("127.0.0.1", emulator.port, config.printer.timeout_s, config.printer.profile),
        lockers=GpioLockerBank(config.lockers.bank, config.lockers.pulse_s, pin_factory=factory),
        emulator=emulator,
        pin_factory=factory,
    )
    for number in hardware.lockers.numbers:  # the simulated doors start shut
        hardware.set_door(number, False)
    return hardware


def _pi(config: ApplianceConfig) -> Hardware:
    from hardware.drivers.gpio import GpioIndicator, GpioQueueButton
    from hardware.drivers.lockers import GpioLockerBank

    pins = config.pins
    return Hardware(
        mode="pi",
        button=GpioQueueButton(pins.button, pins.bounce_ms, pins.hold_s),
        indicator=GpioIndicator(pins.led, pins.buzzer),
        printer=build_printer(config),
        lockers=GpioLockerBank(config.lockers.bank, config.lockers.pulse_s),
    )


def build_printer(config: ApplianceConfig) -> TicketPrinter:
    from hardware.drivers import escpos_printer as drivers

    p = config.printer
    if p.kind == "network":
        return drivers.network_printer(p.host, p.port, p.timeout_s, p.profile)
    if p.kind == "usb":
        return drivers.usb_printer(p.usb_vendor, p.usb_product, p.timeout_s, p.profile)
    if p.kind == "serial":
        return drivers.serial_printer(p.serial_device, p.baudrate, p.timeout_s, p.profile)
    return NoPrinter()
