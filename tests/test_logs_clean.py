"""No secret and no personal data in the logs: a whole journey against real `pst cloud serve`, `pst edge serve`
and `pst sync once` processes (uvicorn's access log included), then every line they wrote is searched for the
visitor's e-mail, phone and ID number, the passwords, the mailed tokens, the download code, the session cookies,
the enrolment code and the device credential."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloud.mailsink import MailSink, free_port

PST = [str(Path(sys.executable).with_name("pst"))]  # the installed command, as an operator runs it
EMAIL = "rahmat.hidayat@example.id"
PHONE = "081234567890"
ID_NUMBER = "7471012345670001"
STAFF_PASSWORD = "Kopi-Kendari-4471"
READER_PASSWORD = "Teluk-Kendari-2026"
NEW_PASSWORD = "Pantai-Nirwana-2027"
SECRET = "logs-test-secret-" + "0123456789abcdef" * 2


class Servers:
    """The processes of the journey, each writing its output to a file of its own."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env, self.running, self.logs = root, env, [], []

    def run(self, name: str, *args: str, stdin: str | None = None, extra: dict | None = None) -> str:
        log = self.root / f"{name}.log"
        done = subprocess.run([*PST, *args], env=self.env | (extra or {}), input=stdin, capture_output=True,
                              text=True, timeout=60, check=False)
        log.write_text(done.stderr)
        self.logs.append(log)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str, *args: str, url: str) -> None:
        log = self.root / f"{name}.log"
        handle = log.open("w")
        self.running.append((subprocess.Popen([*PST, *args], env=self.env, stdout=handle,
                                              stderr=subprocess.STDOUT), handle))
        self.logs.append(log)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"{name} did not start: {log.read_text()}")

    def stop(self) -> None:
        for process, handle in reversed(self.running):
            process.terminate()
            process.wait(timeout=15)
            handle.close()


@pytest.fixture
def servers(tmp_path):
    with MailSink(tmp_path / "mail") as sink:
        cloud_port, edge_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PST_")} | {
            "PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim", "PST_EDGE_PORT": str(edge_port),
            "PST_CLOUD_PORT": str(cloud_port), "PST_CLOUD_SMTP_URL": sink.url, "PST_CLOUD_SECRET": SECRET,
            "PST_CLOUD_PUBLIC_URL": f"http://127.0.0.1:{cloud_port}",
        }
        (tmp_path / "var").mkdir()
        running = Servers(tmp_path, env)
        running.sink = sink
        running.cloud, running.edge = f"http://127.0.0.1:{cloud_port}", f"http://127.0.0.1:{edge_port}"
        try:
            yield running
        finally:
            running.stop()


def mailed_token(sink: MailSink, path: str) -> str:
    for mail in reversed(sink.mails()):
        found = re.search(rf"{re.escape(path)}\?token=([A-Za-z0-9_-]+)", mail.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {path} link mailed")


def desk_journey(edge: str, secrets: list[str]) -> None:
    """Ticket, guestbook, staff sign-in, locker, scan and its download, checkout: as the desk does it."""
    with httpx.Client(base_url=edge, timeout=30) as desk:
        ticket = desk.post("/api/tickets", json={}).json()
        visit = desk.post("/api/visits", json={
            "ticket_number": ticket["number"], "name": "Rahmat Hidayat", "gender": "L", "age": 34,
            "occupation": "peneliti", "email": EMAIL, "phone": PHONE, "purposes": ["pindai"], "id_type": "KTP"})
        assert visit.status_code == 201, visit.text
        visit_id = visit.json()["id"]
        assert desk.get("/buku-tamu", params={"nomor": ticket["number"]}).status_code == 200
        signed = desk.post("/api/session", json={"username": "kepala", "password": STAFF_PASSWORD})
        assert signed.status_code == 200, signed.text
        secrets += [c for c in desk.cookies.values() if len(c) >= 16]
        assert desk.post(f"/api/visits/{visit_id}/locker", json={"id_type": "KTP", "id_number": ID_NUMBER}
                         ).status_code == 201
        assert desk.get("/api/visits", params={"q": EMAIL}).status_code == 200
        assert desk.post("/_sim/scanner/feed", json={"pages": 1}).status_code < 300
        scan = desk.post("/api/scans", json={"visit_id": visit_id})
        assert scan.status_code == 201, scan.text
        for _ in range(150):
            job = desk.get(f"/api/scans/{scan.json()['id']}").json()
            if job["status"] != "scanning":
                break
            time.sleep(0.1)
        assert job["status"] == "ready", job
        secrets.append(job["download_code"])
        assert desk.get(f"/d/{job['download_code']}").status_code == 200
        assert desk.post(f"/api/visits/{visit_id}/checkout", json={"id_number": ID_NUMBER}).status_code == 200


def portal_journey(cloud: str, sink: MailSink, secrets: list[str]) -> None:
    """Registration and its verification link, sign-in, a forgotten password and its reset link."""
    with httpx.Client(base_url=cloud, timeout=30) as portal:
        assert portal.post("/api/accounts", json={"email": EMAIL, "name": "Rahmat Hidayat",
                                                  "password": READER_PASSWORD}).status_code == 201
        token = mailed_token(sink, "/akun/verifikasi")
        assert portal.get("/akun/verifikasi", params={"token": token}).status_code == 200
        assert portal.post("/api/accounts/verify", json={"token": token}).status_code < 300
        assert portal.post("/api/session", json={"email": EMAIL, "password": READER_PASSWORD}).status_code == 200
        secrets += [c for c in portal.cookies.values() if len(c) >= 16]
        assert portal.post("/api/password-resets", json={"email": EMAIL}).status_code == 202
        reset = mailed_token(sink, "/akun/atur-ulang")
        assert portal.get("/akun/atur-ulang", params={"token": reset}).status_code == 200
        assert portal.post("/api/password-resets/confirm", json={"token": reset, "password": NEW_PASSWORD}
                           ).status_code < 300
        secrets += [token, reset]


def test_a_whole_journey_leaves_no_secret_or_personal_data_in_any_log(servers, tmp_path):
    secrets = [EMAIL, PHONE, "0812-3456-7890", ID_NUMBER, STAFF_PASSWORD, READER_PASSWORD, NEW_PASSWORD, SECRET]
    servers.run("office", "cloud", "office", "add", "7400", "BPS Provinsi Sulawesi Tenggara")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}",
                     servers.run("device", "cloud", "device", "add", "--office", "7400")).group(0)
    servers.start("cloud-serve", "cloud", "serve", url=servers.cloud)
    servers.run("user-add", "edge", "user", "add", "kepala", "--role", "admin", stdin=STAFF_PASSWORD + "\n")
    servers.run("enroll", "edge", "enroll", "--cloud", servers.cloud, extra={"PST_ENROL_CODE": code})
    credential = json.loads((tmp_path / "var" / "sync-enrolment.json").read_text())["credential"]
    servers.start("edge-serve", "edge", "serve", url=servers.edge)
    desk_journey(servers.edge, secrets)
    portal_journey(servers.cloud, servers.sink, secrets)
    servers.run("sync-1", "sync", "once")
    servers.run("sync-2", "sync", "once")
    servers.stop()
    secrets += [code, credential]
    lines = [(log.name, line) for log in servers.logs for line in log.read_text().splitlines()]
    assert any("GET /akun/verifikasi?token=***" in line for _, line in lines)  # the access log was seen
    assert any("/d/***" in line for _, line in lines)
    leaks = [(name, secret, line) for name, line in lines for secret in secrets
             if secret.lower() in line.lower()]
    assert leaks == []
