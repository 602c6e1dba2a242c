"""The floor of every benchmark: a bare Starlette app on the uvicorn settings of `nabij serve`.

One route, `GET /`, answering a small plain-text body; no middleware, no templates, no database.
Whatever the network, uvicorn, the event loop and the load generator cost per request, this pays
too, and nothing else. benchmarks/run.py starts it next to the real server, measures it with the
same client before and after the app's scenarios, and reports each scenario as a share of it.

    python benchmarks/floor.py --port 8123 [--host 127.0.0.1] [--workers 2]

The uvicorn options below mirror `serve` in app/cli/operations.py: keep them in step with it. Like Nabij, it
leaves loop and http at uvicorn's "auto" (uvloop and httptools when installed), keeps uvicorn's
access log off, logs at INFO through a dictConfig on standard error, turns proxy headers off, and
passes `workers` only when there is more than one (one worker runs in uvicorn's own process).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))  # uvicorn's worker processes import "floor"


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse("floor\n")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", index)])


def logging_config(level: str = "INFO") -> dict:
    """The shape of app.observability.logging_config, with the standard library's formatter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="A bare Starlette app on the uvicorn settings of `nabij serve`.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # As app/cli/operations.py `serve` (without --reload): the same options, in the same way.
    options: dict = {
        "host": args.host,
        "port": args.port,
        "proxy_headers": False,
        "log_level": "info",
        "log_config": logging_config("INFO"),
        "access_log": False,
    }
    if args.workers > 1:
        options["workers"] = args.workers
    uvicorn.run("floor:create_app", factory=True, **options)


if __name__ == "__main__":
    main()
