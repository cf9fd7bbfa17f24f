"""The reading-room catalogue (step 5a of the standard): the printed publications this office holds and where each
one is, on the display shelf or in the storage room, searchable in full text from the reading-room tablet.

The catalogue belongs to the cloud: a librarian imports it from CSV until sync brings it down. What the reading
room adds is the appliance's own: shelf, copies, and the count of in-house uses.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from edge import outbox
from edge.i18n import N_
from edge.store import EdgeStore
from pst import catalogue_csv
from pst.catalogue_csv import SHELF, Problem
from pst.clock import Clock, SystemClock, iso
from pst.ids import new_id

# One row per edition: BPS gives every year of a series in an area the same catalogue number, so the number and
# the year together name a publication ("1102001.74" is Sulawesi Tenggara Dalam Angka, of whichever year).
# The tables are made by migration m005_reading_room (edge/migrations.py).

LOCATIONS = {"display": N_("Rak pajang"), "storage": N_("Ruang penyimpanan")}
LOCATION_WORDS = {
    "display": "display", "pajang": "display", "rak pajang": "display",
    "storage": "storage", "gudang": "storage", "penyimpanan": "storage", "ruang penyimpanan": "storage",
}
CLOUD_COLUMNS = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "abstract", "office", "file")
ROOM_COLUMNS = ("location", "shelf", "copies")  # the reading room's own; an empty cell keeps what is there
REQUIRED_COLUMNS = ("title", "year", "catalogue_number")
IGNORED_COLUMNS = ("abstract", "office", "file")  # the portal's business (softcopy, which office): not the room's
# Abbreviations readers type that are not prefixes of the words in titles ("kab" already finds "Kabupaten").
ABBREVIATIONS = {
    "pdrb": "produk domestik regional bruto", "ipm": "indeks pembangunan manusia", "sultra": "sulawesi tenggara",
    "kesra": "kesejahteraan rakyat", "podes": "potensi desa", "ihk": "harga konsumen",
}
MAX_TERMS = 12
PUBLIC_COLUMNS = (
    "id", "catalogue_number", "title", "year", "type", "subjects", "isbn", "location", "shelf", "copies", "in_house_uses",
)
CATALOGUE_NUMBER = re.compile(r"\d{4,10}(\.\d{1,10}){0,3}")
WORD = re.compile(r"[^\W_]+")  # what unicode61 keeps as token characters: letters and digits


class CatalogueError(ValueError):
    """Refused: `status` is the HTTP answer, `errors` names the fields."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


class ImportRefused(CatalogueError):
    """Bad rows in an import: each problem names its line and column; nothing was stored."""

    def __init__(self, problems: list[Problem], unit: str = "baris"):
        shown = catalogue_csv.refusal(problems, unit)
        super().__init__(400, f"Tidak ada yang diimpor — {shown}", {"file": shown})
        self.problems = problems


class _Bad(ValueError):
    pass


def match_expression(query: str) -> str:
    """User text as an FTS5 query that cannot fail: every word quoted (so AND, NEAR, `*`, `"` and brackets are just
    text), matched as a prefix, all words required. Punctuated words stay together ("1102001.74" is one phrase).
    """
    terms = []
    for chunk in unicodedata.normalize("NFKC", query).split()[:MAX_TERMS]:
        words = [w[:40] for w in WORD.findall(chunk)]
        if not words:
            continue
        term = '"' + " ".join(words) + '"*'
        expansion = ABBREVIATIONS.get(words[0].lower()) if len(words) == 1 else None
        terms.append(f'({term} OR "{expansion}")' if expansion else term)
    return " AND ".join(terms)


class CatalogueService:
    def __init__(self, store: EdgeStore, clock: Clock):
        self.store, self.clock = store, clock

    # --- reading ---------------------------------------------------------------------------------------------------
    def search(self, q: str = "", year: object = None, subject: object = None, location: object = None,
               page: object = 1, per_page: object = 20) -> dict:
        """`{"total", "items"}`: words as prefixes, all required, the exact catalogue number first, then relevance
        (title over catalogue number over subjects), then the newest edition."""
        filters = _filters(year, subject, location, page, per_page)
        query = (q or "")[:200] if isinstance(q, str) else ""
        match = match_expression(query)
        where, params = ["1"], []
        if match:
            where.append("publications_fts MATCH ?")
            params.append(match)
        for sql, value in (("p.year = ?", filters["year"]), ("p.location = ?", filters["location"]),
                           ("EXISTS (SELECT 1 FROM json_each(p.subjects) WHERE value = ? COLLATE NOCASE)", filters["subject"])):
            if value is not None:
                where.append(sql)
                params.append(value)
        source = "publications p" + (" JOIN publications_fts ON publications_fts.rowid = p.seq" if match else "")
        condition = " AND ".join(where)
        db = self.store.read
        total = db.execute(f"SELECT count(*) FROM {source} WHERE {condition}", params).fetchone()[0]
        exact = query.split()[:MAX_TERMS] or [""]
        order = "p.year DESC, p.title"
        if match:
            # the editions of the number typed come first, newest first; then relevance in steps of 0.1, so that
            # editions of one series (nearly the same text) stay newest first
            is_exact = f"p.catalogue_number IN ({', '.join('?' * len(exact))})"
            order = (f"{is_exact} DESC, CASE WHEN {is_exact} THEN 0"
                     " ELSE round(bm25(publications_fts, 10.0, 3.0, 6.0), 1) END, " + order)
        rows = db.execute(
            f"SELECT {', '.join('p.' + c for c in PUBLIC_COLUMNS)} FROM {source} WHERE {condition}"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            params + (exact * 2 if match else []) + [filters["per_page"], (filters["page"] - 1) * filters["per_page"]],
        ).fetchall()
        return {"total": total, "items": [_publication(row) for row in rows]}

    def get(self, publication_id: str, db: Database | None = None) -> dict | None:
        db = db or self.store.read
        row = db.execute(f"SELECT {', '.join(PUBLIC_COLUMNS)} FROM publications WHERE id = ?", [publication_id]).fetchone()
        return _publication(row) if row else None

    def years(self) -> list[int]:
        return [r[0] for r in self.store.read.execute("SELECT DISTINCT year FROM publications ORDER BY year DESC")]

    def subjects(self) -> list[str]:
        rows = self.store.read.execute(
            "SELECT DISTINCT j.value FROM publications p, json_each(p.subjects) j ORDER BY j.value COLLATE NOCASE"
        )
        return [r[0] for r in rows]

    def size(self) -> int:
        return self.store.read.execute("SELECT count(*) FROM publications").fetchone()[0]

    # --- in-house use ----------------------------------------------------------------------------------------------
    def count_use(self, publication_id: str, staff_id: str | None = None) -> dict:
        """One reading of a display-shelf item in the room (staff count what visitors leave on the tables).
        Items from storage are counted when they are handed over, never here, so nothing counts twice."""
        now = self.clock.now()
        with self.store.write() as db:
            publication = self.get(publication_id, db)
            if publication is None:
                raise CatalogueError(404, N_("Publikasi tidak ditemukan di katalog"))
            if publication["location"] != "display":
                raise CatalogueError(409, N_(
                    "Publikasi ini ada di ruang penyimpanan: penggunaannya dihitung saat diserahkan lewat permintaan"
                ))
            uses = record_use(db, publication_id, now, staff_id)
        return {"id": publication_id, "in_house_uses": uses}

    # --- import and sync -------------------------------------------------------------------------------------------
    def import_csv(self, path: str | Path) -> dict:
        """A UTF-8 CSV with a header row (the cloud's columns, and optionally location, shelf, copies). Updates by
        catalogue number and year. Every row is checked first: one bad cell and nothing is imported."""
        rows = read_csv(Path(path))
        clean = _validate(rows, self.clock.now().year + 1, "baris")
        return self._store(clean, "import")

    def upsert_from_cloud(self, items: Iterable[Mapping[str, Any]]) -> dict:
        """The catalogue as sync brings it down, checked like an import (problems name the item's position)."""
        return self.import_rows(items, source="cloud")

    def import_rows(self, items: Iterable[Mapping[str, Any]], source: str = "import") -> dict:
        """Rows given as mappings (CSV columns as keys; `subjects` a list or ";"-separated), checked as a whole."""
        rows = []
        for index, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                raise ImportRefused([Problem(index, "—", "bukan objek")], "butir")
            rows.append((index, dict(item)))
        return self._store(_validate(rows, self.clock.now().year + 1, "butir"), source)

    def _store(self, rows: list[dict], source: str) -> dict:
        # No outbox event: the catalogue belongs to the cloud (imported there from the same CSV, or sent down by
        # sync). Sending it back up would make the appliance a second writer of data it does not own; only what the
        # reading room adds (in-house uses, fetch requests) goes up.
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        now = iso(self.clock.now())
        with self.store.write() as db:
            for row in rows:
                counts[_upsert(db, row, source, now)] += 1
        return counts


def apply_cloud_rows(db: Database, items: list[Mapping[str, Any]], now: datetime) -> dict:
    """Publications as the sync brings them down, inside the caller's transaction (which also moves the downlink
    cursor). Checked like an import; location, shelf and copies come with them when the cloud has them for this
    office, else the room's own are kept."""
    keys = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "location", "shelf", "copies")
    rows = [(index, {k: str(item[k]) if k == "copies" else item[k] for k in keys if item.get(k) is not None})
            for index, item in enumerate(items, start=1)]
    clean = _validate(rows, now.year + 1, "butir")
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for row, item in zip(clean, items):
        counts[_upsert(db, row, "cloud", iso(now))] += 1
        db.execute("UPDATE publications SET cloud_id = NULL WHERE cloud_id = ?", [item["cloud_id"]])
        db.execute("UPDATE publications SET cloud_id = ? WHERE catalogue_number = ? AND year = ?",
                   [item["cloud_id"], row["catalogue_number"], row["year"]])
    return counts


def remove_cloud_row(db: Database, cloud_id: str) -> bool:
    """A publication the cloud removed leaves the reading room's catalogue, unless the room has used it (its
    in-house uses and fetch requests keep pointing at it); then it stays, unlinked from the cloud."""
    row = db.execute("SELECT id FROM publications WHERE cloud_id = ?", [cloud_id]).fetchone()
    if row is None:
        return False
    used = db.execute(
        "SELECT EXISTS (SELECT 1 FROM publication_uses WHERE publication_id = ?)"
        " OR EXISTS (SELECT 1 FROM fetch_requests WHERE publication_id = ?)", [row[0], row[0]],
    ).fetchone()[0]
    if used:
        db.execute("UPDATE publications SET cloud_id = NULL WHERE id = ?", [row[0]])
        return False
    db.execute("DELETE FROM publications WHERE id = ?", [row[0]])
    return True


def record_use(db: Database, publication_id: str, now: datetime, staff_id: str | None,
               fetch_request_id: str | None = None) -> int:
    """Count one in-house use inside the caller's transaction; the cloud sums them for the library's statistics."""
    db.execute("UPDATE publications SET in_house_uses = in_house_uses + 1 WHERE id = ?", [publication_id])
    uses, number, year = db.execute(
        "SELECT in_house_uses, catalogue_number, year FROM publications WHERE id = ?", [publication_id]
    ).fetchone()
    use = {"id": new_id(), "publication_id": publication_id, "at": iso(now), "staff_id": staff_id,
           "fetch_request_id": fetch_request_id}
    db["publication_uses"].insert(use)
    outbox.append(db, "publication_use", use["id"], "counted", use | {"catalogue_number": number, "year": year}, now)
    return uses


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) for every non-empty row; the header is checked first."""
    try:
        return catalogue_csv.read_csv(path, CLOUD_COLUMNS + ROOM_COLUMNS, REQUIRED_COLUMNS)
    except catalogue_csv.CsvRefused as refused:
        raise ImportRefused(refused.problems) from None


def _validate(rows: list[tuple[int, dict]], year_max: int, unit: str) -> list[dict]:
    clean, problems, seen = [], [], {}
    for line, raw in rows:
        row = {"line": line}
        for column in CLOUD_COLUMNS + ROOM_COLUMNS:
            if column in IGNORED_COLUMNS or column not in raw:
                continue
            try:
                row[column] = CHECKS[column](raw[column], year_max)
            except _Bad as bad:
                problems.append(Problem(line, column, str(bad)))
        for column in REQUIRED_COLUMNS:
            if column not in raw:
                problems.append(Problem(line, column, "wajib diisi"))
        key = (row.get("catalogue_number"), row.get("year"))
        if None not in key:
            if key in seen:
                problems.append(Problem(line, "catalogue_number",
                                        f"{key[0]} tahun {key[1]} sudah ada di {unit} {seen[key]}"))
            seen.setdefault(key, line)
        clean.append(row)
    if problems:
        raise ImportRefused(problems, unit)
    return clean


def _upsert(db: Database, row: dict, source: str, now: str) -> str:
    fields = {k: v for k, v in row.items() if k != "line" and (k not in ROOM_COLUMNS or v is not None)}
    if "subjects" in fields:
        fields["subjects"] = json.dumps(fields["subjects"], ensure_ascii=False)
    existing = db.execute(
        "SELECT id, title, type, subjects, isbn, location, shelf, copies FROM publications"
        " WHERE catalogue_number = ? AND year = ?", [row["catalogue_number"], row["year"]],
    ).fetchone()
    if existing is None:
        db["publications"].insert({"id": new_id(), "updated_at": now, "source": source} | fields)
        return "added"
    current = dict(zip(("id", "title", "type", "subjects", "isbn", "location", "shelf", "copies"), existing))
    changes = {k: v for k, v in fields.items() if k in current and current[k] != v}
    if not changes:
        return "unchanged"
    assignments = ", ".join(f"{k} = ?" for k in changes)
    db.execute(f"UPDATE publications SET {assignments}, updated_at = ?, source = ? WHERE id = ?",
               [*changes.values(), now, source, current["id"]])
    return "updated"


def _filters(year, subject, location, page, per_page) -> dict:
    errors = {}
    clean = {
        "year": _optional_int(year, "year", 1900, 2200, errors),
        "page": _optional_int(page, "page", 1, 10_000, errors) or 1,
        "per_page": _optional_int(per_page, "per_page", 1, 100, errors) or 20,
        "subject": (subject.strip()[:80] or None) if isinstance(subject, str) else None,
        "location": None,
    }
    if location not in (None, ""):
        if location not in LOCATIONS:
            errors["location"] = N_("pilih display atau storage")
        clean["location"] = location if location in LOCATIONS else None
    if errors:
        raise CatalogueError(400, N_("Saringan pencarian tidak sah"), errors)
    return clean


def _optional_int(value, name: str, low: int, high: int, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= high:
        errors[name] = N_("harus angka %(low)s–%(high)s") % {"low": low, "high": high}
        return None
    return int(text)


def _publication(row) -> dict:
    item = dict(zip(PUBLIC_COLUMNS, row))
    item["subjects"] = json.loads(item["subjects"])
    return item


# --- the check of each column: the cleaned value, or _Bad with the reason (messages are for the librarian) ---------
def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise _Bad("harus berupa teks")
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def _title(value, _year_max) -> str:
    text = _text(value)
    if not text:
        raise _Bad("wajib diisi")
    if len(text) > 300:
        raise _Bad("terlalu panjang (maks. 300 karakter)")
    return text


def _year(value, year_max) -> int:
    text = _text(value)
    if not text.isdigit() or not 1900 <= int(text) <= year_max:
        raise _Bad(f"tahun harus angka 1900–{year_max} (tertulis {text!r})")
    return int(text)


def _type(value, _year_max) -> str | None:
    text = _text(value)
    if len(text) > 60:
        raise _Bad("terlalu panjang (maks. 60 karakter)")
    return text or None


def _subjects(value, _year_max) -> list[str]:
    parts = value if isinstance(value, list) else _text(value).split(";")
    subjects: list[str] = []
    for part in parts:
        subject = _text(part)
        if len(subject) > 80:
            raise _Bad(f"subjek terlalu panjang (maks. 80 karakter): {subject[:20]}…")
        if subject and subject.casefold() not in (s.casefold() for s in subjects):
            subjects.append(subject)
    if len(subjects) > 20:
        raise _Bad("paling banyak 20 subjek")
    return subjects


def _catalogue_number(value, _year_max) -> str:
    text = _text(value)
    if not text:
        raise _Bad("wajib diisi")
    if not CATALOGUE_NUMBER.fullmatch(text):
        raise _Bad(f"nomor katalog berbentuk angka bertitik seperti 1102001.74 (tertulis {text!r})")
    return text


def _isbn(value, _year_max) -> str | None:
    text = _text(value)
    bare = re.sub(r"^(ISBN|ISSN)[:\s]*", "", text.upper()).replace("-", "").replace(" ", "")
    if text and not re.fullmatch(r"\d{7}[\dX]|\d{9}[\dX]|\d{13}", bare):
        raise _Bad(f"ISBN (10 atau 13 angka) atau ISSN (8 angka) tidak sah: {text!r}")
    return text or None


def _location(value, _year_max) -> str | None:
    text = _text(value).lower()
    if text and text not in LOCATION_WORDS:
        raise _Bad(f"isi display (rak pajang) atau storage (ruang penyimpanan), bukan {text!r}")
    return LOCATION_WORDS.get(text)


def _shelf(value, _year_max) -> str | None:
    text = _text(value).upper().replace(" ", "")
    if text and not SHELF.fullmatch(text):
        raise _Bad(f"kode rak seperti R-03 atau G-12-4 (tertulis {text!r})")
    return text or None


def _copies(value, _year_max) -> int | None:
    text = _text(value)
    if text and (not text.isdigit() or int(text) > 999):
        raise _Bad(f"jumlah eksemplar harus angka 0–999 (tertulis {text!r})")
    return int(text) if text else None


CHECKS = {
    "title": _title, "year": _year, "type": _type, "subjects": _subjects, "catalogue_number": _catalogue_number,
    "isbn": _isbn, "location": _location, "shelf": _shelf, "copies": _copies,
}


def import_command(settings, path: str | Path) -> str:
    """`pst edge catalogue import FILE.csv`: the counts as one line; ImportRefused (a CatalogueError) when refused."""
    from edge.migrations import migrate

    store = EdgeStore(settings.db_path)
    try:
        store.ensure_sound()
        migrate(store)
        counts = CatalogueService(store, SystemClock()).import_csv(path)
        total = store.read.execute("SELECT count(*) FROM publications").fetchone()[0]
    finally:
        store.close()
    return (f"{path}: {counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged;"
            f" {total} publications in the reading-room catalogue")
