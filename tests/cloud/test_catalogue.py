"""The catalogue on both databases: import from CSV + PDFs (keyed on catalogue number AND year), full-text search
with prefixes, accents, facets and stable pages, hostile input, and the pages readers use without JavaScript."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest
from click.testing import CliRunner

from cloud.db import Database
from pst.cli import main
from tests.cloud.conftest import (
    SMALL_CATALOGUE,
    add_reader,
    edition,
    run_db,
    write_csv,
    write_pdf,
)


def cli_import(env, path):
    return CliRunner().invoke(main, ["cloud", "catalogue", "import", str(path)], env=env, catch_exceptions=False)


def query(url: str, sql: str) -> list[dict]:
    async def run():
        return await Database(url).execute(sql)

    return asyncio.run(run())


# --- import ----------------------------------------------------------------------------------------------------------
def test_import_adds_then_updates_by_catalogue_number_and_year(cloud_env, catalogue_csv, tmp_path):
    first = cli_import(cloud_env, catalogue_csv)
    assert first.exit_code == 0, first.output
    assert f"{len(SMALL_CATALOGUE)} added, 0 updated, 0 unchanged" in first.output
    editions = query(cloud_env["PST_CLOUD_DATABASE_URL"],
                     "SELECT title FROM publications WHERE catalogue_number = '1102001.74' ORDER BY year")
    assert [r["title"] for r in editions] == ["Provinsi Sulawesi Tenggara Dalam Angka 2023",
                                              "Provinsi Sulawesi Tenggara Dalam Angka 2024"]  # one number, two years

    rows = [dict(row) for row in SMALL_CATALOGUE]
    rows[1]["title"] = "Provinsi Sulawesi Tenggara Dalam Angka 2024 (Edisi Revisi)"
    rows[3]["file"] = ""  # an empty file cell keeps what is there
    again = cli_import(cloud_env, write_csv(catalogue_csv, rows))
    assert again.exit_code == 0, again.output
    assert f"0 added, 1 updated, {len(rows) - 1} unchanged; {len(rows)} publications" in again.output


def test_softcopies_are_stored_by_content_hash_under_the_data_dir(cloud_env, catalogue_csv, tmp_path):
    assert cli_import(cloud_env, catalogue_csv).exit_code == 0
    stored = query(cloud_env["PST_CLOUD_DATABASE_URL"], "SELECT sha256, size, pages, storage_path FROM softcopy_files")
    assert len(stored) == 4
    for row in stored:
        path = tmp_path / "var" / row["storage_path"]
        assert row["storage_path"] == f"softcopy/{row['sha256'][:2]}/{row['sha256']}.pdf"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"] and path.stat().st_size == row["size"]
        assert row["pages"] in (4, 5)


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "katalog"
    write_pdf(folder / "ok.pdf")
    (folder / "notes.pdf").write_text("Catatan rapat, bukan PDF\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    write_pdf(tmp_path / "secret.pdf")
    (folder / "link.pdf").symlink_to(tmp_path / "secret.pdf")
    return folder


@pytest.mark.parametrize(("cell", "value", "column", "words"), [
    ("year", "20x4", "year", "tahun harus angka"),
    ("catalogue_number", "", "catalogue_number", "wajib diisi"),
    ("catalogue_number", "SULTRA-1", "catalogue_number", "angka bertitik"),
    ("isbn", "978-12", "isbn", "tidak sah"),
    ("office", "9999", "office", "kode kantor"),
    ("file", "../secret.pdf", "file", "di dalam folder CSV"),
    ("file", "/etc/passwd", "file", "di dalam folder CSV"),
    ("file", "pdf/../../secret.pdf", "file", "di dalam folder CSV"),
    ("file", "link.pdf", "file", "di luar folder CSV"),
    ("file", "notes.pdf", "file", "bukan berkas PDF"),
    ("file", "broken.pdf", "file", "PDF rusak"),
    ("file", "hilang.pdf", "file", "tidak ditemukan"),
])
def test_one_bad_row_and_nothing_is_imported(cloud_env, folder, tmp_path, cell, value, column, words):
    good = edition("Kota Kendari Dalam Angka", 2024, "1102001.7471", file="ok.pdf")
    bad = edition("Statistik Daerah Kota Kendari", 2024, "1101002.7471", file="ok.pdf") | {cell: value}
    result = cli_import(cloud_env, write_csv(folder / "katalog.csv", [good, bad]))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"baris 3, kolom {column}" in result.output and words in result.output, result.output
    url = cloud_env["PST_CLOUD_DATABASE_URL"]
    assert query(url, "SELECT count(*) AS n FROM publications")[0]["n"] == 0
    assert not (tmp_path / "var" / "softcopy").exists()


def test_the_same_edition_twice_in_one_file_is_refused(cloud_env, tmp_path):
    rows = [edition("Kota Kendari Dalam Angka", 2024, "1102001.7471")] * 2
    result = cli_import(cloud_env, write_csv(tmp_path / "k.csv", rows))
    assert result.exit_code == 1 and "baris 3, kolom catalogue_number: 1102001.7471 tahun 2024 sudah ada di baris 2" in result.output


def test_an_unknown_column_is_named(cloud_env, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("judul,year,catalogue_number\nA,2024,1102001.74\n", encoding="utf-8")
    result = cli_import(cloud_env, path)
    assert result.exit_code == 1 and "baris 1, kolom judul: kolom tidak dikenal" in result.output


def test_import_has_help():
    result = CliRunner().invoke(main, ["cloud", "catalogue", "import", "--help"])
    assert result.exit_code == 0 and "catalogue number AND year" in result.output


# --- search ----------------------------------------------------------------------------------------------------------
def titles(answer) -> list[str]:
    return [item["title"] for item in answer.json()["items"]]


def test_words_are_prefixes_and_all_are_required(client, catalogue):
    assert titles(client.get("/api/publications", params={"q": "kend"})) == [
        "Kota Kendari Dalam Angka 2024", "Statistik Daerah Kota Kendari 2024"]
    assert titles(client.get("/api/publications", params={"q": "kendari angk"})) == ["Kota Kendari Dalam Angka 2024"]
    both = client.get("/api/publications", params={"q": "sulawesi tenggara dalam angka"}).json()
    assert [i["year"] for i in both["items"]] == [2024, 2023]  # editions of one series: newest first
    assert titles(client.get("/api/publications", params={"q": "1102001.74"})) == [
        "Provinsi Sulawesi Tenggara Dalam Angka 2024", "Provinsi Sulawesi Tenggara Dalam Angka 2023"]
    assert "Profil Kemiskinan Provinsi Sulawesi Tenggara 2023" in titles(client.get("/api/publications", params={"q": "persentase miskin"}))
    assert titles(client.get("/api/publications", params={"q": "pdrb"}))[0].startswith("Produk Domestik Regional Bruto")


def test_contract_shape(client, catalogue):
    answer = client.get("/api/publications", params={"q": "kendari dalam angka"}).json()
    assert answer["total"] == 1
    item = answer["items"][0]
    assert {"id", "title", "year", "subjects", "has_softcopy"} <= set(item)
    assert item["subjects"] == ["Kependudukan"] and item["has_softcopy"] is True
    assert set(answer["facets"]) == {"year", "subject", "type"}


@pytest.mark.parametrize("typed", ["ekonomi", "Ékonomi", "EKONOMÍ", "ekon"])
def test_accents_do_not_matter(client, catalogue, typed):
    assert titles(client.get("/api/publications", params={"q": typed})) == ["Kajian Sosial Ékonomi Pesisir Kabupaten Wakatobi 2022"]


def test_facets_count_the_whole_result_and_filters_narrow_it(client, catalogue):
    answer = client.get("/api/publications", params={"q": "sulawesi"}).json()
    assert answer["total"] == 5
    assert answer["facets"]["year"] == [{"value": 2024, "count": 2}, {"value": 2023, "count": 2}, {"value": 2022, "count": 1}]
    assert {"value": "Dalam Angka", "count": 2} in answer["facets"]["type"]
    assert {"value": "Kependudukan", "count": 2} in answer["facets"]["subject"]
    narrowed = client.get("/api/publications", params={"q": "sulawesi", "year": 2024, "subject": "kependudukan"}).json()
    assert titles_of(narrowed) == ["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    typed = client.get("/api/publications", params={"type": "Statistik Daerah"}).json()
    assert titles_of(typed) == ["Statistik Daerah Kota Kendari 2024"]


def titles_of(answer: dict) -> list[str]:
    return [item["title"] for item in answer["items"]]


def test_pages_are_stable_and_cover_everything_once(client, catalogue):
    seen = []
    for page in (1, 2, 3):
        answer = client.get("/api/publications", params={"per_page": 3, "page": page}).json()
        assert answer["total"] == len(SMALL_CATALOGUE) and answer["page"] == page
        seen += [item["id"] for item in answer["items"]]
    assert sorted(seen) == sorted(catalogue.values())
    years = [item["year"] for item in client.get("/api/publications", params={"per_page": 100}).json()["items"]]
    assert years == sorted(years, reverse=True)
    assert client.get("/api/publications", params={"page": 99}).json()["items"] == []


@pytest.mark.parametrize("hostile", [
    "' OR 1=1 --", '"', '""', "*", "kendari*", "<script>alert(1)</script>", "NEAR(kota kendari)", "kota AND OR NOT",
    "a:* & b | !c", "\\", "%", "_", "1102001.74'; DROP TABLE publications; --", "½ ÿ ß ﬁ", "\x00kendari", "x" * 2000,
    "(((", "kendari)", "^kota", "{}", "$1",
])
def test_hostile_input_never_fails_and_finds_nothing_strange(client, catalogue, hostile):
    answer = client.get("/api/publications", params={"q": hostile})
    assert answer.status_code == 200, answer.text
    assert 0 <= answer.json()["total"] <= len(SMALL_CATALOGUE)
    assert client.get("/katalog", params={"q": hostile}).status_code == 200
    assert run_db(client, "SELECT count(*) AS n FROM publications")[0]["n"] == len(SMALL_CATALOGUE)


def test_quotes_and_stars_alone_mean_no_words(client, catalogue):
    assert client.get("/api/publications", params={"q": '" * "'}).json()["total"] == len(SMALL_CATALOGUE)
    assert client.get("/api/publications", params={"q": "' OR 1=1 --"}).json()["total"] == 0


@pytest.mark.parametrize(("params", "field"), [({"year": "dua ribu"}, "year"), ({"page": "0"}, "page"),
                                               ({"per_page": "1000"}, "per_page"), ({"year": "²⁰²⁴"}, "year")])
def test_bad_filters_are_400_naming_the_field(client, catalogue, params, field):
    answer = client.get("/api/publications", params=params)
    assert answer.status_code == 400 and field in answer.json()["errors"]


# --- metadata and pages ------------------------------------------------------------------------------------------
def test_publication_metadata(client, catalogue):
    pid = catalogue["Provinsi Sulawesi Tenggara Dalam Angka 2024"]
    found = client.get(f"/api/publications/{pid}").json()
    assert found["catalogue_number"] == "1102001.74" and found["isbn"] == "978-623-00-1234-5"
    assert found["office"] == {"code": "7400", "name": "BPS Provinsi Sulawesi Tenggara"}
    assert found["softcopy"]["pages"] == 5 and found["has_softcopy"] is True
    assert client.get("/api/publications/tidak-ada").status_code == 404


def test_the_catalogue_page_searches_filters_and_pages_without_javascript(client, catalogue):
    page = client.get("/katalog", params={"q": "sulawesi"})
    assert page.status_code == 200 and "<script" not in page.text
    assert "5 publikasi" in page.text and "Provinsi Sulawesi Tenggara Dalam Angka 2024" in page.text
    assert 'href="/katalog?q=sulawesi&amp;year=2024"' in page.text  # a facet is a plain link
    filtered = client.get("/katalog", params={"q": "sulawesi", "year": "2024"})
    assert "2 publikasi" in filtered.text and "Hapus semua saringan" in filtered.text
    escaped = client.get("/katalog", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert" not in escaped.text and "&lt;script&gt;" in escaped.text


def test_the_catalogue_page_offers_next_and_previous(client, catalogue, monkeypatch):
    monkeypatch.setattr("cloud.catalogue.PER_PAGE", 3)
    first = client.get("/katalog")
    assert "Halaman 1 / 3" in first.text and 'href="/katalog?page=2"' in first.text
    second = client.get("/katalog", params={"page": 2})
    assert 'href="/katalog?page=1"' in second.text and 'href="/katalog?page=3"' in second.text


def test_the_publication_page_offers_reading_only_to_a_signed_in_reader(client, catalogue):
    pid = catalogue["Kota Kendari Dalam Angka 2024"]
    anonymous = client.get(f"/publikasi/{pid}")
    assert anonymous.status_code == 200 and "Kota Kendari Dalam Angka 2024" in anonymous.text
    assert "1102001.7471" in anonymous.text and "Masuk untuk membaca" in anonymous.text
    assert f"/publikasi/{pid}/baca" not in anonymous.text
    add_reader(client, "wa.ode@example.id", "Wa Ode Nurhaliza")
    signed_in = client.get(f"/publikasi/{pid}")
    assert f'href="/publikasi/{pid}/baca"' in signed_in.text and f'href="/publikasi/{pid}/unduh"' in signed_in.text
    assert ">Baca<" in signed_in.text and ">Unduh<" in signed_in.text
    assert client.get("/publikasi/tidak-ada").status_code == 404


def test_an_updated_edition_is_found_by_its_new_words_only(client, catalogue, catalogue_csv, clock):
    from cloud.catalogue_import import import_csv

    rows = [dict(row) for row in SMALL_CATALOGUE]
    rows[7]["title"] = "Statistik Penginapan Provinsi Sulawesi Tenggara 2022"
    state = client.app.state
    counts = client.blocking_portal.call(import_csv, state.db, clock, state.settings.data_dir, write_csv(catalogue_csv, rows))
    assert counts == {"added": 0, "updated": 1, "unchanged": len(rows) - 1}
    assert titles(client.get("/api/publications", params={"q": "penginapan"})) == [rows[7]["title"]]
    assert client.get("/api/publications", params={"q": "akomodasi"}).json()["total"] == 0
    assert run_db(client, "SELECT count(*) AS n FROM publications")[0]["n"] == len(rows)
