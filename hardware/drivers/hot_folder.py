"""A network scanner that drops its files into a folder (scan-to-folder over SMB, FTP or a USB copier's share).

Wiring: on the scanner, set scan-to-folder to a share of the Pi's folder (e.g. Samba share `pindai` on
`/srv/pst/pindai`, written by the scanner's own account), JPEG, PNG, TIFF or PDF at 150 dpi; give that folder as
`[scanner] folder` with `driver = "hot_folder"`. The visitor starts the job on the station first, then presses
Scan on the device.

A file is taken once it is complete: renamed into place (its inode was seen under a temporary name), or its size
and modification time have not changed for `settle_s` and it ends the way its format ends (JPEG, PNG, PDF). Files already there before the job started are moved to
`stale/` (they may be another visitor's), unreadable ones to `rejected/`; a taken file is deleted once read.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hardware.scanning import ScannedPage, ScannerFault

log = logging.getLogger(__name__)
IMAGE_TYPES = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "image", ".tif": "image", ".tiff": "image", ".pdf": "pdf"}
TEMPORARY = (".tmp", ".part", ".partial", ".filepart", ".crdownload", "~")


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    changed_at: float  # monotonic


def is_temporary(name: str) -> bool:
    lower = name.lower()
    return lower.startswith((".", "~")) or lower.endswith(TEMPORARY) or Path(lower).suffix not in IMAGE_TYPES


class HotFolder:
    def __init__(
        self, folder: Path, settle_s: float = 2.0, first_page_timeout_s: float = 120.0, idle_timeout_s: float = 20.0,
        poll_s: float = 0.25, dpi: float = 150.0, jpeg_quality: int = 80, grace_s: float = 10.0,
    ):
        self.folder = Path(folder)
        self.settle_s, self.poll_s, self.grace_s = settle_s, poll_s, grace_s
        self.first_page_timeout_s, self.idle_timeout_s = first_page_timeout_s, idle_timeout_s
        self.dpi, self.jpeg_quality = dpi, jpeg_quality

    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        if not self.folder.is_dir():
            raise ScannerFault("offline", f"scan folder {self.folder} does not exist")
        cancel = cancel or threading.Event()
        self._set_aside_stale(time.time() - self.grace_s)
        seen: dict[str, _Seen] = {}
        inodes: dict[int, str] = {}  # inode → the name it was last seen under
        count, last_activity = 0, time.monotonic()
        while not cancel.is_set():
            ready, arriving = self._poll(seen, inodes)
            for path in ready:
                for page in self._read(path):
                    count += 1
                    yield page
                    if limit is not None and count >= limit:
                        return
            if ready or arriving:
                last_activity = time.monotonic()
            timeout = self.first_page_timeout_s if count == 0 else self.idle_timeout_s
            if time.monotonic() - last_activity > timeout:
                if count == 0:
                    raise ScannerFault("empty", f"no file arrived in {self.folder} within {timeout:.0f} s")
                return
            cancel.wait(self.poll_s)

    def close(self) -> None:
        pass

    def _poll(self, seen: dict[str, _Seen], inodes: dict[int, str]) -> tuple[list[Path], bool]:
        """(complete files, oldest first; whether any file is still arriving). `inodes` maps each inode to the
        name it had at the previous poll: the same inode under a new name was renamed into place."""
        now, ready, arriving, current = time.monotonic(), [], False, {}
        for entry in os.scandir(self.folder):
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            renamed_in = inodes.get(stat.st_ino, entry.name) != entry.name
            current[stat.st_ino] = entry.name
            if is_temporary(entry.name):
                arriving = True
                continue
            before = seen.get(entry.name)
            if before is None or (before.size, before.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                seen[entry.name] = before = _Seen(stat.st_size, stat.st_mtime_ns, now)
            settled = now - before.changed_at >= self.settle_s
            if stat.st_size > 0 and (renamed_in or settled) and self._whole(entry, now - before.changed_at):
                ready.append((stat.st_mtime_ns, entry.name))
                del seen[entry.name], current[stat.st_ino]  # taken and deleted: its inode may be reused
            else:
                arriving = True
        inodes.clear()
        inodes.update(current)
        return [self.folder / name for _, name in sorted(ready)], arriving

    def _whole(self, entry: os.DirEntry, still_for: float) -> bool:
        """The file ends the way its format ends (a writer that stalled longer than `settle_s` is not done); one
        that never does is taken after `idle_timeout_s` anyway, to be rejected as unreadable."""
        if still_for > self.idle_timeout_s:
            return True
        with open(entry.path, "rb") as source:
            source.seek(max(0, entry.stat().st_size - 1024))
            tail = source.read()
        kind = IMAGE_TYPES[Path(entry.name).suffix.lower()]
        if kind == "jpeg":
            return tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
        if kind == "pdf":
            return b"%%EOF" in tail
        if entry.name.lower().endswith(".png"):
            return b"IEND" in tail
        return True  # TIFF has no end marker: the settled size is all there is

    def _read(self, path: Path) -> list[ScannedPage]:
        data = path.read_bytes()
        try:
            pages = self._pages_of(path.suffix.lower(), data)
        except Exception as exc:  # a broken file: keep it for the staff, tell the visitor
            self._move(path, "rejected")
            raise ScannerFault("error", f"{path.name} cannot be read ({exc})") from exc
        path.unlink(missing_ok=True)
        return pages

    def _pages_of(self, suffix: str, data: bytes) -> list[ScannedPage]:
        kind = IMAGE_TYPES[suffix]
        if kind == "pdf":
            return self._pdf_pages(data)
        from PIL import Image, ImageSequence

        with Image.open(io.BytesIO(data)) as image:
            if kind == "jpeg" and image.format == "JPEG":  # kept byte for byte
                dpi = float(image.info.get("dpi", (self.dpi,))[0] or self.dpi)
                return [ScannedPage(data, image.width, image.height, dpi)]
            return [self._jpeg(frame.copy()) for frame in ImageSequence.Iterator(image)]

    def _pdf_pages(self, data: bytes) -> list[ScannedPage]:
        """A scanner's PDF: a page that is one JPEG is taken as it is; anything else is drawn at `dpi`."""
        import pymupdf

        pages = []
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            for page in doc:
                images = page.get_images()
                if len(images) == 1:
                    info = doc.extract_image(images[0][0])
                    if info.get("ext") in ("jpeg", "jpg") and page.rect.width > 0:
                        dpi = info["width"] * 72 / page.rect.width
                        pages.append(ScannedPage(info["image"], info["width"], info["height"], round(dpi, 1)))
                        continue
                pixmap = page.get_pixmap(dpi=int(self.dpi))
                jpeg = pixmap.tobytes("jpeg", jpg_quality=self.jpeg_quality)
                pages.append(ScannedPage(jpeg, pixmap.width, pixmap.height, self.dpi))
        if not pages:
            raise ValueError("the PDF has no pages")
        return pages

    def _jpeg(self, image) -> ScannedPage:
        dpi = float(image.info.get("dpi", (self.dpi,))[0] or self.dpi)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB" if image.mode in ("RGBA", "P", "CMYK", "LA") else "L")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=self.jpeg_quality, dpi=(dpi, dpi))
        return ScannedPage(buffer.getvalue(), image.width, image.height, dpi)

    def _set_aside_stale(self, before: float) -> None:
        for entry in os.scandir(self.folder):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                log.warning("scan folder: %s was there before the job started; moved to stale/", entry.name)
                self._move(Path(entry.path), "stale")

    def _move(self, path: Path, subfolder: str) -> None:
        target = self.folder / subfolder
        target.mkdir(exist_ok=True)
        os.replace(path, target / path.name)
