"""What web search engines read of the public catalogue: a publication's schema.org description (JSON-LD) and its
Open Graph tags, the sitemaps that list every publication page with the time it last changed, and robots.txt.
Absolute URLs come from the portal's public URL, as the mailed links do.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator
from datetime import timezone
from urllib.parse import quote
from xml.sax.saxutils import escape

from cloud.db import Database, moment

SITEMAP_SIZE = 50_000  # URLs per sitemap, the protocol's limit (sitemaps.org); tests lower it
MAX_SITEMAPS = 100  # the /sitemap-N.xml paths the portal answers: 5 million URLs at the full size
BATCH = 5_000  # rows read at a time while a sitemap streams out
STATIC_PAGES = ("/", "/katalog")  # the public pages that are not a publication; first in the first sitemap
DESCRIPTION_CHARS = 300  # the meta and Open Graph descriptions; the JSON-LD keeps the whole abstract
PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")  # an id that is its own URL path segment (every UUID): no quoting to do
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
BPS = {"@type": "GovernmentOrganization", "name": "Badan Pusat Statistik", "url": "https://www.bps.go.id"}
# BPS publication types (the catalogue's `type`) by what they are: the yearly series ("… Dalam Angka", "Statistik
# Daerah …") and the official news are serials; census results are first of all data; the rest are books.
PERIODICALS = ("dalam angka", "statistik daerah", "berita resmi", "buletin", "bulanan", "triwulan", "tahunan")
DATASETS = ("sensus", "tabel", "data")


# --- a publication page ----------------------------------------------------------------------------------------------
def canonical_url(public_url: str, publication_id: str) -> str:
    text = str(publication_id)
    return f"{public_url}/publikasi/{text if PLAIN_ID.fullmatch(text) else quote(text, safe='')}"


def schema_type(kind: str | None) -> str:
    """`Periodical`, `Dataset` or `Book` for a BPS publication type."""
    text = (kind or "").lower()
    if any(word in text for word in PERIODICALS):
        return "Periodical"
    if any(re.search(rf"\b{word}\b", text) for word in DATASETS):
        return "Dataset"
    return "Book"


def standard_number(text: str | None) -> tuple[str, str] | None:
    """`("isbn", "978-…")` or `("issn", "1234-5678")` for the catalogue's ISBN/ISSN field (8 digits: an ISSN)."""
    value = re.sub(r"^(ISBN|ISSN)[:\s]*", "", (text or "").strip(), flags=re.IGNORECASE)
    bare = value.replace("-", "").replace(" ", "").upper()
    if len(bare) == 8:
        return "issn", f"{bare[:4]}-{bare[4:]}"
    return ("isbn", value) if bare else None


def description(p: dict) -> str:
    """The abstract, or for an edition without one what the page says of it: title, type, year, number, subjects."""
    if p.get("abstract"):
        return " ".join(p["abstract"].split())
    facts = [p.get("type"), str(p["year"]), p.get("catalogue_number"), ", ".join(p.get("subjects") or ())]
    return f"{p['title']}. " + " · ".join(fact for fact in facts if fact)


def short(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def publication_graph(p: dict, url: str) -> dict:
    """The schema.org description of one publication (a `Catalogue.get` answer) at its canonical `url`."""
    kind = schema_type(p.get("type"))
    office = p.get("office") or {}
    author = {"@type": "GovernmentOrganization", "name": office["name"]} if office.get("name") else BPS
    graph = {
        "@context": "https://schema.org", "@type": kind, "@id": url, "url": url, "name": p["title"],
        "description": description(p), "inLanguage": "id", "datePublished": str(p["year"]),
        "publisher": BPS, "author": author, "sourceOrganization": author,
        "identifier": [{"@type": "PropertyValue", "propertyID": "Nomor katalog BPS", "value": p["catalogue_number"]}],
    }
    if p.get("type"):
        graph["genre"] = p["type"]
    if p.get("subjects"):
        graph["keywords"] = ", ".join(p["subjects"])
    number = standard_number(p.get("isbn"))
    if number:  # isbn belongs to Book, issn to serials and datasets; otherwise it is an identifier like the others
        name, value = number
        if (name == "isbn" and kind == "Book") or (name == "issn" and kind != "Book"):
            graph[name] = value
        else:
            graph["identifier"].append({"@type": "PropertyValue", "propertyID": name.upper(), "value": value})
    if p.get("softcopy"):  # free to read online for anyone who signs up (free), watermarked for them
        graph["isAccessibleForFree"] = True
        if kind == "Book" and p["softcopy"].get("pages"):
            graph["numberOfPages"] = p["softcopy"]["pages"]
    return graph


def script_json(data: dict) -> str:
    """JSON for a `<script type="application/ld+json">` block: `<`, `>` and `&` written as \\u escapes, so no text
    in it (a title holding `</script>`, `<!--`) can end the block or start markup; still the same JSON."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def page_tags(p: dict, public_url: str) -> dict:
    """What the publication page's <head> carries: canonical URL, description, Open Graph type and the JSON-LD."""
    url = canonical_url(public_url, p["id"])
    return {"url": url, "description": short(description(p)),
            "og_type": "book" if schema_type(p.get("type")) == "Book" else "website",
            "json_ld": script_json(publication_graph(p, url))}


# --- robots.txt ------------------------------------------------------------------------------------------------------
PRIVATE_PATHS = (
    "/akun",  # accounts: sign-in, registration, a reader's requests and scans
    "/kantor",  # the back office
    "/api", "/sync",  # the JSON API (softcopies among it) and the appliances' sync
    "/publikasi/*/baca", "/publikasi/*/unduh",  # a reader's watermarked softcopy
    "/bahasa", "/_dev", "/metrics",  # the language switch (a redirect back), the demo's mailbox, Prometheus
    "/oai",  # OAI-PMH, for library harvesters (cloud.oai): its lists page on without end for a crawler
)


def robots_txt(public_url: str) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE_PATHS), "",
             f"Sitemap: {public_url}/sitemap.xml"]
    return "\n".join(lines) + "\n"


# --- sitemaps --------------------------------------------------------------------------------------------------------
def w3c_datetime(value) -> str:
    """A stored time as the W3C datetime the sitemap protocol takes, in UTC: 2026-12-05T20:07:05Z."""
    if isinstance(value, str) and len(value) >= 25 and value.endswith("+00:00"):  # SQLite's text, already UTC:
        return f"{value[:10]}T{value[11:19]}Z"  # cut, not parsed (half the time of a 50,000-URL sitemap)
    return moment(value).astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _url(loc: str, lastmod=None) -> str:
    modified = f"<lastmod>{w3c_datetime(lastmod)}</lastmod>" if lastmod is not None else ""
    return f"<url><loc>{escape(loc)}</loc>{modified}</url>\n"


class Sitemaps:
    """The sitemap index and its sitemaps: the static pages, then every publication by id, `SITEMAP_SIZE` a sitemap.
    A publication's lastmod is its `updated_at`, which every write of it sets (import, edit, softcopy added or
    removed); the catalogue page's is the newest of them."""

    def __init__(self, db: Database, public_url: str):
        self.db, self.public_url = db, public_url

    async def count(self) -> int:
        """How many sitemaps there are (at least one: the static pages)."""
        publications = (await self.db.execute("SELECT count(*) AS n FROM publications"))[0]["n"]
        return min(MAX_SITEMAPS, max(1, math.ceil((publications + len(STATIC_PAGES)) / SITEMAP_SIZE)))

    async def index(self) -> str:
        """The index, each sitemap with the newest change of its publications: one pass over the table, each row
        placed by the first id of each sitemap (from the index on id), a quarter of a window function's time."""
        parts, firsts = await self.count(), []
        for number in range(2, parts + 1):
            found = await self.db.execute("SELECT id FROM publications ORDER BY id LIMIT 1 OFFSET {}",
                                          self._start(number))
            if not found:  # publications removed meanwhile: fewer sitemaps
                parts = number - 1
                break
            firsts.append(found[0]["id"])
        cases = " ".join(f"WHEN id < {{}} THEN {n}" for n in range(1, parts))
        part = f"CASE {cases} ELSE {parts} END" if firsts else "1"
        rows = await self.db.execute(f"SELECT {part} AS part, max(updated_at) AS lastmod FROM publications GROUP BY 1",
                                     *firsts)
        newest = {int(row["part"]): row["lastmod"] for row in rows if row["lastmod"] is not None}
        if newest:  # the first sitemap holds the catalogue page, which changes with any publication
            newest[1] = max(moment(value) for value in newest.values())
        entries = []
        for number in range(1, parts + 1):
            modified = f"<lastmod>{w3c_datetime(newest[number])}</lastmod>" if number in newest else ""
            entries.append(f"<sitemap><loc>{escape(self.public_url)}/sitemap-{number}.xml</loc>{modified}</sitemap>\n")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
                + "".join(entries) + "</sitemapindex>\n")

    @staticmethod
    def _start(number: int) -> int:
        """The place, in id order, of sitemap `number`'s first publication (the static pages come before them)."""
        return max(0, (number - 1) * SITEMAP_SIZE - len(STATIC_PAGES))

    async def sitemap(self, number: int) -> AsyncIterator[str]:
        """Sitemap `number` (from 1), streamed: read by id in batches of `BATCH`, each batch after the last id seen."""
        yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n'
        start, size = self._start(number), SITEMAP_SIZE
        if number == 1:
            yield await self._static_pages()
            size -= len(STATIC_PAGES)
        rows = await self.db.execute("SELECT id, updated_at FROM publications ORDER BY id LIMIT {} OFFSET {}",
                                     min(BATCH, size), start)
        while rows:
            size -= len(rows)
            yield "".join(_url(canonical_url(self.public_url, row["id"]), row["updated_at"]) for row in rows)
            if size <= 0:
                break
            rows = await self.db.execute("SELECT id, updated_at FROM publications WHERE id > {} ORDER BY id LIMIT {}",
                                         rows[-1]["id"], min(BATCH, size))
        yield "</urlset>\n"

    async def _static_pages(self) -> str:
        newest = (await self.db.execute("SELECT max(updated_at) AS lastmod FROM publications"))[0]["lastmod"]
        home, catalogue = (f"{self.public_url}{path}" for path in STATIC_PAGES)
        return _url(home) + _url(catalogue, newest)
