"""Alerts staff must see (printer out of paper, printer offline, …): one open alert per kind, cleared when fixed."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from edge.store import EdgeStore
from pst.clock import iso
from pst.ids import new_id


def raise_alert(store: EdgeStore, kind: str, message: str, now: datetime) -> None:
    """Open an alert, or update the message of the one already open for `kind`."""
    with store.write() as db:
        updated = db.execute(
            "UPDATE alerts SET message = ? WHERE kind = ? AND cleared_at IS NULL", [message, kind]
        ).rowcount
        if not updated:
            db.execute(
                "INSERT INTO alerts (id, kind, message, raised_at) VALUES (?, ?, ?, ?)",
                [new_id(), kind, message, iso(now)],
            )


def clear_alert(store: EdgeStore, kind: str, now: datetime) -> None:
    with store.write() as db:
        db.execute("UPDATE alerts SET cleared_at = ? WHERE kind = ? AND cleared_at IS NULL", [iso(now), kind])


def open_alerts(db: Database) -> list[dict]:
    rows = db.execute(
        "SELECT id, kind, message, raised_at FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at"
    ).fetchall()
    return [dict(zip(("id", "kind", "message", "raised_at"), row)) for row in rows]
