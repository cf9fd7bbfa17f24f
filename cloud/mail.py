"""Sending mail through the SMTP server that PST_CLOUD_SMTP_URL names: `smtp://[user:password@]host:port`
(STARTTLS when the server offers it) or `smtps://…` (TLS from the start).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import anyio


class MailError(RuntimeError):
    """The mail could not be handed to the SMTP server."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    next: str = ""  # the portal page the mail announces: where a set-password link in it leads on to


class SmtpMailer:
    def __init__(self, url: str, sender: str, timeout: float = 10):
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="pst-pustaka")
        message.set_content(mail.body)
        return message

    def send_now(self, mail: Mail) -> None:
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self.message(mail))
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"{self.host}:{self.port}: {exc}") from exc

    async def send(self, mail: Mail) -> None:
        await anyio.to_thread.run_sync(self.send_now, mail)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        return smtp
