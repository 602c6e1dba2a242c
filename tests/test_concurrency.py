"""Page views that write (a first visit, a session kept alive) wait for SQLite's lock instead of failing."""

import sqlite3
import threading
import time

import pytest
from sqlmodel import select

from app.models import SectionVisit
from tests.conftest import POSTGRES_URL
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
