"""The application factory: `create_app(settings)` builds a configured FastAPI app."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import PROJECT_ROOT, jobs, observability
from app.auth import CsrfCookieMiddleware, csrf_protect, load_auth
from app.config import ConfigError, Settings, get_settings
from app.content.catalogue import load_catalogue, log_broken
from app.db import make_engine, writer
from app.errors import install_error_handlers
from app.headers import SecurityHeaders
from app.inputs import InputNormaliser
from app.locale_middleware import LocaleMiddleware
from app.migrations import ensure_current
from app.proxies import ProxyHeaders, TrustedProxies
from app.routes import all_routers

log = logging.getLogger("nabij")


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> FastAPI:
    settings = settings or get_settings()
    secret = settings.secret()  # fail fast, with one line, before anything else
    try:
        trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    engine = make_engine(settings)
    if check_schema:
        try:
            ensure_current(settings, engine)
        except ConfigError:
            engine.dispose()
            raise
    catalogue = load_catalogue(settings.modules_dir)
    log_broken(catalogue)
    log.info("serving %d module(s) from %s", len(catalogue.modules), settings.modules_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Sync routes run in AnyIO's thread pool; more threads than DB connections only queue.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.db_pool_size + settings.db_max_overflow
        yield
        engine.dispose()

    app = FastAPI(title="Nabij", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(load_auth), Depends(csrf_protect)])
    app.state.settings = settings
    app.state.secret = secret
    app.state.engine = engine
    app.state.write_engine = writer(engine)
    app.state.catalogue = catalogue
    jobs.configure(settings, engine=engine, catalogue=catalogue)  # background jobs (app/jobs.py)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    for router in all_routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(CsrfCookieMiddleware, settings=settings)
    app.add_middleware(InputNormaliser)  # control characters in any input: one rule (app/inputs.py)
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(SecurityHeaders, production=settings.is_production)
    app.add_middleware(ProxyHeaders, trusted=trusted_proxies)
    observability.install(app, settings, engine)  # outermost: access log, /metrics counters
    return app
