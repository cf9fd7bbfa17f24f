"""Numbered schema migrations of the appliance store. Never edit one that has landed: add the next number."""

from __future__ import annotations

import fcntl
import secrets
import sqlite3
from pathlib import Path

from sqlite_utils import Database, Migrations

from edge.store import EdgeStore
from pst.ids import new_id

migrations = Migrations("edge")


@migrations()
def m001_foundation(db: Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta (key, value) VALUES ('device_id', ?)", [new_id()])
    db.execute(
        """
        CREATE TABLE tickets (
            id TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            service_day TEXT NOT NULL,          -- office-time date the numbering belongs to
            seq INTEGER NOT NULL CHECK (seq > 0),
            number TEXT NOT NULL,               -- A001
            issued_at TEXT NOT NULL,            -- UTC, ISO 8601
            source TEXT NOT NULL CHECK (source IN ('button', 'kiosk', 'staff')),
            status TEXT NOT NULL DEFAULT 'waiting',
            print_status TEXT NOT NULL DEFAULT 'pending'
                CHECK (print_status IN ('pending', 'printed', 'not_printed')),
            print_attempts INTEGER NOT NULL DEFAULT 0,
            printed_at TEXT,
            print_error TEXT,
            UNIQUE (service_day, service, seq)
        )
        """
    )
    db.execute("CREATE INDEX tickets_day_status ON tickets (service_day, status)")
    db.execute("CREATE INDEX tickets_print_status ON tickets (print_status) WHERE print_status = 'pending'")
    db.execute(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- the per-device sequence; never reused
            event_id TEXT NOT NULL UNIQUE,
            device_id TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            op TEXT NOT NULL,
            payload TEXT NOT NULL,                   -- JSON
            created_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL")
    db.execute(
        """
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            cleared_at TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX alerts_open_kind ON alerts (kind) WHERE cleared_at IS NULL")
    db.execute(
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL CHECK (role IN ('frontliner', 'librarian', 'admin')),
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )
        """
    )


def migrate(store: EdgeStore) -> list[str]:
    """Apply what is pending; returns the names applied (empty when up to date). Processes starting together on
    one database (the web app and the sync agent after an upgrade) take turns: a lock file beside the database."""
    lock_path = store.path.with_name(store.path.name + ".migrate-lock")
    with open(lock_path, "a+b") as lock, store.writer() as db:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pending = [m.name for m in migrations.pending(db)]
            migrations.apply(db)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return pending


@migrations()
def m002_guestbook_and_calls(db: Database) -> None:
    for column in (
        "counter INTEGER", "called_at TEXT", "call_count INTEGER NOT NULL DEFAULT 0",
        "serving_at TEXT", "done_at TEXT", "skipped_at TEXT", "staff_id TEXT",
    ):
        db.execute(f"ALTER TABLE tickets ADD COLUMN {column}")
    db.execute(
        """
        CREATE TABLE visits (
            id TEXT PRIMARY KEY,
            ticket_id TEXT NOT NULL UNIQUE REFERENCES tickets (id),
            service_day TEXT NOT NULL,
            name TEXT NOT NULL,
            gender TEXT NOT NULL CHECK (gender IN ('L', 'P')),
            age INTEGER,
            education TEXT,
            occupation TEXT NOT NULL,
            institution TEXT,
            email TEXT NOT NULL,
            phone TEXT,
            purposes TEXT NOT NULL,               -- JSON list of purpose codes
            id_type TEXT NOT NULL,
            has_portal_account INTEGER,
            checked_in_at TEXT NOT NULL,          -- guestbook submitted (UTC): the 5-minute clock starts here
            serve_by TEXT NOT NULL,
            service_started_at TEXT,
            wait_s REAL,                          -- guestbook submitted → service started
            finished_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX visits_email ON visits (email, checked_in_at)")
    db.execute("CREATE INDEX visits_checked_in ON visits (checked_in_at)")
    db.execute(
        """
        CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL COLLATE NOCASE,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX login_attempts_user ON login_attempts (username, at)")


@migrations()
def m003_lockers(db: Database) -> None:
    db.execute("CREATE TABLE lockers (number INTEGER PRIMARY KEY, in_service INTEGER NOT NULL DEFAULT 1)")
    db.execute(
        """
        CREATE TABLE locker_uses (
            id TEXT PRIMARY KEY,
            locker INTEGER NOT NULL REFERENCES lockers (number),
            visit_id TEXT NOT NULL REFERENCES visits (id),
            id_type TEXT NOT NULL,
            id_last4 TEXT NOT NULL,              -- the ID card number is never stored in clear
            id_hash TEXT NOT NULL,               -- HMAC-SHA256 with the appliance key, to match it on return
            assigned_at TEXT NOT NULL,
            staff_id TEXT,
            released_at TEXT,                    -- checkout: unlocked for the last time, ID card handed back
            door_closed_at TEXT                  -- the door shut after release: the locker is free again
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX locker_busy ON locker_uses (locker) WHERE door_closed_at IS NULL")
    db.execute("CREATE UNIQUE INDEX visit_holds_locker ON locker_uses (visit_id) WHERE released_at IS NULL")


@migrations()
def m004_scans(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE scans (
            id TEXT PRIMARY KEY,
            visit_id TEXT NOT NULL REFERENCES visits (id),
            status TEXT NOT NULL CHECK (status IN ('scanning', 'ready', 'failed')),
            pages INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),   -- pages per visit: SUM(pages) GROUP BY visit_id
            started_at TEXT NOT NULL,
            finished_at TEXT,
            pdf_path TEXT,                     -- relative to $PST_DATA_DIR; NULL when no page was scanned
            pdf_sha256 TEXT,
            download_code TEXT UNIQUE,
            code_expires_at TEXT,
            error TEXT                         -- Indonesian, shown to the visitor (a msgid of the catalogue)
        )
        """
    )
    db.execute("CREATE INDEX scans_visit ON scans (visit_id)")
    # one scanner per appliance: at most one job runs at a time
    db.execute("CREATE UNIQUE INDEX scans_one_running ON scans (status) WHERE status = 'scanning'")


@migrations()
def m005_reading_room(db: Database) -> None:
    _run_script(db, READING_ROOM_SQL)


READING_ROOM_SQL = """
CREATE TABLE publications (
    seq INTEGER PRIMARY KEY,                 -- the row the full-text index points at (a rowid alias survives VACUUM)
    id TEXT NOT NULL UNIQUE,
    catalogue_number TEXT NOT NULL,          -- series code + area code: 1102001.74, 1102001.7471
    title TEXT NOT NULL,
    year INTEGER NOT NULL,
    type TEXT,
    subjects TEXT NOT NULL DEFAULT '[]',     -- JSON list, written with ensure_ascii=False so the index sees words
    isbn TEXT,                               -- ISBN or ISSN as printed
    location TEXT NOT NULL DEFAULT 'storage' CHECK (location IN ('display', 'storage')),
    shelf TEXT,                              -- R-03 (display shelf), G-12-4 (storage rack 12, level 4)
    copies INTEGER NOT NULL DEFAULT 1 CHECK (copies >= 0),
    in_house_uses INTEGER NOT NULL DEFAULT 0 CHECK (in_house_uses >= 0),
    updated_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('import', 'cloud')),
    UNIQUE (catalogue_number, year)
);
CREATE INDEX publications_year ON publications (year);
CREATE VIRTUAL TABLE publications_fts USING fts5(
    title, subjects, catalogue_number,
    content = 'publications', content_rowid = 'seq',
    tokenize = "unicode61 remove_diacritics 2"
);
CREATE TRIGGER publications_fts_insert AFTER INSERT ON publications BEGIN
    INSERT INTO publications_fts (rowid, title, subjects, catalogue_number)
    VALUES (new.seq, new.title, new.subjects, new.catalogue_number);
END;
CREATE TRIGGER publications_fts_delete AFTER DELETE ON publications BEGIN
    INSERT INTO publications_fts (publications_fts, rowid, title, subjects, catalogue_number)
    VALUES ('delete', old.seq, old.title, old.subjects, old.catalogue_number);
END;
CREATE TRIGGER publications_fts_update AFTER UPDATE OF title, subjects, catalogue_number ON publications BEGIN
    INSERT INTO publications_fts (publications_fts, rowid, title, subjects, catalogue_number)
    VALUES ('delete', old.seq, old.title, old.subjects, old.catalogue_number);
    INSERT INTO publications_fts (rowid, title, subjects, catalogue_number)
    VALUES (new.seq, new.title, new.subjects, new.catalogue_number);
END;
CREATE TABLE publication_uses (
    id TEXT PRIMARY KEY,
    publication_id TEXT NOT NULL REFERENCES publications (id),
    at TEXT NOT NULL,
    staff_id TEXT,
    fetch_request_id TEXT                    -- set when the use is a hand-over from the storage room
);
CREATE INDEX publication_uses_at ON publication_uses (at);
CREATE TABLE fetch_requests (
    id TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL REFERENCES visits (id),
    publication_id TEXT NOT NULL REFERENCES publications (id),
    status TEXT NOT NULL DEFAULT 'diminta' CHECK (status IN (
        'diminta', 'diambil', 'diserahkan', 'tidak_tersedia', 'dikembalikan', 'dibatalkan')),
    requested_at TEXT NOT NULL,
    requested_by TEXT,                       -- staff ids
    fetched_at TEXT,                         -- taken from the storage room
    fetched_by TEXT,
    handed_at TEXT,                          -- handed to the visitor in the reading room
    handed_by TEXT,
    unavailable_at TEXT,
    closed_at TEXT,                          -- every final status: tidak_tersedia, dikembalikan, dibatalkan
    closed_by TEXT,                          -- NULL when checkout closed it
    note TEXT
);
CREATE INDEX fetch_requests_open ON fetch_requests (requested_at) WHERE closed_at IS NULL;
CREATE INDEX fetch_requests_visit ON fetch_requests (visit_id);
CREATE UNIQUE INDEX fetch_request_open_once ON fetch_requests (visit_id, publication_id) WHERE closed_at IS NULL;
"""



@migrations()
def m006_ratings_and_complaints(db: Database) -> None:
    _run_script(db, QUALITY_SQL)


QUALITY_SQL = """
CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    visit_id TEXT UNIQUE REFERENCES visits (id),   -- one rating per visit; NULL: a walk-up (anonymous) rating
    source TEXT NOT NULL CHECK (source IN ('kiosk', 'api')),
    u1 INTEGER CHECK (u1 BETWEEN 1 AND 4),         -- Persyaratan; NULL when not answered (API only)
    u2 INTEGER CHECK (u2 BETWEEN 1 AND 4),         -- Sistem, mekanisme, dan prosedur
    u3 INTEGER CHECK (u3 BETWEEN 1 AND 4),         -- Waktu penyelesaian
    u4 INTEGER CHECK (u4 BETWEEN 1 AND 4),         -- Biaya/tarif
    u5 INTEGER CHECK (u5 BETWEEN 1 AND 4),         -- Produk spesifikasi jenis pelayanan
    u6 INTEGER CHECK (u6 BETWEEN 1 AND 4),         -- Kompetensi pelaksana
    u7 INTEGER CHECK (u7 BETWEEN 1 AND 4),         -- Perilaku pelaksana
    u8 INTEGER CHECK (u8 BETWEEN 1 AND 4),         -- Penanganan pengaduan, saran dan masukan
    u9 INTEGER CHECK (u9 BETWEEN 1 AND 4),         -- Sarana dan prasarana
    comment TEXT,                                  -- as typed, at most 1000 characters
    gender TEXT,                                   -- the respondent's profile, copied from the guestbook
    age_band TEXT,
    education TEXT,
    occupation TEXT,
    rated_at TEXT NOT NULL
);
CREATE INDEX ratings_rated_at ON ratings (rated_at);
CREATE TABLE complaints (
    id TEXT PRIMARY KEY,
    tracking TEXT NOT NULL UNIQUE,             -- ADU-7400-2611-7KQ4MX, given to the complainant
    channel TEXT NOT NULL CHECK (channel IN ('kotak_saran', 'website', 'email', 'whatsapp', 'lapor', 'langsung')),
    text TEXT NOT NULL,                        -- as written, at most 2000 characters
    contact TEXT,                              -- e-mail or phone to answer, optional
    entered_by TEXT,                           -- staff id; NULL when the complainant entered it
    status TEXT NOT NULL DEFAULT 'diterima' CHECK (status IN ('diterima', 'ditindaklanjuti', 'selesai')),
    received_at TEXT NOT NULL,
    followed_up_at TEXT,
    followed_up_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    response TEXT,                             -- the staff's answer, shown to the complainant
    responded_at TEXT
);
CREATE INDEX complaints_open ON complaints (received_at) WHERE status != 'selesai';
"""

def _run_script(db: Database, script: str) -> None:
    """Statement by statement: `executescript` would commit the migration's transaction."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending.strip())
            pending = ""


@migrations()
def m007_sync(db: Database) -> None:
    _run_script(db, SYNC_SQL)


SYNC_SQL = """
ALTER TABLE outbox ADD COLUMN hlc TEXT;            -- pst.hlc stamp: the order of events whatever the wall clock did
ALTER TABLE outbox ADD COLUMN clock_flag TEXT;     -- 'unset' | 'behind' when the wall clock was not trustworthy
ALTER TABLE outbox ADD COLUMN boot_id TEXT;        -- the machine's boot and its monotonic clock at the event,
ALTER TABLE outbox ADD COLUMN mono REAL;           -- to place an untrustworthy time once the cloud's clock is known
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    downlink_after INTEGER NOT NULL DEFAULT 0,     -- the last cloud change applied here (same transaction as it)
    downlink_mark TEXT,                            -- and what that change was, to notice a cloud restored behind it
    cloud_seq INTEGER,                             -- the cloud's cursor for this database, as last heard
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,           -- consecutive failed rounds (the backoff grows with them)
    next_attempt_at TEXT
);
INSERT INTO sync_state (id) VALUES (1);
CREATE TABLE sync_uploads (                        -- scanned PDFs the cloud has received for the visitor's account
    sha256 TEXT PRIMARY KEY,
    uploaded_at TEXT NOT NULL
);
ALTER TABLE publications ADD COLUMN cloud_id TEXT;      -- the cloud's id of a publication it sent down
CREATE UNIQUE INDEX publications_cloud_id ON publications (cloud_id);
CREATE TABLE sync_anchors (                        -- the cloud's time against this machine's monotonic clock
    boot_id TEXT PRIMARY KEY,
    mono REAL NOT NULL,
    cloud_time TEXT NOT NULL
);
CREATE TABLE softcopy_requests (                   -- made at the desk; from then on the cloud owns the status
    id TEXT PRIMARY KEY,
    visit_id TEXT REFERENCES visits (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    catalogue_number TEXT,
    year INTEGER,
    description TEXT,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'diajukan',       -- as the cloud last said: diajukan, diproses, selesai, ditolak
    reason TEXT,
    created_at TEXT NOT NULL,
    status_at TEXT
);
"""


@migrations()
def m008_audit(db: Database) -> None:
    _run_script(db, AUDIT_SQL)


AUDIT_SQL = """
CREATE TABLE audit_log (                           -- edge.audit: staff acts, append-only
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,                              -- UTC, ISO 8601
    actor TEXT,                                    -- staff username; what was typed for a refused sign-in
    action TEXT NOT NULL,                          -- dotted: signin.ok, locker.open, export.report
    target TEXT NOT NULL DEFAULT '',               -- kind:id of the record touched
    detail TEXT NOT NULL DEFAULT '{}',             -- JSON, never a secret or an ID-card number
    address TEXT                                   -- the client address of the request
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_target ON audit_log (target, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""


@migrations()
def m009_privacy(db: Database) -> None:
    _run_script(db, PRIVACY_SQL)


PRIVACY_SQL = """
ALTER TABLE visits ADD COLUMN anonymised_at TEXT;   -- edge.privacy: identity blanked (retention or erasure)
CREATE INDEX visits_identity_kept ON visits (checked_in_at) WHERE anonymised_at IS NULL;
"""


@migrations()
def m010_signin_throttle(db: Database) -> None:
    _run_script(db, SIGNIN_THROTTLE_SQL)


SIGNIN_THROTTLE_SQL = """
CREATE TABLE signin_failures (                     -- edge.users: wrong sign-ins per client address (the throttle)
    address TEXT NOT NULL,
    at TEXT NOT NULL                               -- UTC, ISO 8601
);
CREATE INDEX signin_failures_address ON signin_failures (address, at);
"""


@migrations()
def m011_visitor_token(db: Database) -> None:
    _run_script(db, VISITOR_TOKEN_SQL)


VISITOR_TOKEN_SQL = """
ALTER TABLE visits ADD COLUMN visitor_token TEXT;  -- opens the visitor's own ticket page; random, never the number
CREATE UNIQUE INDEX visits_visitor_token ON visits (visitor_token) WHERE visitor_token IS NOT NULL;
"""


@migrations()
def m012_secret_key(db: Database) -> None:
    """The appliance's key (edge.appliance.secret_key) moves into the database, so a backup restored on a new SD
    card keeps it: the ID cards in the lockers still match their keyed hashes. An appliance upgraded in place keeps
    the key it has (the file `secret.key` beside the database); a new one gets a new key."""
    if db.execute("SELECT 1 FROM meta WHERE key = 'secret_key'").fetchone():
        return
    kept = _key_file(db)
    key = kept.read_text().strip() if kept else secrets.token_hex(32)
    bytes.fromhex(key)  # a damaged file stops the migration rather than losing the key silently
    db.execute("INSERT INTO meta (key, value) VALUES ('secret_key', ?)", [key])


def _key_file(db: Database) -> Path | None:
    """`secret.key` beside the database file ($PST_DATA_DIR/edge.db: the data folder), when there is one."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            path = Path(file).parent / "secret.key"
            return path if path.exists() else None
    return None
