"""`/metrics` in Prometheus text format, for administrators or a scraper with NABIJ_METRICS_TOKEN.

Everyone else gets 404, as for other pages they may not see. The figures are this worker process's
own (see app/observability.py); every sample carries a `worker` label.
"""

from __future__ import annotations

import hmac

import anyio.to_thread
from fastapi import HTTPException, Request
from fastapi.responses import PlainTextResponse

from app.config import Settings
from app.routing import Router

router = Router(tags=["operations"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def may_read_metrics(request: Request) -> bool:
    user = getattr(request.state, "user", None)
    if user is not None and user.role == "admin":
        return True
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        return False
    expected = settings.metrics_token.get_secret_value()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return (
        bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
    )


def _gauges(request: Request):
    limiter = anyio.to_thread.current_default_thread_limiter()
    yield (
        "nabij_threadpool_limit",
        "Threads this worker may use for sync routes (sized to the DB pool).",
        limiter.total_tokens,
    )
    yield "nabij_threadpool_in_use", "Threads busy with a request right now.", limiter.borrowed_tokens
    gate = getattr(request.app.state, "in_flight", None)
    if gate is not None:
        yield "nabij_requests_in_flight", "Requests being handled (static files not counted).", gate.in_flight
        yield "nabij_requests_waiting", "Requests waiting for admission.", gate.waiting
        yield (
            "nabij_requests_in_flight_limit",
            "Requests admitted at once (half the database connections).",
            gate.limit,
        )
    pool = request.app.state.engine.pool
    if hasattr(pool, "size") and hasattr(pool, "checkedout"):
        settings: Settings = request.app.state.settings
        yield (
            "nabij_db_pool_limit",
            "Database connections this worker may open (pool size + overflow).",
            settings.db_pool_size + settings.db_max_overflow,
        )
        yield "nabij_db_pool_in_use", "Database connections checked out right now.", pool.checkedout()


# async: runs on the event loop, where the counters are updated, so it reads them consistently.
@router.get("/metrics")
async def read_metrics(request: Request) -> PlainTextResponse:
    if not may_read_metrics(request):
        raise HTTPException(404)
    body = request.app.state.metrics.render(_gauges(request))
    return PlainTextResponse(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
