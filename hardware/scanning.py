"""What the appliance needs from a document scanner, whatever it is: a SANE device with a sheet feeder, a network
scanner that drops files into a folder, or the simulated feeder (the real SANE `test` backend).

Drivers turn library errors into `ScannerFault` kinds, so the scan service never depends on a device library.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

ScannerState = Literal["ok", "empty", "jammed", "cover_open", "busy", "offline", "error"]


class ScannerFault(Exception):
    """The scanner stopped or could not start; `kind` says why, in the appliance's words."""

    def __init__(self, kind: ScannerState, message: str = ""):
        super().__init__(message or kind)
        self.kind: ScannerState = kind


@dataclass(frozen=True)
class ScannedPage:
    """One page as a JPEG (kept as it is all the way into the PDF) and the resolution it was scanned at."""

    jpeg: bytes
    width: int  # pixels
    height: int
    dpi: float


@runtime_checkable
class Scanner(Protocol):
    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        """One job: the pages as they come, at most `limit`. Raises ScannerFault("empty") when no page came at
        all, and any other fault mid-job after the pages before it have been yielded. Stops between pages when
        `cancel` is set."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScannerConfig:
    """The `[scanner]` table of the appliance TOML."""

    driver: Literal["sane", "hot_folder", "none"] = "none"
    device: str = ""  # SANE device name, as `scanimage -L` lists it (e.g. "fujitsu:fi-7160:12345")
    source: str = "ADF"  # "ADF" picks the backend's feeder source, whatever it calls it; or an exact source name
    resolution: int = 150
    mode: str = "Color"  # Color | Gray | Lineart (matched case-insensitively to the backend's names)
    page_mm: tuple[float, float] = (210.0, 297.0)  # A4; clipped to what the device can scan
    jpeg_quality: int = 80
    folder: str = ""  # hot_folder: where the network scanner drops its files
    settle_s: float = 2.0  # hot_folder: a file whose size has not changed this long is complete
    first_page_timeout_s: float = 120.0  # hot_folder: the visitor has this long to press Scan on the device
    idle_timeout_s: float = 20.0  # hot_folder: the job ends this long after the last page
    code_ttl_min: int = 30  # how long a download code works
    max_pages: int = 200  # one job never takes more


def build_scanner(mode: str, config: ScannerConfig, data_dir: Path) -> Scanner | None:
    """The scanner for a hardware mode: the simulated feeder in `sim` mode, the configured driver in `pi` mode."""
    if mode == "sim":
        from hardware.sim.scanner_feed import SimFeeder

        return SimFeeder(data_dir / "sane", resolution=config.resolution)
    if config.driver == "sane":
        from hardware.drivers.sane_scanner import SaneScanner

        return SaneScanner(
            config.device, source=config.source, resolution=config.resolution, mode=config.mode,
            page_mm=config.page_mm, jpeg_quality=config.jpeg_quality,
        )
    if config.driver == "hot_folder":
        from hardware.drivers.hot_folder import HotFolder

        return HotFolder(
            Path(config.folder), settle_s=config.settle_s, first_page_timeout_s=config.first_page_timeout_s,
            idle_timeout_s=config.idle_timeout_s, dpi=config.resolution, jpeg_quality=config.jpeg_quality,
        )
    return None
