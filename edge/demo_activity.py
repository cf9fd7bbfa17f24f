"""A month of desk activity for the demo (`pst up`), so the reports have something to show on a fresh machine.

It goes through the appliance's own services with a manual clock moved through the office hours of past days:
button tickets, the guestbook, calls and service, lockers against an ID card, hardcopy fetched from storage,
self-service scans, checkout, SKM ratings and complaints. So every record is exactly what a real day makes, its
outbox event included (the sync carries them to the cloud). Fixed seed: every demo shows the same month.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import count

from edge.appliance import secret_key
from edge.calls import CallDesk
from edge.checkout import CheckoutService
from edge.complaints import ComplaintService
from edge.config import WEEKDAYS, ApplianceConfig
from edge.fetches import FetchError, FetchService
from edge.lockers import LockerError, LockerService
from edge.migrations import migrate
from edge.ratings import RatingService
from edge.scans import ScanService
from edge.settings import EdgeSettings
from edge.store import EdgeStore
from edge.tickets import QueueService
from edge.visits import VisitService
from hardware.scanning import ScannedPage, ScannerFault
from pst.clock import ManualClock, SystemClock

SEED = 7400
DAYS = 30
FIRST_NAMES = ("Wa Ode", "La Ode", "Andi", "Sitti", "Muh.", "Nur", "Rahmat", "Fitriani", "Asrul", "Hasniah",
               "Irwan", "Sri", "Yusuf", "Ayu", "Ramli", "Dewi", "Arman", "Nurul", "Hendra", "Rini", "Agus", "Wahyuni")
LAST_NAMES = ("Hamid", "Saputra", "Rahman", "Lestari", "Kadir", "Syamsuddin", "Amir", "Pratiwi", "Basri", "Mustafa",
              "Sari", "Hidayat", "Jufri", "Marzuki", "Halim", "Ningsih", "Tamrin", "Ahmad", "Salim", "Wijaya")
# occupation → (share of visitors, educations, institutions: None = left empty)
VISITORS = {
    "pelajar": (0.42, ("sma", "s1", "s1"), ("Universitas Halu Oleo", "Universitas Halu Oleo", "Universitas Halu Oleo",
                "IAIN Kendari", "Universitas Sulawesi Tenggara", "Universitas Muhammadiyah Kendari",
                "Politeknik Negeri Kendari", "SMA Negeri 1 Kendari")),
    "peneliti": (0.12, ("s2", "s2", "s3"), ("Universitas Halu Oleo", "IAIN Kendari", "BRIN Sulawesi Tenggara")),
    "asn": (0.2, ("s1", "s1", "s2", "diploma"), ("Bappeda Provinsi Sultra", "Dinas Kesehatan Provinsi Sultra",
            "Dinas Pendidikan Provinsi Sultra", "Pemerintah Kota Kendari", "Dinas Pertanian Kabupaten Konawe",
            "Bappeda Kota Kendari")),
    "bumn": (0.05, ("s1", "diploma"), ("Bank Sultra", "PLN UP3 Kendari", "Bank Mandiri Kendari")),
    "swasta": (0.07, ("s1", "sma", "diploma"), ("PT Virtue Dragon Nickel Industry", "CV Sultra Konsultan", None)),
    "wiraswasta": (0.05, ("sma", "s1"), (None, None, "Koperasi Nelayan Kendari")),
    "jurnalis": (0.05, ("s1",), ("Kendari Pos", "Sultra TV", "Kendari Ekspres", "Antara Sultra")),
    "lainnya": (0.04, ("sma", "s1"), (None,)),
}
PURPOSE_WEIGHTS = {"baca_tercetak": 0.55, "pustaka_digital": 0.3, "pindai": 0.25, "softcopy": 0.3, "lainnya": 0.05}
# element → chance of 4, 3, 2, 1: fees are nearly always "Gratis", waiting and facilities draw more criticism
SCORE_ODDS = {"U1": (45, 50, 5, 0), "U2": (40, 52, 8, 0), "U3": (30, 52, 15, 3), "U4": (90, 8, 2, 0),
              "U5": (40, 53, 7, 0), "U6": (50, 45, 5, 0), "U7": (60, 37, 3, 0), "U8": (35, 55, 9, 1),
              "U9": (30, 55, 13, 2)}
COMMENTS = ("Petugas ramah dan membantu.", "Mohon tambah colokan listrik di ruang baca.", "Pelayanan cepat, terima kasih.",
            "AC ruang baca kurang dingin.", "Publikasi yang saya cari lengkap.", "Wifi kadang lambat.")
COMPLAINTS = (  # (channel, text, staff response or None, status it reaches)
    ("langsung", "Antrian siang ini lama, hanya satu loket yang buka.", "Loket kedua kini dibuka pada jam sibuk.", "selesai"),
    ("kotak_saran", "Kursi di ruang baca kurang, beberapa pengunjung berdiri.", "Sudah ditambah enam kursi.", "selesai"),
    ("whatsapp", "Softcopy yang saya minta minggu lalu belum dikirim.", "Softcopy sudah dikirim ke e-mail Anda.", "selesai"),
    ("langsung", "Pemindai macet dua kali saat saya memindai.", "Teknisi dijadwalkan memeriksa pemindai.", "ditindaklanjuti"),
    ("email", "Data PDRB kabupaten tahun terbaru belum ada di perpustakaan.", None, "ditindaklanjuti"),
    ("kotak_saran", "Toilet pengunjung sering terkunci.", None, "diterima"),
    ("langsung", "Tidak ada petunjuk arah ke ruang baca dari pintu depan.", None, "diterima"),
)


class DeskLockers:
    """The lockers as the demo uses them: doors that open and shut when the generator says so (no pins)."""

    def __init__(self, numbers: tuple[int, ...]):
        self.numbers = numbers
        self._doors: dict[int, bool] = dict.fromkeys(numbers, False)
        self.callback: Callable[[int, bool], None] | None = None

    def unlock(self, number: int) -> None:
        pass

    def door_open(self, number: int) -> bool:
        return self._doors[number]

    def relay_active(self, number: int) -> bool:
        return False

    def on_door(self, callback: Callable[[int, bool], None]) -> None:
        self.callback = callback

    def close(self) -> None:
        pass


class FeederScanner:
    """A scanner whose feeder the generator loads before each job; a job may jam after some pages."""

    def __init__(self):
        import pymupdf

        pixmap = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 83, 117), False)
        pixmap.clear_with(235)
        self.jpeg = pixmap.tobytes("jpeg")
        self.waiting, self.jam_after = 0, None

    def pages(self, limit: int | None = None, cancel: threading.Event | None = None) -> Iterator[ScannedPage]:
        if not self.waiting:
            raise ScannerFault("empty")
        for number in range(min(self.waiting, limit or self.waiting)):
            if self.jam_after is not None and number == self.jam_after:
                self.waiting = 0
                raise ScannerFault("jammed")
            yield ScannedPage(self.jpeg, 83, 117, 10.0)  # A4 at 10 dpi: the demo's pages are tiny
        self.waiting = 0

    def close(self) -> None:
        pass


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    action: Callable[[], None] = field(compare=False)


class Month:
    """The services on one store and a manual clock; `run` plays a month of days through them."""

    def __init__(self, store: EdgeStore, config: ApplianceConfig, settings: EdgeSettings, start: datetime, seed: int):
        self.store, self.config, self.rng = store, config, random.Random(seed)
        self.clock = ManualClock(start)
        clock = self.clock
        self.queue = QueueService(store, config, clock)
        self.visits = VisitService(store, self.queue, clock, config.desk.repeat_window_min)
        self.desk = CallDesk(store, self.queue, clock, lambda event: None)
        self.bank = DeskLockers(tuple(locker.number for locker in config.lockers.bank))
        self.lockers = LockerService(store, self.bank, config.lockers, clock, secret_key(settings.data_dir, store.path))
        self.lockers.start()
        self.checkout = CheckoutService(store, self.lockers, clock)
        self.scanner = FeederScanner()
        self.scans = ScanService(store, self.scanner, clock, config.office, settings.data_dir, self.queue.today)
        self.fetches = FetchService(store, clock)
        self.checkout.settlers += [self.scans.settle, self.fetches.settle]
        self.ratings = RatingService(store, clock)
        self.complaints = ComplaintService(store, clock, config.office.code, config.office.tz)
        self.storage = [row[0] for row in store.read.execute(
            "SELECT id FROM publications WHERE location = 'storage' AND copies > 0 ORDER BY id")]
        row = store.read.execute("SELECT id FROM users ORDER BY created_at LIMIT 1").fetchone()
        self.staff = row[0] if row else None
        self.events: list[Event] = []
        self._order = count()
        self._emails = count(1)

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, Event(when, next(self._order), action))

    def run(self, days: list[date]) -> None:
        for day in days:
            self._plan_day(day)
        self._plan_complaints(days)
        while self.events:
            event = heapq.heappop(self.events)
            self.clock.set(event.at)
            event.action()

    # --- a day at the desk -------------------------------------------------------------------------------------
    def _plan_day(self, day: date) -> None:
        tz = self.config.office.tz
        opens, closes = self.config.hours[WEEKDAYS[day.weekday()]]
        start = datetime.combine(day, opens, tz)
        last = datetime.combine(day, closes, tz) - timedelta(minutes=75)
        visitors = self.rng.randint(9, 22) + (4 if day.weekday() == 0 else 0)
        arrivals = sorted(start + timedelta(seconds=self.rng.uniform(0, (last - start).total_seconds()))
                          for _ in range(visitors))
        check_ins = sorted((arrival, arrival + timedelta(seconds=self.rng.uniform(40, 200))) for arrival in arrivals)
        previous_call = start
        for number, (arrival, check_in) in enumerate(sorted(check_ins, key=lambda pair: pair[1])):
            call = max(check_in + timedelta(seconds=self._wait()), previous_call + timedelta(seconds=20))
            previous_call = call
            visit = VisitPlan(self, check_in, call, counter=1 + number % self.config.desk.counters)
            self.at(arrival, visit.take_ticket)

    def _wait(self) -> float:
        """Mostly well inside the standard, now and then past it (a busy hour, a long question at the counter)."""
        roll = self.rng.random()
        if roll < 0.84:
            return self.rng.uniform(20, 250)
        if roll < 0.95:
            return self.rng.uniform(250, 420)
        return self.rng.uniform(420, 840)

    def guest(self) -> dict:
        occupation = self.rng.choices(list(VISITORS), [share for share, _, _ in VISITORS.values()])[0]
        _, educations, institutions = VISITORS[occupation]
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        purposes = [code for code, chance in PURPOSE_WEIGHTS.items() if self.rng.random() < chance] or ["baca_tercetak"]
        handle = f"{first}.{last}".lower().replace(" ", "").replace("..", ".")
        return {
            "name": f"{first} {last}", "gender": "P" if first in ("Wa Ode", "Sitti", "Nur", "Fitriani", "Hasniah", "Sri",
                                                                  "Ayu", "Dewi", "Nurul", "Rini", "Wahyuni") else "L",
            "age": self.rng.randint(18, 24) if occupation == "pelajar" else self.rng.randint(24, 58),
            "education": self.rng.choice(educations), "occupation": occupation,
            "institution": self.rng.choice(institutions), "email": f"{handle}{next(self._emails)}@example.id",
            "purposes": purposes, "id_type": "KTM" if occupation == "pelajar" and self.rng.random() < 0.5 else "KTP",
        }

    def scores(self) -> dict[str, int]:
        return {code: self.rng.choices((4, 3, 2, 1), odds)[0] for code, odds in SCORE_ODDS.items()}

    # --- complaints over the month -------------------------------------------------------------------------------
    def _plan_complaints(self, days: list[date]) -> None:
        tz = self.config.office.tz
        for index, (channel, text, response, status) in enumerate(COMPLAINTS):
            day = days[min(len(days) - 1, int(index * len(days) / len(COMPLAINTS)))]
            when = datetime.combine(day, time(10), tz) + timedelta(minutes=self.rng.randint(0, 300))
            self.at(when, lambda c=channel, t=text, r=response, s=status: self._complain(c, t, r, s))

    def _complain(self, channel: str, text: str, response: str | None, status: str) -> None:
        staff = self.staff if channel not in ("langsung", "kotak_saran") else None
        if staff is None and channel not in ("langsung", "kotak_saran"):
            channel = "kotak_saran"
        complaint = self.complaints.submit(channel, text, None, staff)
        follow_up = self.clock.now() + timedelta(hours=self.rng.uniform(2, 20))
        handler = self.staff or "petugas"
        if status in ("ditindaklanjuti", "selesai"):
            self.at(follow_up, lambda: self.complaints.advance(complaint["id"], "ditindaklanjuti", handler))
        if status == "selesai":
            done = follow_up + timedelta(hours=self.rng.uniform(4, 60))
            self.at(done, lambda: self.complaints.advance(complaint["id"], "selesai", handler, response))


class VisitPlan:
    """One visitor's day, step by step; each step schedules the next."""

    def __init__(self, month: Month, check_in: datetime, call: datetime, counter: int):
        self.month, self.rng = month, month.rng
        self.check_in_at, self.call_at, self.counter = check_in, call, counter
        self.guest = month.guest()
        self.id_number = "".join(str(self.rng.randint(0, 9)) for _ in range(16 if self.guest["id_type"] == "KTP" else 10))

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        self.month.at(self.month.clock.now() + timedelta(seconds=seconds), action)

    def take_ticket(self) -> None:
        self.ticket = self.month.queue.issue("button")
        self.month.queue.record_print(self.ticket.id, "printed")
        self.month.at(self.check_in_at, self.fill_guestbook)

    def fill_guestbook(self) -> None:
        self.visit = self.month.visits.check_in(self.guest | {"ticket_number": self.ticket.number}).visit
        self.month.at(self.call_at, self.called)

    def called(self) -> None:
        ticket = self.month.desk.call_next(self.counter, self.month.staff)
        if ticket is not None and ticket.id != self.ticket.id:  # cannot happen with calls in check-in order
            raise RuntimeError(f"called {ticket.number} instead of {self.ticket.number}")
        self.later(self.rng.uniform(10, 45), self.served)

    def served(self) -> None:
        self.month.desk.act(self.ticket.id, "serve", self.month.staff, self.counter)
        try:
            self.locker = self.month.lockers.assign(self.visit["id"], self.guest["id_type"], self.id_number,
                                                    self.month.staff)
        except LockerError:  # every locker taken: the visitor keeps the bag
            self.locker = None
        if self.locker is not None:
            self.month.lockers.door_changed(self.locker, True)
            self.month.lockers.door_changed(self.locker, False)
        stay = self.rng.uniform(12, 70) * 60
        if "baca_tercetak" in self.guest["purposes"] and self.month.storage and self.rng.random() < 0.6:
            self.later(self.rng.uniform(120, 400), self.ask_hardcopy)
        if "pindai" in self.guest["purposes"] and self.rng.random() < 0.4:
            self.later(self.rng.uniform(400, stay - 120), self.scan)
        self.later(stay, self.leave)

    def ask_hardcopy(self) -> None:
        for publication in self.rng.sample(self.month.storage, self.rng.choice((1, 1, 2))):
            try:
                request = self.month.fetches.request(self.visit["id"], publication, self.month.staff)
            except FetchError:
                continue
            fetched = self.rng.random() > 0.08
            self.later(self.rng.uniform(180, 600), lambda r=request["id"], ok=fetched: self.fetch(r, ok))

    def fetch(self, request_id: str, found: bool) -> None:
        try:
            self.month.fetches.advance(request_id, "diambil" if found else "tidak_tersedia", self.month.staff)
            if found:
                self.month.fetches.advance(request_id, "diserahkan", self.month.staff)
        except FetchError:  # another visitor holds the last copy, or the visitor already left
            pass

    def scan(self) -> None:
        scanner = self.month.scanner
        scanner.waiting = self.rng.randint(2, 30)
        scanner.jam_after = self.rng.randint(1, scanner.waiting - 1) if self.rng.random() < 0.06 else None
        job = self.month.scans.start(visit_id=self.visit["id"])
        self.month.scans.wait(job)

    def leave(self) -> None:
        self.month.checkout.checkout(self.visit["id"], self.id_number if self.locker else None)
        if self.locker is not None:
            self.month.lockers.door_changed(self.locker, True)
            self.month.lockers.door_changed(self.locker, False)
        if self.rng.random() < 0.55:
            self.later(self.rng.uniform(30, 120), self.rate)

    def rate(self) -> None:
        comment = self.rng.choice(COMMENTS) if self.rng.random() < 0.2 else None
        self.month.ratings.submit(self.visit["id"], self.month.scores(), comment, "kiosk")


def office_days(config: ApplianceConfig, until: date, days: int = DAYS) -> list[date]:
    """The opening days among the `days` calendar days before `until` (not `until` itself)."""
    span = [until - timedelta(days=n) for n in range(days, 0, -1)]
    return [day for day in span if config.hours.get(WEEKDAYS[day.weekday()])]


def generate_activity(store: EdgeStore, settings: EdgeSettings, until: date, days: int = DAYS, seed: int = SEED) -> int:
    """Plays `days` days before `until` through the services; returns how many visits were made."""
    config = settings.config
    opening = office_days(config, until, days)
    if not opening:
        return 0
    first = datetime.combine(opening[0], time(7), config.office.tz)
    with store.writer() as db:
        # Thousands of small commits: in WAL mode NORMAL syncs at checkpoints only, still never a corrupt file
        # after a power cut (a cut loses the demo month's last commits, nothing more); per connection, so the
        # appliance's own FULL is untouched.
        db.execute("PRAGMA synchronous = NORMAL")
    month = Month(store, config, settings, first, seed)
    try:
        month.run(opening)
    finally:
        month.scans.stop()
        with store.writer() as db:
            db.execute("PRAGMA synchronous = FULL")
    return store.read.execute("SELECT count(*) FROM visits").fetchone()[0]


def ensure_demo_activity(settings: EdgeSettings) -> int:
    """For `pst up`: a month of activity when the appliance has no visits yet; how many visits were added."""
    store = EdgeStore(settings.db_path)
    try:
        store.ensure_sound()
        migrate(store)
        if store.read.execute("SELECT 1 FROM visits LIMIT 1").fetchone():
            return 0
        today = SystemClock().now().astimezone(settings.config.office.tz).date()
        # the month's few jammed scans are part of the story the reports tell, not faults to print at the demo's start
        scans_log = logging.getLogger("edge.scans")
        level = scans_log.level
        scans_log.setLevel(logging.ERROR)
        try:
            return generate_activity(store, settings, today)
        finally:
            scans_log.setLevel(level)
    finally:
        store.close()
