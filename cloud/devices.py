"""Offices and their front-desk appliances: a device is added with a one-time enrolment code, the appliance trades
the code for its credential (`pst edge enroll`), every sync request carries that credential, and a device can be
revoked. Codes and credentials are stored only as keyed hashes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256

from cloud import audit
from cloud.accounts import AccountError
from cloud.db import Database, is_unique_violation, moment
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

CODE_TTL = timedelta(hours=48)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone and typed on a Pi
OFFICE_CODE = re.compile(r"^\d{4}$")
CREDENTIAL_PREFIX = "pstd1"


@dataclass(frozen=True)
class DeviceAuth:
    """Who a sync request comes from."""

    device_id: str
    office_code: str
    name: str


class Devices:
    def __init__(self, db: Database, clock: Clock, secret: bytes):
        self.db, self.clock, self.secret = db, clock, secret

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self.secret, f"{kind}:{value}".encode(), sha256).hexdigest()

    # offices

    async def offices(self) -> list[dict]:
        return await self.db.execute(
            "SELECT o.id, o.code, o.name, o.created_at,"
            " (SELECT count(*) FROM devices d WHERE d.office_id = o.id AND d.revoked_at IS NULL) AS devices"
            " FROM offices o ORDER BY o.code"
        )

    async def office(self, code: str) -> dict | None:
        rows = await self.db.execute("SELECT id, code, name, created_at FROM offices WHERE code = {}", code)
        return rows[0] if rows else None

    async def add_office(self, code: str, name: str, actor: str | None = None, address: str | None = None) -> dict:
        code, name = (code or "").strip(), " ".join((name or "").split())
        errors = {}
        if not OFFICE_CODE.match(code):
            errors["code"] = N_("kode satker BPS: 4 angka, misalnya 7400")
        if not name or len(name) > 200:
            errors["name"] = N_("wajib diisi, paling banyak 200 karakter")
        if errors:
            raise AccountError(400, N_("Data kantor belum benar"), errors)
        row = {"id": new_id(), "code": code, "name": name, "created_at": self.clock.now()}
        try:
            async with self.db.transaction():
                await self.db.execute(
                    "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
                    row["id"], code, name, row["created_at"],
                )
                await audit.record(self.db, row["created_at"], actor=actor, action="office.add",
                                   target=f"office:{code}", detail={"name": name}, address=address, office_code=code)
        except Exception as exc:
            if is_unique_violation(exc):
                raise AccountError(409, N_("Kantor dengan kode ini sudah ada"), {"code": N_("sudah terdaftar")}) from None
            raise
        return row

    async def ensure_office(self, code: str, name: str) -> dict:
        return await self.office(code) or await self.add_office(code, name)

    # devices

    async def devices(self, office_code: str | None = None) -> list[dict]:
        where, args = ("WHERE o.code = {}", [office_code]) if office_code else ("", [])
        return await self.db.execute(
            "SELECT d.id, d.name, o.code AS office_code, o.name AS office_name, d.created_at, d.enrolled_at,"
            " d.enrol_expires_at, d.revoked_at, d.last_seen_at, d.key_hash IS NOT NULL AS enrolled,"
            " (SELECT count(*) FROM sync_events e WHERE e.device_id = d.id) AS events,"
            " (SELECT count(*) FROM sync_dead_letters x WHERE x.device_id = d.id) AS refused"
            f" FROM devices d JOIN offices o ON o.id = d.office_id {where} ORDER BY o.code, d.created_at",
            *args,
        )

    async def add_device(self, office_code: str, name: str, actor: str | None = None,
                         address: str | None = None) -> tuple[dict, str]:
        """A device waiting for its appliance; returns it and the one-time enrolment code (shown once, never in the
        audit line)."""
        office = await self.office((office_code or "").strip())
        name = " ".join((name or "").split())
        errors = {}
        if office is None:
            errors["office"] = N_("kantor tidak dikenal; tambahkan kantornya dulu")
        if not name or len(name) > 100:
            errors["name"] = N_("wajib diisi, paling banyak 100 karakter")
        if errors:
            raise AccountError(400, N_("Data perangkat belum benar"), errors)
        code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
        now = self.clock.now()
        row = {"id": new_id(), "name": name, "office_code": office["code"], "created_at": now}
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO devices (id, office_id, name, created_at, enrol_code_hash, enrol_expires_at)"
                " VALUES ({}, {}, {}, {}, {}, {})",
                row["id"], office["id"], name, now, self._hash("enrol", code), now + CODE_TTL,
            )
            await audit.record(self.db, now, actor=actor, action="device.add", target=f"device:{row['id']}",
                               detail={"name": name}, address=address, office_code=office["code"],
                               device_id=row["id"])
        return row, code

    async def replacement_code(self, device_id: str, actor: str | None = None,
                               address: str | None = None) -> str:
        """A one-time code with which a new SD card takes this device's place (`pst edge restore --from-cloud
        --code`): the enrolment gives the new card a credential and the old one stops working at that moment (an
        old card coming back to life cannot sync). Refused for a revoked device (AccountError 409) or an unknown
        one (404)."""
        code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
        now = self.clock.now()
        async with self.db.transaction():
            rows = await self.db.execute(
                "SELECT d.id, d.name, d.revoked_at, o.code AS office_code FROM devices d"
                " JOIN offices o ON o.id = d.office_id WHERE d.id = {}", (device_id or "")[:36])
            if not rows:
                raise AccountError(404, N_("Perangkat tidak ditemukan"))
            if rows[0]["revoked_at"] is not None:
                raise AccountError(409, N_("Perangkat ini sudah dicabut; tambahkan perangkat baru"),
                                   {"device": N_("dicabut")})
            await self.db.execute("UPDATE devices SET enrol_code_hash = {}, enrol_expires_at = {} WHERE id = {}",
                                  self._hash("enrol", code), now + CODE_TTL, device_id)
            await audit.record(self.db, now, actor=actor, action="device.replace", target=f"device:{device_id}",
                               detail={"name": rows[0]["name"]}, address=address,
                               office_code=rows[0]["office_code"], device_id=device_id)
        return code

    async def enroll(self, code: str, address: str | None = None) -> tuple[DeviceAuth, str]:
        """Trade a one-time code for the device's credential; the code stops working. 400 for a bad code."""
        wanted = re.sub(r"[^A-Z0-9]", "", (code or "").upper())
        wanted = "-".join(wanted[i:i + 4] for i in range(0, len(wanted), 4))
        now = self.clock.now()
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction():
            rows = await self.db.execute(
                "SELECT d.id, d.name, d.enrol_expires_at, d.revoked_at, d.key_hash, o.code AS office_code"
                " FROM devices d JOIN offices o ON o.id = d.office_id WHERE d.enrol_code_hash = {}",
                self._hash("enrol", wanted),
            )
            device = rows[0] if rows else None
            if device is None or device["revoked_at"] is not None or moment(device["enrol_expires_at"]) <= now:
                raise AccountError(400, "Kode pendaftaran tidak sah, sudah dipakai, atau kedaluwarsa",
                                   {"code": "minta kode baru di back office"})
            credential = f"{CREDENTIAL_PREFIX}.{device['id']}.{secret}"
            await self.db.execute(
                "UPDATE devices SET key_hash = {}, enrolled_at = {}, enrol_code_hash = NULL, enrol_expires_at = NULL"
                " WHERE id = {}",
                self._hash("device", credential), now, device["id"],
            )
            await audit.record(self.db, now, actor=None, action="device.enrol", target=f"device:{device['id']}",
                               detail={"name": device["name"], "replaced": device["key_hash"] is not None},
                               address=address, office_code=device["office_code"], device_id=device["id"])
        return DeviceAuth(device["id"], device["office_code"], device["name"]), credential

    async def authenticate(self, credential: str | None) -> DeviceAuth | None:
        """The device a credential belongs to; None when unknown or revoked."""
        if not credential or not credential.startswith(CREDENTIAL_PREFIX + ".") or len(credential) > 200:
            return None
        rows = await self.db.execute(
            "SELECT d.id, d.name, d.revoked_at, o.code AS office_code FROM devices d"
            " JOIN offices o ON o.id = d.office_id WHERE d.key_hash = {}",
            self._hash("device", credential),
        )
        if not rows or rows[0]["revoked_at"] is not None:
            return None
        return DeviceAuth(rows[0]["id"], rows[0]["office_code"], rows[0]["name"])

    async def seen(self, device_id: str) -> None:
        """Last seen, to the minute: a fleet's idle rounds do not each write a row."""
        now = self.clock.now()
        await self.db.execute(
            "UPDATE devices SET last_seen_at = {} WHERE id = {} AND (last_seen_at IS NULL OR last_seen_at < {})",
            now, device_id, now - timedelta(minutes=1),
        )

    async def revoke(self, device_id: str, actor: str | None = None, address: str | None = None) -> bool:
        now = self.clock.now()
        async with self.db.transaction():
            rows = await self.db.execute(
                "SELECT d.id, d.name, o.code AS office_code FROM devices d JOIN offices o ON o.id = d.office_id"
                " WHERE d.id = {} AND d.revoked_at IS NULL", device_id[:100],
            )
            if not rows:
                return False
            await self.db.execute(
                "UPDATE devices SET revoked_at = {}, enrol_code_hash = NULL WHERE id = {}", now, device_id
            )
            await audit.record(self.db, now, actor=actor, action="device.revoke", target=f"device:{device_id}",
                               detail={"name": rows[0]["name"]}, address=address,
                               office_code=rows[0]["office_code"], device_id=device_id)
        return True

    async def device(self, device_id: str) -> dict | None:
        """One device as `devices()` lists it; None when unknown."""
        rows = await self.db.execute(
            "SELECT d.id, d.name, o.code AS office_code, o.name AS office_name, d.created_at, d.enrolled_at,"
            " d.enrol_expires_at, d.revoked_at, d.last_seen_at, d.key_hash IS NOT NULL AS enrolled"
            " FROM devices d JOIN offices o ON o.id = d.office_id WHERE d.id = {}", device_id,
        )
        return rows[0] if rows else None

    async def refused(self, device_id: str, limit: int = 200) -> list[dict]:
        """What the cloud could not take from this device, newest first, with the reason (the dead letters)."""
        return await self.db.execute(
            "SELECT seq, epoch, event_id, entity, entity_id, op, payload, reason, at FROM sync_dead_letters"
            " WHERE device_id = {} ORDER BY at DESC, seq DESC LIMIT {}", device_id[:100], limit,
        )

