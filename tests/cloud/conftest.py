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


# --- the catalogue: PDFs and CSVs written the way a librarian's folder looks -----------------------------------------
CSV_HEADER = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "abstract", "office", "file")
READER_PASSWORD = "kopi-toraja-2026"


def write_pdf(path: Path, pages: int = 3, text: str = "Tabel 1.1 Jumlah penduduk menurut kecamatan") -> Path:
    import pymupdf

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    for number in range(pages):
        doc.new_page(width=595, height=842).insert_text((60, 100), f"{text} — halaman {number + 1}", fontsize=11)
    doc.save(path)
    doc.close()
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_HEADER)
        writer.writeheader()
        writer.writerows([{column: row.get(column, "") for column in CSV_HEADER} for row in rows])
    return path


def edition(title: str, year: int, number: str, **cells) -> dict:
    return {"title": f"{title} {year}", "year": str(year), "catalogue_number": number, **cells}


SMALL_CATALOGUE = [
    edition("Provinsi Sulawesi Tenggara Dalam Angka", 2023, "1102001.74", type="Dalam Angka",
            subjects="Kependudukan;Pemerintahan", office="7400", file="pdf/sultra-da-2023.pdf"),
    edition("Provinsi Sulawesi Tenggara Dalam Angka", 2024, "1102001.74", type="Dalam Angka",
            subjects="Kependudukan;Pemerintahan", office="7400", file="pdf/sultra-da-2024.pdf", isbn="978-623-00-1234-5"),
    edition("Kota Kendari Dalam Angka", 2024, "1102001.7471", type="Dalam Angka", subjects="Kependudukan",
            office="7471", file="pdf/kendari-da-2024.pdf"),
    edition("Statistik Daerah Kota Kendari", 2024, "1101002.7471", type="Statistik Daerah", subjects="Pemerintahan",
            office="7471"),
    edition("Profil Kemiskinan Provinsi Sulawesi Tenggara", 2023, "3205011.74", type="Publikasi Tematik",
            subjects="Kemiskinan", abstract="Garis kemiskinan dan persentase penduduk miskin.", office="7400"),
    edition("Produk Domestik Regional Bruto Provinsi Sulawesi Tenggara Menurut Lapangan Usaha", 2024, "9302008.74",
            type="Publikasi Tematik", subjects="Neraca Regional;Keuangan", office="7400", file="pdf/pdrb-2024.pdf"),
    edition("Kajian Sosial Ékonomi Pesisir Kabupaten Wakatobi", 2022, "4102099.7407", type="Publikasi Tematik",
            subjects="Perikanan;Kemiskinan", office="7407"),
    edition("Statistik Hotel dan Akomodasi Provinsi Sulawesi Tenggara", 2022, "8401003.74", type="Publikasi Tematik",
            subjects="Pariwisata", office="7400"),
]


@pytest.fixture
def catalogue_csv(tmp_path) -> Path:
    """A librarian's folder: the CSV above and its PDFs (4 and 5 pages) in pdf/."""
    folder = tmp_path / "katalog"
    for row in SMALL_CATALOGUE:
        if row.get("file"):
            write_pdf(folder / row["file"], pages=4 if "2023" in row["file"] else 5, text=row["title"])
    return write_csv(folder / "katalog.csv", SMALL_CATALOGUE)


@pytest.fixture
def catalogue(client, catalogue_csv, clock) -> dict[str, str]:
    """The small catalogue imported into the app's database; title → id."""
    from cloud.catalogue_import import import_csv

    state = client.app.state
    client.blocking_portal.call(import_csv, state.db, clock, state.settings.data_dir, catalogue_csv)
    return {row["title"]: row["id"] for row in run_db(client, "SELECT id, title FROM publications")}


def add_reader(client, email: str, name: str) -> str:
    """A verified reader account; returns its session token after signing in."""
    from cloud.accounts import Accounts

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    client.blocking_portal.call(accounts.add, email, "reader", READER_PASSWORD, name)
    signed_in = client.post("/api/session", json={"email": email, "password": READER_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.cookies["pst_cloud_session"]


COOKIE = "pst_cloud_session"


@pytest.fixture
def offices(client, clock):
    """Two offices of the province: 7400 and 7471."""
    for code, name in (("7400", "BPS Provinsi Sulawesi Tenggara"), ("7471", "BPS Kota Kendari")):
        run_db(client, "INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})",
               f"office-{code}", code, name, clock.now())
    return ("7400", "7471")


def sign_in(client, email: str, name: str, role: str) -> str:
    """A staff or admin account made as `pst cloud user add` does, signed in; its session token."""
    from cloud.accounts import Accounts

    accounts = Accounts(client.app.state.db, client.app.state.clock, None, b"", "")
    client.blocking_portal.call(accounts.add, email, role, READER_PASSWORD, name)
    signed_in = client.post("/api/session", json={"email": email, "password": READER_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.cookies[COOKIE]


def as_(client, token: str | None):
    """The client acting with this session token (None: signed out)."""
    client.cookies.delete(COOKIE)
    if token:
        client.cookies.set(COOKIE, token)
    return client
