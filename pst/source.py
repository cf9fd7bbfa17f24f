"""The source of the running version, which the AGPL (the product's licence: LICENSE) asks a network service to offer
everyone who uses it: every page's footer links to it ("Kode sumber").

`PST_SOURCE_URL` names where it is published — e.g. `https://git.example.id/pst-pustaka/-/tree/v{version}`, `{version}`
replaced by the running version. Without it the app serves its own code at `/kode-sumber`: a tar.gz of the program
as it runs (its packages; from a checkout also the build files, the playbook, the tests and the benchmarks), made
once per process, the same bytes every time for the same files.
"""

from __future__ import annotations

import functools
import gzip
import io
import tarfile
from pathlib import Path

from pst import __version__

PATH = "/kode-sumber"
PACKAGES = ("pst", "edge", "cloud", "sync", "hardware")
TOP_FILES = ("pyproject.toml", "LICENSE", "README.md", "Makefile", "babel.cfg")  # present in a checkout
TOP_TREES = ("requirements", "ansible", "bench", "tests", ".ci")
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".mo", ".part", ".db", ".db-wal", ".db-shm")


def link(setting: str | None) -> str:
    """Where the footer's "Kode sumber" points."""
    return setting.replace("{version}", __version__) if setting else PATH


def filename() -> str:
    return f"pst-pustaka-{__version__}-source.tar.gz"


def files(root: Path | None = None) -> list[tuple[str, Path]]:
    """(name in the archive, file) of the running program, sorted."""
    here = Path(__file__).resolve().parent.parent if root is None else root
    found: dict[str, Path] = {}
    trees = [name for name in PACKAGES if (here / name).is_dir()]
    checkout = (here / "pyproject.toml").is_file() and (here / "LICENSE").is_file()
    if checkout:
        trees += [name for name in TOP_TREES if (here / name).is_dir()]
        found |= {name: here / name for name in TOP_FILES if (here / name).is_file()}
    for tree in trees:
        for path in (here / tree).rglob("*"):
            relative = path.relative_to(here)
            if (path.is_file() and not path.is_symlink() and not SKIP_DIRS & set(relative.parts)
                    and not path.name.endswith(SKIP_SUFFIXES)):
                found[relative.as_posix()] = path
    if not checkout:  # an installed wheel: the licence ships in its metadata
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            licence = next((f for f in distribution("pst-pustaka").files or () if f.name == "LICENSE"), None)
        except PackageNotFoundError:
            licence = None
        if licence is not None:
            found["LICENSE"] = Path(str(licence.locate()))
    return sorted(found.items())


@functools.cache
def archive() -> bytes:
    """The tar.gz of `files()`: fixed times and owners, so the same files make the same bytes."""
    prefix = f"pst-pustaka-{__version__}"
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in files():
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()
