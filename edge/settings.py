"""Settings of the appliance process, from the environment (ARCHITECTURE.md, "Settings").

Read once by `from_env`; nothing is read at import time, and tests pass a plain dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.config import ApplianceConfig, ConfigError, load_config
from pst.serving import READ_TIMEOUT, read_timeout_from

HARDWARE_MODES = ("sim", "pi")


@dataclass(frozen=True)
class EdgeSettings:
    data_dir: Path
    """PST_DATA_DIR: where the database, backups and sessions live (default ./var)."""
    db_path: Path
    """PST_EDGE_DB: the appliance's SQLite file (default $PST_DATA_DIR/edge.db)."""
    host: str
    """PST_EDGE_HOST: address the web app listens on (default 127.0.0.1; 0.0.0.0 on the office LAN)."""
    port: int
    """PST_EDGE_PORT: port of the web app (default 8000)."""
    hardware: str
    """PST_EDGE_HARDWARE: `sim` (mock pins, printer emulator) or `pi` (real devices). Never guessed."""
    config: ApplianceConfig
    """PST_EDGE_CONFIG: the appliance TOML (office, pins, printer, services, hours); built-in default when unset."""
    public_url: str
    """PST_EDGE_PUBLIC_URL: base URL phones use to reach the appliance (the ticket's QR); else config, else host:port."""
    read_timeout: float = READ_TIMEOUT
    """PST_EDGE_READ_TIMEOUT: seconds a client has to send a request's headers, and at most between two pieces of its
    body, before the appliance closes the connection (1–600, default 20; pst.serving)."""
    source_url: str = ""
    """PST_SOURCE_URL: where the source of the running version is published (`{version}` replaced), the footer's
    "Kode sumber"; else the appliance serves its own at /kode-sumber (pst.source)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EdgeSettings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PST_DATA_DIR") or "./var")
        hardware = env.get("PST_EDGE_HARDWARE") or "sim"
        if hardware not in HARDWARE_MODES:
            raise ConfigError(f"PST_EDGE_HARDWARE: must be 'sim' or 'pi', got {hardware!r}")
        port_text = env.get("PST_EDGE_PORT") or "8000"
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(f"PST_EDGE_PORT: must be a port number, got {port_text!r}")
        host = env.get("PST_EDGE_HOST") or "127.0.0.1"
        config = load_config(env.get("PST_EDGE_CONFIG") or None)
        public_url = (env.get("PST_EDGE_PUBLIC_URL") or config.public_url or "").rstrip("/")
        if not public_url:
            shown = lan_address() if host in ("0.0.0.0", "::", "") else host
            public_url = f"http://{shown}:{port_text}"
        return cls(
            data_dir=data_dir,
            db_path=Path(env.get("PST_EDGE_DB") or data_dir / "edge.db"),
            host=host,
            port=int(port_text),
            hardware=hardware,
            config=config,
            public_url=public_url,
            source_url=(env.get("PST_SOURCE_URL") or "").strip(),
            read_timeout=read_timeout_from(env, "PST_EDGE_READ_TIMEOUT", ConfigError),
        )


def lan_address() -> str:
    """The address this machine uses on its LAN (no packet is sent: UDP connect only picks a route)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
