"""The appliance's wiring and identity, read from a TOML file (`PST_EDGE_CONFIG`).

Every value is checked when the file is read, and an error names the file and the key, so a technician at the desk
can fix `printer.port` without reading a traceback. Without a file the appliance runs with `default.toml`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hardware.scanning import ScannerConfig

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRINTER_KINDS = ("usb", "serial", "network", "none")


class ConfigError(ValueError):
    """A bad appliance configuration; the message names the file and the key."""


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    address: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Pins:
    """BCM pin numbers. The button is wired between its pin and ground (internal pull-up)."""

    button: int
    led: int
    buzzer: int | None
    bounce_ms: int
    hold_s: float


@dataclass(frozen=True)
class PrinterConnection:
    kind: str  # usb | serial | network | none
    usb_vendor: int = 0
    usb_product: int = 0
    serial_device: str = ""
    baudrate: int = 19200
    host: str = ""
    port: int = 9100
    timeout_s: float = 2.0
    profile: str = "TM-T88V"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    prefix: str


@dataclass(frozen=True)
class QueueRules:
    reset_at: str  # "opening" or "HH:MM" office time
    min_press_interval_s: float
    button_service: str
    reprint_window_min: int  # a waiting ticket is reprinted when the printer returns within this many minutes


@dataclass(frozen=True)
class DeskRules:
    counters: int  # loket numbers 1..counters
    repeat_window_min: int  # a second guestbook entry with the same e-mail within this is the same visit


@dataclass(frozen=True)
class Locker:
    """One locker door: a relay (through a driver board) pulses the lock open; a reed switch reports the door."""

    number: int
    relay_pin: int
    door_pin: int
    relay_active_high: bool = True
    door_closed_low: bool = True  # reed switch to GND with the pull-up: closed reads low


@dataclass(frozen=True)
class LockerRules:
    pulse_s: float = 0.5
    # unlocked but the door not opened this long: the visitor has not come (they may take a minute or two to walk
    # over), or the relay or lock is stuck
    open_timeout_s: float = 180.0
    close_timeout_s: float = 300.0  # a door left open this long is reported
    bank: tuple[Locker, ...] = ()


@dataclass(frozen=True)
class PrivacyRules:
    """What UU No. 27/2022 (Pelindungan Data Pribadi) asks of the office as controller: how long identities are kept,
    and whom a visitor asks about their data (shown in the guestbook's notice and on /privasi)."""

    identity_months: int = 24  # visits older than this keep their statistics, not who made them (edge.privacy)
    contact: str = ""


@dataclass(frozen=True)
class ApplianceConfig:
    office: Office
    pins: Pins
    printer: PrinterConnection
    services: tuple[Service, ...]
    queue: QueueRules
    desk: DeskRules = DeskRules(counters=2, repeat_window_min=240)
    lockers: LockerRules = LockerRules()
    scanner: ScannerConfig = ScannerConfig()
    hours: dict[str, tuple[time, time] | None] = field(default_factory=dict)
    public_url: str = ""
    privacy: PrivacyRules = PrivacyRules()
    source: str = "default.toml"

    def service(self, code: str) -> Service:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(code)


def load_config(path: str | Path | None = None) -> ApplianceConfig:
    """Read and check the appliance TOML; `None` reads the built-in default."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "<config>") -> ApplianceConfig:
    reader = _Reader(raw, source)
    services = _services(reader)
    queue = QueueRules(
        reset_at=reader.str("queue.reset_at", "opening", pattern=r"opening|([01]\d|2[0-3]):[0-5]\d"),
        min_press_interval_s=reader.number("queue.min_press_interval_s", 2.0, low=0, high=60),
        button_service=reader.str("queue.button_service", services[0].code),
        reprint_window_min=int(reader.number("queue.reprint_window_min", 60, low=0, high=24 * 60)),
    )
    if queue.button_service not in {s.code for s in services}:
        reader.fail("queue.button_service", f"no service with code {queue.button_service!r}")
    config = ApplianceConfig(
        office=_office(reader),
        pins=_pins(reader),
        printer=_printer(reader),
        services=services,
        queue=queue,
        desk=DeskRules(
            counters=int(reader.number("desk.counters", 2, low=1, high=20, integer=True)),
            repeat_window_min=int(reader.number("desk.repeat_window_min", 240, low=0, high=24 * 60, integer=True)),
        ),
        hours=_hours(reader),
        lockers=_lockers(reader),
        scanner=_scanner(reader),
        public_url=reader.str("appliance.public_url", "", pattern=r"(https?://\S+)?").rstrip("/"),
        privacy=PrivacyRules(
            identity_months=int(reader.number("privacy.identity_months", 24, low=1, high=120, integer=True)),
            contact=" ".join(reader.str("privacy.contact", "").split())[:200],
        ),
        source=source,
    )
    reader.reject_unknown()
    return config


def _office(r: _Reader) -> Office:
    tz = r.str("office.timezone", "Asia/Makassar")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("office.timezone", f"unknown time zone {tz!r} (for Kendari: Asia/Makassar)")
    return Office(
        code=r.str("office.code", pattern=r"\d{4}"),
        name=r.str("office.name"),
        address=r.str("office.address", ""),
        timezone=tz,
    )


def _pins(r: _Reader) -> Pins:
    buzzer = r.get("pins.buzzer", None)
    return Pins(
        button=int(r.number("pins.button", 17, low=0, high=27, integer=True)),
        led=int(r.number("pins.led", 27, low=0, high=27, integer=True)),
        buzzer=None if buzzer is None else int(r.number("pins.buzzer", low=0, high=27, integer=True)),
        bounce_ms=int(r.number("pins.button_bounce_ms", 50, low=0, high=1000, integer=True)),
        hold_s=r.number("pins.button_hold_s", 1.0, low=0.1, high=30),
    )


def _printer(r: _Reader) -> PrinterConnection:
    kind = r.str("printer.connection", "network", choices=PRINTER_KINDS)
    conn = PrinterConnection(
        kind=kind,
        usb_vendor=int(r.number("printer.usb_vendor", 0, low=0, high=0xFFFF, integer=True)),
        usb_product=int(r.number("printer.usb_product", 0, low=0, high=0xFFFF, integer=True)),
        serial_device=r.str("printer.serial_device", ""),
        baudrate=int(r.number("printer.baudrate", 19200, low=1200, high=921600, integer=True)),
        host=r.str("printer.host", ""),
        port=int(r.number("printer.port", 9100, low=1, high=65535, integer=True)),
        timeout_s=r.number("printer.timeout_s", 2.0, low=0.1, high=60),
        profile=r.str("printer.profile", "TM-T88V"),
    )
    required = {"usb": ("usb_vendor", "usb_product"), "serial": ("serial_device",), "network": ("host",)}
    for name in required.get(kind, ()):
        if not getattr(conn, name):
            r.fail(f"printer.{name}", f"required when printer.connection is {kind!r}")
    return conn


def _services(r: _Reader) -> tuple[Service, ...]:
    items = r.get("services", None)
    if items is None:
        return (Service(code="A", name="Perpustakaan", prefix="A"),)
    if not isinstance(items, list) or not items:
        r.fail("services", "must be a non-empty list of [[services]] tables")
    services = []
    for i, item in enumerate(items):
        key = f"services[{i}]"
        if not isinstance(item, dict):
            r.fail(key, "must be a table with code, name and prefix")
        sub = _Reader(item, r.source, prefix=key + ".")
        services.append(
            Service(
                code=sub.str("code", pattern=r"[A-Za-z0-9_-]{1,16}"),
                name=sub.str("name"),
                prefix=sub.str("prefix", pattern=r"[A-Z]{1,2}"),
            )
        )
        sub.reject_unknown()
    for attr in ("code", "prefix"):
        values = [getattr(s, attr) for s in services]
        if len(set(values)) != len(values):
            r.fail("services", f"two services share a {attr}")
    return tuple(services)


def _lockers(r: _Reader) -> LockerRules:
    items = r.get("lockers.bank", [])
    if not isinstance(items, list):
        r.fail("lockers.bank", "must be a list of [[lockers.bank]] tables")
    bank = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            r.fail(f"lockers.bank[{i}]", "must be a table with number, relay_pin and door_pin")
        sub = _Reader(item, r.source, prefix=f"lockers.bank[{i}].")
        bank.append(Locker(
            number=int(sub.number("number", low=1, high=999, integer=True)),
            relay_pin=int(sub.number("relay_pin", low=0, high=27, integer=True)),
            door_pin=int(sub.number("door_pin", low=0, high=27, integer=True)),
            relay_active_high=_bool(sub, "relay_active_high", True),
            door_closed_low=_bool(sub, "door_closed_low", True),
        ))
        sub.reject_unknown()
    numbers = [locker.number for locker in bank]
    if len(set(numbers)) != len(numbers):
        r.fail("lockers.bank", "two lockers share a number")
    pins = [p for locker in bank for p in (locker.relay_pin, locker.door_pin)]
    pins += [r.raw.get("pins", {}).get(k) for k in ("button", "led", "buzzer") if r.raw.get("pins", {}).get(k) is not None]
    if len(set(pins)) != len(pins):
        r.fail("lockers.bank", "a GPIO pin is used twice (lockers, button, LED or buzzer)")
    return LockerRules(
        pulse_s=r.number("lockers.pulse_s", 0.5, low=0.05, high=5),
        open_timeout_s=r.number("lockers.open_timeout_s", 180.0, low=1, high=1800),
        close_timeout_s=r.number("lockers.close_timeout_s", 300.0, low=5, high=7200),
        bank=tuple(sorted(bank, key=lambda locker: locker.number)),
    )


def _scanner(r: _Reader) -> ScannerConfig:
    driver = r.str("scanner.driver", "none", choices=("sane", "hot_folder", "none"))
    page = r.get("scanner.page_mm", [210, 297])
    if not (isinstance(page, list) and len(page) == 2 and all(isinstance(v, (int, float)) and 50 <= v <= 500 for v in page)):
        r.fail("scanner.page_mm", "must be [width, height] in millimetres, e.g. [210, 297]")
    config = ScannerConfig(
        driver=driver,
        device=r.str("scanner.device", ""),
        source=r.str("scanner.source", "ADF"),
        resolution=int(r.number("scanner.resolution", 150, low=50, high=600, integer=True)),
        mode=r.str("scanner.mode", "Color"),
        page_mm=(float(page[0]), float(page[1])),
        jpeg_quality=int(r.number("scanner.jpeg_quality", 80, low=30, high=95, integer=True)),
        folder=r.str("scanner.folder", ""),
        settle_s=r.number("scanner.settle_s", 2.0, low=0.2, high=60),
        first_page_timeout_s=r.number("scanner.first_page_timeout_s", 120.0, low=5, high=1800),
        idle_timeout_s=r.number("scanner.idle_timeout_s", 20.0, low=2, high=600),
        code_ttl_min=int(r.number("scanner.code_ttl_min", 30, low=1, high=24 * 60, integer=True)),
        max_pages=int(r.number("scanner.max_pages", 200, low=1, high=2000, integer=True)),
    )
    if driver == "sane" and not config.device:
        r.fail("scanner.device", "required when scanner.driver is 'sane' (see `scanimage -L`)")
    if driver == "hot_folder" and not config.folder:
        r.fail("scanner.folder", "required when scanner.driver is 'hot_folder'")
    return config


def _bool(r: _Reader, key: str, default: bool) -> bool:
    value = r.get(key, default)
    if not isinstance(value, bool):
        r.fail(key, f"must be true or false, got {value!r}")
    return value


def _hours(r: _Reader) -> dict[str, tuple[time, time] | None]:
    hours: dict[str, tuple[time, time] | None] = {}
    for day in WEEKDAYS:
        key = f"hours.{day}"
        value = r.str(key, "closed" if day in ("sat", "sun") else "08:00-15:30")
        if value == "closed":
            hours[day] = None
            continue
        match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", value)
        if not match:
            r.fail(key, f"expected 'HH:MM-HH:MM' or 'closed', got {value!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            r.fail(key, f"not a time of day: {value!r}")
        if start >= end:
            r.fail(key, "opening must be before closing")
        hours[day] = (start, end)
    return hours


class _Reader:
    """Reads dotted keys from parsed TOML, remembering which were used so unknown keys can be reported."""

    _MISSING = object()

    def __init__(self, raw: dict[str, Any], source: str, prefix: str = ""):
        self.raw, self.source, self.prefix = raw, source, prefix
        self.used: set[str] = set()

    def fail(self, key: str, message: str):
        raise ConfigError(f"{self.source}: {self.prefix}{key}: {message}")

    def get(self, key: str, default: Any = _MISSING) -> Any:
        node: Any = self.raw
        parts = key.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, dict):
                self.fail(".".join(parts[:depth]), "must be a table")
            if part not in node:
                if default is self._MISSING:
                    self.fail(key, "missing")
                return default
            node = node[part]
        self.used.add(key)
        return node

    def str(self, key: str, default: Any = _MISSING, pattern: str | None = None, choices=None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {value!r}")
        if choices and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        if pattern and not re.fullmatch(pattern, value):
            self.fail(key, f"malformed value {value!r}")
        return value

    def number(self, key: str, default: Any = _MISSING, low=None, high=None, integer=False) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            self.fail(key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(key, f"must be between {low} and {high}, got {value!r}")
        return value

    def reject_unknown(self):
        known_tables = {k.split(".")[0] for k in self.used} | {"services"}
        for table, content in self.raw.items():
            if isinstance(content, dict) and table in known_tables:
                for key in content:
                    if f"{table}.{key}" not in self.used and not isinstance(content[key], dict):
                        self.fail(f"{table}.{key}", "unknown key (misspelt?)")
            elif table not in known_tables and table not in _OPTIONAL_TABLES:
                self.fail(table, "unknown key (misspelt?)")


# Tables later parts of the appliance read (lockers, scanner); accepted here so one file serves every version.
_OPTIONAL_TABLES = {"lockers", "scanner", "office", "pins", "printer", "queue", "hours", "appliance", "desk", "privacy"}
