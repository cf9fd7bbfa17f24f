"""The audit trail for admins: the back-office page `/kantor/audit` and `GET /api/audit` (filters: person, action,
record, office, from, to). No route changes or removes a line; routes record theirs through cloud.routes.auditing."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from litestar import Request, Router, get
from litestar.response import Template

from cloud import audit
from cloud.accounts import AccountView
from cloud.errors import ApiError
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.backoffice import BACK_OFFICE, _Forbidden, _NotSignedIn, _page, _refused, _signed_in, _to_sign_in
from pst.i18n import N_
from pst.openapi import also_answer

FILTERS = ("person", "action", "record", "office", "from", "to")


def _filters(request: Request) -> dict[str, str]:
    values = {key: (request.query_params.get(key) or "").strip()[:100] for key in FILTERS}
    errors = {}
    for key in ("from", "to"):
        if values[key]:
            try:
                date.fromisoformat(values[key])
            except ValueError:
                errors[key] = N_("tanggal dengan format YYYY-MM-DD")
    if errors:
        raise ApiError(400, "Saringan jejak audit belum benar", errors)
    return values


def _page_number(request: Request) -> int:
    raw = request.query_params.get("hal", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


async def _lines(request: Request, values: dict[str, str], page: int) -> tuple[list[dict], int]:
    db = request.app.state.db
    query = {"actor": values["person"], "action": values["action"], "target": values["record"],
             "office_code": values["office"], "date_from": values["from"], "date_to": values["to"]}
    lines = await audit.search(db, **query, limit=audit.PAGE, offset=(page - 1) * audit.PAGE)
    return lines, await audit.count(db, **query)


async def _admin(request: Request, accounts) -> AccountView:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise ApiError(401, "Masuk terlebih dahulu")
    if account.role != "admin":
        raise ApiError(403, "Hanya admin yang dapat membaca jejak audit")
    return account


@get("/api/audit")
async def api_audit(request: Request, accounts: AccountsDep) -> dict:
    await _admin(request, accounts)
    values, page = _filters(request), _page_number(request)
    lines, total = await _lines(request, values, page)
    shown = [line | {"at": line["at"].isoformat(), "at_local": line["at"].astimezone(audit.OFFICE_TZ).isoformat(),
                     "received_at": line["received_at"].isoformat()} for line in lines]
    return {"lines": shown, "total": total, "page": page, "per_page": audit.PAGE}


@get("/audit")
async def audit_page(request: Request, accounts: AccountsDep) -> Template:
    admin = await _signed_in(request, accounts)
    if admin.role != "admin":
        raise _Forbidden(admin, N_("Hanya admin yang dapat membaca jejak audit."))
    try:
        values, error = _filters(request), None
    except ApiError as exc:  # the API's detail, in a sentence of the page's catalogue
        problems = "; ".join(exc.errors.values())
        values, error = dict.fromkeys(FILTERS, ""), N_("Saringan jejak audit belum benar: %(problems)s") % {
            "problems": problems}
    page = _page_number(request)
    lines, total = await _lines(request, values, page)
    kept = {key: value for key, value in values.items() if value}
    return _page("kantor_audit.html", admin, 400 if error else 200, lines=lines, total=total, values=values,
                 error=error, page=page, pages=max(1, -(-total // audit.PAGE)), query=urlencode(kept),
                 section="/kantor/audit")


routes = [api_audit, Router(
    path="/kantor", route_handlers=also_answer(BACK_OFFICE, [audit_page]),
    exception_handlers={_NotSignedIn: _to_sign_in, _Forbidden: _refused},
)]
