"""What the appliance needs from its devices, whatever they are (real GPIO and printers, or simulated ones).

Drivers turn library errors into the `PrinterFault` kinds below, so the queue never depends on a device library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

PrinterState = Literal["ok", "paper_out", "offline", "unplugged", "error", "absent"]
IndicatorState = Literal["ready", "fault", "off"]


class PrinterFault(Exception):
    """The printer could not print a receipt; `kind` says why, in the appliance's words."""

    def __init__(self, kind: PrinterState, message: str = ""):
        super().__init__(message or kind)
        self.kind: PrinterState = kind


@dataclass(frozen=True)
class TextLine:
    text: str
    align: Literal["left", "center", "right"] = "center"
    size: Literal[1, 2, 3] = 1  # character magnification
    bold: bool = False


@dataclass(frozen=True)
class QrCode:
    payload: str
    size: int = 6  # module size in dots


@dataclass(frozen=True)
class Rule:
    """A horizontal separator line."""


@dataclass(frozen=True)
class Receipt:
    """A printer-independent description of one cut slip of paper."""

    blocks: tuple[TextLine | QrCode | Rule, ...] = field(default_factory=tuple)


@runtime_checkable
class TicketPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> None:
        """Print and cut, or raise PrinterFault. Returns once the printer has taken the whole receipt."""

    def status(self) -> PrinterState:
        """Ask the printer how it is, without printing."""

    def close(self) -> None: ...


@runtime_checkable
class QueueButton(Protocol):
    def on_press(self, callback: Callable[[], None]) -> None:
        """Call `callback` once per press (not again while held)."""

    def close(self) -> None: ...


@runtime_checkable
class Indicator(Protocol):
    def show(self, state: IndicatorState) -> None:
        """Steady light when ready, blinking with a buzz on a fault."""

    @property
    def state(self) -> IndicatorState: ...

    def close(self) -> None: ...


@runtime_checkable
class LockerBank(Protocol):
    numbers: tuple[int, ...]

    def unlock(self, number: int) -> None:
        """Pulse the lock's relay; returns at once (the pulse ends by itself)."""

    def door_open(self, number: int) -> bool: ...

    def relay_active(self, number: int) -> bool: ...

    def on_door(self, callback: Callable[[int, bool], None]) -> None:
        """`callback(number, is_open)` whenever a door opens or closes."""

    def close(self) -> None: ...
