"""Scanner drivers against real things: SANE's `test` backend through python-sane (a private SANE_CONFIG_DIR that
loads it alone), and a real folder that files are dropped into the way network scanners write them."""

from __future__ import annotations

import io
import os
import queue
import threading
import time

import pytest
from PIL import Image

from hardware.scanning import ScannedPage, ScannerFault

INSTALL_HINT = (
    "python-sane and SANE's `test` backend are needed: `make test` installs them "
    "(Debian libsane1 + libsane-dev + sane-utils, then pip install python-sane)"
)


def require_sane(config_dir) -> None:
    """Fail, never skip, when SANE or its test backend is missing."""
    try:
        import sane  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"{INSTALL_HINT}: {exc}")
    from hardware.drivers import sane_scanner
    from hardware.sim.scanner_feed import sane_config_dir

    sane_scanner._init(str(sane_config_dir(config_dir)))
    names = [device[0] for device in sane.get_devices()]
    if "test:0" not in names:
        pytest.fail(f"{INSTALL_HINT}: SANE lists {names or 'no device'}")


@pytest.fixture
def feeder(tmp_path):
    from hardware.sim.scanner_feed import SimFeeder

    require_sane(tmp_path / "sane")
    return SimFeeder(tmp_path / "sane")


def decoded(page: ScannedPage) -> Image.Image:
    image = Image.open(io.BytesIO(page.jpeg))
    image.load()
    return image


def test_the_sane_test_backend_gives_three_pages_as_jpeg_images(tmp_path):
    from hardware.drivers.sane_scanner import SaneScanner

    require_sane(tmp_path / "sane")
    scanner = SaneScanner("test:0", source="ADF", resolution=150, config_dir=str(tmp_path / "sane"))
    pages = list(scanner.pages(limit=3))
    assert len(pages) == 3
    for page in pages:
        image = decoded(page)
        assert (image.format, image.mode, page.dpi) == ("JPEG", "RGB", 150.0)
        # A4 asked for; the test backend's area stops at 200 mm: 200 mm at 150 dpi
        assert image.size == (page.width, page.height) == (1181, 1181)


def test_the_sim_feeder_stops_after_the_pages_it_holds(feeder):
    feeder.feed(3)
    assert len(list(feeder.pages())) == 3 and feeder.waiting == 0
    feeder.feed(12)  # more than the test backend's batch of 10 sheets
    assert len(list(feeder.pages())) == 12
    feeder.feed(4)
    assert len(list(feeder.pages(limit=2))) == 2 and feeder.waiting == 2


def test_an_empty_feeder_is_a_fault_of_its_own(feeder):
    with pytest.raises(ScannerFault) as fault:
        list(feeder.pages())
    assert fault.value.kind == "empty"


def test_a_jam_comes_from_sane_after_the_pages_before_it(feeder):
    feeder.feed(5, jam_after=2)
    taken = []
    with pytest.raises(ScannerFault) as fault:
        for page in feeder.pages():
            taken.append(page)
    assert fault.value.kind == "jammed" and "jammed" in str(fault.value)
    assert len(taken) == 2 and feeder.waiting == 3  # the jammed sheet is still in the feeder
    assert len(list(feeder.pages())) == 3  # jam cleared: the next job takes the rest


def test_a_missing_device_is_offline(tmp_path):
    from hardware.drivers.sane_scanner import SaneScanner

    require_sane(tmp_path / "sane")
    with pytest.raises(ScannerFault) as fault:
        list(SaneScanner("test:7", config_dir=str(tmp_path / "sane")).pages())
    assert fault.value.kind == "offline"


def test_cancel_stops_between_pages(feeder):
    feeder.feed(6)
    cancel = threading.Event()
    taken = []
    for page in feeder.pages(cancel=cancel):
        taken.append(page)
        cancel.set()
    assert len(taken) == 1 and feeder.waiting == 5


# --- hot folder ------------------------------------------------------------------------------------------------


def jpeg(colour: str = "white", size=(620, 877)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=80, dpi=(150, 150))
    return buffer.getvalue()


class Job:
    """A hot-folder job running in its own thread, as the scan service runs it."""

    def __init__(self, scanner, limit=None):
        self.pages: queue.Queue = queue.Queue()
        self.cancel = threading.Event()
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(scanner, limit), daemon=True)
        self.thread.start()

    def _run(self, scanner, limit):
        try:
            for page in scanner.pages(limit=limit, cancel=self.cancel):
                self.pages.put(page)
        except Exception as exc:
            self.error = exc

    def next(self, timeout: float) -> ScannedPage | None:
        try:
            return self.pages.get(timeout=timeout)
        except queue.Empty:
            return None

    def finish(self, timeout: float = 5) -> None:
        self.cancel.set()
        self.thread.join(timeout)


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "pindai"
    path.mkdir()
    return path


def hot_folder(folder, **options):
    from hardware.drivers.hot_folder import HotFolder

    defaults = {"settle_s": 0.4, "poll_s": 0.05, "first_page_timeout_s": 10, "idle_timeout_s": 10}
    return HotFolder(folder, **(defaults | options))


def test_a_file_still_being_written_is_taken_only_when_complete(folder):
    data = jpeg()
    job = Job(hot_folder(folder))
    half = len(data) // 2
    with open(folder / "scan-001.jpg", "wb") as out:
        for start in range(0, half, 512):  # a slow network write: still growing, never settled
            out.write(data[start:min(start + 512, half)])
            out.flush()
            assert job.next(timeout=0.03) is None
        # the writer stalls longer than settle_s: the size is stable, but a JPEG without its end is not complete
        assert job.next(timeout=1.0) is None
        out.write(data[half:])
    page = job.next(timeout=3)
    job.finish()
    assert page is not None and page.jpeg == data  # the JPEG is kept byte for byte
    assert not (folder / "scan-001.jpg").exists()


def test_a_file_renamed_into_place_is_taken_at_once(folder):
    job = Job(hot_folder(folder, settle_s=60))
    temporary = folder / ".scan-002.jpg.part"
    temporary.write_bytes(jpeg("grey"))
    time.sleep(0.2)  # the scanner writes under a temporary name for a while
    assert job.next(timeout=0.1) is None
    started = time.monotonic()
    os.rename(temporary, folder / "scan-002.jpg")
    page = job.next(timeout=3)
    job.finish()
    assert page is not None and time.monotonic() - started < 2  # no 60 s wait for a settled size


def test_pdf_png_and_tiff_drops_become_pages_in_order(folder):
    from pst.pdfstamp import images_to_pdf

    originals = [jpeg("white"), jpeg("black")]
    pdf = images_to_pdf(originals).tobytes()
    (folder / "a.pdf").write_bytes(pdf)
    time.sleep(0.02)
    Image.new("RGBA", (300, 400), "red").save(folder / "b.png")
    time.sleep(0.02)
    Image.new("L", (300, 400), 128).save(folder / "c.tiff")
    job = Job(hot_folder(folder, settle_s=0.1), limit=4)
    pages = [job.next(timeout=3) for _ in range(4)]
    job.finish()
    assert [p.jpeg for p in pages[:2]] == originals  # a scanner's PDF page that is one JPEG is taken as it is
    assert [decoded(p).size for p in pages[2:]] == [(300, 400), (300, 400)]
    assert list(folder.glob("*.*")) == []


def test_files_left_from_before_the_job_are_set_aside(folder):
    old = folder / "someone-else.jpg"
    old.write_bytes(jpeg())
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    job = Job(hot_folder(folder, first_page_timeout_s=0.5))
    job.thread.join(5)
    assert isinstance(job.error, ScannerFault) and job.error.kind == "empty"
    assert job.pages.empty() and (folder / "stale" / "someone-else.jpg").exists()


@pytest.mark.parametrize(
    "content, options",
    [(b"\xff\xd8 not really a jpeg \xff\xd9", {}), (b"\xff\xd8 cut off for good", {"idle_timeout_s": 0.5})],
    ids=["corrupt", "never-finished"],
)
def test_an_unreadable_file_is_a_fault_and_is_kept_for_the_staff(folder, content, options):
    (folder / "broken.jpg").write_bytes(content)
    job = Job(hot_folder(folder, settle_s=0.1, **options))
    job.thread.join(5)
    assert isinstance(job.error, ScannerFault) and job.error.kind == "error"
    assert (folder / "rejected" / "broken.jpg").exists()


def test_the_job_ends_when_no_page_comes_for_a_while(folder):
    (folder / "1.jpg").write_bytes(jpeg())
    job = Job(hot_folder(folder, settle_s=0.1, idle_timeout_s=0.3))
    job.thread.join(5)
    assert not job.thread.is_alive() and job.error is None and job.pages.qsize() == 1


def test_a_missing_folder_is_offline(tmp_path):
    with pytest.raises(ScannerFault) as fault:
        list(hot_folder(tmp_path / "nowhere").pages())
    assert fault.value.kind == "offline"
