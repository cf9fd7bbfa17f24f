"""The playbook against real booted Debian 12 systems: a portal host and an office appliance (simulated devices),
converged as a technician would — the portal first, an enrolment code made there, then the whole site — and then
what an office lives through: a ticket and a guestbook entry reaching the portal, a nightly backup, a reboot.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.ansible import machines

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "ansible" / "site.yml"
OFFICE = "7400"

pytestmark = pytest.mark.slow

reason = machines.missing_capability()
if reason and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI must run the provisioning test, but this machine cannot: {reason}")
if reason:
    pytest.skip(f"cannot boot a Debian container here: {reason}", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    """The two machines, their inventory and the playbook runs, for the tests below to look at."""

    def __init__(self, folder: Path, wheels_url: str, smtp_url: str):
        self.folder = folder
        image = machines.base_image()
        self.portal = machines.Machine.create("pst-portal", folder, image)
        self.desk = machines.Machine.create("pst-desk", folder, image)
        self.ports = {name: free_port() for name in ("edge", "portal", "https", "http", "postgresql")}
        self.secrets = {"admin": "sandi-admin-" + os.urandom(6).hex(), "staff": "sandi-petugas-" + os.urandom(6).hex()}
        self.common = {
            "ansible_python_interpreter": "/usr/bin/python3",
            "pst_pip_find_links": wheels_url, "pst_pip_no_index": True,
            "pst_timezone": "Asia/Makassar", "pst_backup_keep_days": 7,
        }
        self.portal_vars = {
            "pst_portal_domain": "localhost", "pst_portal_tls": "internal",
            "pst_portal_port": self.ports["portal"], "pst_portal_https_port": self.ports["https"],
            "pst_portal_http_port": self.ports["http"], "pst_postgresql_port": self.ports["postgresql"],
            "pst_portal_workers": 2, "pst_database_password": "db-" + os.urandom(8).hex(),
            "pst_smtp_url": smtp_url, "pst_portal_secret": os.urandom(24).hex(),
            "pst_portal_admin_email": "admin@pst.test", "pst_portal_admin_password": self.secrets["admin"],
        }
        self.desk_vars = {
            "pst_office_code": OFFICE, "pst_office_name": "BPS Provinsi Sulawesi Tenggara",
            "pst_office_address": "Jl. Boulevard No. 1, Kendari", "pst_hardware": "sim",
            "pst_edge_port": self.ports["edge"], "pst_public_url": f"http://127.0.0.1:{self.ports['edge']}",
            "pst_cloud_url": f"https://localhost:{self.ports['https']}", "pst_sync_interval": 2,
            "pst_edge_admin_name": "admin", "pst_edge_admin_password": self.secrets["staff"],
            "pst_hours": {day: "00:00-23:59" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            "pst_kiosk_enabled": True, "pst_kiosk_output": "headless",
        }
        self.runs: list[subprocess.CompletedProcess] = []

    def boot(self) -> None:
        for machine in (self.portal, self.desk):
            machine.boot()

    def inventory(self) -> Path:
        def host(machine, own):
            return {"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": machine.pid,
                    **self.common, **own}

        path = self.folder / "inventory.json"
        path.write_text(json.dumps({"all": {"children": {
            "portal": {"hosts": {"pst-portal": host(self.portal, self.portal_vars)}},
            "appliance": {"hosts": {"pst-desk": host(self.desk, self.desk_vars)}},
        }}}))
        return path

    def converge(self, *limit: str, extra: dict | None = None) -> subprocess.CompletedProcess:
        args = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(self.inventory()), str(PLAYBOOK)]
        if extra:
            args += ["--extra-vars", json.dumps(extra)]
        if limit:
            args += ["--limit", ",".join(("localhost", *limit))]
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible" / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PIPELINING": "1"}
        started = time.monotonic()
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT / "ansible", timeout=1200)
        (self.folder / f"converge-{len(self.runs) + 1}.log").write_text(result.stdout + result.stderr)
        print(f"converge {len(self.runs) + 1} ({', '.join(limit) or 'all'}): {time.monotonic() - started:.0f} s")
        self.runs.append(result)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        return result

    def pst(self, machine, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """`sudo pst …` as a technician types it on the host."""
        return machine.run("/usr/local/sbin/pst", *args, input=input)

    def ca(self) -> str:
        return self.portal.run("cat", "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt").stdout

    def close(self) -> None:
        for machine in (self.desk, self.portal):
            machine.stop()
            shutil.rmtree(machine.root, ignore_errors=True)  # ~1 GB each; the logs stay beside them


def recap(result) -> dict[str, dict[str, int]]:
    """The PLAY RECAP lines: {host: {"ok": n, "changed": n, ...}}."""
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", result.stdout, re.M):
        hosts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    wheels = machines.wheelhouse(ROOT)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietFiles, directory=str(wheels)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from cloud.mailsink import MailSink

    sink = MailSink(folder / "mail").start()
    site = Site(folder, f"http://127.0.0.1:{server.server_address[1]}/", sink.url)
    try:
        site.boot()
        site.converge("portal")
        site.pst(site.portal, "cloud", "office", "add", OFFICE, "BPS Provinsi Sulawesi Tenggara")
        code = site.pst(site.portal, "cloud", "device", "add", "--office", OFFICE, "--name", "Meja depan").stdout.split()[0]
        site.desk_vars |= {"pst_enrol_code": code, "pst_cloud_ca_cert": site.ca()}
        site.converge()
        site.converge()
        yield site
    finally:
        site.close()
        server.shutdown()
        server.server_close()
        sink.stop()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def http(url: str, data: dict | None = None, cafile: str | None = None, timeout: float = 10):
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                     headers={"Content-Type": "application/json"} if data is not None else {})
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
        return answer.status, json.loads(answer.read() or b"null")


def test_a_second_run_changes_nothing(site):
    counts = recap(site.runs[-1])
    assert set(counts) >= {"pst-portal", "pst-desk", "localhost"}
    assert {host: c["changed"] for host, c in counts.items()} == {host: 0 for host in counts}
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values())


@pytest.mark.parametrize("machine, units", [
    ("desk", ["pst-edge.service", "pst-sync.service", "pst-backup.timer", "pst-kiosk.service", "fake-hwclock.service"]),
    ("portal", ["pst-portal.service", "pst-portal-backup.timer", "postgresql@15-main.service", "caddy.service"]),
])
def test_every_unit_runs_for_real(site, machine, units):
    host = getattr(site, machine)
    for unit in units:
        assert host.systemctl("is-enabled", unit) == "enabled", unit
    active = [unit for unit in units if unit != "fake-hwclock.service"]  # fake-hwclock is a boot/shutdown oneshot
    shown = ROOT / "test-artifacts" / "provision" / f"{host.name}-systemctl.txt"
    shown.parent.mkdir(parents=True, exist_ok=True)
    shown.write_text(host.systemctl("list-units", "--all", "--no-pager", "pst-*", *units) + "\n\n"
                     + host.systemctl("list-timers", "--no-pager"))
    assert host.systemctl("is-active", *active).split() == ["active"] * len(active), host.systemctl("status", *active)
    # a container cannot set the clock, so chrony does not start there; on a Pi it does
    assert host.systemctl("is-enabled", "chrony.service") == "enabled"


def test_the_services_run_as_pst_with_their_settings_owner_only(site):
    for host, unit in ((site.desk, "pst-edge.service"), (site.desk, "pst-sync.service"), (site.portal, "pst-portal.service")):
        pid = host.systemctl("show", "-p", "MainPID", "--value", unit)
        assert host.run("stat", "-c", "%U", f"/proc/{pid}").stdout.strip() == "pst", unit
        assert host.systemctl("show", "-p", "ProtectSystem", "--value", unit) == "strict"
    assert site.portal.run("stat", "-c", "%U %a", "/etc/pst/portal.env").stdout.split() == ["root", "600"]
    assert site.desk.run("stat", "-c", "%U %a", "/var/lib/pst/sync-enrolment.json").stdout.split() == ["pst", "600"]
    assert site.desk.run("stat", "-c", "%U %a", "/var/lib/pst/edge.db").stdout.split() == ["pst", "600"]
    venv = site.desk.run("readlink", "/opt/pst/venv").stdout.strip()
    assert venv.startswith("/opt/pst/releases/") and venv.endswith("/venv")
    installed = site.desk.run(f"{venv}/bin/python", "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "gpiozero" in installed and "piccolo" not in installed and "asyncpg" not in installed  # no cloud on a Pi
    for secret in (site.portal_vars["pst_database_password"], site.portal_vars["pst_portal_secret"], site.secrets["admin"],
                   site.secrets["staff"], site.desk_vars["pst_enrol_code"]):
        assert all(secret not in run.stdout for run in site.runs), "a secret reached the playbook's output"


def test_both_answer_and_the_portal_over_tls(site, tmp_path):
    status, health = http(f"http://127.0.0.1:{site.ports['edge']}/healthz")
    assert status == 200 and health["status"] == "ok"
    ca = tmp_path / "ca.pem"
    ca.write_text(site.ca())
    status, health = http(f"https://localhost:{site.ports['https']}/healthz", cafile=str(ca))
    assert status == 200 and health["status"] == "ok" and health["database"] == "postgresql"
    status, account = http(f"https://localhost:{site.ports['https']}/api/session", cafile=str(ca),
                           data={"email": "admin@pst.test", "password": site.secrets["admin"]})
    assert status == 200
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"https://localhost:{site.ports['https']}/", context=context, timeout=10) as page:
        assert page.headers["Strict-Transport-Security"] and "Server" not in page.headers
    with pytest.raises(urllib.error.HTTPError) as refused:  # the sync API: no browser header on its idle round
        urllib.request.urlopen(f"https://localhost:{site.ports['https']}/sync/v1/state?epoch=e", context=context,
                               timeout=10)
    refused.value.close()  # its answer stays open otherwise
    assert refused.value.code == 401 and "Strict-Transport-Security" not in refused.value.headers
    assert refused.value.headers["X-Content-Type-Options"] == "nosniff"


def test_a_ticket_and_a_guestbook_entry_reach_the_portal(site):
    edge = f"http://127.0.0.1:{site.ports['edge']}"
    site.desk.run("curl", "-fsS", "-X", "POST", f"{edge}/_sim/button")
    status, visit = http(f"{edge}/api/visits", data={
        "name": "Wa Ode Sitti", "gender": "P", "occupation": "Pelajar/Mahasiswa", "email": "waode@example.id",
        "purposes": ["baca_tercetak"], "id_type": "KTP", "institution": "Universitas Halu Oleo"})
    assert status == 201
    query = f"SELECT count(*) FROM visits WHERE id = '{visit['id']}'"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = site.portal.run("runuser", "-u", "postgres", "--", "psql", "-p", str(site.ports["postgresql"]), "-tA",
                                "pst", "-c", query, check=False).stdout.strip()
        if found == "1":
            break
        time.sleep(1)
    assert found == "1", site.desk.run("journalctl", "-u", "pst-sync", "-n", "30", "--no-pager").stdout
    printed = json.loads(site.desk.run("curl", "-fsS", f"{edge}/_sim/printer").stdout)
    assert printed["tickets"], "the button press printed no ticket"


def test_the_backups_run_and_their_copies_read_back(site):
    site.desk.systemctl("start", "pst-backup.service", check=True)
    copies = site.desk.run("sh", "-c", "ls /var/lib/pst/backups/edge-*.db").stdout.split()
    assert copies
    check = site.desk.run("sqlite3", copies[-1], "PRAGMA integrity_check").stdout.strip()
    assert check == "ok"
    site.portal.systemctl("start", "pst-portal-backup.service", check=True)
    dump = site.portal.run("sh", "-c", "ls /var/lib/pst/backups/portal-*.dump").stdout.split()[-1]
    tables = site.portal.run("pg_restore", "--list", dump).stdout
    assert "TABLE public visits" in tables or " visits " in tables


def test_the_kiosk_shows_the_board(site):
    log = site.desk.run("journalctl", "-u", "pst-edge.service", "--no-pager", "-o", "cat").stdout
    assert '"GET /layar HTTP/1.1" 200' in log and '"GET /api/display/events HTTP/1.1" 200' in log
    pid = site.desk.systemctl("show", "-p", "MainPID", "--value", "pst-kiosk.service")
    assert site.desk.run("stat", "-c", "%U", f"/proc/{pid}").stdout.strip() == "pst-kiosk"


def test_the_firewall_lets_the_lan_reach_only_the_appliance(site, tmp_path):
    """The rules the playbook wrote, loaded into a network namespace of their own (a container shares the host's
    network, so they are not loaded there): the LAN reaches the web app, nothing else; other networks nothing."""
    rules = tmp_path / "nftables.conf"
    rules.write_text(site.desk.run("cat", "/etc/nftables.conf").stdout)
    edge, other = site.ports["edge"], free_port()
    with firewalled_host(rules, [edge, other]) as (lan, outside):
        assert reaches(lan, edge)
        assert not reaches(lan, other)
        assert not reaches(outside, edge)


def test_an_upgrade_migrates_once_keeps_the_day_and_the_release_before(site, tmp_path):
    edge = f"http://127.0.0.1:{site.ports['edge']}"
    before = site.desk.run("readlink", "/opt/pst/venv").stdout.strip()
    _, queue = http(f"{edge}/api/tickets", data={})
    newer = tmp_path / "checkout"
    shutil.copytree(ROOT, newer, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "test-artifacts", "__pycache__", "*.egg-info", ".ansible", ".pytest_cache"))
    version = newer / "pst" / "__init__.py"
    version.write_text(version.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.1.0.post1"', 1))
    run = site.converge("appliance", extra={"pst_source_dir": str(newer)})  # the controller's newer checkout
    assert re.search(r"TASK \[common : Run the migrations with the new release\] \*+\n(ok|changed): \[pst-desk\]", run.stdout)
    after = site.desk.run("readlink", "/opt/pst/venv").stdout.strip()
    assert after != before and "/0.1.0.post1-" in after
    assert site.desk.run("readlink", "/opt/pst/venv.previous").stdout.strip() == before
    status, health = http(f"{edge}/healthz")
    assert health["version"] == "0.1.0.post1"
    status, ticket = http(f"{edge}/api/tickets/{queue['id']}")
    assert status == 200 and ticket["number"] == queue["number"]  # the day's queue survived the upgrade
    assert site.desk.systemctl("is-active", "pst-sync.service") == "active"
    # the rollback of ansible/README.md
    site.desk.run("sh", "-c", "ln -sfn \"$(readlink /opt/pst/venv.previous)\" /opt/pst/venv && "
                  "systemctl restart pst-edge.service pst-sync.service")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if http(f"{edge}/healthz")[1]["version"] == "0.1.0":
                break
        except OSError:
            time.sleep(0.5)
    assert http(f"{edge}/healthz")[1]["version"] == "0.1.0"


def test_a_reboot_brings_everything_back(site):
    site.desk.reboot()
    deadline = time.monotonic() + 60
    units = ["pst-edge.service", "pst-sync.service", "pst-kiosk.service", "pst-backup.timer"]
    while time.monotonic() < deadline:
        if site.desk.systemctl("is-active", *units).split() == ["active"] * len(units):
            break
        time.sleep(1)
    assert site.desk.systemctl("is-active", *units).split() == ["active"] * len(units)
    status, _ = http(f"http://127.0.0.1:{site.ports['edge']}/healthz")
    assert status == 200


@contextlib.contextmanager
def firewalled_host(rules: Path, ports: list[int]):
    """A network namespace behind a veth pair with an office-LAN address and an outside one, the rules loaded, a
    listener on each port; yields (LAN address, outside address) as seen from the host."""
    name = f"pstfw{os.getpid() % 10000}"
    host_if, ns_if = f"{name}h", f"{name}n"
    ip = partial(subprocess.run, check=True, capture_output=True)
    ip(["ip", "netns", "add", name])
    listeners = None
    try:
        ip(["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if])
        ip(["ip", "link", "set", ns_if, "netns", name])
        for address in ("192.168.77.1/24", "198.51.100.1/24"):
            ip(["ip", "addr", "add", address, "dev", host_if])
        ip(["ip", "link", "set", host_if, "up"])
        inside = ["ip", "netns", "exec", name]
        for address in ("192.168.77.2/24", "198.51.100.2/24"):
            ip([*inside, "ip", "addr", "add", address, "dev", ns_if])
        ip([*inside, "ip", "link", "set", ns_if, "up"])
        ip([*inside, "ip", "link", "set", "lo", "up"])
        ip([*inside, "nft", "-f", str(rules)])
        listen = ("import socket, sys, select\n"
                  "socks = [socket.create_server(('0.0.0.0', int(p))) for p in sys.argv[1:]]\n"
                  "print('ready', flush=True)\n"
                  "while True:\n"
                  "    for s in select.select(socks, [], [])[0]: s.accept()[0].close()\n")
        listeners = subprocess.Popen([*inside, sys.executable, "-c", listen, *map(str, ports)], stdout=subprocess.PIPE, text=True)
        assert listeners.stdout.readline().strip() == "ready"
        yield "192.168.77.2", "198.51.100.2"
    finally:
        if listeners is not None:
            listeners.kill()
            listeners.wait()
            listeners.stdout.close()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def reaches(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.5):
            return True
    except OSError:
        return False
