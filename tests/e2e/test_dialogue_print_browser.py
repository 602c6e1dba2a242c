"""The dialogue under feedback and the print view of a module, in a real browser (issue 21); axe finds nothing."""

from datetime import timedelta

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlmodel import select

from app.content.catalogue import load_catalogue
from app.models import Answer, Role, utcnow
from app.services import classes, reflections
from app.services.review import give_feedback
from tests.e2e.conftest import log_in, screenshot
from tests.factories import make_class, make_user

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
MODULE, PROMPT = "de-relatie-werkt", "relatie-bordin-stage"


def _answers_with_feedback(live_server):
    """Three students answered, the lecturer gave feedback on each, and each replied once."""
    with live_server.session() as session:
        lecturer = make_user(session, role=Role.LECTURER, email="docent@school.test", name="Dirk Docent")
        course_class = make_class(session, lecturer=lecturer, name="SW2A")
        course_class.min_group_size = 3
        session.add(course_class)
        session.commit()
        classes.assign(
            session, course_class=course_class, module_slug=MODULE, due_on=utcnow().date() + timedelta(days=7)
        )
        module = load_catalogue(live_server.settings.modules_dir).get(MODULE)
        students = []
        for n in range(3):
            student = make_user(session, email=f"student{n}@school.test", name=f"Xandra Quell{n}")
            classes.enrol(session, course_class=course_class, student=student)
            reflections.submit(
                session,
                user_id=student.id,
                module=module,
                prompt=module.reflections[PROMPT],
                text=f"Antwoord nummer {n}: ik zat met de jongere in de keuken. " + "Hij zei weinig. " * 60,
                base_version=0,
            )
            students.append(student)
        session.commit()
        for answer in session.exec(select(Answer)).all():
            revision = reflections.latest_revision(session, answer_id=answer.id)
            feedback = give_feedback(
                session,
                course_class=course_class,
                answer_id=answer.id,
                revision_id=revision.id,
                author=lecturer,
                text="Wat deed die stilte met jou?",
            )
            reflections.reply_to_feedback(
                session, user_id=answer.user_id, feedback_id=feedback.id, text="Ik werd er onrustig van."
            )
        session.commit()
        return lecturer, course_class.id, students


def test_a_student_writes_back_and_the_lecturer_answers_under_the_pseudonym(live_server, new_page):
    lecturer, class_id, students = _answers_with_feedback(live_server)
    axe = Axe()

    student = new_page()
    log_in(student, live_server, students[0].email)
    student.goto(f"{live_server.url}/my/feedback")
    expect(student.locator("main")).to_contain_text("Wat deed die stilte met jou?")
    student.get_by_label("Schrijf je docent terug").fill("Ik wilde de stilte opvullen, en deed dat niet.")
    student.locator(".dialogue__form button[type=submit]").click()
    expect(student.locator("main")).to_contain_text("Ik wilde de stilte opvullen")
    result = axe.run(student, options=WCAG)
    assert not result.violations_count, result.generate_report()
    screenshot(student, "student-dialogue")

    # The lecturer reads the conversation by pseudonym, never by name, and answers.
    teacher = new_page()
    log_in(teacher, live_server, lecturer.email)
    teacher.goto(f"{live_server.url}/classes/{class_id}/review/{MODULE}/{PROMPT}")
    teacher.locator(".review-thread__more a").first.click()
    expect(teacher.locator("main")).to_contain_text("Ik werd er onrustig van.")
    for person in students:
        expect(teacher.locator("main")).not_to_contain_text(person.display_name)
    teacher.locator(".dialogue__form textarea").fill("Dat is een mooi inzicht. Wat hielp je om te wachten?")
    teacher.locator(".dialogue__form button[value=say]").click()
    expect(teacher.locator("main")).to_contain_text("Wat hielp je om te wachten?")
    result = axe.run(teacher, options=WCAG)
    assert not result.violations_count, result.generate_report()
    screenshot(teacher, "lecturer-dialogue")


def test_the_print_view_prints_the_module_without_the_site_around_it(live_server, new_page):
    with live_server.session() as session:
        student = make_user(session, email="sam@student.test")
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/print/modules/{MODULE}")
    module = load_catalogue(live_server.settings.modules_dir).get(MODULE)
    expect(page.locator("h1").first).to_contain_text(module.title)
    page.emulate_media(media="print")
    for chrome in (".site-header", ".site-footer", "nav", "form", ".skip-link"):
        for element in page.locator(chrome).all():
            expect(element).to_be_hidden()
    # Every section is on the one page, in order, and still readable when printed.
    for section in module.sections:
        expect(page.locator("main")).to_contain_text(section.title)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in (
        "rgb(255, 255, 255)",
        "rgba(0, 0, 0, 0)",
    )
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.emulate_media(media="screen")
    result = Axe().run(page, options=WCAG)
    assert not result.violations_count, result.generate_report()
