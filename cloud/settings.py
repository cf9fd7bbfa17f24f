"""Settings of the cloud portal, from the environment (ARCHITECTURE.md, "Settings").

Read once by `from_env`; nothing is read at import time, and tests pass a plain dict.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pst.serving import READ_TIMEOUT, read_timeout_from


class ConfigError(ValueError):
    """A setting the operator has to fix; the message names it."""


@dataclass(frozen=True)
class CloudSettings:
    data_dir: Path
    """PST_DATA_DIR: the SQLite file (by default), the generated secret and the demo's mail folder (default ./var)."""
    database_url: str
    """PST_CLOUD_DATABASE_URL: `sqlite:///PATH` (default `sqlite:///$PST_DATA_DIR/cloud.db`) or `postgresql://…`."""
    host: str
    """PST_CLOUD_HOST: address the portal listens on (default 127.0.0.1)."""
    port: int
    """PST_CLOUD_PORT: port of the portal (default 8100)."""
    public_url: str
    """PST_CLOUD_PUBLIC_URL: base URL readers reach the portal at, used in mailed links (default http://host:port)."""
    smtp_url: str | None
    """PST_CLOUD_SMTP_URL: `smtp://[user:password@]host:port` or `smtps://…`; the portal needs it to serve, except in
    the demo, which starts its own local sink. `migrate` and `user add` run without."""
    mail_from: str
    """PST_CLOUD_MAIL_FROM: the sender of account mails (default `PST Pustaka <no-reply@localhost>`)."""
    demo: bool
    """PST_CLOUD_DEMO: `1` for the demo: a local SMTP sink whose mails are shown at /_dev/mail (default off)."""
    secret: str | None = field(repr=False)
    """PST_CLOUD_SECRET: key of the token and session hashes and of the forms' CSRF tokens, the same on every worker
    and host (≥ 32 characters). See `signing_key()` for what happens when it is unset."""
    identity_months: int = 24
    """PST_CLOUD_IDENTITY_MONTHS: months the portal keeps identities in desk records and complaints before
    anonymising them, statistics kept (1–120, default 24; cloud.privacy, applied once a day)."""
    privacy_contact: str = ""
    """PST_CLOUD_PRIVACY_CONTACT: whom a person asks for a copy or erasure of their data, shown in the registration's
    notice and on /privasi (default: the PST desk of the office they visited)."""
    metrics_token: str | None = field(default=None, repr=False)
    """PST_CLOUD_METRICS_TOKEN: the bearer token Prometheus sends to scrape /metrics (≥ 32 characters, e.g.
    `openssl rand -hex 32`); unset: the portal has no /metrics at all (404). Never logged."""
    read_timeout: float = READ_TIMEOUT
    """PST_CLOUD_READ_TIMEOUT: seconds a client has to send a request's headers, and at most between two pieces of its
    body, before the portal closes the connection (1–600, default 20; pst.serving)."""
    source_url: str = ""
    """PST_SOURCE_URL: where the source of the running version is published (`{version}` replaced), the footer's
    "Kode sumber"; else the portal serves its own at /kode-sumber (pst.source)."""

    @property
    def database(self) -> str:
        """`sqlite` or `postgresql`: which engine the URL names."""
        return database_kind(self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CloudSettings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PST_DATA_DIR") or "./var")
        database_url = env.get("PST_CLOUD_DATABASE_URL") or f"sqlite:///{data_dir / 'cloud.db'}"
        database_kind(database_url)
        port_text = env.get("PST_CLOUD_PORT") or "8100"
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(f"PST_CLOUD_PORT: must be a port number, got {port_text!r}")
        host = env.get("PST_CLOUD_HOST") or "127.0.0.1"
        demo = (env.get("PST_CLOUD_DEMO") or "0").lower() in ("1", "true", "yes")
        smtp_url = env.get("PST_CLOUD_SMTP_URL") or None
        if smtp_url and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
            raise ConfigError(f"PST_CLOUD_SMTP_URL: must start with smtp:// or smtps://, got {smtp_url!r}")
        secret = env.get("PST_CLOUD_SECRET") or None
        if secret is not None and len(secret) < 32:
            raise ConfigError("PST_CLOUD_SECRET: at least 32 characters (e.g. `openssl rand -hex 32`)")
        metrics_token = env.get("PST_CLOUD_METRICS_TOKEN") or None
        if metrics_token is not None and (len(metrics_token) < 32 or not metrics_token.isprintable()
                                          or " " in metrics_token):
            raise ConfigError(
                "PST_CLOUD_METRICS_TOKEN: at least 32 characters, no spaces (e.g. `openssl rand -hex 32`)")
        months_text = env.get("PST_CLOUD_IDENTITY_MONTHS") or "24"
        if not months_text.isdigit() or not 1 <= int(months_text) <= 120:
            raise ConfigError(f"PST_CLOUD_IDENTITY_MONTHS: months between 1 and 120, got {months_text!r}")
        return cls(
            identity_months=int(months_text),
            privacy_contact=" ".join((env.get("PST_CLOUD_PRIVACY_CONTACT") or "").split())[:200],
            data_dir=data_dir,
            database_url=database_url,
            host=host,
            port=int(port_text),
            public_url=(env.get("PST_CLOUD_PUBLIC_URL") or f"http://{host}:{port_text}").rstrip("/"),
            smtp_url=smtp_url,
            mail_from=env.get("PST_CLOUD_MAIL_FROM") or "PST Pustaka <no-reply@localhost>",
            demo=demo,
            secret=secret,
            metrics_token=metrics_token,
            source_url=(env.get("PST_SOURCE_URL") or "").strip(),
            read_timeout=read_timeout_from(env, "PST_CLOUD_READ_TIMEOUT", ConfigError),
        )

    def signing_key(self) -> bytes:
        """PST_CLOUD_SECRET, or when unset: on SQLite or in the demo (one host by nature) a key generated once into
        $PST_DATA_DIR/cloud-secret.key, like the appliance's; on PostgreSQL outside the demo an error, because each
        worker host would make its own key and reject the others' cookies and links."""
        if self.secret:
            return self.secret.encode()
        if self.database == "postgresql" and not self.demo:
            raise ConfigError(
                "PST_CLOUD_SECRET: not set; with PostgreSQL every worker and host needs the same one (`openssl rand -hex 32`)"
            )
        path = self.data_dir / "cloud-secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip().encode()

    @property
    def mail_dir(self) -> Path:
        """Where the demo's SMTP sink keeps the mails it received."""
        return self.data_dir / "mail"


def database_kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            raise ConfigError(f"PST_CLOUD_DATABASE_URL: a SQLite URL is sqlite:///PATH, got {url!r}")
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ConfigError(f"PST_CLOUD_DATABASE_URL: must start with sqlite:/// or postgresql://, got {url!r}")

