"""The background-job runner (app/jobs.py): mail leaves through a job, after the request's transaction."""

from __future__ import annotations

import stat

from sqlmodel import Session

from app import jobs
from app.config import Settings
from app.models import ThrottleEvent
from app.services import mail


def _outbox(settings: Settings) -> list:
    return sorted((settings.var_dir / "outbox").glob("*.eml"))


def test_tests_run_jobs_immediately(app):
    assert jobs.huey.immediate


def test_a_mail_queued_in_a_transaction_goes_out_only_when_it_commits(app, settings):
    with Session(app.state.engine) as session:
        session.add(ThrottleEvent(key="x"))
        mail.send_mail(settings, to="sam@example.org", subject="Hallo", body="Eerste", session=session)
        assert _outbox(settings) == []  # not yet: the transaction has not committed
        session.commit()
    assert len(_outbox(settings)) == 1
    with Session(app.state.engine) as session:
        session.add(ThrottleEvent(key="y"))
        mail.send_mail(settings, to="sam@example.org", subject="Weg", body="Nooit", session=session)
        session.rollback()
        session.commit()
    assert len(_outbox(settings)) == 1  # the rolled-back one never left


def test_a_mail_job_that_runs_twice_sends_once(app, settings):
    message = {
        "id": "abc123",
        "to": "sam@example.org",
        "subject": "Eén keer",
        "body": "x",
        "created": "20270101T000000000000",
    }
    assert mail.deliver_mail.call_local(message) is True
    assert mail.deliver_mail.call_local(message) is False
    files = _outbox(settings)
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700


def test_outside_tests_the_queue_is_a_private_sqlite_file(tmp_path):
    settings = Settings(
        env="development",
        var_dir=tmp_path / "var",
        secret_key="k" * 40,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    before = (jobs.huey.storage, jobs.huey._immediate, dict(jobs._context))
    try:
        jobs.configure(settings)
        assert not jobs.huey.immediate
        path = settings.var_dir / "jobs.sqlite3"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        mail.send_mail(settings, to="sam@example.org", subject="Later", body="x")
        assert _outbox(settings) == []  # queued for the worker, not sent in the request
        assert jobs.huey.pending_count() == 1
        jobs.huey.execute(jobs.huey.dequeue())  # what `nabij worker` does
        assert len(_outbox(settings)) == 1
    finally:
        jobs.huey.storage, jobs.huey._immediate = before[0], before[1]
        jobs._context.update(before[2])


def test_the_worker_knows_every_task_and_the_nightly_schedule():
    jobs.load_task_modules()
    names = set(jobs.huey._registry._registry)
    assert any(name.endswith("deliver_mail") for name in names)
