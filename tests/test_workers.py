"""`nabij serve --workers 2`, the real server in a subprocess: logins, saves, CSRF and the login
throttle hold whichever worker process answers, because none of it lives in process memory.

Every request goes over a new connection (`Connection: close`), so the kernel hands them to both
worker processes; in the test environment each response names its process in `X-Nabij-Worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlmodel import Session, select

from app import PROJECT_ROOT
from app.db import make_engine
from app.models import Answer, Role, User
from app.services import accounts
from tests.conftest import POSTGRES_URL, TEST_SECRET, _truncate_all, csrf_from, make_settings

PASSWORD = "workers share nothing in memory 2026"
METRICS_TOKEN = "workers-test-metrics-token-0123456789"
MAX_ATTEMPTS = 4
POOL_SIZE, MAX_OVERFLOW = 3, 2
START_TIMEOUT = 90  # seconds for two workers to come up
REQUEST_TIMEOUT = 15
MAX_TRIES = 60  # requests spent at most on reaching both workers


@dataclass
class Server:
    url: str
    log: Path
    settings: object
    student: User
    victim: User
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nabij_command() -> list[str]:
    script = Path(sys.executable).with_name("nabij")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NABIJ_")}
    env.update(
        {
            "NABIJ_ENV": "test",
            "NABIJ_LOG_FORMAT": "json",  # what production writes; development's readable lines are for people
            "NABIJ_SECRET_KEY": TEST_SECRET,
            "NABIJ_DATABASE_URL": database_url,
            "NABIJ_VAR_DIR": str(var_dir),
            "NABIJ_MODULES_DIR": str(PROJECT_ROOT / "modules"),
            "NABIJ_THROTTLE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "NABIJ_DB_POOL_SIZE": str(POOL_SIZE),
            "NABIJ_DB_MAX_OVERFLOW": str(MAX_OVERFLOW),
            "NABIJ_METRICS_TOKEN": METRICS_TOKEN,
            "PYTHONUNBUFFERED": "1",
            "NABIJ_TRUSTED_PROXIES": "127.0.0.1",  # the test's X-Forwarded-For stands for distinct clients
        }
    )
    return env


def stop(process: subprocess.Popen) -> None:
    """End the server we started (its own process group: the parent and its two workers)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_template):
    folder = tmp_path_factory.mktemp("workers")
    database_url = POSTGRES_URL or f"sqlite:///{folder / 'nabij.sqlite3'}"
    env = server_env(database_url, folder / "var")
    migrated = subprocess.run([*nabij_command(), "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr

    settings = make_settings(folder, database_url=database_url)
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        student = accounts.create_user(
            session, email="worker.student@school.test", display_name="Wim Werker", role=Role.STUDENT, password=PASSWORD
        )
        victim = accounts.create_user(
            session,
            email="worker.victim@school.test",
            display_name="Vera Doelwit",
            role=Role.STUDENT,
            password=PASSWORD,
        )
    engine.dispose()

    port = free_port()
    log = folder / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*nabij_command(), "serve", "--workers", "2", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=folder,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"the server stopped:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"no /healthz within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield Server(url, log, settings, student, victim, process)
    finally:
        stop(process)
        if POSTGRES_URL:
            _truncate_all(settings)


def fresh(server: Server, method: str, path: str, *, cookies: dict | None = None, **kwargs) -> httpx.Response:
    """One request on a new connection, which the kernel may give to either worker."""
    headers = {"Connection": "close", "Accept-Language": "en", **kwargs.pop("headers", {})}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT, follow_redirects=False) as client:
        return client.request(method, path, headers=headers, **kwargs)


def worker(response: httpx.Response) -> str:
    pid = response.headers.get("X-Nabij-Worker")
    assert pid and pid.isdigit(), dict(response.headers)
    return pid


def on_both_workers(server: Server, request, *, at_least: int = 6) -> list[httpx.Response]:
    """Repeat `request()` on new connections, four at a time, until both workers have answered."""
    responses: list[httpx.Response] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        while len(responses) < MAX_TRIES:
            responses += list(pool.map(lambda _: request(), range(4)))
            if len({worker(r) for r in responses}) >= 2 and len(responses) >= at_least:
                return responses
    pytest.fail(f"{len(responses)} requests all went to worker(s) {sorted({worker(r) for r in responses})}")


def log_in(server: Server, user: User, *, address: str) -> dict:
    page = fresh(server, "GET", "/login", headers={"X-Forwarded-For": address})
    seed = page.cookies["nabij_csrf"]
    response = fresh(
        server,
        "POST",
        "/login",
        cookies={"nabij_csrf": seed},
        headers={"X-Forwarded-For": address},
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "/"},
    )
    assert response.status_code == 303, response.text[:500]
    return {"nabij_csrf": seed, "nabij_session": response.cookies["nabij_session"]}


def test_a_login_on_one_worker_is_a_login_on_both(server):
    cookies = log_in(server, server.student, address="192.0.2.10")
    responses = on_both_workers(server, lambda: fresh(server, "GET", "/account", cookies=cookies))
    for response in responses:
        assert response.status_code == 200, (worker(response), response.status_code)
        assert server.student.email in response.text

    # Logging out on one worker ends the session on every worker.
    token = csrf_from(responses[0].text)
    assert fresh(server, "POST", "/logout", cookies=cookies, data={"csrf_token": token}).status_code == 303
    after = on_both_workers(server, lambda: fresh(server, "GET", "/account", cookies=cookies), at_least=4)
    assert all(r.status_code == 303 and r.headers["location"].startswith("/login") for r in after)


def test_saves_made_on_either_worker_persist_and_are_seen_by_the_other(server):
    cookies = log_in(server, server.student, address="192.0.2.11")
    csrf_token = csrf_from(fresh(server, "GET", "/account", cookies=cookies).text)
    engine = make_engine(server.settings)
    try:
        # The language choice: a POST that writes to the user's row, with the session's CSRF token.
        saved_by = set()
        for attempt in range(MAX_TRIES):
            lang = ("en", "nl")[attempt % 2]
            response = fresh(
                server,
                "POST",
                "/language",
                cookies=cookies,
                data={"lang": lang, "next": "/account", "csrf_token": csrf_token},
            )
            assert response.status_code == 303, (worker(response), response.status_code)
            saved_by.add(worker(response))
            with Session(engine) as session:
                assert session.get(User, server.student.id).locale == lang
            if len(saved_by) == 2 and attempt >= 3:
                break
        assert len(saved_by) == 2, f"all saves went to worker {saved_by}"

        # The reflection autosave: each save names the version it was based on, so a save on one
        # worker that the other did not see would come back as a conflict (409), not a save.
        module, prompt_id = _a_prompt()
        path = f"/modules/{module}/prompts/{prompt_id}/draft"
        saved_by = set()
        version = 0
        for attempt in range(MAX_TRIES):
            text = f"Mijn reflectie, versie {attempt + 1}."
            response = fresh(
                server,
                "POST",
                path,
                cookies=cookies,
                headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
                data={"text": text, "version": str(version)},
            )
            assert response.status_code == 200, (worker(response), response.status_code, response.text[:300])
            saved_by.add(worker(response))
            version += 1
            assert re.search(rf'name="version" value="{version}"', response.text)
            if len(saved_by) == 2 and attempt >= 3:
                break
        assert len(saved_by) == 2, f"all autosaves went to worker {saved_by}"
        with Session(engine) as session:
            answer = session.exec(
                select(Answer).where(Answer.user_id == server.student.id, Answer.prompt_id == prompt_id)
            ).one()
            assert (answer.version, answer.text) == (version, text)
        stale = fresh(
            server,
            "POST",
            path,
            cookies=cookies,
            headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
            data={"text": "from an old tab", "version": "0"},
        )
        assert stale.status_code == 409
    finally:
        engine.dispose()


def _a_prompt() -> tuple[str, str]:
    from app.content.catalogue import load_catalogue

    for module in load_catalogue(PROJECT_ROOT / "modules").published():
        for prompt_id in module.reflections:
            return module.slug, prompt_id
    raise AssertionError("the course has no published module with a reflection prompt")


def test_the_login_throttle_counts_failures_on_all_workers_together(server):
    address = "198.51.100.23"  # X-Forwarded-For from 127.0.0.1 is trusted: a client of its own
    page = fresh(server, "GET", "/login")
    seed, token = page.cookies["nabij_csrf"], csrf_from(page.text)

    def attempt(password: str) -> httpx.Response:
        return fresh(
            server,
            "POST",
            "/login",
            cookies={"nabij_csrf": seed},
            headers={"X-Forwarded-For": address},
            data={"email": server.victim.email, "password": password, "csrf_token": token},
        )

    failed_on = [worker(r) for r in [attempt(f"wrong guess {n}") for n in range(MAX_ATTEMPTS)] if r.status_code == 400]
    assert len(failed_on) == MAX_ATTEMPTS
    # The next attempt is refused, whichever worker takes it and even with the right password.
    refusals = on_both_workers(server, lambda: attempt(PASSWORD), at_least=4)
    for response in refusals:
        assert response.status_code == 429, (worker(response), response.status_code)
        assert int(response.headers["Retry-After"]) > 0
        assert "nabij_session" not in response.cookies


def test_a_burst_of_concurrent_saves_neither_stalls_nor_fails(server):
    """Far more concurrent writes than threads and connections (5 per worker): each worker admits
    only as many requests as it has threads, so none waits in a thread for a connection or for
    SQLite's write lock while the request holding it waits for a thread (which would stall until a
    timeout and then fail)."""
    cookies = log_in(server, server.student, address="192.0.2.12")
    csrf_token = csrf_from(fresh(server, "GET", "/account", cookies=cookies).text)
    burst = 48
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=burst, max_keepalive_connections=burst)
        async with httpx.AsyncClient(
            base_url=server.url, timeout=REQUEST_TIMEOUT, limits=limits, headers=headers
        ) as client:
            # Open the connections first, so that the saves arrive together.
            await asyncio.gather(*(client.get("/static/nabij.css") for _ in range(burst)))
            return await asyncio.gather(
                *(
                    client.post(
                        "/language", data={"lang": ("en", "nl")[n % 2], "next": "/account", "csrf_token": csrf_token}
                    )
                    for n in range(burst)
                ),
                return_exceptions=True,
            )

    with ThreadPoolExecutor(max_workers=1) as thread:  # its own thread: another test may leave a loop running
        responses = thread.submit(asyncio.run, run()).result(timeout=120)
    outcomes = Counter(r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in responses)
    assert outcomes == {303: burst}, outcomes


def test_a_burst_of_page_views_that_each_write_does_not_exhaust_the_pool(server):
    """Page views whose session is due for its last-seen touch write through a second, short
    transaction while their read transaction still holds a connection: two connections each. A
    burst of them must not use up the pool (each worker admits half its connections at once)."""
    from datetime import timedelta

    from app.models import UserSession, utcnow
    from app.services.sessions import token_hash

    burst = 48
    tokens = [f"burst-token-{n}-{os.getpid()}" for n in range(burst)]
    long_ago = utcnow() - timedelta(minutes=10)  # each session is due for a touch
    engine = make_engine(server.settings)
    try:
        with Session(engine) as session:
            for token in tokens:
                session.add(
                    UserSession(
                        token_hash=token_hash(token),
                        user_id=server.student.id,
                        csrf_token="x",
                        created_at=long_ago,
                        last_seen_at=long_ago,
                    )
                )
            session.commit()

        async def run() -> list:
            limits = httpx.Limits(max_connections=burst, max_keepalive_connections=burst)
            async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
                await asyncio.gather(*(client.get("/static/nabij.css") for _ in range(burst)))
                return await asyncio.gather(
                    *(client.get("/account", headers={"Cookie": f"nabij_session={token}"}) for token in tokens),
                    return_exceptions=True,
                )

        with ThreadPoolExecutor(max_workers=1) as thread:  # its own thread: another test may leave a loop running
            responses = thread.submit(asyncio.run, run()).result(timeout=120)
        outcomes = Counter(r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in responses)
        assert outcomes == {200: burst}, outcomes
        with Session(engine) as session:
            touched = session.exec(
                select(UserSession).where(UserSession.user_id == server.student.id, UserSession.last_seen_at > long_ago)
            ).all()
            assert len({row.token_hash for row in touched} & {token_hash(t) for t in tokens}) == burst
    finally:
        engine.dispose()


def test_each_worker_sizes_its_thread_pool_to_its_database_pool(server):
    def scrape() -> httpx.Response:
        return fresh(server, "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    scrapes = on_both_workers(server, scrape, at_least=2)
    for response in scrapes:
        assert response.status_code == 200
        pid = worker(response)
        for name in ("nabij_threadpool_limit", "nabij_db_pool_limit"):
            assert f'{name}{{worker="{pid}"}} {POOL_SIZE + MAX_OVERFLOW}' in response.text, name
    assert fresh(server, "GET", "/metrics").status_code == 404


def test_the_server_log_is_json_lines_with_templates_and_no_secrets(server):
    secret_password = "this-password-must-not-be-logged-81"
    reset_token = "reset-token-that-must-not-be-logged-0123456789"
    page = fresh(server, "GET", "/login")
    fresh(
        server,
        "POST",
        "/login",
        cookies={"nabij_csrf": page.cookies["nabij_csrf"]},
        headers={"X-Forwarded-For": "203.0.113.99"},
        data={"email": "nobody@school.test", "password": secret_password, "csrf_token": csrf_from(page.text)},
    )
    fresh(server, "GET", f"/password/reset/{reset_token}?from=mail")
    deadline = time.monotonic() + 10
    while True:
        lines = server.log.read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]  # every line is one JSON object
        routes = [e.get("route") for e in entries if e.get("logger") == "nabij.access"]
        if "/password/reset/{token}" in routes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "/password/reset/{token}" in routes and "/login" in routes
    access = [e for e in entries if e.get("logger") == "nabij.access"]
    assert all({"request_id", "method", "route", "status", "duration_ms"} <= set(e) for e in access)
    text = server.log.read_text()
    for secret in (secret_password, reset_token, "from=mail", PASSWORD):
        assert secret not in text
    assert not [e for e in entries if e.get("logger") == "uvicorn.access"]
