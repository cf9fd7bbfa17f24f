"""A document scanner with an automatic document feeder (ADF), through SANE (python-sane).

Wiring and setup on the Pi:
- USB scanners: plug into the Pi (a powered USB hub for scanners that draw more than the Pi's ports give); network
  scanners that speak eSCL/AirScan or WSD are found by the `sane-airscan` backend on the office LAN.
- `apt install libsane1 sane-utils` (+ the vendor's backend if SANE does not ship one), then `scanimage -L` lists
  the devices: put the name it prints (e.g. `fujitsu:fi-7160:12345` or `airscan:e0:EPSON DS-530`) in the appliance
  TOML as `[scanner] device`. The user running the appliance must be in the `scanner` group (udev rule of libsane1).
- `scanimage -d DEVICE --source ADF --resolution 150 --batch=/tmp/p%d.pnm` proves the feeder works before the
  appliance is involved.

SANE is one library state per process and its backends are not thread-safe: every job holds one module-wide lock
from opening the device to closing it. Library errors become `ScannerFault` kinds.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator

import sane

from hardware.scanning import ScannedPage, ScannerFault, ScannerState

_LOCK = threading.Lock()
_session: dict[str, object] = {"ready": False, "config_dir": None}
FEEDER_WORDS = ("adf", "feeder", "automatic")
# sane_strstatus() texts, as python-sane raises them
OUT_OF_DOCUMENTS = "Document feeder out of documents"
STATUS_KINDS: dict[str, ScannerState] = {
    "Document feeder jammed": "jammed",
    "Scanner cover is open": "cover_open",
    "Device busy": "busy",
    "Error during device I/O": "offline",
    "Access to resource has been denied": "offline",
}


def _init(config_dir: str | None) -> None:
    """(Re)start SANE, reading its configuration from `config_dir` when one is given (the simulator's own)."""
    if _session["ready"] and _session["config_dir"] == config_dir:
        return
    if _session["ready"]:
        sane.exit()
        _session["ready"] = False
    if config_dir is not None:
        os.environ["SANE_CONFIG_DIR"] = config_dir  # read by sane_init and by the backends it loads
    try:
        sane.init()
    except sane._sane.error as exc:
        raise ScannerFault("offline", f"SANE could not start: {exc}") from exc
    _session.update(ready=True, config_dir=config_dir)


def fault(exc: Exception, device: str) -> ScannerFault:
    kind = STATUS_KINDS.get(str(exc), "error")
    return ScannerFault(kind, f"{device}: {exc}")


class SaneScanner:
    """`pages()` feeds the ADF sheet by sheet and yields each page as a JPEG as soon as it is read."""

    def __init__(
        self, device: str, source: str = "ADF", resolution: int = 150, mode: str = "Color",
        page_mm: tuple[float, float] = (210.0, 297.0), jpeg_quality: int = 80, config_dir: str | None = None,
    ):
        if not device:
            raise ValueError("a SANE device name is needed (see `scanimage -L`)")
        self.device, self.source, self.resolution, self.mode = device, source, resolution, mode
        self.page_mm, self.jpeg_quality, self.config_dir = page_mm, jpeg_quality, config_dir
        self.feeder = True

    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        with _LOCK:
            _init(self.config_dir)
            try:
                dev = sane.open(self.device)
            except sane._sane.error as exc:
                raise ScannerFault("offline", f"{self.device}: cannot open ({exc})") from exc
            try:
                self._configure(dev)
                yield from self._feed(dev, limit, cancel)
            finally:
                self._settle()
                _quietly(dev.cancel)
                _quietly(dev.close)

    def close(self) -> None:
        pass  # the device is opened per job

    def _feed(self, dev, limit: int | None, cancel: threading.Event | None) -> Iterator[ScannedPage]:
        count, dry = 0, False
        while limit is None or count < limit:
            if cancel is not None and cancel.is_set():
                return
            self._before_page(dev, count)
            try:
                dev.start()
                image = dev.snap(no_cancel=True)  # no cancel between sheets: the feeder goes on to the next one
            except sane._sane.error as exc:
                if str(exc) != OUT_OF_DOCUMENTS:
                    raise fault(exc, self.device) from exc
                if not dry and self._feed_more(count):
                    dry = True  # one more try after an empty feeder, never a loop
                    continue
                if count == 0:
                    raise ScannerFault("empty", f"{self.device}: no paper in the feeder") from exc
                return
            dry = False
            count += 1
            yield self._page(image)
            self._after_page(count)
            if not self.feeder:
                return  # a flatbed gives one page per job

    def _feed_more(self, count: int) -> bool:
        """After the feeder runs dry: try again? (A real feeder is done; the simulator refills its batch.)"""
        return False

    def _before_page(self, dev, index: int) -> None:
        pass

    def _settle(self) -> None:
        """Before the device is cancelled: let the backend finish what it was doing (see the simulator)."""

    def _after_page(self, count: int) -> None:
        pass

    def _page(self, image) -> ScannedPage:
        if image.mode not in ("RGB", "L"):
            image = image.convert("L" if image.mode in ("1", "I;16", "I") else "RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=self.jpeg_quality, dpi=(self.resolution, self.resolution))
        return ScannedPage(buffer.getvalue(), image.width, image.height, float(self.resolution))

    def _configure(self, dev) -> None:
        """Source, colour mode, resolution and page area, matched to the names and ranges this backend offers."""
        source = _choose(dev, "source", self.source, feeder=self.source.lower() in ("adf", "feeder"))
        self.feeder = source is None or any(word in source.lower() for word in FEEDER_WORDS)
        mode = _choose(dev, "mode", self.mode)
        if mode and mode.lower() != "lineart":
            set_option(dev, "depth", 8)
        set_option(dev, "resolution", _nearest(dev, "resolution", self.resolution))
        set_option(dev, "tl_x", 0.0)
        set_option(dev, "tl_y", 0.0)
        for name, size in (("br_x", self.page_mm[0]), ("br_y", self.page_mm[1])):
            set_option(dev, name, min(size, _maximum(dev, name, size)))


def _usable(dev, name: str):
    option = dev.opt.get(name)
    if option is None or not option.is_active() or not option.is_settable():
        return None
    return option


def set_option(dev, name: str, value) -> None:
    if _usable(dev, name) is None:
        return
    try:
        setattr(dev, name, value)
    except (sane._sane.error, AttributeError, TypeError) as exc:
        raise ScannerFault("error", f"{dev.devname}: cannot set {name} to {value!r} ({exc})") from exc


def _choose(dev, name: str, wanted: str, feeder: bool = False) -> str | None:
    """The backend's own spelling of `wanted` ("Color" vs "Colour", "ADF" vs "Automatic Document Feeder")."""
    option = _usable(dev, name)
    if option is None or not isinstance(option.constraint, list):
        return None
    choices = [c for c in option.constraint if isinstance(c, str)]
    exact = [c for c in choices if c.lower() == wanted.lower()]
    loose = [c for c in choices if wanted.lower() in c.lower() or c.lower().startswith(wanted.lower()[:4])]
    if feeder:  # a duplex source ("ADF Duplex") only when nothing simpler is offered
        loose = sorted((c for c in choices if any(w in c.lower() for w in FEEDER_WORDS)), key=lambda c: "duplex" in c.lower())
    picked = (exact or loose or [None])[0]
    if picked is None:
        raise ScannerFault("error", f"{dev.devname}: no {name} like {wanted!r} (offers {', '.join(choices)})")
    set_option(dev, name, picked)
    return picked


def _nearest(dev, name: str, wanted: int):
    option = _usable(dev, name)
    constraint = option.constraint if option is not None else None
    if isinstance(constraint, list) and constraint:
        return min(constraint, key=lambda value: abs(value - wanted))
    if isinstance(constraint, tuple):
        return min(max(wanted, constraint[0]), constraint[1])
    return wanted


def _maximum(dev, name: str, default: float) -> float:
    option = _usable(dev, name)
    if option is not None and isinstance(option.constraint, tuple):
        return float(option.constraint[1])
    return default


def _quietly(action) -> None:
    try:
        action()
    except Exception:  # closing a device that already failed must not hide the first error
        pass
