"""Anonymised review: lecturers read submitted reflections under pseudonyms, give feedback, mark for class.

Nothing in these pages, their partials, links, form fields or exports names a student or carries a
database id of a student, answer, revision or feedback: answers travel as keyed `ref` tokens that are
resolved only among the submitted answers of this class and prompt.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.access import (
    AssignedModuleDep,
    LecturedClassDep,
    ReviewedPromptDep,
    WritableLecturedClassDep,
    answer_for_ref,
)
from app.content.model import Module, Reflection
from app.db import ReadSession, WriteSession, write_for
from app.deps import CatalogueDep
from app.i18n import gettext as _
from app.models import CourseClass
from app.routing import Router
from app.services import access_log, assessment, classes, review
from app.services.paging import page_url
from app.templating import is_htmx, render

router = Router(prefix="/classes/{class_id}/review", tags=["review"])


def _secret(request: Request) -> bytes:
    return request.app.state.secret


def _rubric(request: Request, reflection: Reflection):
    return request.app.state.catalogue.rubrics.get(reflection.rubric)


async def _level_fields(request: Request) -> dict[str, str] | None:
    """The `level-<criterion>` fields of the review form, or None when the form had none (no rubric)."""
    form = await request.form()
    if form.get("assess") != "1":
        return None
    return {key: str(value) for key, value in form.items() if key.startswith("level-")}


LevelFields = Annotated[dict[str, str] | None, Depends(_level_fields)]


def _prompt_path(course_class: CourseClass, module: Module, reflection: Reflection) -> str:
    return f"/classes/{course_class.id}/review/{module.slug}/{reflection.id}"


def _prompt_url(
    course_class: CourseClass, module: Module, reflection: Reflection, *, page: int = 1, anchor: str = ""
) -> str:
    """The review of a prompt, at `page` (page 1 has no `?page=`), scrolled to the answer `anchor`."""
    return page_url(_prompt_path(course_class, module, reflection), page) + (f"#answer-{anchor}" if anchor else "")


def _neighbours(module: Module, reflection: Reflection) -> tuple[Reflection | None, Reflection | None]:
    ids = list(module.reflections)
    index = ids.index(reflection.id)
    previous = module.reflections[ids[index - 1]] if index > 0 else None
    following = module.reflections[ids[index + 1]] if index + 1 < len(ids) else None
    return previous, following


@router.get("")
def review_index(request: Request, session: ReadSession, catalogue: CatalogueDep, course_class: LecturedClassDep):
    assigned = [
        (assignment, catalogue.get(assignment.module_slug))
        for assignment in classes.class_assignments(session, course_class=course_class)
    ]
    return render(
        request,
        "review/index.html",
        {"course_class": course_class, "tab": "review", "assigned": [(a, m) for a, m in assigned if m is not None]},
        private=True,
    )


@router.get("/{slug}")
def review_assignment(
    request: Request, session: ReadSession, course_class: LecturedClassDep, module: AssignedModuleDep
):
    overview = review.assignment_review(session, course_class=course_class, module=module)
    return render(
        request,
        "review/assignment.html",
        {"course_class": course_class, "tab": "review", "overview": overview},
        private=True,
    )


def _log_read(request: Request, session, prompt_review, kind: str) -> None:
    """Every student sees who read their answers: the day's first read of a review is logged."""
    entry = access_log.unrecorded_read(session, reader=request.state.user, review=prompt_review, kind=kind)
    if entry is not None:
        with write_for(request, session) as writer:
            access_log.record(writer, entry)


def _read(request: Request, session, course_class, module, reflection, *, page=None, ref=None, card=False):
    """The answers a lecturer is shown, recorded as read: every student sees who read their answers. `card`:
    only the answer `ref` is shown, and a ref that is not among them is a 404 before anything is recorded."""
    prompt_review = review.prompt_review(
        session,
        secret=_secret(request),
        course_class=course_class,
        module=module,
        prompt_id=reflection.id,
        viewer=request.state.user,
        page=page,
        ref=ref,
        rubric=_rubric(request, reflection),
    )
    if card and all(item.ref != ref for item in prompt_review.answers):
        raise HTTPException(404)
    _log_read(request, session, prompt_review, access_log.READ)
    return prompt_review


def _prompt_page(
    request: Request,
    session,
    course_class,
    module,
    reflection,
    *,
    page: str | None = None,
    ref: str | None = None,
    status_code: int = 200,
    typed: dict | None = None,
    errors: dict | None = None,
    typed_levels: dict | None = None,
):
    """One page of the answers: `page`, or the page that holds the answer `ref` (after a form error)."""
    prompt_review = _read(request, session, course_class, module, reflection, page=page, ref=ref)
    previous, following = _neighbours(module, reflection)
    context = {
        "course_class": course_class,
        "tab": "review",
        "review": prompt_review,
        "previous": previous,
        "next": following,
        "typed": typed or {},
        "errors": errors or {},
        "page": prompt_review.page,
        "typed_levels": typed_levels or {},
        "lecturer_notes": module.notes_for(reflection.id),
        "page_path": _prompt_path(course_class, module, reflection),
        "page_query": {},
    }
    return render(request, "review/prompt.html", context, status_code=status_code, private=True)


@router.get("/{slug}/{prompt_id}")
def review_prompt(
    request: Request,
    session: ReadSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    page: str | None = None,
):
    # A string, not an int: `?page=abc` or `?page=999` shows the nearest page instead of an error.
    return _prompt_page(request, session, course_class, module, reflection, page=page)


def _export(request: Request, session, course_class, module, reflection, kind: str):
    prompt_review = review.prompt_review(
        session,
        secret=_secret(request),
        course_class=course_class,
        module=module,
        prompt_id=reflection.id,
        per_page=None,  # all answers
        rubric=_rubric(request, reflection),
    )
    if not prompt_review.visible:
        return RedirectResponse(_prompt_url(course_class, module, reflection), status_code=303)
    _log_read(request, session, prompt_review, access_log.EXPORT)
    if kind == "csv":
        body, media_type = "\ufeff" + review.export_csv(prompt_review), "text/csv; charset=utf-8"
    else:
        body, media_type = review.export_markdown(prompt_review), "text/markdown; charset=utf-8"
    filename = f"{reflection.id}-anonymised.{kind}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/{slug}/{prompt_id}/export.md")
def export_markdown(
    request: Request,
    session: ReadSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
):
    return _export(request, session, course_class, module, reflection, "md")


@router.get("/{slug}/{prompt_id}/export.csv")
def export_csv(
    request: Request,
    session: ReadSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
):
    return _export(request, session, course_class, module, reflection, "csv")


def _answer_fragment(
    request: Request,
    session,
    course_class,
    module,
    reflection,
    ref: str,
    *,
    typed: dict | None = None,
    errors: dict | None = None,
    typed_levels: dict | None = None,
):
    """The one answer card, for htmx to swap in place (form errors included, so it answers 200)."""
    prompt_review = _read(request, session, course_class, module, reflection, ref=ref, card=True)
    answer = next(item for item in prompt_review.answers if item.ref == ref)
    context = {
        "course_class": course_class,
        "review": prompt_review,
        "answer": answer,
        "typed": typed or {},
        "errors": errors or {},
        "typed_levels": typed_levels or {},
    }
    return render(request, "review/_answer.html", context, private=True)


@router.post("/{slug}/{prompt_id}/feedback")
def give_feedback(
    request: Request,
    session: WriteSession,
    course_class: WritableLecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    levels: LevelFields,
    ref: Annotated[str, Form()] = "",
    feedback: Annotated[str, Form()] = "",
):
    found = answer_for_ref(request, session, course_class, module, reflection, ref)
    try:
        # The levels picked (app/services/assessment.py), with or without feedback text, in one commit.
        assessed = _assess(request, session, course_class, reflection, found, levels)
        if feedback.strip() or not assessed:
            review.give_feedback(
                session,
                course_class=course_class,
                answer_id=found.answer_id,
                revision_id=found.revision_id,
                author=request.state.user,
                text=feedback,
                level_fields=levels is not None,
            )
        else:
            session.commit()
    except (review.ReviewError, assessment.AssessmentError) as error:
        session.rollback()
        typed, errors, typed_levels = {ref: feedback}, {ref: error.message}, {ref: levels or {}}
        if is_htmx(request):
            return _answer_fragment(
                request,
                session,
                course_class,
                module,
                reflection,
                ref,
                typed=typed,
                errors=errors,
                typed_levels=typed_levels,
            )
        return _prompt_page(
            request,
            session,
            course_class,
            module,
            reflection,
            ref=ref,
            status_code=400,
            typed=typed,
            errors=errors,
            typed_levels=typed_levels,
        )
    return _answer_changed(request, session, course_class, module, reflection, ref, page=found.page)


def _assess(request: Request, session, course_class, reflection, found, levels: dict[str, str] | None) -> bool:
    """Record the levels of the review form; True when they changed the answer's assessment."""
    rubric = _rubric(request, reflection)
    if rubric is None or levels is None:
        return False
    picked = assessment.parse_levels(rubric, levels)
    return (
        assessment.assess(
            session,
            course_class=course_class,
            answer_id=found.answer_id,
            revision_id=found.revision_id,
            assessor=request.state.user,
            rubric=rubric,
            levels=picked,
            commit=False,
        )
        is not None
    )


@router.post("/completion")
def set_completion(
    request: Request, session: WriteSession, course_class: WritableLecturedClassDep, rule: Annotated[str, Form()] = ""
):
    """When a module counts as complete for the LMS gradebook (never a level: only how much is done)."""
    try:
        assessment.set_completion_rule(session, course_class=course_class, rule=rule)
    except assessment.AssessmentError:
        raise HTTPException(400, _("Choose when a module counts as complete.")) from None
    return RedirectResponse(f"/classes/{course_class.id}/review#completion", status_code=303)


@router.post("/{slug}/{prompt_id}/discuss")
def mark_for_discussion(
    request: Request,
    session: WriteSession,
    course_class: WritableLecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    ref: Annotated[str, Form()] = "",
    mark: Annotated[str, Form()] = "1",
):
    found = answer_for_ref(request, session, course_class, module, reflection, ref)
    review.set_discussion_mark(session, course_class=course_class, answer_id=found.answer_id, marked=mark == "1")
    return _answer_changed(request, session, course_class, module, reflection, ref, page=found.page)


def _answer_changed(request: Request, session, course_class, module, reflection, ref: str, *, page: int):
    """After feedback or a mark: the card again for htmx; without JavaScript, back to its page."""
    if is_htmx(request):
        return _answer_fragment(request, session, course_class, module, reflection, ref)
    return RedirectResponse(_prompt_url(course_class, module, reflection, page=page, anchor=ref), status_code=303)
