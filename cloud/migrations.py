"""The cloud schema as numbered migrations, each applied once, in order, in one transaction, on either engine.

A migration is a list of statements; a statement is one SQL text both engines accept, or a dict
`{"sqlite": ..., "postgresql": ...}` where they differ (full-text search does); a pair may name one engine only. Landed migrations are never edited.
On PostgreSQL an advisory lock makes workers starting together apply each migration once.
"""

from __future__ import annotations

import asyncio
import sqlite3
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



@migration
def m004_quality() -> list[Statement]:
    """Ratings (SKM, U1–U9 on 1–4) and complaints of every office, whether made at a desk appliance (arriving by
    sync, keeping the id the appliance gave them) or on the portal; and the visits the appliances send up, for the
    office head's reports. Visits carry the guestbook's profile, never the visitor's name, e-mail or phone."""
    return [
        """CREATE TABLE ratings (
            id VARCHAR(36) PRIMARY KEY,
            office_code VARCHAR(8) NOT NULL,
            source VARCHAR(8) NOT NULL CHECK (source IN ('kiosk', 'api', 'portal')),
            device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL,
            visit_id VARCHAR(36) UNIQUE,
            account_id VARCHAR(36) REFERENCES accounts (id) ON DELETE SET NULL,
            u1 SMALLINT CHECK (u1 BETWEEN 1 AND 4),
            u2 SMALLINT CHECK (u2 BETWEEN 1 AND 4),
            u3 SMALLINT CHECK (u3 BETWEEN 1 AND 4),
            u4 SMALLINT CHECK (u4 BETWEEN 1 AND 4),
            u5 SMALLINT CHECK (u5 BETWEEN 1 AND 4),
            u6 SMALLINT CHECK (u6 BETWEEN 1 AND 4),
            u7 SMALLINT CHECK (u7 BETWEEN 1 AND 4),
            u8 SMALLINT CHECK (u8 BETWEEN 1 AND 4),
            u9 SMALLINT CHECK (u9 BETWEEN 1 AND 4),
            comment TEXT,
            gender VARCHAR(1),
            age_band VARCHAR(10),
            education VARCHAR(20),
            occupation VARCHAR(40),
            rated_at TIMESTAMPTZ NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            clock_flag VARCHAR(12))""",
        "CREATE INDEX ratings_office_rated ON ratings (office_code, rated_at)",
        "CREATE INDEX ratings_rated ON ratings (rated_at)",
        "CREATE INDEX ratings_account ON ratings (account_id)",
        """CREATE TABLE complaints (
            id VARCHAR(36) PRIMARY KEY,
            tracking VARCHAR(32) NOT NULL UNIQUE,
            office_code VARCHAR(8) NOT NULL,
            origin VARCHAR(5) NOT NULL CHECK (origin IN ('edge', 'cloud')),
            device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL,
            account_id VARCHAR(36) REFERENCES accounts (id) ON DELETE SET NULL,
            channel VARCHAR(12) NOT NULL
                CHECK (channel IN ('kotak_saran', 'website', 'email', 'whatsapp', 'lapor', 'langsung')),
            text TEXT NOT NULL,
            contact VARCHAR(200),
            entered_by VARCHAR(100),
            status VARCHAR(16) NOT NULL DEFAULT 'diterima'
                CHECK (status IN ('diterima', 'ditindaklanjuti', 'selesai')),
            received_at TIMESTAMPTZ NOT NULL,
            followed_up_at TIMESTAMPTZ,
            followed_up_by VARCHAR(100),
            resolved_at TIMESTAMPTZ,
            resolved_by VARCHAR(100),
            response TEXT,
            responded_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL,
            clock_flag VARCHAR(12))""",
        "CREATE INDEX complaints_office_received ON complaints (office_code, received_at)",
        "CREATE INDEX complaints_status ON complaints (status, received_at)",
        """CREATE TABLE visits (
            id VARCHAR(36) PRIMARY KEY,
            office_code VARCHAR(8) NOT NULL,
            device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL,
            ticket_number VARCHAR(8),
            gender VARCHAR(1),
            age_band VARCHAR(10),
            education VARCHAR(20),
            occupation VARCHAR(40),
            institution VARCHAR(200),
            purposes VARCHAR(200) NOT NULL DEFAULT '',
            checked_in_at TIMESTAMPTZ NOT NULL,
            service_started_at TIMESTAMPTZ,
            wait_s INTEGER,
            checked_out_at TIMESTAMPTZ,
            clock_flag VARCHAR(12))""",
        "CREATE INDEX visits_office_checked_in ON visits (office_code, checked_in_at)",
        "CREATE INDEX visits_checked_in ON visits (checked_in_at)",
    ]


@migration
def m005_sync() -> list[Statement]:
    """The sync with the appliances (see sync/PROTOCOL.md). Enrolment codes and credentials are stored as hashes.
    Uplink: the cloud owns each appliance database's cursor (`sync_cursors`, per device and epoch), every applied
    event id is remembered once (`sync_events`, also unique per device + epoch + sequence), refused events wait in
    `sync_dead_letters`. Downlink: `changes` numbered by `change_counter`, whose row lock is held to the commit, so
    change numbers are in commit order and a reader's cursor can never pass a change still being written. Desk
    records with no table of their own (tickets, fetch requests, scans, lockers) are kept in `edge_records`."""
    return [
        "ALTER TABLE devices ADD COLUMN enrol_code_hash VARCHAR(64)",
        "ALTER TABLE devices ADD COLUMN enrol_expires_at TIMESTAMPTZ",
        "ALTER TABLE devices ADD COLUMN revoked_at TIMESTAMPTZ",
        "ALTER TABLE devices ADD COLUMN last_seen_at TIMESTAMPTZ",
        "CREATE UNIQUE INDEX devices_enrol_code ON devices (enrol_code_hash)",
        """CREATE TABLE sync_cursors (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            epoch VARCHAR(36) NOT NULL,
            last_seq BIGINT NOT NULL,
            last_event_id VARCHAR(36),
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (device_id, epoch))""",
        """CREATE TABLE sync_events (
            event_id VARCHAR(36) PRIMARY KEY,
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            epoch VARCHAR(36) NOT NULL,
            seq BIGINT NOT NULL,
            entity VARCHAR(24) NOT NULL,
            entity_id VARCHAR(64) NOT NULL,
            op VARCHAR(24) NOT NULL,
            hlc VARCHAR(40),
            applied_at TIMESTAMPTZ NOT NULL,
            UNIQUE (device_id, epoch, seq))""",
        """CREATE TABLE sync_dead_letters (
            id VARCHAR(36) PRIMARY KEY,
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            epoch VARCHAR(36) NOT NULL,
            seq BIGINT NOT NULL,
            event_id VARCHAR(36) NOT NULL UNIQUE,
            entity VARCHAR(24) NOT NULL,
            entity_id VARCHAR(64) NOT NULL,
            op VARCHAR(24) NOT NULL,
            payload TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX sync_dead_letters_device ON sync_dead_letters (device_id, at)",
        """CREATE TABLE change_counter (
            id SMALLINT PRIMARY KEY CHECK (id = 1),
            n BIGINT NOT NULL)""",
        "INSERT INTO change_counter (id, n) VALUES (1, 0)",
        """CREATE TABLE changes (
            seq BIGINT PRIMARY KEY,
            office_code VARCHAR(8),
            entity VARCHAR(24) NOT NULL,
            entity_id VARCHAR(64) NOT NULL,
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX changes_office_seq ON changes (office_code, seq)",
        """CREATE TABLE edge_records (
            entity VARCHAR(24) NOT NULL,
            record_id VARCHAR(64) NOT NULL,
            office_code VARCHAR(8) NOT NULL,
            device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL,
            data TEXT NOT NULL,
            born_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (entity, record_id))""",
        "CREATE INDEX edge_records_office ON edge_records (office_code, entity, born_at)",
        "ALTER TABLE softcopy_requests ADD COLUMN office_code VARCHAR(8)",
        "ALTER TABLE softcopy_requests ADD COLUMN origin VARCHAR(5) NOT NULL DEFAULT 'cloud'",
        "ALTER TABLE softcopy_requests ADD COLUMN device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL",
    ]


@migration
def m006_deliverables() -> list[Statement]:
    """What a visitor scanned at a desk, sent up by the appliance for their portal account (their e-mail in the
    guestbook): the PDF, already watermarked for them at the desk, stored like softcopy by its SHA-256."""
    return [
        """CREATE TABLE deliverables (
            id VARCHAR(36) PRIMARY KEY,
            office_code VARCHAR(8) NOT NULL,
            device_id VARCHAR(36) REFERENCES devices (id) ON DELETE SET NULL,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            visit_id VARCHAR(36),
            pages INTEGER NOT NULL,
            sha256 VARCHAR(64) NOT NULL,
            bytes BIGINT NOT NULL,
            scanned_at TIMESTAMPTZ NOT NULL,
            received_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX deliverables_account ON deliverables (account_id, scanned_at)",
    ]


@migration
def m007_locations() -> list[Statement]:
    """Where each office keeps an edition in its reading room (rak pajang or ruang penyimpanan, shelf, copies): set
    in the cloud, sent down to that office's appliance with the catalogue."""
    return [
        """CREATE TABLE publication_locations (
            publication_id VARCHAR(36) NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
            office_code VARCHAR(8) NOT NULL REFERENCES offices (code),
            location VARCHAR(8) NOT NULL CHECK (location IN ('display', 'storage')),
            shelf VARCHAR(20),
            copies INTEGER NOT NULL DEFAULT 1 CHECK (copies BETWEEN 0 AND 999),
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (publication_id, office_code))""",
        "CREATE INDEX publication_locations_office ON publication_locations (office_code)",
    ]


@migration
def m009_search_speed() -> list[Statement]:
    """Catalogue search (cloud/catalogue.py). A subject filter finds its publications through lower(subject) instead
    of probing every match. On SQLite the facets of a search without words read one covering index of (year, type,
    subjects) in order instead of every row through the year index; PostgreSQL's hash aggregate needs none."""
    return [
        "CREATE INDEX publication_subjects_lower ON publication_subjects (lower(subject))",
        {"sqlite": "CREATE INDEX publications_facets ON publications (year, type, subjects)"},
    ]


@migration
def m010_audit() -> list[Statement]:
    """The audit trail (cloud.audit): staff acts, sign-ins and exports made here, and the appliances' lines as the
    sync brings them (origin edge, with the sending office and device). Append-only: UPDATE and DELETE are refused by
    the database itself. No foreign keys: a line outlives the device or account it names."""
    refuse = "audit_log is append-only"
    return [
        """CREATE TABLE audit_log (
            id VARCHAR(36) PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            actor VARCHAR(64),
            action VARCHAR(40) NOT NULL,
            target VARCHAR(120) NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}',
            address VARCHAR(64),
            office_code VARCHAR(8),
            device_id VARCHAR(36),
            origin VARCHAR(5) NOT NULL DEFAULT 'cloud' CHECK (origin IN ('cloud', 'edge')),
            received_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX audit_log_at ON audit_log (at)",
        "CREATE INDEX audit_log_actor ON audit_log (actor, at)",
        "CREATE INDEX audit_log_action ON audit_log (action, at)",
        "CREATE INDEX audit_log_target ON audit_log (target, at)",
        "CREATE INDEX audit_log_office ON audit_log (office_code, at)",
        {
            "sqlite": f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, '{refuse}'); END""",
            "postgresql": f"""CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '{refuse}' USING ERRCODE = 'insufficient_privilege'; END $$""",
        },
        {
            "sqlite": f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, '{refuse}'); END""",
            "postgresql": """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
        },
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
    if db.kind == "sqlite":
        await _wal(db)
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


async def _wal(db: Database, wait: float = 15.0) -> None:
    """SQLite's WAL mode, which persists in the file (readers never wait for the writer). Switching takes the file's
    exclusive lock without SQLite's busy handler, so workers starting together on a new file get "database is locked"
    at once: tried again until `wait` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = 0.02
    while True:
        try:
            if (await db.execute("PRAGMA journal_mode"))[0]["journal_mode"] != "wal":
                await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


async def _lock(db: Database) -> None:
    """On PostgreSQL, one migrating transaction at a time (SQLite's BEGIN IMMEDIATE already is)."""
    if db.kind == "postgresql":
        await db.execute("SELECT pg_advisory_xact_lock({})", _LOCK_ID)


@migration
def m011_privacy() -> list[Statement]:
    """Personal data (cloud.privacy, UU No. 27/2022). `erasures`: a person's erasure as the downlink sends it to every
    office — a salted digest of the e-mail, never the e-mail. `privacy_runs`: one row per day the retention ran, so of
    several workers and hosts exactly one runs it (the primary key decides). `privacy_file_removals`: files of erased
scans, deleted from storage once the erasing transaction has committed (by it, or by the hourly check)."""
    return [
        """CREATE TABLE erasures (
            id VARCHAR(36) PRIMARY KEY,
            salt VARCHAR(32) NOT NULL,
            digest VARCHAR(64) NOT NULL,
            origin VARCHAR(5) NOT NULL CHECK (origin IN ('cloud', 'edge')),
            office_code VARCHAR(8),
            requested_at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE privacy_runs (
            day VARCHAR(10) PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL)""",
        """CREATE TABLE privacy_file_removals (
            storage_path VARCHAR(300) PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL)""",
    ]


@migration
def m012_signin_throttle() -> list[Statement]:
    """Wrong sign-ins per client address (cloud.accounts): the throttle every worker shares. A success forgives
    nothing here, so one account of one's own does not reset the count."""
    return [
        """CREATE TABLE signin_failures (
            id VARCHAR(36) PRIMARY KEY,
            address VARCHAR(64) NOT NULL,
            at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX signin_failures_address ON signin_failures (address, at)",
    ]


@migration
def m013_set_password_tokens() -> list[Statement]:
    """A third kind of mailed token, `setpass` (cloud.accounts): the link by which a visitor whose account the desk
    made chooses her first password. SQLite cannot change a CHECK in place, so there the table is rebuilt."""
    kinds = "CHECK (kind IN ('verify', 'reset', 'setpass'))"
    return [
        {"postgresql": "ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_kind_check",
         "sqlite": f"""CREATE TABLE account_tokens_new (
            id VARCHAR(36) PRIMARY KEY,
            account_id VARCHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            kind VARCHAR(8) NOT NULL {kinds},
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL)"""},
        {"postgresql": f"ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_kind_check {kinds}",
         "sqlite": "INSERT INTO account_tokens_new SELECT id, account_id, kind, token_hash, expires_at, used_at,"
                   " created_at FROM account_tokens"},
        {"sqlite": "DROP TABLE account_tokens"},
        {"sqlite": "ALTER TABLE account_tokens_new RENAME TO account_tokens"},
        {"sqlite": "CREATE INDEX account_tokens_account ON account_tokens (account_id)"},
    ]


@migration
def m014_device_health() -> list[Statement]:
    """Each appliance's health as its sync rounds report it (sync/PROTOCOL.md, "Health"; cloud.fleet):
    `device_health` the latest, `device_health_history` at most one sample per device per five minutes (`slot`: Unix
    seconds // 300), kept 30 days. Times the appliance reports (`boot_at`, `backup_at`) are Unix seconds of its clock;
    `lockers` and `alerts` JSON arrays."""
    facts = """version INTEGER NOT NULL,
            software VARCHAR(40),
            boot_at BIGINT,
            disk_free BIGINT,
            disk_free_pct REAL,
            db_bytes BIGINT,
            ntp BOOLEAN,
            clock_offset_ms BIGINT,
            printer VARCHAR(40),
            scanner VARCHAR(40),
            lockers TEXT,
            pending BIGINT,
            oldest_pending_s BIGINT,
            backup_at BIGINT,
            backup_ok BOOLEAN,
            alerts TEXT,
            alert_count BIGINT"""
    return [
        f"""CREATE TABLE device_health (
            device_id VARCHAR(36) PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
            received_at TIMESTAMPTZ NOT NULL,
            state_key TEXT NOT NULL,
            {facts})""",
        f"""CREATE TABLE device_health_history (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            slot BIGINT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            {facts},
            PRIMARY KEY (device_id, slot))""",
        "CREATE INDEX device_health_history_slot ON device_health_history (slot)",
    ]


@migration
def m015_fleet_alerts() -> list[Statement]:
    """Alerts about the appliances, computed in the cloud from their health and silence (cloud.fleet_alerts). At most
    one open alert per device and kind (`open_key` is set while open, cleared on closing; the unique index makes two
    workers evaluating at once open it once); `mailed_open`/`mailed_close` say its mails went out. `offices.email`
    is the office's staff address the alerts are mailed to; `device_health.hours` the opening hours the appliance
    reports (JSON, sync/PROTOCOL.md "Health" `oh`)."""
    return [
        """CREATE TABLE fleet_alerts (
            id VARCHAR(36) PRIMARY KEY,
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL,
            open_key VARCHAR(60) UNIQUE,
            text TEXT NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            opened_at TIMESTAMPTZ NOT NULL,
            closed_at TIMESTAMPTZ,
            mailed_open BOOLEAN NOT NULL DEFAULT FALSE,
            mailed_close BOOLEAN NOT NULL DEFAULT FALSE)""",
        "CREATE INDEX fleet_alerts_device ON fleet_alerts (device_id, opened_at)",
        """CREATE TABLE fleet_conditions (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (device_id, kind))""",
        "ALTER TABLE offices ADD COLUMN email VARCHAR(254)",
        "ALTER TABLE device_health ADD COLUMN hours TEXT",
    ]


@migration
def m016_fleet_summary() -> list[Statement]:
    """The appliances' health history summed up per device per six hours (`period`: Unix seconds // 21600), kept as
    long as the samples (cloud.fleet): how many samples, and the highest backlog. The fleet page draws its week of
    sparklines from it instead of the samples; the history already there is summed up here. `visits` gets an index on
    device and time for the page's visits per day of the appliances it shows."""
    return [
        {"sqlite": """CREATE TABLE device_health_summary (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            period BIGINT NOT NULL,
            samples INTEGER NOT NULL,
            pending_max BIGINT,
            PRIMARY KEY (device_id, period)) WITHOUT ROWID""",
         "postgresql": """CREATE TABLE device_health_summary (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            period BIGINT NOT NULL,
            samples INTEGER NOT NULL,
            pending_max BIGINT,
            PRIMARY KEY (device_id, period))"""},
        "CREATE INDEX device_health_summary_period ON device_health_summary (period)",
        """INSERT INTO device_health_summary (device_id, period, samples, pending_max)
            SELECT device_id, slot / 72, COUNT(*), MAX(pending) FROM device_health_history GROUP BY device_id, slot / 72""",
        "CREATE INDEX visits_device_checked_in ON visits (device_id, checked_in_at)",
    ]


@migration
def m017_device_backups() -> list[Statement]:
    """A replacement appliance (cloud.backups): each appliance's nightly backup, stored per device (the newest few;
    the file under the data folder, `storage_path`), and the journal of the events it sent since — each event as it
    came, per device, epoch and sequence — from which a database restored from the backup is brought to where the
    cloud stands. The journal is kept back to the oldest stored backup (at most JOURNAL_DAYS)."""
    return [
        """CREATE TABLE device_backups (
            id VARCHAR(36) PRIMARY KEY,
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            epoch VARCHAR(36) NOT NULL,
            seq BIGINT NOT NULL,
            taken_at TIMESTAMPTZ NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            size BIGINT NOT NULL,
            stored_size BIGINT NOT NULL,
            sha256 VARCHAR(64) NOT NULL,
            storage_path TEXT NOT NULL)""",
        "CREATE INDEX device_backups_device ON device_backups (device_id, received_at)",
        """CREATE TABLE sync_journal (
            device_id VARCHAR(36) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            epoch VARCHAR(36) NOT NULL,
            seq BIGINT NOT NULL,
            entity_id VARCHAR(64) NOT NULL,
            event TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (device_id, epoch, seq))""",
        "CREATE INDEX sync_journal_at ON sync_journal (at)",
        "CREATE INDEX sync_journal_entity ON sync_journal (device_id, entity_id)",
    ]


@migration
def m018_oai() -> list[Statement]:
    """OAI-PMH (cloud.oai): each edition's header as harvesters see it, kept after the edition is removed
    (`deleted`: the protocol's persistent deletions, with the sets it was in). `datestamp` is set by every catalogue
    write inside its transaction, by the database's clock (ISO text to the millisecond on SQLite, which sorts as
    time); the editions already there get their `updated_at`. No foreign key: a header outlives its edition."""
    columns = """publication_id VARCHAR(36) PRIMARY KEY,
            datestamp {} NOT NULL,
            deleted BOOLEAN NOT NULL DEFAULT FALSE,
            office_code VARCHAR(8),
            type VARCHAR(60)"""
    return [
        {"sqlite": f"CREATE TABLE oai_headers ({columns.format('TEXT')})",
         "postgresql": f"CREATE TABLE oai_headers ({columns.format('TIMESTAMPTZ')})"},
        "CREATE INDEX oai_headers_datestamp ON oai_headers (datestamp, publication_id)",
        "CREATE INDEX oai_headers_office ON oai_headers (office_code, datestamp, publication_id)",
        "CREATE INDEX oai_headers_type ON oai_headers (type, datestamp, publication_id)",
        {"sqlite": """INSERT INTO oai_headers (publication_id, datestamp, deleted, office_code, type)
            SELECT id, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', updated_at), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                FALSE, office_code, type FROM publications""",
         "postgresql": """INSERT INTO oai_headers (publication_id, datestamp, deleted, office_code, type)
            SELECT id, updated_at, FALSE, office_code, type FROM publications"""},
    ]


@migration
def m019_oai_records() -> list[Statement]:
    """Each edition's OAI records as written with it (cloud.oai.render: `oai_dc` and `marc21`, the portal's address
    left as a mark), so that a harvest page is one statement and the concatenation of its texts. NULL until written:
    the editions already there get theirs in the background (cloud.oai.render_missing), and a page renders what is
    not written yet itself."""
    return ["ALTER TABLE oai_headers ADD COLUMN oai_dc TEXT", "ALTER TABLE oai_headers ADD COLUMN marc21 TEXT"]
