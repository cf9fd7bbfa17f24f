"""What search engines read, on SQLite and PostgreSQL: a publication page's JSON-LD, canonical link and Open Graph
tags (a title cannot break out of the data block), the sitemap index and its sitemaps (every publication once, split
at the size limit, W3C lastmod), and robots.txt."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from cloud import seo
from tests.cloud.conftest import run_db

PORTAL = "http://portal.test"  # the public URL the fixtures configure
NS = {"sm": seo.SITEMAP_NS}
W3C_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")


class Head(HTMLParser):
    """The page's scripts (attributes and text), <link> and <meta> tags, as a browser's tokenizer splits them."""

    def __init__(self, text: str):
        super().__init__()
        self.scripts, self.links, self.meta, self._script = [], {}, {}, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._script = [attrs, ""]
            self.scripts.append(self._script)
        elif tag == "link":
            self.links[attrs.get("rel")] = attrs.get("href")
        elif tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content")

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def json_ld(text: str) -> dict:
    head = Head(text)
    assert [attrs for attrs, _ in head.scripts] == [{"type": "application/ld+json"}]  # the one script: data
    return json.loads(head.scripts[0][1])


def test_a_publication_page_describes_the_publication_in_json_ld(client, catalogue):
    pid = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    page = client.get(f"/publikasi/{pid}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    data = json_ld(page.text)
    url = f"{PORTAL}/publikasi/{pid}"
    assert data["@context"] == "https://schema.org" and data["@type"] == "Periodical"  # a yearly series
    assert data["name"] == "Provinsi Sulawesi Tenggara Dalam Angka 2024"
    assert data["url"] == data["@id"] == url and data["inLanguage"] == "id" and data["datePublished"] == "2024"
    assert data["publisher"]["name"] == "Badan Pusat Statistik"
    assert data["author"] == data["sourceOrganization"]
    assert data["author"]["name"] == run_db(client, "SELECT name FROM offices WHERE code = '7400'")[0]["name"]
    assert {"@type": "PropertyValue", "propertyID": "ISBN", "value": "978-623-00-1234-5"} in data["identifier"]
    assert {"@type": "PropertyValue", "propertyID": "Nomor katalog BPS", "value": "1102001.74"} in data["identifier"]
    assert data["isAccessibleForFree"] is True  # a softcopy anyone can read after a free sign-up
    assert data["keywords"] == "Kependudukan, Pemerintahan" and data["description"].startswith(data["name"])


def test_a_book_carries_its_isbn_abstract_and_no_free_access_without_a_softcopy(client, catalogue):
    pid = catalogue["Profil Kemiskinan Provinsi Sulawesi Tenggara 2023"]
    run_db(client, "UPDATE publications SET isbn = '978-602-438-123-4' WHERE id = {}", pid)
    data = json_ld(client.get(f"/publikasi/{pid}").text)
    assert data["@type"] == "Book" and data["isbn"] == "978-602-438-123-4"
    assert data["description"] == "Garis kemiskinan dan persentase penduduk miskin."
    assert "isAccessibleForFree" not in data and "numberOfPages" not in data


@pytest.mark.parametrize("kind, expected", [
    ("Dalam Angka", "Periodical"), ("Statistik Daerah", "Periodical"), ("Berita Resmi Statistik", "Periodical"),
    ("Hasil Sensus", "Dataset"), ("Tabel Statistik", "Dataset"), ("Publikasi Tematik", "Book"), (None, "Book"),
    ("Metadata", "Book"),
])
def test_each_publication_type_is_a_schema_org_type(kind, expected):
    assert seo.schema_type(kind) == expected


@pytest.mark.parametrize("text, expected", [
    ("978-623-00-1234-5", ("isbn", "978-623-00-1234-5")), ("ISBN 602-438-123-4", ("isbn", "602-438-123-4")),
    ("ISSN 0216-6577", ("issn", "0216-6577")), ("02166577", ("issn", "0216-6577")), ("", None), (None, None),
])
def test_the_isbn_field_tells_an_issn_from_an_isbn(text, expected):
    assert seo.standard_number(text) == expected


def test_an_issn_of_a_serial_is_its_issn(client, catalogue):
    pid = catalogue["Kota Kendari Dalam Angka 2024"]
    run_db(client, "UPDATE publications SET isbn = 'ISSN 0216-6577' WHERE id = {}", pid)
    assert json_ld(client.get(f"/publikasi/{pid}").text)["issn"] == "0216-6577"


HOSTILE = 'Judul </script><script>alert(1)</script><!-- & "kutip" \u2028 <b>'


def test_a_title_that_closes_the_script_stays_inside_the_data(client, catalogue):
    pid = catalogue["Statistik Daerah Kota Kendari 2024"]
    run_db(client, "UPDATE publications SET title = {}, abstract = {} WHERE id = {}", HOSTILE, HOSTILE, pid)
    page = client.get(f"/publikasi/{pid}")
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.DOTALL)[1]
    assert not set("<>&") & set(block)  # written as \u003c, \u003e, \u0026
    data = json_ld(page.text)  # no second script came to life
    assert data["name"] == HOSTILE and data["description"] == " ".join(HOSTILE.split())  # spaces collapsed
    head = Head(page.text)
    assert head.meta["og:title"] == HOSTILE  # an attribute, escaped by the template
    assert "<script>alert" not in page.text


def test_the_page_names_its_canonical_url_and_open_graph_tags(client, catalogue):
    pid = catalogue["Produk Domestik Regional Bruto Provinsi Sulawesi Tenggara Menurut Lapangan Usaha 2024"]
    head = Head(client.get(f"/publikasi/{pid}", params={"utm_source": "x"}).text)
    url = f"{PORTAL}/publikasi/{pid}"
    assert head.links["canonical"] == url
    assert head.meta["og:title"] == (
        "Produk Domestik Regional Bruto Provinsi Sulawesi Tenggara Menurut Lapangan Usaha 2024")
    assert head.meta["og:type"] == "book" and head.meta["og:url"] == url
    assert head.meta["og:site_name"] == "PST Pustaka BPS" and head.meta["og:locale"] == "id_ID"
    assert head.meta["og:description"] == head.meta["description"] and head.meta["description"]


def test_a_long_abstract_is_shortened_for_the_description_tags_only(client, catalogue):
    pid = catalogue["Profil Kemiskinan Provinsi Sulawesi Tenggara 2023"]
    abstract = " ".join(["Garis kemiskinan dan persentase penduduk miskin."] * 20)
    run_db(client, "UPDATE publications SET abstract = {} WHERE id = {}", abstract, pid)
    page = client.get(f"/publikasi/{pid}").text
    assert json_ld(page)["description"] == abstract
    described = Head(page).meta["description"]
    assert len(described) <= seo.DESCRIPTION_CHARS and described.endswith("…")


# --- sitemaps --------------------------------------------------------------------------------------------------------
def add_publications(client, clock, count: int) -> None:
    for n in range(count):
        at = clock.now() - timedelta(days=n, seconds=n)
        run_db(client, "INSERT INTO publications (id, catalogue_number, year, title, created_at, updated_at)"
               " VALUES ({}, {}, {}, {}, {}, {})", f"gen-{n:03d}", f"9999{n:03d}.74", 2020, f"Terbitan {n}", at, at)


def get_xml(client, path: str) -> ET.Element:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/xml; charset=utf-8"
    assert answer.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(answer.content)


def as_time(text: str) -> datetime:
    assert W3C_DATETIME.fullmatch(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_sitemaps_list_every_publication_once_split_at_the_size_limit(client, catalogue, clock, monkeypatch):
    monkeypatch.setattr(seo, "SITEMAP_SIZE", 10)
    monkeypatch.setattr(seo, "BATCH", 3)  # batches that end inside a sitemap and on its edge
    add_publications(client, clock, 29)  # 8 + 29 publications and 2 pages: 39 URLs, 4 sitemaps
    index = get_xml(client, "/sitemap.xml")
    assert index.tag == f"{{{seo.SITEMAP_NS}}}sitemapindex"
    parts = [entry.findtext("sm:loc", namespaces=NS) for entry in index.findall("sm:sitemap", NS)]
    assert parts == [f"{PORTAL}/sitemap-{n}.xml" for n in range(1, 5)]
    stored = {row["id"]: row["updated_at"] for row in run_db(client, "SELECT id, updated_at FROM publications")}
    listed = []
    for number, entry in enumerate(index.findall("sm:sitemap", NS), start=1):
        urls = get_xml(client, f"/sitemap-{number}.xml")
        assert urls.tag == f"{{{seo.SITEMAP_NS}}}urlset"
        found = [(u.findtext("sm:loc", namespaces=NS), u.findtext("sm:lastmod", namespaces=NS))
                 for u in urls.findall("sm:url", NS)]
        assert len(found) == (10 if number < 4 else 9)
        modified = [as_time(lastmod) for _, lastmod in found if lastmod]
        assert as_time(entry.findtext("sm:lastmod", namespaces=NS)) == max(modified)  # the index says which moved
        listed += found
    locs = [loc for loc, _ in listed]
    assert locs[:2] == [f"{PORTAL}/", f"{PORTAL}/katalog"]
    assert sorted(locs[2:]) == sorted(f"{PORTAL}/publikasi/{pid}" for pid in stored)  # each exactly once
    for loc, lastmod in listed[2:]:
        at = stored[loc.rsplit("/", 1)[1]]
        at = at if isinstance(at, datetime) else datetime.fromisoformat(at)  # PostgreSQL's or SQLite's
        assert as_time(lastmod) == at.replace(microsecond=0)
    assert as_time(listed[1][1]) == max(as_time(lastmod) for _, lastmod in listed[2:])  # the catalogue page
    assert client.get("/sitemap-5.xml").status_code == 404


def test_an_empty_catalogue_still_has_a_sitemap_of_its_pages(client):
    index = get_xml(client, "/sitemap.xml")
    assert [e.findtext("sm:loc", namespaces=NS) for e in index.findall("sm:sitemap", NS)] == [f"{PORTAL}/sitemap-1.xml"]
    urls = get_xml(client, "/sitemap-1.xml")
    locs = [u.findtext("sm:loc", namespaces=NS) for u in urls.findall("sm:url", NS)]
    assert locs == [f"{PORTAL}/", f"{PORTAL}/katalog"]
    assert client.get("/sitemap-2.xml").status_code == 404


def test_an_edit_moves_the_lastmod_of_the_publication(client, catalogue, clock):
    pid = catalogue["Kota Kendari Dalam Angka 2024"]
    later = datetime(2027, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    run_db(client, "UPDATE publications SET updated_at = {} WHERE id = {}", later, pid)
    urls = get_xml(client, "/sitemap-1.xml")
    lastmod = {u.findtext("sm:loc", namespaces=NS): u.findtext("sm:lastmod", namespaces=NS)
               for u in urls.findall("sm:url", NS)}
    assert lastmod[f"{PORTAL}/publikasi/{pid}"] == lastmod[f"{PORTAL}/katalog"] == "2027-01-02T03:04:05Z"
    index = get_xml(client, "/sitemap.xml")
    assert index.find("sm:sitemap", NS).findtext("sm:lastmod", namespaces=NS) == "2027-01-02T03:04:05Z"


# --- robots.txt ------------------------------------------------------------------------------------------------------
def test_robots_txt_keeps_private_paths_out_and_names_the_sitemap(client):
    answer = client.get("/robots.txt")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/plain; charset=utf-8"
    lines = answer.text.splitlines()
    assert lines[0] == "User-agent: *"
    disallowed = {line.split(":", 1)[1].strip() for line in lines if line.startswith("Disallow:")}
    assert {"/akun", "/kantor", "/api", "/sync", "/publikasi/*/baca", "/publikasi/*/unduh"} <= disallowed
    assert f"Sitemap: {PORTAL}/sitemap.xml" in lines
    assert not any(path in ("/", "/katalog", "/publikasi") for path in disallowed)


def test_robots_txt_blocks_every_softcopy_and_download_route(client):
    """Each route that hands out a file or a reader's copy lies under a disallowed path."""
    disallowed = [line.split(":", 1)[1].strip() for line in client.get("/robots.txt").text.splitlines()
                  if line.startswith("Disallow:")]
    patterns = [re.compile(re.escape(path).replace(r"\*", "[^/]+")) for path in disallowed]
    paths = {path for route in client.app.routes for path in [route.path]
             if re.search(r"softcopy|unduh|baca|pdf|csv|xlsx|cadangan", path)}
    assert paths  # the routes are found at all
    for path in paths:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert any(p.match(concrete) for p in patterns), path
