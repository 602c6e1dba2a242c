"""Erasure: after it, no row in any table holds the student's id, address or text."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from app.cli import main
from app.config import get_settings
from app.models import Feedback, ThrottleEvent, User
from app.services import erasure
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, login
from tests.test_privacy_export import make_student_with_everything

TEXTS = ("Mijn tekst", "Ingediend", "Dank je", "Goed gezien")


def _traces(session, *, user_id: int, email: str, texts=TEXTS) -> list[str]:
    """Every row, in every table, whose user-id column is this id or whose text holds the address or an answer."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        user_columns = [
            c
            for c in table.columns
            if any(fk.column.table.name == "user" for fk in c.foreign_keys) or (table.name == "user" and c.primary_key)
        ]
        for row in session.execute(sa_select(table)).mappings():
            found.extend(f"{table.name}.{column.name}" for column in user_columns if row[column.name] == user_id)
            for name, value in row.items():
                if isinstance(value, str) and (email in value or any(text in value for text in texts)):
                    found.append(f"{table.name}.{name} holds the address or a text")
    return found


def test_after_erasure_nothing_holds_the_students_id_or_text(app, session, client):
    student, lecturer, _class = make_student_with_everything(session)
    student_id, email = student.id, student.email
    login(client, student)
    session.add(ThrottleEvent(key=f"reset:account:{student.email}"))
    # A failed login keeps the address only as a fingerprint; it goes with the account too.
    from app.services.throttle import email_fingerprint

    session.add(ThrottleEvent(key=f"login:account:{email_fingerprint(email)}"))
    session.add(ThrottleEvent(key="login:account:someone-else"))
    session.commit()
    assert _traces(session, user_id=student.id, email=student.email)  # the check can see them

    assert erasure.erase_user(session, user_id=student.id)

    session.expire_all()
    assert _traces(session, user_id=student_id, email=email) == []
    assert [e.key for e in session.exec(select(ThrottleEvent))] == ["login:account:someone-else"]
    assert session.get(User, lecturer.id) is not None  # the lecturer stays
    assert erasure.erase_user(session, user_id=student.id) is False  # twice: nothing to do


def test_erasing_a_lecturer_keeps_the_feedback_without_their_id(app, session):
    _student, lecturer, _class = make_student_with_everything(session)
    erasure.erase_user(session, user_id=lecturer.id)
    session.expire_all()
    feedback = session.exec(select(Feedback)).one()
    assert feedback.author_id is None and feedback.text == "Goed gezien"
    assert _traces(session, user_id=lecturer.id, email=lecturer.email, texts=()) == []


def test_an_admin_erases_on_request_from_the_command_line(app, session, settings, monkeypatch):
    student, _lecturer, _class = make_student_with_everything(session)
    student_id, email = student.id, student.email
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
        runner = CliRunner()
        unknown = runner.invoke(main, ["user", "erase", "nobody@school.test", "--yes"])
        result = runner.invoke(main, ["user", "erase", email, "--yes"])
    finally:
        get_settings.cache_clear()
    assert unknown.exit_code == 1 and "no account with the address" in unknown.stderr
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert _traces(session, user_id=student_id, email=email) == []


def test_a_student_erases_their_account_after_14_days_unless_they_cancel(app, session, client):
    from datetime import timedelta

    from app.models import utcnow
    from tests.conftest import csrf_from

    student, _lecturer, _class = make_student_with_everything(session)
    student_id, email = student.id, student.email
    login(client, student)
    page = client.get("/account")
    wrong = client.post("/account/erase", data={"csrf_token": csrf_from(page.text), "password": "nope"})
    assert wrong.status_code == 400 and "This is not your current password." in wrong.text

    asked = client.post(
        "/account/erase", data={"csrf_token": csrf_from(page.text), "password": PASSWORD}, follow_redirects=True
    )
    assert "will be erased in 14 days" in asked.text
    assert erasure.erase_due(session) == 0  # the grace period has not passed
    cancelled = client.post("/account/erase/cancel", data={"csrf_token": csrf_from(asked.text)}, follow_redirects=True)
    assert "will not be erased" in cancelled.text
    session.commit()  # a fresh read: SQLite keeps this session's snapshot until its transaction ends
    assert erasure.erase_due(session, now=utcnow() + timedelta(days=15)) == 0

    page = client.get("/account")
    client.post("/account/erase", data={"csrf_token": csrf_from(page.text), "password": PASSWORD})
    erasure.erase_due_job.call_local()  # the hourly job, before the 14 days: nothing
    session.expire_all()
    assert session.get(User, student_id) is not None
    session.commit()  # end this test's read snapshot before it writes (SQLite)
    assert erasure.erase_due(session, now=utcnow() + timedelta(days=14, minutes=1)) == 1
    session.expire_all()
    assert _traces(session, user_id=student_id, email=email) == []


def test_leaving_a_class_takes_its_answers_unless_the_student_keeps_them(app, session, client):
    from app.models import Answer, Enrolment
    from tests.conftest import csrf_from

    student, _lecturer, course_class = make_student_with_everything(session)
    student_id, class_id = student.id, course_class.id
    login(client, student)
    page = client.get("/account")
    assert "Leave this class" in page.text
    client.post(f"/account/classes/{class_id}/leave", data={"csrf_token": csrf_from(page.text), "keep_answers": "1"})
    session.commit()
    assert session.get(Enrolment, (class_id, student_id)) is None
    assert session.exec(select(Answer).where(Answer.user_id == student_id)).all()  # kept, as chosen

    session.add(Enrolment(class_id=class_id, user_id=student_id))
    session.commit()
    page = client.get("/account")
    client.post(f"/account/classes/{class_id}/leave", data={"csrf_token": csrf_from(page.text)})
    session.commit()
    assert session.exec(select(Answer).where(Answer.user_id == student_id, Answer.class_id == class_id)).all() == []
