"""Fixtures: a fresh, migrated database per test (SQLite, or PostgreSQL via NABIJ_TEST_DATABASE_URL)."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from app import PROJECT_ROOT, jobs
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.migrations import upgrade

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
POSTGRES_URL = os.environ.get("NABIJ_TEST_DATABASE_URL", "")
FIXTURE_MODULES = Path(__file__).parent / "data" / "modules"


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {
        "env": "test",
        "var_dir": tmp_path / "var",
        "modules_dir": PROJECT_ROOT / "modules",
        "secret_key": TEST_SECRET,
        "database_url": f"sqlite:///{tmp_path / 'nabij.sqlite3'}",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path | None:
    """SQLite: migrate once, copy the file for each test. PostgreSQL: migrate once in place."""
    if POSTGRES_URL:
        settings = make_settings(tmp_path_factory.mktemp("pg"), database_url=POSTGRES_URL)
        engine = make_engine(settings)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(settings)
        return None
    folder = tmp_path_factory.mktemp("template")
    settings = make_settings(folder)
    upgrade(settings)
    return folder / "nabij.sqlite3"


@pytest.fixture
def settings(tmp_path, migrated_template, request) -> Settings:
    overrides = getattr(request, "param", {}) or {}
    if POSTGRES_URL:
        yield make_settings(tmp_path, database_url=POSTGRES_URL, **overrides)
        jobs.close_engines()
        _truncate_all(make_settings(tmp_path, database_url=POSTGRES_URL))
        return
    shutil.copy(migrated_template, tmp_path / "nabij.sqlite3")
    yield make_settings(tmp_path, **overrides)
    jobs.close_engines()


def _truncate_all(settings: Settings) -> None:
    engine = make_engine(settings)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(settings):
    app = create_app(settings)
    writes_in_reads = _watch_read_transactions(app.state.engine)
    waits_on_loop = _watch_waits_on_the_loop()
    try:
        yield app
    finally:
        logging.getLogger("nabij.db").removeHandler(waits_on_loop)
    app.state.engine.dispose()
    assert not writes_in_reads, (
        "a read transaction wrote during a request (declare WriteSession, or write through "
        f"app.db.write_for): {writes_in_reads}"
    )
    assert not waits_on_loop.seen, f"a step waited on the event loop (app/db.py, run_step): {waits_on_loop.seen}"


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def _watch_waits_on_the_loop() -> _Seen:
    """A step on the event loop that comes to the network or a password hash after it has committed
    cannot start over in the thread pool: it blocks the worker (app.db.leave_the_loop logs it)."""
    handler = _Seen()
    logging.getLogger("nabij.db").addHandler(handler)
    return handler


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
TEMP_TABLE = re.compile(r"\s*(INSERT( OR \w+)? INTO|DELETE FROM|UPDATE|REPLACE INTO)\s+temp\.", re.IGNORECASE)


def _watch_read_transactions(engine) -> list[str]:
    """On SQLite, a read endpoint's deferred transaction that writes takes the write lock late, and
    fails at once when another worker holds it: every request of the suite is watched for that."""
    from sqlalchemy import event

    from app.observability import request_id_var

    seen: list[str] = []
    if engine.dialect.name != "sqlite":
        return seen

    def before_cursor_execute(connection, _cursor, statement, *_args) -> None:
        if request_id_var.get() is None or not statement.lstrip().upper().startswith(WRITES):
            return
        if TEMP_TABLE.match(statement):  # the connection's own temporary table: no lock on the database
            return
        if connection.get_execution_options().get("sqlite_begin") != "IMMEDIATE":
            seen.append(" ".join(statement.split())[:120])

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    return seen


@pytest.fixture
def client(app):
    # Dutch is the default UI; these tests read the English strings (tests/test_translations.py covers Dutch).
    with TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"}) as test_client:
        yield test_client


@pytest.fixture
def session(app):
    """The test's own view of the database. Factories close their transaction, so that later
    queries see what the app committed (SQLite keeps a read snapshot until a transaction ends)."""
    with Session(app.state.engine, expire_on_commit=False) as db_session:
        yield db_session


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


@pytest.fixture
def taught(app, client, session):
    """A logged-in lecturer with a class that has the first module assigned (the review's tests and others)."""
    from app.models import Role
    from tests.factories import assign, first_module, login, make_class, make_user

    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    login(client, lecturer)
    return lecturer, course_class, module
