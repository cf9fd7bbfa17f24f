"""A publication of the catalogue as a MARC 21 bibliographic record (pymarc), for the OAI-PMH `marc21` format and any
other export: the fields a cataloguer at a national library expects of a BPS edition, RDA-style, in Indonesian.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree
from pymarc import MARC_XML_NS, MARC_XML_SCHEMA, Field, Indicators, Leader, Record, Subfield

MARC_XML = MARC_XML_NS
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PUBLISHER = "Badan Pusat Statistik"
CATALOGUING_AGENCY = "BPS"  # the agency's abbreviation; BPS has no registered MARC organization code
# n new, a language material, m monograph, a Unicode; 7 minimal level (the catalogue holds no physical description
# of the print), i ISBD punctuation included (RDA)
LEADER = "00000nam a22000007i 4500"


def standard_number(text: str | None) -> tuple[str, str] | None:
    """("isbn", digits) or ("issn", "NNNN-NNNN") from the catalogue's `isbn` cell (which takes either); None."""
    if not text:
        return None
    bare = re.sub(r"^(ISBN|ISSN)[:\s]*", "", text.upper()).replace("-", "").replace(" ", "")
    if len(bare) == 8:
        return "issn", f"{bare[:4]}-{bare[4:]}"
    return "isbn", bare


def creator(office_name: str | None) -> str:
    """"Badan Pusat Statistik Provinsi Sulawesi Tenggara" for the office "BPS Provinsi Sulawesi Tenggara"."""
    name = (office_name or "").strip()
    if name.startswith("BPS "):
        name = name[4:]
    elif name.startswith(PUBLISHER):
        name = name[len(PUBLISHER):].strip()
    return f"{PUBLISHER} {name}" if name else PUBLISHER


def series(title: str, year: int) -> str | None:
    """A BPS series is its title without the edition's year: "Kota Kendari Dalam Angka" of "… Dalam Angka 2024"."""
    suffix = f" {year}"
    return title[: -len(suffix)].strip() or None if title.endswith(suffix) else None


def record(item: dict, page_url: str, datestamp: datetime, created: datetime | None) -> Record:
    """`item`: a publication row (title, year, type, catalogue_number, subjects list, isbn, abstract, office_name,
    pages or None, has_softcopy) → a MARC record."""
    marc = Record(force_utf8=True, leader=Leader(LEADER))
    marc.add_field(Field(tag="001", data=item["id"]))
    marc.add_field(Field(tag="005", data=datestamp.strftime("%Y%m%d%H%M%S.") + str(datestamp.microsecond // 100_000)))
    marc.add_field(Field(tag="008", data=_fixed(item, created)))
    number = standard_number(item.get("isbn"))
    if number and number[0] == "isbn":
        marc.add_field(_data("020", "  ", ("a", number[1])))
    if number and number[0] == "issn":
        marc.add_field(_data("022", "0 ", ("a", number[1])))
    marc.add_field(_data("040", "  ", ("a", CATALOGUING_AGENCY), ("b", "ind"), ("e", "rda"), ("c", CATALOGUING_AGENCY)))
    marc.add_field(_data("041", "0 ", ("a", "ind")))
    marc.add_field(_data("088", "  ", ("a", item["catalogue_number"])))
    author = creator(item.get("office_name"))
    unit = author[len(PUBLISHER):].strip()
    marc.add_field(_data("110", "2 ", ("a", f"{PUBLISHER}."), *((("b", f"{unit}."),) if unit else ())))
    marc.add_field(_data("245", "10", ("a", f"{item['title']} /"), ("c", f"{author}.")))
    marc.add_field(_data("264", " 1", ("a", "[Indonesia] :"), ("b", f"{PUBLISHER},"), ("c", f"{item['year']}.")))
    if item.get("pages"):
        marc.add_field(_data("300", "  ", ("a", f"{item['pages']} halaman")))
    marc.add_field(_data("336", "  ", ("a", "teks"), ("b", "txt"), ("2", "rdacontent")))
    name = series(item["title"], item["year"])
    if name:
        issn = (("x", number[1]),) if number and number[0] == "issn" else ()
        marc.add_field(_data("490", "0 ", ("a", f"{name} ;"), *issn, ("v", str(item["year"]))))
    if item.get("abstract"):
        marc.add_field(_data("520", "  ", ("a", item["abstract"])))
    for subject in item["subjects"]:
        marc.add_field(_data("650", " 4", ("a", subject)))
    if item.get("type"):
        marc.add_field(_data("655", " 4", ("a", item["type"])))
    access = (("z", "Salinan digital tersedia bagi pembaca terdaftar"),) if item.get("has_softcopy") else ()
    marc.add_field(_data("856", "42", ("3", "Halaman publikasi"), ("u", page_url), *access))
    marc.leader = Leader(marc.as_marc()[:24].decode())  # with the record's length and base address filled in
    return marc


def element(marc: Record) -> etree._Element:
    """The record as MARCXML (http://www.loc.gov/MARC21/slim, with its schema location), written from pymarc's record
    straight into lxml: pymarc's own writer goes through ElementTree and text, six times slower, and a harvest page
    has hundreds. pymarc reads it back field for field (tests/cloud/test_oai.py)."""
    root = etree.Element(f"{{{MARC_XML}}}record", nsmap={None: MARC_XML, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", MARC_XML_SCHEMA)  # the namespace and its schema
    etree.SubElement(root, f"{{{MARC_XML}}}leader").text = str(marc.leader)
    for field in marc.fields:
        if field.is_control_field():
            etree.SubElement(root, f"{{{MARC_XML}}}controlfield", tag=field.tag).text = field.data
            continue
        data = etree.SubElement(root, f"{{{MARC_XML}}}datafield", tag=field.tag, ind1=field.indicator1,
                                ind2=field.indicator2)
        for subfield in field.subfields:
            etree.SubElement(data, f"{{{MARC_XML}}}subfield", code=subfield.code).text = subfield.value
    return root


def _data(tag: str, indicators: str, *subfields: tuple[str, str]) -> Field:
    return Field(tag=tag, indicators=Indicators(indicators[0], indicators[1]),
                 subfields=[Subfield(code, value) for code, value in subfields])


def _fixed(item: dict, created: datetime | None) -> str:
    """008 for books: entered, single date, Indonesia (io), statistics (s), a national government publication (f),
    Indonesian, other cataloguing source (d)."""
    entered = (created or datetime(1970, 1, 1)).strftime("%y%m%d")
    online = "o" if item.get("has_softcopy") else " "
    return f"{entered}s{item['year']:04d}    io      {online}s   f000 0 ind d"
