"""The whole-module print page and the print stylesheet (issue 21)."""

from __future__ import annotations

from pathlib import Path

from app import PROJECT_ROOT
from app.services import reflections
from tests.factories import first_module, first_prompt, login, make_user
from tests.test_notifications import LONG


def test_whole_module_prints_every_section_and_vignettes_as_text_with_their_choices(app, client):
    module = first_module(app)
    page = client.get(f"/print/modules/{module.slug}")
    assert page.status_code == 200
    for section in module.sections:
        assert f'id="print-{section.id}"' in page.text
    vignette = next(iter(module.vignettes.values()), None)
    if vignette is not None:
        choice = next(c for step in vignette.steps.values() for c in step.choices)
        assert choice.label_html in page.text
    assert "With my answers" not in page.text  # only a student has answers to print
    assert client.get("/print/modules/no-such-module").status_code == 404


def test_a_student_prints_their_own_answers_only_when_asked(app, client, session):
    module = first_module(app)
    student = make_user(session)
    prompt_id = first_prompt(module)
    reflections.save_draft(
        session,
        user_id=student.id,
        module=module,
        prompt=module.reflections[prompt_id],
        text=LONG + " mijneigenzin",
        base_version=0,
    )
    session.commit()
    other = make_user(session)
    reflections.save_draft(
        session,
        user_id=other.id,
        module=module,
        prompt=module.reflections[prompt_id],
        text="anderstudenttekst",
        base_version=0,
    )
    session.commit()
    login(client, student)
    assert "mijneigenzin" not in client.get(f"/print/modules/{module.slug}").text
    page = client.get(f"/print/modules/{module.slug}?answers=1").text
    assert "mijneigenzin" in page and "anderstudenttekst" not in page


def test_the_stylesheet_has_print_rules_for_sections_and_the_module_page():
    css = Path(PROJECT_ROOT / "static" / "nabij.css").read_text()
    print_rules = css[css.rindex("@media print") :]
    assert ".print-section { break-before: page; }" in print_rules and ".toc" in print_rules
