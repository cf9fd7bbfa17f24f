"""Fixtures of the cloud tests: every API test runs on SQLite and on PostgreSQL 15, in an ephemeral cluster started
once per run (initdb + pg_ctl on a free port) with a fresh database per test; mail goes to a real local SMTP sink.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import subprocess
import tempfile
from itertools import count
from pathlib import Path

import pytest

from cloud.mailsink import MailSink, free_port
from cloud.settings import CloudSettings

SECRET = "test-secret-" + "0123456789abcdef" * 2
NOT_INSTALLED = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH nor in /usr/lib/postgresql/*/bin; "
    "`make test` installs them (Debian package `postgresql`)"
)


def postgres_bindir() -> Path | None:
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


class PostgresCluster:
    """A throwaway cluster: trust authentication, 127.0.0.1 only, no fsync; removed when the run ends.

    initdb refuses to run as root, so as root it runs as the `postgres` user on a directory that user owns.
    """

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="pst-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = free_port()
        self._names = count(1)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}{log}")

    def start(self) -> PostgresCluster:
        data = str(self.root / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.root / "server.log"), "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import asyncpg

        name = f"pst_cloud_{next(self._names)}"

        async def create() -> None:
            connection = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        asyncio.run(create())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres_cluster():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail(NOT_INSTALLED, pytrace=False)
    cluster = PostgresCluster(bindir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """The URL of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    return request.getfixturevalue("postgres_cluster").new_database()


@pytest.fixture
def mailbox(tmp_path):
    """A real SMTP server on a free port, keeping what it receives."""
    with MailSink(tmp_path / "mail") as sink:
        yield sink


@pytest.fixture
def cloud_env(tmp_path, database, mailbox) -> dict[str, str]:
    return {
        "PST_DATA_DIR": str(tmp_path / "var"),
        "PST_CLOUD_DATABASE_URL": database,
        "PST_CLOUD_SMTP_URL": mailbox.url,
        "PST_CLOUD_SECRET": SECRET,
        "PST_CLOUD_PUBLIC_URL": "http://portal.test",
    }


@pytest.fixture
def cloud_settings(cloud_env) -> CloudSettings:
    return CloudSettings.from_env(cloud_env)


@pytest.fixture
def client(cloud_settings, clock):
    from litestar.testing import TestClient

    from cloud.app import create_app

    with TestClient(create_app(cloud_settings, clock=clock), base_url="http://portal.test") as test_client:
        yield test_client


def run_db(client, sql: str, *args) -> list[dict]:
    """Plain SQL on the app's database, on the app's own event loop (asyncpg pools belong to one loop)."""
    return client.blocking_portal.call(client.app.state.db.execute, sql, *args)


def rows_in(client, table: str) -> int:
    return run_db(client, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def link_token(mail, path: str) -> str:
    found = re.search(rf"http://portal\.test{re.escape(path)}\?token=([A-Za-z0-9_-]+)", mail.body)
    assert found, f"no {path} link in: {mail.body}"
    return found.group(1)
