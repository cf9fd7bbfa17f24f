"""`create_app()` wires the appliance into a Litestar app; nothing else happens here."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, InternalServerException, NotAuthorizedException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig

from edge import sessions
from edge.appliance import Appliance, secret_key
from edge.auth import RoleRefused, can, current_user, staff_only, take_flash
from edge.errors import error_response
from edge.i18n import Languages
from edge.metrics import Latency, timing_middleware
from edge.metrics import metrics as metrics_route
from edge.origin import same_origin_only
from edge.roles import ROLES, allowed
from edge.routes import (
    audit,
    catalogue,
    complaint_desk,
    console,
    display,
    guestbook,
    kiosk,
    language,
    lockers,
    privacy,
    quality,
    reports,
    scans,
    sim,
    softcopy,
    staff,
    visitor,
)
from edge.sessions import SessionConfig
from edge.settings import EdgeSettings
from edge.store import MESSAGES, StoreUnavailable, disk_fault
from hardware.builder import Hardware
from pst import __version__, formats, source
from pst.clock import Clock
from pst.logsafe import redact_path
from pst.openapi import PAGE, also_answer, content, document_errors, see_other
from pst.security_headers import security_headers

HERE = Path(__file__).parent
SHARED_TEMPLATES = Path(__file__).parents[1] / "pst" / "templates"  # pages both apps draw alike (the IKM sheet)
log = logging.getLogger(__name__)
SESSION_COOKIE = "pst_session"
CSRF_COOKIE = "pst_csrf"


@get("/healthz", sync_to_thread=True)
def healthz(appliance: NamedDependency[Appliance]) -> dict:
    return appliance.health()


@get(source.PATH, sync_to_thread=True, responses={200: content("application/gzip", "The source, .tar.gz")})
def source_code() -> Response:
    """The running version's source (AGPL-3.0-or-later, LICENSE): what the footer's "Kode sumber" links to."""
    return Response(source.archive(), media_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{source.filename()}"'})


def handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotAuthorizedException) and request.url.path.startswith("/petugas"):
        return Redirect("/petugas/masuk", status_code=303)
    if isinstance(exc, RoleRefused) and request.url.path.startswith("/petugas"):  # a page, with the staff bar
        return Template("refused.html", status_code=exc.status_code, context={
            "office": request.app.state.appliance.config.office, "user": current_user(request)})
    return error_response(request, exc)


def unexpected_error(request: Request, exc: Exception) -> Response:
    """A fault no other handler knows: logged, and answered with the error body and nothing of its internals, as
    every other error is (Litestar's own answer has no `errors`, and it logs nothing outside debug mode)."""
    log.error("unhandled error on %s %s", request.method, redact_path(request.url.path), exc_info=exc)
    return Response({"detail": "Terjadi kesalahan pada server", "errors": {}}, status_code=500)


SIGNED_OUT = see_other("Not signed in: to the sign-in page")


def document_staff_pages(routes: list) -> None:
    """What handle_error answers on a guarded staff page, in its OpenAPI: 303 to the sign-in page when signed out,
    and the "Akses ditolak" page (403) where a role lacks the page's capability."""
    for handler in routes:
        if not isinstance(handler, HTTPRouteHandler) or staff_only not in (handler.guards or ()):
            continue
        if any(path.startswith("/petugas") for path in handler.paths):
            everyone = all(allowed(role, handler.opt.get("capability")) for role in ROLES)
            also_answer({303: SIGNED_OUT, **({} if everyone else {"4XX": PAGE})}, [handler])


def no_such_file(request: Request, exc: Exception) -> Response:
    """A path the file system cannot even look up (a NUL byte; a name too long, which Litestar's file adapter turns
    into a 500) is simply not there."""
    return error_response(request, NotFoundException("Berkas tidak ditemukan"))


def storage_refused(request: Request, exc: Exception) -> Response | Template:
    """A write the store refused (disk full or failing, database damaged), or a read a damaged file could not
    answer: 507 (full) or 503 with the reason in Indonesian, never a 500; a page gets a page with the banner."""
    store = request.app.state.appliance.store
    state = exc.state if isinstance(exc, StoreUnavailable) else disk_fault(exc)
    if state is None:
        log.error("database error on %s", redact_path(request.url.path), exc_info=exc)
        return error_response(request, exc)
    store.refuse(state)
    status = 507 if state == "full" else 503
    if request.url.path.startswith(("/api/", "/_sim/", "/healthz")):
        return Response({"detail": MESSAGES[state], "errors": {}}, status_code=status)
    return Template("storage_fault.html", status_code=status,
                    context={"office": request.app.state.appliance.config.office})


def configure_templates(env, languages, settings: EdgeSettings, appliance: Appliance) -> None:
    languages.install(env)
    formats.register(env)  # numbers, dates and periods in the page's language (after the catalogue: they use it)
    env.globals["sim_mode"] = settings.hardware == "sim"  # pages show the simulated devices' controls
    # every page says so while the store refuses writes (base.html)
    env.globals["storage_notice"] = lambda: MESSAGES.get(appliance.store.state) if appliance.store else None
    env.globals["take_flash"] = take_flash  # a form's message for the page after its redirect (flash.html)
    env.globals["can"] = can  # a staff page shows a link or a button only to the roles it is for (edge.roles)
    env.globals["source_url"] = source.link(settings.source_url)  # every page's footer (the AGPL)
    env.globals["pst_version"] = __version__


def create_app(settings: EdgeSettings, clock: Clock | None = None, hardware: Hardware | None = None) -> Litestar:
    appliance = Appliance(settings, clock=clock, hardware=hardware)
    routes = [
        healthz, source_code, *kiosk.routes, *guestbook.routes, *staff.routes, *console.routes, *display.routes, *reports.routes,
        *lockers.routes, *scans.routes, *catalogue.routes, *quality.routes, *language.routes, *softcopy.routes,
        *complaint_desk.routes, *privacy.routes, *visitor.routes,
        *audit.routes, metrics_route,
        create_static_files_router(path="/static", directories=[HERE / "static"],
                                   exception_handlers={ValueError: no_such_file, OSError: no_such_file,
                                                       InternalServerException: no_such_file}),
    ]
    if settings.hardware == "sim":
        routes += [*sim.routes, *scans.sim_routes]
    document_staff_pages(routes)
    document_errors(routes)
    secret = secret_key(settings.data_dir, settings.db_path)
    languages = Languages.load(cache=settings.data_dir / "cache" / "locale")
    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), channels=[display.CHANNEL])
    latency = Latency()  # /metrics' request durations, kept in this process
    tls = settings.public_url.startswith("https://")  # mostly plain HTTP on the office LAN: Secure cookies only then
    session_store = FileStore(settings.data_dir / "sessions", create_directories=True)
    background: dict[str, object] = {}

    def start() -> None:
        appliance.start()
        loop = asyncio.get_running_loop()
        # calls are made in worker threads; the channels plugin lives on the event loop
        appliance.publish = lambda event: loop.call_soon_threadsafe(channels.publish, json.dumps(event), display.CHANNEL)
        background["stop"] = stop = asyncio.Event()  # made on the loop that serves
        background["purge"] = asyncio.create_task(sessions.purge(session_store, stop))

    async def stop() -> None:
        if background.get("purge") is not None:
            background["stop"].set()
            await background.pop("purge")
        appliance.stop()

    app = Litestar(
        route_handlers=routes,
        dependencies={
            "appliance": Provide(lambda: appliance, sync_to_thread=False),
            "languages": Provide(lambda: languages, sync_to_thread=False),
        },
        plugins=[channels],
        on_startup=[start],
        on_shutdown=[stop],
        template_config=TemplateConfig(
            directory=[HERE / "templates", SHARED_TEMPLATES], engine=JinjaTemplateEngine,
            engine_callback=lambda engine: configure_templates(engine.engine, languages, settings, appliance),
        ),
        middleware=[
            DefineMiddleware(same_origin_only, public_url=settings.public_url),
            timing_middleware(latency),
            DefineMiddleware(language.language_middleware, languages=languages),
            SessionConfig(key=SESSION_COOKIE, samesite="strict", max_age=12 * 3600, httponly=True,
                          secure=tls).middleware,
        ],
        stores={"sessions": session_store},
        # JSON endpoints rely on the SameSite=Strict session cookie; every HTML form carries a token.
        csrf_config=CSRFConfig(
            secret=secret.hex(), cookie_name=CSRF_COOKIE, cookie_samesite="strict", exclude=["/api/", "/_sim/"],
            cookie_secure=tls, cookie_httponly=True,  # the token reaches forms through csrf_input, never through JS
        ),
        exception_handlers={HTTPException: handle_error, StoreUnavailable: storage_refused,
                            sqlite3.DatabaseError: storage_refused, Exception: unexpected_error},
        before_send=[security_headers(strict_transport=False)],
        debug=False,
    )
    app.state.appliance = appliance
    app.state.latency = latency
    return app


def app_from_env() -> Litestar:
    """Factory for `uvicorn --factory edge.app:app_from_env`."""
    return create_app(EdgeSettings.from_env())
