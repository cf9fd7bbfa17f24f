"""The appliance fits a Raspberry Pi: its start loads only what every request needs (a scan's PDF and the report's
files are made in processes of their own, the message catalogues are read compiled) and hashes no password; its
processes load httpx without its command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Only the processes that make files load these (edge.scan_pdf, edge.report_file); one imported at module level fails.
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


def test_a_scan_leaves_pymupdf_out_of_the_appliance(tmp_path):
    """The scan's PDF is made in a process of its own (edge.scan_pdf), which gives its memory back when it ends."""
    job = fresh_process(
        "import json, os, sys\n"
        "from edge.appliance import Appliance\n"
        "from edge.settings import EdgeSettings\n"
        "appliance = Appliance(EdgeSettings.from_env(os.environ | {'PST_EDGE_HARDWARE': 'sim'})).start()\n"
        "visit = appliance.check_in({'name': 'Wa Ode Nurhaliza', 'gender': 'P', 'occupation': 'pelajar',\n"
        "                            'purposes': ['pindai'], 'id_type': 'KTM',\n"
        "                            'email': 'wa.ode@example.id'}).visit['id']\n"
        "appliance.hardware.scanner.feed(2)\n"
        "job = appliance.scans.wait(appliance.scans.start(visit_id=visit), timeout=60)\n"
        "appliance.stop()\n"
        "print(json.dumps([job.status, job.pages, 'pymupdf' in sys.modules]))\n",
        tmp_path,
    )
    assert job == ["ready", 2, False]


def test_the_sync_agent_loads_httpx_without_its_command_line(tmp_path):
    """httpx's command line (rich, pygments) is left out of every `pst` process; its clients work as before."""
    loaded = fresh_process(
        "import json, sys\n"
        "from pst.cli import main\n"
        "try:\n"
        "    main(['sync', 'status'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "import httpx\n"
        "transport = httpx.MockTransport(lambda request: httpx.Response(200, json={'path': request.url.path}))\n"
        "with httpx.Client(transport=transport, base_url='https://pustaka.example.id') as client:\n"
        "    answer = client.get('/api/sync/state').json()\n"
        "print(json.dumps([answer, 'httpx' in sys.modules, [m for m in ('rich', 'pygments') if m in sys.modules]]))\n",
        tmp_path,
    )
    assert loaded == [{"path": "/api/sync/state"}, True, []]


def test_a_second_start_reads_the_compiled_catalogues(tmp_path):
    """The first start compiles the message catalogues into the data folder's cache; the next ones read them without
    Babel's .po parser (0.1 s at each start here)."""
    start = (
        "import json, os, sys\n"
        "from edge.app import create_app\n"
        "from edge.settings import EdgeSettings\n"
        "app = create_app(EdgeSettings.from_env(os.environ | {'PST_EDGE_HARDWARE': 'sim'}))\n"
        "print(json.dumps('babel.messages.pofile' in sys.modules))\n"
    )
    assert fresh_process(start, tmp_path) is True
    assert [path.name.split(".")[0] for path in (tmp_path / "cache" / "locale").iterdir()] == ["en"]
    assert fresh_process(start, tmp_path) is False


def test_the_report_files_leave_openpyxl_and_pymupdf_out_of_the_appliance(tmp_path):
    """The month's XLSX and PDF, and the IKM sheet, are made in a process of their own (edge.report_file)."""
    answers = fresh_process(
        "import json, os, sys\n"
        "from litestar.testing import TestClient\n"
        "from edge.app import create_app\n"
        "from edge.settings import EdgeSettings\n"
        "from edge.users import add_user\n"
        "app = create_app(EdgeSettings.from_env(os.environ | {'PST_EDGE_HARDWARE': 'sim'}))\n"
        "with TestClient(app) as client:\n"
        "    appliance = app.state.appliance\n"
        "    add_user(appliance.store, appliance.clock, 'kepala', 'admin', 'rahasia-kepala-1')\n"
        "    client.post('/api/session', json={'username': 'kepala', 'password': 'rahasia-kepala-1'})\n"
        "    kinds = [client.get(path).content[:4] for path in\n"
        "             ('/petugas/laporan/xlsx', '/petugas/laporan/pdf', '/petugas/ikm/periode/pdf')]\n"
        "print(json.dumps([[kind.decode('latin-1') for kind in kinds],\n"
        "                  [name for name in ('openpyxl', 'pymupdf', 'fitz') if name in sys.modules]]))\n",
        tmp_path,
    )
    assert answers == [["PK\x03\x04", "%PDF", "%PDF"], []]


# The sync agent reads the appliance's store, alerts and settings; it prints no ticket and draws no page.
NOT_IN_THE_SYNC_AGENT = ("babel.dates", "edge.slip", "edge.tickets", "edge.queue", "rich", "pygments")


def test_the_sync_agent_leaves_out_what_it_does_not_do(tmp_path):
    loaded = fresh_process(
        "import json, sys\n"
        "from pst.cli import main\n"
        "main(['sync', 'status'], standalone_mode=False)\n"
        "import sync.agent\n"
        f"print(json.dumps([name for name in {NOT_IN_THE_SYNC_AGENT!r} if name in sys.modules]))\n",
        tmp_path,
    )
    assert loaded == []
