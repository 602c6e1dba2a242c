"""Retention: what has been kept long enough goes, nightly; `nabij purge --dry-run` shows it first."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

from click.testing import CliRunner
from sqlmodel import select

from app import jobs
from app.cli import main
from app.config import get_settings
from app.models import (
    AccessLog,
    Answer,
    AnswerRevision,
    Invitation,
    Notification,
    PasswordReset,
    ThrottleEvent,
    UserSession,
    utcnow,
)
from app.services import retention
from tests.conftest import TEST_SECRET
from tests.factories import make_class, make_user


def _old_data(session):
    now = utcnow()
    lecturer = make_user(session, role="lecturer", email="an@school.test")
    archived = make_class(session, lecturer=lecturer, name="Oud")
    current = make_class(session, lecturer=lecturer, name="Nu")
    student = make_user(session)
    archived.archived_at = now - timedelta(days=13 * 30)
    session.add(archived)
    old = Answer(user_id=student.id, class_id=archived.id, module_slug="m", prompt_id="p", text="oud")
    kept = Answer(user_id=student.id, class_id=current.id, module_slug="m", prompt_id="p", text="nu")
    session.add_all(
        [
            old,
            kept,
            ThrottleEvent(key="login:address:10.0.0.1", created_at=now - timedelta(days=2)),
            ThrottleEvent(key="login:address:10.0.0.2", created_at=now - timedelta(hours=2)),
            UserSession(
                token_hash="a" * 64,
                user_id=student.id,
                csrf_token="c",
                created_at=now - timedelta(days=9),
                last_seen_at=now - timedelta(days=9),
            ),
            UserSession(token_hash="b" * 64, user_id=student.id, csrf_token="c"),
            PasswordReset(token_hash="r" * 64, user_id=student.id, expires_at=now - timedelta(days=8)),
            PasswordReset(token_hash="s" * 64, user_id=student.id, expires_at=now + timedelta(hours=1)),
            Invitation(
                class_id=current.id,
                email="x@school.test",
                display_name="X",
                token_hash="i" * 64,
                created_at=now - timedelta(days=retention.invitation_valid_days() + 1),
            ),
            Invitation(class_id=current.id, email="y@school.test", display_name="Y", token_hash="j" * 64),
            Notification(
                user_id=student.id, kind="feedback", key="old", link="/", created_at=now - timedelta(days=200)
            ),
            Notification(user_id=student.id, kind="feedback", key="new", link="/"),
            # The access log goes with the answers it is about (issue 13).
            AccessLog(
                key="read:old",
                kind="read",
                lecturer_id=lecturer.id,
                class_id=archived.id,
                module_slug="m",
                prompt_id="p",
                day=now.date(),
            ),
            AccessLog(
                key="read:now",
                kind="read",
                lecturer_id=lecturer.id,
                class_id=current.id,
                module_slug="m",
                prompt_id="p",
                day=now.date(),
            ),
        ]
    )
    session.commit()
    session.add(AnswerRevision(answer_id=old.id, text="oud", module_version="v", prompt_hash="h"))
    session.commit()
    return old, kept


def test_the_purge_deletes_what_is_due_and_keeps_the_rest(app, session, settings):
    _old, _kept = _old_data(session)
    outbox = settings.var_dir / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "old.eml").write_text("Subject: reset link")
    (outbox / "new.eml").write_text("Subject: today")
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(outbox / "old.eml", (eight_days_ago, eight_days_ago))
    result = retention.purge(session, settings=settings)
    assert result.counts == {
        "answers of archived classes": 1,
        "access log of archived classes": 1,
        "throttle events": 1,
        "sessions": 1,
        "reset tokens": 1,
        "unused invitations": 1,
        "notifications": 1,
        "mails in the outbox folder": 1,
    }
    assert [path.name for path in outbox.iterdir()] == ["new.eml"]
    session.expire_all()
    assert [a.text for a in session.exec(select(Answer))] == ["nu"]
    assert session.exec(select(AnswerRevision)).all() == []
    assert [row.key for row in session.exec(select(AccessLog))] == ["read:now"]
    assert [e.key for e in session.exec(select(ThrottleEvent))] == ["login:address:10.0.0.2"]
    assert len(session.exec(select(UserSession)).all()) == 1
    assert len(session.exec(select(PasswordReset)).all()) == 1
    assert [i.email for i in session.exec(select(Invitation))] == ["y@school.test"]
    assert [n.key for n in session.exec(select(Notification))] == ["new"]
    assert retention.purge(session, settings=settings).counts["throttle events"] == 0  # twice: nothing new


def test_lecturers_are_warned_a_month_ahead_once(app, session, settings):
    lecturer = make_user(session, role="lecturer", email="an@school.test")
    course_class = make_class(session, lecturer=lecturer, name="Bijna weg")
    course_class.archived_at = utcnow() - timedelta(days=12 * 30 - 10)
    session.add(course_class)
    session.commit()
    assert retention.warn_lecturers(session, settings=settings) == 1
    assert retention.warn_lecturers(session, settings=settings) == 0
    mail = next((settings.var_dir / "outbox").glob("*.eml")).read_text()
    assert "Bijna weg" in mail and "an@school.test" in mail


def test_the_nightly_job_is_scheduled_and_purges(app, session, settings):
    _old_data(session)
    periodic = retention.nightly_purge.task_class
    assert periodic in jobs.huey._registry._periodic_tasks
    assert periodic().validate_datetime(datetime(2027, 1, 1, 3, 15))
    assert not periodic().validate_datetime(datetime(2027, 1, 1, 12, 0))
    retention.nightly_purge.call_local()
    session.expire_all()
    assert len(session.exec(select(ThrottleEvent)).all()) == 1


def test_purge_dry_run_shows_and_changes_nothing(app, session, settings, monkeypatch):
    _old_data(session)
    for name, value in {
        "NABIJ_DATABASE_URL": settings.effective_database_url,
        "NABIJ_VAR_DIR": str(settings.var_dir),
        "NABIJ_SECRET_KEY": TEST_SECRET,
        "NABIJ_ENV": "test",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        session.commit()  # let the command see what the test wrote
        result = CliRunner().invoke(main, ["purge", "--dry-run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "throttle events: 1" in result.output and "answers of archived classes: 1" in result.output
    session.expire_all()
    assert len(session.exec(select(ThrottleEvent)).all()) == 2
