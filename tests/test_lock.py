"""The lock of the Python dependencies: whole, hashed, fresh against pyproject.toml, and what this suite runs on."""

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lock_digest", ROOT / "requirements" / "digest.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
digest = _module.digest
LOCKS = {"dev": ("edge", "cloud", "dev", "deploy"), "edge": ("edge",), "cloud": ("cloud",)}
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")
# a pin with an environment marker (`pywin32==312 ; sys_platform == 'win32'`): installed only where it holds
PIN_ELSEWHERE = re.compile(r"^([A-Za-z0-9_.-]+)==[^\s;\\]+ ; ([^\\\n]+?) *\\?$", re.MULTILINE)


def read_lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """name → (version, hashes) of one lock file."""
    entries, current = {}, None
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            entries[current] = (match[2], frozenset())
        for found in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            version, hashes = entries[current]
            entries[current] = (version, hashes | {found})
    return entries


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *[d for extra in extras for d in project["optional-dependencies"][extra]]]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize("name", LOCKS)
def test_lock_was_made_from_the_current_pyproject(name):
    header = (ROOT / "requirements" / f"{name}.txt").read_text().splitlines()[0]
    assert header.endswith(f"pyproject-dependencies: {digest(ROOT / 'pyproject.toml')}"), (
        f"requirements/{name}.txt is stale: run requirements/update")


@pytest.mark.parametrize("name", LOCKS)
def test_every_locked_package_is_pinned_with_hashes(name):
    entries = read_lock(name)
    assert len(entries) > 20
    assert {package for package, (_, hashes) in entries.items() if not hashes} == set()


@pytest.mark.parametrize("name", LOCKS)
def test_every_dependency_of_pyproject_is_locked_at_a_version_it_accepts(name):
    entries = read_lock(name)
    for requirement in wanted(LOCKS[name]):
        version, _ = entries[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


@pytest.mark.parametrize("name", ["edge", "cloud"])
def test_a_host_gets_the_same_versions_and_files_as_the_tests(name):
    dev = read_lock("dev")
    assert {package: dev[package] for package in read_lock(name)} == read_lock(name)


def test_the_appliance_lock_holds_nothing_of_the_cloud():
    assert {"piccolo", "asyncpg", "aiosmtpd"} & set(read_lock("edge")) == set()


def test_this_suite_runs_on_the_locked_versions():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    elsewhere = {canonicalize_name(match[1]) for match in PIN_ELSEWHERE.finditer(
        (ROOT / "requirements" / "dev.txt").read_text()) if not Marker(match[2]).evaluate()}
    differing = {package: (version, installed.get(package)) for package, (version, _) in read_lock("dev").items()
                 if package not in ("pip", "setuptools", *elsewhere) and installed.get(package) != version}
    assert differing == {}, "the venv is not what requirements/dev.txt locks: run `make test` (it reinstalls)"
