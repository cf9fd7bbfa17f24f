"""The back office under /kantor, for staff and admins (Indonesian first, plain forms, no JavaScript): the catalogue
and its softcopy, the queue of softcopy requests, and (admins) offices with their appliances. No session: to the
sign-in page; a reader: 403. The routes parse and call the services; forms carry the CSRF token.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import File, Redirect, Template

from cloud import audit
from cloud.accounts import AccountError, AccountView
from cloud.backups import Backups
from cloud.catalogue import Catalogue, CatalogueError
from cloud.catalogue_admin import MAX_UPLOAD, CatalogueAdmin
from cloud.db import Database
from cloud.devices import Devices
from cloud import fleet_alerts
from cloud.fleet import Fleet
from cloud.reading import WITA
from cloud.requests import MAX_PDF, Requests
from cloud.routes import SESSION_COOKIE, AccountsDep
from cloud.routes.accounts import client_address
from cloud.routes.auditing import audited
from pst.i18n import N_
from pst.openapi import PAGE, also_answer, content, html, see_other

CatalogueDep = NamedDependency[Catalogue]
RequestsDep = NamedDependency[Requests]
DevicesDep = NamedDependency[Devices]
DatabaseDep = NamedDependency[Database]
Form = URLEncodedBody[dict[str, str]]
NO_STORE = {"Cache-Control": "private, no-store"}
STAFF_ROLES = ("staff", "admin")
PUBLICATION_FIELDS = ("title", "year", "type", "subjects", "catalogue_number", "isbn", "abstract", "office_code")
QUEUE_FILTERS = {"aktif": N_("Belum selesai"), "diajukan": N_("Diajukan"), "diproses": N_("Diproses"),
                 "selesai": N_("Selesai"), "ditolak": N_("Ditolak"), "semua": N_("Semua")}
MESSAGES = {  # what a redirect after a successful form may say (by key: no text from the address is echoed)
    "ditambah": N_("Publikasi ditambahkan."), "disimpan": N_("Perubahan disimpan."),
    "softcopy": N_("Salinan digital disimpan."), "softcopy-dihapus": N_("Salinan digital dilepas dari publikasi."),
    "dihapus": N_("Publikasi dihapus dari katalog."), "diproses": N_("Permintaan ditandai sedang diproses."),
    "ditolak": N_("Permintaan ditolak; pembaca diberi tahu lewat email."),
    "selesai": N_("Berkas terlampir; pembaca diberi tahu lewat email."), "kantor": N_("Kantor ditambahkan."),
    "dicabut": N_("Perangkat dicabut; ia tidak dapat lagi sinkron."),
    "email-kantor": N_("Email kantor disimpan."),
}
NO_FILE = N_("Berkas belum benar")
NO_DEVICE = (N_("Perangkat tidak ditemukan"), N_("Perangkat ini tidak terdaftar."))
PRINTER_STATES = {  # a device's printer as its health reports it (sync.protocol.Health)
    "ok": N_("printer siap"), "paper_out": N_("printer kehabisan kertas"), "offline": N_("printer tidak terhubung"),
    "unplugged": N_("printer tidak ditemukan"), "error": N_("printer macet"),
}


# What the back office's exception handlers answer on every page of it (its Routers' `exception_handlers`): signed
# out, to the sign-in page; a reader, a stale form or an oversized upload, a page that says so.
BACK_OFFICE = {303: see_other("Not signed in: to the sign-in page"), "4XX": PAGE}
SAVED = see_other("Done: back to the publication's page")


class _NotSignedIn(Exception):
    pass


class _Forbidden(Exception):
    def __init__(self, account: AccountView, text: str):
        super().__init__(text)
        self.account, self.text = account, text


async def _signed_in(request: Request, accounts, admin: bool = False) -> AccountView:
    account = await accounts.by_session(request.cookies.get(SESSION_COOKIE))
    if account is None:
        raise _NotSignedIn
    if account.role not in STAFF_ROLES:
        raise _Forbidden(account, N_("Halaman ini hanya untuk petugas PST."))
    if admin and account.role != "admin":
        raise _Forbidden(account, N_("Hanya admin yang dapat mengelola kantor dan perangkat."))
    return account


def _to_sign_in(_: Request, __: _NotSignedIn) -> Response:
    return Redirect("/akun/masuk", status_code=303, headers=NO_STORE)


def _refused(_: Request, exc: _Forbidden) -> Response:
    return _notice(exc.account, 403, N_("Akses ditolak"), exc.text, ("/", N_("Ke beranda")))


def _page_of(path: str) -> str:
    """The page whose form posted to `path`: /kantor/katalog/<id>/softcopy → /kantor/katalog/<id>."""
    parts = path.rstrip("/").split("/")
    return "/".join(parts[:4] if parts[2:3] == ["katalog"] else parts[:3])


def _too_large(request: Request, _: HTTPException) -> Response:
    text = N_("Berkas PDF paling besar %(catalogue)s MB untuk katalog dan %(request)s MB untuk permintaan softcopy."
              " Tidak ada yang disimpan.") % {"catalogue": MAX_UPLOAD // 2**20, "request": MAX_PDF // 2**20}
    return _notice(None, 413, N_("Berkas terlalu besar"), text, (_page_of(request.url.path), N_("Kembali")))


def _stale_form(request: Request, _: PermissionDeniedException) -> Response:
    return _notice(None, 403, N_("Formulir kedaluwarsa"), N_("Muat ulang halaman, lalu kirim formulirnya lagi."),
                   (_page_of(request.url.path), N_("Kembali ke formulir")))


def _notice(account, status: int, title: str, text: str, link: tuple[str, str]) -> Template:
    return Template("notice.html", status_code=status, headers=NO_STORE,
                    context={"account": account, "title": title, "text": text, "link": link, "error": None})


def _page(name: str, account: AccountView, status: int = 200, **context) -> Template:
    return Template(name, status_code=status, headers=NO_STORE, context={
        "account": account, "error": None, "errors": {}, "when": when, "is_admin": account.role == "admin",
        "message": None, **context,
    })


def _back(path: str, **params) -> Redirect:
    query = urlencode({k: v for k, v in params.items() if v})
    return Redirect(path + (f"?{query}" if query else ""), status_code=303)


def when(value) -> str:
    """A stored time as the office reads it: WITA, day first."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(WITA).strftime("%d-%m-%Y %H:%M WITA")


def _admin(request: Request) -> CatalogueAdmin:
    state = request.app.state
    return CatalogueAdmin(state.db, state.clock, state.settings.data_dir)


async def _upload(request: Request) -> tuple[UploadFile | str, dict]:
    """The form's `file` (or why there is none, in Indonesian) and its other fields. An upload past the route's
    limit never gets here: the CSRF check reads the form first, and `_too_large` answers."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return N_("pilih berkas PDF"), fields
    return upload, fields


# --- landing -------------------------------------------------------------------------------------------------------
@get("/")
async def landing(request: Request, accounts: AccountsDep, catalogue: CatalogueDep, requests: RequestsDep,
                  devices: DevicesDep) -> Template:
    staff = await _signed_in(request, accounts)
    offices = await devices.offices()
    counts = {
        "diajukan": len(await requests.all(staff, "diajukan")), "diproses": len(await requests.all(staff, "diproses")),
        "publications": await catalogue.size(), "offices": len(offices),
        "devices": sum(office["devices"] for office in offices),
    }
    return _page("kantor_beranda.html", staff, counts=counts)


# --- catalogue -----------------------------------------------------------------------------------------------------
@get("/katalog")
async def catalogue_list(request: Request, accounts: AccountsDep, catalogue: CatalogueDep) -> Template:
    staff = await _signed_in(request, accounts)
    q, page = request.query_params.get("q", ""), request.query_params.get("page", "")
    try:
        result, error = await catalogue.search(q=q, page=page, per_page=50), None
    except CatalogueError as exc:
        result, error = await catalogue.search(q=q, per_page=50), exc.detail
    pages = max(1, -(-result["total"] // result["per_page"]))
    return _page("kantor_katalog.html", staff, 400 if error else 200, result=result, q=q, pages=pages, error=error,
                 message=MESSAGES.get(request.query_params.get("pesan", "")),
                 url=lambda n: "/kantor/katalog?" + urlencode({k: v for k, v in (("q", q), ("page", n)) if v}))


async def _publication_page(staff, admin: CatalogueAdmin, status: int = 200, p: dict | None = None,
                            fields: dict | None = None, **context) -> Template:
    fields = fields if fields is not None else (p["fields"] if p else {name: "" for name in PUBLICATION_FIELDS})
    return _page("kantor_publikasi.html", staff, status, p=p, fields=fields, offices=await admin.offices(),
                 max_upload_mb=MAX_UPLOAD // 2**20, **context)


def _fields(data: dict) -> dict:
    return {name: data.get(name, "") for name in PUBLICATION_FIELDS}


@get("/katalog/baru")
async def new_publication(request: Request, accounts: AccountsDep) -> Template:
    return await _publication_page(await _signed_in(request, accounts), _admin(request))


@post("/katalog/baru", status_code=303, responses={303: SAVED})
async def add_publication(request: Request, data: Form, accounts: AccountsDep) -> Response:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    try:
        async with audited(request, staff, "catalogue.add") as line:
            publication_id = await admin.add(_fields(data))
            line["target"] = f"publication:{publication_id}"
    except CatalogueError as exc:
        return await _publication_page(staff, admin, exc.status, fields=_fields(data), error=exc.detail,
                                       errors=exc.errors)
    return _back(f"/kantor/katalog/{publication_id}", pesan="ditambah")


@get("/katalog/{publication_id:str}")
async def edit_page(request: Request, publication_id: FromPath[str], accounts: AccountsDep) -> Template:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    p = await admin.form(publication_id)
    if p is None:
        return _no_publication(staff)
    return await _publication_page(staff, admin, p=p, message=MESSAGES.get(request.query_params.get("pesan", "")))


@post("/katalog/{publication_id:str}", status_code=303, responses={303: SAVED})
async def save_publication(request: Request, publication_id: FromPath[str], data: Form,
                           accounts: AccountsDep) -> Response:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    try:
        async with audited(request, staff, "catalogue.edit", f"publication:{publication_id}"):
            await admin.edit(publication_id, _fields(data))
    except CatalogueError as exc:
        return await _failed(staff, admin, publication_id, exc, fields=_fields(data))
    return _back(f"/kantor/katalog/{publication_id}", pesan="disimpan")


def _no_publication(staff) -> Template:
    return _notice(staff, 404, N_("Publikasi tidak ditemukan"), N_("Publikasi ini tidak ada di katalog."),
                   ("/kantor/katalog", N_("Kembali ke katalog")))


async def _failed(staff, admin: CatalogueAdmin, publication_id: str, exc: CatalogueError, **context) -> Template:
    p = await admin.form(publication_id)
    if p is None:
        return _no_publication(staff)
    return await _publication_page(staff, admin, exc.status, p=p, error=exc.detail, errors=exc.errors, **context)


# The body may hold the largest PDF allowed plus the multipart framing; the service refuses past its own limit.
@post("/katalog/{publication_id:str}/softcopy", request_max_body_size=MAX_UPLOAD + 2 * 2**20, status_code=303,
      responses={303: SAVED})
async def upload_softcopy(request: Request, publication_id: FromPath[str], accounts: AccountsDep) -> Response:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    upload, _ = await _upload(request)
    if isinstance(upload, str):
        return await _failed(staff, admin, publication_id, CatalogueError(400, NO_FILE, {"file": upload}))
    try:
        async with audited(request, staff, "catalogue.softcopy_attach", f"publication:{publication_id}",
                           filename=upload.filename):
            await admin.attach(publication_id, upload.file, upload.filename)
    except CatalogueError as exc:
        return await _failed(staff, admin, publication_id, exc)
    finally:
        await upload.close()
    return _back(f"/kantor/katalog/{publication_id}", pesan="softcopy")


@post("/katalog/{publication_id:str}/softcopy/hapus", status_code=303, responses={303: SAVED})
async def remove_softcopy(request: Request, publication_id: FromPath[str], accounts: AccountsDep) -> Response:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    try:
        async with audited(request, staff, "catalogue.softcopy_detach", f"publication:{publication_id}"):
            await admin.detach(publication_id)
    except CatalogueError as exc:
        return await _failed(staff, admin, publication_id, exc)
    return _back(f"/kantor/katalog/{publication_id}", pesan="softcopy-dihapus")


@get("/katalog/{publication_id:str}/hapus")
async def confirm_removal(request: Request, publication_id: FromPath[str], accounts: AccountsDep) -> Template:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    p = await admin.form(publication_id)
    if p is None:
        return _no_publication(staff)
    return _page("kantor_hapus.html", staff, p=p)


@post("/katalog/{publication_id:str}/hapus", status_code=303,
      responses={303: see_other("Removed: to the catalogue")})
async def remove_publication(request: Request, publication_id: FromPath[str], accounts: AccountsDep) -> Response:
    staff, admin = await _signed_in(request, accounts), _admin(request)
    try:
        async with audited(request, staff, "catalogue.remove", f"publication:{publication_id}"):
            await admin.remove(publication_id)
    except CatalogueError as exc:
        return await _failed(staff, admin, publication_id, exc)
    return _back("/kantor/katalog", pesan="dihapus")


# --- softcopy requests -----------------------------------------------------------------------------------------------
async def _queue(staff, requests: Requests, wanted: str) -> list[dict]:
    if wanted == "aktif":
        rows = await requests.all(staff, "diajukan") + await requests.all(staff, "diproses")
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))
    return await requests.all(staff, "" if wanted == "semua" else wanted)


QUEUE = see_other("Done: back to the queue")


async def _queue_page(staff, requests: Requests, wanted: str, status: int = 200, **context) -> Template:
    wanted = wanted if wanted in QUEUE_FILTERS else "aktif"
    context = {"failed_id": None, **context}
    return _page("kantor_permintaan.html", staff, status, rows=await _queue(staff, requests, wanted), wanted=wanted,
                 filters=QUEUE_FILTERS, **context)


@get("/permintaan")
async def queue(request: Request, accounts: AccountsDep, requests: RequestsDep) -> Template:
    staff = await _signed_in(request, accounts)
    return await _queue_page(staff, requests, request.query_params.get("status", "aktif"),
                             message=MESSAGES.get(request.query_params.get("pesan", "")))


async def _act(request: Request, staff, requests: Requests, request_id: str, wanted: str, done: str,
               action) -> Response:
    try:
        verb = {"diproses": "process", "ditolak": "reject", "selesai": "fulfil"}[done]
        async with audited(request, staff, f"request.{verb}", f"softcopy_request:{request_id}"):
            await action
    except CatalogueError as exc:
        return await _queue_page(staff, requests, wanted, exc.status, error=exc.detail, errors=exc.errors,
                                 failed_id=request_id)
    return _back("/kantor/permintaan", status=wanted if wanted in QUEUE_FILTERS else "", pesan=done)


@post("/permintaan/{request_id:str}/proses", status_code=303, responses={303: QUEUE})
async def process(request: Request, request_id: FromPath[str], data: Form, accounts: AccountsDep,
                  requests: RequestsDep) -> Response:
    staff = await _signed_in(request, accounts)
    return await _act(request, staff, requests, request_id, data.get("status", ""), "diproses",
                      requests.process(staff, request_id))


@post("/permintaan/{request_id:str}/tolak", status_code=303, responses={303: QUEUE})
async def reject(request: Request, request_id: FromPath[str], data: Form, accounts: AccountsDep,
                 requests: RequestsDep) -> Response:
    staff = await _signed_in(request, accounts)
    return await _act(request, staff, requests, request_id, data.get("status", ""), "ditolak",
                      requests.reject(staff, request_id, data.get("reason", "")))


@post("/permintaan/{request_id:str}/selesai", request_max_body_size=MAX_PDF + 2 * 2**20, status_code=303,
      responses={303: QUEUE})
async def fulfil(request: Request, request_id: FromPath[str], accounts: AccountsDep, requests: RequestsDep) -> Response:
    staff = await _signed_in(request, accounts)
    upload, fields = await _upload(request)
    wanted = fields.get("status", "")
    if isinstance(upload, str):
        return await _queue_page(staff, requests, wanted, 400, error=NO_FILE, errors={"file": upload},
                                 failed_id=request_id)
    try:
        data = await upload.read()
    finally:
        await upload.close()
    return await _act(request, staff, requests, request_id, wanted, "selesai",
                      requests.fulfil(staff, request_id, data, upload.filename))


# --- offices and appliances ----------------------------------------------------------------------------------------
def device_state(device: dict, now: datetime) -> tuple[str, str]:
    """(what the office reads, in Indonesian: the page translates it, a CSS class) for one device."""
    if device["revoked_at"]:
        return N_("Dicabut %(time)s") % {"time": when(device["revoked_at"])}, "off"
    if device["enrolled"]:
        return N_("Terdaftar %(time)s") % {"time": when(device["enrolled_at"])}, "ok"
    expires = device["enrol_expires_at"]
    expires = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)) > now:
        return N_("Menunggu pendaftaran (kode berlaku s.d. %(time)s)") % {"time": when(expires)}, "wait"
    return N_("Kode kedaluwarsa — cabut, lalu tambahkan perangkat lagi"), "off"


OFFICES = see_other("Done: back to the offices")


async def _offices_page(request: Request, staff, devices: Devices, status: int = 200, **context) -> Template:
    now = request.app.state.clock.now()
    listed, health = await devices.devices(), await Fleet(devices.db).latest()
    for device in listed:
        device["state"], device["state_class"] = device_state(device, now)
        device["health"] = health.get(device["id"])  # the latest its sync rounds reported (cloud.fleet)
    by_office: dict[str, list] = {}
    for device in listed:
        by_office.setdefault(device["office_code"], []).append(device)
    context = {"office_form": {}, "device_form": {}, "email_form": {}, **context}
    return _page("kantor_kantor.html", staff, status, offices=await devices.offices(), by_office=by_office,
                 printer_states=PRINTER_STATES, office_emails=await fleet_alerts.office_emails(devices.db), **context)


@get("/kantor")
async def offices(request: Request, accounts: AccountsDep, devices: DevicesDep) -> Template:
    staff = await _signed_in(request, accounts)
    return await _offices_page(request, staff, devices, message=MESSAGES.get(request.query_params.get("pesan", "")))


@post("/kantor", status_code=303, responses={303: OFFICES})
async def add_office(request: Request, data: Form, accounts: AccountsDep, devices: DevicesDep) -> Response:
    admin = await _signed_in(request, accounts, admin=True)
    form = {"code": data.get("code", ""), "name": data.get("name", "")}
    try:
        await devices.add_office(form["code"], form["name"], admin.email, client_address(request))
    except AccountError as exc:
        return await _offices_page(request, admin, devices, exc.status, error=exc.detail,
                                   office_errors=exc.errors, office_form=form)
    return _back("/kantor/kantor", pesan="kantor")


@post("/kantor/email", status_code=303, responses={303: OFFICES})
async def office_email(request: Request, data: Form, accounts: AccountsDep, devices: DevicesDep) -> Response:
    """The office staff's address the fleet's alerts are mailed to (cloud.fleet_alerts); admins only."""
    admin = await _signed_in(request, accounts, admin=True)
    form = {"office": data.get("office", ""), "email": data.get("email", "")}
    try:
        await fleet_alerts.set_office_email(devices.db, request.app.state.clock.now(), form["office"], form["email"],
                                            admin.email, client_address(request))
    except AccountError as exc:
        return await _offices_page(request, admin, devices, exc.status, error=exc.detail,
                                   email_errors=exc.errors, email_form=form)
    return _back("/kantor/kantor", pesan="email-kantor")


@post("/kantor/perangkat",
      responses={201: html("The new device, its one-time enrolment code and the command that takes it")})
async def add_device(request: Request, data: Form, accounts: AccountsDep, devices: DevicesDep) -> Response:
    admin = await _signed_in(request, accounts, admin=True)
    form = {"office": data.get("office", ""), "name": data.get("name", "")}
    try:
        device, code = await devices.add_device(form["office"], form["name"], admin.email, client_address(request))
    except AccountError as exc:
        return await _offices_page(request, admin, devices, exc.status, error=exc.detail,
                                   device_errors=exc.errors, device_form=form)
    command = f"pst edge enroll --cloud {request.app.state.public_url} --code {code}"
    return _page("kantor_perangkat_baru.html", admin, 201, device=device, code=code, command=command,
                 office=await devices.office(device["office_code"]))


@get("/kantor/perangkat/{device_id:str}/cabut")
async def confirm_revoke(request: Request, device_id: FromPath[str], accounts: AccountsDep,
                         devices: DevicesDep) -> Template:
    admin = await _signed_in(request, accounts, admin=True)
    device = await devices.device(device_id)
    if device is None:
        return _notice(admin, 404, *NO_DEVICE, ("/kantor/kantor", N_("Kembali")))
    return _page("kantor_cabut.html", admin, device=device)


@get("/kantor/perangkat/{device_id:str}/ditolak")
async def refused(request: Request, device_id: FromPath[str], accounts: AccountsDep, devices: DevicesDep) -> Template:
    """The device's dead letters: what the cloud could not take, and why."""
    staff = await _signed_in(request, accounts)
    device = await devices.device(device_id)
    if device is None:
        return _notice(staff, 404, *NO_DEVICE, ("/kantor/kantor", N_("Kembali")))
    return _page("kantor_ditolak.html", staff, device=device, rows=await devices.refused(device_id))


@post("/kantor/perangkat/{device_id:str}/cabut", status_code=303, responses={303: OFFICES})
async def revoke(request: Request, device_id: FromPath[str], accounts: AccountsDep, devices: DevicesDep) -> Response:
    admin = await _signed_in(request, accounts, admin=True)
    if not await devices.revoke(device_id, admin.email, client_address(request)):
        return _notice(admin, 409, N_("Tidak dapat dicabut"), N_("Perangkat ini tidak ada atau sudah dicabut."),
                       ("/kantor/kantor", N_("Kembali")))
    return _back("/kantor/kantor", pesan="dicabut")


@get("/kantor/perangkat/{device_id:str}/ganti")
async def confirm_replace(request: Request, device_id: FromPath[str], accounts: AccountsDep, devices: DevicesDep,
                          db: DatabaseDep) -> Template:
    """A dead appliance's replacement: what will happen, the backups the cloud holds for it (admins)."""
    admin = await _signed_in(request, accounts, admin=True)
    device = await devices.device(device_id)
    if device is None:
        return _notice(admin, 404, *NO_DEVICE, ("/kantor/kantor", N_("Kembali")))
    stored = await Backups(db, request.app.state.settings.data_dir).list(device["id"])
    return _page("kantor_ganti.html", admin, device=device, backups=stored)


@post("/kantor/perangkat/{device_id:str}/ganti",
      responses={201: html("The replacement's one-time code and the command that restores it")})
async def replace(request: Request, device_id: FromPath[str], accounts: AccountsDep, devices: DevicesDep) -> Response:
    admin = await _signed_in(request, accounts, admin=True)
    try:
        code = await devices.replacement_code(device_id, admin.email, client_address(request))
    except AccountError as exc:
        return _notice(admin, exc.status, N_("Tidak dapat diganti"), exc.detail, ("/kantor/kantor", N_("Kembali")))
    device = await devices.device(device_id)
    command = f"pst edge restore --from-cloud --cloud {request.app.state.public_url} --code {code}"
    return _page("kantor_perangkat_baru.html", admin, 201, device=device, code=code, command=command,
                 office=await devices.office(device["office_code"]), replacement=True)


@get("/kantor/perangkat/{device_id:str}/cadangan/{backup_id:str}",
     responses={200: content("application/gzip", "The backup as it came")})
async def download_backup(request: Request, device_id: FromPath[str], backup_id: FromPath[str],
                          accounts: AccountsDep, devices: DevicesDep, db: DatabaseDep) -> Response:
    """A stored backup of an appliance, as it came (gzip): admins only, and every download is in the audit trail —
    it holds the desk's visitors."""
    admin = await _signed_in(request, accounts, admin=True)
    backups = Backups(db, request.app.state.settings.data_dir)
    backup = await backups.get(device_id[:36], backup_id)
    if backup is None or not backups.path(backup).is_file():
        return _notice(admin, 404, N_("Cadangan tidak ditemukan"), N_("Cadangan ini tidak ada atau sudah diganti yang"
                       " lebih baru."), ("/kantor/kantor", N_("Kembali")))
    device = await devices.device(backup["device_id"])
    now = request.app.state.clock.now()
    async with db.transaction():
        await audit.record(db, now, actor=admin.email, action="device.backup.download",
                           target=f"device:{backup['device_id']}", detail={"backup": backup["id"]},
                           address=client_address(request), office_code=device["office_code"] if device else None,
                           device_id=backup["device_id"])
    return File(backups.path(backup), filename=f"pst-edge-{backup['taken_at']:%Y%m%d-%H%M%S}.db.gz",
                media_type="application/gzip")


routes = [Router(
    path="/kantor",
    route_handlers=also_answer(BACK_OFFICE, [
        landing, catalogue_list, new_publication, add_publication, edit_page, save_publication, upload_softcopy,
        remove_softcopy, confirm_removal, remove_publication, queue, process, reject, fulfil, offices, add_office,
        office_email, add_device, confirm_revoke, refused, revoke, confirm_replace, replace, download_backup,
    ]),
    # HTML answers also for what the middleware refuses before a handler runs: a stale CSRF token, an oversized body
    exception_handlers={_NotSignedIn: _to_sign_in, _Forbidden: _refused, 413: _too_large,
                        PermissionDeniedException: _stale_form},
)]
