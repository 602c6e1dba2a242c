"""What a student does in a module: write and submit reflections, walk vignettes, answer checks."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from app.auth import StudentUser
from app.content.model import Module
from app.db import ReadSession, WriteSession
from app.deps import CheckDep, DbId, ModuleDep, PromptDep, VignetteDep
from app.forms import parse_int
from app.models import referenced, stored_id
from app.reader import page_updates, reflection_work, section_page
from app.routing import Router
from app.services import checks, privacy_guard, reflections, vignettes
from app.services.workspace import CheckWork, ReflectionWork, ShownAgain, VignetteWork, load_work
from app.templating import is_htmx, render

router = Router(prefix="/modules/{slug}", tags=["student"])


def _back_to(module: Module, block_id: str, anchor: str) -> RedirectResponse:
    section = module.section_holding(block_id)
    return RedirectResponse(f"/modules/{module.slug}/{section.id}#{anchor}-{block_id}", status_code=303)


def _version(raw: str) -> int:
    number = parse_int(raw)
    return -1 if number is None else number


@router.post("/prompts/{prompt_id}/draft")
def autosave_reflection(
    request: Request,
    session: WriteSession,
    user: StudentUser,
    module: ModuleDep,
    prompt: PromptDep,
    text: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "0",
):
    """The htmx autosave: answers with the status line, or with the whole prompt on a conflict."""
    try:
        result = reflections.save_draft(
            session, user_id=stored_id(user), module=module, prompt=prompt, text=text, base_version=_version(version)
        )
    except reflections.ReflectionError as error:
        work = reflection_work(session, user, module, prompt.id)
        work.text_override, work.error = text, str(error)
        return render(
            request,
            "modules/blocks/_reflection_status.html",
            {"work": work, "block": prompt},
            status_code=422,
            private=True,
        )
    if result.conflict:
        work = reflection_work(session, user, module, prompt.id)
        work.text_override, work.conflict_text = text, result.stored_text
        response = render(
            request,
            "modules/blocks/_reflection.html",
            {"work": work, "block": prompt, "module": module},
            status_code=409,
            private=True,
        )
        response.headers["HX-Retarget"] = f"#prompt-{prompt.id}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    # The status line needs only the answer just saved: no reading it back (see app.db.get_session).
    work = ReflectionWork(prompt, result.answer, saved_now=True)
    return render(request, "modules/blocks/_reflection_status.html", {"work": work, "block": prompt}, private=True)


@router.post("/prompts/{prompt_id}")
def save_reflection(
    request: Request,
    session: WriteSession,
    user: StudentUser,
    module: ModuleDep,
    prompt: PromptDep,
    text: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "0",
    action: Annotated[str, Form()] = "save",
):
    """Save or submit with a plain form post (works without JavaScript); the submit button with htmx too.

    A submit whose text seems to identify someone is saved as a draft and shown again with what was found
    (app/services/privacy_guard.py); "submit anyway" (action=submit-anyway) submits it as it is."""
    if action == "submit" and reflections.submission_problem(prompt, text) and not is_htmx(request):
        return _not_submitted(request, session, user, module, prompt, text, version)
    findings = []
    if action == "submit" and reflections.submission_problem(prompt, text) is None:
        findings = privacy_guard.summary(privacy_guard.find(text, known=privacy_guard.module_words(module.path)))
    submitting = action in ("submit", "submit-anyway") and not findings
    operation = reflections.submit if submitting else reflections.save_draft
    again = partial(_prompt_again, request, session, user, module)
    try:
        result = operation(
            session, user_id=stored_id(user), module=module, prompt=prompt, text=text, base_version=_version(version)
        )
    except reflections.ReflectionError as error:
        return again(ShownAgain.refused(prompt.id, text=text, error=str(error)), status_code=422)
    if result.conflict:
        return again(ShownAgain.in_conflict(prompt.id, text=text, stored_text=result.stored_text), status_code=409)
    if findings:
        return again(ShownAgain.asked_about_privacy(prompt.id, text=text, findings=findings), status_code=200)
    if is_htmx(request):
        work = reflection_work(session, user, module, prompt.id)
        work.saved_now = True
        return render(
            request, "modules/blocks/_reflection.html", {"work": work, "block": prompt, "module": module}, private=True
        )
    return _back_to(module, prompt.id, "prompt")


def _not_submitted(request, session, user, module: Module, prompt, text: str, version: str):
    """Too short or empty to submit: keep it as a draft, and go back to the answer on its own page (not the
    POST address), where the reason stands next to it and takes the focus."""
    section = module.section_holding(prompt.id)
    again = partial(_prompt_again, request, session, user, module)
    try:
        result = reflections.save_draft(
            session, user_id=user.id, module=module, prompt=prompt, text=text, base_version=_version(version)
        )
    except reflections.ReflectionError as error:
        return again(ShownAgain.refused(prompt.id, text=text, error=str(error)), status_code=422)
    if result.conflict:
        return again(ShownAgain.in_conflict(prompt.id, text=text, stored_text=result.stored_text), status_code=409)
    return RedirectResponse(
        f"/modules/{module.slug}/{section.id}?not-submitted={prompt.id}#prompt-{prompt.id}", status_code=303
    )


def _prompt_again(request, session, user, module: Module, shown: ShownAgain, *, status_code: int):
    """The answer again, with the student's text and why it was not taken: its block (htmx) or its page."""
    prompt_id = shown.block_id
    if is_htmx(request):
        work = reflection_work(session, user, module, prompt_id)
        shown.apply_to(work)
        return render(
            request,
            "modules/blocks/_reflection.html",
            {"work": work, "block": module.reflections[prompt_id], "module": module},
            status_code=status_code,
            private=True,
        )
    section = module.section_holding(prompt_id)
    return section_page(request, session, user, module, section, shown_again=shown, status_code=status_code)


def _vignette_response(request, session, user, module: Module, vignette, *, status_code: int = 200):
    if not is_htmx(request):
        return _back_to(module, vignette.id, "vignette")
    work = load_work(session, user_id=user.id, module=module, blocks=[vignette])[vignette.id]
    assert isinstance(work, VignetteWork)
    return render(
        request,
        "modules/blocks/_vignette.html",
        {
            "work": work,
            "block": vignette,
            "module": module,
            "focus": True,
            "page_updates": page_updates(session, user, module, vignette.id),
        },
        status_code=status_code,
        private=True,
    )


@router.post("/vignettes/{vignette_id}/choose")
def choose_in_vignette(
    request: Request,
    session: WriteSession,
    user: StudentUser,
    module: ModuleDep,
    vignette: VignetteDep,
    step: Annotated[str, Form()] = "",
    choice: Annotated[str, Form()] = "",
):
    try:
        vignettes.choose(
            session,
            user_id=stored_id(user),
            module=module,
            vignette=vignette,
            step_id=step,
            choice_index=_version(choice),
        )
    except vignettes.VignetteError:
        # A stale page (another tab went on): show where the walk really is.
        return _vignette_response(request, session, user, module, vignette, status_code=409)
    return _vignette_response(request, session, user, module, vignette)


@router.post("/vignettes/{vignette_id}/restart")
def restart_vignette(
    request: Request, session: WriteSession, user: StudentUser, module: ModuleDep, vignette: VignetteDep
):
    vignettes.restart(session, user_id=stored_id(user), module=module, vignette=vignette)
    return _vignette_response(request, session, user, module, vignette)


@router.post("/vignettes/{vignette_id}/read")
def mark_vignette_read(
    request: Request, session: WriteSession, user: StudentUser, module: ModuleDep, vignette: VignetteDep
):
    if vignette.branching:
        raise HTTPException(404)
    vignettes.mark_read(session, user_id=stored_id(user), module=module, vignette=vignette)
    return _vignette_response(request, session, user, module, vignette)


@router.post("/checks/{check_id}")
def answer_check(
    request: Request,
    session: WriteSession,
    user: StudentUser,
    module: ModuleDep,
    check: CheckDep,
    option: Annotated[list[str] | None, Form()] = None,
):
    selected = [n for v in option or [] if (n := parse_int(v)) is not None]
    recorded = checks.answer_check(session, user_id=stored_id(user), module=module, check=check, selected=selected)
    status_code = 200 if recorded else 422
    if not is_htmx(request):
        if recorded:
            return _back_to(module, check.id, "check")
        return section_page(
            request,
            session,
            user,
            module,
            module.section_holding(check.id),
            shown_again=ShownAgain.check_without_choice(check.id),
            status_code=status_code,
        )
    work = load_work(session, user_id=stored_id(user), module=module, blocks=[check])[check.id]
    assert isinstance(work, CheckWork)
    work.error = not recorded
    return render(
        request,
        "modules/blocks/_check.html",
        {
            "work": work,
            "block": check,
            "module": module,
            "page_updates": page_updates(session, user, module, check.id) if recorded else None,
        },
        status_code=status_code,
        private=True,
    )


feedback_router = Router(tags=["student"])


@feedback_router.post("/feedback/{feedback_id}/reply")
def reply_to_feedback(
    request: Request, session: WriteSession, user: StudentUser, feedback_id: DbId, reply: Annotated[str, Form()] = ""
):
    from app.models import Answer, Feedback

    try:
        feedback = reflections.reply_to_feedback(session, user_id=stored_id(user), feedback_id=feedback_id, text=reply)
    except reflections.ReflectionError:
        feedback = session.get(Feedback, feedback_id)
    if feedback is None:
        raise HTTPException(404)  # not feedback on this student's answer
    answer = referenced(session, Answer, feedback.answer_id)
    module = request.app.state.catalogue.get(answer.module_slug)
    if module is None or answer.prompt_id not in module.reflections:
        return RedirectResponse("/", status_code=303)
    return _back_to(module, answer.prompt_id, "prompt")


# -- "Mijn reflecties": the student's own reflections across modules, and a portfolio export (issue 20) --


@feedback_router.get("/my/reflections")
def my_reflections(request: Request, session: ReadSession, user: StudentUser):
    from app.services import portfolio

    data = portfolio.portfolio(session, user=user, catalogue=request.app.state.catalogue)
    return render(request, "student/reflections.html", {"portfolio": data}, private=True)


@feedback_router.get("/my/reflections/print")
def my_reflections_print(request: Request, session: ReadSession, user: StudentUser):
    from app.services import portfolio

    data = portfolio.portfolio(session, user=user, catalogue=request.app.state.catalogue)
    return render(request, "student/reflections_print.html", {"portfolio": data}, private=True)


@feedback_router.get("/my/reflections/portfolio.zip")
def my_reflections_zip(request: Request, session: ReadSession, user: StudentUser):
    from fastapi.responses import Response

    from app import i18n
    from app.services import portfolio

    data = portfolio.portfolio(session, user=user, catalogue=request.app.state.catalogue)
    return Response(
        portfolio.zip_bytes(data, lang=i18n.current_locale.get()),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="nabij-portfolio.zip"', "Cache-Control": "no-store"},
    )
