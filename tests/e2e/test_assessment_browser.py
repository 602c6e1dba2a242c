"""Assessing by keyboard in a real browser (issue 20): a lecturer picks a level with the arrow keys and
saves it with Enter; the student sees the level, its descriptor and the next step; axe finds nothing."""

from datetime import timedelta

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.content.catalogue import load_catalogue
from app.models import Role, utcnow
from app.services import classes, reflections
from tests.e2e.conftest import log_in, screenshot
from tests.factories import make_class, make_user

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
MODULE, PROMPT = "de-relatie-werkt", "relatie-bordin-stage"


def test_a_lecturer_assesses_by_keyboard_and_the_student_sees_how_to_grow(live_server, new_page):
    with live_server.session() as session:
        lecturer = make_user(session, role=Role.LECTURER, email="docent@school.test", name="Dirk Docent")
        course_class = make_class(session, lecturer=lecturer, name="SW2A")
        classes.assign(
            session, course_class=course_class, module_slug=MODULE, due_on=utcnow().date() + timedelta(days=7)
        )
        module = load_catalogue(live_server.settings.modules_dir).get(MODULE)
        for n in range(course_class.min_group_size):
            student = make_user(session, email=f"student{n}@school.test", name=f"Xandra Quell{n}")
            classes.enrol(session, course_class=course_class, student=student)
            reflections.submit(
                session,
                user_id=student.id,
                module=module,
                prompt=module.reflections[PROMPT],
                text=f"Antwoord nummer {n}: ik zat met Sam in de keuken. " + "Hij zei weinig. " * 60,
                base_version=0,
            )
        class_id = course_class.id
    axe = Axe()

    page = new_page(locale="en-GB")
    log_in(page, live_server, "docent@school.test")
    page.goto(f"{live_server.url}/classes/{class_id}/review/{MODULE}/{PROMPT}")
    expect(page.locator(".lecturer-notes")).to_contain_text("Veelvoorkomende valkuilen")
    target = page.locator(".review-answer", has_text="Antwoord nummer 0")
    # Keyboard only: the checked radio ("no level") takes focus, arrows move through the levels
    # (wrapping to the first), Tab reaches "Save level", Enter saves.
    target.locator("input[name='level-diepgang'][value='']").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(target.locator("input[value='dialogisch']")).to_be_checked()
    page.keyboard.press("Tab")
    expect(target.locator(".level-picker__save")).to_be_focused()
    page.keyboard.press("Enter")
    card = page.locator(".review-answer", has_text="Antwoord nummer 0")
    expect(card.locator(".badge--level")).to_have_text("Dialogic reflection")
    screenshot(page, "lecturer-assess-level")
    result = axe.run(page, options=WCAG)
    assert not result.violations_count, result.generate_report()

    student = new_page(locale="en-GB")
    log_in(student, live_server, "student0@school.test")
    student.goto(f"{live_server.url}/modules/{MODULE}/{module.section_of(PROMPT).id}")
    assessment = student.locator(f"#prompt-{PROMPT} .assessment")
    expect(assessment).to_contain_text("Dialogic reflection")
    expect(assessment).to_contain_text("How to reach the next level")
    expect(student.locator("main")).not_to_contain_text("Veelvoorkomende valkuilen")
    result = axe.run(student, options=WCAG)
    assert not result.violations_count, result.generate_report()
    for path in ("/my/reflections", "/my/reflections/print"):
        student.goto(f"{live_server.url}{path}")
        expect(student.locator("main")).to_contain_text("Antwoord nummer 0")
        result = axe.run(student, options=WCAG)
        assert not result.violations_count, f"{path}:\n{result.generate_report()}"
        screenshot(student, f"student{path.replace('/', '_')}")
