"""The simulated sheet feeder: "n pages waiting", scanned for real through SANE's `test` backend.

SANE is given a private configuration folder whose `dll.conf` names only `test`, so no real backend is loaded and
nothing on the network is probed. The test backend's feeder gives batches of 10 sheets; the simulator keeps
feeding batches and stops after the pages it holds, and can jam after a given number of sheets (SANE's own
`SANE_STATUS_JAMMED`, raised by the backend). Each sheet gets its number drawn on it, so pages can be told apart
(and a PDF does not fold identical images into one).

The test backend reads each sheet in a thread of its own and stops that thread with an asynchronous
`pthread_cancel` in `sane_start` and `sane_cancel`. A thread cancelled while it frees its buffers (it does so on its
way out, after the last byte) leaves the C allocator's lock held, and every later scan of the process hangs. So the
simulator waits for the reader of the last sheet to end by itself before it starts the next sheet or cancels.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from hardware.drivers.sane_scanner import SaneScanner, set_option
from hardware.scanning import ScannedPage, ScannerFault

TEST_DEVICE = "test:0"
READER_EXIT_S = 0.5  # a reader that has sent its last byte ends within microseconds; this bounds a stuck one


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
        self._threads_before_sheet: set[str] = set()

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

    def _pages(self, limit: int | None, cancel: threading.Event | None) -> Iterator[ScannedPage]:
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

    def _settle(self) -> None:
        """Waits (a moment at most) for the threads that appeared since the last sheet started — the backend's
        reader among them — to end on their own. A reader that cannot end (blocked on a full pipe after a jam) is
        cancelled while it waits on I/O, which is safe."""
        if not self._threads_before_sheet:
            return  # no sheet started since the job began
        new = _threads() - self._threads_before_sheet
        deadline = time.monotonic() + READER_EXIT_S
        while new and time.monotonic() < deadline:
            time.sleep(0.002)
            new &= _threads()

    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        try:
            yield from self._pages(limit, cancel)
        finally:
            self._threads_before_sheet = set()

    def _before_page(self, dev, index: int) -> None:
        self._settle()
        self._threads_before_sheet = _threads()
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


def _threads() -> set[str]:
    """The ids of this process's threads (Linux); empty where /proc has none."""
    try:
        return set(os.listdir(f"/proc/{os.getpid()}/task"))
    except OSError:
        return set()
