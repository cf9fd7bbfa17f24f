"""A demo catalogue for `pst up` / `pst cloud serve --demo`: about 60 editions of the series a PST library in
Southeast Sulawesi holds, most with a small generated softcopy (a title page and a few pages of text and a table).
Everything comes from a fixed seed, so every demo shows the same catalogue and the same files (the same hashes).
It goes in through the ordinary CSV import. Catalogue numbers follow the BPS pattern but are demo values.
"""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from cloud.catalogue import Catalogue
from cloud.catalogue_import import import_csv
from cloud.db import Database
from pst.clock import Clock

SEED = 7400
AREAS = (("74", "7400", "Provinsi Sulawesi Tenggara"), ("7471", "7471", "Kota Kendari"),
         ("7403", "7403", "Kabupaten Konawe"), ("7472", "7472", "Kota Baubau"), ("7407", "7407", "Kabupaten Wakatobi"))
# (series code, title with {area}, type, subjects, how many areas, years)
SERIES = (
    ("1102001", "{area} Dalam Angka", "Dalam Angka", ("Kependudukan", "Pemerintahan"), 5, (2021, 2022, 2023, 2024)),
    ("1101002", "Statistik Daerah {area}", "Statistik Daerah", ("Pemerintahan", "Kependudukan"), 4, (2023, 2024)),
    ("4102004", "Indikator Kesejahteraan Rakyat {area}", "Publikasi Tematik", ("Kemiskinan", "Kesehatan", "Pendidikan"),
     2, (2023, 2024)),
    ("9302008", "Produk Domestik Regional Bruto {area} Menurut Lapangan Usaha", "Publikasi Tematik",
     ("Neraca Regional",), 2, (2022, 2023, 2024)),
    ("4102002", "Indeks Pembangunan Manusia {area}", "Publikasi Tematik", ("Pendidikan", "Kesehatan"), 2, (2023, 2024)),
    ("2303003", "Keadaan Angkatan Kerja {area}", "Publikasi Tematik", ("Ketenagakerjaan",), 1, (2022, 2023, 2024)),
    ("7102002", "Statistik Harga Konsumen {area}", "Publikasi Tematik", ("Harga",), 2, (2023, 2024)),
    ("3205011", "Profil Kemiskinan {area}", "Berita Resmi Statistik", ("Kemiskinan",), 2, (2023, 2024)),
    ("8401003", "Statistik Hotel dan Akomodasi {area}", "Publikasi Tematik", ("Pariwisata",), 1, (2023, 2024)),
    ("8301003", "Statistik Transportasi {area}", "Publikasi Tematik", ("Transportasi",), 1, (2024,)),
    ("2102030", "Hasil Sensus Penduduk 2020 {area}", "Hasil Sensus", ("Kependudukan",), 2, (2021,)),
    ("5101030", "Hasil Sensus Pertanian 2023 Tahap I {area}", "Hasil Sensus", ("Pertanian", "Perikanan"), 2, (2024,)),
)
ABSTRACTS = {
    "Kependudukan": "jumlah, persebaran, dan pertumbuhan penduduk",
    "Pemerintahan": "wilayah administrasi, desa/kelurahan, dan aparatur pemerintahan",
    "Kemiskinan": "garis kemiskinan, jumlah dan persentase penduduk miskin",
    "Kesehatan": "fasilitas dan tenaga kesehatan, serta keluhan kesehatan penduduk",
    "Pendidikan": "angka partisipasi sekolah dan rata-rata lama sekolah",
    "Neraca Regional": "nilai tambah bruto menurut lapangan usaha dan laju pertumbuhan ekonomi",
    "Ketenagakerjaan": "angkatan kerja, tingkat pengangguran terbuka, dan lapangan pekerjaan utama",
    "Harga": "indeks harga konsumen dan inflasi bulanan",
    "Pariwisata": "tingkat penghunian kamar hotel dan lama menginap tamu",
    "Transportasi": "arus penumpang dan barang di pelabuhan dan bandar udara",
    "Pertanian": "rumah tangga usaha pertanian dan luas lahan",
    "Perikanan": "produksi perikanan tangkap dan budidaya",
}


def demo_rows(seed: int = SEED) -> list[dict]:
    """The CSV rows (file names relative to the folder the PDFs go in), newest first; about 60."""
    rng = random.Random(seed)
    rows = []
    for code, pattern, kind, subjects, areas, years in SERIES:
        for area_code, office, area in AREAS[:areas]:
            for year in years:
                number = f"{code}.{area_code}"
                about = ", ".join(ABSTRACTS[s] for s in subjects)
                rows.append({
                    "title": f"{pattern.format(area=area)} {year}", "year": str(year), "type": kind,
                    "subjects": ";".join(subjects), "catalogue_number": number,
                    "isbn": _isbn(rng) if rng.random() < 0.7 else "",
                    "abstract": f"Publikasi ini menyajikan data {about} di {area} tahun {year - 1}.",
                    "office": office, "file": f"{number}-{year}.pdf" if rng.random() < 0.85 else "",
                })
    return sorted(rows, key=lambda r: (-int(r["year"]), r["catalogue_number"]))


def write_demo_pdf(path: Path, row: dict, seed: int = SEED) -> None:
    """A title page, then three pages of text and a table; fixed metadata and no random file id."""
    import pymupdf

    rng = random.Random(f"{seed}-{row['catalogue_number']}-{row['year']}")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(0, 0, 595, 180), color=None, fill=(0.04, 0.33, 0.58))
    page.insert_text((50, 110), "BADAN PUSAT STATISTIK", fontsize=22, color=(1, 1, 1))
    page.insert_textbox(pymupdf.Rect(50, 260, 545, 460), row["title"], fontsize=26, fontname="helv")
    page.insert_text((50, 520), f"Nomor katalog: {row['catalogue_number']}", fontsize=12)
    if row["isbn"]:
        page.insert_text((50, 540), f"ISBN: {row['isbn']}", fontsize=12)
    for number in range(1, 4):
        page = doc.new_page(width=595, height=842)
        page.insert_text((50, 70), f"Bab {number}", fontsize=16)
        page.insert_textbox(pymupdf.Rect(50, 90, 545, 300), (row["abstract"] + " ") * 3, fontsize=11)
        page.insert_text((50, 330), f"Tabel {number}.1  Ringkasan menurut kecamatan", fontsize=11)
        for line, district in enumerate(("Kecamatan A", "Kecamatan B", "Kecamatan C", "Kecamatan D", "Jumlah")):
            y = 360 + line * 22
            page.draw_line((50, y + 6), (545, y + 6), color=(0.7, 0.7, 0.7))
            page.insert_text((55, y), district, fontsize=10)
            for column in range(3):
                page.insert_text((260 + column * 95, y), f"{rng.randint(1000, 99999):,}".replace(",", "."), fontsize=10)
    doc.set_metadata({"title": row["title"], "author": "Badan Pusat Statistik", "creator": "PST Pustaka demo",
                      "producer": "PST Pustaka demo", "creationDate": "D:20260101000000+08'00'",
                      "modDate": "D:20260101000000+08'00'"})
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()


async def seed_demo_catalogue(db: Database, clock: Clock, data_dir: Path) -> dict | None:
    """Fill an empty catalogue with the demo; None when it already holds something (a real import is never touched).
    Call it after `migrate(db)`, e.g. from `pst up` / `pst cloud serve --demo`."""
    if await Catalogue(db).size():
        return None
    rows = demo_rows()
    with tempfile.TemporaryDirectory(prefix="pst-demo-catalogue-") as folder:
        for row in rows:
            if row["file"]:
                write_demo_pdf(Path(folder) / row["file"], row)
        with (Path(folder) / "katalog.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return await import_csv(db, clock, data_dir, Path(folder) / "katalog.csv")


def _isbn(rng: random.Random) -> str:
    """A well-formed ISBN-13 (check digit right) in the 978-623 range; a demo number, not a real book."""
    body = "978623" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return f"{body[:3]}-{body[3:6]}-{body[6:9]}-{body[9:12]}-{check}"
