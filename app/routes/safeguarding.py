"""Break-glass reveal (app/services/break_glass.py) and the access log for administrators.

A lecturer asks from the review (a form under each answer); a second person decides under /safeguarding.
Every page here is private (no-store) and answers 404 to anyone who is not involved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col, select

from app.access import AssignedModuleDep, LecturedClassDep, ReviewedPromptDep, answer_for_ref
from app.auth import AdminUser, CurrentUser
from app.db import ReadSession, SessionDep, WriteSession, as_step
from app.deps import DbId
from app.i18n import gettext as _
from app.models import AnswerRevision, CourseClass, RevealRequest, Role, User
from app.routing import Router
from app.services import access_log, break_glass
from app.templating import notice_text, render

router = Router(tags=["safeguarding"])

NOTICES = {
    "asked": lambda: _(
        "Your request was sent. An administrator or safeguarding officer decides on it; you see "
        "the name here only when they agree."
    ),
    "approved": lambda: _("The reveal was approved. The student is told who asked, who agreed, when and why."),
    "refused": lambda: _("The request was refused. Nobody learns who wrote the answer."),
}


async def staff_user(user: CurrentUser) -> User:
    """Lecturers, administrators and safeguarding officers; 404 for everyone else."""
    if user.role not in (Role.LECTURER, Role.ADMIN) and not user.safeguarding_officer:
        raise HTTPException(404)
    return user


StaffUser = Annotated[User, Depends(staff_user)]


def _form(
    request: Request,
    *,
    course_class,
    module,
    reflection,
    ref: str,
    text: str,
    reason: str = "",
    error: str | None = None,
    status_code: int = 200,
):
    return render(
        request,
        "safeguarding/request_form.html",
        {
            "course_class": course_class,
            "module": module,
            "reflection": reflection,
            "ref": ref,
            "answer_text": text,
            "reason": reason,
            "error": error,
        },
        status_code=status_code,
        private=True,
    )


@router.get("/classes/{class_id}/review/{slug}/{prompt_id}/reveal")
def reveal_form(
    request: Request,
    session: ReadSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    ref: str = "",
):
    found = answer_for_ref(request, session, course_class, module, reflection, ref)
    revision = session.get(AnswerRevision, found.revision_id)
    if revision is None:  # deleted since the review listed it
        raise HTTPException(404)
    return _form(request, course_class=course_class, module=module, reflection=reflection, ref=ref, text=revision.text)


@router.post("/classes/{class_id}/review/{slug}/{prompt_id}/reveal")
def ask_to_reveal(
    request: Request,
    session: WriteSession,
    course_class: LecturedClassDep,
    module: AssignedModuleDep,
    reflection: ReviewedPromptDep,
    ref: str = "",
    reason: Annotated[str, Form()] = "",
):
    # Only a lecturer of this class who can see this answer in its review may ask (LecturedClassDep, _resolve).
    found = answer_for_ref(request, session, course_class, module, reflection, ref)
    try:
        filed = break_glass.ask(
            session,
            settings=request.app.state.settings,
            requester=request.state.user,
            course_class=course_class,
            module_slug=module.slug,
            prompt_id=reflection.id,
            answer_id=found.answer_id,
            revision_id=found.revision_id,
            reason=reason,
        )
    except break_glass.BreakGlassError as error:
        session.rollback()
        revision = session.get(AnswerRevision, found.revision_id)
        if revision is None:  # deleted since the review listed it
            raise HTTPException(404) from None
        return _form(
            request,
            course_class=course_class,
            module=module,
            reflection=reflection,
            ref=ref,
            text=revision.text,
            reason=reason,
            error=error.message,
            status_code=400,
        )
    return RedirectResponse(f"/safeguarding/{filed.id}?notice=asked", status_code=303)


@router.get("/safeguarding")
def list_requests(request: Request, session: ReadSession, user: StaffUser):
    waiting, own = break_glass.requests_for(session, user=user)
    ids = list({r.class_id for r in waiting + own})
    classes = {c.id: c.name for c in session.exec(select(CourseClass).where(col(CourseClass.id).in_(ids)))}
    return render(
        request,
        "safeguarding/index.html",
        {"waiting": waiting, "own": own, "classes": classes, "may_decide": break_glass.may_decide(user)},
        private=True,
    )


@as_step
def _request_or_404(request_id: DbId, session: SessionDep, user: StaffUser) -> RevealRequest:
    found = session.get(RevealRequest, request_id)
    if found is None or not break_glass.visible_to(found, user):
        raise HTTPException(404)
    return found


RequestDep = Annotated[RevealRequest, Depends(_request_or_404)]


def _request_page(request: Request, session, found: RevealRequest, *, error: str | None = None, status_code: int = 200):
    user = request.state.user
    shown = break_glass.view(session, request=found, viewer=user)
    can_decide = found.status == break_glass.PENDING and break_glass.may_decide(user) and found.requester_id != user.id
    return render(
        request,
        "safeguarding/request.html",
        {
            "item": shown,
            "can_decide": can_decide,
            "error": error,
            "notice": notice_text(NOTICES, request.query_params.get("notice")),
        },
        status_code=status_code,
        private=True,
    )


@router.get("/safeguarding/{request_id}")
def read_request(request: Request, session: ReadSession, found: RequestDep):
    return _request_page(request, session, found)


@router.post("/safeguarding/{request_id}/decide")
def decide_request(
    request: Request, session: WriteSession, user: StaffUser, found: RequestDep, decision: Annotated[str, Form()] = ""
):
    if decision not in ("approve", "refuse"):
        return _request_page(request, session, found, error=_("Choose to approve or to refuse."), status_code=400)
    try:
        break_glass.decide(
            session,
            settings=request.app.state.settings,
            request=found,
            decider=user,
            approve=decision == "approve",
            catalogue=request.app.state.catalogue,
        )
    except break_glass.BreakGlassError as error:
        session.rollback()
        return _request_page(request, session, found, error=error.message, status_code=400)
    notice = "approved" if decision == "approve" else "refused"
    return RedirectResponse(f"/safeguarding/{found.id}?notice={notice}", status_code=303)


@router.get("/admin/classes/{class_id}/access-log")
def class_access_log(request: Request, session: ReadSession, admin: AdminUser, class_id: DbId):
    course_class = session.get(CourseClass, class_id)
    if course_class is None:
        raise HTTPException(404)
    return render(
        request,
        "safeguarding/class_log.html",
        {
            "course_class": course_class,
            "entries": access_log.for_class(session, class_id=class_id, catalogue=request.app.state.catalogue),
        },
        private=True,
    )
