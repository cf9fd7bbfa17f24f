"""OAI-PMH 2.0 over the portal's catalogue, so that library aggregators harvest it as they harvest SLiMS and Koha
(cloud.routes.oai serves it at /oai): the six verbs, `oai_dc` and `marc21` (cloud.marc), sets per office and per
publication type, deletions kept for good, resumption tokens that page by keyset.

Datestamps never let an incremental harvest miss a change. Every catalogue write stamps its edition in `oai_headers`
(`stamp`, from cloud.catalogue.publication_written) inside its own transaction, after it has taken the downlink's
counter (cloud.changes), with the database's clock (one clock for every worker and host). That counter stays locked
to the commit, so the first request of a list first takes the same lock shared and lets it go (`_barrier`: it waits
for a catalogue write in flight) and only then reads the clock. Every edition stamped before that moment is committed
and visible; every edition stamped after it gets a later datestamp. The moment is the responseDate and the exclusive
upper bound of the whole list, carried by its tokens: an edition edited or deleted during the harvest moves past the
bound (never listed twice), and a harvest `from` that responseDate (inclusive, to the second) picks it up.

Records are written once, when their edition is (`render`, into `oai_headers.oai_dc` and `.marc21`: the whole
`record` element, header and metadata), so that a page of a harvest is its one statement and the concatenation of
its texts. They are written without the portal's address: marks stand where it goes (`HOST`, `BASE`; in MARCXML the
leader's record length too, `LENGTH`), filled in as a page is sent, so a portal that moves to another address needs
nothing rewritten. A mark is an ampersand that lxml never writes (it writes every `&` of a text as `&amp;`). Editions stamped before the records were
kept get theirs in the background (`render_missing`); until then a page writes them itself, byte for byte the same.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import asyncpg
from lxml import etree

from cloud import marc
from cloud.db import Database, moment
from pst.clock import Clock, SystemClock

log = logging.getLogger(__name__)
OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
IDENTIFIER_SCHEME = "http://www.openarchives.org/OAI/2.0/oai-identifier"
FORMATS = {  # metadataPrefix: (schema, namespace)
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "marc21": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", "http://www.loc.gov/MARC21/slim"),
}
VERBS = {  # verb: (required, optional, exclusive)
    "Identify": ((), (), None),
    "ListMetadataFormats": ((), ("identifier",), None),
    "ListSets": ((), (), "resumptionToken"),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
    "GetRecord": (("identifier", "metadataPrefix"), (), None),
}
PAGE = 200  # records per ListRecords page; ListIdentifiers pages are five times longer
TOKEN_TTL = timedelta(hours=24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = {"sqlite": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", "postgresql": "clock_timestamp()"}
RIGHTS = ("Hak cipta © Badan Pusat Statistik. Dilarang mengumumkan, mendistribusikan, mengomunikasikan, dan/atau"
          " menggandakan sebagian atau seluruh isi publikasi ini untuk tujuan komersial tanpa izin tertulis dari"
          " Badan Pusat Statistik.")
GRANULARITIES = ((r"\d{4}-\d{2}-\d{2}", timedelta(days=1), "%Y-%m-%d"),
                 (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", timedelta(seconds=1), "%Y-%m-%dT%H:%M:%SZ"))
SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
DOMAIN = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")
# Marks in a stored record: the portal's host and address, and the MARC leader's record length (five digits follow
# it, counted without the address). PLACE holds the address's place while a record is written, SLOT a list's
# records' place in its answer: private-use characters, taken out of every text that goes into the XML.
HOST, BASE, LENGTH = "&@host;", "&@portal;", "&@length;"
PLACE, SLOT = "\ue000", "\ue001"
LEADER_LENGTH = re.compile(f"{LENGTH}([0-9]{{5}})")
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue002-\ufffd\U00010000-\U0010ffff]")
HEADER = "h.publication_id, h.datestamp, h.deleted, h.office_code AS set_office, h.type AS set_type"
STORED = {prefix: f"{HEADER}, h.{prefix} AS record FROM oai_headers h" for prefix in ("oai_dc", "marc21")}
RECORD = (f"{HEADER}, p.title, p.year, p.type, p.catalogue_number, p.subjects, p.isbn, p.abstract, p.created_at,"
          " p.softcopy_sha256, o.name AS office_name, f.pages FROM oai_headers h"
          " LEFT JOIN publications p ON p.id = h.publication_id LEFT JOIN offices o ON o.code = p.office_code"
          " LEFT JOIN softcopy_files f ON f.sha256 = p.softcopy_sha256")


class OaiError(Exception):
    """An OAI-PMH error condition: `code` as the protocol names it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class Busy(Exception):
    """A catalogue write held the lock longer than a harvest waits: answer 503 with Retry-After."""


@dataclass(frozen=True)
class Listing:
    """One list being harvested, as its resumption token carries it."""

    verb: str
    prefix: str
    set_spec: str | None
    types: tuple[str, ...] | None  # a type set: the catalogue's types whose slug it names
    start: datetime | None  # from, inclusive
    end: datetime  # until and the first request's moment, exclusive
    after: tuple[datetime, str] | None  # the last (datestamp, id) listed
    size: int
    cursor: int


async def stamp(db: Database, publication_id: str, office_code: str | None) -> None:
    """The edition's OAI datestamp: now by the database's clock, inside the write's transaction and after the
    downlink's counter was taken (see the module's docstring), and its records written. An edition no longer there
    becomes a deleted record, keeping the sets it was in."""
    now = NOW[db.kind]
    live = await db.execute(
        "INSERT INTO oai_headers (publication_id, datestamp, deleted, office_code, type)"
        f" SELECT id, {now}, FALSE, office_code, type FROM publications WHERE id = {{}}"
        " ON CONFLICT (publication_id) DO UPDATE SET datestamp = excluded.datestamp, deleted = FALSE,"
        " office_code = excluded.office_code, type = excluded.type, oai_dc = NULL, marc21 = NULL"
        " RETURNING publication_id", publication_id)
    if live:
        await _store(db, await db.execute(f"SELECT {RECORD} WHERE h.publication_id = {{}}", publication_id))
        return
    await db.execute(
        "INSERT INTO oai_headers (publication_id, datestamp, deleted, office_code)"
        f" VALUES ({{}}, {now}, TRUE, {{}})"
        " ON CONFLICT (publication_id) DO UPDATE SET datestamp = excluded.datestamp, deleted = TRUE, oai_dc = NULL,"
        " marc21 = NULL", publication_id, office_code)


async def _store(db: Database, rows: list[dict]) -> None:
    """Writes the records of `rows` (RECORD rows), each only while its edition still has the datestamp it was
    rendered for: a write in between has written newer ones."""
    for row in rows:
        if row["deleted"] or row["title"] is None:
            continue
        await db.execute("UPDATE oai_headers SET oai_dc = {}, marc21 = {} WHERE publication_id = {} AND datestamp = {}",
                         render(row, "oai_dc"), render(row, "marc21"), row["publication_id"], row["datestamp"])


async def render_missing(db: Database, stop: asyncio.Event | None = None, batch: int = 50) -> int:
    """Writes the records of every edition that has none yet (stamped before they were kept), a few at a time in
    short transactions, rendering off the event loop; returns how many. Safe beside catalogue writes and on every
    worker at once (a record is only written for the datestamp it was rendered for)."""
    after, written = "", 0
    while stop is None or not stop.is_set():
        found = await db.execute(
            "SELECT publication_id FROM oai_headers WHERE publication_id > {} AND NOT deleted"
            " AND (oai_dc IS NULL OR marc21 IS NULL) ORDER BY publication_id LIMIT {}", after, batch)
        if not found:
            return written
        after = found[-1]["publication_id"]
        marks = ", ".join("{}" for _ in found)
        rows = await db.execute(f"SELECT {RECORD} WHERE h.publication_id IN ({marks})",
                                *(row["publication_id"] for row in found))
        rendered = await asyncio.to_thread(
            lambda: [(render(row, "oai_dc"), render(row, "marc21"), row["publication_id"], row["datestamp"])
                     for row in rows if not row["deleted"] and row["title"] is not None])
        async with db.transaction():
            for values in rendered:
                await db.execute("UPDATE oai_headers SET oai_dc = {}, marc21 = {}"
                                 " WHERE publication_id = {} AND datestamp = {}", *values)
        written += len(rendered)
    return written


async def write_records(db: Database, stop: asyncio.Event) -> None:
    """The portal's background task at start: the records editions still lack (render_missing), logged; a failure
    leaves the rest to pages and the next start."""
    try:
        written = await render_missing(db, stop)
    except Exception:
        log.exception("writing OAI records failed; pages write the missing ones themselves")
        return
    if written:
        log.info("OAI records written for %d editions", written)


def render(row: dict, prefix: str) -> str:
    """An edition's `record` element in `prefix` (from a RECORD row) as stored, with the marks for the portal."""
    item = dict(row)
    if any(isinstance(value, str) and NOT_XML.search(value) for value in row.values()):
        item = {key: _text(value) if isinstance(value, str) else value for key, value in row.items()}
    item |= {"id": row["publication_id"], "subjects": [s for s in item["subjects"].split(";") if s],
             "has_softcopy": row["softcopy_sha256"] is not None}
    page = f"{PLACE}/publikasi/{item['id']}"
    if prefix == "marc21":
        record = marc.record(item, page, moment(row["datestamp"]), moment(row["created_at"]))
        leader = str(record.leader)
        length = int(leader[:5]) - len(PLACE.encode())  # the length in ISO 2709, the address not counted
        metadata = etree.tostring(marc.element(record), encoding="unicode").replace(
            f"<leader>{leader}", f"<leader>{LENGTH}{length:05d}{leader[5:]}", 1)
    else:
        metadata = etree.tostring(_dublin_core(item, page), encoding="unicode")
    header = _header(item, f"oai:{HOST}:")
    return f"<record>{header}<metadata>{metadata.replace(PLACE, BASE)}</metadata></record>"


def filled(text: str, host: str, base: str) -> str:
    """Stored records (one or a page of them) as sent from the portal at `base` on `host`."""
    if LENGTH in text:
        extra = len(base.encode())
        text = LEADER_LENGTH.sub(lambda found: f"{int(found[1]) + extra:05d}", text)
    return text.replace(HOST, escape(host)).replace(BASE, escape(base))


def _header(row: dict, identifiers: str) -> str:
    """A `header` element; `identifiers`: the identifiers' beginning, as XML."""
    status = ' status="deleted"' if row["deleted"] else ""
    sets = f"<setSpec>office:{escape(_text(row['set_office']))}</setSpec>" if row["set_office"] else ""
    if row["set_type"] and slug(row["set_type"]):
        sets += f"<setSpec>type:{slug(row['set_type'])}</setSpec>"
    return (f"<header{status}><identifier>{identifiers}{escape(_text(row['publication_id']))}</identifier>"
            f"<datestamp>{_shown(row['datestamp'])}</datestamp>{sets}</header>")


def stored(kind: str, value: datetime):
    """A moment as `oai_headers.datestamp` holds it: TIMESTAMPTZ on PostgreSQL, ISO text to the millisecond
    (which sorts as time) on SQLite."""
    if kind == "postgresql":
        return value
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """A publication type as a setSpec: "Berita Resmi Statistik" → "berita-resmi-statistik"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown(datestamp) -> str:
    """A datestamp as the database hands it back, to the second: SQLite's text is cut, not parsed (a page has
    hundreds)."""
    return f"{datestamp[:19]}Z" if isinstance(datestamp, str) else utc(datestamp)


class Repository:
    def __init__(self, db: Database, public_url: str, key: bytes, admin_email: str, page_size: int = PAGE,
                 clock: Clock | None = None):
        self.db, self.public_url, self.key, self.admin_email = db, public_url, key, admin_email
        self.host = urlsplit(public_url).hostname or "localhost"
        self._identifiers = escape(_text(self.identifier("")))  # the identifiers' beginning, as XML
        self.page_size, self.clock = page_size, clock or SystemClock()
        self.lock_wait = 15.0  # seconds a list's first page waits for a catalogue write (SQLite: the busy timeout)

    async def respond(self, pairs: list[tuple[str, str]]) -> bytes:
        """The XML answer to one request's arguments (query or form, in order, repeats kept). Raises Busy."""
        now, echoed, body, records = self.clock.now(), {}, None, ""
        try:
            verb, arguments = _arguments(pairs)
            echoed = {"verb": verb, **arguments}
            body, now, *listed = await getattr(self, f"_{verb}")(arguments, now)
            records = listed[0] if listed else ""
        except OaiError as error:
            if error.code in ("badVerb", "badArgument"):  # the protocol: then the request element has no attributes
                echoed = {}
            body = etree.Element(f"{{{OAI}}}error", code=error.code)
            body.text = error.message
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = utc(now)
        etree.SubElement(root, f"{{{OAI}}}request", echoed).text = f"{self.public_url}/oai"
        root.append(body)
        answer = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        # a list's records, already XML, go where its element holds the slot (text before its token, if any)
        return answer.replace(SLOT.encode(), records.encode(), 1) if records else answer

    def identifier(self, publication_id: str) -> str:
        return f"oai:{self.host}:{publication_id}"

    # the verbs: each returns its element and the responseDate

    async def _Identify(self, arguments: dict, now: datetime):
        earliest = (await self.db.execute("SELECT min(datestamp) AS first FROM oai_headers"))[0]["first"]
        body = _element("Identify", repositoryName="PST Pustaka — Katalog Publikasi Badan Pusat Statistik",
                        baseURL=f"{self.public_url}/oai", protocolVersion="2.0", adminEmail=self.admin_email,
                        earliestDatestamp=utc(moment(earliest) or now), deletedRecord="persistent",
                        granularity="YYYY-MM-DDThh:mm:ssZ")
        if DOMAIN.fullmatch(self.host):  # the oai-identifier scheme needs a domain name
            description = etree.SubElement(body, f"{{{OAI}}}description")
            scheme = etree.SubElement(description, f"{{{IDENTIFIER_SCHEME}}}oai-identifier",
                                      nsmap={None: IDENTIFIER_SCHEME})
            scheme.set(f"{{{XSI}}}schemaLocation", f"{IDENTIFIER_SCHEME} {IDENTIFIER_SCHEME}.xsd")
            for name, text in (("scheme", "oai"), ("repositoryIdentifier", self.host), ("delimiter", ":"),
                               ("sampleIdentifier", self.identifier("0190f5c2-7d1e-7c3a-9b1e-3f6d2a8c4e51"))):
                etree.SubElement(scheme, f"{{{IDENTIFIER_SCHEME}}}{name}").text = text
        return body, now

    async def _ListMetadataFormats(self, arguments: dict, now: datetime):
        if "identifier" in arguments:
            await self._header_row(arguments["identifier"])
        body = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for prefix, (schema, namespace) in FORMATS.items():
            body.append(_element("metadataFormat", metadataPrefix=prefix, schema=schema, metadataNamespace=namespace))
        return body, now

    async def _ListSets(self, arguments: dict, now: datetime):
        if "resumptionToken" in arguments:
            raise OaiError("badResumptionToken", "Daftar set tidak pernah dibagi per halaman")
        body = etree.Element(f"{{{OAI}}}ListSets")
        offices = await self.db.execute("SELECT code, name FROM offices ORDER BY code")
        types: dict[str, str] = {}
        for row in await self.db.execute("SELECT DISTINCT type FROM oai_headers WHERE type IS NOT NULL ORDER BY type"):
            types.setdefault(slug(row["type"]), row["type"])
        body.append(_element("set", setSpec="office", setName="Kantor BPS"))
        for office in offices:
            body.append(_element("set", setSpec=f"office:{office['code']}", setName=_text(office["name"])))
        body.append(_element("set", setSpec="type", setName="Jenis publikasi"))
        for spec, name in types.items():
            if spec:
                body.append(_element("set", setSpec=f"type:{spec}", setName=_text(name)))
        return body, now

    async def _GetRecord(self, arguments: dict, now: datetime):
        _format(arguments["metadataPrefix"])
        publication_id = self._local(arguments["identifier"])
        prefix = arguments["metadataPrefix"]
        rows = await self.db.execute(f"SELECT {STORED[prefix]} WHERE h.publication_id = {{}}", publication_id)
        if not rows:
            raise OaiError("idDoesNotExist", "Tidak ada publikasi dengan pengenal ini")
        body = etree.Element(f"{{{OAI}}}GetRecord")
        body.text = SLOT
        return body, now, await self._records(rows, prefix)

    async def _ListIdentifiers(self, arguments: dict, now: datetime):
        return await self._list("ListIdentifiers", arguments, now)

    async def _ListRecords(self, arguments: dict, now: datetime):
        return await self._list("ListRecords", arguments, now)

    # lists

    async def _list(self, verb: str, arguments: dict, now: datetime):
        if "resumptionToken" in arguments:
            listing = self.read_token(arguments["resumptionToken"], verb, now)
        else:
            listing, now = await self.first(verb, arguments)
        limit = self.page_size * (5 if verb == "ListIdentifiers" else 1)
        rows = await self.db.execute(*self.page_statement(listing, limit)) if listing.size else []
        if not rows:
            raise OaiError("noRecordsMatch", "Tidak ada rekaman yang cocok dengan argumen ini")
        body = etree.Element(f"{{{OAI}}}{verb}")
        body.text = SLOT
        if verb == "ListRecords":
            records = await self._records(rows[:limit], listing.prefix)
        else:
            records = "".join(self._header(row) for row in rows[:limit])
        if len(rows) > limit or listing.cursor:
            token = etree.SubElement(body, f"{{{OAI}}}resumptionToken", completeListSize=str(listing.size),
                                     cursor=str(listing.cursor))
            if len(rows) > limit:
                last = rows[limit - 1]
                following = replace(listing, after=(moment(last["datestamp"]), last["publication_id"]),
                                    cursor=listing.cursor + limit)
                token.text = self.token(following, now + TOKEN_TTL)
                token.set("expirationDate", utc(now + TOKEN_TTL))
        return body, now, records

    async def first(self, verb: str, arguments: dict) -> tuple[Listing, datetime]:
        """A list's first request: its arguments checked, its moment fixed after the barrier, its size counted."""
        prefix = _format(arguments["metadataPrefix"])
        start, end = _bounds(arguments.get("from"), arguments.get("until"))
        set_spec = arguments.get("set")
        types = await self._types(set_spec)
        now = await self._barrier()
        listing = Listing(verb, prefix, set_spec, types, start, min(end, now) if end else now, None, 0, 0)
        if start is not None and start >= listing.end:
            return listing, now
        where, args = self._where(listing)
        counted = await self.db.execute(f"SELECT count(*) AS n FROM oai_headers h WHERE {where}", *args)
        return replace(listing, size=int(counted[0]["n"])), now

    def page_statement(self, listing: Listing, limit: int) -> tuple:
        """The page's one statement, `(sql, *args)`, keyset by (datestamp, id); one row more than the page tells
        whether another page follows. Public so the benchmark runs it on the bare driver."""
        where, args = self._where(listing)
        if listing.after:
            where += " AND (h.datestamp, h.publication_id) > ({}, {})"
            args += [stored(self.db.kind, listing.after[0]), listing.after[1]]
        columns = STORED[listing.prefix] if listing.verb == "ListRecords" else f"{HEADER} FROM oai_headers h"
        return (f"SELECT {columns} WHERE {where} ORDER BY h.datestamp, h.publication_id LIMIT {{}}", *args, limit + 1)

    def _where(self, listing: Listing) -> tuple[str, list]:
        conditions, args = ["h.datestamp < {}"], [stored(self.db.kind, listing.end)]
        if listing.start is not None:
            conditions.append("h.datestamp >= {}")
            args.append(stored(self.db.kind, listing.start))
        spec = listing.set_spec
        if spec == "office":
            conditions.append("h.office_code IS NOT NULL")
        elif spec and spec.startswith("office:"):
            conditions.append("h.office_code = {}")
            args.append(spec[len("office:"):])
        elif spec == "type":
            conditions.append("h.type IS NOT NULL")
        elif spec:  # a type set: the types its slug names (none: nothing matches)
            conditions.append(f"h.type IN ({', '.join('{}' for _ in listing.types)})" if listing.types else "1 = 0")
            args += list(listing.types)
        return " AND ".join(conditions), args

    async def _types(self, set_spec: str | None) -> tuple[str, ...] | None:
        if set_spec is None:
            return None
        if not SET_SPEC.fullmatch(set_spec) or len(set_spec) > 100:
            raise OaiError("badArgument", "set bukan setSpec yang sah")
        kind, _, value = set_spec.partition(":")
        if kind not in ("office", "type") or ":" in value:
            raise OaiError("noRecordsMatch", "Tidak ada set dengan setSpec ini")
        if kind != "type" or not value:
            return None
        found = await self.db.execute("SELECT DISTINCT type FROM oai_headers WHERE type IS NOT NULL")
        return tuple(sorted(row["type"] for row in found if slug(row["type"]) == value))

    async def _barrier(self) -> datetime:
        """Waits for a catalogue write in flight (the downlink counter's lock, taken shared and let go), then the
        database's now: see the module's docstring."""
        try:
            async with self.db.transaction():  # on SQLite, BEGIN IMMEDIATE is itself the wait
                if self.db.kind == "postgresql":
                    await self.db.execute(f"SET LOCAL lock_timeout = '{int(self.lock_wait * 1000)}ms'")
                    await self.db.execute("SELECT n FROM change_counter WHERE id = 1 FOR SHARE")
                found = await self.db.execute(f"SELECT {NOW[self.db.kind]} AS now")
        except (sqlite3.OperationalError, asyncpg.exceptions.LockNotAvailableError):
            raise Busy() from None
        return moment(found[0]["now"])

    # tokens: the listing, signed with the portal's key, so that any other text is simply a bad token

    def token(self, listing: Listing, expires: datetime) -> str:
        payload = {"v": listing.verb, "p": listing.prefix, "s": listing.set_spec, "t": listing.types,
                   "f": listing.start.isoformat() if listing.start else None, "u": listing.end.isoformat(),
                   "d": listing.after[0].isoformat(), "i": listing.after[1], "n": listing.size,
                   "c": listing.cursor, "e": int(expires.timestamp())}
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{body.decode()}.{self._mac(body)}"

    def read_token(self, text: str, verb: str, now: datetime) -> Listing:
        bad = OaiError("badResumptionToken", "resumptionToken tidak sah atau sudah kedaluwarsa")
        body, _, mac = text.encode("utf-8", "replace").partition(b".")
        if not hmac.compare_digest(self._mac(body).encode(), mac):
            raise bad
        try:
            p = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
            listing = Listing(p["v"], p["p"], p["s"], tuple(p["t"]) if p["t"] is not None else None,
                              datetime.fromisoformat(p["f"]) if p["f"] else None, datetime.fromisoformat(p["u"]),
                              (datetime.fromisoformat(p["d"]), str(p["i"])), int(p["n"]), int(p["c"]))
            expired = p["e"] <= now.timestamp()
        except (ValueError, KeyError, TypeError):
            raise bad from None
        if listing.verb != verb or expired:
            raise bad
        return listing

    def _mac(self, body: bytes) -> str:
        digest = hmac.new(self.key, b"oai-resumption-token\0" + body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # records

    def _local(self, identifier: str) -> str:
        prefix = f"oai:{self.host}:"
        local = identifier[len(prefix):] if identifier.startswith(prefix) else ""
        if not local or len(local) > 36:
            raise OaiError("idDoesNotExist", "Tidak ada publikasi dengan pengenal ini")
        return local

    async def _header_row(self, identifier: str) -> dict:
        rows = await self.db.execute(f"SELECT {HEADER} FROM oai_headers h WHERE h.publication_id = {{}}",
                                     self._local(identifier))
        if not rows:
            raise OaiError("idDoesNotExist", "Tidak ada publikasi dengan pengenal ini")
        return rows[0]

    def _header(self, row: dict) -> str:
        return _header(row, self._identifiers)

    async def _records(self, rows: list[dict], prefix: str) -> str:
        """`rows` (STORED rows) as `record` elements, as stored and filled in for this portal in one pass over the
        page; an edition whose records are not written yet gets its record rendered here, the same; a deleted one
        its header."""
        missing = [row["publication_id"] for row in rows if row["record"] is None and not row["deleted"]]
        rendered = {}
        if missing:
            marks = ", ".join("{}" for _ in missing)
            for row in await self.db.execute(f"SELECT {RECORD} WHERE h.publication_id IN ({marks})", *missing):
                if not row["deleted"] and row["title"] is not None:
                    rendered[row["publication_id"]] = render(row, prefix)
        parts = []
        for row in rows:
            record = None if row["deleted"] else row["record"] or rendered.get(row["publication_id"])
            parts.append(record or f"<record>{self._header(row)}</record>")
        return filled("".join(parts), self.host, self.public_url)


def _dublin_core(item: dict, page: str) -> etree._Element:
    dc = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {FORMATS['oai_dc'][0]}")
    number = marc.standard_number(item["isbn"])
    values = [("title", item["title"]), ("creator", marc.creator(item["office_name"])),
              *(("subject", subject) for subject in item["subjects"]), ("description", item["abstract"]),
              ("publisher", marc.PUBLISHER), ("date", str(item["year"])), ("type", "Text"), ("type", item["type"]),
              ("format", "application/pdf" if item["has_softcopy"] else None),
              ("format", f"{item['pages']} halaman" if item["pages"] else None),
              ("identifier", f"urn:{number[0]}:{number[1]}" if number else None),
              ("identifier", f"Nomor katalog BPS {item['catalogue_number']}"), ("identifier", page),
              ("language", "ind"), ("rights", RIGHTS)]
    for name, text in values:
        if text:
            etree.SubElement(dc, f"{{{DC}}}{name}").text = text
    return dc


def _element(name: str, **children: str) -> etree._Element:
    element = etree.Element(f"{{{OAI}}}{name}")
    for child, text in children.items():
        etree.SubElement(element, f"{{{OAI}}}{child}").text = text
    return element


def _text(value: str) -> str:
    """Text as XML can carry it (a control character in a cell would otherwise break a whole page)."""
    return NOT_XML.sub("", value)


def _arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, checked as the protocol says: badVerb, or badArgument for an argument that is
    illegal, repeated, empty, missing, or beside the exclusive resumptionToken."""
    verbs = [value for key, value in pairs if key == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OaiError("badVerb", "verb tidak ada, berulang, atau bukan kata kerja OAI-PMH" if len(verbs) != 1
                       else "bukan kata kerja OAI-PMH")
    verb = verbs[0]
    required, optional, exclusive = VERBS[verb]
    arguments: dict[str, str] = {}
    for key, value in pairs:
        if key == "verb":
            continue
        if key not in (*required, *optional, exclusive):
            raise OaiError("badArgument", f"argumen tidak dikenal untuk {verb}: {_text(key)[:40]!r}")
        if key in arguments:
            raise OaiError("badArgument", f"argumen berulang: {key}")
        if not value or len(value) > 2000 or NOT_XML.search(value):
            raise OaiError("badArgument", f"nilai {key} kosong, terlalu panjang, atau memuat karakter terlarang")
        arguments[key] = value
    if exclusive in arguments and len(arguments) > 1:
        raise OaiError("badArgument", f"{exclusive} tidak boleh disertai argumen lain")
    missing = [name for name in required if name not in arguments]
    if missing and exclusive not in arguments:
        raise OaiError("badArgument", f"argumen wajib tidak ada: {', '.join(missing)}")
    return verb, arguments


def _format(prefix: str) -> str:
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"format {prefix[:40]!r} tidak tersedia (oai_dc, marc21)")
    return prefix


def _bounds(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """from (inclusive) and the end (exclusive) of until: a day or a second, both of one granularity."""
    start, start_grain = _moment(since, "from")
    end, end_grain = _moment(until, "until")
    if start_grain and end_grain and start_grain != end_grain:
        raise OaiError("badArgument", "from dan until harus sama rinciannya (hari atau detik)")
    if start and end and start > end:
        raise OaiError("badArgument", "from lebih lambat dari until")
    # nothing is older than 1970; until's end is capped by the list's moment anyway
    return start and max(start, EPOCH), (end + end_grain) if end and end.year < 9999 else end


def _moment(text: str | None, name: str) -> tuple[datetime | None, timedelta | None]:
    if text is None:
        return None, None
    for pattern, grain, shape in GRANULARITIES:
        if re.fullmatch(pattern, text, re.ASCII):
            try:
                return datetime.strptime(text, shape).replace(tzinfo=UTC), grain
            except ValueError:
                break
    raise OaiError("badArgument", f"{name} harus YYYY-MM-DD atau YYYY-MM-DDThh:mm:ssZ (UTC)")
