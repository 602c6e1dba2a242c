"""Assessing in the review (issue 20): the level per criterion beside the feedback, its history, what the
student sees, the class's distribution under the k rules, exports, completion for a gradebook, and the
lecturer-only blocks that never reach a student."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import Assessment, Enrolment, Role, utcnow
from app.services import assessment as assessing
from app.services import classes
from tests.factories import (
    add_students,
    assign,
    cards_on,
    csrf,
    login,
    make_class,
    make_user,
    refs_on,
    review_url,
    submit,
    submit_all,
)
from tests.pages import field, fields, one, table_rows, text_of, texts
from tests.pages import select as select_all

SLUG, PROMPT = "de-relatie-werkt", "relatie-bordin-stage"  # a shipped prompt with lecturer notes


def student_client(app, session, course_class):
    """A real, verified student of the class, logged in on their own client."""
    student = make_user(session, role=Role.STUDENT, name="Sam Student")
    student.email_verified_at = utcnow()
    session.add(student)
    session.add(Enrolment(class_id=course_class.id, user_id=student.id))
    session.commit()
    other = TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"})
    login(other, student)
    return student, other


@pytest.fixture
def assessing_class(app, client, session):
    """A logged-in lecturer, a class with the module assigned, one real student and four others who
    all submitted the prompt (one round of k=5)."""
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    module = app.state.catalogue.get(SLUG)
    assign(session, course_class, module)
    student, student_web = student_client(app, session, course_class)
    submit(session, student, module, PROMPT, "Sams own reflection about the kitchen")
    others = add_students(session, course_class, 4)
    submit_all(session, others, module, PROMPT, text="Other answer {n}")
    login(client, lecturer)
    return lecturer, course_class, module, student, student_web


def own_ref(client, course_class, module, text: str = "Sams own reflection") -> str:
    page = client.get(review_url(course_class, module, PROMPT)).text
    for ref, _pseudonym, answer in cards_on(page):
        if text in answer:
            return ref
    raise AssertionError("answer not on the page")


def checked_levels(card) -> list[str]:
    """The levels ticked in the answer card's level picker ("" is "no level")."""
    return [level.value for level in fields(card, "level-diepgang") if level.element.has_attr("checked")]


def post_review(client, course_class, module, ref, *, levels: dict | None = None, feedback: str = "", htmx=False):
    url = review_url(course_class, module, PROMPT)
    data = {"ref": ref, "feedback": feedback, "csrf_token": csrf(client, url)}
    if levels is not None:
        data["assess"] = "1"
        data.update({f"level-{criterion}": level for criterion, level in levels.items()})
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"{url}/feedback", data=data, headers=headers, follow_redirects=False)


def section_url(module) -> str:
    return f"/modules/{module.slug}/{module.section_of(PROMPT).id}"


def test_the_review_offers_the_rubric_levels_and_the_lecturer_notes(client, assessing_class):
    _lecturer, course_class, module, _student, _web = assessing_class
    page = client.get(review_url(course_class, module, PROMPT)).text
    cards = select_all(page, "article.review-answer")
    assert len(cards) == 5 and len(select_all(page, '[name="level-diepgang"]')) == 5 * 5
    for card in cards:  # four levels and "no level", per answer, in the feedback form
        levels = fields(one(card, "form.review-feedback-form fieldset.level-picker"), "level-diepgang")
        assert len(levels) == 5 and {level.element["type"] for level in levels} == {"radio"}
        assert levels[-1].value == ""
    assert "Rubric: Levels of reflection after Hatton" in page
    assert "For lecturers" in page and "Veelvoorkomende valkuilen" in page  # the module's :::{lecturer} block
    assert "Exemplar at level: Dialogic reflection" in page
    assert len(refs_on(page)) == 5  # still two forms per answer: levels sit in the feedback form


def test_a_level_is_saved_with_or_without_feedback_and_the_student_sees_descriptor_and_next_step(
    client, session, assessing_class
):
    _lecturer, course_class, module, _student, student_web = assessing_class
    ref = own_ref(client, course_class, module)
    response = post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend-reflectief"})
    assert response.status_code == 303 and response.headers["location"].endswith(f"#answer-{ref}")
    session.commit()
    [row] = session.exec(select(Assessment)).all()
    assert json.loads(row.levels) == {"diepgang": "beschrijvend-reflectief"} and row.rubric_id == "hatton-smith"
    card = one(client.get(review_url(course_class, module, PROMPT)).text, f"article.review-answer#answer-{ref}")
    assert checked_levels(card) == ["beschrijvend-reflectief"]
    assert len(select_all(card, ".review-answer__levels .badge--level")) == 1

    page = student_web.get(section_url(module)).text
    assert "Your level" in page
    assert "Descriptive reflection" in page  # the English label in an English UI
    assert "The text gives reasons for what happened" in page  # the descriptor
    assert "How to reach the next level" in page and "through the eyes of the young person" in page
    assert "level 2 of 4" in page
    # Never a lecturer-only text on the student's page.
    assert "Veelvoorkomende valkuilen" not in page and "Exemplar" not in page


def test_changing_a_level_keeps_the_history(client, session, assessing_class):
    _lecturer, course_class, module, _student, student_web = assessing_class
    ref = own_ref(client, course_class, module)
    post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend"}, feedback="Goed begin.")
    post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend"})  # no change: no row
    response = post_review(client, course_class, module, ref, levels={"diepgang": "dialogisch"}, htmx=True)
    assert response.status_code == 200
    assert checked_levels(one(response.text, f"article.review-answer#answer-{ref}")) == ["dialogisch"]
    assert "changed 1 time" in response.text
    session.commit()
    rows = session.exec(select(Assessment).order_by(Assessment.id)).all()
    assert [json.loads(r.levels)["diepgang"] for r in rows] == ["beschrijvend", "dialogisch"]
    page = student_web.get(section_url(module)).text
    assert "How your level changed" in page and "Dialogic reflection" in page and "Goed begin." in page
    post_review(client, course_class, module, ref, levels={"diepgang": ""})  # cleared is a change too
    session.commit()
    assert len(session.exec(select(Assessment)).all()) == 3
    assert "Your level" not in student_web.get(section_url(module)).text


def test_a_bad_level_or_an_empty_form_is_refused_and_nothing_typed_is_lost(client, session, assessing_class):
    _lecturer, course_class, module, _student, _web = assessing_class
    ref = own_ref(client, course_class, module)
    bad = post_review(client, course_class, module, ref, levels={"diepgang": "geniaal"}, feedback="Mijn tekst")
    assert bad.status_code == 400 and "Choose one of the levels of the rubric." in bad.text
    assert field(one(bad.text, f"article.review-answer#answer-{ref}"), "feedback").value == "Mijn tekst"
    empty = post_review(client, course_class, module, ref, levels={"diepgang": ""})
    assert empty.status_code == 400 and "Write feedback or choose a level." in empty.text
    session.commit()
    assert session.exec(select(Assessment)).all() == []


def test_the_class_distribution_of_levels_follows_the_k_rules(client, session, app, assessing_class):
    _lecturer, course_class, module, _student, _web = assessing_class
    more = add_students(session, course_class, 5)
    submit_all(session, more, module, PROMPT, text="Second round {n}")
    url = review_url(course_class, module, PROMPT)
    refs = refs_on(client.get(url).text)
    assert len(refs) == 10
    for ref in refs[:4]:
        post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend"})
    page = client.get(url).text
    assert "The distribution of levels is shown once at least 5 answers are assessed." in page
    for n, ref in enumerate(refs[4:]):
        post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend" if n < 2 else "dialogisch"})
    page = client.get(url).text
    levels = one(page, 'section.level-distribution[aria-labelledby="levels-title"]')
    assert "10 answers assessed." in texts(levels, "p.hint")
    # 6 descriptive, 4 dialogic: 4 is below k=5, and a lone hidden cell would follow from the total,
    # so one more cell (a zero) is hidden with it.
    counts = [row["Answers"] for row in table_rows(one(levels, "table"))]
    assert "6" in counts and "4" not in counts
    assert counts.count("fewer than 5") == 2 and text_of(levels).count("fewer than 5") == 2
    rubric = app.state.catalogue.rubrics.get("hatton-smith")
    shown = assessing.distribution(rubric, course_class, [{"diepgang": "kritisch"}] * 3 + [{}] * 7)
    assert not shown.visible and shown.needed == 2  # unassessed answers do not count


def test_exports_include_the_levels(client, session, assessing_class):
    _lecturer, course_class, module, _student, student_web = assessing_class
    ref = own_ref(client, course_class, module)
    post_review(client, course_class, module, ref, levels={"diepgang": "kritisch"})
    url = review_url(course_class, module, PROMPT)
    rows = list(csv.reader(io.StringIO(client.get(f"{url}/export.csv").content.decode("utf-8-sig"))))
    assert rows[0][-1] == "level:diepgang"
    assert sorted(row[-1] for row in rows[1:]) == ["", "", "", "", "kritisch"]
    assert "Level (Diepgang van de reflectie): Kritische reflectie" in client.get(f"{url}/export.md").text
    data = json.loads(student_web.get("/account/my-data.json").text)
    reflection = next(r for m in data["modules"] for r in m["reflections"] if r["prompt_id"] == PROMPT)
    assert reflection["assessments"][0]["levels"] == {"diepgang": "kritisch"}
    archive = zipfile.ZipFile(io.BytesIO(student_web.get("/account/my-data.zip").content))
    assert "diepgang: kritisch" in archive.read(f"{SLUG}.md").decode()


def test_completion_is_a_fraction_by_the_class_rule_and_never_a_level(client, session, app, assessing_class):
    _lecturer, course_class, module, student, _web = assessing_class
    assignment = classes.assignment_for_module(session, course_class=course_class, module_slug=SLUG)
    catalogue = app.state.catalogue
    total = len(module.reflections)
    assert assessing.completion(session, student, assignment, catalogue=catalogue) is None  # no rule: nothing sent
    response = client.post(
        f"/classes/{course_class.id}/review/completion",
        data={"rule": "submitted", "csrf_token": csrf(client, f"/classes/{course_class.id}/review")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.commit()
    session.refresh(course_class)
    assert course_class.completion_rule == "submitted"
    assert assessing.completion(session, student, assignment, catalogue=catalogue) == round(1 / total, 4)
    assessing.set_completion_rule(session, course_class=course_class, rule="assessed")
    assert assessing.completion(session, student, assignment, catalogue=catalogue) == 0.0
    post_review(client, course_class, module, own_ref(client, course_class, module), levels={"diepgang": "dialogisch"})
    session.commit()
    score = assessing.completion(session, student, assignment, catalogue=catalogue)
    assert score == round(1 / total, 4) and isinstance(score, float)
    refused = client.post(
        f"/classes/{course_class.id}/review/completion",
        data={"rule": "everything", "csrf_token": csrf(client, f"/classes/{course_class.id}/review")},
    )
    assert refused.status_code == 400
    # The progress matrix names students; it never shows a level.
    progress = client.get(f"/classes/{course_class.id}/progress").text
    assert "Sam Student" in progress
    assert not any(level in progress for level in ("Dialogic reflection", "Dialogische reflectie", "dialogisch"))


# -- lecturer-only blocks never reach a student -----------------------------------------------------


def _secrets(catalogue) -> list[str]:
    """A distinctive sentence from every lecturer-only block of the shipped modules."""
    texts = []
    for module in catalogue.modules.values():
        for note in module.lecturer_notes:
            for fragment in [note.html, *(e.html for e in note.exemplars)]:
                # Text between tags, as it stands in any HTML that would carry it (a secret spanning a
                # tag would never match).
                for piece in re.split(r"<[^>]+>", fragment):
                    piece = " ".join(piece.split())
                    if len(piece) >= 30:
                        texts.append(piece[:40])
    return texts


def test_lecturer_blocks_are_in_the_preview_and_never_in_any_student_page_fragment_or_export(
    app, client, session, assessing_class
):
    _lecturer, course_class, module, _student, student_web = assessing_class
    catalogue = app.state.catalogue
    secrets = _secrets(catalogue)
    assert len(secrets) >= 8, "the shipped modules should carry lecturer notes with exemplars"
    preview = client.get(f"/preview/{SLUG}/{module.section_of(PROMPT).id}").text
    assert "Veelvoorkomende valkuilen" in preview and "Exemplar answers" in preview
    # Assess and give feedback, so that every student view has something to show.
    ref = own_ref(client, course_class, module)
    post_review(client, course_class, module, ref, levels={"diepgang": "dialogisch"}, feedback="Mooi.")

    token = csrf(student_web, "/my/reflections")
    pages: dict[str, str] = {}

    def fetch(method, url, **kwargs):
        response = student_web.request(method, url, **kwargs)
        body = response.content.decode("utf-8", "replace")
        if response.headers.get("content-type", "").startswith("application/zip"):
            archive = zipfile.ZipFile(io.BytesIO(response.content))
            body = "\n".join(archive.read(name).decode() for name in archive.namelist())
        pages[f"{method} {url}"] = body
        return response

    for path in (
        "/",
        "/modules",
        "/account",
        "/my/reflections",
        "/my/reflections/print",
        "/my/reflections/portfolio.zip",
        "/account/my-data.json",
        "/account/my-data.zip",
    ):
        fetch("GET", path)
    for each in catalogue.published():
        fetch("GET", f"/modules/{each.slug}")
        for section in each.sections:
            fetch("GET", f"/modules/{each.slug}/{section.id}")
            fetch("GET", f"/modules/{each.slug}/{section.id}", headers={"HX-Request": "true"})
        for prompt in each.reflections:
            # The htmx fragments of a prompt: the autosave status and the whole prompt after a save.
            fetch(
                "POST",
                f"/modules/{each.slug}/prompts/{prompt}/draft",
                data={"text": "Mijn concept", "version": "0", "csrf_token": token},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
            fetch(
                "POST",
                f"/modules/{each.slug}/prompts/{prompt}",
                data={"text": "Mijn concept", "version": "1", "action": "save", "csrf_token": token},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
        for check in each.checks:
            fetch(
                "POST",
                f"/modules/{each.slug}/checks/{check}",
                data={"option": "0", "csrf_token": token},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
        for vignette in each.vignettes.values():
            if vignette.branching:
                fetch(
                    "POST",
                    f"/modules/{each.slug}/vignettes/{vignette.id}/restart",
                    data={"csrf_token": token},
                    headers={"HX-Request": "true", "X-CSRF-Token": token},
                )
    assert "Your level" in pages[f"GET {section_url(module)}"]  # the crawl saw the assessed answer
    assert "Dialogic reflection" in pages["GET /my/reflections"]
    leaks = [
        (where, secret)
        for where, body in pages.items()
        for secret in secrets
        if secret in body or html.unescape(secret) in body
    ]  # escaped in pages, plain in exports
    assert not leaks, leaks[:5]
    assert not any("For lecturers" in body or "Exemplar" in body for body in pages.values())
