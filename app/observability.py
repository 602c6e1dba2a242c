"""Operations: one structured log line per request, Prometheus metrics, and the logging set-up.

`AccessLog` is pure ASGI middleware (no BaseHTTPMiddleware overhead). For every HTTP request it:

- gives the request a random id, returned as `X-Request-ID` and added to every log record written
  while the request runs (so an error line can be matched to its request line);
- writes ONE line to the `nabij.access` logger: request id, method, route *template*, status and
  duration; a static file that was served (2xx, 304) is only counted in the metrics, where a
  counter does what a line per file would (a failed one is logged). Never the raw URL (a password-reset link carries its token in the path, and query
  strings can hold anything) and never a body: reflection text and passwords cannot reach the log;
- counts the request in `Metrics`, exposed in Prometheus text format at `/metrics`
  (app/routes/metrics.py).

Metrics live in process memory, so each worker process counts its own requests; every sample carries
a `worker` label (the process id) and Prometheus sums them (`sum without (worker) (...)`). That is
the only per-process state here, and it is fine for metrics; nothing that must be shared between
workers (sessions, throttling, CSRF) lives in process memory.

`InFlightLimit`, just inside it, admits at most as many requests per worker as it has threads and
database connections (see its docstring: without it, a burst of requests stalls the worker).

For benchmarks and tests, outside production only:
- `NABIJ_ENV=test` adds `X-Nabij-Worker: <pid>` to each response (which worker answered);
- `NABIJ_COUNT_QUERIES=1` adds `X-Query-Count: <n>`, the SQL statements the request executed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import InFlightLimit, admission_limit

access_log = logging.getLogger("nabij.access")

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the targets are p95 < 50 ms for pages and saves and < 100 ms for lecturer views.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("nabij_request_id", default=None)
_query_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("nabij_query_count", default=None)


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's template (`/modules/{slug}/{section_id}`), never the requested path.

    A mounted app (the static files) is named by its mount point: `/static/{path}`.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str) and template:
        return template
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and len(mounted) > len(root_path) and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED


class Metrics:
    """Request counters and a duration histogram for one process, labelled by method, route, status."""

    def __init__(self) -> None:
        self.worker = str(os.getpid())
        self.started = time.time()
        # (method, route, status) -> [count per bucket..., +Inf count, sum of seconds]
        self.series: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # Runs on the event loop thread only: no lock needed.
        key = (method, route, str(status))
        values = self.series.get(key)
        if values is None:
            values = self.series[key] = [0] * (len(BUCKETS) + 1) + [0.0]
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                values[index] += 1
        values[len(BUCKETS)] += 1
        values[-1] += seconds

    def render(self, gauges: Iterable[tuple[str, str, float]] = ()) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        worker = f'worker="{self.worker}"'
        lines = [
            "# HELP nabij_http_requests_total HTTP requests answered, by method, route template and status.",
            "# TYPE nabij_http_requests_total counter",
        ]
        ordered = sorted(self.series.items())
        for (method, route, status), values in ordered:
            labels = f'method="{_escape(method)}",route="{_escape(route)}",status="{status}",{worker}'
            lines.append(f"nabij_http_requests_total{{{labels}}} {int(values[len(BUCKETS)])}")
        lines += [
            "# HELP nabij_http_request_duration_seconds Time from request to the end of the response.",
            "# TYPE nabij_http_request_duration_seconds histogram",
        ]
        for (method, route, status), values in ordered:
            labels = f'method="{_escape(method)}",route="{_escape(route)}",status="{status}",{worker}'
            for index, bound in enumerate(BUCKETS):
                lines.append(
                    f'nabij_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {int(values[index])}'
                )
            lines.append(
                f'nabij_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {int(values[len(BUCKETS)])}'
            )
            lines.append(f"nabij_http_request_duration_seconds_sum{{{labels}}} {_number(values[-1])}")
            lines.append(f"nabij_http_request_duration_seconds_count{{{labels}}} {int(values[len(BUCKETS)])}")
        lines += [
            "# HELP nabij_process_start_time_seconds When this worker process started (Unix time).",
            "# TYPE nabij_process_start_time_seconds gauge",
            f"nabij_process_start_time_seconds{{{worker}}} {_number(self.started)}",
        ]
        for name, help_text, value in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name}{{{worker}}} {_number(value)}"]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


STATIC_PREFIX = "/static/"


class AccessLog:
    """One log line and one metrics observation per HTTP request; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, worker_header: bool = False, count_queries: bool = False
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.worker = str(os.getpid()).encode() if worker_header else None
        self.count_queries = count_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        request_id = secrets.token_hex(8)
        id_token = request_id_var.set(request_id)
        counter: list[int] | None = [0] if self.count_queries else None
        count_token = _query_counter.set(counter) if counter is not None else None
        status = 500
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode())]
        if self.worker is not None:
            extra.append((b"x-nabij-worker", self.worker))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers.raw.append((name, value))
                if counter is not None:
                    headers.raw.append((b"x-query-count", str(counter[0]).encode()))
            await send(message)

        failed = True
        try:
            await self.app(scope, receive, send_wrapper)
            failed = False
        finally:
            # An unhandled exception propagates to Starlette's outer error handler, which answers 500.
            seconds = time.perf_counter() - started
            method = scope.get("method", "")
            method = method if method in METHODS else "OTHER"
            route = route_template(scope, root_path)
            self.metrics.observe(method, route, status, seconds)
            fields = {
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            if counter is not None:
                fields["queries"] = counter[0]
            if status >= 400 or not scope.get("path", "").startswith(STATIC_PREFIX):
                access_log.info("%s %s %s %.1fms", method, route, status, seconds * 1000, extra={"fields": fields})
            if count_token is not None:
                _query_counter.reset(count_token)
            # After an exception the id stays set: uvicorn's traceback line then carries it too (each
            # request runs in its own task, so it cannot leak into another request).
            if not failed:
                request_id_var.reset(id_token)


def _count_query(*_args) -> None:
    counter = _query_counter.get()
    if counter is not None:
        counter[0] += 1


def count_queries_on(engine: Engine) -> None:
    """Count each SQL statement run for the current request (sync routes run in threads that copy
    the request's context, so they increment the same counter)."""
    if not event.contains(engine, "before_cursor_execute", _count_query):
        event.listen(engine, "before_cursor_execute", _count_query)


def query_counting_requested(environ: dict | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("NABIJ_COUNT_QUERIES", "") in {"1", "true", "yes"}


def install(app, settings, engine: Engine) -> Metrics:
    """Wrap `app`'s whole middleware stack in `AccessLog` and `InFlightLimit`; returns the metrics.

    Outside even Starlette's ServerErrorMiddleware, so that a 500 is logged and counted with its
    real status, carries X-Request-ID, and the error handler's log line carries the request id; the
    time a request waits for admission counts in its logged duration.
    """
    metrics = Metrics()
    app.state.metrics = metrics
    _tag_log_records_with_request_id()
    count = query_counting_requested() and not settings.is_production
    if count:
        count_queries_on(engine)
    build_stack = app.build_middleware_stack
    limit = admission_limit(settings)

    def build_middleware_stack() -> ASGIApp:
        gate = InFlightLimit(build_stack(), limit=limit, steps_on_loop=engine.dialect.name == "sqlite")
        app.state.in_flight = gate
        return AccessLog(gate, metrics=metrics, worker_header=settings.env == "test", count_queries=count)

    app.build_middleware_stack = build_middleware_stack
    return metrics


# -- logging ---------------------------------------------------------------------------------------


class _RecordWithRequestId:
    """A log record factory: the one it wraps, plus `record.request_id`."""

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record


def _tag_log_records_with_request_id() -> None:
    """Every log record made while a request runs (in any thread) gets `record.request_id`."""
    factory = logging.getLogRecordFactory()
    if isinstance(factory, _RecordWithRequestId):
        return
    logging.setLogRecordFactory(_RecordWithRequestId(factory))


class JsonLineFormatter(logging.Formatter):
    """Each record as one JSON object on one line: time, level, logger, message, the request id
    when the record was written during a request, and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)  # json escapes newlines: one line


class ConsoleLineFormatter(logging.Formatter):
    """For a person watching `make run`: `14:32:05 INFO  GET /modules/{slug} 200 3.2ms`, the same
    records as the JSON lines, without the machine-readable fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname:<5} {record.getMessage()}"
        if record.levelno >= logging.WARNING and record.name not in ("nabij.access", "uvicorn.error"):
            line += f"  [{record.name}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


LOG_FORMATTERS = {"json": "app.observability.JsonLineFormatter", "console": "app.observability.ConsoleLineFormatter"}


def logging_config(level: str = "INFO", log_format: str = "json") -> dict:
    """For `nabij serve` (uvicorn applies it in every worker process): everything on standard
    error, as JSON lines (production, for log collectors) or readable lines (development), and
    uvicorn's own access log off, since it would print raw URLs."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": LOG_FORMATTERS[log_format]}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "alembic": {"level": "WARNING"},  # the start-up schema check is not news
        },
    }
