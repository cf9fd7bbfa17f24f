"""`create_app()` wires the portal into a Litestar app; nothing else happens here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.exceptions import InternalServerException, NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from cloud import accounts as accounts_module
from cloud import fleet_alerts, stamping
from cloud.oai import write_records
from cloud.accounts import AccountError, Accounts
from cloud.catalogue import Catalogue, CatalogueError
from cloud.db import Database
from cloud.devices import Devices
from cloud.locations import Locations
from cloud.demo_catalogue import seed_demo_catalogue
from cloud.errors import ApiError, error_response
from cloud.mail import SmtpMailer
from cloud.metrics import Recorder, share_between_workers
from cloud.metrics import routes as metrics_routes
from cloud.migrations import migrate
from cloud.privacy import Privacy, run_daily
from cloud.quality import Quality
from cloud.reading import Reading
from cloud.requests import Requests
from cloud.routes import accounts, backoffice, catalogue, dev, fleet, pages, quality, reports
from cloud.routes import requests as request_routes
from cloud.routes import SESSION_COOKIE, deliverables, locations
from cloud.routes import language as language_routes
from cloud.routes import sync as sync_routes
from cloud.routes import audit as audit_routes
from cloud.routes import privacy as privacy_routes
from cloud.routes import oai as oai_routes
from cloud.routes import seo as seo_routes
from cloud.settings import CloudSettings, ConfigError
from cloud.upload_gate import UploadGate
from pst import __version__, formats, source
from pst.clock import Clock, SystemClock
from pst.openapi import content, document_errors, error_body
from pst.i18n import N_, Languages, language_middleware
from pst.security_headers import security_headers

HERE = Path(__file__).parent
SHARED_TEMPLATES = Path(__file__).parents[1] / "pst" / "templates"  # pages both apps draw alike (the IKM sheet)
CSRF_COOKIE = "pst_cloud_csrf"


@get(source.PATH, responses={200: content("application/gzip", "The source, .tar.gz")})
async def source_code() -> Response:
    """The running version's source (AGPL-3.0-or-later, LICENSE): what the footer's "Kode sumber" links to."""
    archive = await asyncio.to_thread(source.archive)
    return Response(archive, media_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{source.filename()}"'})


@get("/healthz", responses={503: error_body("The database cannot be reached")})
async def healthz(db: NamedDependency[Database]) -> dict:
    try:
        await db.execute("SELECT 1 AS one")
    except Exception as exc:  # the database is down or unreachable: say so, without internals
        raise ApiError(503, "Basis data tidak dapat dihubungi", {"database": type(exc).__name__}) from None
    return {"status": "ok", "database": db.kind}


def no_such_file(request: Request, exc: Exception) -> Response:
    """A path the file system cannot even look up (a NUL byte, a name too long) is simply not there, not a 500."""
    return error_response(request, NotFoundException("Berkas tidak ditemukan"))


def create_app(settings: CloudSettings, clock: Clock | None = None) -> Litestar:
    if not settings.smtp_url:
        raise ConfigError("PST_CLOUD_SMTP_URL: not set (the demo's `pst cloud serve --demo` starts a local sink)")
    key = settings.signing_key()
    db = Database(settings.database_url)
    clock = clock or SystemClock()
    service = Accounts(db, clock, SmtpMailer(settings.smtp_url, settings.mail_from), key, settings.public_url)
    books, reading = Catalogue(db), Reading(db, clock, settings.data_dir)
    # a reader's mail goes through the accounts, which add a set-password link for an account made at the desk
    asked = Requests(db, clock, service, settings.data_dir, settings.public_url)
    devices = Devices(db, clock, key)
    places = Locations(db, clock)
    personal = Privacy(db, clock, key, settings.data_dir, settings.identity_months)
    languages = Languages.load(HERE / "locale")
    recorder = Recorder()  # requests, latency, 429s and sync batches for /metrics (cloud.metrics)

    def configure_templates(engine: JinjaTemplateEngine) -> None:
        languages.install(engine.engine)  # `_()`, `ngettext()`, `language()` and the switch in every page
        formats.register(engine.engine)  # numbers, dates and periods in the page's language (pst.formats)
        engine.engine.globals.update(
            source_url=source.link(settings.source_url), pst_version=__version__,  # every page's footer (the AGPL)
            privacy_months=settings.identity_months,
            privacy_contact=settings.privacy_contact or N_("petugas PST di kantor BPS yang Anda kunjungi"))

    routes = [
        healthz, source_code, *accounts.routes, *pages.routes, *catalogue.routes, *request_routes.routes, *backoffice.routes,
        *quality.routes, *reports.routes, *sync_routes.routes, *deliverables.routes, *fleet.routes,
        *locations.routes, *audit_routes.routes, *privacy_routes.routes, *language_routes.routes,
        *seo_routes.routes,
        *oai_routes.routes,
        *metrics_routes(settings.metrics_token),
        create_static_files_router(path="/static", directories=[HERE / "static"], exception_handlers={
            ValueError: no_such_file, OSError: no_such_file, InternalServerException: no_such_file}),
    ]
    if settings.demo:
        routes += dev.routes
    document_errors(routes)

    async def start() -> None:
        await db.start()
        await migrate(db)  # idempotent; on PostgreSQL workers starting together take turns
        if db.kind == "sqlite":  # fresh statistics for the query planner (PostgreSQL's autovacuum keeps its own)
            await db.execute("PRAGMA optimize")
        if settings.demo:  # an empty demo portal gets the demo catalogue; a real import is never touched
            await seed_demo_catalogue(db, clock, settings.data_dir)
        # the daily retention of personal data (cloud.privacy): once a day across every worker and host
        app.state.retention_stop = asyncio.Event()  # made on the loop that serves (an app may be started again)
        app.state.retention = asyncio.create_task(
            run_daily(db, clock, settings.identity_months, settings.data_dir, app.state.retention_stop))
        # the fleet's alerts (cloud.fleet_alerts): evaluated and mailed every minute, safe on every worker at once
        app.state.alerts_stop = asyncio.Event()
        app.state.alerts = asyncio.create_task(fleet_alerts.run(
            db, clock, SmtpMailer(settings.smtp_url, settings.mail_from), settings.public_url, app.state.alerts_stop))
        # OAI records for editions stamped before records were kept (cloud.oai): a few at a time, off the requests
        app.state.oai_stop = asyncio.Event()
        app.state.oai_records = asyncio.create_task(write_records(db, app.state.oai_stop))

    async def stop() -> None:
        stamping.close()
        if getattr(app.state, "oai_records", None) is not None:
            app.state.oai_stop.set()
            await app.state.oai_records
            app.state.oai_records = None
        if getattr(app.state, "alerts", None) is not None:
            app.state.alerts_stop.set()
            await app.state.alerts
            app.state.alerts = None
        if getattr(app.state, "retention", None) is not None:
            app.state.retention_stop.set()
            await app.state.retention
            app.state.retention = None
        await db.stop()

    app = Litestar(
        route_handlers=routes,
        dependencies={
            "db": Provide(lambda: db, sync_to_thread=False),
            "accounts": Provide(lambda: service, sync_to_thread=False),
            "catalogue": Provide(lambda: books, sync_to_thread=False),
            "reading": Provide(lambda: reading, sync_to_thread=False),
            "requests": Provide(lambda: asked, sync_to_thread=False),
            "devices": Provide(lambda: devices, sync_to_thread=False),
            "locations": Provide(lambda: places, sync_to_thread=False),
            "quality": Provide(lambda: Quality(db, clock), sync_to_thread=False),
            "privacy": Provide(lambda: personal, sync_to_thread=False),
            "languages": Provide(lambda: languages, sync_to_thread=False),
        },
        on_startup=[start],
        middleware=[
            recorder.middleware,
            DefineMiddleware(language_middleware, languages=languages),
            DefineMiddleware(UploadGate, accounts=service, cookie=SESSION_COOKIE),
        ],
        on_shutdown=[stop],
        template_config=TemplateConfig(
            directory=[HERE / "templates", SHARED_TEMPLATES], engine=JinjaTemplateEngine,
            engine_callback=configure_templates,
        ),
        # the JSON API accepts only application/json (see routes.json_object); every HTML form carries a token
        csrf_config=CSRFConfig(
            secret=key.decode(), cookie_name=CSRF_COOKIE, cookie_samesite="lax", exclude=["/api/", "/sync/"],
            cookie_secure=settings.public_url.startswith("https://"), cookie_httponly=True,
        ),
        exception_handlers={AccountError: error_response, CatalogueError: error_response, Exception: error_response},
        before_send=[security_headers(strict_transport=True, public_https=settings.public_url.startswith("https://"))],
        debug=False,
    )
    app.state.settings = settings
    app.state.public_url = settings.public_url
    app.state.session_ttl = accounts_module.SESSION_TTL
    app.state.db = db
    app.state.clock = clock
    app.state.recorder = recorder
    return app


def app_from_env() -> Litestar:
    """Factory for `uvicorn --factory cloud.app:app_from_env --workers N`."""
    settings = CloudSettings.from_env()
    share_between_workers(settings.data_dir)  # /metrics sums every worker's counters
    return create_app(settings)
