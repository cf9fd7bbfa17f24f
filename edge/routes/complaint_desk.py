"""The desk's complaint form (`/petugas/pengaduan/baru`): every staff role records a complaint that came by box,
e-mail, WhatsApp or SP4N LAPOR and hands the complainant its number, without opening the complaint queue, which
holds complainants' contacts and is for the roles that handle complaints (edge.roles)."""

from __future__ import annotations

import anyio
from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from edge.auth import current_user, flash, staff_only
from edge.complaints import CHANNELS, ComplaintError
from edge.i18n import N_
from edge.roles import needs
from edge.routes import ApplianceDep
from edge.routes.audit import actor_of, audited

Form = URLEncodedBody[dict[str, str]]
PATH = "/petugas/pengaduan/baru"


@get(PATH, guards=[staff_only], opt=needs("desk"), sync_to_thread=False)
def entry_page(request: Request, appliance: ApplianceDep) -> Template:
    return Template("complaint_entry.html", context={
        "office": appliance.config.office, "user": current_user(request), "channels": CHANNELS,
    })


def _enter(appliance, actor, data: dict, staff_id: str) -> dict:
    """The complaint and its complaint.enter line in one transaction."""
    with audited(appliance, actor, "complaint.enter", channel=data.get("channel")) as line:
        complaint = appliance.complaints.submit(data.get("channel"), data.get("text"), data.get("contact"), staff_id)
        line["target"], line["detail"]["tracking"] = f"complaint:{complaint['id']}", complaint["tracking"]
    return complaint


@post(PATH, guards=[staff_only], opt=needs("desk"), status_code=303)
async def entry_form(request: Request, appliance: ApplianceDep, data: Form) -> Redirect:
    try:
        complaint = await anyio.to_thread.run_sync(_enter, appliance, actor_of(request), data,
                                                   current_user(request)["id"])
    except ComplaintError as exc:
        reasons = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()) or str(exc)
        flash(request, "error", N_("Pengaduan belum dicatat: %(reason)s") % {"reason": reasons})
    else:
        flash(request, "success", N_("Pengaduan dicatat dengan nomor %(number)s") % {"number": complaint["tracking"]})
    return Redirect(PATH, status_code=303)


routes = [entry_page, entry_form]
