"""The fleet's alerts (rules in cloud.alert_rules): kept in `fleet_alerts`, opened and closed every minute by a
portal background task, and mailed once on opening and once on closing to the office's staff address and to every
admin — as one digest per recipient when many open at once, never a storm.

Several workers and hosts may evaluate together: an alert opens only through the unique `open_key`
(device + kind, set while open), and a mail goes out only for the worker whose update flipped its `mailed_*` flag."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from cloud import alert_rules
from cloud.db import Database, moment
from cloud.fleet import Fleet
from cloud.mail import Mail, MailError
from pst.clock import Clock
from pst.i18n import N_
from pst.ids import new_id

log = logging.getLogger(__name__)
EVERY_S = 60.0
STORM = 10  # more alert mails than this for one recipient in one evaluation: one digest instead
COLUMNS = ("a.id, a.device_id, o.code AS office_code, a.kind, a.text, a.opened_at, a.closed_at")
FROM = " FROM fleet_alerts a JOIN devices d ON d.id = a.device_id JOIN offices o ON o.id = d.office_id"


async def open_alerts(db: Database, device_id: str | None = None) -> list[dict]:
    """The open alerts (of one device, or the fleet's), by office and kind."""
    where, args = ("AND a.device_id = {}", [device_id]) if device_id else ("", [])
    return await db.execute(f"SELECT {COLUMNS}{FROM} WHERE a.closed_at IS NULL {where}"
                            " ORDER BY o.code, a.device_id, a.kind", *args)


async def recent_alerts(db: Database, device_id: str, limit: int = 20) -> list[dict]:
    """A device's alerts, open and closed, newest first."""
    return await db.execute(f"SELECT {COLUMNS}{FROM} WHERE a.device_id = {{}} ORDER BY a.opened_at DESC, a.id"
                            " LIMIT {}", device_id, max(1, min(int(limit), 500)))
