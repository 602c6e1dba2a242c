"""The dialogue under feedback (issue 21 item 4): the lecturer by name to the student, the student as a
pseudonym to the lecturer, student messages released in rounds of k, own last message editable."""

from __future__ import annotations

import re

from sqlmodel import select

from app.models import Answer, FeedbackMessage, Notification, Role, utcnow
from app.services import classes, dialogue, reflections
from app.services.pseudonyms import answer_ref
from app.services.review import give_feedback
from tests.factories import assign, csrf, first_module, first_prompt, login, make_class, make_user
from tests.test_notifications import LONG


def _world(app, session, count=3):
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    module = first_module(app)
    assign(session, course_class, module)
    prompt_id = first_prompt(module)
    students = []
    for _n in range(count):  # real accounts: they log in
        student = make_user(session)
        student.email_verified_at = utcnow()
        session.add(student)
        session.commit()
        classes.enrol(session, course_class=course_class, student=student)
        students.append(student)
    for student in students:
        session.commit()
        reflections.submit(
            session, user_id=student.id, module=module, prompt=module.reflections[prompt_id], text=LONG, base_version=0
        )
    session.commit()
    feedback = {}
    for answer in session.exec(select(Answer)).all():
        revision = reflections.latest_revision(session, answer_id=answer.id)
        feedback[answer.user_id] = give_feedback(
            session,
            course_class=course_class,
            answer_id=answer.id,
            revision_id=revision.id,
            author=lecturer,
            text="Vertel meer.",
        )
        reflections.reply_to_feedback(
            session, user_id=answer.user_id, feedback_id=feedback[answer.user_id].id, text="Eerste reactie."
        )
    session.commit()
    return lecturer, course_class, module, prompt_id, students, feedback


def test_student_messages_reach_the_lecturer_in_rounds_and_can_change_until_then(app, client, session):
    lecturer, course_class, module, prompt_id, students, feedback = _world(app, session)
    first = dialogue.student_says(
        session, user=students[0], feedback_id=feedback[students[0].id].id, text="Nog een gedachte van student nul."
    )
    answer = session.get(Answer, feedback[students[0].id].answer_id)
    ref = answer_ref(app.state.secret, class_id=course_class.id, answer_id=answer.id)
    url = f"/classes/{course_class.id}/review/{module.slug}/{prompt_id}/dialogue?ref={ref}"
    login(client, lecturer)
    assert "Nog een gedachte" not in client.get(url).text  # one student: not yet
    session.commit()  # a fresh transaction after what the app wrote (SQLite)
    assert dialogue.change_own_last(
        session, user=students[0], message_id=first.id, text="Herschreven gedachte.", as_student=True
    )
    # Someone else's message cannot be changed.
    assert not dialogue.change_own_last(session, user=students[1], message_id=first.id, text="x", as_student=True)
    for student in students[1:]:
        session.commit()
        dialogue.student_says(session, user=student, feedback_id=feedback[student.id].id, text="Ook iets.")
    page = client.get(url).text
    assert "Herschreven gedachte." in page
    assert all(s.display_name not in page and s.email not in page for s in students)
    # Released: fixed now, so no lecturer can watch it change.
    session.commit()
    assert not dialogue.change_own_last(session, user=students[0], message_id=first.id, text="later", as_student=True)
    session.commit()
    kinds = {n.kind for n in session.exec(select(Notification).where(Notification.user_id == lecturer.id))}
    assert "replies_round" in kinds


def test_the_lecturer_writes_by_name_the_student_is_notified_and_the_lecturer_can_withdraw(app, client, session):
    lecturer, course_class, module, prompt_id, students, feedback = _world(app, session)
    answer = session.get(Answer, feedback[students[1].id].answer_id)
    ref = answer_ref(app.state.secret, class_id=course_class.id, answer_id=answer.id)
    base = f"/classes/{course_class.id}/review/{module.slug}/{prompt_id}/dialogue"
    login(client, lecturer)
    page = client.get(f"{base}?ref={ref}")
    assert page.status_code == 200
    assert "Eerste reactie." in page.text  # the first reply, released with the round of three, as in the review
    token = csrf(client, f"{base}?ref={ref}")
    empty = client.post(base, data={"csrf_token": token, "ref": ref, "n": "0", "text": "  ", "action": "say"})
    assert empty.status_code == 400 and "Write your message first." in empty.text
    sent = client.post(
        base,
        data={"csrf_token": token, "ref": ref, "n": "0", "text": "Wat hielp je daarbij?", "action": "say"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    session.commit()
    message = session.exec(select(FeedbackMessage)).one()
    assert not message.from_student and message.author_id == lecturer.id
    assert session.exec(
        select(Notification).where(Notification.user_id == students[1].id, Notification.kind == "reply")
    ).one()
    assert client.get(f"{base}?ref=not-a-ref", follow_redirects=False).headers["location"] == base.removesuffix(
        "/dialogue"
    )
    login(client, students[1])
    mine = client.get("/my/feedback").text
    assert "Wat hielp je daarbij?" in mine and "Lena Lector" in mine
    login(client, lecturer)
    token = csrf(client, f"{base}?ref={ref}")
    client.post(
        base, data={"csrf_token": token, "ref": ref, "n": "0", "message": str(message.id), "action": "withdraw"}
    )
    session.commit()
    session.refresh(message)
    assert message.withdrawn_at is not None and message.text == ""  # not kept (docs/privacy.md)
    login(client, students[1])
    mine = client.get("/my/feedback").text
    assert "Wat hielp je daarbij?" not in mine and "(withdrawn)" in mine
    # The student writes back through the page (no JavaScript needed).
    token = csrf(client, "/my/feedback")
    fid = feedback[students[1].id].id
    bad = client.post(f"/my/feedback/{fid}/messages", data={"csrf_token": token, "text": ""})
    assert bad.status_code == 400
    ok = client.post(
        f"/my/feedback/{fid}/messages", data={"csrf_token": token, "text": "Dank je."}, follow_redirects=False
    )
    assert ok.status_code == 303
    other = feedback[students[0].id].id
    assert client.post(f"/my/feedback/{other}/messages", data={"csrf_token": token, "text": "x"}).status_code == 404
    assert re.search(r"Dank je\.", client.get("/my/feedback").text)
