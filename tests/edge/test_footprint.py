"""The appliance fits a Raspberry Pi: its start loads only what every request needs (the heavy libraries of scans,
report files and the like come with the first request that needs them) and does no password hashing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Each of these is loaded by the first request that needs it; one imported at module level again fails here.
LOADED_ON_FIRST_NEED = ("pymupdf", "fitz", "openpyxl")


def fresh_process(code: str, tmp_path) -> dict:
    """Runs `code` in a new interpreter (nothing imported by the tests' own process) and returns what it printed."""
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=os.environ | {"PST_DATA_DIR": str(tmp_path)})
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.splitlines()[-1])


def test_the_app_is_made_without_the_libraries_only_some_requests_need(tmp_path):
    loaded = fresh_process(
        "import json, os, sys\n"
        "from edge.app import create_app\n"
        "from edge.settings import EdgeSettings\n"
        "create_app(EdgeSettings.from_env(os.environ | {'PST_EDGE_HARDWARE': 'sim'}))\n"
        f"print(json.dumps([name for name in {LOADED_ON_FIRST_NEED!r} if name in sys.modules]))\n",
        tmp_path,
    )
    assert loaded == []


def test_no_password_is_hashed_until_someone_signs_in(tmp_path):
    made = fresh_process(
        "import json, os\n"
        "import edge.users\n"
        "before = edge.users._DUMMY_HASH\n"
        "from edge.migrations import migrate\n"
        "from edge.store import EdgeStore\n"
        "store = EdgeStore(os.path.join(os.environ['PST_DATA_DIR'], 'edge.db'))\n"
        "migrate(store)\n"
        "unknown = edge.users.authenticate(store, 'tidak-ada', 'rahasia-sekali-1')\n"
        "print(json.dumps([before, unknown, edge.users._DUMMY_HASH.startswith('$argon2id$')]))\n",
        tmp_path,
    )
    assert made == [None, None, True]  # an unknown name is still checked against a hash: the same time as a known one
