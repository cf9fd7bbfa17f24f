"""`create_app()` wires the appliance into a Litestar app; nothing else happens here."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from litestar import Litestar, Request, Response, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig

from edge.appliance import Appliance, secret_key
from edge.errors import error_response
from edge.i18n import Languages
from edge.routes import (
    catalogue,
    console,
    display,
    guestbook,
    kiosk,
    language,
    lockers,
    quality,
    reports,
    scans,
    sim,
    softcopy,
    staff,
)
from edge.settings import EdgeSettings
from hardware.builder import Hardware
from pst.clock import Clock

HERE = Path(__file__).parent
SESSION_COOKIE = "pst_session"
CSRF_COOKIE = "pst_csrf"


@get("/healthz", sync_to_thread=True)
def healthz(appliance: NamedDependency[Appliance]) -> dict:
    return appliance.health()


def handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotAuthorizedException) and request.url.path.startswith("/petugas"):
        return Redirect("/petugas/masuk", status_code=303)
    return error_response(request, exc)


def configure_templates(env, languages, settings: EdgeSettings) -> None:
    languages.install(env)
    env.globals["sim_mode"] = settings.hardware == "sim"  # pages show the simulated devices' controls


def create_app(settings: EdgeSettings, clock: Clock | None = None, hardware: Hardware | None = None) -> Litestar:
    appliance = Appliance(settings, clock=clock, hardware=hardware)
    routes = [
        healthz, *kiosk.routes, *guestbook.routes, *staff.routes, *console.routes, *display.routes, *reports.routes,
        *lockers.routes, *scans.routes, *catalogue.routes, *quality.routes, *language.routes, *softcopy.routes,
        create_static_files_router(path="/static", directories=[HERE / "static"]),
    ]
    if settings.hardware == "sim":
        routes += [*sim.routes, *scans.sim_routes]
    secret = secret_key(settings.data_dir)
    languages = Languages.load()
    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), channels=[display.CHANNEL])

    def start() -> None:
        appliance.start()
        loop = asyncio.get_running_loop()
        # calls are made in worker threads; the channels plugin lives on the event loop
        appliance.publish = lambda event: loop.call_soon_threadsafe(channels.publish, json.dumps(event), display.CHANNEL)

    app = Litestar(
        route_handlers=routes,
        dependencies={
            "appliance": Provide(lambda: appliance, sync_to_thread=False),
            "languages": Provide(lambda: languages, sync_to_thread=False),
        },
        plugins=[channels],
        on_startup=[start],
        on_shutdown=[lambda: appliance.stop()],
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine,
            engine_callback=lambda engine: configure_templates(engine.engine, languages, settings),
        ),
        middleware=[
            DefineMiddleware(language.language_middleware, languages=languages),
            ServerSideSessionConfig(key=SESSION_COOKIE, samesite="strict", max_age=12 * 3600).middleware,
        ],
        stores={"sessions": FileStore(settings.data_dir / "sessions", create_directories=True)},
        # JSON endpoints rely on the SameSite=Strict session cookie; every HTML form carries a token.
        csrf_config=CSRFConfig(
            secret=secret.hex(), cookie_name=CSRF_COOKIE, cookie_samesite="strict", exclude=["/api/", "/_sim/"],
        ),
        exception_handlers={HTTPException: handle_error},
        debug=False,
    )
    app.state.appliance = appliance
    return app


def app_from_env() -> Litestar:
    """Factory for `uvicorn --factory edge.app:app_from_env`."""
    return create_app(EdgeSettings.from_env())
