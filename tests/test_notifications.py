"""Notifications (issue 21): written by jobs (immediate mode in tests), shown in the app, mailed per setting."""

from __future__ import annotations

import email
import json
from datetime import timedelta

from sqlmodel import select

from app.models import Notification, NotificationSetting, Role, utcnow
from app.services import classes, notifications, reflections
from app.services.review import give_feedback
from tests.factories import add_students, assign, csrf, first_module, first_prompt, login, make_class, make_user
from tests.pages import one, text_of, texts
from tests.pages import select as select_all

LONG = " ".join(["woord"] * 200)


def outbox(settings) -> list[email.message.EmailMessage]:
    folder = settings.var_dir / "outbox"
    return (
        [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]
        if folder.exists()
        else []
    )


def _submit(session, user, module, prompt_id):
    session.commit()
    return reflections.submit(
        session, user_id=user.id, module=module, prompt=module.reflections[prompt_id], text=LONG, base_version=0
    )


def _setup(app, session, k=3):
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    course_class.min_group_size = k
    session.add(course_class)
    session.commit()
    module = first_module(app)
    return lecturer, course_class, module


def test_feedback_reaches_the_student_in_app_and_by_mail_in_their_language(app, client, session, settings):
    lecturer, course_class, module = _setup(app, session)
    assign(session, course_class, module)
    students = add_students(session, course_class, 3)
    students[0].locale = "en"
    session.add(students[0])
    session.commit()
    prompt_id = first_prompt(module)
    answers = [_submit(session, s, module, prompt_id).answer for s in students]
    before = len(outbox(settings))
    revision = reflections.latest_revision(session, answer_id=answers[0].id)
    give_feedback(
        session,
        course_class=course_class,
        answer_id=answers[0].id,
        revision_id=revision.id,
        author=lecturer,
        text="Mooi gezien.",
    )
    mine = session.exec(select(Notification).where(Notification.user_id == students[0].id)).all()
    assert [n.kind for n in mine if n.kind == "feedback"] == ["feedback"]
    mails = outbox(settings)[before:]
    to_student = [m for m in mails if m["To"] == students[0].email]
    assert len(to_student) == 1
    assert to_student[0]["Subject"] == "Nabij: new feedback"  # English, generic: no module, no name
    body = to_student[0].get_content()
    assert module.title in body and "/notifications/unsubscribe/" in body and "Mooi gezien" not in body
    # The mail program's own unsubscribe button (RFC 8058), on the same signed link as in the text.
    link = to_student[0]["List-Unsubscribe"]
    assert link.startswith("<http") and link.strip("<>") in body
    assert to_student[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_lecturers_hear_of_whole_rounds_only_never_of_one_submission(app, session, settings):
    lecturer, course_class, module = _setup(app, session, k=3)
    assign(session, course_class, module)
    students = add_students(session, course_class, 5)
    prompt_id = first_prompt(module)

    def rounds_for_lecturer():
        session.commit()
        return session.exec(
            select(Notification).where(Notification.user_id == lecturer.id, Notification.kind == "review_round")
        ).all()

    _submit(session, students[0], module, prompt_id)
    _submit(session, students[1], module, prompt_id)
    assert rounds_for_lecturer() == []  # two of k=3: nothing, not even a count
    _submit(session, students[2], module, prompt_id)
    first = rounds_for_lecturer()
    assert len(first) == 1 and '"num": 3' in first[0].data
    _submit(session, students[3], module, prompt_id)
    assert len(rounds_for_lecturer()) == 1  # the fourth alone changes nothing
    for notice in first:
        # Only what the review shows: class, module, prompt and the released totals; no user id.
        assert set(json.loads(notice.data)) == {"module", "class", "prompt", "num", "total"}
        for student in students:
            assert student.display_name not in notice.data and student.email not in notice.data


def test_new_and_changed_assignment_extension_and_due_soon(app, session, settings):
    _lecturer, course_class, module = _setup(app, session)
    students = add_students(session, course_class, 2)
    assignment = assign(session, course_class, module, days=2)
    session.commit()

    def kinds(user):
        return sorted(n.kind for n in session.exec(select(Notification).where(Notification.user_id == user.id)))

    assert kinds(students[0]) == ["assignment"]
    classes.update_assignment(
        session, assignment=assignment, due_on=assignment.due_on - timedelta(days=1), opens_on=None
    )  # tomorrow 23:59: within 48 hours
    session.commit()
    assert kinds(students[0]) == ["assignment", "assignment"]
    # Saved unchanged: nothing new.
    classes.update_assignment(session, assignment=assignment, due_on=assignment.due_on, opens_on=None)
    session.commit()
    assert kinds(students[0]) == ["assignment", "assignment"]
    classes.grant_extension(
        session,
        course_class=course_class,
        assignment=assignment,
        user_id=students[1].id,
        due_on=assignment.due_on + timedelta(days=10),
    )
    session.commit()
    assert "extension" in kinds(students[1])
    added = notifications.remind_due_soon(now=utcnow())
    session.commit()
    assert "due_soon" in kinds(students[0]) and "due_soon" not in kinds(students[1])  # extended: not due yet
    assert added == 1
    assert notifications.remind_due_soon(now=utcnow()) == 0  # a second run adds nothing


def test_a_class_reaching_k_tells_its_lecturers(app, session):
    lecturer, course_class, _module = _setup(app, session, k=3)
    add_students(session, course_class, 2)
    extra = make_user(session)
    extra.email_verified_at = utcnow()
    session.add(extra)
    session.commit()
    assert not session.exec(select(Notification).where(Notification.kind == "class_k")).all()
    classes.enrol(session, course_class=course_class, student=extra)
    session.commit()
    notice = session.exec(select(Notification).where(Notification.kind == "class_k")).one()
    assert notice.user_id == lecturer.id and set(json.loads(notice.data)) == {"class", "k"}


def test_digest_and_off_settings_and_the_nav_count(app, client, session, settings):
    student = make_user(session)
    notifications.set_mail_mode(session, user_id=student.id, kind="extension", mode="digest")
    notifications.set_mail_mode(session, user_id=student.id, kind="assignment", mode="off")
    session.commit()
    before = len(outbox(settings))
    from app import jobs

    with jobs.session() as job_session:
        notifications.notify(
            job_session,
            user_id=student.id,
            kind="extension",
            key="t1",
            data={"module": "M", "due": utcnow().isoformat()},
            link="/",
        )
        notifications.notify(
            job_session,
            user_id=student.id,
            kind="assignment",
            key="t2",
            data={"module": "M", "class": "C", "due": utcnow().isoformat()},
            link="/",
        )
        assert (
            notifications.notify(job_session, user_id=student.id, kind="assignment", key="t2", data={}, link="/")
            is None
        )  # idempotent
    assert len(outbox(settings)) == before  # nothing at once
    assert notifications.send_digests() == 1
    digest = outbox(settings)[before:]
    assert len(digest) == 1 and digest[0]["To"] == student.email
    assert str(digest[0]["Subject"]).startswith("Nabij: ") and student.display_name not in str(digest[0]["Subject"])
    assert "M" in digest[0].get_content()  # the extension notice; the "off" one is not in it
    assert notifications.send_digests() == 0
    login(client, student)
    page = client.get("/modules").text
    badge = one(page, 'nav.site-nav a[href="/notifications"] .badge--count')
    assert text_of(badge) == "2 unread" and texts(badge, ".visually-hidden") == ["unread"]  # read aloud in full
    client.post("/notifications/read", data={"csrf_token": csrf(client)})
    read = client.get("/modules").text
    assert one(read, 'nav.site-nav a[href="/notifications"]') and select_all(read, ".badge--count") == []
    assert "unread" not in texts(read, ".visually-hidden")


def test_signed_unsubscribe_works_without_login_and_rejects_forged_tokens(app, client, session):
    student = make_user(session)
    token = notifications.unsubscribe_token(app.state.secret, user_id=student.id, kind="feedback")
    page = client.get(f"/notifications/unsubscribe/{token}")
    assert page.status_code == 200
    done = client.post(
        f"/notifications/unsubscribe/{token}", data={"csrf_token": csrf(client, f"/notifications/unsubscribe/{token}")}
    )
    assert done.status_code == 200
    session.commit()
    assert session.get(NotificationSetting, (student.id, "feedback")).mode == "off"
    forged = notifications.unsubscribe_token(
        b"another-secret-0123456789012345678901234", user_id=student.id, kind="all"
    )
    assert client.get(f"/notifications/unsubscribe/{forged}").status_code == 404
    assert client.get("/notifications/unsubscribe/garbage").status_code == 404


def test_one_click_unsubscribe_from_the_mail_program_needs_no_cookie_or_form_token(app, session):
    """RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click` to the link, from its own servers."""
    from fastapi.testclient import TestClient

    student = make_user(session)
    token = notifications.unsubscribe_token(app.state.secret, user_id=student.id, kind="all")
    provider = TestClient(app, headers={"Sec-Fetch-Site": "cross-site"})
    response = provider.post(f"/notifications/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    session.commit()
    assert {
        kind: notifications.mail_mode(session, user_id=student.id, kind=kind)
        for kind in notifications.kinds_for(student)
    } == dict.fromkeys(notifications.kinds_for(student), "off")
    # Any other cross-site POST is still refused.
    assert provider.post("/notifications/settings", data={}).status_code == 403


def test_settings_page_saves_modes_and_rejects_unknown_ones(app, client, session):
    student = make_user(session)
    login(client, student)
    token = csrf(client, "/notifications/settings")
    bad = client.post("/notifications/settings", data={"csrf_token": token, "mode_feedback": "weekly"})
    assert bad.status_code == 400 and "Choose at once" in bad.text
    ok = client.post(
        "/notifications/settings", data={"csrf_token": token, "mode_feedback": "digest"}, follow_redirects=False
    )
    assert ok.status_code == 303
    session.commit()
    assert notifications.mail_mode(session, user_id=student.id, kind="feedback") == "digest"
