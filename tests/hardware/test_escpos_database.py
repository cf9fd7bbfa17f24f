"""python-escpos's printer database is read from the copy the appliance keeps, and the copy is the same data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

READ_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from hardware.drivers.escpos_database import keep_printer_database
keep_printer_database(Path(sys.argv[1]))
import yaml
from escpos import capabilities
with open(capabilities.capabilities_path) as source:
    same = capabilities.CAPABILITIES == yaml.safe_load(source)
print(json.dumps({"parsed_again": capabilities.full_load, "same": same}))
"""


def read_database(folder, environ=None) -> dict:
    answer = subprocess.run([sys.executable, "-c", READ_IN_A_FRESH_PROCESS, str(folder)], capture_output=True,
                            text=True, timeout=120, env=environ or os.environ)
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.splitlines()[-1])


def test_the_printer_database_is_read_from_the_kept_copy(tmp_path):
    assert read_database(tmp_path) == {"parsed_again": False, "same": True}
    assert [p.name.endswith(".capabilities.pickle") for p in tmp_path.iterdir()] == [True]
    assert read_database(tmp_path) == {"parsed_again": False, "same": True}  # the next start reads the same copy


def test_an_operators_own_folder_is_kept(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    assert read_database(tmp_path / "ours", os.environ | {"ESCPOS_CAPABILITIES_PICKLE_DIR": str(theirs)})["same"]
    assert not (tmp_path / "ours").exists() and len(list(theirs.iterdir())) == 1
