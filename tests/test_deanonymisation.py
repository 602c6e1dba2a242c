"""Issue 12: the attacks of a determined lecturer or admin, played through what they can fetch.

Each test looks at everything a lecturer can see before and after a student's action and asserts
that the change points to no fewer than k candidates (often: that nothing changes at all)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from app.models import Answer, AnswerRevision, CourseClass, Enrolment, Role, User, UserSession, utcnow
from app.services import classes, review
from tests.conftest import FIXTURE_MODULES, csrf_from
from tests.factories import (
    PASSWORD,
    add_students,
    assign,
    first_module,
    first_prompt,
    login,
    make_class,
    make_user,
    review_url,
    submit,
    submit_all,
)
from tests.test_student_journey import fresh


def _everything(client, course_class, module) -> str:
    """What a lecturer can fetch about the class: matrix (HTML, CSV), review pages, exports."""
    urls = [
        f"/classes/{course_class.id}/progress",
        f"/classes/{course_class.id}/progress.csv",
        review_url(course_class, module),
    ]
    for prompt_id in module.reflections:
        urls += [
            review_url(course_class, module, prompt_id),
            review_url(course_class, module, prompt_id) + "/export.csv",
        ]
    return "\n".join(client.get(url).text for url in urls)


def test_1_one_more_submission_changes_nothing_a_lecturer_can_see(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    students = add_students(session, course_class, 7)
    submit_all(session, students[:5], module, first_prompt(module))  # round 1
    login(client, lecturer)
    before = _everything(client, course_class, module)
    submit(session, students[5], module, first_prompt(module), "The sixth answer, alone")
    after = _everything(client, course_class, module)
    assert "The sixth answer" not in after
    assert before == after  # no count, date, status or badge moved: nothing points to students[5]


def test_2_a_second_class_sees_nothing_written_before_and_nobody_is_enrolled_unasked(app, client, session, settings):
    lecturer = make_user(session, role=Role.LECTURER)
    first = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, first, module)
    students = add_students(session, first, 6)
    submit_all(session, students, module, first_prompt(module), text="Old text {n}")
    second = make_class(session, lecturer=lecturer, name="Subset")
    assign(session, second, module)
    login(client, lecturer)
    from tests.factories import csrf

    roster = "\n".join(f"{s.display_name},{s.email}" for s in students[:5])
    client.post(
        f"/classes/{second.id}/students/import", data={"roster_text": roster, "csrf_token": csrf(client, "/classes")}
    )
    session.commit()
    assert session.exec(select(Enrolment).where(Enrolment.class_id == second.id)).first() is None
    for s in students[:5]:  # even once they accept, the old texts stay with the first class
        classes.enrol(session, course_class=second, student=s)
    page = client.get(review_url(second, module, first_prompt(module))).text
    assert "Old text" not in page


def test_3_unconfirmed_accounts_do_not_count_towards_k(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    fakes = add_students(session, course_class, 4)
    for fake in fakes:
        fake = session.get(User, fake.id)
        fake.email_verified_at = None
        session.add(fake)
    session.commit()
    real = add_students(session, course_class, 1)[0]
    submit_all(session, fakes, module, first_prompt(module), text="Fake {n}")
    submit(session, real, module, first_prompt(module), "The one real student's answer")
    login(client, lecturer)
    assert "real student" not in client.get(review_url(course_class, module, first_prompt(module))).text


def test_5_no_read_receipt_and_no_lone_reply(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    students = add_students(session, course_class, 5)
    answers = submit_all(session, students, module, first_prompt(module))
    revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == answers[0].id)).one()
    feedback = review.give_feedback(
        session,
        course_class=course_class,
        answer_id=answers[0].id,
        revision_id=revision.id,
        author=lecturer,
        text="Well seen.",
    )
    login(client, lecturer)
    before = _everything(client, course_class, module)
    feedback.read_at = datetime.now()
    session.add(feedback)
    session.commit()
    assert _everything(client, course_class, module) == before


def test_6_an_admin_reads_a_review_only_as_a_lecturer_of_the_class(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    admin = make_user(session, role=Role.ADMIN)
    login(client, admin)
    assert client.get(review_url(course_class, module)).status_code == 404
    assert client.get(f"/classes/{course_class.id}/progress").status_code == 404
    classes.add_lecturer(session, course_class=session.get(CourseClass, course_class.id), email=admin.email)
    assert client.get(review_url(course_class, module)).status_code == 200
    assert admin.display_name in client.get(f"/classes/{course_class.id}/settings").text


@pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)
def test_4_on_a_shared_computer_the_next_student_gets_nothing_of_the_previous_one(client, session, settings):
    """The server's half of the shared-computer case (the browser's half: tests/e2e/test_student_browser.py)."""
    sam = make_user(session, email="sam@student.test", name="Sam")
    noor = make_user(session, email="noor@student.test", name="Noor")

    # A login without "remember me" is a browser-session cookie: closing the browser ends it.
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": sam.email, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": "/"},
        follow_redirects=False,
    )
    session_cookie = next(
        value for value in response.headers.get_list("set-cookie") if value.startswith("nabij_session=")
    ).lower()
    assert "max-age" not in session_cookie and "expires" not in session_cookie

    # The drafts' namespace in the browser is per account and names nobody.
    sam_owner = re.search(r'data-draft-owner="([^"]+)"', client.get("/").text).group(1)
    assert re.fullmatch(r"[0-9a-f]{20}", sam_owner) and sam_owner != str(sam.id)

    # Sam's session ends while typing: the login page keeps the text, bound to Sam's account.
    casus = client.get("/modules/proef/casus").text
    fresh(session)
    for row in session.exec(select(UserSession).where(UserSession.user_id == sam.id)):
        row.last_seen_at = utcnow() - timedelta(days=1)
        session.add(row)
    session.commit()
    ended = client.post(
        "/modules/proef/prompts/proef-keuze",
        data={"text": "Wat Sam over Sanne schreef.", "version": "0", "action": "save", "csrf_token": csrf_from(casus)},
    )
    assert ended.status_code == 401
    owner = re.search(r'name="pending_owner" value="([^"]+)"', ended.text).group(1)

    # Noor sits down and logs in on that page: nothing of Sam's is saved into Noor's account or shown to Noor.
    landed = client.post(
        "/login",
        data={
            "email": noor.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(ended.text),
            "next": "/modules/proef/casus#prompt-proef-keuze",
            "pending_slug": "proef",
            "pending_prompt": "proef-keuze",
            "pending_version": "0",
            "pending_text": "Wat Sam over Sanne schreef.",
            "pending_owner": owner,
        },
    )
    fresh(session)
    assert session.exec(select(Answer)).all() == []
    assert "Wat Sam over Sanne schreef." not in landed.text
    noor_page = client.get("/modules/proef/casus").text
    assert "Wat Sam over Sanne schreef." not in noor_page
    assert re.search(r'data-draft-owner="([^"]+)"', noor_page).group(1) != sam_owner

    # Logging out asks the browser to clear what it kept (the drafts) along with the session.
    logout = client.post("/logout", data={"csrf_token": csrf_from(noor_page)}, follow_redirects=False)
    assert logout.headers["Clear-Site-Data"] == '"storage"'
