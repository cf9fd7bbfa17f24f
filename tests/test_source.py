"""The source of the running version, as the AGPL asks of a network service: every page's footer links to it
("Kode sumber"), to the published repository when the settings name one, else to the app's own archive."""

from __future__ import annotations

import io
import re
import tarfile

from pst import __version__, source


def names(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.getnames()


def test_the_archive_is_the_program_as_it_runs_and_the_same_every_time():
    archive = source.archive.__wrapped__()
    listed = names(archive)
    prefix = f"pst-pustaka-{__version__}/"
    assert all(name.startswith(prefix) for name in listed)
    inside = {name[len(prefix):] for name in listed}
    for wanted in ("LICENSE", "pyproject.toml", "pst/source.py", "edge/app.py", "cloud/app.py", "sync/agent.py",
                   "hardware/builder.py", "edge/templates/base.html", "cloud/locale/en/LC_MESSAGES/messages.po",
                   "ansible/site.yml", "requirements/edge.txt"):
        assert wanted in inside, wanted
    assert not [n for n in inside if n.endswith((".pyc", ".db")) or "__pycache__" in n or n.startswith(("var/", ".venv/"))]
    assert source.archive.__wrapped__() == archive  # fixed times and owners: the same files, the same bytes
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        licence = tar.extractfile(prefix + "LICENSE").read().decode()
    assert licence.startswith("GNU AFFERO GENERAL PUBLIC LICENSE")


def test_the_link_follows_the_setting():
    assert source.link(None) == source.link("") == "/kode-sumber"
    assert source.link("https://git.example.id/pst/-/tree/v{version}") == f"https://git.example.id/pst/-/tree/v{__version__}"


def test_the_appliance_serves_its_source_and_every_phone_page_links_to_it(client):
    answer = client.get("/kode-sumber")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/gzip"
    assert f"pst-pustaka-{__version__}-source.tar.gz" in answer.headers["content-disposition"]
    assert f"pst-pustaka-{__version__}/edge/app.py" in names(answer.content)
    page = client.get("/buku-tamu").text
    assert re.search(r'<footer class="site">PST Pustaka [^<]+ · <a href="/kode-sumber">Kode sumber</a>', page), page
    assert '<footer class="site">' not in client.get("/").text  # the kiosk's touch screen: people in front of it


def test_a_published_source_is_linked_with_the_running_version(tmp_path):
    from litestar.testing import TestClient

    from edge.app import create_app
    from edge.settings import EdgeSettings

    settings = EdgeSettings.from_env({"PST_DATA_DIR": str(tmp_path / "var"), "PST_EDGE_HARDWARE": "sim",
                                      "PST_SOURCE_URL": "https://git.example.id/pst/-/tree/v{version}"})
    with TestClient(create_app(settings)) as client:
        page = client.get("/pengaduan").text
    assert f'href="https://git.example.id/pst/-/tree/v{__version__}"' in page


def test_the_portal_serves_its_source_and_every_page_links_to_it(tmp_path):
    from litestar.testing import TestClient

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    base = {"PST_DATA_DIR": str(tmp_path / "var"), "PST_CLOUD_SECRET": "s" * 32, "PST_CLOUD_SMTP_URL": "smtp://127.0.0.1:1"}
    settings = CloudSettings.from_env(base)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/kode-sumber")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/gzip"
        assert f"pst-pustaka-{__version__}/cloud/app.py" in names(answer.content)
        for path in ("/", "/katalog", "/akun/masuk"):
            assert '<a href="/kode-sumber">Kode sumber</a>' in client.get(path).text, path
        client.get("/bahasa/en")
        assert '<a href="/kode-sumber">Source code</a>' in client.get("/katalog").text
    published = CloudSettings.from_env(base | {"PST_SOURCE_URL": "https://git.example.id/pst/-/tree/v{version}"})
    with TestClient(create_app(published)) as client:
        assert f'href="https://git.example.id/pst/-/tree/v{__version__}"' in client.get("/katalog").text
