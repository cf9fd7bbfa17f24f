"""The demo's mailbox: every mail the local SMTP sink received, newest first. Routed only with PST_CLOUD_DEMO=1."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from cloud.mailsink import read_mails


@get("/_dev/mail")
async def mailbox(request: Request) -> Template:
    folder = request.app.state.settings.mail_dir
    mails = read_mails(folder) if folder.exists() else []
    return Template("dev_mail.html", context={"mails": mails})


routes = [mailbox]
