"""Throwaway Debian 12 machines for the provisioning tests: a root file system made once with mmdebstrap (cached,
keyed by what it holds), unpacked per machine and booted with systemd-nspawn, systemd as PID 1.

The machines share the host's network (each service gets a port nobody else uses) and its apt archive cache
folder, so a second converge downloads nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"
# What a freshly installed Debian 12 (or Raspberry Pi OS Lite) has that the playbook relies on: systemd, Python, apt.
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-apt", "apt", "sudo", "iproute2", "ca-certificates")
TOOLS = ("mmdebstrap", "systemd-nspawn", "nsenter", "zstd", "tar")


def cache_dir() -> Path:
    path = Path(os.environ.get("PST_PROVISION_CACHE") or ("/var/cache/pst-provision" if os.geteuid() == 0
                                                          else Path.home() / ".cache" / "pst-provision"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_capability() -> str | None:
    """Why this machine cannot boot a container, or None when it can."""
    if os.geteuid() != 0:
        return "booting a systemd-nspawn container needs root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian: mmdebstrap systemd-container zstd)"
    return None


def base_image() -> Path:
    """The root file system as a tarball, made once per package list and reused."""
    key = hashlib.sha256(" ".join((SUITE, *PACKAGES)).encode()).hexdigest()[:12]
    image = cache_dir() / f"debian-{SUITE}-{key}.tar.zst"
    if not image.exists():
        partial = image.with_name(image.name + ".partial.tar.zst")
        sources = ["/etc/apt/sources.list.d/debian.sources"] if Path("/etc/apt/sources.list.d/debian.sources").exists() else []
        subprocess.run(["mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(PACKAGES)}", SUITE,
                        str(partial), *sources], check=True, capture_output=True)
        partial.replace(image)
    return image


@dataclass
class Machine:
    """One booted container. `run` executes inside it (all namespaces of its systemd); `reboot` is a real one."""

    name: str
    root: Path
    binds: list[tuple[Path, str]] = field(default_factory=list)
    nspawn: subprocess.Popen | None = None
    log: Path | None = None

    @classmethod
    def create(cls, name: str, parent: Path, image: Path) -> Machine:
        root = parent / name
        root.mkdir(parents=True)
        subprocess.run(["tar", "--zstd", "-xpf", str(image), "-C", str(root)], check=True)
        (root / "etc" / "hostname").write_text(name + "\n")
        (root / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {name}\n::1 localhost ip6-localhost\n")
        apt_cache = cache_dir() / "apt-archives"
        (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
        return cls(name, root, binds=[(apt_cache, "/var/cache/apt/archives")], log=parent / f"{name}.console.log")

    def boot(self, timeout: float = 60) -> None:
        args = ["systemd-nspawn", "-D", str(self.root), "-b", "--register=no", "--keep-unit", "--console=passive",
                "-M", self.name, *[f"--bind={host}:{inside}" for host, inside in self.binds]]
        with self.log.open("ab") as console:  # the child keeps its own copy of the descriptor
            self.nspawn = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise RuntimeError(f"{self.name}: systemd-nspawn exited {self.nspawn.returncode}: {self.log.read_text()[-2000:]}")
            if self.pid is not None:
                state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}: not booted after {timeout} s")

    @property
    def pid(self) -> int | None:
        """The container's PID 1 (its systemd), as the host sees it."""
        if self.nspawn is None or self.nspawn.poll() is not None:
            return None
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        try:
            first = children.read_text().split()
        except FileNotFoundError:
            return None
        return int(first[0]) if first else None

    def run(self, *command: str, check: bool = True, input: str | None = None, timeout: float = 120):
        result = subprocess.run(["nsenter", "-t", str(self.pid), "-a", *command], input=input, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {' '.join(command)} → {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def systemctl(self, *args: str, check: bool = False) -> str:
        return self.run("systemctl", *args, check=check).stdout.strip()

    def reboot(self, timeout: float = 60) -> None:
        """`systemctl reboot` inside: its systemd stops every unit, nspawn ends (133 = reboot), and boots it again."""
        self.run("systemctl", "reboot", check=False)
        code = self.nspawn.wait(timeout=timeout)
        if code not in (0, 133):
            raise RuntimeError(f"{self.name}: systemd-nspawn ended with {code} on reboot")
        self.boot(timeout)

    def stop(self) -> None:
        if self.nspawn is None or self.nspawn.poll() is not None:
            return
        self.run("systemctl", "poweroff", check=False)
        try:
            self.nspawn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.nspawn.pid, signal.SIGKILL)
            self.nspawn.wait()


def wheelhouse(project: Path, locks: tuple[str, ...] = ("edge", "cloud")) -> Path:
    """The locked files of the project's dependencies (not of the project), downloaded once per lock: the machines
    install from it over HTTP with `--no-index`, as an office without internet would from a technician's laptop."""
    files = [project / "requirements" / f"{name}.txt" for name in locks]
    key = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    folder = cache_dir() / f"locked-{key}"
    if not (folder / ".complete").exists():
        for lock in files:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes", "-r", str(lock),
                            "--dest", str(folder)], check=True, capture_output=True, text=True)
        (folder / ".complete").touch()
    return folder
