"""Two processes that migrate one new appliance database at once (the web app and the sync agent starting together
after an upgrade) take turns instead of failing half-way."""

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_concurrent_migrations_take_turns(tmp_path):
    for attempt in range(4):
        env = {**os.environ, "PST_DATA_DIR": str(tmp_path / f"var{attempt}"), "PST_EDGE_HARDWARE": "sim"}
        env.pop("PST_EDGE_DB", None)
        procs = [subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "edge", "migrate"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
        results = []
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            results.append((proc.returncode, err.decode()))
        assert [code for code, _ in results] == [0, 0, 0], results
