"""OAI-PMH at /oai, on SQLite and PostgreSQL: a real harvester (Sickle) takes the whole catalogue in oai_dc and marc21
over many resumption tokens while the back office edits, adds and removes, and an incremental harvest from the first
harvest's responseDate gets exactly those changes; every error code; a write in flight holding a list's first page
back; every answer checked with lxml for well-formedness and namespaces.

The catalogue is bulk-loaded (`load_publications`): a few thousand editions in `make test`, 100,000 under `make soak`.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pymarc
import pytest
from lxml import etree
from sickle import Sickle

from cloud.catalogue import publication_written
from cloud.catalogue_admin import CatalogueAdmin
from cloud.catalogue_import import KNOWN_OFFICES
from cloud.db import Database
from cloud.migrations import migrate
from cloud.oai import DC, OAI, OAI_DC, XSI, Listing, Repository, render_missing, stored, write_records
from pst.ids import new_id
from tests.cloud.conftest import run_db
from tests.faults.soak import campaign_size

MARC = "http://www.loc.gov/MARC21/slim"
SIZE = campaign_size(full=100_000, reduced=2_000)
PAGE = 200 if SIZE > 10_000 else 40  # ListRecords pages of 40 (ListIdentifiers 200): tokens well exercised
TYPES = ("Dalam Angka", "Statistik Daerah", "Publikasi Tematik", "Berita Resmi Statistik", "Hasil Sensus")
SUBJECTS = ("Kependudukan", "Pemerintahan", "Kemiskinan", "Neraca Regional", "Pertanian", "Harga", "Pariwisata")
COLUMNS = ("id", "catalogue_number", "year", "title", "type", "subjects", "isbn", "abstract", "office_code",
           "created_at", "updated_at")


async def load_publications(db: Database, count: int, newest: datetime, records: bool = True) -> None:
    """`count` editions across the province's offices and five types, in a few hundred multi-row INSERTs (not one
    request each), their OAI headers stamped a second apart up to `newest`, their records written as the portal
    does in the background (`records=False`: left for pages to render)."""
    offices = sorted(KNOWN_OFFICES.items())
    async with db.transaction():
        for code, name in offices:
            await db.execute("INSERT INTO offices (id, code, name, created_at) VALUES ({}, {}, {}, {})"
                             " ON CONFLICT (code) DO NOTHING", new_id(), code, name, newest)
        for first in range(0, count, 400):
            rows, headers = [], []
            for n in range(first, min(count, first + 400)):
                code, name = offices[n % len(offices)]
                year, kind = 2010 + n % 15, TYPES[n % len(TYPES)]
                when = newest - timedelta(seconds=count - n)
                isbn = f"978-623-{n:07d}" if n % 3 == 0 else ("2089-1234" if n % 7 == 0 else None)
                rows.append((new_id(), f"{1_000_000 + n}.{code}", year, f"{kind} {name[4:]} Nomor {n} {year}", kind,
                             ";".join(SUBJECTS[(n + k) % len(SUBJECTS)] for k in range(1 + n % 3)), isbn,
                             f"Ringkasan publikasi nomor {n}." if n % 2 else None, code, when, when))
                headers.append((rows[-1][0], stored(db.kind, when), False, code, kind))
            await _insert(db, "publications", COLUMNS, rows)
            await _insert(db, "oai_headers", ("publication_id", "datestamp", "deleted", "office_code", "type"), headers)
    if records:
        await render_missing(db)


async def _insert(db: Database, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    marks = ", ".join(f"({', '.join('{}' for _ in columns)})" for _ in rows)
    await db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {marks}", *[v for row in rows for v in row])


class Harvester(Sickle):
    """Sickle itself (its requests, token following and parsing), over the test's client instead of `requests`;
    keeps every answer to check it."""

    def __init__(self, client, http_method: str = "GET"):
        super().__init__("http://portal.test/oai", http_method=http_method)
        self.client, self.answers = client, []

    def _request(self, kwargs):
        answer = (self.client.get("/oai", params=kwargs) if self.http_method == "GET"
                  else self.client.post("/oai", data=kwargs))
        assert answer.status_code == 200 and answer.headers["content-type"] == "text/xml; charset=utf-8"
        self.answers.append(oai_document(answer.content))
        return answer


def q(name: str) -> str:
    return f"{{{OAI}}}{name}"


def oai_document(content: bytes) -> etree._Element:
    """The answer parsed (well-formed, or lxml raises) and its namespaces checked as the OAI-PMH schema has them."""
    root = etree.fromstring(content)
    assert root.tag == q("OAI-PMH") and root.nsmap[None] == OAI
    assert root.get(f"{{{XSI}}}schemaLocation") == f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
    assert [child.tag for child in root][:2] == [q("responseDate"), q("request")] and len(root) == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", root.findtext(q("responseDate")))
    assert root.findtext(q("request")) == "http://portal.test/oai"
    for element in root.iter():
        if not any(above.tag in (q("metadata"), q("description")) for above in element.iterancestors()):
            assert element.tag.startswith(f"{{{OAI}}}"), element.tag
    for metadata in root.iter(q("metadata")):
        (inner,) = metadata
        if inner.tag == f"{{{OAI_DC}}}dc":
            assert inner.get(f"{{{XSI}}}schemaLocation") == f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
            assert all(child.tag.startswith(f"{{{DC}}}") for child in inner)
        else:
            assert inner.tag == f"{{{MARC}}}record"
            assert inner.get(f"{{{XSI}}}schemaLocation").startswith(f"{MARC} ")
            assert all(element.tag.startswith(f"{{{MARC}}}") for element in inner.iter())
    return root


@pytest.fixture
def loaded(client) -> dict[str, str]:
    """SIZE editions an hour old and more, harvested by a repository of short pages; id → office code."""
    state = client.app.state
    newest = datetime.now(UTC) - timedelta(hours=1)
    client.blocking_portal.call(load_publications, state.db, SIZE, newest)
    state.oai = Repository(state.db, "http://portal.test", b"k" * 32, "pst7400@bps.go.id", page_size=PAGE)
    return {row["id"]: row["office_code"] for row in run_db(client, "SELECT id, office_code FROM publications")}


def admin(client, clock) -> CatalogueAdmin:
    return CatalogueAdmin(client.app.state.db, clock, client.app.state.settings.data_dir)


def local(identifier: str) -> str:
    assert identifier.startswith("oai:portal.test:")
    return identifier[len("oai:portal.test:"):]


@pytest.mark.soak
def test_a_harvest_takes_every_edition_once_and_the_next_one_gets_what_changed_while_it_ran(client, clock, loaded):
    desk = admin(client, clock)
    harvester = Harvester(client)
    seen: list[str] = []
    for record in harvester.ListRecords(metadataPrefix="oai_dc"):
        seen.append(local(record.header.identifier))
        if len(seen) == 2 * PAGE + 1:  # the back office works while the harvest goes on
            edited, removed = seen[3], seen[5]
            fields = client.blocking_portal.call(desk.form, edited)["fields"]
            client.blocking_portal.call(desk.edit, edited, fields | {"title": fields["title"] + " (revisi)"})
            client.blocking_portal.call(desk.remove, removed)
            added = client.blocking_portal.call(desk.add, {"title": "Statistik Daerah Kota Baubau 2025", "year": "2025",
                                                            "catalogue_number": "1101002.7472", "office_code": "7472",
                                                            "type": "Statistik Daerah", "subjects": "Pemerintahan"})
    assert len(seen) == len(set(seen)) == SIZE and set(seen) == set(loaded)
    tokens = [answer.find(f".//{q('resumptionToken')}") for answer in harvester.answers]
    assert len(tokens) == -(-SIZE // PAGE) and {t.get("completeListSize") for t in tokens} == {str(SIZE)}
    assert [int(t.get("cursor")) for t in tokens] == list(range(0, SIZE, PAGE))
    assert all(t.get("expirationDate") for t in tokens[:-1]) and not tokens[-1].text
    began = harvester.answers[0].findtext(q("responseDate"))

    again = Harvester(client, http_method="POST")
    changed = {local(r.header.identifier): r for r in again.ListRecords(metadataPrefix="oai_dc", **{"from": began})}
    assert set(changed) == {edited, removed, added}
    assert changed[removed].header.deleted and changed[removed].header.setSpecs
    assert changed[edited].metadata["title"][0].endswith("(revisi)")
    assert changed[added].header.setSpecs == ["office:7472", "type:statistik-daerah"]
    assert all(r.header.datestamp >= began for r in changed.values())
    gone = oai_document(client.get("/oai", params={"verb": "GetRecord", "identifier": f"{IDENTIFIER}{removed}",
                                                   "metadataPrefix": "marc21"}).content)
    assert gone.find(f".//{q('header')}").get("status") == "deleted" and gone.find(f".//{q('metadata')}") is None

    marc = {}
    for record in Harvester(client).ListRecords(metadataPrefix="marc21"):
        marc[local(record.header.identifier)] = record
    assert len(marc) == SIZE + 1 and {i for i, r in marc.items() if r.header.deleted} == {removed}
    live = {i for i, r in marc.items() if not r.header.deleted}
    assert live == {row["id"] for row in run_db(client, "SELECT id FROM publications")}
    (parsed,) = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(marc[edited].xml.find(f".//{{{MARC}}}record"))))
    assert parsed["245"]["a"].endswith("(revisi) /") and parsed["001"].data == edited


def test_identifiers_and_records_agree_and_sets_select_offices_and_types(client, loaded):
    harvester = Harvester(client)
    identifiers = [local(h.identifier) for h in harvester.ListIdentifiers(metadataPrefix="marc21")]
    assert len(identifiers) == len(set(identifiers)) == SIZE
    assert len(harvester.answers) == -(-SIZE // (5 * PAGE))
    kendari = [local(h.identifier) for h in Harvester(client).ListIdentifiers(metadataPrefix="oai_dc",
                                                                              set="office:7471")]
    assert set(kendari) == {i for i, code in loaded.items() if code == "7471"}
    typed = list(Harvester(client).ListIdentifiers(metadataPrefix="oai_dc", set="type:berita-resmi-statistik"))
    assert len(typed) == SIZE // len(TYPES) and all("type:berita-resmi-statistik" in h.setSpecs for h in typed)
    sets = {s.setSpec: s.setName for s in Harvester(client).ListSets()}
    assert sets["office:7400"] == "BPS Provinsi Sulawesi Tenggara" and sets["type:dalam-angka"] == "Dalam Angka"
    assert {"office", "type"} <= set(sets)


def test_from_and_until_take_days_and_seconds_inclusively(client, loaded):
    stamps = sorted(h["datestamp"] for h in _headers(client))
    middle = stamps[len(stamps) // 2]
    exactly = _identifiers(client, **{"from": middle, "until": middle})
    assert len(exactly) == stamps.count(middle) >= 1
    assert len(_identifiers(client, until=middle)) == sum(s <= middle for s in stamps)
    assert len(_identifiers(client, **{"from": middle})) == sum(s >= middle for s in stamps)
    day = middle[:10]
    assert len(_identifiers(client, **{"from": day, "until": day})) == sum(s[:10] == day for s in stamps)


def _headers(client) -> list[dict]:
    return [{"id": local(h.identifier), "datestamp": h.datestamp}
            for h in Harvester(client).ListIdentifiers(metadataPrefix="oai_dc")]


def _identifiers(client, **arguments) -> list[str]:
    return [local(h.identifier) for h in Harvester(client).ListIdentifiers(metadataPrefix="oai_dc", **arguments)]


def test_a_catalogue_write_in_flight_holds_the_first_page_back_until_it_commits(client, loaded):
    """The write stamped its datestamp before the harvest asked, but commits after: the first page waits for it,
    so it is listed, at or before the responseDate (had the page not waited, a harvest `from` that responseDate
    would have missed it for good)."""
    state, (publication_id, office) = client.app.state, next(iter(loaded.items()))

    async def scenario() -> bytes:
        holding, release = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            async with state.db.transaction():
                await state.db.execute("UPDATE publications SET title = 'Revisi' WHERE id = {}", publication_id)
                await publication_written(state.db, publication_id, office)
                holding.set()
                await release.wait()

        writer = asyncio.create_task(write())
        await holding.wait()
        first = asyncio.create_task(state.oai.respond([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc")]))
        await asyncio.sleep(0.5)
        assert not first.done()
        release.set()
        await writer
        return await first

    answer = oai_document(client.blocking_portal.call(scenario))
    responded = answer.findtext(q("responseDate"))
    assert answer.find(f".//{q('resumptionToken')}").get("completeListSize") == str(SIZE)
    assert publication_id in _identifiers(client, until=responded)


IDENTIFIER = "oai:portal.test:"
FORM = {"content-type": "application/x-www-form-urlencoded"}
ERRORS = [  # (arguments, code)
    ([], "badVerb"),
    ([("verb", "Harvest")], "badVerb"),
    ([("verb", "Identify"), ("verb", "Identify")], "badVerb"),
    ([("verb", "Identify"), ("set", "office")], "badArgument"),
    ([("verb", "ListRecords")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-13-01")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-01-01T00:00:00.5Z")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-01-01"),
      ("until", "2024-01-02T00:00:00Z")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-02-01"), ("until", "2024-01-01")],
     "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "office:")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", "abc")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")], "badArgument"),
    ([("verb", "GetRecord"), ("identifier", "oai:portal.test:\x01"), ("metadataPrefix", "oai_dc")], "badArgument"),
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "")], "badArgument"),
    ([("verb", "ListRecords"), ("resumptionToken", "bukan-token")], "badResumptionToken"),
    ([("verb", "ListSets"), ("resumptionToken", "x")], "badResumptionToken"),
    ([("verb", "ListRecords"), ("metadataPrefix", "mods")], "cannotDisseminateFormat"),
    ([("verb", "GetRecord"), ("identifier", f"{IDENTIFIER}tidak-ada"), ("metadataPrefix", "oai_dc")],
     "idDoesNotExist"),
    ([("verb", "GetRecord"), ("identifier", "oai:lain.example:x"), ("metadataPrefix", "oai_dc")], "idDoesNotExist"),
    ([("verb", "ListMetadataFormats"), ("identifier", f"{IDENTIFIER}tidak-ada")], "idDoesNotExist"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "office:9999")], "noRecordsMatch"),
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "marc21"), ("set", "rak:1")], "noRecordsMatch"),
    ([("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2099-01-01")], "noRecordsMatch"),
]


def test_every_error_code_is_an_oai_error_and_echoes_only_valid_arguments(client, catalogue):
    for arguments, code in ERRORS:
        for answer in (client.get("/oai", params=arguments), client.post("/oai", content=urlencode(arguments),
                                                                          headers=FORM)):
            assert answer.status_code == 200, (arguments, answer.text)
            document = oai_document(answer.content)
            error = document.find(q("error"))
            assert error is not None and error.get("code") == code and error.text, (arguments, answer.text)
            request = dict(document.find(q("request")).attrib)
            assert request == ({} if code in ("badVerb", "badArgument") else dict(arguments)), arguments


def test_a_token_tampered_with_expired_or_of_another_list_is_refused(client, catalogue):
    state = client.app.state
    state.oai = Repository(state.db, "http://portal.test", b"k" * 32, "pst7400@bps.go.id", page_size=2)
    first = oai_document(client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}).content)
    token = first.find(f".//{q('resumptionToken')}").text
    listing: Listing = state.oai.read_token(token, "ListRecords", datetime.now(UTC))
    expired = state.oai.token(listing, datetime.now(UTC) - timedelta(seconds=1))
    tampered = ("A" if token[0] != "A" else "B") + token[1:]
    for verb, text in (("ListRecords", expired), ("ListRecords", tampered), ("ListIdentifiers", token),
                       ("ListRecords", token + "x"), ("ListRecords", "." * 3000)):
        answer = oai_document(client.get("/oai", params={"verb": verb, "resumptionToken": text}).content)
        assert answer.find(q("error")).get("code") == ("badResumptionToken" if len(text) < 2000 else "badArgument")
    following = oai_document(client.get("/oai", params={"verb": "ListRecords", "resumptionToken": token}).content)
    assert following.find(f".//{q('resumptionToken')}").get("cursor") == "2"


def test_a_record_carries_dublin_core_and_marc_as_a_cataloguer_expects(client, catalogue):
    publication_id = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    arguments = {"verb": "GetRecord", "identifier": f"{IDENTIFIER}{publication_id}"}
    dc = oai_document(client.get("/oai", params=arguments | {"metadataPrefix": "oai_dc"}).content)
    assert dc.find(q("request")).attrib == arguments | {"metadataPrefix": "oai_dc"}
    values: dict[str, list[str]] = {}
    for element in dc.find(f".//{{{OAI_DC}}}dc"):
        values.setdefault(etree.QName(element).localname, []).append(element.text)
    assert values["title"] == ["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    assert values["creator"] == ["Badan Pusat Statistik Provinsi Sulawesi Tenggara"]
    assert values["publisher"] == ["Badan Pusat Statistik"] and values["language"] == ["ind"]
    assert values["subject"] == ["Kependudukan", "Pemerintahan"] and values["date"] == ["2024"]
    assert values["type"] == ["Text", "Dalam Angka"] and values["format"] == ["application/pdf", "5 halaman"]
    assert values["identifier"] == ["urn:isbn:9786230012345", "Nomor katalog BPS 1102001.74",
                                    f"http://portal.test/publikasi/{publication_id}"]
    assert values["rights"][0].startswith("Hak cipta © Badan Pusat Statistik")

    answer = oai_document(client.get("/oai", params=arguments | {"metadataPrefix": "marc21"}).content)
    (record,) = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(answer.find(f".//{{{MARC}}}record"))))
    assert str(record.leader)[5:10] == "nam a" and int(str(record.leader)[:5]) == len(record.as_marc())
    assert record["008"].data[7:11] == "2024" and record["008"].data[35:38] == "ind" and len(record["008"].data) == 40
    assert record["020"]["a"] == "9786230012345" and record["040"]["b"] == "ind" and record["041"]["a"] == "ind"
    assert record["110"]["b"] == "Provinsi Sulawesi Tenggara."
    assert record["245"]["a"] == "Provinsi Sulawesi Tenggara Dalam Angka 2024 /"
    assert record["264"]["b"] == "Badan Pusat Statistik," and record["264"]["c"] == "2024."
    assert record["300"]["a"] == "5 halaman" and record["088"]["a"] == "1102001.74"
    assert record["490"]["a"] == "Provinsi Sulawesi Tenggara Dalam Angka ;" and record["490"]["v"] == "2024"
    assert [f["a"] for f in record.get_fields("650")] == ["Kependudukan", "Pemerintahan"]
    assert record["856"]["u"] == f"http://portal.test/publikasi/{publication_id}"
    poverty = catalogue["Profil Kemiskinan Provinsi Sulawesi Tenggara 2023"]
    answer = oai_document(client.get("/oai", params={"verb": "GetRecord", "identifier": f"{IDENTIFIER}{poverty}",
                                                     "metadataPrefix": "marc21"}).content)
    (record,) = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(answer.find(f".//{{{MARC}}}record"))))
    assert record["520"]["a"] == "Garis kemiskinan dan persentase penduduk miskin." and not record.get_fields("300")


def test_identify_and_formats_describe_the_repository(client, catalogue):
    identify = oai_document(client.get("/oai", params={"verb": "Identify"}).content).find(q("Identify"))
    assert identify.findtext(q("baseURL")) == "http://portal.test/oai"
    assert identify.findtext(q("protocolVersion")) == "2.0" and identify.findtext(q("deletedRecord")) == "persistent"
    assert identify.findtext(q("granularity")) == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.find(f".//{{http://www.openarchives.org/OAI/2.0/oai-identifier}}repositoryIdentifier").text \
        == "portal.test"
    some = f"{IDENTIFIER}{next(iter(catalogue.values()))}"
    for arguments in ({"verb": "ListMetadataFormats"}, {"verb": "ListMetadataFormats", "identifier": some}):
        formats = oai_document(client.post("/oai", content=urlencode(arguments), headers=FORM).content)
        assert [f.text for f in formats.iter(q("metadataPrefix"))] == ["oai_dc", "marc21"]


def test_a_post_that_is_not_a_form_is_refused_without_a_server_error(client):
    assert client.post("/oai", json={"verb": "Identify"}).status_code == 415
    answer = client.post("/oai", content=b"verb=Identify&\xff\xfe=1", headers=FORM)
    assert answer.status_code == 200 and oai_document(answer.content).find(q("error")).get("code") == "badArgument"
    assert client.get("/oai?verb=Identify&%ff=%00").status_code == 200


def test_editions_already_in_the_catalogue_get_their_headers_when_the_migration_runs(client, catalogue):
    run_db(client, "DROP TABLE oai_headers")
    run_db(client, "DELETE FROM cloud_migrations WHERE name IN ('m018_oai', 'm019_oai_records')")
    assert client.blocking_portal.call(migrate, client.app.state.db) == ["m018_oai", "m019_oai_records"]
    headers = list(Harvester(client).ListIdentifiers(metadataPrefix="oai_dc", until="2026-11-30"))
    assert {local(h.identifier) for h in headers} == set(catalogue.values())
    assert {h.datestamp for h in headers} == {"2026-11-30T01:00:00Z"}  # updated_at: the import's Monday 09.00 WITA


def _record_answers(client, ids) -> dict[tuple[str, str], bytes]:
    """GetRecord of every edition in both formats, the answers without their responseDate."""
    answers = {}
    for publication_id in ids:
        for prefix in ("oai_dc", "marc21"):
            answer = client.get("/oai", params={"verb": "GetRecord", "metadataPrefix": prefix,
                                                "identifier": f"{IDENTIFIER}{publication_id}"}).content
            answers[publication_id, prefix] = re.sub(rb"<responseDate>[^<]*</responseDate>", b"", answer)
    return answers


def test_records_are_written_with_their_edition_and_sent_as_they_would_be_rendered(client, clock, catalogue):
    """The import wrote every edition's records; what a page sends from them is byte for byte what the portal
    renders for an edition whose records are not written yet, and the background task writes those."""
    written = run_db(client, "SELECT publication_id, oai_dc, marc21 FROM oai_headers")
    assert len(written) == len(catalogue) and all(row["oai_dc"] and row["marc21"] for row in written)
    assert all("portal.test" not in row["oai_dc"] + row["marc21"] for row in written)  # the address is a mark
    stored_answers = _record_answers(client, catalogue.values())

    run_db(client, "UPDATE oai_headers SET oai_dc = NULL, marc21 = NULL")
    assert _record_answers(client, catalogue.values()) == stored_answers
    page = client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "marc21"}).content
    assert len(oai_document(page).findall(f".//{q('record')}")) == len(catalogue)

    db = client.app.state.db
    removed = catalogue["Profil Kemiskinan Provinsi Sulawesi Tenggara 2023"]
    client.blocking_portal.call(admin(client, clock).remove, removed)
    run_db(client, "UPDATE oai_headers SET oai_dc = NULL, marc21 = NULL")
    stop = asyncio.Event()
    client.blocking_portal.call(write_records, db, stop)  # what the portal runs at start
    assert client.blocking_portal.call(render_missing, db) == 0
    rows = {row["publication_id"]: row for row in run_db(client, "SELECT * FROM oai_headers")}
    assert rows[removed]["deleted"] and rows[removed]["oai_dc"] is None
    assert all(row["oai_dc"] and row["marc21"] for key, row in rows.items() if key != removed)
    assert _record_answers(client, set(catalogue.values()) - {removed}) == {
        key: answer for key, answer in stored_answers.items() if key[0] != removed}


def test_a_portal_at_another_address_sends_the_stored_records_with_it(client, catalogue):
    """Nothing stored names the portal: a repository at another address (with characters XML escapes) sends its
    own page URLs and identifiers, and each MARC leader counts the record's length with that address."""
    state = client.app.state
    state.oai = Repository(state.db, "https://pst.bps.go.id/pustaka&arsip", b"k" * 32, "pst7400@bps.go.id")
    publication_id = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    for prefix in ("oai_dc", "marc21"):
        answer = etree.fromstring(client.get("/oai", params={
            "verb": "GetRecord", "metadataPrefix": prefix,
            "identifier": f"oai:pst.bps.go.id:{publication_id}"}).content)
        assert answer.findtext(q("request")) == "https://pst.bps.go.id/pustaka&arsip/oai"
        assert answer.findtext(f".//{q('identifier')}") == f"oai:pst.bps.go.id:{publication_id}"
        page = f"https://pst.bps.go.id/pustaka&arsip/publikasi/{publication_id}"
        if prefix == "oai_dc":
            assert page in [element.text for element in answer.iter(f"{{{DC}}}identifier")]
            continue
        (record,) = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(answer.find(f".//{{{MARC}}}record"))))
        assert record["856"]["u"] == page and int(str(record.leader)[:5]) == len(record.as_marc())


def test_catalogue_text_cannot_pass_for_a_mark(client, clock, catalogue):
    """A title that carries what looks like the stored records' marks comes out as the text it is (the private
    characters the rendering uses taken out, like any character XML cannot carry)."""
    publication_id = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    title = "Data &@portal; &@host; &@length;00001 \ue000\ue001 &amp; <b>"
    db = client.app.state.db

    async def retitle() -> None:  # straight into the catalogue, as a write of any origin would be
        async with db.transaction():
            office = await db.execute("UPDATE publications SET title = {} WHERE id = {} RETURNING office_code",
                                      title, publication_id)
            await publication_written(db, publication_id, office[0]["office_code"])

    client.blocking_portal.call(retitle)
    for prefix, path in (("oai_dc", f".//{{{DC}}}title"), ("marc21", f".//{{{MARC}}}datafield[@tag='245']/*")):
        answer = oai_document(client.get("/oai", params={"verb": "GetRecord", "metadataPrefix": prefix,
                                                         "identifier": f"{IDENTIFIER}{publication_id}"}).content)
        assert answer.findtext(path).startswith("Data &@portal; &@host; &@length;00001  &amp; <b>")


def test_a_list_held_back_past_the_lock_wait_is_answered_503_with_retry_after(client, loaded):
    """A catalogue write that holds the downlink counter longer than a list's first page waits: 503 and
    Retry-After (the protocol's flow control), then the list once the write is done; a token's page never waits."""
    state = client.app.state
    first = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
    token = oai_document(client.get("/oai", params=first).content).findtext(f".//{q('resumptionToken')}")
    holding, release = threading.Event(), threading.Event()

    async def write() -> None:
        async with state.db.transaction():
            await state.db.execute("UPDATE change_counter SET n = n + 1 WHERE id = 1")
            holding.set()
            while not release.is_set():
                await asyncio.sleep(0.01)

    kwargs = getattr(state.db.engine, "connection_kwargs", {})  # SQLite's: its busy timeout
    waits = kwargs.get("timeout")
    state.oai.lock_wait = kwargs["timeout"] = 0.3  # the lock's wait, made short for the test
    writer = client.blocking_portal.start_task_soon(write)
    try:
        assert holding.wait(10)
        held = client.get("/oai", params=first)
        following = client.get("/oai", params={"verb": "ListIdentifiers", "resumptionToken": token})
    finally:
        release.set()
        writer.result(10)
        state.oai.lock_wait = 15.0
        kwargs["timeout"] = waits
    assert held.status_code == 503 and held.headers["retry-after"] == "10"
    assert following.status_code == 200 and following.content.count(b"<header>") == PAGE * 5
    assert client.get("/oai", params=first).status_code == 200
