"""The access log (issue 13): who read a class's answers to a prompt, on which day; shown to the student and admins."""

from __future__ import annotations

from sqlmodel import select

from app.models import AccessLog, Enrolment, Role, school_today, utcnow
from app.services import access_log, classes, retention
from tests.factories import add_students, first_prompt, login, make_class, make_user, review_url, submit, submit_all


def _student_who_logs_in(session, course_class, name="Sam Student"):
    student = make_user(session, name=name)
    student.email_verified_at = utcnow()
    session.add(student)
    session.add(Enrolment(class_id=course_class.id, user_id=student.id))
    session.commit()
    return student


def _class_with_answers(session, course_class, module, prompt_id, student=None):
    others = add_students(session, course_class, 4)
    submit_all(session, others, module, prompt_id)
    if student is not None:
        submit(session, student, module, prompt_id, "Mijn eigen antwoord")


def test_a_review_page_and_an_export_log_one_row_per_lecturer_prompt_and_day(app, client, session, taught):
    lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    url = review_url(course_class, module, prompt_id)
    client.get(url)
    assert session.exec(select(AccessLog)).all() == []  # below k nothing was shown, nothing was read

    _class_with_answers(session, course_class, module, prompt_id, student=_student_who_logs_in(session, course_class))
    client.get(url)
    client.get(url + "?page=1")
    client.get(url + "/export.csv")
    client.get(url + "/export.md")
    session.commit()
    rows = session.exec(select(AccessLog).order_by(AccessLog.id)).all()
    assert [(r.kind, r.lecturer_id, r.class_id, r.prompt_id) for r in rows] == [
        ("read", lecturer.id, course_class.id, prompt_id),
        ("export", lecturer.id, course_class.id, prompt_id),
    ]
    # Nothing in a read row says which student or which answer was on the screen, or in which order.
    assert all(r.student_id is None for r in rows)
    assert {c.name for c in AccessLog.__table__.columns} == {
        "id",
        "key",
        "kind",
        "lecturer_id",
        "class_id",
        "module_slug",
        "prompt_id",
        "day",
        "student_id",
        "created_at",
    }


def test_the_student_sees_on_account_which_lecturers_read_their_answers(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    co = make_user(session, role=Role.LECTURER, name="Aart Aalbers")
    classes.add_lecturer(session, course_class=course_class, email=co.email)
    session.commit()
    student = _student_who_logs_in(session, course_class)
    bystander = _student_who_logs_in(session, course_class, name="Bo Bystander")  # answered nothing
    _class_with_answers(session, course_class, module, prompt_id, student=student)
    url = review_url(course_class, module, prompt_id)
    client.get(url)
    login(client, co)
    client.get(url + "/export.md")

    login(client, student)
    page = client.get("/account").text
    assert "Who read your answers" in page
    assert f"were read by the lecturers of class {course_class.name}" in page
    # Both lecturers, alphabetically: never who read first, nor which answer.
    assert "Aart Aalbers, Lena Lector" in page
    login(client, bystander)
    assert "Who read your answers" not in client.get("/account").text


def test_only_admins_see_the_log_of_a_class_and_lecturers_never(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _class_with_answers(session, course_class, module, prompt_id, student=_student_who_logs_in(session, course_class))
    client.get(review_url(course_class, module, prompt_id))
    assert client.get(f"/admin/classes/{course_class.id}/access-log").status_code == 404
    assert "Who read your answers" not in client.get("/account").text  # a lecturer's own account: not the log

    admin = make_user(session, role=Role.ADMIN)
    login(client, admin)
    page = client.get(f"/admin/classes/{course_class.id}/access-log")
    assert page.status_code == 200 and "Lena Lector" in page.text and "read the answers" in page.text


def test_the_log_goes_with_the_answers_of_an_archived_class(app, session, settings):
    from datetime import timedelta

    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    session.add(
        AccessLog(
            key="read:1",
            kind="read",
            lecturer_id=lecturer.id,
            class_id=course_class.id,
            module_slug="m",
            prompt_id="p",
            day=school_today(),
        )
    )
    course_class.archived_at = utcnow() - timedelta(days=30 * settings.retention_months_after_archive + 1)
    session.add(course_class)
    session.commit()
    assert retention.plan(session, settings=settings).counts["access log of archived classes"] == 1
    retention.purge(session, settings=settings)
    assert session.exec(select(AccessLog)).all() == []


def test_a_student_is_shown_only_prompts_they_had_answered_by_that_day(app, session, taught):
    from datetime import timedelta

    lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    student = _student_who_logs_in(session, course_class)
    submit(session, student, module, prompt_id, "tekst")
    today = school_today()
    for key, day, prompt in (
        ("a", today - timedelta(days=3), prompt_id),
        ("b", today, prompt_id),
        ("c", today, "another-prompt"),
    ):
        session.add(
            AccessLog(
                key=key,
                kind="read",
                lecturer_id=lecturer.id,
                class_id=course_class.id,
                module_slug=module.slug,
                prompt_id=prompt,
                day=day,
            )
        )
    session.commit()
    entries = access_log.for_student(session, user=student, catalogue=app.state.catalogue)
    assert [(e.prompt_id, e.day) for e in entries] == [(prompt_id, today)]
    assert entries[0].lecturers == ["Lena Lector"]
