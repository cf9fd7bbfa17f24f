"""The playbook as text: ansible-lint at the production profile, Ansible's syntax check, the example inventory
documented, and the filters that write the appliance's TOML and the services' settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from edge.config import parse_config

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ANSIBLE / "filter_plugins"))
from pst_env import env_quote  # noqa: E402
from pst_toml import from_toml, to_toml  # noqa: E402

sys.path.remove(str(ANSIBLE / "filter_plugins"))


def ansible(*args: str, cwd: Path = ANSIBLE) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def test_ansible_lint_passes_at_the_production_profile():
    result = ansible("ansible-lint", "--offline", "--nocolor", "ansible/", cwd=ROOT)  # the config: ../.ansible-lint
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


def test_the_playbook_passes_the_syntax_check():
    result = ansible("ansible-playbook", "-i", "inventory/example.yml", "--syntax-check", "site.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_of_the_contract_has_a_documented_default():
    contract = ["pst_office_code", "pst_office_name", "pst_hardware", "pst_edge_port", "pst_public_url",
                "pst_cloud_url", "pst_enrol_code", "pst_appliance_config", "pst_backup_keep_days", "pst_kiosk_enabled",
                "pst_portal_domain", "pst_portal_port", "pst_portal_tls", "pst_database_password", "pst_smtp_url",
                "pst_portal_secret", "pst_portal_workers", "pst_portal_admin_email", "pst_portal_admin_password"]
    defaults = {}
    for role in ("common", "appliance", "kiosk", "portal"):
        path = ANSIBLE / "roles" / role / "defaults" / "main.yml"
        text = path.read_text()
        for name in yaml.safe_load(text):
            defaults[name] = role
            line = next(i for i, line in enumerate(text.splitlines()) if line.startswith(f"{name}:"))
            above = text.splitlines()[line - 1]
            assert above.startswith("#") or "#" in text.splitlines()[line] or above.startswith("pst_"), \
                f"{role}/defaults/main.yml: {name} has no comment"
    assert [name for name in contract if name not in defaults] == []


def test_the_example_inventory_names_one_office_and_one_portal():
    inventory = yaml.safe_load((ANSIBLE / "inventory" / "example.yml").read_text())
    groups = inventory["all"]["children"]
    assert len(groups["appliance"]["hosts"]) == 1 and len(groups["portal"]["hosts"]) == 1
    office = next(iter(groups["appliance"]["hosts"].values()))
    assert office["pst_office_code"] == "7400" and office["pst_hardware"] == "pi"


def test_the_default_config_survives_a_round_trip_through_the_filters():
    raw = tomllib.loads((ROOT / "edge" / "default.toml").read_text())
    written = to_toml(raw, header="Managed by the playbook\nline two")
    assert written.startswith("# Managed by the playbook\n# line two\n")
    assert from_toml(written) == raw
    assert parse_config(from_toml(written), "appliance.toml") == parse_config(raw, "appliance.toml")


@pytest.mark.parametrize("value", [
    "Jl. \"Boulevard\" No. 1\\tKendari", "BPS Kabupaten Buton Utara — Ereke", "'; rm -rf / #", "=1+2", "",
    "ümlaut ✓ 🚌", "\u0007bell",
])
def test_strings_are_written_as_toml_reads_them(value):
    assert from_toml(to_toml({"office": {"name": value}, "key with space": value})) == {
        "office": {"name": value}, "key with space": value}


def test_values_toml_cannot_hold_are_refused():
    with pytest.raises(ValueError, match="x.y"):
        to_toml({"x": {"y": float("nan")}})
    with pytest.raises(ValueError, match="cannot write"):
        to_toml({"x": None})


def test_arrays_of_tables_and_of_values():
    data = {"lockers": {"pulse_s": 0.5, "bank": [{"number": 1, "relay_pin": 5}, {"number": 2, "relay_pin": 13}]},
            "scanner": {"page_mm": [210, 297]}, "services": [{"code": "A", "prefix": "A"}], "flag": True}
    assert from_toml(to_toml(data)) == data


@pytest.mark.parametrize("value, written", [
    ("http://192.168.10.20:8000", "http://192.168.10.20:8000"),
    ('pa"ss\\word $HOME', 'pa\\"ss\\\\word $HOME'),
])
def test_environment_file_values_are_quoted_for_systemd(value, written):
    assert env_quote(value) == written


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "nul\0"])
def test_environment_file_values_cannot_break_a_line(value):
    with pytest.raises(ValueError):
        env_quote(value)
