"""A student's export ("my data") holds everything with their id: a new table without an export fails here."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import SQLModel

from app.models import (
    Answer,
    AnswerRevision,
    Assignment,
    CheckAnswer,
    DiscussionMark,
    Enrolment,
    Extension,
    ExternalIdentity,
    Feedback,
    PasswordReset,
    SectionVisit,
    UserSession,
    VignetteRun,
    utcnow,
)
from app.services import export
from tests.factories import login, make_class, make_user

# Columns that hold a user's id even without a foreign key (none today; a new one is caught by its name).
USER_COLUMN_NAMES = {
    "user_id",
    "student_id",
    "lecturer_id",
    "author_id",
    "assessor_id",
    "requester_id",
    "decided_by_id",
    "owner_id",
    "reader_id",
}


def _user_columns() -> list[tuple[str, str]]:
    """Every (table, column) that points at user.id, or is named like a user id, and the user's own row."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if (
                "user" in targets
                or column.name in USER_COLUMN_NAMES
                or column.name.endswith("_by_id")
                or (table.name == "user" and column.primary_key)
            ):
                found.append((table.name, column.name))
    return found


def _user_tables() -> dict[str, set[str]]:
    """Every table with a column pointing at user.id, or at a row that belongs to a user (an answer)."""
    found: dict[str, set[str]] = {}
    for table, column in _user_columns():
        found.setdefault(table, set()).add(column)
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if "answer" in {fk.column.table.name for fk in column.foreign_keys}:
                found.setdefault(table.name, set()).add(column.name)
    return found


def test_every_table_with_a_user_id_is_in_the_export_or_has_a_reason():
    missing = []
    for table, columns in _user_tables().items():
        missing.extend(
            f"{table}.{column}"
            for column in columns
            if table not in export.EXPORTED_TABLES and (table, column) not in export.NOT_EXPORTED
        )
    assert not missing, (
        "tables with a user id that the export of app/services/export.py leaves out "
        f"(add them to EXPORTED_TABLES, or to NOT_EXPORTED with a reason): {missing}"
    )


def make_student_with_everything(session):
    """A student with a row in every table that can hold their data; returns (student, lecturer, class).

    Also a reveal request (asked by the lecturer, approved by an administrator) and the access log rows;
    test_the_fixture_fills_every_user_column fails when a new table with a user id gets no row here."""
    from app.models import (
        AccessLog,
        CalendarFeed,
        FeedbackMessage,
        LtiContext,
        LtiGradePost,
        LtiPlatform,
        LtiResourceLink,
        Notification,
        NotificationSetting,
        RevealRequest,
    )

    lecturer = make_user(session, role="lecturer")
    approver = make_user(session, role="admin", email="officer@school.test")
    course_class = make_class(session, lecturer=lecturer)
    student = make_user(session, email="sam@student.test")
    now = utcnow()
    session.add(Enrolment(class_id=course_class.id, user_id=student.id))
    assignment = Assignment(class_id=course_class.id, module_slug="de-relatie-werkt", due_on=date(2027, 3, 1))
    platform = LtiPlatform(
        issuer="https://lms.test",
        client_id="c",
        deployment_id="d",
        auth_login_url="https://lms.test/a",
        auth_token_url="https://lms.test/t",
        jwks_url="https://lms.test/j",
    )
    session.add_all([assignment, platform])
    session.commit()
    context = LtiContext(platform_id=platform.id, context_id="course-1", class_id=course_class.id)
    session.add(context)
    session.commit()
    link = LtiResourceLink(
        platform_id=platform.id, lti_context_id=context.id, resource_link_id="rl-1", assignment_id=assignment.id
    )
    session.add(link)
    session.commit()
    answer = Answer(
        user_id=student.id,
        class_id=course_class.id,
        module_slug="de-relatie-werkt",
        prompt_id="eerste-indruk",
        text="Mijn tekst",
        submitted_at=now,
        module_version="v1",
    )
    session.add_all(
        [
            answer,
            Extension(assignment_id=assignment.id, user_id=student.id, due_on=date(2027, 3, 8)),
            SectionVisit(user_id=student.id, module_slug="de-relatie-werkt", section_id="intro"),
            VignetteRun(user_id=student.id, module_slug="de-relatie-werkt", vignette_id="v"),
            CheckAnswer(user_id=student.id, module_slug="de-relatie-werkt", check_id="c", selected="1", correct=True),
            PasswordReset(token_hash="r" * 64, user_id=student.id, expires_at=now + timedelta(hours=1)),
            ExternalIdentity(issuer="https://idp.test", subject="s-1", user_id=student.id),
            Notification(user_id=student.id, kind="feedback", key="feedback:1", data='{"count": 1}'),
            NotificationSetting(user_id=student.id, kind="feedback", mode="digest"),
            CalendarFeed(user_id=student.id, token_hash="f" * 64),
            UserSession(
                token_hash="s" * 64,
                user_id=student.id,
                csrf_token="c" * 64,
                user_agent="Firefox op de laptop van school",
            ),
            LtiGradePost(resource_link_id=link.id, user_id=student.id, score=1.0),
        ]
    )
    session.commit()
    revision = AnswerRevision(
        answer_id=answer.id,
        text="Ingediend",
        module_version="v1",
        prompt_hash="h",
        submitted_at=now - timedelta(days=1),
    )
    session.add(revision)
    session.commit()
    feedback = Feedback(
        answer_id=answer.id,
        revision_id=revision.id,
        class_id=course_class.id,
        author_id=lecturer.id,
        text="Goed gezien",
        reply_text="Dank je",
    )
    session.add_all([feedback, DiscussionMark(class_id=course_class.id, answer_id=answer.id)])
    session.commit()
    reveal = RevealRequest(
        class_id=course_class.id,
        answer_id=answer.id,
        revision_id=revision.id,
        module_slug="de-relatie-werkt",
        prompt_id="eerste-indruk",
        requester_id=lecturer.id,
        reason="Zorg om de veiligheid van de jongere",
        status="approved",
        decided_by_id=approver.id,
        decided_at=now,
    )
    session.add_all(
        [
            FeedbackMessage(feedback_id=feedback.id, author_id=student.id, from_student=True, text="Nog een vraag"),
            reveal,
            AccessLog(
                key="read:x",
                kind="read",
                lecturer_id=lecturer.id,
                class_id=course_class.id,
                module_slug="de-relatie-werkt",
                prompt_id="eerste-indruk",
                day=now.date(),
            ),
            AccessLog(
                key="reveal:x",
                kind="reveal",
                lecturer_id=lecturer.id,
                class_id=course_class.id,
                module_slug="de-relatie-werkt",
                prompt_id="eerste-indruk",
                day=now.date(),
                student_id=student.id,
            ),
        ]
    )
    session.commit()
    return student, lecturer, course_class


def test_the_fixture_fills_every_user_column(app, session):
    """So that the next test really compares the export with every table that holds a user id."""
    from sqlalchemy import func, select

    make_student_with_everything(session)
    empty = [
        f"{table}.{column}"
        for table, column in _user_columns()
        if (table, column) not in export.NOT_EXPORTED
        and not session.execute(
            select(func.count())
            .select_from(SQLModel.metadata.tables[table])
            .where(SQLModel.metadata.tables[table].c[column].is_not(None))
        ).scalar()
    ]
    assert not empty, f"add a row to make_student_with_everything for: {empty}"


def test_the_export_of_each_user_holds_their_rows_of_every_table(app, session):
    """For every user-id column: each user named in it finds a non-empty section of their export for it."""
    from sqlalchemy import select

    from app.models import User

    make_student_with_everything(session)
    exports = {}
    missing = []
    for table, column in _user_columns():
        if (table, column) in export.NOT_EXPORTED:
            continue
        section = export.EXPORTED_TABLES[table]
        values = session.execute(select(SQLModel.metadata.tables[table].c[column]).distinct()).scalars()
        for user_id in {v for v in values if v is not None}:
            if user_id not in exports:
                exports[user_id] = export.student_data(
                    session, user=session.get(User, user_id), catalogue=app.state.catalogue, secret=b"k" * 32
                )
            if not exports[user_id][section]:
                missing.append(f"{table}.{column} -> {section} of user {user_id}")
    assert not missing, f"rows with a user id that their export leaves out: {missing}"


def test_the_export_holds_every_detail_the_issue_lists(app, session, client):
    student, lecturer, course_class = make_student_with_everything(session)
    from app.models import Invitation

    # The invitation that brought them in: kept by address, with the name the lecturer typed.
    session.add(
        Invitation(
            class_id=course_class.id, email=student.email, display_name="Sam uit de klaslijst", token_hash="e" * 64
        )
    )
    session.commit()
    login(client, student)  # a user_session row, with its user agent

    data = json.loads(client.get("/account/my-data.json").text)
    assert data["invitations"] == [
        {
            "class_id": course_class.id,
            "name": "Sam uit de klaslijst",
            "email": student.email,
            "created_at": data["invitations"][0]["created_at"],
            "accepted_at": None,
        }
    ]

    assert data["account"]["email"] == "sam@student.test" and data["account"]["created_at"]
    assert data["account"]["language"] is None and "email_verified_at" in data["account"]
    reflection = data["modules"][0]["reflections"][0]
    assert reflection["module_version"] == "v1" and reflection["submissions"][0]["text"] == "Ingediend"
    assert reflection["feedback"][0]["your_reply"] == "Dank je" and "read_at" in reflection["feedback"][0]
    assert reflection["feedback"][0]["messages"][0]["text"] == "Nog een vraag"
    assert data["sessions"][0]["user_agent"] and data["sessions"][0]["last_seen_at"]
    assert data["pseudonyms"][0]["pseudonym"]
    assert data["discussion_marks"][0]["prompt_id"] == "eerste-indruk"
    assert data["notifications"][0]["kind"] == "feedback" and data["notification_settings"][0]["mode"] == "digest"
    assert "token_hash" not in json.dumps(data["calendar_feeds"]) and "f" * 64 not in json.dumps(data)
    assert data["grades_sent"][0]["score"] == 1.0
    kinds = {row["kind"] for row in data["access_log"]}
    assert kinds == {"read", "reveal"}
    assert all(lecturer.display_name in row["lecturers"] for row in data["access_log"])
    assert data["reveals"][0]["reason"] == "Zorg om de veiligheid van de jongere"

    lecturer_data = export.student_data(session, user=lecturer, catalogue=app.state.catalogue)
    assert lecturer_data["teaching"][0]["class_id"] == course_class.id
    assert lecturer_data["reveals"][0]["asked_by_you"] is True
    # A lecturer's export never names the student whose answer was revealed, nor holds the answer's text.
    assert "sam@student.test" not in json.dumps(lecturer_data) and "Ingediend" not in json.dumps(lecturer_data)


def test_the_zip_export_carries_the_same_json(client, session):
    student = make_user(session)
    login(client, student)
    response = client.get("/account/my-data.zip")
    assert response.status_code == 200 and response.content[:2] == b"PK"
