"""The demo's mailbox: every mail the local SMTP sink received, newest first, at office time in the page's language.
Routed only with PST_CLOUD_DEMO=1."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from cloud.mailsink import read_mails
from cloud.times import office_time
from pst.i18n import language


@get("/_dev/mail")
async def mailbox(request: Request) -> Template:
    folder = request.app.state.settings.mail_dir
    mails = read_mails(folder) if folder.exists() else []
    return Template("dev_mail.html", context={"mails": mails, "time_of": lambda moment: office_time(moment, language())})


routes = [mailbox]
