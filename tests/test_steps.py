"""Where a request's sync steps run (app/db.py, "Where sync steps run"): on the event loop where the
database is a local SQLite file, in the thread pool on PostgreSQL, and in the thread pool whenever a step
on the loop comes to something it would have to wait for."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from app import db
from app.models import Answer
from app.services import passwords
from tests.conftest import FIXTURE_MODULES, POSTGRES_URL, csrf_from
from tests.factories import login, make_user
from tests.test_access_matrix import api_routes

ON_SQLITE = not POSTGRES_URL


def on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def dependants(dependant):
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def test_no_endpoint_or_dependency_hops_to_the_thread_pool_unasked(app):
    """FastAPI sends every sync endpoint and dependency through the thread pool; ours are steps
    (app.routing.Router, app.db.as_step) unless marked @in_thread_pool."""
    hopping = []
    for _original, route in api_routes(app):
        for dependant in dependants(route.dependant):
            call = dependant.call
            if call is None or getattr(call, "in_thread_pool", False):
                continue
            if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
                hopping.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert not hopping


@pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)
def test_a_section_page_is_made_on_the_event_loop_on_sqlite_and_in_a_thread_on_postgresql(client, session, monkeypatch):
    from app.routes import modules as module_routes

    seen = []
    page = module_routes.section_page

    def watched(*args, **kwargs):
        seen.append(on_the_loop())
        return page(*args, **kwargs)

    monkeypatch.setattr(module_routes, "section_page", watched)
    login(client, make_user(session))
    assert client.get("/modules/proef/casus").status_code == 200
    assert seen == [ON_SQLITE]


def test_a_password_is_checked_in_a_thread_even_on_sqlite(client, session, monkeypatch):
    """An argon2 hash takes tens of milliseconds: on the loop it would stop every other request of the
    worker. It runs in the thread pool: the login is marked so, and any other step that comes to a hash
    starts over there (passwords.hash_password and verify_password leave the loop)."""
    seen = []
    hasher = passwords.hasher

    class Watched:
        def verify(self, *args):
            seen.append(on_the_loop())
            return hasher.verify(*args)

        def __getattr__(self, name):
            return getattr(hasher, name)

    monkeypatch.setattr(passwords, "hasher", Watched())
    login(client, make_user(session))
    assert client.get("/").status_code == 200
    assert seen == [False]


def test_the_login_goes_to_the_thread_pool_at_once_not_after_reading_on_the_loop(client, session, monkeypatch):
    """The endpoints that hash are marked @in_thread_pool: starting over would read everything twice."""
    from app.routes import auth as auth_routes

    calls = []
    authenticate = auth_routes.accounts.authenticate

    def counted(*args, **kwargs):
        calls.append(on_the_loop())
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(auth_routes.accounts, "authenticate", counted)
    login(client, make_user(session))
    assert calls == [False]


@pytest.mark.skipif(not ON_SQLITE, reason="about SQLite's one write lock; PostgreSQL locks rows")
@pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)
def test_a_save_that_meets_another_process_write_lock_waits_in_a_thread_and_the_worker_goes_on(
    client, session, settings
):
    """Another worker holds SQLite's write lock: the autosave waits for it in the thread pool, and the
    worker answers its other requests meanwhile; once the lock is free, the save is in."""
    student = make_user(session)
    login(client, student)
    csrf_token = csrf_from(client.get("/modules/proef/casus").text)
    other_worker = sqlite3.connect(settings.effective_database_url.removeprefix("sqlite:///"), isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    saved: list = []
    saving = threading.Thread(
        target=lambda: saved.append(
            client.post(
                "/modules/proef/prompts/proef-keuze/draft",
                data={"text": "Ik belde terug.", "version": "0"},
                headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
            )
        )
    )
    try:
        saving.start()
        page = client.get("/modules/proef")  # answered while the save waits: the loop is not blocked
        assert page.status_code == 200
        assert saving.is_alive() and not saved, "the save did not wait for the lock"
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()
    saving.join(30)
    assert saved and saved[0].status_code == 200 and "Saved at" in saved[0].text
    session.rollback()
    answer = session.exec(select(Answer).where(Answer.user_id == student.id)).one()
    assert answer.text == "Ik belde terug."


def run_as_request(function, *args, on_sqlite: bool = True):
    async def request():
        token = db._STEPS_ON_LOOP.set(on_sqlite)
        try:
            return await db.run_step(function, *args)
        finally:
            db._STEPS_ON_LOOP.reset(token)

    # A thread of its own: a browser test earlier in the session leaves Playwright's
    # loop running in the main thread, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, request()).result(timeout=30)


def test_a_step_that_must_wait_before_it_wrote_starts_over_in_the_pool():
    places = []

    def step():
        places.append(on_the_loop())
        db.leave_the_loop("the network")
        return "done"

    assert run_as_request(step) == "done"
    assert places == [True, False]
    places.clear()
    assert run_as_request(step, on_sqlite=False) == "done"
    assert places == [False]


def test_a_step_that_already_wrote_waits_where_it_is_and_says_so(caplog):
    places = []

    def step():
        places.append(on_the_loop())
        db._LOOP_STEP.get().wrote = True  # as a commit of a write transaction does
        db.leave_the_loop("the network")
        return "done"

    with caplog.at_level(logging.WARNING, logger="nabij.db"):
        assert run_as_request(step) == "done"
    assert places == [True]  # not twice: its write would be made again
    assert "the network waited on the event loop after a write" in caplog.text


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite's write turns")
def test_a_commit_on_the_loop_marks_the_step_as_written(app):
    from sqlalchemy import text
    from sqlmodel import Session

    def step():
        with Session(app.state.write_engine) as writer:
            writer.exec(text("INSERT INTO throttle_event (key, created_at) VALUES ('step', '2026-01-01')"))
            writer.commit()
        return db._LOOP_STEP.get().wrote

    assert run_as_request(step) is True
