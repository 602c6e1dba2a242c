"""How cost grows (issue 19, item 4): the same pages with 10 and 100 times more students and answers.

    .venv/bin/python benchmarks/growth.py [--quick] [--databases sqlite,postgresql] [--no-write] [--keep]

Prints figures; it is not a test and asserts nothing about time. For each size it seeds a temporary
database (SQLite under /tmp, migrated with the app's own migrations; `--databases sqlite,postgresql`:
also PostgreSQL, in its own database nabij_growth, never `test` or `nabij_lead`) with bulk inserts, like seed.py:

- measured classes of 30, 300 and 3,000 students (`--quick`: 30 and 300), each with its own lecturer;
  every student answered the review prompt (submitted) and four other prompts, visited sections,
  walked vignettes and answered checks, as in seed.py;
- other classes whose students fill the database up to about 40,000 and 400,000 answers in all
  (`--quick`: 40,000 only), with revisions, visits, vignette walks and check answers of their own.
  Their texts are shorter than the measured students' (40 to 120 words) to keep the seeding bounded.

Then, in a fresh process per database, it calls the app in-process (create_app, requests straight into
the ASGI app as profile_requests.py does, thread pool on) and times, one request at a time after a
warm-up, a student's section page, the lecturer's review page of the prompt, and the progress matrix
(first page, by name; and sorted by progress): median and p95 ms, and the SQL statements per request
(NABIJ_COUNT_QUERIES=1: the app's X-Query-Count header).

Start-up and memory: create_app until the first page answers (a fresh interpreter, imports included),
and `nabij serve --workers 1` until /healthz answers, with its resident memory (VmRSS) when ready and
after a warm-up; with the 7 shipped modules and with 200 modules (the shipped ones copied under new
slugs, titles and block ids into a temporary folder, each copy checked with the app's catalogue loader
and `nabij modules check`).

Last, a verdict per page: time at 3,000 / 300 students and at 400,000 / 40,000 answers, beside the
ratio of what the page shows. Writes its tables into RESULTS.md between `<!-- growth:start MODE -->`
and `<!-- growth:end MODE -->` (MODE: quick or full). The machine is shared: the load average is
printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import seed as seeding  # noqa: E402
from profile_requests import call_with_headers  # noqa: E402

from app import PROJECT_ROOT  # noqa: E402

SECRET = seeding.SECRET_KEY
WORKDIR = Path(tempfile.gettempdir()) / "nabij-growth"
RESULTS = HERE / "RESULTS.md"
POSTGRES_URL = os.environ.get("NABIJ_GROWTH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/nabij_growth")
FORBIDDEN_DATABASES = {"test", "nabij_lead", "postgres", "template0", "template1"}
HOST = "127.0.0.1"
PAGES = ["section", "review", "matrix", "matrix-sorted"]
PAGE_NAMES = {
    "section": "section page (student)",
    "review": "review page of one prompt",
    "matrix": "progress matrix, first page",
    "matrix-sorted": "progress matrix, sorted by progress",
}
REVIEW_PAGE = 25  # answers per review page (app.services.review)
MATRIX_PAGE = 50  # students per matrix page (app.services.classes.progress)
OTHER_ANSWERS = 4  # besides the review prompt, per measured student
FILLER_ANSWERS = 20  # per student of the other classes
FILLER_CLASS = 30  # students per other class
CHUNK_STUDENTS = 2000  # other classes' students seeded per batch (bounded memory)
ROUNDS = 3  # the class sizes take turns this many times per page


@dataclass(frozen=True)
class Plan:
    name: str
    quick: bool
    class_sizes: tuple[int, ...]
    answer_levels: tuple[int, ...]
    requests: int  # measured requests per page and size
    warmup: int
    startup_runs: int


QUICK = Plan("quick", True, (30, 300), (40_000,), requests=30, warmup=5, startup_runs=1)
FULL = Plan("full", False, (30, 300, 3000), (40_000, 400_000), requests=60, warmup=8, startup_runs=3)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def log(message: str) -> None:
    print(message, flush=True)


# -- seeding ---------------------------------------------------------------------------------------------


def _template(model, example: dict) -> dict:
    """The model's defaults for every column, from one example row: bulk rows are `{**template, **row}`
    (no model object per row; none of these models has a per-row random default)."""
    return seeding._rows(model, [example])[0]


class Bulk:
    """Rows built as plain dicts on a model's defaults and inserted in chunks."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.templates: dict = {}
        self.counts: dict[str, int] = {}

    def insert(self, model, values: list[dict]) -> None:
        if not values:
            return
        template = self.templates.get(model)
        if template is None:
            template = self.templates[model] = _template(model, values[0])
        rows = [{**template, **row} for row in values]
        for start in range(0, len(rows), seeding.CHUNK):
            self.connection.execute(model.__table__.insert(), rows[start : start + seeding.CHUNK])
        self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + len(rows)


def seed_growth(url: str, class_sizes: tuple[int, ...], total_answers: int, seed_value: int = 2026) -> dict:
    """Reset the database at `url` and fill it: measured classes of `class_sizes` students plus other
    classes up to about `total_answers` answers. Returns tokens, ids and counts."""
    from sqlalchemy import text

    from app.config import Settings
    from app.content.catalogue import load_catalogue
    from app.db import make_engine
    from app.models import (
        Answer,
        AnswerRevision,
        Assignment,
        CheckAnswer,
        ClassLecturer,
        CourseClass,
        Enrolment,
        SectionVisit,
        User,
        UserSession,
        VignetteRun,
        utcnow,
    )
    from app.services.classes import JOIN_ALPHABET, JOIN_CODE_LENGTH
    from app.services.passwords import hash_password
    from app.services.sessions import token_hash

    rng = random.Random(seed_value)
    started = time.perf_counter()
    seeding.reset_database(url)  # the app's own migrations, to the latest revision
    modules = load_catalogue(PROJECT_ROOT / "modules").published()
    prompts = [(m, p) for m in modules for p in m.reflections.values()]
    review_module, review_prompt = prompts[0]
    others = prompts[1:]
    now = utcnow()
    today = now.date()
    password_hash = hash_password(seeding.PASSWORD)
    ids = {"user": 0, "class": 0, "session": 0, "answer": 0, "revision": 0, "run": 0, "assignment": 0}
    codes: set[str] = set()

    def next_id(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    def join_code() -> str:
        while True:
            code = "".join(rng.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
            if code not in codes:
                codes.add(code)
                return code

    def session_for(uid: int, rows: list[dict]) -> str:
        token = secrets.token_urlsafe(32)
        rows.append(
            {
                "id": next_id("session"),
                "token_hash": token_hash(token),
                "user_id": uid,
                "csrf_token": secrets.token_urlsafe(32),
                "created_at": now,
                "last_seen_at": now,
                "user_agent": "nabij-growth",
            }
        )
        return token

    def new_class(name: str, lecturer: int, out: dict) -> int:
        cid = next_id("class")
        out["classes"].append(
            {
                "id": cid,
                "name": name,
                "programme": "Bachelor Sociaal Werk",
                "academic_year": "2026-2027",
                "join_code": join_code(),
                "min_group_size": 5,
            }
        )
        out["lecturers"].append({"class_id": cid, "user_id": lecturer})
        out["assignments"] += [
            {
                "id": next_id("assignment"),
                "class_id": cid,
                "module_slug": module.slug,
                "due_on": today + timedelta(days=14 * i - 21),
            }
            for i, module in enumerate(modules)
        ]
        return cid

    def student(uid: int, cid: int, chosen: list, words: tuple[int, int], out: dict, *, review: bool) -> None:
        out["users"].append(
            {
                "id": uid,
                "email": f"s{uid}@student.growth.test",
                "display_name": f"Student {uid:06d}",
                "role": "student",
                "password_hash": password_hash,
                "locale": "nl",
                "email_verified_at": now - timedelta(days=90),  # only verified accounts enter a review
            }
        )
        out["enrolments"].append({"class_id": cid, "user_id": uid, "created_at": now - timedelta(days=30)})
        for module, prompt in chosen:
            answer_id = next_id("answer")
            body = seeding.reflection_text(rng, rng.randint(*words))
            updated = now - timedelta(hours=rng.randint(1, 24 * 40))
            submitted = (review and prompt is review_prompt) or rng.random() < 0.6
            out["answers"].append(
                {
                    "id": answer_id,
                    "user_id": uid,
                    "class_id": cid,
                    "module_slug": module.slug,
                    "prompt_id": prompt.id,
                    "text": body,
                    "version": rng.randint(1, 12),
                    "module_version": module.version,
                    "prompt_hash": prompt.prompt_hash,
                    "created_at": updated - timedelta(days=2),
                    "updated_at": updated,
                    "submitted_at": updated if submitted else None,
                }
            )
            if submitted:
                out["revisions"].append(
                    {
                        "id": next_id("revision"),
                        "answer_id": answer_id,
                        "text": body,
                        "module_version": module.version,
                        "prompt_hash": prompt.prompt_hash,
                        "submitted_at": updated,
                    }
                )
        for module in rng.sample(modules, min(3, len(modules))):
            out["visits"] += [
                {
                    "user_id": uid,
                    "module_slug": module.slug,
                    "section_id": section.id,
                    "visited_at": now - timedelta(hours=rng.randint(1, 600)),
                }
                for section in module.sections[: rng.randint(1, len(module.sections))]
            ]
            for vignette in list(module.branching_vignettes())[:1]:
                path, ending = seeding._walk(vignette)
                out["runs"].append(
                    {
                        "id": next_id("run"),
                        "user_id": uid,
                        "module_slug": module.slug,
                        "vignette_id": vignette.id,
                        "path": json.dumps(path),
                        "ending_id": ending,
                        "started_at": now - timedelta(days=3),
                        "finished_at": now - timedelta(days=3) if ending else None,
                    }
                )
            for check in list(module.checks.values())[:2]:
                chosen_options = sorted(check.correct_indexes) if rng.random() < 0.7 else [0]
                out["checks"].append(
                    {
                        "user_id": uid,
                        "module_slug": module.slug,
                        "check_id": check.id,
                        "selected": ",".join(map(str, chosen_options)),
                        "correct": frozenset(chosen_options) == check.correct_indexes,
                        "answered_at": now - timedelta(days=2),
                    }
                )

    def empty() -> dict:
        keys = "users sessions classes lecturers enrolments assignments answers revisions visits runs checks"
        return {key: [] for key in keys.split()}

    def flush(bulk: Bulk, out: dict) -> None:
        for model, key in [
            (User, "users"),
            (UserSession, "sessions"),
            (CourseClass, "classes"),
            (ClassLecturer, "lecturers"),
            (Enrolment, "enrolments"),
            (Assignment, "assignments"),
            (Answer, "answers"),
            (AnswerRevision, "revisions"),
            (SectionVisit, "visits"),
            (VignetteRun, "runs"),
            (CheckAnswer, "checks"),
        ]:
            bulk.insert(model, out[key])

    engine = make_engine(Settings(database_url=url, var_dir=WORKDIR / "var", secret_key=SECRET))
    measured: list[dict] = []
    with engine.begin() as connection:
        bulk = Bulk(connection)
        out = empty()
        admin = next_id("user")
        out["users"].append(
            {
                "id": admin,
                "email": "admin@growth.test",
                "display_name": "Beheer",
                "role": "admin",
                "password_hash": password_hash,
            }
        )
        for size in class_sizes:
            lecturer = next_id("user")
            out["users"].append(
                {
                    "id": lecturer,
                    "email": f"docent{lecturer}@growth.test",
                    "display_name": f"Docent {lecturer}",
                    "role": "lecturer",
                    "password_hash": password_hash,
                }
            )
            lecturer_token = session_for(lecturer, out["sessions"])
            cid = new_class(f"Gemeten klas van {size}", lecturer, out)
            tokens = []
            for _ in range(size):
                uid = next_id("user")
                chosen = [(review_module, review_prompt), *rng.sample(others, OTHER_ANSWERS)]
                student(uid, cid, chosen, (60, 220), out, review=True)
                tokens.append(session_for(uid, out["sessions"]))
            measured.append(
                {
                    "students": size,
                    "class_id": cid,
                    "lecturer_token": lecturer_token,
                    "student_tokens": tokens[:200],
                }
            )
        flush(bulk, out)
        # The other classes: students with FILLER_ANSWERS answers each, up to the total.
        filler_students = max(0, math.ceil((total_answers - ids["answer"]) / FILLER_ANSWERS))
        done = 0
        lecturer = 0
        class_id = 0
        while done < filler_students:
            out = empty()
            for _ in range(min(CHUNK_STUDENTS, filler_students - done)):
                if done % FILLER_CLASS == 0:
                    if done % (FILLER_CLASS * 10) == 0:  # one lecturer per ten classes
                        lecturer = next_id("user")
                        out["users"].append(
                            {
                                "id": lecturer,
                                "email": f"docent{lecturer}@growth.test",
                                "display_name": f"Docent {lecturer}",
                                "role": "lecturer",
                                "password_hash": password_hash,
                            }
                        )
                    class_id = new_class(f"SW-{ids['class']:04d}", lecturer, out)
                uid = next_id("user")
                left = total_answers - ids["answer"]
                chosen = rng.sample(prompts, max(1, min(FILLER_ANSWERS, left)))
                student(uid, class_id, chosen, (40, 120), out, review=False)
                done += 1
            flush(bulk, out)
        if engine.dialect.name == "postgresql":
            for model in (User, UserSession, CourseClass, Assignment, Answer, AnswerRevision, VignetteRun):
                table = model.__tablename__
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                    )
                )
    seeding.store_progress_summaries(engine, modules)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    engine.dispose()
    return {
        "url": url,
        "answers": bulk.counts.get("answer", 0),
        "counts": bulk.counts,
        "seconds": round(time.perf_counter() - started, 1),
        "review": {"slug": review_module.slug, "prompt_id": review_prompt.id},
        "modules": [{"slug": m.slug, "sections": [s.id for s in m.sections]} for m in modules],
        "classes": measured,
    }


# -- in-process requests -----------------------------------------------------------------------------------


def app_environment(database_url: str, modules_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABIJ_")}
    env.update(
        NABIJ_ENV="test",
        NABIJ_COUNT_QUERIES="1",
        NABIJ_SECRET_KEY=SECRET,
        NABIJ_DATABASE_URL=database_url,
        NABIJ_MODULES_DIR=str(modules_dir),
        NABIJ_VAR_DIR=str(WORKDIR / "var"),
    )
    return env


def cookie(token: str) -> str:
    return f"nabij_session={token}; nabij_csrf=benchmark; nabij_lang=nl"


def page_requests(page: str, info: dict, measured: dict, rng: random.Random):
    """(path, cookie) of each request of a page, for one measured class."""
    cid, review = measured["class_id"], info["review"]
    while True:
        if page == "section":
            module = rng.choice(info["modules"])
            token = rng.choice(measured["student_tokens"])
            yield f"/modules/{module['slug']}/{rng.choice(module['sections'])}", token
        elif page == "review":
            yield f"/classes/{cid}/review/{review['slug']}/{review['prompt_id']}", measured["lecturer_token"]
        elif page == "matrix":
            yield f"/classes/{cid}/progress", measured["lecturer_token"]
        elif page == "matrix-sorted":
            yield f"/classes/{cid}/progress?sort=-progress", measured["lecturer_token"]


def shown(page: str, body: bytes) -> int:
    """What the page shows: answers on the review page, students' rows in the matrix."""
    if page == "review":
        return body.count(b'<article class="review-answer')
    if page.startswith("matrix"):
        return body.count(b'<th scope="row">')
    return 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


async def measure_pages(info: dict, requests: int, warmup: int) -> list[dict]:
    import gc
    import logging

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings())
    # As `nabij serve` runs a worker (app.main.create_served_app): start-up objects out of full collections.
    gc.collect()
    gc.freeze()
    logging.getLogger("nabij.access").disabled = True
    results = []

    async def one(source, page: str, sample: dict | None) -> None:
        path, token = next(source)
        started = time.perf_counter()
        status, headers, body = await call_with_headers(app, "GET", path, {"Cookie": cookie(token)})
        elapsed = time.perf_counter() - started
        if status != 200 or b'name="password"' in body:
            raise SystemExit(f"GET {path}: HTTP {status}, not the page\n{body[:600]!r}")
        if sample is not None:
            sample["times"].append(elapsed * 1000)
            sample["queries"].append(int(headers.get("x-query-count", "-1")))
            sample["shown"].append(shown(page, body))

    async with app.router.lifespan_context(app):
        for page in PAGES:
            # The class sizes take turns, in ROUNDS rounds: a change of the machine's load during the
            # run then falls on every size alike, not on the last one measured.
            sources = {m["students"]: page_requests(page, info, m, random.Random(7)) for m in info["classes"]}
            samples: dict[int, dict[str, list]] = {size: {"times": [], "queries": [], "shown": []} for size in sources}
            for source in sources.values():
                for _ in range(warmup):
                    await one(source, page, None)
            for turn in range(ROUNDS):
                for size, source in sources.items():
                    for _ in range(requests // ROUNDS + (turn < requests % ROUNDS)):
                        await one(source, page, samples[size])
            for size, sample in samples.items():
                times, queries = sample["times"], sample["queries"]
                results.append(
                    {
                        "page": page,
                        "students": size,
                        "answers": info["answers"],
                        "median": statistics.median(times),
                        "p95": percentile(times, 0.95),
                        "queries_min": min(queries),
                        "queries_max": max(queries),
                        "queries_median": statistics.median(queries),
                        "shown": max(sample["shown"]),
                        "requests": len(times),
                    }
                )
    app.state.engine.dispose()
    return results


# -- modules for the start-up --------------------------------------------------------------------------------


def generate_modules(target: Path, count: int, *, cli_check: bool = True) -> dict:
    """The shipped modules plus copies under new slugs, titles and block ids, `count` in all; each
    checked with the app's catalogue loader and `nabij modules check`."""
    import yaml

    from app.content.catalogue import load_catalogue, module_files

    source = PROJECT_ROOT / "modules"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    shipped = [path.parent for path in module_files(source)]
    copy = 0
    made = len(shipped)
    while made < count:
        copy += 1
        for folder in shipped:
            if made >= count:
                break
            suffix = f"-{copy}"
            text = (folder / "module.md").read_text()
            head, _, rest = text.partition("\n---\n")

            def retitle(match: re.Match, copy: int = copy) -> str:
                title = yaml.safe_load(match.group(1))
                return "title: " + json.dumps(f"{title} (kopie {copy})", ensure_ascii=False)

            head = re.sub(r"^title:\s*(.+)$", retitle, head, count=1, flags=re.M)
            head = re.sub(
                r"^slug:\s*(\S+)\s*$", lambda m, s=suffix: f"slug: {m.group(1)}{s}", head, count=1, flags=re.M
            )
            # Block ids are unique across all modules; :refers-to: names a block of the same module.
            rest = re.sub(
                r"^(:(?:id|refers-to):\s*)(\S+)\s*$", lambda m, s=suffix: m.group(1) + m.group(2) + s, rest, flags=re.M
            )
            slug = re.search(r"^slug:\s*(\S+)", head, re.M).group(1)
            (target / slug).mkdir()
            for item in folder.iterdir():  # media and the like, if any
                if item.name != "module.md":
                    (shutil.copytree if item.is_dir() else shutil.copy2)(item, target / slug / item.name)
            (target / slug / "module.md").write_text(head + "\n---\n" + rest)
            made += 1
    catalogue = load_catalogue(target)
    problems = [str(problem) for problem in catalogue.problems]
    check_exit = None
    if cli_check:
        check = subprocess.run(
            [str(Path(sys.executable).with_name("nabij")), "modules", "check", str(target)],
            capture_output=True,
            text=True,
            env=app_environment("sqlite://", target),
            timeout=300,
        )
        check_exit = check.returncode
    return {
        "modules": len(catalogue.modules),
        "problems": problems,
        "check_exit": check_exit,
        "published": [{"slug": m.slug, "sections": [s.id for s in m.sections]} for m in catalogue.published()],
    }


# -- start-up and memory ---------------------------------------------------------------------------------------

STARTUP_SNIPPET = r"""
import asyncio, json, sys, time
started = time.perf_counter()
from app.config import Settings
from app.main import create_app
imported = time.perf_counter()
app = create_app(Settings())
created = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import growth  # after the timings above: its own imports (seed.py) are not the app's
import logging
logging.getLogger("nabij.access").disabled = True

async def first():
    async with app.router.lifespan_context(app):
        status, _headers, body = await growth.call_with_headers(app, "GET", sys.argv[2], {"Cookie": growth.cookie(sys.argv[3])})
        return status
status = asyncio.run(first())
answered = time.perf_counter()
print(json.dumps({"import": imported - started, "create_app": created - imported, "first_page": answered - created,
                  "status": status, "modules": len(app.state.catalogue.modules)}))
"""


def startup_in_process(database_url: str, modules_dir: Path, path: str, token: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", STARTUP_SNIPPET, str(HERE), path, token],
        capture_output=True,
        text=True,
        env=app_environment(database_url, modules_dir),
        timeout=300,
        cwd=WORKDIR,
    )
    if result.returncode != 0:
        raise SystemExit(f"the start-up probe failed:\n{result.stderr[-2000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["status"] != 200:
        raise SystemExit(f"the start-up probe's first page answered HTTP {figures['status']}")
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process and its children (uvicorn with one worker has none)."""
    totals = {"VmRSS": 0, "VmHWM": 0}
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        pids += [int(child) for child in children]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in totals:
                totals[key] += int(value.split()[0])
    totals["processes"] = len(pids)
    return totals


def get(port: int, path: str, token: str | None = None) -> int:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers={"Cookie": cookie(token)} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def startup_serve(database_url: str, modules_dir: Path, paths: list[tuple[str, str]]) -> dict:
    """`nabij serve --workers 1` until /healthz answers, and its memory when ready and after a warm-up."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("nabij")), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", "1"]
    logfile = WORKDIR / f"serve-{port}.log"
    started = time.perf_counter()
    with open(logfile, "wb") as output:
        process = subprocess.Popen(
            command,
            env=app_environment(database_url, modules_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=WORKDIR,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"nabij serve stopped; see {logfile}:\n{logfile.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"nabij serve did not answer /healthz within 120 s; see {logfile}")
            try:
                if get(port, "/healthz") == 200:
                    break
            except OSError:
                time.sleep(0.01)
        ready = time.perf_counter() - started
        at_ready = rss_kib(process.pid)
        for path, token in paths:
            status = get(port, path, token)
            if status != 200:
                raise SystemExit(f"GET {path} on nabij serve: HTTP {status}")
        warm = rss_kib(process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    logfile.unlink(missing_ok=True)
    return {
        "ready": ready,
        "rss_ready": at_ready["VmRSS"],
        "rss_warm": warm["VmRSS"],
        "hwm": warm["VmHWM"],
        "processes": warm["processes"],
        "warm_requests": len(paths),
    }


def warm_paths(info: dict, modules: list[dict], every_section: bool) -> list[tuple[str, str]]:
    """Every section of every module (`every_section`; else each module's first) by students of the
    middle class, plus the review page and the matrix: after these the worker has rendered what it serves."""
    measured = info["classes"][min(1, len(info["classes"]) - 1)]
    rng = random.Random(3)
    paths = [
        (f"/modules/{module['slug']}/{section}", rng.choice(measured["student_tokens"]))
        for module in modules
        for section in (module["sections"] if every_section else module["sections"][:1])
    ]
    cid, review = measured["class_id"], info["review"]
    for path in (f"/classes/{cid}/review/{review['slug']}/{review['prompt_id']}", f"/classes/{cid}/progress"):
        paths += [(path, measured["lecturer_token"])] * 10
    return paths


# -- the verdict and the report ---------------------------------------------------------------------------------


def expected_shown(page: str, students: int) -> int:
    """How much of the input the page has to show or compute, at a class of `students`."""
    if page == "review":
        return min(students, REVIEW_PAGE)
    if page == "matrix":
        return min(students, MATRIX_PAGE)
    if page == "matrix-sorted":
        return students  # every student's progress, to sort the class
    return 1


def verdict(time_ratio: float, input_ratio: float, shown_ratio: float) -> str:
    if time_ratio > input_ratio:
        return "**grows faster than linear**"
    if time_ratio <= max(1.0, shown_ratio) * 1.3:
        return "flat" if shown_ratio <= 1 else "linear in what it computes"
    return f"grows more than what it shows ({shown_ratio:.3g}×), less than linear"


def verdicts(results: list[dict]) -> list[dict]:
    by = {(r["page"], r["students"], r["answers"]): r for r in results}
    sizes = sorted({r["students"] for r in results})
    levels = sorted({r["answers"] for r in results})
    lines = []
    for page in PAGES:
        if len(sizes) >= 2:
            small, large = sizes[-2], sizes[-1]
            for level in levels:
                a, b = by[(page, small, level)], by[(page, large, level)]
                ratio = b["median"] / a["median"]
                shown_ratio = expected_shown(page, large) / expected_shown(page, small)
                lines.append(
                    {
                        "page": page,
                        "what": f"{large:,} ÷ {small:,} students ({level:,} answers)",
                        "time": ratio,
                        "input": large / small,
                        "shown": shown_ratio,
                        "verdict": verdict(ratio, large / small, shown_ratio),
                    }
                )
        if len(levels) >= 2:
            low, high = levels[0], levels[-1]
            for size in sizes:
                a, b = by[(page, size, low)], by[(page, size, high)]
                ratio = b["median"] / a["median"]
                lines.append(
                    {
                        "page": page,
                        "what": f"{high:,} ÷ {low:,} answers ({size:,} students)",
                        "time": ratio,
                        "input": high / low,
                        "shown": 1.0,
                        "verdict": verdict(ratio, high / low, 1.0),
                    }
                )
    return lines


def report(
    plan: Plan, machine: dict, seeds: list[dict], results: list[dict], startup: list[dict], checks: dict, base: dict
) -> list[str]:
    lines = [
        f"### Growth, {'quick' if plan.name == 'quick' else 'full'} run: {machine['date']}",
        "",
        f"Machine: {machine['cpus']} CPUs, {machine['platform']}; Python {machine['python']}, SQLite "
        f"{machine['sqlite']}. Load average before the run {machine['load_before']}, after it "
        f"{machine['load_after']}: other work (a test suite, perhaps) shares these cores and moves the figures.",
        "",
        f"In process (create_app, requests straight into the ASGI app, one at a time, thread pool on), "
        f"{plan.warmup} warm-up then {plan.requests} measured requests per page and size (the sizes taking "
        f"turns in {ROUNDS} rounds); ms per request. "
        "SQL: statements per request (X-Query-Count), the median and (when they differ) the range. Shown: answers on the review page, students' rows "
        "in the matrix.",
        "",
    ]
    for seeded in seeds:
        counts = seeded["counts"]
        lines.append(
            f"- {seeded['backend']} with {seeded['answers']:,} answers: {counts.get('user', 0):,} users, "
            f"{counts.get('course_class', 0):,} classes, {counts.get('answer_revision', 0):,} revisions, "
            f"{counts.get('section_visit', 0):,} visits, {counts.get('check_answer', 0):,} check answers; "
            f"seeded in {seeded['seconds']:.0f} s."
        )
    lines += [
        "",
        "| page | database | students | answers | shown | median ms | p95 ms | SQL |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(results, key=lambda r: (PAGES.index(r["page"]), r["backend"], r["answers"], r["students"])):
        sql = (
            str(r["queries_min"])
            if r["queries_min"] == r["queries_max"]
            else f"{r['queries_median']:g} ({r['queries_min']}–{r['queries_max']})"
        )
        lines.append(
            f"| {PAGE_NAMES[r['page']]} | {r['backend']} | {r['students']:,} | {r['answers']:,} | {r['shown']} | "
            f"{r['median']:.1f} | {r['p95']:.1f} | {sql} |"
        )
    for backend in sorted({r["backend"] for r in results}):
        found = verdicts([r for r in results if r["backend"] == backend])
        if not found:
            continue
        lines += [
            "",
            f"Growth ({backend}): the ratio of median times, beside the ratio of the input and of what the "
            "page shows or must compute.",
            "",
            "| page | ratio of | time | input | shown | verdict |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        lines += [
            f"| {PAGE_NAMES[v['page']]} | {v['what']} | {v['time']:.2f}× | {v['input']:g}× | {v['shown']:.3g}× | {v['verdict']} |"
            for v in found
        ]
    lines += [
        "",
        f"Start-up and memory (on the {base['backend']} database with {base['answers']:,} answers). In process: "
        "a fresh interpreter "
        "importing the app, create_app, and the first section page of a student (median of "
        f"{plan.startup_runs}). `nabij serve --workers 1`: from the command until /healthz answers, and the "
        "worker's resident memory (VmRSS) when ready and after a warm-up ("
        f"{'the first section' if plan.quick else 'every section'} of every module once, the review page and "
        "the matrix ten times each).",
        "",
        "| modules | import ms | create_app ms | first page ms | serve until /healthz ms | RSS ready MiB | RSS warm MiB | warm-up requests |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {s['modules']} | {s['import'] * 1000:.0f} | {s['create_app'] * 1000:.0f} | {s['first_page'] * 1000:.0f} | "
        f"{s['ready'] * 1000:.0f} | {s['rss_ready'] / 1024:.0f} | {s['rss_warm'] / 1024:.0f} | {s['warm_requests']:,} |"
        for s in startup
    ]
    if len(startup) == 2:
        small, large = startup
        module_ratio = large["modules"] / small["modules"]
        lines += [""] + [
            f"- {what}: {large[key] / small[key]:.2f}× with {module_ratio:.3g}× the modules"
            f"{' (**grows faster than linear**)' if large[key] / small[key] > module_ratio else ''}."
            for what, key in (
                ("create_app", "create_app"),
                ("`nabij serve` until /healthz", "ready"),
                ("resident memory after the warm-up", "rss_warm"),
            )
        ]
    lines += [
        "",
        f"The 200 modules: copies of the shipped ones with new slugs, titles and block ids; the catalogue "
        f"loader served {checks['modules']} with {len(checks['problems'])} problems; `nabij modules check` "
        f"{exit_text(checks)}.",
    ]
    return lines


def exit_text(checks: dict) -> str:
    return "was not run (quick)" if checks["check_exit"] is None else f"exited {checks['check_exit']}"


def write_results(plan: Plan, lines: list[str]) -> None:
    start, end = f"<!-- growth:start {plan.name} -->", f"<!-- growth:end {plan.name} -->"
    block = "\n".join([f"{start} (written by benchmarks/growth.py)", *lines, end])
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


# -- main -------------------------------------------------------------------------------------------------------


def postgres_available(url: str) -> str | None:
    """None when PostgreSQL answers at `url`'s server, else why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing to use the PostgreSQL database {parsed.database!r}")
    try:
        engine = create_engine(parsed.set(database="postgres"), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        return str(error).splitlines()[0][:200]
    return None


def vars_of(plan: Plan) -> tuple:
    return (plan.quick, plan.class_sizes, plan.answer_levels, plan.requests, plan.warmup, plan.startup_runs)


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in FORBIDDEN_DATABASES:
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def measure_in_child(info_file: Path, plan: Plan) -> list[dict]:
    info = json.loads(info_file.read_text())
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--_pages",
            str(info_file),
            "--_n",
            str(plan.requests),
            "--_warmup",
            str(plan.warmup),
        ],
        capture_output=True,
        text=True,
        env=app_environment(info["url"], PROJECT_ROOT / "modules"),
        timeout=1800,
        cwd=WORKDIR,
    )
    if result.returncode != 0:
        raise SystemExit(f"measuring the pages failed:\n{result.stdout[-1000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 and 300 students, 40,000 answers: under 2 minutes")
    parser.add_argument(
        "--databases",
        default="sqlite",
        help=f"comma-separated: sqlite, postgresql ({POSTGRES_URL}; NABIJ_GROWTH_POSTGRES_URL for another)",
    )
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help=f"keep the databases in {WORKDIR}")
    parser.add_argument("--_pages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_n", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--_warmup", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._pages:  # the child: measure one database's pages, print JSON
        info = json.loads(args._pages.read_text())
        print(json.dumps(asyncio.run(measure_pages(info, args._n, args._warmup))))
        return 0

    plan = QUICK if args.quick else FULL
    begun = time.perf_counter()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    (WORKDIR / "var").mkdir(exist_ok=True)
    machine = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_before": load(),
    }
    log(
        f"growth ({plan.name}): classes of {', '.join(f'{n:,}' for n in plan.class_sizes)} students, "
        f"{' and '.join(f'{n:,}' for n in plan.answer_levels)} answers; {os.cpu_count()} CPUs, load average "
        f"{machine['load_before']} (other work on these cores moves the figures)"
    )
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    if not wanted or set(wanted) - {"sqlite", "postgresql"}:
        raise SystemExit("--databases: sqlite, postgresql or both, comma-separated")
    backends: list[tuple[str, str | None]] = [("sqlite", None)] if "sqlite" in wanted else []
    if "postgresql" in wanted:
        why = postgres_available(POSTGRES_URL)
        if why:
            log(f"PostgreSQL is skipped: {why}")
        else:
            backends.append(("postgresql", POSTGRES_URL))
    if not backends:
        raise SystemExit("no database to measure")
    results: list[dict] = []
    seeds: list[dict] = []
    first_info: dict | None = None
    for backend, pg_url in backends:
        for level in plan.answer_levels:
            url = pg_url or f"sqlite:///{WORKDIR / f'growth-{level}.sqlite3'}"
            log(f"seeding {backend} with {level:,} answers ... (load {load()})")
            info = seed_growth(url, plan.class_sizes, level)
            info["backend"] = backend
            info_file = WORKDIR / f"info-{backend}-{level}.json"
            info_file.write_text(json.dumps(info))
            seeds.append(info)
            log(f"  seeded in {info['seconds']:.0f} s: {info['answers']:,} answers, {info['counts']['user']:,} users")
            measured = measure_in_child(info_file, plan)
            for r in measured:
                r["backend"] = backend
                log(
                    f"  {PAGE_NAMES[r['page']]:<38} {r['students']:>6,} students: median {r['median']:7.1f} ms, "
                    f"p95 {r['p95']:7.1f} ms, SQL {r['queries_median']:g} ({r['queries_min']}–{r['queries_max']}), "
                    f"shows {r['shown']}"
                )
            results += measured
            if backend == "sqlite" and first_info is None:
                first_info = info  # the start-up runs on the smallest SQLite database
            elif not args.keep and backend == "sqlite":
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    if first_info is None:
        first_info = seeds[-1]  # PostgreSQL only: the database as it was seeded last
    log(f"start-up and memory ... (load {load()})")
    many = WORKDIR / "modules-200"
    checks = generate_modules(many, 200, cli_check=not plan.quick)
    log(
        f"  200 modules: the catalogue loader serves {checks['modules']} with {len(checks['problems'])} problems; "
        f"`nabij modules check` {exit_text(checks)}"
    )
    if checks["modules"] != 200 or checks["problems"]:
        raise SystemExit("the generated modules do not all load:\n" + "\n".join(checks["problems"][:20]))
    startup = []
    measured_class = first_info["classes"][0]
    first_module = first_info["modules"][0]
    first_path = f"/modules/{first_module['slug']}/{first_module['sections'][0]}"
    shipped = [{"slug": m["slug"], "sections": m["sections"]} for m in first_info["modules"]]
    for modules_dir, count, listed in ((PROJECT_ROOT / "modules", 7, shipped), (many, 200, checks["published"])):
        runs = [
            startup_in_process(first_info["url"], modules_dir, first_path, measured_class["student_tokens"][0])
            for _ in range(plan.startup_runs)
        ]
        served = [
            startup_serve(first_info["url"], modules_dir, warm_paths(first_info, listed, not plan.quick))
            for _ in range(plan.startup_runs)
        ]
        figures = {key: statistics.median(run[key] for run in runs) for key in ("import", "create_app", "first_page")}
        figures |= {key: statistics.median(s[key] for s in served) for key in ("ready", "rss_ready", "rss_warm")}
        figures |= {"modules": runs[0]["modules"], "warm_requests": served[0]["warm_requests"]}
        if figures["modules"] != count:
            raise SystemExit(f"the app served {figures['modules']} modules, not {count}")
        startup.append(figures)
        log(
            f"  {count} modules: import {figures['import'] * 1000:.0f} ms, create_app {figures['create_app'] * 1000:.0f} ms, "
            f"first page {figures['first_page'] * 1000:.0f} ms; serve until /healthz {figures['ready'] * 1000:.0f} ms; "
            f"RSS {figures['rss_ready'] / 1024:.0f} MiB ready, {figures['rss_warm'] / 1024:.0f} MiB after "
            f"{figures['warm_requests']:,} requests"
        )
    machine["load_after"] = load()
    lines = report(plan, machine, seeds, results, startup, checks, first_info)
    print()
    print("\n".join(lines))
    if not args.no_write:
        write_results(plan if wanted == ["sqlite"] else Plan(f"{plan.name} {'+'.join(wanted)}", *vars_of(plan)), lines)
        log(f"\nwritten to {RESULTS.relative_to(PROJECT_ROOT)}")
    if not args.keep:
        shutil.rmtree(WORKDIR, ignore_errors=True)
        if any(backend == "postgresql" for backend, _ in backends):
            drop_postgres(POSTGRES_URL)
    log(f"growth ({plan.name}) took {time.perf_counter() - begun:.0f} s; load average now {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
