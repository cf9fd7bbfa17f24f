"""The cloud schema as numbered migrations, each applied once, in order, in one transaction, on either engine.

A migration is a list of statements; a statement is one SQL text both engines accept, or a dict
`{"sqlite": ..., "postgresql": ...}` where they differ (full-text search does); a pair may name one engine only. Landed migrations are never edited.
On PostgreSQL an advisory lock makes workers starting together apply each migration once.
"""

from __future__ import annotations

from collections.abc import Callable

from cloud.db import Database
from pst.clock import Clock, SystemClock

Statement = str | dict[str, str]
MIGRATIONS: list[tuple[str, Callable[[], list[Statement]]]] = []
_LOCK_ID = 7_400_100  # any constant; only this program takes it


def migration(fn: Callable[[], list[Statement]]) -> Callable[[], list[Statement]]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_accounts() -> list[Statement]:
    return [
        """CREATE TABLE offices (
            id VARCHAR(36) PRIMARY KEY,
            code VARCHAR(8) NOT NULL UNIQUE,
            name VARCHAR(200) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE devices (
            id VARCHAR(36) PRIMARY KEY,
            office_id VARCHAR(36) NOT NULL REFERENCES offices (id) ON DELETE CASCADE,
            name VARCHAR(100) NOT NULL,
            key_hash VARCHAR(64) UNIQUE,
            enrolled_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX devices_office ON devices (office_id)",
        """CREATE TABLE accounts (
            id VARCHAR(36) PRIMARY KEY,
            email VARCHAR(254) NOT NULL UNIQUE CHECK (email = lower(email)),
            name VARCHAR(200) NOT NULL,
            password_hash VARCHAR(200) NOT NULL,
            role VARCHAR(8) NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'staff', 'admin')),
            verified_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE account_tokens (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            kind VARCHAR(8) NOT NULL CHECK (kind IN ('verify', 'reset')),
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX account_tokens_account ON account_tokens (account_id)",
        """CREATE TABLE sessions (
            id VARCHAR(64) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX sessions_account ON sessions (account_id)",
        "CREATE INDEX sessions_expires ON sessions (expires_at)",
        """CREATE TABLE login_attempts (
            id VARCHAR(36) PRIMARY KEY,
            email VARCHAR(254) NOT NULL,
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX login_attempts_email_at ON login_attempts (email, at)",
    ]


@migration
def m002_catalogue() -> list[Statement]:
    """Publications keyed on (catalogue_number, year): BPS gives every year of a series the same number. Full text
    per engine: a generated `search` tsvector with a GIN index on PostgreSQL (unaccent when the server has it), an
    FTS5 table kept by triggers on SQLite (keyed on `seq`, a rowid alias, so VACUUM cannot shuffle it)."""
    return [
        """CREATE TABLE softcopy_files (
            sha256 VARCHAR(64) PRIMARY KEY,
            size BIGINT NOT NULL,
            pages INTEGER NOT NULL,
            storage_path VARCHAR(300) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL)""",
        {
            "sqlite": f"CREATE TABLE publications (seq INTEGER PRIMARY KEY, id VARCHAR(36) NOT NULL UNIQUE, {_PUBLICATION})",
            "postgresql": f"CREATE TABLE publications (id VARCHAR(36) PRIMARY KEY, {_PUBLICATION})",
        },
        "CREATE INDEX publications_year ON publications (year)",
        "CREATE INDEX publications_type ON publications (type)",
        "CREATE INDEX publications_softcopy ON publications (softcopy_sha256)",
        """CREATE TABLE publication_subjects (
            id VARCHAR(36) PRIMARY KEY,
            publication_id VARCHAR(36) NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            subject VARCHAR(80) NOT NULL,
            UNIQUE (publication_id, subject))""",
        "CREATE INDEX publication_subjects_subject ON publication_subjects (subject)",
        """CREATE TABLE downloads (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            publication_id VARCHAR(36) NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            softcopy_sha256 VARCHAR(64) NOT NULL REFERENCES softcopy_files (sha256),
            disposition VARCHAR(10) NOT NULL CHECK (disposition IN ('inline', 'attachment')),
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX downloads_account_at ON downloads (account_id, at)",
        "CREATE INDEX downloads_publication ON downloads (publication_id)",
        *_full_text(),
    ]


@migration
def m003_requests() -> list[Statement]:
    """Softcopy requests: diajukan → diproses → selesai (a stored PDF attached) or ditolak (with a reason); each copy
    of a fulfilled file served to its reader is logged in `request_downloads`, whose id is in the watermark."""
    return [
        """CREATE TABLE softcopy_requests (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            publication_id VARCHAR(36) REFERENCES publications (id) ON DELETE SET NULL,
            description TEXT,
            purpose VARCHAR(20) NOT NULL,
            status VARCHAR(10) NOT NULL DEFAULT 'diajukan'
                CHECK (status IN ('diajukan', 'diproses', 'selesai', 'ditolak')),
            reason TEXT,
            softcopy_sha256 VARCHAR(64) REFERENCES softcopy_files (sha256),
            created_at TIMESTAMPTZ NOT NULL,
            processed_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            processed_by VARCHAR(36) REFERENCES accounts (id) ON DELETE SET NULL,
            finished_by VARCHAR(36) REFERENCES accounts (id) ON DELETE SET NULL)""",
        "CREATE INDEX softcopy_requests_account_status ON softcopy_requests (account_id, status)",
        "CREATE INDEX softcopy_requests_status_created ON softcopy_requests (status, created_at)",
        """CREATE TABLE request_downloads (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            request_id VARCHAR(36) NOT NULL REFERENCES softcopy_requests (id) ON DELETE CASCADE,
            softcopy_sha256 VARCHAR(64) NOT NULL REFERENCES softcopy_files (sha256),
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX request_downloads_request ON request_downloads (request_id)",
    ]


_PUBLICATION = """catalogue_number VARCHAR(40) NOT NULL,
            year INTEGER NOT NULL,
            title VARCHAR(300) NOT NULL,
            type VARCHAR(60),
            subjects TEXT NOT NULL DEFAULT '',
            isbn VARCHAR(40),
            abstract TEXT,
            office_code VARCHAR(8) REFERENCES offices (code),
            softcopy_sha256 VARCHAR(64) REFERENCES softcopy_files (sha256),
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            UNIQUE (catalogue_number, year)"""
_FTS_COLUMNS = "title, catalogue_number, subjects, abstract"


def _full_text() -> list[Statement]:
    new = ", ".join(f"new.{c}" for c in _FTS_COLUMNS.split(", "))
    old = ", ".join(f"old.{c}" for c in _FTS_COLUMNS.split(", "))
    insert = f"INSERT INTO publications_fts (rowid, {_FTS_COLUMNS}) VALUES (new.seq, {new});"
    delete = (f"INSERT INTO publications_fts (publications_fts, rowid, {_FTS_COLUMNS})"
              f" VALUES ('delete', old.seq, {old});")
    return [
        {
            "sqlite": f"""CREATE VIRTUAL TABLE publications_fts USING fts5({_FTS_COLUMNS}, content='publications',
                content_rowid='seq', tokenize="unicode61 remove_diacritics 2")""",
            # unaccent is a contrib extension: used when the server has it and we may create it; a plain copy else.
            # Wrapped as IMMUTABLE (unaccent itself is only STABLE) so a generated column may use it.
            "postgresql": """DO $$
            DECLARE
                home text;
            BEGIN
                BEGIN
                    CREATE EXTENSION IF NOT EXISTS unaccent;
                EXCEPTION WHEN OTHERS THEN
                    NULL;
                END;
                SELECT n.nspname INTO home FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                    WHERE e.extname = 'unaccent';
                EXECUTE format(
                    'CREATE FUNCTION pst_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS %L',
                    CASE WHEN home IS NULL THEN 'SELECT $1'
                         ELSE format('SELECT %I.unaccent(%L::regdictionary, $1)', home, home || '.unaccent') END);
            END $$""",
        },
        {
            "sqlite": f"CREATE TRIGGER publications_ai AFTER INSERT ON publications BEGIN {insert} END",
            "postgresql": """ALTER TABLE publications ADD COLUMN search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', pst_unaccent(title)), 'A')
                || setweight(to_tsvector('simple', catalogue_number), 'B')
                || setweight(to_tsvector('simple', pst_unaccent(subjects)), 'B')
                || setweight(to_tsvector('simple', pst_unaccent(coalesce(abstract, ''))), 'C')) STORED""",
        },
        {
            "sqlite": f"CREATE TRIGGER publications_ad AFTER DELETE ON publications BEGIN {delete} END",
            "postgresql": "CREATE INDEX publications_search ON publications USING GIN (search)",
        },
        {"sqlite": f"CREATE TRIGGER publications_au AFTER UPDATE ON publications BEGIN {delete} {insert} END"},
    ]


async def migrate(db: Database, clock: Clock | None = None) -> list[str]:
    """Apply what is missing; returns the names applied (none when up to date). Safe to run again, and at once."""
    clock = clock or SystemClock()
    if db.kind == "sqlite" and (await db.execute("PRAGMA journal_mode"))[0]["journal_mode"] != "wal":
        await db.execute("PRAGMA journal_mode = WAL")  # persists in the file; readers never wait for the writer
    async with db.transaction():
        await _lock(db)
        await db.run_ddl(
            "CREATE TABLE IF NOT EXISTS cloud_migrations (name VARCHAR(100) PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
        )
    applied = []
    for name, statements in MIGRATIONS:
        async with db.transaction():
            await _lock(db)
            if await db.execute("SELECT 1 AS done FROM cloud_migrations WHERE name = {}", name):
                continue
            for statement in statements():
                sql = statement.get(db.kind) if isinstance(statement, dict) else statement
                if sql:  # a pair may leave one engine out
                    await db.run_ddl(sql)
            await db.execute("INSERT INTO cloud_migrations (name, applied_at) VALUES ({}, {})", name, clock.now())
        applied.append(name)
    return applied


async def _lock(db: Database) -> None:
    """On PostgreSQL, one migrating transaction at a time (SQLite's BEGIN IMMEDIATE already is)."""
    if db.kind == "postgresql":
        await db.execute("SELECT pg_advisory_xact_lock({})", _LOCK_ID)
