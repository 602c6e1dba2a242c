"""A student in a real browser: read, choose in a case, answer a check, write (autosaved), reload, submit."""

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.models import Answer, AnswerRevision
from tests.conftest import FIXTURE_MODULES
from tests.e2e.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.parametrize("live_server", [{"modules_dir": FIXTURE_MODULES}], indirect=True)

TEXT = "Ik belde Sanne terug omdat ze alleen leek te zijn, maar ik twijfelde over mijn privénummer."


@pytest.fixture
def student(live_server):
    with live_server.session() as session:
        return make_user(session, email="sam@student.test", name="Sam Student")


def saved_answer(server) -> Answer | None:
    with server.session() as session:
        return session.exec(select(Answer).where(Answer.prompt_id == "proef-keuze")).first()


def test_student_reads_chooses_checks_writes_and_submits(live_server, student, new_page):
    page = new_page()
    log_in(page, live_server, student.email)
    screenshot(page, "student-dashboard")

    page.goto(f"{live_server.url}/modules/proef/lezen")
    page.locator("#vignette-proef-open button[type=submit]").click()
    expect(page.locator("#vignette-proef-open .done")).to_be_visible()

    page.goto(f"{live_server.url}/modules/proef/casus")
    vignette = page.locator("#vignette-proef-sanne")
    vignette.get_by_role("button", name="Je belt meteen terug.").click()
    expect(vignette).to_contain_text("Sanne is opgelucht.")
    vignette.get_by_role("button", name="Je bespreekt het in het team.").click()
    expect(vignette.locator(".vignette-ending")).to_contain_text("Het team maakt afspraken.")
    expect(vignette.locator(".badge--ok")).to_be_visible()

    # The reflection quotes the path just chosen.
    prompt = page.locator("#prompt-proef-keuze")
    page.reload()
    expect(prompt.locator(".your-path")).to_contain_text("Je belt meteen terug.")

    textarea = prompt.locator("textarea")
    textarea.click()
    textarea.press_sequentially(TEXT, delay=5)
    expect(prompt.locator(".save-status__ok")).to_be_visible(timeout=8000)  # nothing pressed
    assert saved_answer(live_server).text == TEXT
    screenshot(page, "student-section")

    page.reload()
    expect(page.locator("#prompt-proef-keuze textarea")).to_have_value(TEXT)

    page.locator("#prompt-proef-keuze button[value=submit]").click()
    expect(page.locator("#prompt-proef-keuze .badge--ok")).to_be_visible()
    with live_server.session() as session:
        assert session.exec(select(AnswerRevision)).one().text == TEXT

    page.goto(f"{live_server.url}/modules/proef/toets")
    check = page.locator("#check-proef-check")
    check.locator("input[value='0']").check()
    check.locator("button[type=submit]").click()
    expect(check.locator(".option__feedback--right")).to_contain_text("Juist.")
    screenshot(page, "student-check")


def test_a_failed_save_warns_keeps_the_text_and_saves_once_possible(live_server, student, new_page):
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    page.route("**/prompts/proef-keuze/draft", lambda route: route.abort("internetdisconnected"))
    prompt = page.locator("#prompt-proef-keuze")
    prompt.locator("textarea").click()
    prompt.locator("textarea").press_sequentially("Tekst tijdens een storing.", delay=5)
    expect(prompt.locator(".save-status__error")).to_be_visible(timeout=8000)
    expect(prompt.locator(".save-status__ok")).to_have_count(0)
    assert saved_answer(live_server) is None
    kept = browser_drafts(page)
    assert len(kept) == 1 and "Tekst tijdens een storing." in next(iter(kept.values()))
    expect(prompt.locator("textarea")).to_have_value("Tekst tijdens een storing.")

    page.unroute("**/prompts/proef-keuze/draft")  # the network is back: the retry goes through
    expect(prompt.locator(".save-status__ok")).to_be_visible(timeout=15000)
    assert saved_answer(live_server).text == "Tekst tijdens een storing."


def test_text_typed_before_a_reload_that_failed_to_save_is_restored(live_server, student, new_page):
    page = new_page()
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    page.route("**/prompts/proef-keuze/draft", lambda route: route.abort("internetdisconnected"))
    page.locator("#prompt-proef-keuze textarea").click()
    page.locator("#prompt-proef-keuze textarea").press_sequentially("Bijna verloren tekst.", delay=5)
    expect(page.locator("#prompt-proef-keuze .save-status__error")).to_be_visible(timeout=8000)
    page.unroute("**/prompts/proef-keuze/draft")
    page.reload()  # before the retry: the browser offers its copy, showing how it starts
    offer = page.locator("#prompt-proef-keuze .draft-offer")
    expect(offer).to_contain_text("Bijna verloren tekst.")
    expect(page.locator("#prompt-proef-keuze textarea")).to_have_value("")
    offer.get_by_role("button", name="Terugzetten").click()
    expect(page.locator("#prompt-proef-keuze textarea")).to_have_value("Bijna verloren tekst.")
    expect(page.locator("#prompt-proef-keuze .save-status__ok")).to_be_visible(timeout=8000)
    assert saved_answer(live_server).text == "Bijna verloren tekst."


def browser_drafts(page) -> dict[str, str]:
    """Every draft this browser keeps, by storage key."""
    return page.evaluate("""() => Object.fromEntries(Object.keys(localStorage)
        .filter((key) => key.startsWith('nabij-draft:')).map((key) => [key, localStorage.getItem(key)]))""")


def write_while_offline(page, server, text: str) -> None:
    page.goto(f"{server.url}/modules/proef/casus")
    page.route("**/prompts/proef-keuze/draft", lambda route: route.abort("internetdisconnected"))
    page.locator("#prompt-proef-keuze textarea").click()
    page.locator("#prompt-proef-keuze textarea").press_sequentially(text, delay=5)
    expect(page.locator("#prompt-proef-keuze .save-status__error")).to_be_visible(timeout=8000)
    page.unroute("**/prompts/proef-keuze/draft")


def log_out(page) -> None:
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login?notice=logged-out")


def test_on_a_shared_computer_the_next_student_never_gets_the_previous_ones_text(live_server, student, new_page):
    with live_server.session() as session:
        other = make_user(session, email="noor@student.test", name="Noor Student")
    page = new_page()  # one browser, as on a computer in the library

    # Sam closes the tab with an unsaved draft (no logout): the copy stays, under Sam's account only.
    log_in(page, live_server, student.email)
    write_while_offline(page, live_server, "Wat Sam schreef over Sanne.")
    page.context.clear_cookies()  # the session is gone (closed browser), the storage is not
    log_in(page, live_server, other.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    expect(page.locator("#prompt-proef-keuze textarea")).to_have_value("")
    expect(page.locator(".draft-offer")).to_have_count(0)
    page.wait_for_timeout(2500)  # longer than an autosave would take
    assert saved_answer(live_server) is None, "Sam's text was saved into Noor's account"
    assert "Wat Sam schreef over Sanne." not in page.content()
    page.context.clear_cookies()  # Noor closes the browser too

    # Sam comes back: the draft is offered to Sam again.
    log_in(page, live_server, student.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    expect(page.locator("#prompt-proef-keuze .draft-offer")).to_contain_text("Wat Sam schreef over Sanne.")

    # Logging out takes what this browser kept for the account with it.
    log_out(page)
    assert browser_drafts(page) == {}
    log_in(page, live_server, other.email)
    page.goto(f"{live_server.url}/modules/proef/casus")
    expect(page.locator(".draft-offer")).to_have_count(0)
    assert saved_answer(live_server) is None


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (keyboard users have nothing else)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"could not reach {selector} with Tab")


def test_the_whole_student_journey_by_keyboard_only(live_server, student, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/login")
    tab_to(page, "#field-email")
    page.keyboard.type(student.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/modules/proef/casus")
    tab_to(page, ".skip-link")
    page.keyboard.press("Enter")
    tab_to(page, "#vignette-proef-sanne .choice-button")
    page.keyboard.press("Enter")
    expect(page.locator("#vignette-proef-sanne")).to_contain_text("Sanne is opgelucht.")
    # Focus moves to what happens next, so the keyboard user continues from there.
    expect(page.locator("#vignette-proef-sanne .vignette-now")).to_be_focused()
    tab_to(page, "#vignette-proef-sanne .choice-button")
    page.keyboard.press("Enter")
    expect(page.locator("#vignette-proef-sanne .vignette-ending")).to_be_visible()
    expect(page.locator("#vignette-proef-sanne .vignette-now")).to_be_focused()

    tab_to(page, "#prompt-proef-keuze textarea")
    page.keyboard.type("Met alleen het toetsenbord geschreven, zonder muis.")
    page.keyboard.press("Tab")  # leaving the field saves it
    expect(page.locator("#prompt-proef-keuze .save-status__ok")).to_be_visible(timeout=8000)
    tab_to(page, "#prompt-proef-keuze button[value=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#prompt-proef-keuze .badge--ok")).to_be_visible()

    page.goto(f"{live_server.url}/modules/proef/toets")
    tab_to(page, "#check-proef-check input[type=radio]")
    page.keyboard.press("Space")
    tab_to(page, "#check-proef-check button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#check-proef-check .option__feedback")).to_be_visible()
