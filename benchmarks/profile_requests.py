"""Where one request's time goes: call the app in-process, without a network, and profile it.

    .venv/bin/python benchmarks/profile_requests.py section [--n 300] [--profile] [--database URL]

Seeds the quick institution (`--full`: the full one) into var/bench/ the first time (or the database given),
then sends the same kind of request as the benchmark's scenario `n` times straight into the ASGI app
and prints the mean time per request. `--profile` prints cProfile's top functions by cumulative time.
Complements run.py: that measures a real server under load; this shows what one request costs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import seed as seeding  # noqa: E402

from app import PROJECT_ROOT  # noqa: E402

SECRET = "benchmark-secret-key-not-for-production-0123456789"


def build(database_url: str, info_file: Path, reseed: bool, full: bool):
    if reseed or not info_file.exists():
        info = seeding.seed(database_url, quick=not full, log=lambda *a: None)
        info_file.write_text(json.dumps(info))
    info = json.loads(info_file.read_text())
    from run import stored_answers  # the autosave sends the stored version, as the page would

    info["stored_versions"] = stored_answers(database_url)
    os.environ.update(
        NABIJ_ENV="test",
        NABIJ_SECRET_KEY=SECRET,
        NABIJ_DATABASE_URL=database_url,
        NABIJ_MODULES_DIR=str(PROJECT_ROOT / "modules"),
        NABIJ_VAR_DIR=str(PROJECT_ROOT / "var/bench"),
    )
    from app.config import Settings
    from app.main import create_app

    return create_app(Settings()), info


async def call(app, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
    status, _headers, payload = await call_with_headers(app, method, path, headers, body)
    return status, payload


async def call_with_headers(
    app, method: str, path: str, headers: dict, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app, without a network: status, response headers, body."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "state": {},
    }
    sent = False
    status, response_headers, chunks = 0, {}, []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.update((k.decode().lower(), v.decode()) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, response_headers, b"".join(chunks)


def requests_for(scenario: str, info: dict, rng: random.Random):
    students, modules = info["students"], info["modules"]

    def cookie(user):
        return f"nabij_session={user['token']}; nabij_csrf=benchmark; nabij_lang=nl"

    versions: dict = {key: version for key, (version, _text) in info.get("stored_versions", {}).items()}
    while True:
        student = rng.choice(students)
        if scenario == "section":
            module = rng.choice(modules)
            yield "GET", f"/modules/{module['slug']}/{rng.choice(module['sections'])}", {"Cookie": cookie(student)}, b""
        elif scenario == "dashboard":
            yield "GET", "/", {"Cookie": cookie(student)}, b""
        elif scenario == "healthz":
            yield "GET", "/healthz", {"Cookie": cookie(student)}, b""
        elif scenario == "static":
            yield "GET", "/static/nabij.css", {"Cookie": cookie(student)}, b""
        elif scenario == "review":
            lecturer, review = info["lecturer"], info["review"]
            yield (
                "GET",
                f"/classes/{info['cohort_class_id']}/review/{review['slug']}/{review['prompt_id']}",
                {"Cookie": cookie(lecturer)},
                b"",
            )
        elif scenario == "matrix":
            yield "GET", f"/classes/{info['cohort_class_id']}/progress", {"Cookie": cookie(info["lecturer"])}, b""
        elif scenario == "matrix-sorted":
            path = f"/classes/{info['cohort_class_id']}/progress?sort=-progress"
            yield "GET", path, {"Cookie": cookie(info["lecturer"])}, b""
        elif scenario == "autosave":
            slug, prompt_id = rng.choice(student["prompts"])
            key = (student["id"], slug, prompt_id)
            body = urllib.parse.urlencode(
                {"text": f"Tekst {rng.random()}", "version": str(versions.get(key, 0))}
            ).encode()
            headers = {
                "Cookie": cookie(student),
                "X-CSRF-Token": student["csrf"],
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            yield "POST", f"/modules/{slug}/prompts/{prompt_id}/draft", headers, body, key, versions
        else:
            raise SystemExit(f"unknown scenario {scenario}")


async def run(app, info, scenario: str, n: int, profile: bool) -> None:
    import re

    rng = random.Random(1)
    source = requests_for(scenario, info, rng)
    conflicts = [0]
    version_re = re.compile(rb'name="version" value="(\d+)"')

    async def one():
        item = next(source)
        method, path, headers, body = item[:4]
        status, payload = await call(app, method, path, headers, body)
        if scenario == "autosave":  # as the page does: the answer carries the version to base the next save on
            key, versions = item[4], item[5]
            match = version_re.search(payload)
            if match:
                versions[key] = int(match.group(1))
            if status == 409:
                conflicts[0] += 1
        if status not in (200, 409):
            raise SystemExit(f"{method} {path}: HTTP {status}\n{payload[:600]!r}")
        return status

    async with app.router.lifespan_context(app):
        for _ in range(min(30, n)):  # warm-up: template compilation, statement caches
            await one()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(n):
            await one()
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    extra = f"; {conflicts[0]} answered 409 (a version conflict)" if conflicts[0] else ""
    print(f"{scenario}: {n} requests, {elapsed / n * 1000:.2f} ms each (in-process, one at a time){extra}")
    if profiler and os.environ.get("PSTATS_OUT"):  # for pstats' callers/callees, or snakeviz
        profiler.dump_stats(os.environ["PSTATS_OUT"])
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "45"))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario",
        choices=["static", "healthz", "section", "dashboard", "autosave", "review", "matrix", "matrix-sorted"],
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--full", action="store_true", help="the full institution (2,000 students), not the quick one")
    parser.add_argument(
        "--no-threads",
        action="store_true",
        help="run sync code on the event loop, so that cProfile sees all of it (no thread hops)",
    )
    parser.add_argument("--database", default=None, help="default: a SQLite file in var/bench/")
    args = parser.parse_args()
    size = "full" if args.full else "quick"
    database = args.database or f"sqlite:///{PROJECT_ROOT / f'var/bench/profile-{size}.sqlite3'}"
    name = "pg" if "postgres" in database else "sqlite"
    app, info = build(database, PROJECT_ROOT / f"var/bench/profile-{name}-{size}.json", args.reseed, args.full)
    logging_off()
    if args.no_threads:
        import anyio.to_thread

        async def run_here(func, *func_args, **_options):
            return func(*func_args)

        anyio.to_thread.run_sync = run_here
    asyncio.run(run(app, info, args.scenario, args.n, args.profile))


def logging_off() -> None:
    import logging

    logging.getLogger("nabij.access").disabled = True


if __name__ == "__main__":
    main()
