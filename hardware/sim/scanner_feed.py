"""The simulated sheet feeder: "n pages waiting", scanned for real through SANE's `test` backend.

SANE is given a private configuration folder whose `dll.conf` names only `test`, so no real backend is loaded and
nothing on the network is probed. The test backend's feeder gives batches of 10 sheets; the simulator keeps
feeding batches and stops after the pages it holds, and can jam after a given number of sheets (SANE's own
`SANE_STATUS_JAMMED`, raised by the backend). Each sheet gets its number drawn on it, so pages can be told apart
(and a PDF does not fold identical images into one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from hardware.drivers.sane_scanner import SaneScanner, set_option
from hardware.scanning import ScannedPage, ScannerFault

TEST_DEVICE = "test:0"


def sane_config_dir(folder: Path) -> Path:
    """A SANE configuration folder that loads the `test` backend only."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text("test\n")
    return folder


class SimFeeder(SaneScanner):
    def __init__(self, config_dir: Path, resolution: int = 150, picture: str = "Color pattern"):
        super().__init__(
            TEST_DEVICE, source="ADF", resolution=resolution, mode="Color", page_mm=(210.0, 297.0),
            config_dir=str(sane_config_dir(Path(config_dir))),
        )
        self.picture = picture
        self._state = threading.Lock()
        self._waiting = 0
        self._jam_after: int | None = None
        self._sheet = 0

    def feed(self, pages: int, jam_after: int | None = None) -> int:
        """The feeder now holds `pages` sheets; with `jam_after`, the sheet after that many jams (once)."""
        if pages < 0 or (jam_after is not None and jam_after < 0):
            raise ValueError("page counts cannot be negative")
        with self._state:
            self._waiting, self._jam_after = pages, jam_after
            return self._waiting

    @property
    def waiting(self) -> int:
        with self._state:
            return self._waiting

    def snapshot(self) -> dict:
        with self._state:
            return {"waiting": self._waiting, "jam_after": self._jam_after, "device": self.device}

    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        waiting = self.waiting
        if waiting == 0:
            raise ScannerFault("empty", "no paper in the simulated feeder")
        self._sheet = 0
        yield from super().pages(waiting if limit is None else min(limit, waiting), cancel)

    def _page(self, image) -> ScannedPage:
        from PIL import ImageDraw, ImageFont

        self._sheet += 1
        draw = ImageDraw.Draw(image)
        size = max(16, image.height // 14)
        draw.rectangle((0, 0, size * 5, size * 1.6), fill="white")
        draw.text((size // 4, size // 4), f"Lembar {self._sheet}", fill="black", font=ImageFont.load_default(size))
        return super()._page(image)

    def _configure(self, dev) -> None:
        super()._configure(dev)
        # the test backend keeps its options from one open to the next: set every one a job relies on
        set_option(dev, "test_picture", self.picture)
        set_option(dev, "read_return_value", "Default")

    def _before_page(self, dev, index: int) -> None:
        with self._state:
            jam = self._jam_after is not None and index >= self._jam_after
            if jam:
                self._jam_after = None  # the visitor clears the jam; the next job runs
        if jam:
            dev.cancel()  # options cannot change while the feeder is between sheets
            set_option(dev, "read_return_value", "SANE_STATUS_JAMMED")

    def _after_page(self, count: int) -> None:
        with self._state:
            self._waiting = max(0, self._waiting - 1)

    def _feed_more(self, count: int) -> bool:
        return self.waiting > 0  # the backend's batch of 10 ran out: it starts the next one
