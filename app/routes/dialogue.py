"""The dialogue under feedback (issue 21 item 4): the student on "All my feedback", the lecturer on a page per
answer of the review (by its ref, never an id of the student or the answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col, select

from app.access import AssignedModuleDep, LecturedClassDep, ReviewedPromptDep, WritableLecturedClassDep
from app.auth import LecturerUser, StudentUser
from app.db import ReadSession, WriteSession
from app.deps import CatalogueDep, DbId
from app.models import Answer, Feedback
from app.routing import Router
from app.services import dialogue, review
from app.templating import render

router = Router(tags=["dialogue"])


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- the student ---------------------------------------------------------------------------------------


def _my_feedback_page(request, session, catalogue, user, *, errors: dict, typed: dict, status_code: int):
    items = dialogue.my_feedback(session, user=user, catalogue=catalogue)
    threads = {item.id: dialogue.student_thread(session, user=user, feedback_id=item.id) for item in items}
    return render(
        request,
        "notifications/my_feedback.html",
        {"items": items, "threads": threads, "errors": errors, "typed": typed},
        status_code=status_code,
        private=True,
    )


@router.post("/my/feedback/{feedback_id}/messages")
def student_message(
    request: Request,
    session: WriteSession,
    catalogue: CatalogueDep,
    user: StudentUser,
    feedback_id: DbId,
    text: Annotated[str, Form()] = "",
):
    try:
        message = dialogue.student_says(session, user=user, feedback_id=feedback_id, text=text)
    except dialogue.DialogueError as error:
        session.rollback()
        return _my_feedback_page(
            request,
            session,
            catalogue,
            user,
            errors={feedback_id: error.message},
            typed={feedback_id: text},
            status_code=400,
        )
    if message is None:
        raise HTTPException(404)
    return _redirect(f"/my/feedback#feedback-{feedback_id}")


@router.post("/my/feedback/messages/{message_id}")
def student_change(
    request: Request,
    session: WriteSession,
    catalogue: CatalogueDep,
    user: StudentUser,
    message_id: DbId,
    action: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
):
    try:
        changed = dialogue.change_own_last(
            session, user=user, message_id=message_id, text=None if action == "withdraw" else text, as_student=True
        )
    except dialogue.DialogueError as error:
        session.rollback()
        return _my_feedback_page(
            request,
            session,
            catalogue,
            user,
            errors={f"m{message_id}": error.message},
            typed={f"m{message_id}": text},
            status_code=400,
        )
    if not changed:
        raise HTTPException(404)
    return _redirect("/my/feedback")


# -- the lecturer --------------------------------------------------------------------------------------


class NotInReview(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _feedback_of(request, session, course_class, module, reflection, ref: str):
    found = review.resolve_ref(
        session,
        secret=request.app.state.secret,
        course_class=course_class,
        module=module,
        prompt_id=reflection.id,
        ref=ref,
    )
    if found is None:  # not (or no longer) in the review: back to it, where the lecturer can see why
        raise NotInReview(f"/classes/{course_class.id}/review/{module.slug}/{reflection.id}")
    answer = session.get(Answer, found.answer_id)
    items = session.exec(
        select(Feedback)
        .where(col(Feedback.answer_id) == found.answer_id, col(Feedback.class_id) == course_class.id)
        .order_by(col(Feedback.created_at), col(Feedback.id))
    ).all()
    return answer, list(items)


def _lecturer_page(
    request, session, course_class, module, reflection, user, ref, *, error=None, typed="", status_code=200
):
    answer, items = _feedback_of(request, session, course_class, module, reflection, ref)
    threads = [
        (
            index,
            item,
            dialogue.lecturer_thread(session, course_class=course_class, viewer=user, feedback=item, answer=answer),
        )
        for index, item in enumerate(items)
    ]
    base = f"/classes/{course_class.id}/review/{module.slug}/{reflection.id}"
    shown = review.prompt_review(
        session,
        secret=request.app.state.secret,
        course_class=course_class,
        module=module,
        prompt_id=reflection.id,
        ref=ref,
    )
    shown_answer = next((a for a in shown.answers if a.ref == ref), None)
    pseudonym = shown_answer.pseudonym if shown_answer else ""
    # The student's first reply under each feedback, as the review shows it: only once released in a round
    # (the review lists the same feedback rows in the same order).
    replies = [item.reply_text and item for item in shown_answer.feedback] if shown_answer else []
    return render(
        request,
        "dialogue/lecturer.html",
        {
            "course_class": course_class,
            "module": module,
            "reflection": reflection,
            "ref": ref,
            "threads": threads,
            "base": base,
            "error": error,
            "pseudonym": pseudonym,
            "replies": replies,
            "typed": typed,
            "viewer": user,
        },
        status_code=status_code,
        private=True,
    )


@router.get("/classes/{class_id}/review/{slug}/{prompt_id}/dialogue")
def lecturer_dialogue(
    request: Request,
    session: ReadSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    user: LecturerUser,
    ref: str = "",
):
    try:
        return _lecturer_page(request, session, course_class, module, reflection, user, ref[:64])
    except NotInReview as missing:
        return _redirect(missing.url)


@router.post("/classes/{class_id}/review/{slug}/{prompt_id}/dialogue")
def lecturer_message(
    request: Request,
    session: WriteSession,
    course_class: WritableLecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    user: LecturerUser,
    ref: Annotated[str, Form()] = "",
    n: Annotated[int, Form(ge=0, le=10000)] = 0,
    text: Annotated[str, Form()] = "",
    message: Annotated[int, Form(ge=0)] = 0,
    action: Annotated[str, Form()] = "say",
):
    try:
        _answer, items = _feedback_of(request, session, course_class, module, reflection, ref[:64])
    except NotInReview as missing:
        return _redirect(missing.url)
    if n >= len(items):
        raise HTTPException(404)
    try:
        if action == "say":
            dialogue.lecturer_says(session, author=user, feedback=items[n], text=text)
        elif not dialogue.change_own_last(
            session, user=user, message_id=message, text=None if action == "withdraw" else text, as_student=False
        ):
            raise HTTPException(404)
    except dialogue.DialogueError as error:
        session.rollback()
        return _lecturer_page(
            request,
            session,
            course_class,
            module,
            reflection,
            user,
            ref[:64],
            error=error.message,
            typed=text,
            status_code=400,
        )
    return _redirect(f"/classes/{course_class.id}/review/{module.slug}/{reflection.id}/dialogue?ref={ref[:64]}")
