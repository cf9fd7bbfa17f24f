"""The portal in Indonesian and English: its own catalogue covers every message and is up to date, `/bahasa/en`
switches every page (a cookie and a plain link), and the pages' markup is what browsers and password managers read:
real attributes on the form fields, a favicon, the requested publication named by its title.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from pst.i18n import back_to
from tests.cloud.conftest import add_reader

ROOT = Path(__file__).parents[2]
CLOUD = ROOT / "cloud"
LOCALE = CLOUD / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
HOST = "http://portal.test"
TITLE = "Kota Kendari Dalam Angka 2024"


@pytest.fixture
def database(tmp_path) -> str:
    """Language and markup do not depend on the database: SQLite alone."""
    return f"sqlite:///{tmp_path / 'cloud.db'}"


def read(path: Path):
    with path.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    with (CLOUD / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(ROOT, method_map, options_map)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_portal_message_has_an_english_translation(msgids):
    english = read(LOCALE / "en" / "LC_MESSAGES" / "messages.po")
    assert len(msgids) > 100  # the extraction did find the templates and the code
    missing = sorted(m for m in msgids if m not in english or not english[m].string or english[m].fuzzy)
    assert not missing, "translate these in cloud/locale/en/LC_MESSAGES/messages.po (see cloud/babel.cfg)"
    strings = {m: english[m].string for m in msgids}
    wrong = {m: s for m, s in strings.items()
             if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(s if isinstance(s, str) else s[0]))}
    assert not wrong, "a translation must keep the message's %(placeholders)s"


def test_the_portal_template_catalogue_is_up_to_date(msgids):
    template = {message.id if isinstance(message.id, str) else message.id[0]
                for message in read(LOCALE / "messages.pot") if message.id}
    assert template == msgids, "run the pybabel extract and update commands in cloud/babel.cfg"


def test_the_portal_switches_to_english_and_back(client):
    page = client.get("/katalog").text
    assert '<html lang="id">' in page and "Katalog publikasi" in page and 'href="/bahasa/en"' in page
    switched = client.get("/bahasa/en", headers={"referer": f"{HOST}/katalog?q=kendari"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/katalog?q=kendari"
    cookie = switched.headers["set-cookie"].lower()
    assert "pst_lang=en" in cookie and "samesite=lax" in cookie and "httponly" in cookie and "max-age=31536000" in cookie
    page = client.get("/katalog").text
    assert '<html lang="en">' in page and "Publication catalogue" in page and "Katalog publikasi" not in page
    assert 'href="/bahasa/id"' in page and "Bahasa Indonesia" in page
    client.get("/bahasa/id")
    assert '<html lang="id">' in client.get("/").text


@pytest.mark.parametrize("path, english, indonesian", [
    ("/", "Register to read BPS publications online", "Daftar untuk membaca publikasi BPS"),
    ("/pengaduan", "Send complaint", "Kirim pengaduan"),
    ("/pengaduan/lacak", "Complaint number", "Nomor pengaduan"),
    ("/penilaian", "Send rating", "Kirim penilaian"),
    ("/privasi", "Personal data protection", "Pelindungan data pribadi"),
])
def test_public_pages_are_in_english_after_the_switch(client, path, english, indonesian):
    client.cookies.set("pst_lang", "en")
    page = client.get(path)
    assert page.status_code == 200 and english in page.text and indonesian not in page.text


def test_the_request_form_names_the_publication_by_its_title_in_english(client, catalogue):
    client.cookies.set("pst_cloud_session", add_reader(client, "wa.ode@example.id", "Wa Ode Nurhaliza"))
    client.cookies.set("pst_lang", "en")
    page = client.get(f"/akun/permintaan?publikasi={catalogue[TITLE]}").text
    fields = form_fields(page)
    assert fields["publication_id"] == {"type": "hidden", "name": "publication_id", "value": catalogue[TITLE]}
    assert f"<strong>{TITLE}</strong>" in page and "Request a digital copy" in page and "Research" in page
    assert f'value="{catalogue[TITLE]}"' in page and page.count(catalogue[TITLE]) == 2  # the field and the link


def test_an_unknown_language_is_404_and_sets_nothing(client):
    answer = client.get("/bahasa/xx", follow_redirects=False)
    assert answer.status_code == 404 and "pst_lang" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("referer, expected", [
    (f"{HOST}/publikasi/abc?x=1", "/publikasi/abc?x=1"),
    ("http://evil.example/akun", "/"),
    (f"{HOST}//evil.example/", "/"),
    (f"{HOST}/bahasa/en", "/"),
    ("", "/"),
])
def test_the_switch_returns_only_to_a_page_of_this_site(referer, expected):
    assert back_to(referer, "portal.test") == expected


class Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: dict[str, dict] = {}
        self.icons: list[dict] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and "name" in found:
            self.inputs[found["name"]] = found
        if tag == "link" and found.get("rel") == "icon":
            self.icons.append(found)


def form_fields(html: str) -> dict[str, dict]:
    parser = Fields()
    parser.feed(html)
    return {name: {k: v for k, v in attrs.items() if k in ("type", "name", "value")} if attrs.get("type") == "hidden"
            else attrs for name, attrs in parser.inputs.items()}


@pytest.mark.parametrize("path, name, wanted", [
    ("/akun/daftar", "name", {"autocomplete": "name"}),
    ("/akun/daftar", "email", {"autocomplete": "email", "type": "email"}),
    ("/akun/daftar", "password", {"autocomplete": "new-password", "minlength": "10", "type": "password"}),
    ("/akun/masuk", "email", {"autocomplete": "username"}),
    ("/akun/masuk", "password", {"autocomplete": "current-password"}),
])
def test_form_fields_carry_their_autofill_attributes_as_real_attributes(client, path, name, wanted):
    page = client.get(path).text
    attrs = form_fields(page)[name]
    assert {key: attrs.get(key) for key in wanted} == wanted
    assert "&#34;" not in page.split("<main", 1)[1]  # no attribute escaped into the text of a tag


def test_every_page_links_the_favicon_the_portal_serves(client):
    parser = Fields()
    parser.feed(client.get("/").text)
    [icon] = parser.icons
    served = client.get(icon["href"])
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/svg+xml")
    assert served.text.lstrip().startswith("<svg") and 'viewBox="0 0 32 32"' in served.text
    assert client.get("/static/nothing-here.svg").status_code == 404
