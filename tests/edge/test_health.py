"""What the appliance reports of its health (edge.health): the rules, the system's facts, the backup marker that
`pst edge backup` leaves, and one collection from a real store."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge import health, outbox
from edge.alerts import raise_alert
from edge.printing import FAULT_MESSAGES
from pst.cli import main
from tests.conftest import MONDAY_MORNING


@pytest.mark.parametrize("alerts, expected", [
    ([], "ok"),
    ([{"kind": "locker_2", "message": "…"}], "ok"),
    ([{"kind": "printer", "message": FAULT_MESSAGES["paper_out"]}], "paper_out"),
    ([{"kind": "printer", "message": FAULT_MESSAGES["unplugged"]}], "unplugged"),
    ([{"kind": "printer", "message": "a message of an older version"}], "error"),
])
def test_the_printers_state_comes_from_its_open_alert(alerts, expected):
    assert health.printer_state(alerts) == expected


def test_locker_doors_with_an_open_alert_are_named_by_number():
    kinds = ["locker_12", "printer", "locker_3", "locker_x", "storage_full"]
    assert health.locker_doors([{"kind": kind} for kind in kinds]) == [3, 12]


@pytest.mark.parametrize("stdout, code, expected", [("yes\n", 0, True), ("no\n", 0, False), ("", 1, None),
                                                    ("maybe", 0, None)])
def test_ntp_synchronisation_is_what_timedatectl_says(stdout, code, expected):
    def run(command, **_):
        assert command[:2] == ["timedatectl", "show"]
        return subprocess.CompletedProcess(command, code, stdout=stdout, stderr="")

    assert health.ntp_synchronised(run) is expected


@pytest.mark.parametrize("error", [FileNotFoundError("timedatectl"), subprocess.TimeoutExpired("timedatectl", 2)])
def test_ntp_synchronisation_is_unknown_without_timedatectl(error):
    def run(command, **_):
        raise error

    assert health.ntp_synchronised(run) is None


def test_boot_time_from_proc_stat_else_the_monotonic_clock(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nbtime 1764900000\nprocesses 42\n")
    assert health.boot_time(stat) == 1_764_900_000
    assert 0 < health.boot_time(tmp_path / "missing") <= time.time()  # from the monotonic clock


def test_the_backup_marker_reads_back_and_an_unreadable_one_is_unknown(tmp_path):
    assert health.last_backup(tmp_path) == (None, None)
    health.record_backup(tmp_path, MONDAY_MORNING, False, "disk full")
    assert health.last_backup(tmp_path) == (MONDAY_MORNING, False)
    (tmp_path / health.BACKUP_MARKER).write_text("{not json")
    assert health.last_backup(tmp_path) == (None, None)


def test_pst_edge_backup_leaves_its_result_beside_the_backups(env, tmp_path):
    folder = Path(env["PST_DATA_DIR"]) / "backups"
    assert CliRunner().invoke(main, ["edge", "migrate"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["edge", "backup"], env=env).exit_code == 0
    at, ok = health.last_backup(folder)
    assert ok is True and at is not None
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    failed = CliRunner().invoke(main, ["edge", "backup", str(blocked / "copy.db")], env=env)
    assert failed.exit_code != 0
    assert health.last_backup(folder)[1] is False


def test_a_probe_reads_the_appliances_health_from_its_store(store, tmp_path):
    with store.write() as db:
        outbox.append(db, "ticket", "t1", "issued", {"id": "t1"}, MONDAY_MORNING)
    raise_alert(store, "printer", FAULT_MESSAGES["offline"], MONDAY_MORNING)
    health.record_backup(tmp_path / "backups", MONDAY_MORNING, True)
    asked = []
    probe = health.Probe(store, tmp_path, ntp=lambda: asked.append(1) or False)
    report = probe.collect(MONDAY_MORNING + timedelta(minutes=5), clock_offset_ms=-250)
    assert (report.pending, report.oldest_pending_s, report.printer, report.alerts) == (1, 300, "offline", ["printer"])
    assert (report.ntp, report.clock_offset_ms, report.backup_ok) == (False, -250, True)
    assert report.db_bytes > 0 and report.disk_free > 0 and report.software
    probe.collect(MONDAY_MORNING)
    assert asked == [1]  # timedatectl is not asked every round


def test_the_opening_hours_come_from_the_appliance_config_and_read_back_in_the_cloud(tmp_path):
    from cloud.alert_rules import read_hours
    from edge.config import load_config

    toml = tmp_path / "pst.toml"
    default = (Path(health.__file__).parent / "default.toml").read_text(encoding="utf-8")
    default = default.replace('"Asia/Makassar"', '"Asia/Jayapura"').replace('sat = "closed"', 'sat = "08:00-12:00"')
    toml.write_text(default, encoding="utf-8")
    assert health.opening_hours(load_config(None)) == "Asia/Makassar " + " ".join(
        ["0800-1530"] * 4 + ["0800-1600", "-", "-"])
    value = health.configured_hours({"PST_EDGE_CONFIG": str(toml)})
    assert value == "Asia/Jayapura 0800-1530 0800-1530 0800-1530 0800-1530 0800-1600 0800-1200 -"
    assert read_hours(value).open_at(MONDAY_MORNING) and read_hours(value).tz.key == "Asia/Jayapura"
    assert health.configured_hours({"PST_EDGE_CONFIG": str(tmp_path / "missing.toml")}) is None
