"""The appliance's health for the cloud (sync/PROTOCOL.md, "Health"), gathered cheaply in the sync agent's own
process — from the database, the data folder and the system, never from the web app. The rules (a printer's state
from its alert, a locker door from its alert's kind) are plain functions; `Probe` reads the facts around them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edge.alerts import open_alerts, storage_alerts
from edge.config import WEEKDAYS, ApplianceConfig, ConfigError, load_config
from edge.lockers import ALERT_PREFIX
from edge.printing import FAULT_MESSAGES
from edge.store import EdgeStore
from pst import __version__
from pst.clock import iso
from sync.protocol import HEALTH_VERSION, Health

BACKUP_MARKER = "last-backup.json"  # beside the backups: what the last `pst edge backup` did
NTP_EVERY_S = 600.0  # `timedatectl` is asked at most this often
MAX_ALERTS = 16


# --- rules ---------------------------------------------------------------------------------------------------------

def printer_state(alerts: list[dict]) -> str:
    """"ok", or the fault the printer's open alert names (its message is the fault's, edge.printing)."""
    for alert in alerts:
        if alert["kind"] == "printer":
            return next((state for state, text in FAULT_MESSAGES.items() if text == alert["message"]), "error")
    return "ok"


def locker_doors(alerts: list[dict]) -> list[int]:
    """The locker doors with an open alert (left open, or not opened after their lock was released)."""
    doors = {alert["kind"][len(ALERT_PREFIX):] for alert in alerts if alert["kind"].startswith(ALERT_PREFIX)}
    return sorted(int(door) for door in doors if door.isdigit())


def free_share(free: int, total: int) -> float:
    return round(100 * free / total, 1) if total > 0 else 0.0


def seconds_since(moment: str | None, now: datetime) -> int | None:
    if not moment:
        return None
    return max(0, int((now - datetime.fromisoformat(moment)).total_seconds()))


# --- the last backup -----------------------------------------------------------------------------------------------

def record_backup(folder: Path, at: datetime, ok: bool, detail: str = "") -> Path:
    """Written by `pst edge backup` whatever the outcome, whole (temporary file, rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BACKUP_MARKER
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"at": iso(at), "ok": ok, "detail": detail[:300]}))
    os.replace(partial, path)
    return path


def last_backup(folder: Path) -> tuple[datetime | None, bool | None]:
    """(when, whether it passed) of the last backup; (None, None) before the first or for an unreadable marker."""
    try:
        marker = json.loads((folder / BACKUP_MARKER).read_text())
        return datetime.fromisoformat(marker["at"]), bool(marker["ok"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


# --- the system ----------------------------------------------------------------------------------------------------

def boot_time(stat: Path = Path("/proc/stat")) -> int | None:
    """Unix seconds of the machine's boot (Linux's `btime`); else from the monotonic clock, which counts from boot
    on Linux and macOS."""
    try:
        for line in stat.read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return int(time.time() - time.monotonic())


def database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def ntp_synchronised(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> bool | None:
    """systemd's answer (`timedatectl show -p NTPSynchronized`); None where there is no timedatectl or no answer."""
    try:
        answer = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True,
                     timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    value = answer.stdout.strip() if answer.returncode == 0 else ""
    return {"yes": True, "no": False}.get(value)


def opening_hours(config: ApplianceConfig) -> str:
    """The office's zone and week (`oh`), Monday first, "-" a closed day: the cloud's silence alert waits for them."""
    days = [f"{span[0]:%H%M}-{span[1]:%H%M}" if (span := config.hours.get(day)) else "-" for day in WEEKDAYS]
    return " ".join([config.office.timezone, *days])


def configured_hours(environ: dict[str, str] | None = None) -> str | None:
    """`opening_hours` of the appliance's TOML (PST_EDGE_CONFIG, else the defaults); None when it cannot be read."""
    environ = os.environ if environ is None else environ
    try:
        return opening_hours(load_config(environ.get("PST_EDGE_CONFIG") or None))
    except (ConfigError, OSError):
        return None


# --- all of it, for one round ---------------------------------------------------------------------------------------

@dataclass
class Probe:
    """Gathers the health for each sync round; asks `timedatectl` only every NTP_EVERY_S seconds."""

    store: EdgeStore
    data_dir: Path
    ntp: Callable[[], bool | None] = ntp_synchronised
    hours: str | None = field(default_factory=configured_hours)  # `oh`, read once when the agent starts
    _ntp_at: float = field(default=-NTP_EVERY_S, init=False, repr=False)
    _ntp_value: bool | None = field(default=None, init=False, repr=False)

    def collect(self, now: datetime, clock_offset_ms: int | None = None) -> Health:
        db = self.store.read
        alerts = storage_alerts(self.store) + open_alerts(db)
        pending, oldest = db.execute(
            "SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL").fetchone()
        scanning = db.execute("SELECT 1 FROM scans WHERE status = 'scanning' LIMIT 1").fetchone()
        disk = shutil.disk_usage(self.data_dir)
        backup_at, backup_ok = last_backup(self.data_dir / "backups")
        return Health(
            HEALTH_VERSION, software=__version__, boot_at=boot_time(), disk_free=disk.free,
            disk_free_pct=free_share(disk.free, disk.total), db_bytes=database_bytes(Path(self.store.path)),
            ntp=self._ntp(), clock_offset_ms=clock_offset_ms, printer=printer_state(alerts),
            scanner="scanning" if scanning else "ok", lockers=locker_doors(alerts)[:64], pending=pending,
            oldest_pending_s=seconds_since(oldest, now),
            backup_at=int(backup_at.timestamp()) if backup_at else None, backup_ok=backup_ok,
            alerts=sorted({a["kind"][:40] for a in alerts})[:MAX_ALERTS], alert_count=len(alerts),
            opening_hours=self.hours,
        )

    def _ntp(self) -> bool | None:
        if time.monotonic() - self._ntp_at >= NTP_EVERY_S:
            self._ntp_value, self._ntp_at = self.ntp(), time.monotonic()
        return self._ntp_value
