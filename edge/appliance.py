"""The running appliance: store, devices, queue and printer spooler, wired once and shared by the web app,
the button and the command line.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from edge import outbox
from edge.alerts import open_alerts, storage_alerts
from edge.calls import CallDesk
from edge.catalogue import CatalogueService
from edge.checkout import CheckoutService
from edge.complaints import ComplaintService
from edge.fetches import FetchService
from edge.lockers import LockerService
from edge.migrations import migrate
from edge.printing import TicketSpooler
from edge.privacy import PrivacyService
from edge.queue import PressGate
from edge.ratings import RatingService
from edge.scans import ScanService
from edge.settings import EdgeSettings
from edge.softcopy_requests import SoftcopyRequestService
from edge.store import BUSY_TIMEOUT_MS, EdgeStore, StoreUnavailable
from edge.tickets import QueueService, Ticket, local_iso
from edge.visits import CheckIn, VisitService
from edge.voice import VoiceCaller
from hardware.builder import Hardware, build_hardware
from hardware.drivers.escpos_database import keep_printer_database
from hardware.scanning import build_scanner
from pst import __version__
from pst.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class Appliance:
    def __init__(self, settings: EdgeSettings, clock: Clock | None = None, hardware: Hardware | None = None):
        self.settings = settings
        self.config = settings.config
        self.clock = clock or SystemClock()
        self._hardware = hardware
        self.gate = PressGate(self.config.queue.min_press_interval_s)
        self.store: EdgeStore | None = None

    def start(self) -> Appliance:
        self.store = EdgeStore(self.settings.db_path)
        # quick_check reads every page as integrity_check does but skips the index-to-table cross-check: about half
        # the time (a year of a busy desk, 140 MB: 0.27 s against 0.55 s here), and a Pi restarts sooner
        checked = self.store.check_at_start(quick=True)
        if checked != "ok":  # the appliance still starts: it shows what it has, says so, and refuses writes
            log.error("%s failed its integrity check (%s); writes are refused until `pst edge restore`",
                      self.store.path, checked.splitlines()[0])
        elif applied := migrate(self.store):
            log.info("migrations applied: %s", ", ".join(applied))
        if self._hardware is None:
            keep_printer_database(self.settings.data_dir / "cache")
        self.hardware = self._hardware or build_hardware(self.settings.hardware, self.config)
        self.queue = QueueService(self.store, self.config, self.clock)
        self.spooler = TicketSpooler(self.queue, self.hardware.printer, self.hardware.indicator, self.settings.public_url)
        self.spooler.start()
        self.hardware.button.on_press(self.press)
        self.visits = VisitService(self.store, self.queue, self.clock, self.config.desk.repeat_window_min)
        self.desk = CallDesk(self.store, self.queue, self.clock, self.announce)
        self.voice = VoiceCaller(self.settings.data_dir / "voice")
        self.lockers = LockerService(
            self.store, self.hardware.lockers, self.config.lockers, self.clock,
            secret_key(self.settings.data_dir, self.store.path),
        )
        self._unless_damaged(self.lockers.start)
        self.checkout = CheckoutService(self.store, self.lockers, self.clock)
        if self.hardware.scanner is None:
            self.hardware.scanner = build_scanner(self.settings.hardware, self.config.scanner, self.settings.data_dir)
        self.scans = ScanService(
            self.store, self.hardware.scanner, self.clock, self.config.office, self.settings.data_dir, self.queue.today,
            code_ttl=timedelta(minutes=self.config.scanner.code_ttl_min), max_pages=self.config.scanner.max_pages,
        )
        self._unless_damaged(self.scans.start_service)
        self.checkout.settlers.append(self.scans.settle)
        self.catalogue = CatalogueService(self.store, self.clock)
        self.fetches = FetchService(self.store, self.clock)
        self.checkout.settlers.append(self.fetches.settle)
        self.ratings = RatingService(self.store, self.clock)
        self.softcopy_requests = SoftcopyRequestService(self.store, self.clock)
        self.complaints = ComplaintService(self.store, self.clock, self.config.office.code, self.config.office.tz)
        self.privacy = PrivacyService(self.store, self.clock, self.config.privacy.identity_months,
                                      secret_key(self.settings.data_dir, self.store.path), self.settings.data_dir)
        self._watch = threading.Event()
        self._watcher = threading.Thread(target=self._periodic, name="appliance-periodic", daemon=True)
        self._watcher.start()
        return self

    def _unless_damaged(self, start_up: Callable[[], None]) -> None:
        """A start-up step that writes; on a damaged database it is skipped instead of stopping the start."""
        try:
            start_up()
        except (StoreUnavailable, sqlite3.DatabaseError):
            if self.store.state != "damaged":
                raise
            log.warning("%s skipped: the database is damaged", getattr(start_up, "__qualname__", start_up))

    def _periodic(self) -> None:
        """Once a second: overdue locker doors; once an hour: scan files past their keeping time, and the day's
        retention of personal data (edge.privacy; also a minute after start, so no install needs a timer)."""
        ticks = 0
        while not self._watch.wait(1.0):
            ticks += 1
            try:
                self.store.recheck_space()
                self.lockers.check_doors()
                if ticks % 3600 == 0:
                    self.scans.purge()
                if ticks % 3600 == 60:
                    self.privacy.daily(self.queue.today().isoformat())
            except Exception:  # a database hiccup must not stop the watch
                log.exception("periodic appliance check failed")

    def stop(self) -> None:
        self._watch.set()
        self._watcher.join(timeout=5)
        self.scans.stop()
        self.spooler.stop()
        self.hardware.close()
        self.store.close()

    def press(self) -> Ticket | None:
        """The physical button: one ticket per press, none for a press inside the minimum interval."""
        if not self.gate.accept(self.clock.monotonic()):
            return None
        try:
            return self.issue("button")
        except Exception:  # a press must never kill the GPIO callback thread
            log.exception("issuing a ticket from the button failed")
            return None

    def issue(self, source: str, service: str | None = None) -> Ticket:
        ticket = self.queue.issue(source, service)
        self.spooler.submit()
        return ticket

    def check_in(self, data: dict) -> CheckIn:
        """The guestbook; a visitor who came without a number gets one, printed like any other."""
        result = self.visits.check_in(data)
        if result.new_ticket:
            self.spooler.submit()
        return result

    def announce(self, event: dict) -> None:
        """Replaced by the web app with a fan-out to every display board."""
        self.publish(event)

    def publish(self, event: dict) -> None:
        log.debug("no display connected for %s", event)

    def board(self) -> dict:
        """What the display boards show: the latest calls and how many wait."""
        tz = self.config.office.tz
        today = self.queue.today()
        called = [t for t in self.queue.of_day(today) if t.called_at]
        called.sort(key=lambda t: t.called_at, reverse=True)
        recent = [
            {"number": t.number, "counter": t.counter, "called_at": local_iso(t.called_at, tz), "status": t.status}
            for t in called[:6]
        ]
        return {
            "current": recent[0] if recent else None,
            "recent": recent[1:],
            "waiting": len(self.queue.of_day(today, statuses=("waiting",))),
        }

    def health(self) -> dict:
        self.store.recheck_space()
        storage = self.store.state
        return {
            "status": "ok" if storage == "ok" else "degraded",
            "storage": storage,  # "full", "io" or "damaged": writes are refused (see storage_alerts)
            "version": __version__,
            "office": self.config.office.code,
            "hardware_mode": self.settings.hardware,
            "hardware": {
                "printer": self.spooler.state,
                "button": "sim" if self.settings.hardware == "sim" else "ok",
                "indicator": self.hardware.indicator.state,
                "scanner": self.scans.state,
            },
            "outbox_pending": self._unless_unreadable(lambda: outbox.backlog(self.store.read)),
            "alerts": len(storage_alerts(self.store) + (self._unless_unreadable(
                lambda: open_alerts(self.store.read)) or [])),
        }

    def _unless_unreadable(self, read: Callable[[], object]) -> object:
        """A read for the health answer; None where a damaged database cannot answer it."""
        try:
            return read()
        except sqlite3.DatabaseError:
            if self.store.state != "damaged":
                raise
            return None


def secret_key(data_dir: Path, db_path: Path | None = None) -> bytes:
    """The appliance's own key (locker ID-card hashes, CSRF, privacy tags). Since migration m012 it lives in the
    database (meta 'secret_key'), so a backup carries it to a new SD card and the cards held in the lockers still
    match. The file `secret.key` in the data folder is where a database not yet made or migrated takes it from
    (m012 copies it in): made on the very first start, never written over (an older key stays recoverable)."""
    kept = _database_key(db_path or data_dir / "edge.db")
    if kept is not None:
        return kept
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _database_key(db_path: Path) -> bytes | None:
    """The key kept in the database; None before migration m012 (or with no database yet, or a damaged one)."""
    if not db_path.exists():
        return None
    try:
        with closing(sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()
    except sqlite3.DatabaseError:  # no meta table yet, or a file the integrity check will refuse anyway
        return None
    return bytes.fromhex(row[0]) if row else None
