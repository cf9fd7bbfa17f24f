"""Alerts staff must see (printer out of paper, printer offline, …): one open alert per kind, cleared when fixed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlite_utils import Database

from edge.store import MESSAGES, EdgeStore, StoreUnavailable
from pst.clock import iso
from pst.ids import new_id

log = logging.getLogger(__name__)


@contextmanager
def unless_refused() -> Iterator[None]:
    """An alert is not worth stopping the printer's or the lockers' work for while the store refuses writes (its
    own alert, `storage_alerts`, says why)."""
    try:
        yield
    except StoreUnavailable as exc:
        log.warning("alert not recorded: the store is %s", exc.state)


def raise_alert(store: EdgeStore, kind: str, message: str, now: datetime) -> None:
    """Open an alert, or update the message of the one already open for `kind`."""
    with unless_refused(), store.write() as db:
        updated = db.execute(
            "UPDATE alerts SET message = ? WHERE kind = ? AND cleared_at IS NULL", [message, kind]
        ).rowcount
        if not updated:
            db.execute(
                "INSERT INTO alerts (id, kind, message, raised_at) VALUES (?, ?, ?, ?)",
                [new_id(), kind, message, iso(now)],
            )


def clear_alert(store: EdgeStore, kind: str, now: datetime) -> None:
    with unless_refused(), store.write() as db:
        db.execute("UPDATE alerts SET cleared_at = ? WHERE kind = ? AND cleared_at IS NULL", [iso(now), kind])


def storage_alerts(store: EdgeStore) -> list[dict]:
    """The store's own trouble (a full or failing disk, a damaged file), held in memory: it cannot be written
    down. Gone as soon as the store writes again (`EdgeStore.write`, `recheck_space`)."""
    if store.state == "ok":
        return []
    since = datetime.fromtimestamp(store.fault_since, timezone.utc) if store.fault_since else None
    return [{"id": f"storage_{store.state}", "kind": f"storage_{store.state}", "message": MESSAGES[store.state],
             "raised_at": iso(since) if since else None}]


def open_alerts(db: Database) -> list[dict]:
    rows = db.execute(
        "SELECT id, kind, message, raised_at FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at"
    ).fetchall()
    return [dict(zip(("id", "kind", "message", "raised_at"), row)) for row in rows]
