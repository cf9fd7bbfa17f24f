"""A full disk under the appliance's data folder (a real small tmpfs): new writes are refused with a plain
Indonesian message and an alert, what is stored is still served, nothing acknowledged is lost, and the appliance
writes again by itself once there is room.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from edge.settings import EdgeSettings
from edge.store import MESSAGES

pytestmark = [pytest.mark.slow, pytest.mark.soak]  # the same size in `make test` and `make soak`

STAFF, STAFF_PASSWORD = "loket_disk", "rahasia-loket-1"
GUEST = {"name": "Rahmat Hidayat", "gender": "L", "age": 28, "education": "s1", "occupation": "peneliti",
         "institution": "Universitas Halu Oleo", "email": "rahmat@example.id", "purposes": ["baca_tercetak"],
         "id_type": "KTM"}


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 4 MB tmpfs of its own (needs root); skipped where mounting is impossible, except on CI."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        why = f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Writes a file until the file system has no byte left (smaller and smaller pieces at the end)."""
    filler = disk / "filler.bin"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_refuses_writes_keeps_serving_and_recovers_by_itself(small_disk):
    from litestar.testing import TestClient

    from edge.app import create_app

    settings = EdgeSettings.from_env({"PST_DATA_DIR": str(small_disk / "var"), "PST_EDGE_HARDWARE": "sim"})
    with_staff(settings)
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/session", json={"username": STAFF, "password": STAFF_PASSWORD}).status_code == 200
        acknowledged = [client.post("/api/tickets", json={}).json()["id"] for _ in range(3)]
        filler = fill(small_disk)

        refusal = None
        for _ in range(5000):  # SQLite reuses room it already has (WAL frames) before it needs more
            answer = client.post("/api/tickets", json={})
            assert answer.status_code in (201, 507), answer.text
            if answer.status_code == 507:
                refusal = answer.json()
                break
            acknowledged.append(answer.json()["id"])
        assert refusal == {"detail": "Penyimpanan appliance penuh; data baru tidak dapat disimpan. Hubungi teknisi.",
                           "errors": {}}
        visit = client.post("/api/visits", json=GUEST)
        assert visit.status_code == 507 and visit.json()["detail"] == MESSAGES["full"]

        health = client.get("/healthz").json()
        assert (health["status"], health["storage"]) == ("degraded", "full")
        assert [a["kind"] for a in client.get("/api/alerts").json()][:1] == ["storage_full"]
        kiosk = client.get("/")
        assert kiosk.status_code == 200 and MESSAGES["full"] in kiosk.text
        waiting = {t["id"] for t in client.get("/api/queue").json()["waiting"]}
        assert set(acknowledged) <= waiting  # what it has, it still serves

        filler.unlink()  # space returns: no restart, no command
        assert client.get("/healthz").json()["storage"] == "ok"
        assert client.post("/api/tickets", json={}).status_code == 201
        assert client.post("/api/visits", json=GUEST).status_code == 201
        assert "storage_full" not in [a["kind"] for a in client.get("/api/alerts").json()]
        assert MESSAGES["full"] not in client.get("/").text

    db = sqlite3.connect(settings.db_path)
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    lost = [t for t in acknowledged if db.execute("SELECT count(*) FROM tickets WHERE id = ?", [t]).fetchone()[0] != 1]
    db.close()
    print(f"\nSOAK disk-full acknowledged={len(acknowledged)} lost={len(lost)} refused_status=507"
          f" kept_serving=yes recovered_without_restart=yes integrity={integrity}")
    assert (lost, integrity) == ([], "ok")


def test_the_write_that_finds_the_disk_full_is_refused_and_the_next_one_after_space_returns_commits(small_disk):
    """Straight on the store: a disk full during a commit leaves no half transaction behind (no restart needed)."""
    from edge.migrations import migrate
    from edge.store import EdgeStore, StoreUnavailable

    store = EdgeStore(small_disk / "edge.db")
    migrate(store)
    filler = fill(small_disk)
    with pytest.raises(StoreUnavailable) as refused:
        for n in range(100_000):
            with store.write() as db:
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [f"k{n}", "x" * 2000])
    assert (refused.value.state, store.state) == ("full", "full")
    filler.unlink()
    with store.write() as db:
        db.execute("INSERT INTO meta (key, value) VALUES ('after', 'ok')")
    assert store.state == "ok"
    assert store.read.execute("SELECT value FROM meta WHERE key = 'after'").fetchone() == ("ok",)
    assert store.integrity_check() == "ok"
    store.close()


def with_staff(settings: EdgeSettings) -> None:
    from edge.migrations import migrate
    from edge.store import EdgeStore
    from edge.users import add_user
    from pst.clock import SystemClock

    store = EdgeStore(settings.db_path)
    migrate(store)
    add_user(store, SystemClock(), STAFF, "frontliner", STAFF_PASSWORD)
    store.close()
