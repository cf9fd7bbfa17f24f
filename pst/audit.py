"""The audit line's shared rules, on the appliance and in the cloud: dotted action names, sizes, and a detail that
never carries a secret or an identity number (the keys that could are dropped, whoever passes them)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")  # "signout", "locker.open"
SECRET_KEYS = re.compile(r"pass|token|secret|credential|enrol|^code$|card|nik|id_number|ktp", re.I)
ACTOR_MAX, TARGET_MAX, TEXT_MAX, ADDRESS_MAX = 64, 120, 200, 64


def check_action(action: str) -> str:
    if not isinstance(action, str) or not ACTION.match(action) or len(action) > 40:
        raise ValueError(f"audit action must be dotted lower case, got {action!r}")
    return action


def clean_detail(detail: dict | None) -> dict[str, Any]:
    """The detail as stored: secret keys dropped, texts cut short, only JSON scalars and short lists kept."""
    kept: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if SECRET_KEYS.search(str(key)):
            continue
        if isinstance(value, str):
            value = value[:TEXT_MAX]
        elif isinstance(value, (list, tuple)):
            value = [v[:TEXT_MAX] if isinstance(v, str) else v for v in list(value)[:20]]
        elif not (value is None or isinstance(value, (bool, int, float))):
            value = str(value)[:TEXT_MAX]
        kept[str(key)[:40]] = value
    return kept


def cut(value: str | None, limit: int) -> str | None:
    return str(value)[:limit] if value else None


def bound(value, tz: ZoneInfo, end: bool) -> datetime | None:
    """A date filter as an instant: an office date (`date` or "YYYY-MM-DD") is its local midnight — the next day's
    for the end, which is inclusive; an ISO instant is taken as it is."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time(0), tz)
    return value.astimezone(timezone.utc)


def conditions(mark: str, actor: str | None, action: str | None, target: str | None) -> tuple[list[str], list]:
    """The person, action and record filters as SQL conditions with `mark` placeholders ("?" or "{}"): part of the
    name in any case; "locker" or "locker.*" every locker action; "locker:3" one record, "locker" every locker."""
    clauses, args = [], []
    if actor:
        clauses.append(f"lower(actor) LIKE {mark} ESCAPE '\\'")
        args.append("%" + _escape(actor.lower()) + "%")
    if action:
        family = action.rstrip("*").rstrip(".")
        clauses.append(f"(action = {mark} OR action LIKE {mark} ESCAPE '\\')")
        args += [family, _escape(family) + ".%"]
    if target:
        clauses.append(f"(target = {mark} OR target LIKE {mark} ESCAPE '\\')")
        args += [target, _escape(target.rstrip(":")) + ":%"]
    return clauses, args


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
