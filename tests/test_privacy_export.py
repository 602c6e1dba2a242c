"""A student's export ("my data") holds everything with their id: a new table without an export fails here."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import SQLModel

from app.models import (Answer, AnswerRevision, Assignment, CheckAnswer, DiscussionMark, Enrolment, Extension,
                        ExternalIdentity, Feedback, PasswordReset, SectionVisit, UserSession, VignetteRun, utcnow)
from app.services import export
from tests.factories import login, make_class, make_user


def _user_tables() -> dict[str, set[str]]:
    """Every table with a column pointing at user.id, or at a row that belongs to a user (an answer)."""
    found: dict[str, set[str]] = {}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if "user" in targets or "answer" in targets or (table.name == "user" and column.primary_key):
                found.setdefault(table.name, set()).add(column.name)
    return found


def test_every_table_with_a_user_id_is_in_the_export_or_has_a_reason():
    missing = []
    for table, columns in _user_tables().items():
        for column in columns:
            if table not in export.EXPORTED_TABLES and (table, column) not in export.NOT_EXPORTED:
                missing.append(f"{table}.{column}")
    assert not missing, ("tables with a user id that the export of app/services/export.py leaves out "
                         f"(add them to EXPORTED_TABLES, or to NOT_EXPORTED with a reason): {missing}")


def make_student_with_everything(session):
    """A student with a row in every table that can hold their data; returns (student, lecturer, class)."""
    lecturer = make_user(session, role="lecturer")
    course_class = make_class(session, lecturer=lecturer)
    student = make_user(session, email="sam@student.test")
    now = utcnow()
    session.add(Enrolment(class_id=course_class.id, user_id=student.id))
    assignment = Assignment(class_id=course_class.id, module_slug="de-relatie-werkt", due_on=date(2027, 3, 1))
    session.add(assignment)
    session.commit()
    answer = Answer(user_id=student.id, class_id=course_class.id, module_slug="de-relatie-werkt",
                    prompt_id="eerste-indruk", text="Mijn tekst", submitted_at=now, module_version="v1")
    session.add_all([answer, Extension(assignment_id=assignment.id, user_id=student.id, due_on=date(2027, 3, 8)),
                     SectionVisit(user_id=student.id, module_slug="de-relatie-werkt", section_id="intro"),
                     VignetteRun(user_id=student.id, module_slug="de-relatie-werkt", vignette_id="v"),
                     CheckAnswer(user_id=student.id, module_slug="de-relatie-werkt", check_id="c", selected="1",
                                 correct=True),
                     PasswordReset(token_hash="r" * 64, user_id=student.id, expires_at=now + timedelta(hours=1)),
                     ExternalIdentity(issuer="https://idp.test", subject="s-1", user_id=student.id)])
    session.commit()
    revision = AnswerRevision(answer_id=answer.id, text="Ingediend", module_version="v1", prompt_hash="h")
    session.add(revision)
    session.commit()
    session.add_all([Feedback(answer_id=answer.id, revision_id=revision.id, class_id=course_class.id,
                              author_id=lecturer.id, text="Goed gezien", reply_text="Dank je"),
                     DiscussionMark(class_id=course_class.id, answer_id=answer.id)])
    session.commit()
    return student, lecturer, course_class


def test_the_export_holds_a_row_from_every_exported_table(app, session, client):
    student, lecturer, course_class = make_student_with_everything(session)
    login(client, student)  # a user_session row, with its user agent

    data = json.loads(client.get("/account/my-data.json").text)

    assert data["account"]["email"] == "sam@student.test" and data["account"]["created_at"]
    for table, section in export.EXPORTED_TABLES.items():
        if table in ("class_lecturer",):
            continue  # a student teaches nothing; covered below for the lecturer
        assert data[section], f"the export has no {section} for the {table} row"
    reflection = data["modules"][0]["reflections"][0]
    assert reflection["submissions"][0]["text"] == "Ingediend"
    assert reflection["feedback"][0]["your_reply"] == "Dank je"
    assert data["sessions"][0]["user_agent"]
    assert data["pseudonyms"][0]["pseudonym"]
    assert data["discussion_marks"][0]["prompt_id"] == "eerste-indruk"

    lecturer_data = export.student_data(session, user=lecturer, catalogue=app.state.catalogue)
    assert lecturer_data["teaching"][0]["class_id"] == course_class.id


def test_the_zip_export_carries_the_same_json(client, session):
    student = make_user(session)
    login(client, student)
    response = client.get("/account/my-data.zip")
    assert response.status_code == 200 and response.content[:2] == b"PK"
