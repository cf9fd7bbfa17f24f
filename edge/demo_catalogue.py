"""A demo reading-room catalogue for `pst up`: about 150 editions of the series a PST library in Southeast Sulawesi
holds, made from series × areas × years with a fixed seed, so every demo shows the same shelves.

Series codes follow the BPS pattern (seven digits, then the area code: "1102001.74", "1102001.7471") but are demo
values. The newest editions of the popular series stand on the display shelf; the rest are in the storage room.
"""

from __future__ import annotations

import random

from edge.catalogue import CatalogueService

SEED = 7400
YEARS = (2020, 2021, 2022, 2023, 2024)
PROVINCE = ("74", "Provinsi Sulawesi Tenggara")
REGENCIES = (
    ("7401", "Kabupaten Buton"), ("7402", "Kabupaten Muna"), ("7403", "Kabupaten Konawe"), ("7404", "Kabupaten Kolaka"),
    ("7405", "Kabupaten Konawe Selatan"), ("7406", "Kabupaten Bombana"), ("7407", "Kabupaten Wakatobi"),
    ("7408", "Kabupaten Kolaka Utara"), ("7409", "Kabupaten Buton Utara"), ("7410", "Kabupaten Konawe Utara"),
    ("7411", "Kabupaten Kolaka Timur"), ("7412", "Kabupaten Konawe Kepulauan"), ("7413", "Kabupaten Muna Barat"),
    ("7414", "Kabupaten Buton Tengah"), ("7415", "Kabupaten Buton Selatan"), ("7471", "Kota Kendari"),
    ("7472", "Kota Baubau"),
)
# (code, title with {area}, subjects, areas: "all" | "province" | "cities", display shelf, popular)
SERIES = (
    ("1102001", "{area} Dalam Angka", ("Kependudukan", "Pemerintahan"), "all", "R-01", True),
    ("1101002", "Statistik Daerah {area}", ("Pemerintahan", "Kependudukan"), "all", "R-02", True),
    ("4102004", "Indikator Kesejahteraan Rakyat {area}", ("Kemiskinan", "Kesehatan", "Pendidikan"), "all", "R-03", True),
    ("9302008", "Produk Domestik Regional Bruto {area} Menurut Lapangan Usaha", ("Neraca Regional",), "all", "R-04", True),
    ("9302009", "Produk Domestik Regional Bruto {area} Menurut Pengeluaran", ("Neraca Regional", "Keuangan"), "province",
     "R-04", False),
    ("4102002", "Indeks Pembangunan Manusia {area}", ("Pendidikan", "Kesehatan"), "all", "R-03", True),
    ("4101002", "Statistik Kesejahteraan Rakyat {area}", ("Kemiskinan", "Kesehatan"), "province", "R-03", False),
    ("2303003", "Keadaan Angkatan Kerja {area}", ("Ketenagakerjaan",), "province", "R-05", True),
    ("7102002", "Statistik Harga Konsumen {area}", ("Harga",), "cities", "R-05", False),
    ("4301008", "Statistik Pendidikan {area}", ("Pendidikan",), "province", "R-06", False),
    ("3205011", "Profil Kemiskinan {area}", ("Kemiskinan",), "all", "R-06", True),
    ("1206023", "Statistik Potensi Desa {area}", ("Pemerintahan", "Pertanian"), "province", "R-07", False),
    ("8401003", "Statistik Hotel dan Akomodasi {area}", ("Pariwisata",), "province", "R-07", False),
    ("8301003", "Statistik Transportasi {area}", ("Transportasi",), "province", "R-08", False),
)
CENSUSES = (  # one edition each
    ("2102030", "Hasil Sensus Penduduk 2020 {area}", ("Kependudukan",), 2021),
    ("5101030", "Hasil Sensus Pertanian 2023 {area}", ("Pertanian", "Perikanan"), 2024),
)
TARGET = 150


def _areas(kind: str) -> tuple[tuple[str, str], ...]:
    if kind == "province":
        return (PROVINCE,)
    if kind == "cities":
        return (PROVINCE, ("7471", "Kota Kendari"), ("7472", "Kota Baubau"))
    return (PROVINCE, *REGENCIES)


def demo_rows(seed: int = SEED, target: int = TARGET) -> list[dict]:
    """The rows, as an import would give them (subjects joined by ";"), newest first."""
    rng = random.Random(seed)
    must, rest = [], []
    for code, pattern, subjects, kind, shelf, popular in SERIES:
        for area_code, area in _areas(kind):
            for year in YEARS:
                row = _row(rng, code, area_code, pattern.format(area=area) + f" {year}", year, subjects)
                flagship = code == "1102001" and (area_code == "74" or year >= 2023)
                (must if flagship or (area_code == "74" and popular and year >= 2022) else rest).append((row, shelf, popular))
    for code, pattern, subjects, year in CENSUSES:
        for area_code, area in (PROVINCE, ("7471", "Kota Kendari")):
            must.append((_row(rng, code, area_code, pattern.format(area=area), year, subjects), "R-08", True))
    chosen = must + rng.sample(rest, max(0, target - len(must)))
    newest = {}
    for row, _, _ in chosen:
        key = row["catalogue_number"]
        newest[key] = max(newest.get(key, 0), int(row["year"]))
    rows = []
    for row, shelf, popular in chosen:
        newest_edition = int(row["year"]) == newest[row["catalogue_number"]]
        province = row["catalogue_number"].endswith(".74")
        on_display = popular and newest_edition and (province or rng.random() < 0.5)
        rows.append(row | _place(rng, on_display, shelf))
    return sorted(rows, key=lambda r: (-int(r["year"]), r["catalogue_number"]))


def _row(rng: random.Random, code: str, area_code: str, title: str, year: int, subjects: tuple[str, ...]) -> dict:
    return {
        "title": title, "year": str(year), "type": "Publikasi", "subjects": ";".join(subjects),
        "catalogue_number": f"{code}.{area_code}", "isbn": _isbn(rng) if rng.random() < 0.7 else "",
    }


def _place(rng: random.Random, on_display: bool, display_shelf: str) -> dict:
    if on_display:
        return {"location": "display", "shelf": display_shelf, "copies": str(rng.choice((1, 2, 2, 3)))}
    return {"location": "storage", "shelf": f"G-{rng.randint(1, 20):02d}-{rng.randint(1, 5)}",
            "copies": str(rng.choice((1, 1, 2, 2, 3)))}


def _isbn(rng: random.Random) -> str:
    """A well-formed ISBN-13 (check digit right) in the 978-623 group range; a demo number, not a real book."""
    body = "978623" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3:6]}-{body[6:9]}-{body[9:12]}-{check}"


def seed_demo_catalogue(catalogue: CatalogueService) -> dict | None:
    """Fill an empty catalogue with the demo (None when it already holds something: a real import is never touched)."""
    if catalogue.size():
        return None
    return catalogue.import_rows(demo_rows())


def ensure_demo_catalogue(settings) -> int:
    """For `pst up`: the demo catalogue in the appliance's database when it is empty; how many were added."""
    from edge.migrations import migrate
    from edge.store import EdgeStore
    from pst.clock import SystemClock

    store = EdgeStore(settings.db_path)
    try:
        store.ensure_sound()
        migrate(store)
        result = seed_demo_catalogue(CatalogueService(store, SystemClock()))
    finally:
        store.close()
    return result["added"] if result else 0
