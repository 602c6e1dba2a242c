"""The student's journey on a small fixture module: reflections never lost, vignettes, checks, progress."""

import io
import json
import re
import shutil
import zipfile
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from app.main import create_app
from app.models import Answer, AnswerRevision, CheckAnswer, Feedback, Role, UserSession, VignetteRun, utcnow
from app.services import classes
from app.services.progress import module_progress
from tests.conftest import FIXTURE_MODULES, csrf_from
from tests.factories import login, make_class, make_user
from tests.pages import field, has, one, parse, text_of, texts

pytestmark = pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)

CASUS = "/modules/proef/casus"
TOETS = "/modules/proef/toets"
DRAFT = "/modules/proef/prompts/proef-keuze/draft"
SAVE = "/modules/proef/prompts/proef-keuze"


@pytest.fixture
def student(client, session):
    user = make_user(session, name="Sam Student")
    login(client, user)
    return user


def token(client, path=CASUS) -> str:
    return csrf_from(client.get(path).text)


def answer_on(page: str, prompt_id: str = "proef-keuze") -> str:
    """The text in the answer field of the reflection `prompt_id`, as the student finds it on the page."""
    return field(one(page, f"section#prompt-{prompt_id} form.reflection-form"), "text").value


def autosave(client, text, version, csrf_token, url=DRAFT):
    return client.post(
        url, data={"text": text, "version": str(version)}, headers={"HX-Request": "true", "X-CSRF-Token": csrf_token}
    )


def fresh(session) -> None:
    """End the test's read snapshot and forget cached rows, to see what the app committed."""
    session.rollback()
    session.expire_all()


def stored(session, prompt_id="proef-keuze") -> Answer | None:
    fresh(session)
    return session.exec(select(Answer).where(Answer.prompt_id == prompt_id)).first()


# -- reflections are never lost ------------------------------------------------------------------


def test_autosave_then_reload_finds_the_draft(client, session, student):
    response = autosave(client, "Ik belde terug omdat ze alleen was.", 0, token(client))
    assert response.status_code == 200
    assert "Saved at" in response.text
    swapped = field(response.text, "version")  # the form's version, replaced out of band
    assert (swapped.element["id"], swapped.element.get("data-hx-swap-oob"), swapped.value) == (
        "version-proef-keuze",
        "true",
        "1",
    )
    page = client.get(CASUS).text
    assert answer_on(page) == "Ik belde terug omdat ze alleen was."
    version = field(one(page, "#prompt-proef-keuze form.reflection-form"), "version")
    assert (version.element["id"], version.value) == ("version-proef-keuze", "1")
    assert stored(session).version == 1


def test_autosave_of_unchanged_text_writes_nothing(client, session, student):
    csrf_token = token(client)
    autosave(client, "Zelfde tekst hier.", 0, csrf_token)
    again = autosave(client, "Zelfde tekst hier.", 1, csrf_token)
    assert again.status_code == 200
    assert stored(session).version == 1


def test_a_failed_save_is_reported_and_never_marked_saved(app, session, monkeypatch):
    from fastapi.testclient import TestClient

    from app.services import reflections

    # As in production: the server answers with its error page instead of raising into the test.
    client = TestClient(app, raise_server_exceptions=False, headers={"Accept-Language": "en"})
    login(client, make_user(session))

    def database_down(*args, **kwargs):
        raise OperationalError("UPDATE answer", {}, Exception("disk I/O error"))

    monkeypatch.setattr(reflections, "save_draft", database_down)
    response = autosave(client, "Tekst die niet bewaard kon worden.", 0, token(client))
    # A failing disk is a storage error: 503, and the message that the browser keeps the text (issue 14).
    assert response.status_code == 503
    assert "The server could not store your text; it is kept in this browser." in response.text
    assert "Saved at" not in response.text
    assert stored(session) is None
    monkeypatch.undo()
    assert autosave(client, "Tekst die niet bewaard kon worden.", 0, token(client)).status_code == 200
    assert stored(session).text == "Tekst die niet bewaard kon worden."


def test_two_tabs_cannot_silently_overwrite_each_other(client, session, student):
    csrf_token = token(client)
    assert autosave(client, "Tekst uit het eerste tabblad.", 0, csrf_token).status_code == 200
    stale = autosave(client, "Tekst uit het tweede tabblad.", 0, csrf_token)
    assert stale.status_code == 409
    assert stale.headers["HX-Retarget"] == "#prompt-proef-keuze"
    assert "Tekst uit het eerste tabblad." in stale.text and "Tekst uit het tweede tabblad." in stale.text
    assert "changed in another window" in stale.text
    assert stored(session).text == "Tekst uit het eerste tabblad."
    # The student chooses deliberately to keep the second text (the conflict form carries version 1).
    kept = client.post(
        SAVE,
        data={"text": "Tekst uit het tweede tabblad.", "version": "1", "action": "save", "csrf_token": csrf_token},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert stored(session).text == "Tekst uit het tweede tabblad."


def test_without_javascript_saving_returns_to_the_same_prompt(client, session, student):
    response = client.post(
        SAVE,
        data={"text": "Zonder JavaScript geschreven.", "version": "0", "action": "save", "csrf_token": token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/modules/proef/casus#prompt-proef-keuze"
    assert answer_on(client.get(CASUS).text) == "Zonder JavaScript geschreven."


def test_submit_then_edit_keeps_every_revision(client, session, student):
    csrf_token = token(client)
    first = client.post(
        SAVE,
        data={"text": "Mijn eerste antwoord hier.", "version": "0", "action": "submit", "csrf_token": csrf_token},
        follow_redirects=False,
    )
    assert first.status_code == 303
    page = client.get(CASUS).text
    assert texts(one(page, "#prompt-proef-keuze"), ".activity__kind .badge") == ["submitted"]
    assert "Submit changes" in page
    autosave(client, "Mijn tweede, betere antwoord.", 1, csrf_token)
    assert "changed since you submitted" in client.get(CASUS).text
    client.post(
        SAVE,
        data={"text": "Mijn tweede, betere antwoord.", "version": "2", "action": "submit", "csrf_token": csrf_token},
    )
    answer = stored(session)
    revisions = [
        r.text
        for r in session.exec(
            select(AnswerRevision).where(AnswerRevision.answer_id == answer.id).order_by(AnswerRevision.id)
        )
    ]
    assert revisions == ["Mijn eerste antwoord hier.", "Mijn tweede, betere antwoord."]
    assert answer.submitted_at is not None and answer.module_version == "1.0"


def test_submitting_below_the_minimum_keeps_the_text_and_says_why_beside_it(client, session, student):
    response = client.post(
        SAVE,
        data={"text": "Te kort", "version": "0", "action": "submit", "csrf_token": token(client)},
        follow_redirects=False,
    )
    # Back on the answer's own page (not the POST address), scrolled to the answer.
    assert response.status_code == 303
    assert response.headers["location"] == "/modules/proef/casus?not-submitted=proef-keuze#prompt-proef-keuze"
    page = client.get(response.headers["location"]).text
    assert answer_on(page) == "Te kort"
    assert page.count("this question asks for at least 3") == 1 and "It is saved" not in page  # one message
    error = one(page, "#prompt-proef-keuze p.field__error#error-proef-keuze")
    assert (error.get("role"), error.get("tabindex"), error.has_attr("data-focus")) == ("alert", "-1", True)
    assert "this question asks for at least 3" in text_of(error)
    answer_field = field(page, "text").element
    assert "error-proef-keuze" in answer_field["aria-describedby"].split()
    assert answer_field.get("aria-invalid") == "true"  # a screen reader says the field has a problem
    assert stored(session).text == "Te kort" and stored(session).submitted_at is None  # kept as a draft
    later = field(client.get(CASUS).text, "text").element
    assert "this question asks for" not in client.get(CASUS).text  # said once, after the submit
    assert later.get("aria-invalid") is None


def test_expired_session_while_typing_keeps_the_text_through_login(client, session, student):
    csrf_token = token(client)
    fresh(session)
    for row in session.exec(select(UserSession).where(UserSession.user_id == student.id)):
        row.last_seen_at = utcnow() - timedelta(days=1)
        session.add(row)
    session.commit()
    response = client.post(
        SAVE,
        data={
            "text": "Lang verhaal dat niet verloren mag gaan.",
            "version": "0",
            "action": "save",
            "csrf_token": csrf_token,
        },
    )
    assert response.status_code == 401
    assert field(response.text, "pending_text").value == "Lang verhaal dat niet verloren mag gaan."
    assert stored(session) is None  # nothing saved without a session
    # Issue 12: the carried text is bound to the account whose session ended.
    owner = field(response.text, "pending_owner").value
    assert owner
    relogin = client.post(
        "/login",
        data={
            "email": student.email,
            "password": "correct horse battery staple",
            "csrf_token": csrf_from(response.text),
            "next": "/modules/proef/casus#prompt-proef-keuze",
            "pending_slug": "proef",
            "pending_prompt": "proef-keuze",
            "pending_version": "0",
            "pending_text": "Lang verhaal dat niet verloren mag gaan.",
            "pending_owner": owner,
        },
        follow_redirects=False,
    )
    assert relogin.status_code == 303
    assert relogin.headers["location"] == "/modules/proef/casus#prompt-proef-keuze"
    assert stored(session).text == "Lang verhaal dat niet verloren mag gaan."
    assert answer_on(client.get(CASUS).text) == "Lang verhaal dat niet verloren mag gaan."


def test_expired_session_on_autosave_answers_401_and_keeps_the_page(client, session, student):
    csrf_token = token(client)
    fresh(session)
    for row in session.exec(select(UserSession).where(UserSession.user_id == student.id)):
        session.delete(row)
    session.commit()
    response = autosave(client, "Tekst tijdens het typen.", 0, csrf_token)
    assert response.status_code == 401
    assert response.headers["HX-Reswap"] == "none"
    assert stored(session) is None


def test_a_changed_prompt_marks_earlier_answers(client, session, student, app):
    client.post(
        SAVE,
        data={"text": "Antwoord op de oude vraag.", "version": "0", "action": "submit", "csrf_token": token(client)},
    )
    assert "earlier version of this question" not in client.get(CASUS).text
    app.state.catalogue.get("proef").reflections["proef-keuze"].prompt_hash = "reworded-prompt"
    assert "earlier version of this question" in client.get(CASUS).text


def test_fixing_a_typo_elsewhere_keeps_all_progress(client, session, student, settings, tmp_path):
    client.get("/modules/proef/lezen")
    client.post(
        SAVE, data={"text": "Een volledig antwoord.", "version": "0", "action": "submit", "csrf_token": token(client)}
    )
    modules = tmp_path / "edited"
    shutil.copytree(FIXTURE_MODULES, modules)
    source = modules / "proef" / "module.md"
    source.write_text(source.read_text().replace("Een sectie om te lezen.", "Een secite om te lezen."))
    edited = create_app(settings.model_copy(update={"modules_dir": modules}))
    try:
        fresh(session)
        progress = module_progress(session, user_id=student.id, module=edited.state.catalogue.get("proef"))
        assert progress.sections_visited >= {"lezen"} and progress.prompts_submitted == {"proef-keuze"}
    finally:
        edited.state.engine.dispose()


# -- vignettes and checks ------------------------------------------------------------------------


def choose(client, step, index, csrf_token, htmx=True):
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_token} if htmx else {}
    data = {"step": step, "choice": str(index)} | ({} if htmx else {"csrf_token": csrf_token})
    return client.post(
        "/modules/proef/vignettes/proef-sanne/choose", data=data, headers=headers, follow_redirects=False
    )


def test_branching_vignette_records_the_path_and_shows_feedback(client, session, student):
    csrf_token = token(client)
    first = choose(client, "bericht", 0, csrf_token)
    assert first.status_code == 200
    assert "Sanne is opgelucht." in first.text and "De teamleider vraagt" in first.text
    ending = choose(client, "gesprek", 0, csrf_token)
    assert "Het team maakt afspraken." in ending.text and "End of the case" in ending.text
    fresh(session)
    run = session.exec(select(VignetteRun).where(VignetteRun.vignette_id == "proef-sanne")).one()
    assert json.loads(run.path) == [["bericht", 0], ["gesprek", 0]]
    assert run.ending_id == "einde-team" and run.finished_at is not None
    # The reflection after the vignette quotes the student's own choices.
    page = client.get(CASUS).text
    quoted = page[page.index("Your choices in the case") : page.index("Waarom koos je zo?")]
    assert "Je belt meteen terug." in quoted and "Je bespreekt het in het team." in quoted


def test_replaying_a_vignette_keeps_earlier_walks_and_completion(client, session, student):
    csrf_token = token(client)
    choose(client, "bericht", 1, csrf_token)
    replay = client.post(
        "/modules/proef/vignettes/proef-sanne/restart", headers={"HX-Request": "true", "X-CSRF-Token": csrf_token}
    )
    assert "Het is 22.30 uur." in replay.text and "completed" in replay.text
    choose(client, "bericht", 0, csrf_token)
    fresh(session)
    runs = session.exec(
        select(VignetteRun).where(VignetteRun.vignette_id == "proef-sanne").order_by(VignetteRun.id)
    ).all()
    assert [r.ending_id for r in runs] == ["einde-rustig", None]
    assert module_progress(
        session, user_id=student.id, module=client.app.state.catalogue.get("proef")
    ).vignettes_completed == {"proef-sanne"}


def test_a_choice_from_a_stale_page_changes_nothing(client, session, student):
    csrf_token = token(client)
    choose(client, "bericht", 0, csrf_token)
    stale = choose(client, "bericht", 1, csrf_token)  # an old tab still shows the first step
    assert stale.status_code == 409
    fresh(session)
    run = session.exec(select(VignetteRun)).one()
    assert json.loads(run.path) == [["bericht", 0]]


def test_vignettes_work_without_javascript(client, session, student):
    response = choose(client, "bericht", 0, token(client), htmx=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/modules/proef/casus#vignette-proef-sanne"
    assert "Sanne is opgelucht." in client.get(CASUS).text


def test_reading_an_open_vignette_completes_it(client, session, student):
    response = client.post(
        "/modules/proef/vignettes/proef-open/read", data={"csrf_token": token(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "You have read this case." in client.get("/modules/proef/lezen").text


def test_knowledge_check_gives_feedback_on_the_chosen_option_and_records_it(client, session, student):
    csrf_token = token(client, TOETS)
    wrong = client.post(
        "/modules/proef/checks/proef-check",
        data={"option": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
    )
    assert "Nee." in wrong.text and "Not quite" in wrong.text and "Juist." not in wrong.text
    right = client.post(
        "/modules/proef/checks/proef-check",
        data={"option": "0"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
    )
    assert "Juist." in right.text and "Well done" in right.text
    fresh(session)
    recorded = session.exec(select(CheckAnswer)).one()
    assert recorded.selected == "0" and recorded.correct
    nothing = client.post("/modules/proef/checks/proef-check", data={"csrf_token": csrf_token})
    assert nothing.status_code == 422 and "Choose an answer first." in nothing.text


# -- progress ------------------------------------------------------------------------------------


def test_progress_counts_sections_prompts_vignettes_and_checks(client, session, student, app):
    module = app.state.catalogue.get("proef")
    csrf_token = token(client)  # visits "casus"
    client.get("/modules/proef/lezen")
    choose(client, "bericht", 1, csrf_token)
    client.post(
        SAVE, data={"text": "Drie woorden minstens.", "version": "0", "action": "submit", "csrf_token": csrf_token}
    )
    client.post(
        "/modules/proef/checks/proef-check",
        data={"option": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
    )
    fresh(session)
    progress = module_progress(session, user_id=student.id, module=module)
    # 3 sections + 2 reflections + 2 vignettes + 1 check = 8 steps; 2 + 1 + 1 + 1 = 5 done.
    assert progress.sections_visited == {"casus", "lezen"}
    assert progress.prompts_submitted == {"proef-keuze"} and progress.vignettes_completed == {"proef-sanne"}
    assert progress.percent == 62 and not progress.complete
    client.get("/modules/proef/toets")
    client.post("/modules/proef/vignettes/proef-open/read", data={"csrf_token": csrf_token})
    client.post(
        "/modules/proef/prompts/proef-slot",
        data={"text": "Alles.", "version": "0", "action": "submit", "csrf_token": csrf_token},
    )
    fresh(session)
    progress = module_progress(session, user_id=student.id, module=module)
    assert progress.complete and progress.percent == 100


@contextmanager
def count_queries(engine):
    statements = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_module_page_uses_a_fixed_number_of_queries(client, session, student, app):
    csrf_token = token(client)
    client.get("/modules/proef/toets")
    client.post(SAVE, data={"text": "Een, twee, drie.", "version": "0", "action": "submit", "csrf_token": csrf_token})
    answer = stored(session)
    revision = session.exec(select(AnswerRevision)).one()
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)

    def add_feedback(count):
        for n in range(count):
            session.add(
                Feedback(
                    answer_id=answer.id,
                    revision_id=revision.id,
                    class_id=course_class.id,
                    author_id=lecturer.id,
                    text=f"Feedback {n}",
                    read_at=utcnow(),
                )
            )
        session.commit()

    add_feedback(1)
    with count_queries(app.state.engine) as little:
        client.get(CASUS)
    choose(client, "bericht", 0, csrf_token)
    choose(client, "gesprek", 0, csrf_token)
    client.post("/modules/proef/vignettes/proef-sanne/restart", data={"csrf_token": csrf_token})
    add_feedback(20)
    with count_queries(app.state.engine) as much:
        page = client.get(CASUS)
    assert "Feedback 19" in page.text
    assert len(much) == len(little), "\n".join(q.split("\n")[0][:90] for q in much)
    assert len(much) <= 6


def test_the_module_page_never_parses_markdown_for_a_student(client, student, monkeypatch):
    import app.content.markdown as markdown

    monkeypatch.setattr(markdown, "markdown", lambda: (_ for _ in ()).throw(AssertionError("parsed")))
    for section in ("lezen", "casus", "toets"):
        assert client.get(f"/modules/proef/{section}").status_code == 200


# -- feedback, dashboard, my data ----------------------------------------------------------------


def give_feedback(session, student_answer, text="Mooi hoe je je twijfel beschrijft."):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == student_answer.id)).first()
    feedback = Feedback(
        answer_id=student_answer.id, revision_id=revision.id, class_id=course_class.id, author_id=lecturer.id, text=text
    )
    session.add(feedback)
    session.commit()
    return feedback


def test_feedback_is_shown_beside_the_answer_and_the_student_replies_once(client, session, student):
    csrf_token = token(client)
    client.post(
        SAVE, data={"text": "Mijn ingediende antwoord.", "version": "0", "action": "submit", "csrf_token": csrf_token}
    )
    feedback = give_feedback(session, stored(session))
    assert "1 new feedback" in client.get("/").text
    casus_entry = one(client.get(TOETS).text, 'nav.toc li:has(> a[href="/modules/proef/casus"])')
    assert texts(casus_entry, ".badge") == ["new feedback"] and texts(casus_entry, ".toc__state") == ["1 of 2 done"]
    page = client.get(CASUS).text
    new = one(page, "#prompt-proef-keuze .feedback-thread article.feedback.feedback--new")
    assert text_of(one(new, ".answer-text")) == "Mooi hoe je je twijfel beschrijft."
    assert texts(new, ".feedback__meta .badge") == ["new"]
    seen = parse(client.get(CASUS).text)  # seen now
    assert not has(seen, ".feedback--new") and "new" not in [string.strip() for string in seen.find_all(string=True)]
    assert "new feedback" not in client.get("/").text
    reply = client.post(
        f"/feedback/{feedback.id}/reply",
        data={"reply": "Dank je, ik twijfelde echt.", "csrf_token": csrf_token},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    client.post(f"/feedback/{feedback.id}/reply", data={"reply": "Nog iets.", "csrf_token": csrf_token})
    fresh(session)
    assert session.get(Feedback, feedback.id).reply_text == "Dank je, ik twijfelde echt."
    assert "Dank je, ik twijfelde echt." in client.get(CASUS).text


def test_a_student_cannot_reply_to_feedback_on_someone_elses_answer(app, client, session, student):
    from fastapi.testclient import TestClient

    other = make_user(session)
    with TestClient(app, headers={"Accept-Language": "en"}) as other_client:
        login(other_client, other)
        other_client.post(
            SAVE,
            data={
                "text": "Antwoord van een ander.",
                "version": "0",
                "action": "submit",
                "csrf_token": token(other_client),
            },
        )
    feedback = give_feedback(session, stored(session))
    response = client.post(f"/feedback/{feedback.id}/reply", data={"reply": "Hallo", "csrf_token": token(client)})
    assert response.status_code == 404


def test_dashboard_shows_assignments_with_due_dates_progress_and_where_to_continue(client, session, student):
    course_class = make_class(session)
    classes.enrol(session, course_class=course_class, student=student)
    classes.assign(session, course_class=course_class, module_slug="proef", due_on=utcnow().date() + timedelta(days=3))
    session.commit()
    card = one(client.get("/").text, "#assigned-title ~ .card-grid .card")
    assert text_of(one(card, ".card__title")) == "Proefmodule"
    assert texts(card, ".due .badge") == ["due soon"]
    assert one(card, "progress").get("value") == "0"
    client.get("/modules/proef/casus")
    resume = one(client.get("/").text, "section.resume")
    assert text_of(one(resume, "h2")) == "Continue where you left off"
    assert one(resume, "a.button")["href"] == "/modules/proef/casus"  # the section worked in last, with work left
    client.post(
        "/modules/proef/vignettes/proef-sanne/choose",
        data={"step": "bericht", "choice": "1", "csrf_token": token(client)},
    )
    for prompt in ("proef-keuze",):
        client.post(
            f"/modules/proef/prompts/{prompt}",
            data={"text": "Een twee drie.", "version": "0", "action": "submit", "csrf_token": token(client)},
        )
    client.get("/modules/proef/casus")
    resume = one(client.get("/").text, "section.resume")
    assert one(resume, "a.button")["href"] == "/modules/proef/toets"  # casus is done: on to the next


def test_my_data_export_holds_answers_revisions_choices_and_feedback(client, session, student):
    csrf_token = token(client)
    choose(client, "bericht", 1, csrf_token)
    client.post(
        SAVE,
        data={"text": "Mijn antwoord voor de export.", "version": "0", "action": "submit", "csrf_token": csrf_token},
    )
    give_feedback(session, stored(session), text="Feedback voor de export.")
    data = client.get("/account/my-data.json")
    assert data.headers["Cache-Control"] == "no-store"
    module = data.json()["modules"][0]
    reflection = module["reflections"][0]
    assert reflection["submissions"][0]["text"] == "Mijn antwoord voor de export."
    assert reflection["feedback"][0]["feedback"] == "Feedback voor de export."
    assert module["vignettes"][0]["choices"] == ["Je antwoordt morgen."]
    archive = zipfile.ZipFile(io.BytesIO(client.get("/account/my-data.zip").content))
    assert set(archive.namelist()) == {"proef.md", "nabij.json"}
    markdown = archive.read("proef.md").decode()
    assert "# Proefmodule" in markdown and "Mijn antwoord voor de export." in markdown
    assert re.search(r"1\. Je antwoordt morgen\.", markdown)


def test_lecturers_cannot_write_student_answers(client, session):
    login(client, make_user(session, role=Role.LECTURER))
    response = client.post(SAVE, data={"text": "x", "version": "0", "action": "save", "csrf_token": token(client)})
    assert response.status_code == 404


def test_a_draft_module_is_not_reachable_for_students(client, session, student, app):
    app.state.catalogue.get("proef").draft = True
    assert client.get("/modules/proef").status_code == 404
    assert client.get(CASUS).status_code == 404
    assert client.post(SAVE, data={"text": "x", "version": "0", "csrf_token": token(client, "/")}).status_code == 404
