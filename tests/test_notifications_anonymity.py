"""The anonymity test (issue 12) extended to notifications, to-do lists, feeds and mails (issue 21): nothing a
lecturer receives names, counts or dates one student's answer or reply."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlmodel import select

from app.models import Feedback, Notification, Role, utcnow
from app.services import classes, notifications, reflections
from app.services.review import give_feedback
from tests.factories import add_students, csrf, first_module, first_prompt, login, make_class, make_user
from tests.test_notifications import LONG, outbox


def test_nothing_a_lecturer_gets_names_a_student(app, client, session, settings):
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    module = first_module(app)
    prompt_id = first_prompt(module)
    classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=utcnow().date() + timedelta(days=3)
    )
    students = add_students(session, course_class, 4, prefix="Geheim")
    for student in students:
        session.commit()
        reflections.submit(
            session, user_id=student.id, module=module, prompt=module.reflections[prompt_id], text=LONG, base_version=0
        )
    session.commit()
    answers = session.exec(select(Feedback)).all()
    assert answers == []
    from app.models import Answer

    for answer in session.exec(select(Answer)).all():
        revision = reflections.latest_revision(session, answer_id=answer.id)
        give_feedback(
            session,
            course_class=course_class,
            answer_id=answer.id,
            revision_id=revision.id,
            author=lecturer,
            text="Wat merkte je bij jezelf?",
        )
    session.commit()
    for feedback in session.exec(select(Feedback)).all():
        student_id = session.get(Answer, feedback.answer_id).user_id
        reflections.reply_to_feedback(
            session, user_id=student_id, feedback_id=feedback.id, text="Dat ik het te snel wilde oplossen."
        )
    session.commit()

    mine = session.exec(select(Notification).where(Notification.user_id == lecturer.id)).all()
    assert {n.kind for n in mine} >= {"review_round", "replies_round"}
    login(client, lecturer)
    pages = {path: client.get(path).text for path in ("/notifications", "/")}
    pages["feed"] = client.get(
        re.search(
            r'value="http://testserver(/calendar/[^"]+)"',
            client.post("/calendar/feed", data={"csrf_token": csrf(client, "/notifications/settings")}).text,
        ).group(1)
    ).text
    notifications.send_digests()  # lecturers get rounds in the daily overview by default
    lecturer_mails = [m.get_content() + str(m["Subject"]) for m in outbox(settings) if m["To"] == lecturer.email]
    assert lecturer_mails, "the lecturer got the daily overview"
    for student in students:
        for where, text in list(pages.items()) + [(f"mail {n}", m) for n, m in enumerate(lecturer_mails)]:
            assert student.display_name not in text and student.email not in text, where
    for notice in mine:  # only class, module, prompt and released totals: no user id can ride along
        assert set(json.loads(notice.data)) <= {"module", "class", "prompt", "num", "total", "k"}
    # Counts are whole rounds: 4 submissions with k=3 release 3; the fourth never shows as a number.
    round_notice = next(n for n in mine if n.kind == "review_round")
    assert '"num": 3' in round_notice.data
    assert "4 new answers" not in pages["/notifications"] and "3 new answers" in pages["/notifications"]
    # Subjects never carry names, class names or module titles.
    for mail in outbox(settings):
        subject = str(mail["Subject"])
        assert module.title not in subject and course_class.name not in subject
        assert all(s.display_name not in subject for s in students) and "Lena" not in subject


def test_student_todo_leads_with_the_soonest_and_marks_overdue_and_my_feedback_lists_it(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    modules = app.state.catalogue.published()[:2]
    student = make_user(session)
    classes.enrol(session, course_class=course_class, student=student)
    later = classes.assign(
        session, course_class=course_class, module_slug=modules[0].slug, due_on=utcnow().date() + timedelta(days=9)
    )
    soon = classes.assign(
        session, course_class=course_class, module_slug=modules[1].slug, due_on=utcnow().date() + timedelta(days=2)
    )
    session.commit()
    login(client, student)
    page = client.get("/").text
    todo = page.split('id="todo-title"')[1].split("</section>")[0]
    assert todo.index(modules[1].title) < todo.index(modules[0].title)
    # Overdue: move the soon one into the past (as the service would after the date passed).
    soon.due_on = utcnow().date() - timedelta(days=2)
    session.add(soon)
    session.commit()
    todo = client.get("/").text.split('id="todo-title"')[1].split("</section>")[0]
    assert "todo-item--overdue" in todo and todo.index(modules[1].title) < todo.index(modules[0].title)
    assert later.id
    empty = client.get("/my/feedback")
    assert empty.status_code == 200 and "No feedback yet" in empty.text
