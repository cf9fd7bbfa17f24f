"""The reading-room catalogue on a real SQLite file: FTS5 search, CSV import, the demo catalogue, and its HTTP side."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from edge import outbox
from edge.catalogue import CatalogueError, CatalogueService, ImportRefused, import_command, match_expression
from edge.demo_catalogue import demo_rows, seed_demo_catalogue
from edge.migrations import migrate
from edge.store import EdgeStore

HEADER = "title,year,type,subjects,catalogue_number,isbn,abstract,office,file,location,shelf,copies\n"
SHELVES = [
    {"title": "Provinsi Sulawesi Tenggara Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.74", "location": "display", "shelf": "R-01", "copies": 2},
    {"title": "Provinsi Sulawesi Tenggara Dalam Angka 2023", "year": 2023, "subjects": ["Kependudukan"],
     "catalogue_number": "1102001.74", "location": "storage", "shelf": "G-12-4"},
    {"title": "Kabupaten Kolaka Timur Dalam Angka 2024", "year": 2024, "subjects": ["Kependudukan", "Pemerintahan"],
     "catalogue_number": "1102001.7411", "location": "storage", "shelf": "G-03-1"},
    {"title": "Statistik Daerah Kota Kendari 2023", "year": 2023, "subjects": ["Pemerintahan"],
     "catalogue_number": "1101002.7471", "location": "display", "shelf": "R-02"},
    {"title": "Produk Domestik Regional Bruto Kota Kendari Menurut Lapangan Usaha 2024", "year": 2024,
     "subjects": ["Neraca Regional"], "catalogue_number": "9302008.7471", "location": "storage", "shelf": "G-07-2"},
    {"title": "Profil Kemiskinan Provinsi Sulawesi Tenggara 2022", "year": 2022, "subjects": ["Kemiskinan"],
     "catalogue_number": "3205011.74", "location": "storage", "shelf": "G-09-3", "isbn": "978-623-123-456-7"},
]


@pytest.fixture
def catalogue(store, clock):
    return CatalogueService(store, clock)


@pytest.fixture
def shelves(catalogue):
    catalogue.import_rows(SHELVES)
    return catalogue


@pytest.fixture
def room(client, app):
    """The HTTP client with the demo catalogue on the shelves."""
    seed_demo_catalogue(app.state.appliance.catalogue)
    return client


def titles(result):
    return [item["title"] for item in result["items"]]


def write_csv(tmp_path, body: str, name="katalog.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


# --- search ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query, expected",
    [
        ("kendar", {"Statistik Daerah Kota Kendari 2023",
                    "Produk Domestik Regional Bruto Kota Kendari Menurut Lapangan Usaha 2024"}),
        ("angka kolaka", {"Kabupaten Kolaka Timur Dalam Angka 2024"}),
        ("dalam ang sulaw", {"Provinsi Sulawesi Tenggara Dalam Angka 2024", "Provinsi Sulawesi Tenggara Dalam Angka 2023"}),
        ("kemiskinan", {"Profil Kemiskinan Provinsi Sulawesi Tenggara 2022"}),
        ("neraca", {"Produk Domestik Regional Bruto Kota Kendari Menurut Lapangan Usaha 2024"}),  # a subject
        ("pdrb kendari", {"Produk Domestik Regional Bruto Kota Kendari Menurut Lapangan Usaha 2024"}),
        ("kendari kolaka", set()),  # every word must match
    ],
)
def test_words_match_as_prefixes_and_all_are_required(shelves, query, expected):
    assert set(titles(shelves.search(query))) == expected


@pytest.mark.parametrize(
    "query", ["kOLÁKA tîmur", "KOLAKA TIMUR", "Kólaka  Tímúr  dalam", "kolakā", "Kolaka Ti\u0301mur", "ＫＯＬＡＫＡ"],
)
def test_search_ignores_case_and_diacritics(shelves, query):
    assert titles(shelves.search(query)) == ["Kabupaten Kolaka Timur Dalam Angka 2024"]


def test_a_catalogue_number_typed_as_is_finds_its_editions_first_newest_first(shelves):
    result = shelves.search("1102001.74")
    assert [(i["catalogue_number"], i["year"]) for i in result["items"]] == [
        ("1102001.74", 2024), ("1102001.74", 2023), ("1102001.7411", 2024),
    ]
    assert [i["catalogue_number"] for i in shelves.search(" 9302008.7471 ")["items"]] == ["9302008.7471"]


def test_results_are_ordered_by_relevance_then_newest(shelves):
    shelves.import_rows([{"title": "Statistik Transportasi Provinsi Sulawesi Tenggara 2024", "year": 2024,
                          "catalogue_number": "8301003.74", "subjects": "Transportasi; Kendari"}])
    assert titles(shelves.search("kendari"))[-1] == "Statistik Transportasi Provinsi Sulawesi Tenggara 2024"  # subject only
    assert titles(shelves.search("sulawesi dalam angka")) == [
        "Provinsi Sulawesi Tenggara Dalam Angka 2024", "Provinsi Sulawesi Tenggara Dalam Angka 2023",
    ]


@pytest.mark.parametrize(
    "query",
    ['"AND OR * (', "NEAR(a b)", '"', "'; DROP TABLE publications; --", "title:kendari", "^kendari", "-kendari",
     "*", "()", "a AND", "OR", "\x00", "😀 ʼ ­", "k" * 5000, "kendari " * 100, "_", "1102001..74", '"kendari"*'],
)
def test_hostile_input_never_raises(shelves, query):
    result = shelves.search(query)
    assert set(result) == {"total", "items"} and result["total"] >= len(result["items"])


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=80))
def test_any_text_is_a_valid_query(shelves, query):
    shelves.search(query)


def test_match_expression_quotes_every_word():
    assert match_expression('kendari "AND" (1102001.74') == '"kendari"* AND "AND"* AND "1102001 74"*'
    assert match_expression("*** ()") == ""


def test_filters_narrow_the_results(shelves):
    assert shelves.search(year=2023)["total"] == 2
    assert shelves.search(subject="pemerintahan")["total"] == 2  # either case
    assert set(titles(shelves.search("dalam", location="display"))) == {"Provinsi Sulawesi Tenggara Dalam Angka 2024"}
    assert shelves.search("kendari", year="2024", location="storage")["total"] == 1
    assert shelves.search()["total"] == len(SHELVES)
    assert titles(shelves.search())[0].endswith("2024")  # without words: newest first
    assert shelves.years() == [2024, 2023, 2022]
    assert shelves.subjects() == ["Kemiskinan", "Kependudukan", "Neraca Regional", "Pemerintahan"]


@pytest.mark.parametrize(
    "filters, field",
    [({"year": "dua ribu"}, "year"), ({"year": "1800"}, "year"), ({"location": "gudang"}, "location"),
     ({"page": "0"}, "page"), ({"per_page": "1000"}, "per_page")],
)
def test_bad_filters_are_refused_with_the_field(shelves, filters, field):
    with pytest.raises(CatalogueError) as refused:
        shelves.search("kendari", **filters)
    assert refused.value.status == 400 and field in refused.value.errors


def test_paging_walks_every_result_once(catalogue):
    catalogue.import_rows([{"title": f"Statistik Daerah Kota Kendari {2000 + n}", "year": 2000 + n,
                            "catalogue_number": "1101002.7471"} for n in range(25)])
    pages = [catalogue.search("statistik", page=p, per_page=10) for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [10, 10, 5, 0] and {p["total"] for p in pages} == {25}
    years = [i["year"] for p in pages for i in p["items"]]
    assert years == sorted(range(2000, 2025), reverse=True)


# --- import --------------------------------------------------------------------------------------------------------------
def test_import_adds_then_updates_by_catalogue_number_and_year(catalogue, tmp_path):
    first = write_csv(tmp_path, (
        "Kota Kendari Dalam Angka 2024,2024,Publikasi,Kependudukan; Pemerintahan,1102001.7471,978-623-000-001-1,,7471,,display,r-01,2\n"
        "Kota Kendari Dalam Angka 2023,2023,Publikasi,Kependudukan,1102001.7471,,,7471,,,,\n"
        "Kota Baubau Dalam Angka 2024,2024,Publikasi,Kependudukan,1102001.7472,,,7472,,gudang,G-01-2,1\n"
    ))
    assert catalogue.import_csv(first) == {"added": 3, "updated": 0, "unchanged": 0}
    kendari = catalogue.search("1102001.7471")["items"][0]
    assert (kendari["location"], kendari["shelf"], kendari["copies"], kendari["subjects"]) == (
        "display", "R-01", 2, ["Kependudukan", "Pemerintahan"])
    assert catalogue.search("1102001.7471")["items"][1]["location"] == "storage"  # the default for a new row
    again = write_csv(tmp_path, (  # the cloud's columns only: the reading room's shelf and copies stay
        "Kota Kendari Dalam Angka 2024 (Edisi Revisi),2024,Publikasi,Kependudukan,1102001.7471,,,,\n"
        "Kota Kendari Dalam Angka 2023,2023,Publikasi,Kependudukan,1102001.7471,,,7471,\n"
        "Kota Kendari Dalam Angka 2022,2022,Publikasi,Kependudukan,1102001.7471,,,7471,\n"
    ), name="lagi.csv", header=",".join(HEADER.split(",")[:9]) + "\n")
    assert catalogue.import_csv(again) == {"added": 1, "updated": 1, "unchanged": 1}
    kendari = catalogue.search("1102001.7471")["items"][0]
    assert kendari["title"].endswith("(Edisi Revisi)") and kendari["isbn"] is None
    assert (kendari["location"], kendari["shelf"], kendari["copies"]) == ("display", "R-01", 2)
    assert catalogue.search("revisi")["total"] == 1 and catalogue.size() == 4  # the index follows the update


def test_catalogue_writes_send_nothing_up(catalogue, store, tmp_path):
    catalogue.import_rows(SHELVES)
    catalogue.upsert_from_cloud([SHELVES[0] | {"title": "Sulawesi Tenggara Dalam Angka 2024"}])
    assert outbox.backlog(store.read) == 0


def test_a_bad_row_names_its_line_and_column_and_nothing_is_imported(catalogue, tmp_path):
    catalogue.import_rows(SHELVES[:1])
    path = write_csv(tmp_path, (
        "Kota Kendari Dalam Angka 2024,2024,Publikasi,Kependudukan,1102001.7471,,,,,,,\n"
        '"Statistik Daerah\nKota Kendari 2024",2024,Publikasi,,1101002.7471,,,,,,,\n'  # a quoted line break
        "Kota Baubau Dalam Angka 2024,dua ribu,Publikasi,,1102001.7472,,,,,,,\n"
        "\n"
        "Provinsi Sulawesi Tenggara Dalam Angka 2024 (baru),2024,,,1102001.74,,,,,lemari,,\n"
        "Kolaka Dalam Angka,2024,,,,978-0,,,,,R 01,banyak\n"
    ))
    with pytest.raises(ImportRefused) as refused:
        catalogue.import_csv(path)
    problems = [(p.line, p.column) for p in refused.value.problems]
    assert problems == [(5, "year"), (7, "location"), (8, "catalogue_number"), (8, "isbn"), (8, "copies")]
    assert "baris 5, kolom year: tahun harus angka 1900–2027 (tertulis 'dua ribu')" in str(refused.value)
    assert catalogue.size() == 1 and catalogue.search()["items"][0]["title"] == SHELVES[0]["title"]


@pytest.mark.parametrize(
    "content, line, column",
    [
        ("title;year;catalogue_number\nA;2024;1102001.74\n", 1, "—"),
        ("title,year,catalogue_number,lokasi\n", 1, "lokasi"),
        ("title,catalogue_number\n", 1, "year"),
        ("", 1, "—"),
        ("title,year,catalogue_number\nA,2024,1102001.74\nB,2024,1102001.74\n", 3, "catalogue_number"),
        ("title,year,catalogue_number\nA,2024,1102001.74,extra\n", 2, "—"),
        ("title,year,catalogue_number\n,2024,1102001.74\n", 2, "title"),
    ],
)
def test_the_file_itself_is_checked(catalogue, tmp_path, content, line, column):
    path = tmp_path / "katalog.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        catalogue.import_csv(path)
    assert (refused.value.problems[0].line, refused.value.problems[0].column) == (line, column)


def test_a_file_not_in_utf8_is_refused_at_its_line(catalogue, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("title,year,catalogue_number\nA,2024,1102001.74\nKabupaten Kolaka Tímur,2024,1102001.7411\n".encode("cp1252"))
    with pytest.raises(ImportRefused) as refused:
        catalogue.import_csv(path)
    assert refused.value.problems[0].line == 3 and "UTF-8" in str(refused.value)


def test_a_byte_order_mark_from_excel_is_fine(catalogue, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("title,year,catalogue_number\r\nKabupaten Kolaka Tímur,2024,1102001.7411\r\n".encode("utf-8-sig"))
    assert catalogue.import_csv(path)["added"] == 1


def test_cloud_items_are_checked_like_an_import(catalogue):
    assert catalogue.upsert_from_cloud(SHELVES) == {"added": 6, "updated": 0, "unchanged": 0}
    assert catalogue.store.read.execute("SELECT DISTINCT source FROM publications").fetchall() == [("cloud",)]
    with pytest.raises(ImportRefused) as refused:
        catalogue.upsert_from_cloud([SHELVES[0] | {"title": "Baru"}, {"title": "X", "year": "2024x", "catalogue_number": "1.2"}])
    assert [(p.line, p.column) for p in refused.value.problems] == [(2, "year"), (2, "catalogue_number")]
    assert str(refused.value).startswith("Tidak ada yang diimpor — butir 2, kolom year")
    assert catalogue.search("baru")["total"] == 0


def test_import_command_reports_the_counts(settings, tmp_path):
    store = EdgeStore(settings.db_path)
    migrate(store)
    store.close()
    path = write_csv(tmp_path, "Kota Kendari Dalam Angka 2024,2024,Publikasi,Kependudukan,1102001.7471,,,,,,,\n")
    assert import_command(settings, path) == (
        f"{path}: 1 added, 0 updated, 0 unchanged; 1 publications in the reading-room catalogue")
    bad = write_csv(tmp_path, "Kota Kendari Dalam Angka 2024,x,,,1102001.7471,,,,,,,\n", name="bad.csv")
    with pytest.raises(CatalogueError, match="baris 2, kolom year"):
        import_command(settings, bad)


# --- demo catalogue ---------------------------------------------------------------------------------------------------
def test_the_demo_catalogue_is_realistic_and_the_same_every_time(catalogue):
    rows = demo_rows()
    assert rows == demo_rows() and 140 <= len(rows) <= 160
    on_display = sum(r["location"] == "display" for r in rows)
    assert len(rows) / 4 < on_display < len(rows) / 2.5
    assert {r["catalogue_number"].split(".")[1][:2] for r in rows} == {"74"}
    assert seed_demo_catalogue(catalogue)["added"] == len(rows)
    assert seed_demo_catalogue(catalogue) is None  # never over a catalogue that holds something
    assert catalogue.search("sulawesi tenggara dalam angka")["items"][0]["catalogue_number"] == "1102001.74"


# --- HTTP ---------------------------------------------------------------------------------------------------------------
def test_visitors_search_over_http_without_signing_in(room):
    body = room.get("/api/catalogue", params={"q": "kendari dalam angka"}).json()
    assert body["total"] >= 1 and all("Kendari" in i["title"] for i in body["items"])
    first = body["items"][0]
    assert room.get(f"/api/catalogue/{first['id']}").json() == first
    assert room.get("/api/catalogue/nope").status_code == 404
    bad = room.get("/api/catalogue", params={"year": "tahun lalu", "location": "meja"})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"year", "location"}
    paged = room.get("/api/catalogue", params={"page": "2", "per_page": "5"}).json()
    assert len(paged["items"]) == 5 and paged["total"] == 150


def test_the_reading_room_page_says_where_each_item_is(room):
    page = room.get("/katalog", params={"q": "sulawesi tenggara dalam angka"})
    assert page.status_code == 200
    assert 'Rak pajang <span class="code">R-01</span>' in page.text
    assert "Ruang penyimpanan — minta petugas" in page.text
    assert "Hitung dibaca" not in page.text and "G-" not in page.text  # storage racks are the staff's business
    paged = room.get("/katalog", params={"q": "dalam angka", "location": "storage"}).text
    assert 'href="/katalog?q=dalam+angka&amp;location=storage&amp;page=2"' in paged
    assert "Rak pajang" not in paged.split("</form>")[-1]
    assert room.get("/katalog", params={"q": '"AND OR * ('}).status_code == 200
    assert room.get("/katalog", params={"year": "x"}).status_code == 400
