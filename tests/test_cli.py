"""The `pst` command: every command has help, and the edge commands work on a real database."""

import sqlite3

import click
import pytest
from click.testing import CliRunner

from edge.migrations import migrations
from pst.cli import main


def all_commands(group, path=()):
    for name, command in group.commands.items():
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, path + (name,))


@pytest.mark.parametrize("path, command", list(all_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help(path, command):
    assert command.help, f"pst {' '.join(path)} has no help text"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert command.help.split(".")[0][:30] in " ".join(result.output.split())


def test_the_commands_the_brief_promises_exist():
    names = {" ".join(path) for path, _ in all_commands(main)}
    assert {"up", "edge serve", "edge migrate", "edge backup", "edge user add", "hw check"} <= names


@pytest.fixture
def run(env):
    def invoke(*args, input=None):
        return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


def test_migrate_twice_then_backup(run, env, tmp_path):
    first = run("edge", "migrate")
    assert first.exit_code == 0 and "applied m001_foundation, m002_guestbook_and_calls" in first.output
    applied = len(migrations._migrations)
    second = run("edge", "migrate")
    assert second.exit_code == 0 and "up to date" in second.output
    backup = run("edge", "backup", str(tmp_path / "copy.db"))
    assert backup.exit_code == 0 and "integrity ok" in backup.output
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == applied


def test_user_add_reads_the_password_from_stdin_and_stores_only_a_hash(run, env):
    result = run("edge", "user", "add", "la_ode", "--role", "librarian", input="kata-sandi-panjang\n")
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(f"{env['PST_DATA_DIR']}/edge.db")
    role, hashed = db.execute("SELECT role, password_hash FROM users WHERE username = 'la_ode'").fetchone()
    assert role == "librarian" and hashed.startswith("$argon2id$") and "kata-sandi" not in hashed
    again = run("edge", "user", "add", "la_ode", "--role", "admin", input="kata-sandi-panjang\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = run("edge", "user", "add", "ani", "--role", "admin", input="pendek\n")
    assert short.exit_code == 1 and "minimal 10 karakter" in short.output
    guessable = run("edge", "user", "add", "ani", "--role", "admin", input="password123\n")
    assert guessable.exit_code == 1 and "Kata sandi terlalu mudah ditebak" in guessable.output


def test_bad_config_is_a_clear_error_not_a_traceback(run, env, tmp_path):
    bad = tmp_path / "pst.toml"
    bad.write_text('[office]\ncode = "7400"\nname = "BPS"\n[printer]\nconnection = "network"\nport = 0\n')
    result = CliRunner().invoke(main, ["edge", "migrate"], env=env | {"PST_EDGE_CONFIG": str(bad)})
    assert result.exit_code == 1
    assert "printer.port" in result.output and "Traceback" not in result.output


def test_backup_keeps_the_days_asked_for_and_never_the_new_copy(run, env):
    import os
    import time
    from pathlib import Path

    assert run("edge", "migrate").exit_code == 0
    folder = Path(env["PST_DATA_DIR"]) / "backups"
    folder.mkdir()
    old, recent, other = folder / "edge-20260101-000000.db", folder / "edge-20261130-000000.db", folder / "notes.db"
    for path in (old, recent, other):
        path.write_bytes(b"copy")
    os.utime(old, (time.time() - 15 * 86_400,) * 2)
    os.utime(other, (time.time() - 30 * 86_400,) * 2)
    result = run("edge", "backup", "--keep-days", "14")
    assert result.exit_code == 0, result.output
    assert f"deleted: {old}" in result.output
    left = sorted(p.name for p in folder.iterdir())
    assert not old.exists() and recent.exists() and other.exists()  # only the appliance's own copies go
    assert len([name for name in left if name.startswith("edge-")]) == 2
    assert run("edge", "backup", "--keep-days", "0").exit_code == 2


def test_backup_without_a_database_says_what_to_do(run):
    result = run("edge", "backup")
    assert result.exit_code == 1 and "pst edge migrate" in result.output


def test_sync_status_on_a_new_appliance_shows_an_empty_backlog(run):
    result = run("sync", "status")
    assert result.exit_code == 0, result.output
    assert "not enrolled" in result.output and "pending:      0" in result.output


def test_hw_check_prints_a_test_ticket_in_sim(run):
    result = run("hw", "check")
    assert result.exit_code == 0, result.output
    assert "printer:   emulator 127.0.0.1:" in result.output and ": ok" in result.output
    assert "test ticket: printed" in result.output
    assert "UJI PRINTER" in result.output


def test_the_files_pst_makes_are_its_owners_only_whatever_the_umask(tmp_path):
    """Databases hold personal data: `pst edge migrate` started with umask 022 makes the folder and the database
    private, and `pst edge serve` mends a database left readable by others before (an older version, a copy)."""
    import os
    import stat
    import subprocess
    import sys
    from pathlib import Path

    from cloud.mailsink import free_port
    from tests.conftest import wait_until_healthy

    pst = str(Path(sys.executable).with_name("pst"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PST_")} | {
        "PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(port)}

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    def as_with_umask_022(*args: str, **kwargs):
        return subprocess.Popen(["sh", "-c", 'umask 022 && exec "$@"', "sh", pst, *args], env=env, **kwargs)

    assert as_with_umask_022("edge", "migrate", stdout=subprocess.DEVNULL).wait(timeout=60) == 0
    database = tmp_path / "var" / "edge.db"
    assert (mode(tmp_path / "var"), mode(database)) == (0o700, 0o600)
    database.chmod(0o644)
    serving = as_with_umask_022("edge", "serve", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", serving, "pst edge serve")
        parts = {path.name: mode(path) for path in database.parent.glob("edge.db*")}
        assert parts and set(parts.values()) == {0o600}, parts
    finally:
        serving.terminate()
        serving.wait(timeout=20)
