"""Issue 17: what a class of forty runs into in its first lesson (the server's half; browsers: tests/e2e)."""

import json

import pytest

from tests.conftest import FIXTURE_MODULES
from tests.factories import login, make_user
from tests.pages import field, one, text_of, texts
from tests.test_student_journey import CASUS, DRAFT, SAVE, answer_on, autosave, stored, token

pytestmark = pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)


@pytest.fixture
def student(client, session):
    user = make_user(session, name="Sam Student")
    login(client, user)
    return user


def test_a_pasted_text_over_the_limit_is_refused_visibly_and_nothing_is_cut(client, session, student):
    page = client.get(CASUS).text
    textarea = _answer_field(page)
    assert not textarea.has_attr("maxlength") and textarea["data-max-chars"] == "50000"  # the browser cuts nothing
    autosave(client, "Een eerste versie.", 0, token(client))
    pasted = "woord " * 10_000  # 60,000 characters
    response = autosave(client, pasted, 1, token(client))
    assert response.status_code == 422
    assert "10,000 more than the 50,000 allowed" in response.text and "Nothing was cut" in response.text
    assert stored(session).text == "Een eerste versie."
    # Without JavaScript: the page comes back with the whole text and the same message.
    plain = client.post(SAVE, data={"text": pasted, "version": "1", "action": "save", "csrf_token": token(client)})
    assert "Nothing was cut" in plain.text and answer_on(plain.text).strip() == pasted.strip()


def test_after_submitting_the_status_says_when_and_what_the_lecturers_see(client, session, student):
    text = "Ik belde Sanne terug omdat ze alleen leek te zijn."
    client.post(SAVE, data={"text": text, "version": "0", "action": "submit", "csrf_token": token(client)})
    page = client.get(CASUS).text
    assert "Submitted on" in page and "Your lecturers read this version without your name" in page
    assert "Saved at" not in page
    autosave(client, text + " Achteraf twijfel ik.", stored(session).version, token(client))
    page = client.get(CASUS).text
    assert "Saved at" in page and "Not submitted yet: your lecturers still see the version you submitted" in page


def test_a_page_from_before_logging_in_again_gets_the_new_token_but_only_for_the_same_account(client, session):
    sam, noor = make_user(session, name="Sam"), make_user(session, name="Noor")
    login(client, sam)
    old_page = client.get(CASUS).text
    old_token = _htmx_token(old_page)
    sam_owner = one(old_page, "body")["data-draft-owner"]
    assert sam_owner

    def autosave_from_the_old_page():
        return client.post(
            DRAFT,
            data={"text": "Verder in het oude tabblad.", "version": "0"},
            headers={"HX-Request": "true", "X-CSRF-Token": old_token, "X-Draft-Owner": sam_owner},
        )

    login(client, sam)  # in another tab: a new session, a new token
    new_token = _htmx_token(client.get(CASUS).text)
    refused = autosave_from_the_old_page()
    assert refused.status_code == 403 and refused.headers["X-CSRF-Refresh"] == new_token
    assert stored(session) is None  # nothing is saved with the old token itself

    login(client, noor)  # someone else logs in on this computer: Sam's page gets nothing
    refused = autosave_from_the_old_page()
    assert refused.status_code == 403 and "X-CSRF-Refresh" not in refused.headers


def _answer_field(page: str):
    return field(one(page, "section#prompt-proef-keuze form.reflection-form"), "text").element


def _htmx_token(page: str) -> str:
    """The CSRF token htmx sends with every request from this page (the body's hx-headers)."""
    token = json.loads(one(page, "body")["data-hx-headers"])["X-CSRF-Token"]
    assert token
    return token


def _oob(html: str, element_id: str):
    """The element the response sends out of band to replace the one with this id on the page."""
    return one(html, f'[id="{element_id}"][data-hx-swap-oob="true"]')


def test_a_choice_in_a_case_updates_the_contents_and_the_path_beside_the_reflection(client, session, student):
    from tests.test_student_journey import choose

    csrf_token = token(client)
    before = _toc_state(client.get(CASUS).text)
    choose(client, "bericht", 0, csrf_token)
    ending = choose(client, "gesprek", 0, csrf_token).text
    assert "Je belt meteen terug." in text_of(_oob(ending, "path-proef-keuze"))  # the reflection quotes the path now
    after = _toc_state(_oob(ending, "toc"))
    assert before != after and after == _toc_state(client.get(CASUS).text)


def test_answering_a_check_updates_the_contents(client, session, student):
    csrf_token = token(client, "/modules/proef/toets")
    before = _toc_state(client.get("/modules/proef/toets").text)
    right = client.post(
        "/modules/proef/checks/proef-check",
        data={"option": "0"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
    ).text
    after = _toc_state(_oob(right, "toc"))
    assert before != after and after == _toc_state(client.get("/modules/proef/toets").text)


def _toc_state(page) -> list[str]:
    """What the contents say of each section ("1 of 2 done", "read"), in order."""
    return texts(page, ".toc__state")


WORD_SAMPLES = [
    "Ik - twijfel ... echt",
    "zo'n cliënt, een ex-partner — en dan?",
    "Één  twee\u00a0drie",
    "2 keer 😀 :-)",
    "l'enfant s’écrie",
    "_onderstreept_ woord",
    "Ik\tbelde\nSanne",
    "أنا أفكر في الشاب",
    "naïef café",
]


def test_the_browser_counts_words_with_the_servers_rule(settings):
    import json
    import shutil
    import subprocess

    from app.content.markdown import WORD_PATTERN_FOR_BROWSERS, count_words

    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js on this machine to run the browser's word count")
    script = (
        "const [pattern, texts] = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(texts.map((t) => (t.match(new RegExp(pattern, 'gu')) || []).length)));"
    )
    counted = subprocess.run(
        [node, "-e", script, json.dumps([WORD_PATTERN_FOR_BROWSERS, WORD_SAMPLES])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(counted) == [count_words(text) for text in WORD_SAMPLES]
    assert count_words("Ik - twijfel ... echt") == 3


def test_the_reflection_form_carries_the_word_rule(client, session, student):
    from app.content.markdown import WORD_PATTERN_FOR_BROWSERS

    page = client.get(CASUS).text
    assert _answer_field(page)["data-word-pattern"] == WORD_PATTERN_FOR_BROWSERS
