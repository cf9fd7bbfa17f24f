"""A database that fails its integrity check at start: the appliance still starts, every page says so plainly,
writes are refused, and `pst edge restore` puts the newest good backup back (the damaged file kept aside)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from edge.store import MESSAGES, check_file
from pst.cli import main
from tests.faults.test_power_cut import free_port

pytestmark = [pytest.mark.slow, pytest.mark.soak]  # the same size in `make test` and `make soak`

PAGES = ["/", "/buku-tamu", "/katalog", "/petugas/masuk", "/penilaian"]


@pytest.fixture
def run(env):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def issue_tickets(env: dict, count: int) -> list[str]:
    from litestar.testing import TestClient

    from edge.app import create_app
    from edge.settings import EdgeSettings

    with TestClient(create_app(EdgeSettings.from_env(env))) as client:
        return [client.post("/api/tickets", json={}).json()["id"] for _ in range(count)]


def damage(db_path: Path, table: str) -> None:
    """Scribbles over the b-tree page headers of `table` in the file itself (WAL folded in first)."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [row[0] for row in db.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", [table])]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with db_path.open("r+b") as file:
        for page in pages:
            file.seek((page - 1) * page_size)
            file.write(b"\xff" * 16)
    assert pages


def serve(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = Path(env["PST_DATA_DIR"]).parent / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "edge", "serve"],
                                env=os.environ | env | {"PST_EDGE_PORT": str(port)}, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"the appliance did not start: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def test_a_damaged_database_is_announced_on_every_page_and_restored_with_one_command(env, run):
    db_path = Path(env["PST_DATA_DIR"]) / "edge.db"
    kept = issue_tickets(env, 4)
    assert run("edge", "backup").exit_code == 0
    issue_tickets(env, 3)  # after the backup: only in the file that gets damaged
    damage(db_path, "tickets")

    proc, base = serve(env)
    try:
        health = httpx.get(f"{base}/healthz").json()
        assert (health["status"], health["storage"]) == ("degraded", "damaged")
        for page in PAGES:
            answer = httpx.get(f"{base}{page}")
            assert answer.status_code in (200, 503) and MESSAGES["damaged"] in answer.text, page
        refused = httpx.post(f"{base}/api/tickets", json={})
        assert refused.status_code == 503 and refused.json() == {"detail": MESSAGES["damaged"], "errors": {}}
        while_serving = CliRunner().invoke(main, ["edge", "restore"], env=env)
        assert while_serving.exit_code == 1 and "the appliance is running" in while_serving.output
    finally:
        stop(proc)

    restored = run("edge", "restore")
    assert restored.exit_code == 0, restored.output
    assert "integrity ok" in restored.output
    aside = [p for p in db_path.parent.glob("edge.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and f"kept at {aside[0]}" in restored.output
    assert check_file(aside[0]) != "ok"
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(r[0] for r in db.execute("SELECT id FROM tickets")) == sorted(kept)
    db.close()

    proc, base = serve(env)
    try:
        assert httpx.get(f"{base}/healthz").json()["storage"] == "ok"
        assert MESSAGES["damaged"] not in httpx.get(f"{base}/").text
        assert httpx.post(f"{base}/api/tickets", json={}).status_code == 201
    finally:
        stop(proc)
    print(f"\nSOAK corrupt-restore banner_pages={len(PAGES)} write_refused=503 restored_tickets={len(kept)}"
          f" integrity=ok damaged_kept={aside[0].name}")


def test_restore_skips_a_newer_backup_that_fails_its_check(env, run):
    db_path = Path(env["PST_DATA_DIR"]) / "edge.db"
    issue_tickets(env, 2)
    backups = Path(env["PST_DATA_DIR"]) / "backups"
    assert run("edge", "backup", str(backups / "edge-20261201-020000.db")).exit_code == 0
    issue_tickets(env, 1)
    newer = backups / "edge-20261202-020000.db"
    assert run("edge", "backup", str(newer)).exit_code == 0
    os.utime(newer, (time.time() + 60, time.time() + 60))
    damage(newer, "tickets")
    damage(db_path, "tickets")

    restored = run("edge", "restore")
    assert restored.exit_code == 0, restored.output
    assert f"skipped {newer}" in restored.output
    assert f"from {backups / 'edge-20261201-020000.db'}" in restored.output
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2
    db.close()


def test_restore_leaves_a_sound_database_alone_unless_forced(env, run):
    issue_tickets(env, 1)
    assert run("edge", "backup").exit_code == 0
    refused = run("edge", "restore")
    assert refused.exit_code == 1 and "passes its integrity check" in refused.output
    assert run("edge", "restore", "--force").exit_code == 0


def test_restore_without_any_good_backup_changes_nothing(env, run):
    db_path = Path(env["PST_DATA_DIR"]) / "edge.db"
    issue_tickets(env, 1)
    damage(db_path, "tickets")
    before = db_path.read_bytes()
    refused = run("edge", "restore")
    assert refused.exit_code == 1 and "no backup" in refused.output
    assert db_path.read_bytes() == before
