"""The cloud's tables as Piccolo sees them. The schema itself is made by `cloud.migrations`; these classes must
match it (a test checks every column on both engines).

Ids are UUIDv7 strings made where the record is born (pst.ids), like on the appliance, so synced records keep theirs.
Times are UTC (`TIMESTAMPTZ`: native on PostgreSQL, ISO text that Piccolo converts on SQLite).
"""

from __future__ import annotations

from piccolo.columns import BigInt, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

ROLES = ("reader", "staff", "admin")
TOKEN_KINDS = ("verify", "reset")


def _id():
    return Varchar(length=36, primary_key=True)


def _when(null: bool = False):
    return Timestamptz(null=null, default=None)


class Office(Table, tablename="offices"):
    id = _id()
    code = Varchar(length=8, unique=True)  # BPS satker code, e.g. 7400
    name = Varchar(length=200)
    created_at = _when()
    email = Varchar(length=254, null=True)  # the office staff's address the fleet's alerts go to (m015)


class Device(Table, tablename="devices"):
    """A front-desk appliance of an office, for the sync (enrolment comes with the sync work)."""

    id = _id()
    office_id = ForeignKey(Office, db_column_name="office_id", on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    key_hash = Varchar(length=64, null=True, default=None, unique=True)
    enrolled_at = _when(null=True)
    created_at = _when()
    enrol_code_hash = Varchar(length=64, null=True, default=None)  # unique index; cleared at enrolment
    enrol_expires_at = _when(null=True)
    revoked_at = _when(null=True)
    last_seen_at = _when(null=True)


class Account(Table, tablename="accounts"):
    """A reader, staff member or admin. `email` is kept lower-cased, so it is unique case-insensitively."""

    id = _id()
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    password_hash = Varchar(length=200)
    role = Varchar(length=8, default="reader")
    verified_at = _when(null=True)
    created_at = _when()


class AccountToken(Table, tablename="account_tokens"):
    """A mailed one-time token: only its keyed hash is stored."""

    id = _id()
    account_id = ForeignKey(Account, db_column_name="account_id", on_delete=OnDelete.cascade)
    kind = Varchar(length=8)
    token_hash = Varchar(length=64, unique=True)
    expires_at = _when()
    used_at = _when(null=True)
    created_at = _when()


class Session(Table, tablename="sessions"):
    """A signed-in browser: the cookie holds a random token, the table its keyed hash."""

    id = Varchar(length=64, primary_key=True)
    account_id = ForeignKey(Account, db_column_name="account_id", on_delete=OnDelete.cascade)
    created_at = _when()
    expires_at = _when()


class LoginAttempt(Table, tablename="login_attempts"):
    """Failed sign-ins per e-mail address, counted for the lockout; a success removes them."""

    id = _id()
    email = Varchar(length=254)
    at = _when()


class MigrationRecord(Table, tablename="cloud_migrations"):
    name = Varchar(length=100, primary_key=True)
    applied_at = _when()


class SoftcopyFile(Table, tablename="softcopy_files"):
    """A stored PDF, named by the SHA-256 of its content under $PST_DATA_DIR/softcopy/ (shared by every worker)."""

    sha256 = Varchar(length=64, primary_key=True)
    size = BigInt()
    pages = Integer()
    storage_path = Varchar(length=300)  # relative to $PST_DATA_DIR
    created_at = _when()


class Publication(Table, tablename="publications"):
    """One edition: (catalogue_number, year) is unique, since BPS numbers every year of a series alike. The
    full-text machinery is each engine's own and not declared here: `seq` + FTS5 on SQLite, `search` on PostgreSQL."""

    id = _id()
    catalogue_number = Varchar(length=40)
    year = Integer()
    title = Varchar(length=300)
    type = Varchar(length=60, null=True, default=None)
    subjects = Text(default="")  # "Kependudukan;Pemerintahan", as in the CSV; one row each in publication_subjects
    isbn = Varchar(length=40, null=True, default=None)
    abstract = Text(null=True, default=None)
    office_code = Varchar(length=8, null=True, default=None)  # offices.code
    softcopy_sha256 = Varchar(length=64, null=True, default=None)  # softcopy_files.sha256
    created_at = _when()
    updated_at = _when()


class PublicationSubject(Table, tablename="publication_subjects"):
    id = _id()
    publication_id = ForeignKey(Publication, db_column_name="publication_id", on_delete=OnDelete.cascade)
    subject = Varchar(length=80)


class Download(Table, tablename="downloads"):
    """Every softcopy served; `id` is printed in the watermark of that copy."""

    id = _id()
    account_id = ForeignKey(Account, db_column_name="account_id", on_delete=OnDelete.cascade)
    publication_id = ForeignKey(Publication, db_column_name="publication_id", on_delete=OnDelete.cascade)
    softcopy_sha256 = Varchar(length=64)
    disposition = Varchar(length=10)  # inline (Baca) | attachment (Unduh)
    at = _when()


class SoftcopyRequest(Table, tablename="softcopy_requests"):
    """A reader asks for softcopy: a publication of the catalogue or a free description, and the purpose.
    diajukan → diproses → selesai (softcopy_sha256 set) or ditolak (reason set)."""

    id = _id()
    account_id = ForeignKey(Account, db_column_name="account_id", on_delete=OnDelete.cascade)
    publication_id = Varchar(length=36, null=True, default=None)  # publications.id
    description = Text(null=True, default=None)
    purpose = Varchar(length=20)
    status = Varchar(length=10, default="diajukan")
    reason = Text(null=True, default=None)
    softcopy_sha256 = Varchar(length=64, null=True, default=None)  # softcopy_files.sha256
    created_at = _when()
    processed_at = _when(null=True)
    finished_at = _when(null=True)
    processed_by = Varchar(length=36, null=True, default=None)  # accounts.id of the staff member
    finished_by = Varchar(length=36, null=True, default=None)
    office_code = Varchar(length=8, null=True, default=None)  # the office whose desk took it (origin edge)
    origin = Varchar(length=5, default="cloud")  # cloud (the portal) | edge (made at a desk, arrived by sync)
    device_id = Varchar(length=36, null=True, default=None)


class RequestDownload(Table, tablename="request_downloads"):
    """Every copy of a fulfilled request served to its reader; `id` is printed in the watermark."""

    id = _id()
    account_id = ForeignKey(Account, db_column_name="account_id", on_delete=OnDelete.cascade)
    request_id = Varchar(length=36)
    softcopy_sha256 = Varchar(length=64)
    at = _when()


def _score():
    return SmallInt(null=True, default=None)


class Rating(Table, tablename="ratings"):
    """One SKM answer sheet: at a desk (source kiosk/api, arriving by sync) or on the portal (source portal).
    A score is NULL where the respondent left the element out. `clock_flag` marks a time the appliance made while
    its clock was not set (see sync)."""

    id = _id()
    office_code = Varchar(length=8)
    source = Varchar(length=8)
    device_id = Varchar(length=36, null=True, default=None)  # devices.id
    visit_id = Varchar(length=36, null=True, default=None, unique=True)
    account_id = Varchar(length=36, null=True, default=None)  # accounts.id
    u1, u2, u3, u4, u5, u6, u7, u8, u9 = (_score() for _ in range(9))
    comment = Text(null=True, default=None)
    gender = Varchar(length=1, null=True, default=None)
    age_band = Varchar(length=10, null=True, default=None)
    education = Varchar(length=20, null=True, default=None)
    occupation = Varchar(length=40, null=True, default=None)
    rated_at = _when()
    received_at = _when()
    clock_flag = Varchar(length=12, null=True, default=None)


class Complaint(Table, tablename="complaints"):
    """A complaint from any channel; `origin` edge ones are handled at the appliance and arrive by sync, cloud ones
    are handled in the back office. diterima → ditindaklanjuti → selesai."""

    id = _id()
    tracking = Varchar(length=32, unique=True)
    office_code = Varchar(length=8)
    origin = Varchar(length=5)
    device_id = Varchar(length=36, null=True, default=None)
    account_id = Varchar(length=36, null=True, default=None)
    channel = Varchar(length=12)
    text = Text()
    contact = Varchar(length=200, null=True, default=None)
    entered_by = Varchar(length=100, null=True, default=None)
    status = Varchar(length=16, default="diterima")
    received_at = _when()
    followed_up_at = _when(null=True)
    followed_up_by = Varchar(length=100, null=True, default=None)
    resolved_at = _when(null=True)
    resolved_by = Varchar(length=100, null=True, default=None)
    response = Text(null=True, default=None)
    responded_at = _when(null=True)
    updated_at = _when()
    clock_flag = Varchar(length=12, null=True, default=None)


class Visit(Table, tablename="visits"):
    """A desk visit as the appliance sends it up: the guestbook's profile and the service times, no personal data."""

    id = _id()
    office_code = Varchar(length=8)
    device_id = Varchar(length=36, null=True, default=None)
    ticket_number = Varchar(length=8, null=True, default=None)
    gender = Varchar(length=1, null=True, default=None)
    age_band = Varchar(length=10, null=True, default=None)
    education = Varchar(length=20, null=True, default=None)
    occupation = Varchar(length=40, null=True, default=None)
    institution = Varchar(length=200, null=True, default=None)
    purposes = Varchar(length=200, default="")  # "baca_tercetak;pindai"
    checked_in_at = _when()
    service_started_at = _when(null=True)
    wait_s = Integer(null=True, default=None)
    checked_out_at = _when(null=True)
    clock_flag = Varchar(length=12, null=True, default=None)


class SyncCursor(Table, tablename="sync_cursors"):
    """How far the cloud has applied one appliance database (device + epoch): the cloud owns this cursor."""

    device_id = Varchar(length=36, primary_key=True)  # with epoch: the key (Piccolo names one column)
    epoch = Varchar(length=36)
    last_seq = BigInt()
    last_event_id = Varchar(length=36, null=True, default=None)
    updated_at = _when()


class SyncEvent(Table, tablename="sync_events"):
    event_id = Varchar(length=36, primary_key=True)
    device_id = Varchar(length=36)
    epoch = Varchar(length=36)
    seq = BigInt()
    entity = Varchar(length=24)
    entity_id = Varchar(length=64)
    op = Varchar(length=24)
    hlc = Varchar(length=40, null=True, default=None)
    applied_at = _when()


class SyncDeadLetter(Table, tablename="sync_dead_letters"):
    id = _id()
    device_id = Varchar(length=36)
    epoch = Varchar(length=36)
    seq = BigInt()
    event_id = Varchar(length=36, unique=True)
    entity = Varchar(length=24)
    entity_id = Varchar(length=64)
    op = Varchar(length=24)
    payload = Text()
    reason = Text()
    at = _when()


class ChangeCounter(Table, tablename="change_counter"):
    id = SmallInt(primary_key=True)
    n = BigInt()


class Change(Table, tablename="changes"):
    """Downlink: one row per cloud change an appliance may need; NULL office_code: every office."""

    seq = BigInt(primary_key=True)
    office_code = Varchar(length=8, null=True, default=None)
    entity = Varchar(length=24)
    entity_id = Varchar(length=64)
    at = _when()


class EdgeRecord(Table, tablename="edge_records"):
    """A desk record without a table of its own, as its latest state (JSON); keyed by (entity, record_id)."""

    entity = Varchar(length=24, primary_key=True)  # with record_id: the key
    record_id = Varchar(length=64)
    office_code = Varchar(length=8)
    device_id = Varchar(length=36, null=True, default=None)
    data = Text()
    born_at = _when()
    updated_at = _when()



class Deliverable(Table, tablename="deliverables"):
    """A scan made at a desk for a visitor, in their portal account; the file is in softcopy storage when it has
    arrived (`softcopy_files`), else still on its way from the appliance."""

    id = _id()
    office_code = Varchar(length=8)
    device_id = Varchar(length=36, null=True, default=None)
    account_id = Varchar(length=36)
    visit_id = Varchar(length=36, null=True, default=None)
    pages = Integer()
    sha256 = Varchar(length=64)
    bytes = BigInt()
    scanned_at = _when()
    received_at = _when()


class PublicationLocation(Table, tablename="publication_locations"):
    """Where an office keeps an edition; with office_code: the key (Piccolo names one column)."""

    publication_id = Varchar(length=36, primary_key=True)
    office_code = Varchar(length=8)
    location = Varchar(length=8)
    shelf = Varchar(length=20, null=True, default=None)
    copies = Integer(default=1)
    updated_at = _when()


TABLES = (
    Office, Device, Account, AccountToken, Session, LoginAttempt, MigrationRecord, SoftcopyFile, Publication,
    PublicationSubject, Download, SoftcopyRequest, RequestDownload, Rating, Complaint, Visit, SyncCursor, SyncEvent,
    SyncDeadLetter, ChangeCounter, Change, EdgeRecord, Deliverable, PublicationLocation,
)
# Columns only one engine has, for its own full-text search (see m002_catalogue).
ENGINE_COLUMNS = {"sqlite": {"publications": {"seq"}}, "postgresql": {"publications": {"search"}}}
