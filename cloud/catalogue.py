"""The portal's catalogue: full-text search with facets and pages, one publication's metadata, and the upsert the
CSV import uses. Each engine searches with its own index (FTS5 on SQLite, a tsvector on PostgreSQL) under the same
query rules as the appliance: every word a prefix, all words required, and user text is only ever data, so no input
can make the query fail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cloud import oai
from cloud.changes import record_change
from cloud.db import Database
from pst.i18n import N_
from pst.ids import new_id

MAX_TERMS = 12
MAX_WORD = 40
PER_PAGE = 20
MAX_PAGE = 10_000
FACET_SUBJECTS = 30
WORD = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers keep
NUMBER = re.compile(r"\d{4,10}(\.\d{1,10}){1,3}")  # a catalogue number typed as such: "1102001.74"
# Abbreviations readers type that are not prefixes of the words in titles ("kab" already finds "Kabupaten").
ABBREVIATIONS = {
    "pdrb": "produk domestik regional bruto", "ipm": "indeks pembangunan manusia", "sultra": "sulawesi tenggara",
    "kesra": "kesejahteraan rakyat", "ihk": "harga konsumen", "sp2020": "sensus penduduk 2020",
}
ITEM_COLUMNS = "p.id, p.title, p.year, p.type, p.catalogue_number, p.subjects, p.softcopy_sha256"
# The count and the three facets in one statement: the matches are read once and grouped by (year, type, subjects),
# a few hundred groups at most, which the facets then add up. Subjects are split from `p.subjects` (the same list as
# its rows in publication_subjects: every writer of a publication writes both), so no join per match. Each facet row
# carries its place (`pos`) as the database orders it, ties by the database's own collation as before. RECURSIVE is
# for SQLite's split of the subjects; PostgreSQL accepts it unused.
_FACETS = """WITH RECURSIVE matches AS ({matches}),
subjects AS ({subjects})
SELECT 'year' AS facet, year, CAST(NULL AS VARCHAR(80)) AS value, CAST(sum(n) AS BIGINT) AS n,
    row_number() OVER (ORDER BY year DESC) AS pos FROM matches GROUP BY year
UNION ALL
SELECT 'type', CAST(NULL AS INTEGER), type, CAST(sum(n) AS BIGINT), row_number() OVER (ORDER BY sum(n) DESC, type)
    FROM matches WHERE type IS NOT NULL GROUP BY type
UNION ALL
SELECT facet, year, value, n, pos FROM (
    SELECT 'subject' AS facet, CAST(NULL AS INTEGER) AS year, value, CAST(sum(n) AS BIGINT) AS n,
        row_number() OVER (ORDER BY sum(n) DESC, value) AS pos FROM subjects WHERE value <> '' GROUP BY value
) ranked WHERE pos <= {limit}"""
# One row (value, n) per subject of each group of matches: PostgreSQL splits with unnest, SQLite recursively.
_SPLIT_SUBJECTS = {
    "postgresql": """SELECT s.value, m.n FROM matches m
    CROSS JOIN LATERAL unnest(string_to_array(m.subjects, ';')) AS s(value)""",
    "sqlite": """SELECT '' AS value, subjects || ';' AS rest, n FROM matches
    UNION ALL
    SELECT substr(rest, 1, instr(rest, ';') - 1), substr(rest, instr(rest, ';') + 1), n FROM subjects
    WHERE rest <> ''""",
}


class CatalogueError(ValueError):
    """Refused: `status` is the HTTP answer, `errors` names the fields."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.detail, self.errors = status, message, errors or {}


@dataclass(frozen=True)
class Query:
    """What a reader typed, made safe: words (accents removed) and catalogue numbers."""

    words: tuple[str, ...]
    numbers: tuple[str, ...]

    @classmethod
    def parse(cls, text: object) -> Query:
        words, numbers = [], []
        chunks = unicodedata.normalize("NFKC", text if isinstance(text, str) else "")[:400].split()
        for chunk in chunks[:MAX_TERMS]:
            if NUMBER.fullmatch(chunk):
                numbers.append(chunk)
                continue
            plain = "".join(ch for ch in unicodedata.normalize("NFKD", chunk) if not unicodedata.combining(ch))
            words += [word.lower()[:MAX_WORD] for word in WORD.findall(plain)]
        return cls(tuple(dict.fromkeys(words))[:MAX_TERMS], tuple(numbers))

    def fts5(self) -> str:
        """Every word quoted (so AND, NEAR, `*`, `"` are just text), matched as a prefix, all required."""
        terms = []
        for word in self.words:
            expansion = ABBREVIATIONS.get(word)
            terms.append(f'("{word}"* OR "{expansion}")' if expansion else f'"{word}"*')
        return " AND ".join(terms)

    def tsquery(self) -> str:
        """The same for PostgreSQL's to_tsquery: only letters and digits reach it, each `word:*`."""
        terms = []
        for word in self.words:
            expansion = ABBREVIATIONS.get(word)
            terms.append(f"({word}:* | {' <-> '.join(expansion.split())})" if expansion else f"{word}:*")
        return " & ".join(terms)


SAME_OFFICE = object()  # the edition stays with the office it had


async def publication_written(db: Database, publication_id: str, office_code: str | None, now=None,
                              previous_office: object = SAME_OFFICE) -> None:
    """Every insert, update or delete of a publication calls this, inside the transaction of that write: the one
    place where a write of the catalogue becomes known to the appliances and to harvesters. An edition moved to
    another office (or from every office to one) is also noted for where it was, so the appliances there drop it.
    Its OAI datestamp comes last, once the downlink counter is held (cloud.oai says why)."""
    await record_change(db, "publication", publication_id, office_code, now)
    if previous_office != office_code and previous_office is not SAME_OFFICE:
        await record_change(db, "publication", publication_id, previous_office, now)
    await oai.stamp(db, publication_id, office_code)


def subject_list(text: str | None) -> list[str]:
    return [part for part in (text or "").split(";") if part]


class Catalogue:
    def __init__(self, db: Database):
        self.db = db

    async def search(self, q: object = "", year: object = None, subject: object = None, type: object = None,
                     page: object = 1, per_page: object = None) -> dict:
        """`{"total", "page", "per_page", "items", "facets"}`: relevance first, then the newest edition, then title
        and id, so pages never overlap; facets count year, subject and type over the whole result set."""
        filters = _filters(year, subject, type, page, per_page)
        facets_sql, page_sql = self.statements(Query.parse(q), filters)
        facets = _facets(await self.db.execute(*facets_sql))
        total = sum(f["count"] for f in facets["year"])  # every publication has a year, and that facet is whole
        offset = (filters["page"] - 1) * filters["per_page"]
        rows = await self.db.execute(*page_sql) if total > offset else []  # past the end: nothing to look up
        return {
            "total": total, "page": filters["page"], "per_page": filters["per_page"],
            "items": [_item(row) for row in rows], "facets": facets,
        }

    def statements(self, query: Query, filters: dict | None = None) -> tuple[tuple, tuple]:
        """The two statements a search runs, each `(sql, *args)` with `{}` placeholders: the count and the facets
        in one pass over the matches, then the page (the first, unfiltered, without `filters`). Public so the
        benchmark runs exactly these on the bare driver."""
        filters = filters or _filters(None, None, None, 1, None)
        source, condition, args, rank, rank_args = self._where(query, filters)
        matches = (f"SELECT p.year, p.type, p.subjects, count(*) AS n FROM {source} WHERE {condition}"
                   " GROUP BY p.year, p.type, p.subjects")
        facets = _FACETS.format(matches=matches, subjects=_SPLIT_SUBJECTS[self.db.kind], limit=FACET_SUBJECTS)
        order = (f"{rank}, " if rank else "") + "p.year DESC, p.title, p.id"
        page = (f"SELECT {ITEM_COLUMNS} FROM {source} WHERE {condition} ORDER BY {order} LIMIT {{}} OFFSET {{}}",
                *args, *rank_args, filters["per_page"], (filters["page"] - 1) * filters["per_page"])
        return (facets, *args), page

    async def get(self, publication_id: str) -> dict | None:
        rows = await self.db.execute(
            "SELECT p.id, p.title, p.year, p.type, p.catalogue_number, p.subjects, p.isbn, p.abstract, p.office_code,"
            " o.name AS office_name, p.softcopy_sha256, f.pages, f.size, p.updated_at FROM publications p"
            " LEFT JOIN offices o ON o.code = p.office_code LEFT JOIN softcopy_files f ON f.sha256 = p.softcopy_sha256"
            " WHERE p.id = {}", str(publication_id)[:100],
        )
        if not rows:
            return None
        row = rows[0]
        return _item(row) | {
            "isbn": row["isbn"], "abstract": row["abstract"],
            "office": {"code": row["office_code"], "name": row["office_name"]} if row["office_code"] else None,
            "softcopy": {"pages": row["pages"], "size": row["size"]} if row["softcopy_sha256"] else None,
        }

    async def size(self) -> int:
        return (await self.db.execute("SELECT count(*) AS n FROM publications"))[0]["n"]

    async def upsert(self, row: dict, now) -> str:
        """One edition by (catalogue_number, year), inside the caller's transaction: "added", "updated" or
        "unchanged". An empty `softcopy_sha256` keeps the file the edition already has."""
        found = await self.db.execute(
            "SELECT id, title, type, subjects, isbn, abstract, office_code, softcopy_sha256 FROM publications"
            " WHERE catalogue_number = {} AND year = {}", row["catalogue_number"], row["year"],
        )
        fields = {k: row[k] for k in ("title", "type", "subjects", "isbn", "abstract", "office_code")}
        fields["subjects"] = ";".join(row["subjects"])
        if row.get("softcopy_sha256") or not found:
            fields["softcopy_sha256"] = row.get("softcopy_sha256")
        if not found:
            publication_id = new_id()
            columns = ["id", "catalogue_number", "year", *fields, "created_at", "updated_at"]
            values = [publication_id, row["catalogue_number"], row["year"], *fields.values(), now, now]
            await self.db.execute(
                f"INSERT INTO publications ({', '.join(columns)}) VALUES ({', '.join('{}' for _ in columns)})", *values
            )
            await self._set_subjects(publication_id, row["subjects"])
            await publication_written(self.db, publication_id, fields["office_code"], now)
            return "added"
        current = found[0]
        changes = {k: v for k, v in fields.items() if current[k] != v}
        if not changes:
            return "unchanged"
        assignments = ", ".join(f"{k} = {{}}" for k in changes)
        await self.db.execute(f"UPDATE publications SET {assignments}, updated_at = {{}} WHERE id = {{}}",
                              *changes.values(), now, current["id"])
        if "subjects" in changes:
            await self.db.execute("DELETE FROM publication_subjects WHERE publication_id = {}", current["id"])
            await self._set_subjects(current["id"], row["subjects"])
        await publication_written(self.db, current["id"], fields["office_code"], now, current["office_code"])
        return "updated"

    async def _set_subjects(self, publication_id: str, subjects: list[str]) -> None:
        for subject in subjects:
            await self.db.execute(
                "INSERT INTO publication_subjects (id, publication_id, subject) VALUES ({}, {}, {})",
                new_id(), publication_id, subject,
            )

    def _where(self, query: Query, filters: dict) -> tuple[str, str, list, str, list]:
        """FROM, WHERE and its arguments, and the relevance ORDER BY term with its own arguments."""
        source, conditions, args, rank, rank_args = "publications p", ["1 = 1"], [], "", []
        if query.words and self.db.kind == "sqlite":
            # CROSS JOIN: SQLite keeps this order, the full-text match first; the other way round it may walk an
            # index of publications and run the MATCH once per row (seconds for a short prefix and a year)
            source = "publications_fts CROSS JOIN publications p ON p.seq = publications_fts.rowid"
            conditions.append("publications_fts MATCH {}")
            args.append(query.fts5())
            rank = "round(bm25(publications_fts, 10.0, 4.0, 6.0, 1.0), 1)"  # steps of 0.1: editions stay newest first
        elif query.words:
            conditions.append("p.search @@ to_tsquery('simple', {})")
            args.append(query.tsquery())
            rank = "round(ts_rank(p.search, to_tsquery('simple', {}))::numeric, 2) DESC"
            rank_args.append(query.tsquery())
        for number in query.numbers:
            conditions.append("p.catalogue_number = {}")  # "1102001.74" is the province's, not "1102001.7471"
            args.append(number)
        for sql, value in (
            ("p.year = {}", filters["year"]), ("lower(p.type) = lower({})", filters["type"]),
            # the publications of one subject, found through its index on lower(subject) (m009), not a probe per match
            ("p.id IN (SELECT s.publication_id FROM publication_subjects s WHERE lower(s.subject) = lower({}))",
             filters["subject"]),
        ):
            if value is not None:
                conditions.append(sql)
                args.append(value)
        return source, " AND ".join(conditions), args, rank, rank_args


def _facets(rows: list[dict]) -> dict:
    """The facet rows of one search, each in the place the database ranked it."""
    found: dict[str, list[dict]] = {"year": [], "subject": [], "type": []}
    for row in sorted(rows, key=lambda r: r["pos"]):
        found[row["facet"]].append({"value": row["year"] if row["facet"] == "year" else row["value"],
                                    "count": int(row["n"])})
    return found


def _item(row: dict) -> dict:
    return {
        "id": row["id"], "title": row["title"], "year": row["year"], "subjects": subject_list(row["subjects"]),
        "has_softcopy": row["softcopy_sha256"] is not None, "type": row["type"],
        "catalogue_number": row["catalogue_number"],
    }


def _filters(year, subject, type_, page, per_page) -> dict:
    errors: dict[str, str] = {}
    clean = {
        "year": _number(year, "year", 1900, 2200, errors),
        "page": _number(page, "page", 1, MAX_PAGE, errors) or 1,
        "per_page": _number(per_page, "per_page", 1, 100, errors) or PER_PAGE,
        "subject": (subject.strip()[:80] or None) if isinstance(subject, str) else None,
        "type": (type_.strip()[:60] or None) if isinstance(type_, str) else None,
    }
    if errors:
        raise CatalogueError(400, N_("Saringan pencarian tidak sah"), errors)
    return clean


def _number(value, name: str, low: int, high: int, errors: dict) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        errors[name] = N_("harus angka %(low)s–%(high)s") % {"low": low, "high": high}
        return None
    return int(text)
