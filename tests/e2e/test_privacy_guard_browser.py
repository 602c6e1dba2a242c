"""The privacy guard in a real browser (issue 13 item 7): it warns before a submit leaves the page, with
the server's rules and the server's box; "submit anyway" submits; a text with an initial goes through."""

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import AnswerRevision
from tests.conftest import FIXTURE_MODULES
from tests.e2e.conftest import log_in
from tests.factories import make_user

pytestmark = pytest.mark.parametrize("live_server", [{"modules_dir": FIXTURE_MODULES}], indirect=True)

NAMED = "Ik vond het lastig toen Kevin de Vries boos werd op de groep."


@pytest.fixture
def student(live_server):
    with live_server.session() as session:
        return make_user(session, email="sam@student.test", name="Sam Student")


def revisions(server) -> list[str]:
    with server.session() as session:
        return [r.text for r in session.exec(select(AnswerRevision))]


def test_the_browser_asks_before_submitting_a_name_and_sends_nothing_until_then(live_server, student, new_page):
    page = new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    submits: list[str] = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST" and request.url.endswith("/prompts/proef-keuze") and submits.append(request.url)
        ),
    )
    prompt = page.locator("#prompt-proef-keuze")
    prompt.locator("textarea").fill(NAMED)
    expect(prompt.locator(".save-status__ok")).to_be_visible(timeout=8000)  # autosave is never held up

    prompt.locator("button[value=submit]").click()
    warning = prompt.locator(".privacy-warning")
    expect(warning).to_be_visible()
    expect(warning.locator("li")).to_have_count(1)
    expect(warning.locator("li q")).to_have_text("Kevin de Vries")
    expect(warning).to_be_focused()
    assert submits == [], "the browser sent the submit although it found a name"
    assert revisions(live_server) == []
    expect(prompt.locator("textarea")).to_have_value(NAMED)

    warning.locator("button[value=submit-anyway]").click()
    expect(page.locator("#prompt-proef-keuze .badge--ok")).to_be_visible()
    assert revisions(live_server) == [NAMED]
    assert problems == []


def test_after_replacing_the_name_by_an_initial_the_submit_goes_through(live_server, student, new_page):
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    prompt = page.locator("#prompt-proef-keuze")
    prompt.locator("textarea").fill(NAMED)
    prompt.locator("button[value=submit]").click()
    expect(prompt.locator(".privacy-warning")).to_be_visible()
    prompt.locator("textarea").fill("Ik vond het lastig toen K. boos werd op de groep.")
    prompt.locator("button[value=submit]").click()
    expect(page.locator("#prompt-proef-keuze .badge--ok")).to_be_visible()
    assert revisions(live_server) == ["Ik vond het lastig toen K. boos werd op de groep."]
