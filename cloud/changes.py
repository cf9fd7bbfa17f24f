"""The downlink's journal: every cloud change an appliance may need is numbered by `change_counter` and noted in
`changes`, in the transaction of the change itself. The counter's row stays locked until that transaction commits,
so numbers appear in commit order and a reader's cursor never passes a change still being written.
"""

from __future__ import annotations

from datetime import datetime, timezone

from cloud.db import Database


async def record_change(db: Database, entity: str, entity_id: str, office_code: str | None,
                        at: datetime | None = None) -> int:
    """Number the change of `entity` `entity_id` for `office_code` (None: every office); returns its number.

    Must run inside the caller's write transaction: a change noted apart from its write could be read before the
    write, or outlive a write that was rolled back.
    """
    if db.engine.current_transaction.get() is None:
        raise RuntimeError("record_change must run inside the transaction of the change it records")
    if db.kind == "postgresql":
        seq = (await db.execute("UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n"))[0]["n"]
    else:
        await db.execute("UPDATE change_counter SET n = n + 1 WHERE id = 1")
        seq = (await db.execute("SELECT n FROM change_counter WHERE id = 1"))[0]["n"]
    await db.execute(
        "INSERT INTO changes (seq, office_code, entity, entity_id, at) VALUES ({}, {}, {}, {}, {})",
        seq, office_code, entity, str(entity_id), at or datetime.now(timezone.utc),
    )
    return seq
