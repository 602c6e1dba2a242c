"""Nabij benchmarks: seed an institution, start the real server, drive it, report. `make bench [QUICK=1]`.

For each database (SQLite, then PostgreSQL when it answers) and each worker count, this starts
`nabij serve --workers N` on a free loopback port, and next to it the floor (benchmarks/floor.py:
a bare Starlette app on the same uvicorn settings, on a port of its own), and drives both from this
process with logged-in clients (sessions are seeded with known tokens; see seed.py):

  floor      GET / of the bare Starlette app, before all the others and again after them
  static     GET a static file, served by the app
  section    a student's module section page
  dashboard  a student's dashboard
  autosave   the reflection autosave POST, by 50 concurrent writers
  autosave-8 the same by 8 writers back to back (the pages' concurrency)
  autosave-typing  50 writers, each pausing 1.5 s after an answer
  review     a lecturer's review page of a prompt with one answer per cohort student
  matrix     the progress matrix of the cohort (300 students in the full run), first page
  matrix-sorted  the same sorted by progress (every student's progress computed)
  mixed      open loop: each simulated student loads a page every 30 s and autosaves every 10 s;
             students are added step by step until p95 > 50 ms or errors appear

It reports requests/s, p50/p95/p99, errors, SQL statements per request (the server counts them
when NABIJ_COUNT_QUERIES=1) and each scenario's throughput as a share of the floor (the mean of its
two runs; and, as before, of the static file), prints a table and the targets, and writes them into
benchmarks/RESULTS.md (between markers, by mode).
Everything stays on 127.0.0.1; every run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import loadgen  # noqa: E402
import seed as seeding  # noqa: E402
from loadgen import Request, percentile  # noqa: E402

from app import PROJECT_ROOT  # noqa: E402

HOST = "127.0.0.1"
SECRET = seeding.SECRET_KEY  # the texts are stored encrypted under a key derived from it
POSTGRES_URL = os.environ.get("NABIJ_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/nabij_bench")
RESULTS = HERE / "RESULTS.md"
P95_LIMIT = 0.050  # the mixed run's limit, seconds


@dataclass
class Mode:
    name: str
    quick: bool
    workers: list[int]
    duration: float  # measured seconds per scenario
    warmup: float
    page_concurrency: int = 8
    lecturer_concurrency: int = 4
    writers: int = 50
    typing_pause: float = 1.5  # the page's hx-trigger: "input changed delay:1500ms"
    mixed_steps: list[int] = field(default_factory=list)
    mixed_seconds: float = 20.0


QUICK = Mode("quick", True, workers=[1], duration=1.0, warmup=0.25, mixed_steps=[100, 200, 400], mixed_seconds=2.0)
FULL = Mode(
    "full",
    False,
    workers=[1, 2],
    duration=10.0,
    warmup=2.0,
    mixed_steps=[100, 250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000],
    mixed_seconds=20.0,
)


@dataclass
class Outcome:
    database: str
    workers: int
    scenario: str
    concurrency: str
    requests: int = 0
    seconds: float = 0.0
    p50: float = float("nan")
    p95: float = float("nan")
    p99: float = float("nan")
    errors: int = 0
    error_kinds: dict = field(default_factory=dict)
    queries: float = float("nan")
    per_worker: dict = field(default_factory=dict)
    ratio: float = float("nan")  # requests/s as a share of the static file's
    share: float = float("nan")  # requests/s as a share of the floor's (the mean of its two runs)
    skipped: str = ""
    note: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- the server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """`nabij serve --host 127.0.0.1 --port P --workers N`, ready once /healthz answers."""

    ready_path = "/healthz"

    def __init__(self, database_url: str, workers: int, workdir: Path) -> None:
        self.database_url, self.workers, self.workdir = database_url, workers, workdir
        self.port = free_port()
        self.log = workdir / f"server-{'pg' if 'postgres' in database_url else 'sqlite'}-{workers}w.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NABIJ_") or k in {"NABIJ_DB_POOL_SIZE", "NABIJ_DB_MAX_OVERFLOW"}
        }
        env.update(
            NABIJ_ENV="test",
            NABIJ_COUNT_QUERIES="1",
            NABIJ_SECRET_KEY=SECRET,
            NABIJ_DATABASE_URL=self.database_url,
            NABIJ_VAR_DIR=str(self.workdir / "var"),
            NABIJ_MODULES_DIR=str(PROJECT_ROOT / "modules"),
        )
        script = Path(sys.executable).with_name("nabij")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
        command += ["serve", "--host", HOST, "--port", str(self.port), "--workers", str(self.workers)]
        return command, env

    def __enter__(self) -> Server:
        command, env = self.command()
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.workdir
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped; see {self.log}:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}{self.ready_path}", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the server did not answer {self.ready_path} within 90 s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass

    def errors_in_log(self, text: str) -> int:
        """Log records (one JSON object per line) that mention `text`: one per failed request."""
        return sum(
            1 for line in self.log.read_text(errors="replace").splitlines() if text in line and '"nabij.errors"' in line
        )


class Floor(Server):
    """benchmarks/floor.py: a bare Starlette app, one route, on the uvicorn options of `nabij serve`,
    with the same host and worker count as the server it is the floor of."""

    ready_path = "/"

    def __init__(self, workers: int, workdir: Path) -> None:
        super().__init__("", workers, workdir)
        self.log = workdir / f"floor-{workers}w.log"

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NABIJ_")}
        return [
            sys.executable,
            str(HERE / "floor.py"),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ], env


# -- routes of this version of the app ---------------------------------------------------------------


def app_routes() -> set[tuple[str, str]]:
    from fastapi.routing import APIRoute

    from app.routes import all_routers

    routes: set[tuple[str, str]] = set()

    def walk(router_routes) -> None:
        for route in router_routes:
            if isinstance(route, APIRoute):
                routes.update((method, route.path) for method in route.methods)
            elif (included := getattr(route, "original_router", None)) is not None:
                walk(included.routes)  # FastAPI 0.165 keeps an included router as a router, not its routes

    for router in all_routers:
        walk(router.routes)
    return routes


def find_routes() -> dict[str, str | None]:
    routes = app_routes()
    found: dict[str, str | None] = {"autosave": None, "matrix": None, "review": None}
    for method, path in sorted(routes):
        if method == "POST" and path.endswith("/prompts/{prompt_id}/draft"):
            found["autosave"] = path
        if method == "GET" and path == "/classes/{class_id}/progress":
            found["matrix"] = path
        params = set(re.findall(r"\{([^}:]+)", path))
        if (
            method == "GET"
            and "review" in path
            and "prompt_id" in params
            and "class_id" in params
            and params <= {"class_id", "slug", "module_slug", "prompt_id"}
            and found["review"] is None
        ):
            found["review"] = path
    return found


def fill(path: str, **values) -> str:
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", urllib.parse.quote(str(value), safe=""))
    return path


# -- scenarios --------------------------------------------------------------------------------------


def cookie(user: dict) -> str:
    return f"nabij_session={user['token']}; nabij_csrf=benchmark; nabij_lang=nl"


def ok_and_logged_in(status: int, headers: dict, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    if b"/logout" not in body:
        return "not logged in"
    return None


def closed(
    server: Server, mode: Mode, database: str, scenario: str, make, concurrency: int, think: float = 0.0
) -> Outcome:
    duration = max(mode.duration, 3 * think)  # with pauses, long enough for each client to send several
    results, seconds = loadgen.closed_loop(
        HOST, server.port, make, concurrency=concurrency, duration=duration, warmup=mode.warmup + think, think=think
    )
    return summarise(Outcome(database, server.workers, scenario, str(concurrency)), results, seconds)


def summarise(outcome: Outcome, results: list, seconds: float) -> Outcome:
    latencies = [r.latency for r in results]
    outcome.requests, outcome.seconds = len(results), seconds
    outcome.p50, outcome.p95, outcome.p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    errors = Counter(r.error for r in results if r.error)
    outcome.errors, outcome.error_kinds = sum(errors.values()), dict(errors.most_common(4))
    counted = [r.queries for r in results if r.queries is not None]
    outcome.queries = sum(counted) / len(counted) if counted else float("nan")
    outcome.per_worker = dict(Counter(r.worker for r in results if r.worker))
    return outcome


def scenario_floor(floor: Floor, mode, database, when: str) -> Outcome:
    """The bare Starlette app of floor.py, by the same closed loop as the pages: 8 connections."""
    request = Request("GET", "/", check=lambda status, headers, body: None if body == b"floor\n" else "unexpected body")
    outcome = closed(floor, mode, database, f"floor ({when})", lambda i: request, mode.page_concurrency)
    outcome.note = "bare Starlette app (benchmarks/floor.py), same uvicorn settings"
    return outcome


def scenario_static(server, mode, database, info):
    student = info["students"][0]
    request = Request("GET", "/static/nabij.css", {"Cookie": cookie(student)})
    return closed(server, mode, database, "static", lambda i: request, mode.page_concurrency)


def scenario_section(server, mode, database, info):
    rngs = [random.Random(i) for i in range(mode.page_concurrency)]
    students, modules = info["students"], info["modules"]

    def make(i: int) -> Request:
        rng = rngs[i]
        module = rng.choice(modules)
        path = f"/modules/{module['slug']}/{rng.choice(module['sections'])}"
        return Request("GET", path, {"Cookie": cookie(rng.choice(students))}, check=ok_and_logged_in)

    return closed(server, mode, database, "section", make, mode.page_concurrency)


def scenario_dashboard(server, mode, database, info):
    rngs = [random.Random(100 + i) for i in range(mode.page_concurrency)]
    students = info["students"]
    return closed(
        server,
        mode,
        database,
        "dashboard",
        lambda i: Request("GET", "/", {"Cookie": cookie(rngs[i].choice(students))}, check=ok_and_logged_in),
        mode.page_concurrency,
    )


class Autosaves:
    """Autosave requests that track each answer's version, and what the server acknowledged."""

    VERSION = re.compile(rb'name="version" value="(\d+)"')

    def __init__(self, route: str, database_url: str, info: dict) -> None:
        self.route = route
        self.database_url = database_url
        self.students = {s["id"]: s for s in info["students"]}
        self.stored = stored_answers(database_url)
        self.acknowledged: dict[tuple, tuple[int, str]] = {}
        self.counter = 0
        self.run_id = f"{time.time_ns() % 10**9:x}"  # each run's texts differ from the last run's

    def request(self, student: dict, slug: str, prompt_id: str) -> Request:
        key = (student["id"], slug, prompt_id)
        version, text = self.acknowledged.get(key) or self.stored.get(key, (0, ""))
        self.counter += 1
        new_text = f"{text.split(' [bewerking')[0]} [bewerking {self.run_id}-{self.counter}]"
        body = urllib.parse.urlencode({"text": new_text, "version": str(version)}).encode()

        def check(status: int, headers: dict, payload: bytes) -> str | None:
            if status != 200:
                return "conflict (409)" if status == 409 else f"HTTP {status}"
            match = self.VERSION.search(payload)
            if not match or int(match.group(1)) != version + 1:
                if os.environ.get("NABIJ_BENCH_DEBUG"):
                    print("unexpected version", key, version, match and match.group(1), payload[:400], file=sys.stderr)
                return "no new version in the answer"
            self.acknowledged[key] = (version + 1, new_text)
            return None

        return Request(
            "POST",
            fill(self.route, slug=slug, prompt_id=prompt_id),
            {
                "Cookie": cookie(student),
                "X-CSRF-Token": student["csrf"],
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body,
            check,
        )

    def lost(self) -> int:
        """Acknowledged saves that the database does not hold (must be 0)."""
        now = stored_answers(self.database_url)
        return sum(1 for key, saved in self.acknowledged.items() if now.get(key) != saved)


def stored_answers(database_url: str) -> dict[tuple, tuple[int, str]]:
    from sqlalchemy import text

    from app.config import Settings
    from app.crypto import keyring_of
    from app.db import make_engine

    engine = make_engine(Settings(database_url=database_url, var_dir=PROJECT_ROOT / "var", secret_key=SECRET))
    try:
        keyring = keyring_of(engine)  # the texts are stored encrypted (app/crypto.py)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT user_id, module_slug, prompt_id, version, text FROM answer"))
            return {(u, s, p): (v, keyring.decrypt(t, "answer.text")) for u, s, p, v, t in rows}
    finally:
        engine.dispose()


def scenario_autosave(
    server, mode, database, info, routes, database_url, *, typing: bool = False, writers: int | None = None
):
    """50 writers (or `writers`). Flat out: each sends its next save as soon as the last one is
    answered. Typing: each waits the page's autosave delay (1.5 s) after an answer, as a student
    typing on does. `autosave-8` is the flat-out run with 8 writers, the pages' concurrency."""
    writers = writers or mode.writers
    name = "autosave-typing" if typing else "autosave" if writers == mode.writers else f"autosave-{writers}"
    if routes["autosave"] is None:
        return Outcome(
            database, server.workers, name, str(writers), skipped="no autosave route in this version of the app"
        )
    saves = Autosaves(routes["autosave"], database_url, info)
    owned = [[s for n, s in enumerate(info["students"]) if n % writers == w] for w in range(writers)]
    turns = [0] * writers

    def make(w: int) -> Request:
        student = owned[w][turns[w] % len(owned[w])]
        turns[w] += 1
        slug, prompt_id = student["prompts"][0]
        return saves.request(student, slug, prompt_id)

    locked_before = server.errors_in_log("database is locked")
    outcome = closed(server, mode, database, name, make, writers, think=mode.typing_pause if typing else 0.0)
    if typing:
        outcome.concurrency = f"{writers} typing"
    time.sleep(0.2)
    lost = saves.lost()
    locked = server.errors_in_log("database is locked") - locked_before
    outcome.note = (
        f"{len(saves.acknowledged)} answers saved, {lost} acknowledged saves missing, {locked} 'database is locked'"
    )
    if lost:
        outcome.errors += lost
        outcome.error_kinds["acknowledged save missing"] = lost
    return outcome


def scenario_lecturer(server, mode, database, info, routes, name, query: str = ""):
    """The first page of a lecturer's view of the cohort. `query` e.g. sorts the matrix by progress,
    which needs every student's progress, not only the page's."""
    route = routes[name.split("-")[0]]
    if route is None:
        what = "review page" if name == "review" else "progress matrix"
        return Outcome(
            database,
            server.workers,
            name,
            str(mode.lecturer_concurrency),
            skipped=f"no {what} route in this version of the app",
        )
    path = fill(
        route,
        class_id=info["cohort_class_id"],
        slug=info["review"]["slug"],
        module_slug=info["review"]["slug"],
        prompt_id=info["review"]["prompt_id"],
    )
    request = Request("GET", path + query, {"Cookie": cookie(info["lecturer"])}, check=ok_and_logged_in)
    outcome = closed(server, mode, database, name, lambda i: request, mode.lecturer_concurrency)
    outcome.note = f"{info['cohort']} students"
    return outcome


def scenario_mixed(server, mode, database, info, routes, database_url) -> tuple[Outcome, list[dict]]:
    """Open loop, raising the number of simulated students until p95 > 50 ms or errors appear."""
    if routes["autosave"] is None:
        return Outcome(database, server.workers, "mixed", "-", skipped="no autosave route in this version"), []
    saves = Autosaves(routes["autosave"], database_url, info)
    students, modules = info["students"], info["modules"]
    steps, held, best = [], 0, None
    for simulated in mode.mixed_steps:
        rng = random.Random(simulated)
        schedule = []
        for s in range(simulated):
            student = students[s % len(students)]
            slug, prompt_id = student["prompts"][(s // len(students)) % len(student["prompts"])]
            at = rng.uniform(0, 10)
            while at < mode.mixed_seconds:
                schedule.append((at, lambda st=student, sl=slug, p=prompt_id: saves.request(st, sl, p)))
                at += 10
            at = rng.uniform(0, 30)
            while at < mode.mixed_seconds:
                if rng.random() < 0.75:
                    module = rng.choice(modules)
                    path = f"/modules/{module['slug']}/{rng.choice(module['sections'])}"
                else:
                    path = "/"
                schedule.append(
                    (at, lambda st=student, pa=path: Request("GET", pa, {"Cookie": cookie(st)}, check=ok_and_logged_in))
                )
                at += 30
        started = time.perf_counter()
        results = loadgen.open_loop(HOST, server.port, schedule, connections=128)
        elapsed = max(mode.mixed_seconds, time.perf_counter() - started - 0.2)
        outcome = summarise(Outcome(database, server.workers, "mixed", f"{simulated} students"), results, elapsed)
        target_rps = simulated / 10 + simulated / 30
        steps.append(
            {
                "students": simulated,
                "target_rps": round(target_rps, 1),
                "rps": round(outcome.rps, 1),
                "p50_ms": ms(outcome.p50),
                "p95_ms": ms(outcome.p95),
                "p99_ms": ms(outcome.p99),
                "errors": outcome.errors,
                "error_kinds": outcome.error_kinds,
            }
        )
        print(
            f"    mixed {simulated:>5} students: {outcome.rps:7.1f} req/s (target {target_rps:6.1f}), "
            f"p95 {ms(outcome.p95):7.1f} ms, errors {outcome.errors}",
            flush=True,
        )
        if outcome.errors or outcome.p95 > P95_LIMIT:
            break
        held, best = simulated, outcome
    lost = saves.lost()
    summary = best or Outcome(database, server.workers, "mixed", "0 students")
    summary.concurrency = f"{held} students held"
    summary.note = f"most students held with p95 <= 50 ms and no errors: {held}; acknowledged saves missing: {lost}"
    return summary, steps


# -- reporting ----------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1) if seconds == seconds else float("nan")


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def postgres_version(url: str) -> str | None:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        with psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            dbname="postgres",
            connect_timeout=3,
        ) as connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    except Exception:
        return None


def table(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| database | workers | scenario | concurrency | req/s | share of the floor | p50 ms | p95 ms | p99 ms | errors | SQL/req | vs static | notes |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for o in outcomes:
        if o.skipped:
            lines.append(
                f"| {o.database} | {o.workers} | {o.scenario} | {o.concurrency} | – | – | – | – | – | – | – | – | skipped: {o.skipped} |"
            )
            continue
        kinds = ", ".join(f"{k}: {v}" for k, v in o.error_kinds.items())
        notes = "; ".join(x for x in (o.note, kinds, _spread(o)) if x)
        queries = "–" if o.queries != o.queries else f"{o.queries:.1f}"
        ratio = "–" if o.ratio != o.ratio else f"{o.ratio:.0%}"
        lines.append(
            f"| {o.database} | {o.workers} | {o.scenario} | {o.concurrency} | {o.rps:.0f} | {_share(o)} | "
            f"{ms(o.p50)} | {ms(o.p95)} | {ms(o.p99)} | {o.errors} | {queries} | {ratio} | {notes} |"
        )
    return lines


def _share(o: Outcome) -> str:
    return "–" if o.share != o.share else f"{o.share:.3f}"


# The floor measured after the scenarios may differ from the one before by this factor before the pass's
# figures are flagged: on a shared virtual machine the host can take most of the CPU away mid-run.
FLOOR_DRIFT = 1.4


def floor_lines(floors: dict) -> list[str]:
    """One line per server: the floor's two runs and their mean, the denominator of every share; flagged
    when the two differ so much that the machine's speed changed during the pass."""
    return [
        f"Floor, {database}, {workers} worker(s): {before:.0f} req/s before the scenarios, {after:.0f} after, "
        f"mean {(before + after) / 2:.0f} req/s (bare Starlette, same uvicorn settings, closed loop, 8 connections)"
        + (
            f". **The machine's speed changed during this pass** (the floor moved by more than {FLOOR_DRIFT}×): "
            "compare its figures with nothing"
            if max(before, after) > FLOOR_DRIFT * min(before, after)
            else ""
        )
        for (database, workers), (before, after) in floors.items()
    ]


def _spread(o: Outcome) -> str:
    if len(o.per_worker) < 2:
        return ""
    return "per worker " + "/".join(str(n) for n in sorted(o.per_worker.values(), reverse=True))


FLOOR_TARGETS = [  # issue 19, item 3: (scenario, target, test)
    ("static", "static file ≥ 0.5 of the floor", lambda o: o.share >= 0.5),
    ("section", "section page ≥ 0.05 of the floor", lambda o: o.share >= 0.05),
    (
        "autosave-8",
        "autosave ≥ 0.05 of the floor, 8 writers back to back, p99 < 50 ms, no errors",
        lambda o: o.share >= 0.05 and o.p99 < 0.05 and not o.errors,
    ),
    ("review", "review page (300 answers) p95 < 50 ms, 4 lecturers", lambda o: o.p95 < 0.05 and not o.errors),
    ("matrix", "matrix (300 students) p95 < 50 ms, 4 lecturers", lambda o: o.p95 < 0.05 and not o.errors),
]


def floor_targets(outcomes: list[Outcome]) -> list[str]:
    """Issue 19's targets, measured against the floor of the same run."""
    lines = ["| target | database | workers | measured | met |", "| --- | --- | ---: | --- | --- |"]
    servers = list(dict.fromkeys((o.database, o.workers) for o in outcomes))
    for database, workers in servers:
        for scenario, what, met in FLOOR_TARGETS:
            o = next(
                (o for o in outcomes if (o.database, o.workers, o.scenario) == (database, workers, scenario)), None
            )
            if o is None or o.skipped:
                lines.append(f"| {what} | {database} | {workers} | not measured{': ' + o.skipped if o else ''} | – |")
                continue
            if o.share != o.share and "floor" in what:
                lines.append(f"| {what} | {database} | {workers} | {o.rps:.0f} req/s, no floor measured | – |")
                continue
            measured = {
                "static": f"{_share(o)} ({o.rps:.0f} req/s)",
                "section": f"{_share(o)} ({o.rps:.0f} req/s)",
                "autosave-8": f"{_share(o)} ({o.rps:.0f} req/s), p99 {ms(o.p99)} ms, {o.errors} errors",
            }.get(scenario, f"p95 {ms(o.p95)} ms ({o.note}, {o.concurrency} lecturers)")
            lines.append(f"| {what} | {database} | {workers} | {measured} | {'met' if met(o) else 'not met'} |")
    return lines


def targets(outcomes: list[Outcome]) -> list[str]:
    lines = ["| target | database | workers | measured | met |", "| --- | --- | ---: | --- | --- |"]
    for o in outcomes:
        if o.skipped or o.scenario not in {
            "section",
            "autosave",
            "autosave-typing",
            "review",
            "matrix",
            "matrix-sorted",
            "mixed",
        }:
            continue
        if o.scenario == "section":
            lines.append(
                f"| module page ≥ 50% of static throughput | {o.database} | {o.workers} | {o.ratio:.0%} | "
                f"{'yes' if o.ratio >= 0.5 else 'no'} |"
            )
        elif o.scenario in {"autosave", "autosave-typing"}:
            ok = o.p95 < 0.05 and o.errors == 0 and "0 acknowledged saves missing, 0 'database is locked'" in o.note
            lines.append(
                f"| autosave p95 < 50 ms at {o.concurrency} {'' if 'typing' in o.concurrency else 'flat-out '}"
                f"writers, no lock errors, no lost saves "
                f"| {o.database} | {o.workers} | p95 {ms(o.p95)} ms, {o.errors} errors; {o.note} | {'yes' if ok else 'no'} |"
            )
        elif o.scenario in {"review", "matrix", "matrix-sorted"}:
            what = {
                "review": "review page (first of 25 answers a page)",
                "matrix": "matrix (first page of 50, by name)",
                "matrix-sorted": "matrix sorted by progress (whole class)",
            }[o.scenario]
            lines.append(
                f"| {what} p95 < 100 ms | {o.database} | {o.workers} | p95 {ms(o.p95)} ms "
                f"(concurrency {o.concurrency}) | {'yes' if o.p95 < 0.1 and not o.errors else 'no'} |"
            )
        elif o.scenario == "mixed":
            held = int(o.concurrency.split()[0])
            lines.append(
                f"| mixed run holds 2,000 students | {o.database} | {o.workers} | {held} students | "
                f"{'yes' if held >= 2000 else 'no'} |"
            )
    return lines


def write_results(mode: Mode, info: dict, outcomes: list[Outcome], mixed: dict, notes: list[str], floors: dict) -> None:
    block = [
        f"<!-- BEGIN {mode.name} (written by benchmarks/run.py) -->",
        f"### {'Quick run' if mode.quick else 'Full run'}: {info['date']}",
        "",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['platform']}; Python {info['python']}, "
        f"SQLite {info['sqlite']}, PostgreSQL {info.get('postgresql') or 'not available'}. "
        f"Client and server share the machine. Load average just before the run {info['load']} (other "
        f"work on the same cores), just after it {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        f"Institution: {info['institution']}. Each closed-loop scenario: {mode.warmup:g} s warm-up, "
        f"{mode.duration:g} s measured; mixed steps of {mode.mixed_seconds:g} s.",
        "",
    ]
    block += [f"- {note}" for note in notes] + ([""] if notes else [])
    if floors:
        block += [f"- {line}." for line in floor_lines(floors)] + [
            "",
            '"share of the floor" is each scenario\'s requests/s divided by that mean (for the paced '
            "scenarios, autosave-typing and mixed, it is the offered load's share, not a capacity).",
            "",
        ]
    block += [*table(outcomes), ""]
    block += ["Targets (issue 19, against the floor of this run):", "", *floor_targets(outcomes), ""]
    if mixed:
        block += [
            "Mixed run, step by step (open loop; latency counted from each request's scheduled time):",
            "",
            "| database | workers | students | target req/s | req/s | p50 ms | p95 ms | p99 ms | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for (database, workers), steps in mixed.items():
            for step in steps:
                kinds = ", ".join(f"{k}: {v}" for k, v in step["error_kinds"].items())
                block.append(
                    f"| {database} | {workers} | {step['students']} | {step['target_rps']} | {step['rps']} | "
                    f"{step['p50_ms']} | {step['p95_ms']} | {step['p99_ms']} | {step['errors']}"
                    f"{' (' + kinds + ')' if kinds else ''} |"
                )
        block.append("")
    block += ["Targets (issue 8):", "", *targets(outcomes), "", f"<!-- END {mode.name} -->"]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"<!-- BEGIN {mode.name} .*?<!-- END {mode.name} -->", re.S)
    generated = "\n".join(block)
    text = pattern.sub(lambda _: generated, text) if pattern.search(text) else text.rstrip() + "\n\n" + generated + "\n"
    RESULTS.write_text(text)


# -- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Nabij benchmarks (see benchmarks/README.md).")
    parser.add_argument("--quick", action="store_true", help="a small institution and short runs (< 1 minute)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts, e.g. 1,2")
    parser.add_argument(
        "--scenarios",
        default="floor,static,section,dashboard,autosave,autosave-8,autosave-typing,review,matrix,matrix-sorted,mixed",
        help="comma-separated; 'floor' measures the bare Starlette app before and after the others",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.workers:
        mode.workers = [int(w) for w in args.workers.split(",")]
    wanted = set(args.scenarios.split(","))
    started = time.perf_counter()
    info = machine()
    print(
        f"Nabij benchmark ({mode.name}) on {info['cpus']} CPUs: {info['cpu']}; Python {info['python']}; "
        f"load average {info['load']}",
        flush=True,
    )
    workdir = PROJECT_ROOT / "var" / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "var").mkdir(exist_ok=True)
    routes = find_routes()
    notes = [f"{name}: skipped, no such route in this version of the app" for name, r in routes.items() if r is None]
    for note in notes:
        print(f"  {note}")

    databases = []
    for name in args.databases.split(","):
        if name == "sqlite":
            databases.append(("sqlite", f"sqlite:///{workdir / 'nabij.sqlite3'}"))
        elif name == "postgresql":
            version = postgres_version(POSTGRES_URL)
            if version is None:
                line = f"PostgreSQL does not answer at {POSTGRES_URL.split('@')[-1]}: its runs are skipped."
                print(line)
                notes.append(line)
                continue
            info["postgresql"] = version
            databases.append(("postgresql", POSTGRES_URL))

    outcomes: list[Outcome] = []
    mixed: dict = {}
    floors: dict = {}  # (database, workers) -> (requests/s before, after)
    for database, url in databases:
        print(f"== {database}: seeding", flush=True)
        seeded = seeding.seed(url, quick=mode.quick, log=lambda line: print("  " + line, flush=True))
        size = seeded["size"]
        info["institution"] = (
            f"{size['students']:,} students in {size['classes']} classes (cohort of {size['cohort']}), "
            f"{size['lecturers']} lecturers, {seeded['counts']['answer']:,} answers, "
            f"{seeded['counts']['answer_revision']:,} revisions"
        )
        for workers in mode.workers:
            print(f"== {database}, {workers} worker(s)", flush=True)
            with Server(url, workers, workdir) as server, Floor(workers, workdir) as floor:
                baseline = None
                first = None
                if "floor" in wanted:  # A B A B: the floor, the app's scenarios, the floor again
                    first = scenario_floor(floor, mode, database, "before")
                    print("  " + _line(first), flush=True)
                block: list[Outcome] = []
                runs = [
                    ("static", partial(scenario_static, server, mode, database, seeded)),
                    ("section", partial(scenario_section, server, mode, database, seeded)),
                    ("dashboard", partial(scenario_dashboard, server, mode, database, seeded)),
                    ("autosave", partial(scenario_autosave, server, mode, database, seeded, routes, url)),
                    (
                        "autosave-8",
                        partial(
                            scenario_autosave,
                            server,
                            mode,
                            database,
                            seeded,
                            routes,
                            url,
                            writers=mode.page_concurrency,
                        ),
                    ),
                    (
                        "autosave-typing",
                        partial(scenario_autosave, server, mode, database, seeded, routes, url, typing=True),
                    ),
                    ("review", partial(scenario_lecturer, server, mode, database, seeded, routes, "review")),
                    ("matrix", partial(scenario_lecturer, server, mode, database, seeded, routes, "matrix")),
                    (
                        "matrix-sorted",
                        partial(
                            scenario_lecturer,
                            server,
                            mode,
                            database,
                            seeded,
                            routes,
                            "matrix-sorted",
                            "?sort=-progress",
                        ),
                    ),
                ]
                for name, run in runs:
                    if name not in wanted:
                        continue
                    outcome = run()
                    if name == "static":
                        baseline = outcome.rps
                    if baseline and not outcome.skipped:
                        outcome.ratio = outcome.rps / baseline
                    block.append(outcome)
                    print("  " + _line(outcome), flush=True)
                if "mixed" in wanted:
                    summary, steps = scenario_mixed(server, mode, database, seeded, routes, url)
                    if baseline and not summary.skipped:
                        summary.ratio = summary.rps / baseline
                    block.append(summary)
                    mixed[(database, workers)] = steps
                    print("  " + _line(summary), flush=True)
                if first is not None:
                    again = scenario_floor(floor, mode, database, "after")
                    print("  " + _line(again), flush=True)
                    floors[(database, workers)] = (first.rps, again.rps)
                    mean = (first.rps + again.rps) / 2
                    block = [first, *block, again]
                    for outcome in block:
                        if not outcome.skipped and mean:
                            outcome.share = outcome.rps / mean
                    print(f"  {floor_lines({(database, workers): floors[(database, workers)]})[0]}", flush=True)
                outcomes += block
    print()
    print("\n".join(floor_lines(floors)))
    print()
    print("\n".join(table(outcomes)))
    print()
    print("Targets (issue 19, against the floor of this run):")
    print("\n".join(floor_targets(outcomes)))
    print()
    print("Targets (issue 8):")
    print("\n".join(targets(outcomes)))
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s", flush=True)
    if not args.no_write and outcomes:
        write_results(mode, info, outcomes, mixed, notes, floors)
        print(f"wrote {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


def _line(o: Outcome) -> str:
    if o.skipped:
        return f"{o.scenario:<9} skipped: {o.skipped}"
    share = "" if o.share != o.share else f"  share of the floor {o.share:.3f}"
    return (
        f"{o.scenario:<9} {o.concurrency:>16}: {o.rps:7.1f} req/s{share}  p50 {ms(o.p50):6.1f}  p95 {ms(o.p95):6.1f}  "
        f"p99 {ms(o.p99):6.1f} ms  errors {o.errors}  SQL/req {o.queries:.1f}  {o.note}"
    )


if __name__ == "__main__":
    sys.exit(main())
