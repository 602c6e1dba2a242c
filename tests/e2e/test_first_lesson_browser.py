"""Issue 17 in a real browser: what forty students and their lecturer see in the first lesson."""

import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Answer, utcnow
from app.services import classes
from tests.conftest import FIXTURE_MODULES
from tests.e2e.conftest import log_in, screenshot
from tests.factories import make_class, make_user

pytestmark = pytest.mark.parametrize("live_server", [{"modules_dir": FIXTURE_MODULES}], indirect=True)

PROMPT = "#prompt-proef-keuze"


def stored_text(server) -> str | None:
    with server.session() as session:
        answer = session.exec(select(Answer).where(Answer.prompt_id == "proef-keuze")).first()
        return answer.text if answer else None


def type_and_wait(page, server, text: str) -> None:
    """Type at the end of the answer, as a student does, and wait until the autosave has stored it."""
    textarea = page.locator(f"{PROMPT} textarea")
    textarea.click()
    textarea.press("Control+End")
    expected = textarea.input_value() + text
    textarea.press_sequentially(text, delay=5)
    deadline = time.monotonic() + 10
    while stored_text(server) != expected:
        assert time.monotonic() < deadline, f"not saved: {expected!r} (stored: {stored_text(server)!r})"
        time.sleep(0.2)
    expect(page.locator(f"{PROMPT} .save-status__ok")).to_be_visible()


def test_each_choice_in_the_two_tab_conflict_ends_it_and_nothing_is_lost_unseen(live_server, new_page):
    with live_server.session() as session:
        student = make_user(session, email="sam@student.test")
    first = new_page()
    log_in(first, live_server, student.email)
    second = first.context.new_page()  # a second tab, same browser
    for tab in (first, second):
        tab.goto(f"{live_server.url}/modules/proef/casus")
    type_and_wait(first, live_server, "Tekst uit het eerste tabblad.")
    second.locator(f"{PROMPT} textarea").click()
    second.locator(f"{PROMPT} textarea").press_sequentially("Tekst uit het tweede.", delay=5)
    conflict = second.locator(f"{PROMPT} .conflict")
    expect(conflict).to_be_visible(timeout=8000)
    expect(conflict).to_contain_text("Tekst uit het eerste tabblad.")  # the other text, shown

    # "Use the saved text": the conflict ends, the browser's copy of the set-aside text is not offered again.
    conflict.get_by_role("link", name="De opgeslagen tekst gebruiken").click()
    expect(second.locator(f"{PROMPT} textarea")).to_have_value("Tekst uit het eerste tabblad.")
    expect(second.locator(".draft-offer, .conflict")).to_have_count(0)
    second.reload()
    expect(second.locator(".draft-offer, .conflict")).to_have_count(0)
    type_and_wait(second, live_server, " Aangevuld.")
    assert stored_text(live_server) == "Tekst uit het eerste tabblad. Aangevuld."

    # "Keep my text" in the other tab: its text wins, after the student has seen the other one.
    first.locator(f"{PROMPT} textarea").click()
    first.locator(f"{PROMPT} textarea").press("Control+End")
    first.locator(f"{PROMPT} textarea").press_sequentially(" Nog iets.", delay=5)
    conflict = first.locator(f"{PROMPT} .conflict")
    expect(conflict).to_contain_text("Tekst uit het eerste tabblad. Aangevuld.", timeout=8000)
    conflict.get_by_role("button", name="Mijn tekst behouden").click()
    expect(first.locator(f"{PROMPT} .conflict")).to_have_count(0)
    assert stored_text(live_server) == "Tekst uit het eerste tabblad. Nog iets."
    type_and_wait(first, live_server, " Verder.")
    assert stored_text(live_server) == "Tekst uit het eerste tabblad. Nog iets. Verder."


def test_pasting_more_than_the_limit_says_so_and_keeps_every_character(live_server, new_page):
    with live_server.session() as session:
        student = make_user(session, email="sam@student.test")
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    type_and_wait(page, live_server, "Begin.")
    pasted = "woord " * 10_000
    page.locator(f"{PROMPT} textarea").fill(pasted)
    expect(page.locator(f"{PROMPT} .char-limit")).to_contain_text("tekens te veel")
    expect(page.locator(f"{PROMPT} .save-status__error")).to_contain_text("niets weggeknipt", timeout=8000)
    assert page.locator(f"{PROMPT} textarea").input_value() == pasted
    assert stored_text(live_server) == "Begin."


def test_the_progress_matrix_keeps_names_in_view_and_becomes_cards_on_a_phone(live_server, new_page):
    with live_server.session() as session:
        lecturer = make_user(session, role="lecturer", email="docent@school.test")
        course_class = make_class(session, lecturer=lecturer)
        for n in range(4):
            classes.enrol(
                session,
                course_class=course_class,
                student=make_user(session, email=f"s{n}@student.test", name=f"Student {n}"),
            )
        session.commit()
        class_id = course_class.id
    page = new_page()
    log_in(page, live_server, "docent@school.test")
    page.goto(f"{live_server.url}/classes/{class_id}/assignments/new")
    page.select_option("#field-module", "proef")
    page.fill("#field-due_on", (utcnow().date() + timedelta(days=14)).isoformat())
    page.locator(f"form[action='/classes/{class_id}/assignments/new'] button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Proefmodule")
    page.goto(f"{live_server.url}/classes/{class_id}/progress")
    name = page.locator(".matrix tbody th").first
    assert name.evaluate("(e) => getComputedStyle(e).position") == "sticky"
    screenshot(page, "lecturer-progress-matrix")
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.locator(".matrix thead").evaluate("(e) => e.getBoundingClientRect().height") <= 1
    cell = page.locator(".matrix td.matrix__cell").first
    assert cell.evaluate("(e) => getComputedStyle(e).display") == "block"
    assert "Proefmodule" in cell.evaluate("(e) => getComputedStyle(e, '::before').content")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_projector_page_shows_code_link_and_a_qr_code(live_server, new_page):
    with live_server.session() as session:
        lecturer = make_user(session, role="lecturer", email="docent@school.test")
        course_class = make_class(session, lecturer=lecturer)
        class_id, code = course_class.id, course_class.join_code
    page = new_page()
    log_in(page, live_server, "docent@school.test")
    page.goto(f"{live_server.url}/classes/{class_id}")
    expect(page.locator("#join-url")).to_have_value(f"{live_server.url}/signup?code={code}")
    page.get_by_role("link", name="Toon code en QR-code op de projector").click()
    expect(page.locator(".projector__url")).to_have_text(f"{live_server.url}/signup?code={code}")
    assert page.locator(".projector__qr").evaluate("(img) => img.complete && img.naturalWidth > 0")
    screenshot(page, "lecturer-projector")


def test_submitting_after_the_session_ended_leads_to_logging_in_with_the_text_kept(live_server, new_page):
    from app.models import UserSession

    with live_server.session() as session:
        student = make_user(session, email="sam@student.test")
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    type_and_wait(page, live_server, "Mijn antwoord, geschreven voor de sessie afliep.")
    with live_server.session() as session:
        for row in session.exec(select(UserSession)):
            session.delete(row)
        session.commit()
    page.locator(f"{PROMPT} button[value=submit]").click()
    # Not a dead button: the login page, with the text still there, saved once Sam is back in.
    expect(page.locator("#field-pending_text")).to_have_value("Mijn antwoord, geschreven voor de sessie afliep.")
    screenshot(page, "student-session-ended")
    page.fill("#field-email", student.email)
    page.fill("#field-password", "correct horse battery staple")
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator(f"{PROMPT} textarea")).to_have_value("Mijn antwoord, geschreven voor de sessie afliep.")


def test_a_tab_from_before_logging_in_again_keeps_saving(live_server, new_page):
    with live_server.session() as session:
        student = make_user(session, email="sam@student.test")
    first = new_page()
    log_in(first, live_server, student.email)
    first.goto(f"{live_server.url}/modules/proef/casus")
    second = first.context.new_page()
    # In another tab: log out (the session ends) and in again: a new session, a new token; the first tab
    # still holds the old one.
    second.goto(f"{live_server.url}/")
    second.locator("form[action='/logout'] button[type=submit]").click()
    second.wait_for_url(f"{live_server.url}/login*")
    log_in(second, live_server, student.email)
    type_and_wait(first, live_server, "Verder in het eerste tabblad.")
    expect(first.locator(f"{PROMPT} .save-status__error")).to_have_count(0)
