"""A local SMTP server that keeps every mail it receives as a file, for the demo and the tests: nothing leaves
the machine, and the demo shows the mails at /_dev/mail. Never used in production.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    name: str
    sender: str
    to: list[str]
    subject: str
    body: str
    received_at: datetime


class _Keep:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.urandom(3).hex()}.eml"
        partial = self.folder / f".{name}"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)  # readers never see half a mail
        return "250 Message accepted for delivery"


class MailSink:
    """`with MailSink(folder) as sink:` listens on 127.0.0.1 (a free port unless given); `sink.url` is the SMTP URL."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(_Keep(self.folder), hostname=host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def mails(self) -> list[ReceivedMail]:
        return read_mails(self.folder)


def read_mails(folder: Path) -> list[ReceivedMail]:
    """The mails in `folder`, newest first."""
    found = []
    for path in sorted(Path(folder).glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        found.append(ReceivedMail(
            name=path.name,
            sender=str(message["From"] or ""),
            to=[str(a) for a in (message.get_all("To") or [])],
            subject=str(message["Subject"] or ""),
            body=body.get_content() if body is not None else "",
            received_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        ))
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
