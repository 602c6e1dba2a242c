"""SQLite's one write lock: page views that write wait for it instead of failing, and saves hold it briefly."""

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.models import SectionVisit
from tests.conftest import FIXTURE_MODULES, POSTGRES_URL, csrf_from
from tests.factories import login, make_user

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason="about SQLite's write lock; PostgreSQL has row locks")


def hold_write_lock(path: str, seconds: float, started: threading.Event) -> None:
    """Another worker writing: take the lock, write, hold it a moment, commit."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO throttle_event (key, created_at) VALUES ('other-worker', '2026-01-01')")
    started.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


def test_a_first_visit_waits_for_another_workers_write(client, session, settings):
    student = make_user(session)
    login(client, student)
    module = client.app.state.catalogue.published()[0]
    started = threading.Event()
    path = settings.effective_database_url.removeprefix("sqlite:///")
    other = threading.Thread(target=hold_write_lock, args=(path, 0.5, started))
    other.start()
    started.wait(5)
    response = client.get(f"/modules/{module.slug}/{module.sections[0].id}")
    other.join()
    assert response.status_code == 200
    session.rollback()
    assert session.exec(select(SectionVisit).where(SectionVisit.user_id == student.id)).one()


@contextmanager
def transactions(engine) -> Iterator[list[list[str]]]:
    """The statements run while the block runs, a list per transaction (from BEGIN to its end)."""
    groups: list[list[str]] = []

    def statement(conn, cursor, sql, *args):
        words = sql.split()
        if words[0] == "BEGIN":
            groups.append([])
        groups[-1].append(" ".join(words[:2]) if words[0] == "BEGIN" else words[0])

    def end(word):
        return lambda conn: groups[-1].append(word) if groups else None

    listeners = [("before_cursor_execute", statement), ("commit", end("COMMIT")), ("rollback", end("ROLLBACK"))]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield groups
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


@pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)
def test_an_autosave_holds_the_write_lock_only_while_it_saves(client, session):
    """SQLite has one write lock for all workers: a save that held it for its whole request (login
    lookup, rendering) would make every other student's save wait that long too."""
    login(client, make_user(session))
    page = client.get("/modules/proef/casus")
    csrf_token = csrf_from(page.text)
    with transactions(client.app.state.engine) as seen:
        response = client.post(
            "/modules/proef/prompts/proef-keuze/draft",
            data={"text": "Ik belde terug.", "version": "0"},
            headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
        )
    assert response.status_code == 200 and "Saved at" in response.text
    assert seen == [
        ["BEGIN DEFERRED", "SELECT", "COMMIT"],  # who is asking: no lock needed
        ["BEGIN IMMEDIATE", "SELECT", "INSERT", "COMMIT"],  # the save itself; nothing read back after it
    ]


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's single write lock; PostgreSQL locks rows")
def test_writers_of_one_worker_take_turns_and_every_turn_ends(app):
    """Writers in one process queue on a mutex before SQLite's lock (its busy handler sleeps up to 100 ms
    between tries); a turn ends with the commit or the rollback (closing a session rolls back)."""
    from sqlalchemy import text
    from sqlmodel import Session

    from app import db

    engine = app.state.write_engine

    def turn_taken() -> bool:
        turn = db._WRITE_TURNS.get(engine.pool)
        return turn is not None and turn.locked()

    with Session(engine) as committing:
        committing.execute(text("DELETE FROM throttle_event WHERE key = 'none'"))
        assert turn_taken()
        committing.commit()
    assert not turn_taken()
    with Session(engine) as rolled_back:
        rolled_back.execute(text("DELETE FROM throttle_event WHERE key = 'none'"))
        rolled_back.rollback()
    assert not turn_taken()
    with Session(engine) as abandoned:
        abandoned.execute(text("DELETE FROM throttle_event WHERE key = 'none'"))
    assert not turn_taken()  # closed without commit: the rollback on close ends it

    done: list[int] = []

    def write(n: int) -> None:
        for _ in range(20):
            with Session(engine) as writer:
                writer.execute(
                    text("INSERT INTO throttle_event (key, created_at) VALUES (:k, CURRENT_TIMESTAMP)"), {"k": f"t{n}"}
                )
                writer.commit()
        done.append(n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(done) == list(range(8)) and not turn_taken()
    with Session(app.state.engine) as reader:
        assert reader.execute(text("SELECT count(*) FROM throttle_event WHERE key LIKE 't%'")).scalar() == 160
