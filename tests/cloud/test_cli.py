"""`pst cloud …` on both databases: migrate twice, add a staff account with the password on standard input."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from litestar.testing import TestClient

from cloud.app import create_app
from cloud.settings import CloudSettings
from pst.cli import main


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_migrate_twice_says_up_to_date(cloud_env):
    first = run(cloud_env, "cloud", "migrate")
    assert first.exit_code == 0 and "applied m001_accounts" in first.output
    second = run(cloud_env, "cloud", "migrate")
    assert second.exit_code == 0 and "up to date" in second.output


def test_user_add_reads_the_password_from_stdin_and_the_account_signs_in(cloud_env, clock):
    added = run(cloud_env, "cloud", "user", "add", "Petugas@BPS.go.id", "--role", "staff", input="kata-sandi-panjang\n")
    assert added.exit_code == 0, added.output
    assert "petugas@bps.go.id (staff) added" in added.output
    again = run(cloud_env, "cloud", "user", "add", "petugas@bps.go.id", "--role", "admin", input="kata-sandi-panjang\n")
    assert again.exit_code == 1 and "sudah terdaftar" in again.output
    weak = run(cloud_env, "cloud", "user", "add", "ani@bps.go.id", "--role", "admin", input="pendek\n")
    assert weak.exit_code == 1 and "minimal 10 karakter" in weak.output

    with TestClient(create_app(CloudSettings.from_env(cloud_env), clock=clock)) as client:
        signed_in = client.post("/api/session", json={"email": "petugas@bps.go.id", "password": "kata-sandi-panjang"})
        assert signed_in.status_code == 200 and signed_in.json()["role"] == "staff"


def test_unreachable_postgresql_is_a_message_not_a_traceback(tmp_path):
    env = {"PST_DATA_DIR": str(tmp_path), "PST_CLOUD_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = run(env, "cloud", "migrate")
    assert result.exit_code == 1 and "database not reachable" in result.output and "Traceback" not in result.output


def test_the_appliance_commands_never_import_the_cloud():
    probe = "import sys, pst.cli; assert not any(m.split('.')[0] in ('piccolo', 'asyncpg', 'cloud') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_the_first_command_on_a_fresh_machine_makes_the_data_folder(tmp_path):
    env = {"PST_DATA_DIR": str(tmp_path / "belum" / "ada"), "PST_CLOUD_SECRET": "k" * 40}
    result = run(env, "cloud", "office", "add", "7401", "BPS Kabupaten Kolaka")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "belum" / "ada" / "cloud.db").is_file()
