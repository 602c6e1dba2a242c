"""The application factory: `create_app(settings)` builds a configured FastAPI app."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import PROJECT_ROOT, jobs, observability, templating
from app.auth import CsrfCookieMiddleware, csrf_protect, load_auth
from app.config import ConfigError, Settings, get_settings
from app.content.catalogue import load_catalogue, log_broken
from app.crypto import keyring_from_settings
from app.db import limit_threads, make_engine, writer
from app.errors import install_error_handlers
from app.headers import SecurityHeaders
from app.inputs import InputNormaliser
from app.locale_middleware import LocaleMiddleware
from app.lti.frames import LtiFrames
from app.migrations import ensure_current
from app.proxies import ProxyHeaders, TrustedProxies
from app.routes import all_routers
from app.routes import dialogue as dialogue_routes
from app.routes import lti as lti_routes
from app.routes import notifications as notification_routes
from app.routes import oidc as oidc_routes
from app.routes import safeguarding as safeguarding_routes
from app.routes import search as search_routes
from app.static_assets import StaticAssets, StaticAssetsMiddleware

log = logging.getLogger("nabij")


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> FastAPI:
    settings = settings or get_settings()
    secret = settings.secret()  # fail fast, with one line, before anything else
    try:
        trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    keyring_from_settings(settings)  # the data key too (app/crypto.py): a bad one is one line, now
    engine = make_engine(settings)
    if check_schema:
        try:
            ensure_current(settings, engine)  # also: the stored texts decrypt with the data key
        except ConfigError:
            engine.dispose()
            raise
    catalogue = load_catalogue(settings.modules_dir)
    log_broken(catalogue)
    log.info("serving %d module(s) from %s", len(catalogue.modules), settings.modules_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        limit_threads(settings)  # app/db.py, "Capacity"
        yield
        if settings.env != "test":
            # In tests the app outlives one client (and the test's own session may still hold a
            # connection): the test fixture disposes the engine once everything is done with it.
            engine.dispose()

    app = FastAPI(
        title="Nabij",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(load_auth), Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.secret = secret
    app.state.engine = engine
    app.state.write_engine = writer(engine)
    app.state.catalogue = catalogue
    jobs.configure(settings, engine=engine, catalogue=catalogue)  # background jobs (app/jobs.py)
    assets = StaticAssets(PROJECT_ROOT / "static", watch=settings.env == "development")
    templating.use_static_assets(assets)
    for router in all_routers:
        app.include_router(router)
    app.include_router(lti_routes.router)  # LTI 1.3 tool (app/lti, docs/lti.md)
    app.include_router(oidc_routes.router)  # institution sign-in (docs/sso.md)
    app.include_router(notification_routes.router)  # notifications, calendar feed, all my feedback (issue 21)
    notification_routes.install_nav_count()
    app.include_router(search_routes.router)  # search and the whole-module print page (issue 21)
    app.include_router(safeguarding_routes.router)  # break-glass reveal, access log for admins (issue 13)
    app.include_router(dialogue_routes.router)  # the dialogue under feedback (issue 21)
    install_error_handlers(app)
    # Inside SecurityHeaders: pages of a session launched in an LMS frame may be framed by that LMS.
    app.add_middleware(LtiFrames, settings=settings, secret=secret)
    app.add_middleware(CsrfCookieMiddleware, settings=settings)
    app.add_middleware(InputNormaliser)  # control characters in any input: one rule (app/inputs.py)
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(StaticAssetsMiddleware, assets=assets)  # outside the page layers (app/static_assets.py)
    app.add_middleware(SecurityHeaders, production=settings.is_production)
    app.add_middleware(ProxyHeaders, trusted=trusted_proxies)
    observability.install(app, settings, engine)  # outermost: access log, /metrics counters
    return app


def create_served_app() -> FastAPI:
    """The app as `nabij serve` runs it in each worker: create_app, then everything made at start-up
    frozen out of the garbage collector's full passes.

    A worker holds some 200,000 long-lived objects (the catalogue, templates, translations, the ORM's
    and FastAPI's structures), and every full collection walked all of them: 80 to 180 ms on these
    machines, with every request in the worker stalled behind it (the long p99 tails in
    benchmarks/RESULTS.md). Frozen (gc.freeze), a full pass looks only at what requests made since.
    Not in create_app itself: tests build an app per test, and frozen objects are never collected.
    """
    app = create_app()
    gc.collect()  # not the garbage of start-up: that is freed now, not frozen
    gc.freeze()
    return app
