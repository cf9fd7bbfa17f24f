"""`pst cloud …` commands leave their audit lines by "cli", on both databases: accounts, offices, devices."""

from __future__ import annotations

from click.testing import CliRunner
from litestar.testing import TestClient

from cloud import audit
from cloud.app import create_app
from cloud.settings import CloudSettings
from pst.cli import main


def run(env, *args, input=None):
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cli_acts_leave_lines_by_cli_and_the_enrolment_code_stays_out(cloud_env, clock):
    run(cloud_env, "cloud", "user", "add", "admin@bps.go.id", "--role", "admin", input="Kunci-Lemari-Arsip-42\n")
    run(cloud_env, "cloud", "office", "add", "7400", "BPS Provinsi Sulawesi Tenggara")
    added = run(cloud_env, "cloud", "device", "add", "--office", "7400", "--name", "Meja depan")
    code = added.stdout.strip().splitlines()[0]
    device_id = added.stderr.split("device ")[1].split(" ")[0]
    run(cloud_env, "cloud", "device", "revoke", device_id)
    with TestClient(create_app(CloudSettings.from_env(cloud_env), clock=clock)) as client:
        found = client.blocking_portal.call(lambda: audit.search(client.app.state.db, actor="cli"))
    assert sorted((line["action"], line["target"].split(":")[0]) for line in found) == [
        ("account.add", "account"), ("device.add", "device"), ("device.revoke", "device"), ("office.add", "office")]
    assert {line["office_code"] for line in found if line["action"] != "account.add"} == {"7400"}
    assert all(code not in str(line) for line in found)
