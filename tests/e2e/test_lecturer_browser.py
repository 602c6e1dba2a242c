"""Lecturers and students together in real browsers: a class, a code, an assignment, anonymised review."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Answer, AnswerRevision, CourseClass, Role, User, utcnow
from app.services import classes, reflections, review
from tests.conftest import FIXTURE_MODULES
from tests.e2e.conftest import log_in, screenshot
from tests.factories import make_class, make_user

pytestmark = pytest.mark.parametrize("live_server", [{"modules_dir": FIXTURE_MODULES}], indirect=True)


def confirmation_link(live_server, address: str) -> str:
    """The link in the confirmation mail, read from the outbox as the student reads their mail."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for mail in sorted((live_server.settings.var_dir / "outbox").glob("*")):
            text = mail.read_text(errors="replace")
            if address in text and (match := re.search(r"https?://\S+/signup/confirm/\S+", text)):
                return live_server.url + urlsplit(match.group(0)).path
        time.sleep(0.2)
    raise AssertionError(f"no confirmation mail for {address} in the outbox")


def test_lecturer_creates_a_class_student_joins_with_the_code_lecturer_assigns(live_server, new_page):
    with live_server.session() as session:
        make_user(session, role=Role.LECTURER, email="docent@school.test", name="Dirk Docent")
    lecturer = new_page()
    log_in(lecturer, live_server, "docent@school.test")
    lecturer.goto(f"{live_server.url}/classes/new")
    lecturer.fill("#field-name", "SW2B Nabijheid")
    lecturer.fill("#field-programme", "Bachelor Sociaal Werk")
    lecturer.locator("form[action='/classes/new'] button[type=submit]").click()
    code = lecturer.locator(".join-code__code code").inner_text()
    assert len(code.replace("-", "")) == 8
    screenshot(lecturer, "lecturer-class")

    student = new_page()
    student.goto(f"{live_server.url}/signup")
    student.fill("#field-join_code", code)
    student.fill("#field-display_name", "Noor Student")
    student.fill("#field-email", "noor@student.test")
    student.fill("#field-password", "een zin die ik onthoud")
    student.locator("form[action='/signup'] button[type=submit]").click()
    expect(student.locator("main")).to_contain_text("noor@student.test")  # "check your mail"
    student.goto(confirmation_link(live_server, "noor@student.test"))
    student.locator("form[action^='/signup/confirm/'] button[type=submit]").click()
    student.wait_for_url(f"{live_server.url}/")
    assignments = student.locator("section[aria-labelledby=assigned-title]")
    expect(assignments).not_to_contain_text("Proefmodule")

    with live_server.session() as session:
        class_id = session.exec(select(CourseClass.id).where(CourseClass.name == "SW2B Nabijheid")).one()
    lecturer.goto(f"{live_server.url}/classes/{class_id}/assignments/new")
    lecturer.select_option("#field-module", "proef")
    lecturer.fill("#field-due_on", (utcnow().date() + timedelta(days=14)).isoformat())
    lecturer.locator(f"form[action='/classes/{class_id}/assignments/new'] button[type=submit]").click()
    expect(lecturer.locator("main")).to_contain_text("Proefmodule")

    student.reload()
    expect(assignments).to_contain_text("Proefmodule")
    screenshot(student, "student-dashboard-assigned")


def test_lecturer_reviews_anonymously_gives_feedback_and_sees_the_reply(live_server, new_page):
    with live_server.session() as session:
        lecturer = make_user(session, role=Role.LECTURER, email="docent@school.test", name="Dirk Docent")
        course_class = make_class(session, lecturer=lecturer, name="SW2A")
        classes.assign(
            session, course_class=course_class, module_slug="proef", due_on=utcnow().date() + timedelta(days=7)
        )
        from app.content.catalogue import load_catalogue

        module = load_catalogue(FIXTURE_MODULES).get("proef")
        module_prompt = module.reflections["proef-keuze"]
        for n in range(course_class.min_group_size):
            student = make_user(session, email=f"student{n}@school.test", name=f"Xandra Quell{n}")
            classes.enrol(session, course_class=course_class, student=student)
            reflections.submit(
                session,
                user_id=student.id,
                module=module,
                prompt=module_prompt,
                text=f"Antwoord nummer {n}: ik koos voor nabijheid.",
                base_version=0,
            )
        class_id, k = course_class.id, course_class.min_group_size

    page = new_page()
    log_in(page, live_server, "docent@school.test")
    page.goto(f"{live_server.url}/classes/{class_id}/review/proef/proef-keuze")
    answers = page.locator(".review-answer")
    expect(answers).to_have_count(k)
    expect(page.locator("main")).not_to_contain_text("Xandra")
    screenshot(page, "lecturer-review")

    target = answers.filter(has_text="Antwoord nummer 0")
    pseudonym = target.locator(".review-answer__pseudonym").inner_text()
    target.locator(".review-feedback-form summary").click()
    target.locator(".review-feedback-form textarea").fill("Sterk hoe je je twijfel benoemt. Wat zou de jongere zeggen?")
    target.locator(".review-feedback-form button[type=submit]").click()
    expect(page.locator(".review-answer", has_text="Antwoord nummer 0")).to_contain_text("Sterk hoe je je twijfel")

    student = new_page()
    log_in(student, live_server, "student0@school.test")
    student.goto(f"{live_server.url}/modules/proef/casus")
    feedback = student.locator("#prompt-proef-keuze .feedback")
    expect(feedback).to_contain_text("Sterk hoe je je twijfel benoemt.")
    feedback.locator("textarea").fill("Ze zou zeggen dat ik er was toen het nodig was.")
    feedback.locator("button[type=submit]").click()
    expect(student.locator("#prompt-proef-keuze .feedback__reply")).to_contain_text("toen het nodig was")

    # Replies reach the lecturer in rounds of k, like answers: the others get feedback and reply too.
    with live_server.session() as session:
        lecturer = session.exec(select(User).where(User.email == "docent@school.test")).one()
        course_class = session.get(CourseClass, class_id)
        others = session.exec(
            select(Answer)
            .join(User, User.id == Answer.user_id)
            .where(Answer.class_id == class_id, User.email != "student0@school.test")
        ).all()
        for other in others:
            revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == other.id)).first()
            feedback = review.give_feedback(
                session,
                course_class=course_class,
                answer_id=other.id,
                revision_id=revision.id,
                author=lecturer,
                text="Wat zou je team zeggen?",
            )
            reflections.reply_to_feedback(
                session, user_id=other.user_id, feedback_id=feedback.id, text="Dat ik het goed heb aangepakt."
            )
        session.commit()

    page.reload()
    answer = page.locator(".review-answer", has_text="Antwoord nummer 0")
    expect(answer.locator(".review-thread__reply")).to_contain_text("toen het nodig was")
    expect(answer.locator(".review-answer__pseudonym")).to_have_text(pseudonym)
    expect(page.locator("main")).not_to_contain_text("Xandra")
