"""Break-glass reveal for safeguarding: who wrote an answer, only when two people agree.

A lecturer of the class who reads an answer that points to danger (a young person or the student at risk) asks,
with a written reason, to see its author's name. A second person decides: an administrator or a safeguarding
officer (User.safeguarding_officer), never the one who asked, even when they are an administrator themselves.
Only after an approval is the name shown, and only to those two. The reveal is a row in the access log; the
student is told on their dashboard and by mail who asked, who approved, when and why. Nothing here is silent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from app.config import Settings
from app.i18n import gettext as _
from app.models import (
    Answer,
    AnswerRevision,
    CourseClass,
    RevealRequest,
    Role,
    User,
    aware,
    referenced,
    stored_id,
    utcnow,
)
from app.services import access_log

log = logging.getLogger("nabij.break_glass")

REASON_MIN = 20
REASON_MAX = 2000
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"


class BreakGlassError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_decide(user: User) -> bool:
    """Administrators and safeguarding officers decide on requests (never on their own)."""
    return user.is_active and (user.role == Role.ADMIN or bool(user.safeguarding_officer))


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise BreakGlassError(
            _(
                "Write why the author must be known, in at least %(num)s characters: what in the "
                "answer points to danger, and for whom."
            )
            % {"num": REASON_MIN}
        )
    if len(reason) > REASON_MAX:
        raise BreakGlassError(_("Use at most %(num)s characters.") % {"num": REASON_MAX})
    return reason


def ask(
    session: Session,
    *,
    settings: Settings,
    requester: User,
    course_class: CourseClass,
    module_slug: str,
    prompt_id: str,
    answer_id: int,
    revision_id: int,
    reason: str,
) -> RevealRequest:
    """File a request (the route has checked that the requester lectures the class and read the answer)."""
    reason = check_reason(reason)
    existing = session.exec(
        select(RevealRequest).where(
            col(RevealRequest.answer_id) == answer_id,
            col(RevealRequest.requester_id) == requester.id,
            col(RevealRequest.status) == PENDING,
        )
    ).first()
    if existing is not None:
        raise BreakGlassError(
            _("You already asked to reveal this answer's author; the request is waiting for a decision.")
        )
    request = RevealRequest(
        class_id=stored_id(course_class),
        answer_id=answer_id,
        revision_id=revision_id,
        module_slug=module_slug,
        prompt_id=prompt_id,
        requester_id=requester.id,
        reason=reason,
    )
    session.add(request)
    session.flush()
    _mail_deciders(session, settings=settings, request=request, requester=requester, course_class=course_class)
    session.commit()
    log.info("reveal request %s filed for class %s", request.id, course_class.id)
    return request


def _mail_deciders(
    session: Session, *, settings: Settings, request: RevealRequest, requester: User, course_class: CourseClass
) -> None:
    from app.services.mail import send_mail

    deciders = session.exec(
        select(User).where(
            col(User.is_active).is_(True),
            col(User.id) != requester.id,
            or_(col(User.role) == Role.ADMIN, col(User.safeguarding_officer).is_(True)),
        )
    )
    for decider in deciders:
        send_mail(
            settings,
            session=session,
            to=decider.email,
            subject=_("A safeguarding request waits for your decision"),
            body=_(
                "Hello %(name)s,\n\n%(requester)s, lecturer of the class '%(class)s', asks to reveal who "
                "wrote an answer, for safeguarding. Decide at %(link)s: a second person must agree "
                "before the name is shown."
            )
            % {
                "name": decider.display_name,
                "requester": requester.display_name,
                "class": course_class.name,
                "link": f"{settings.base_url.rstrip('/')}/safeguarding/{request.id}",
            },
        )


def set_safeguarding_officer(session: Session, *, user: User, on: bool) -> str | None:
    """Give or take the safeguarding-officer role; a problem message when the account cannot have it."""
    if on and (user.role == Role.STUDENT.value or not user.is_active):
        return "only an active lecturer or admin account can be a safeguarding officer"
    user.safeguarding_officer = on
    session.add(user)
    session.commit()
    return None


def decide(
    session: Session,
    *,
    settings: Settings,
    request: RevealRequest,
    decider: User,
    approve: bool,
    now: datetime | None = None,
    catalogue=None,
) -> RevealRequest:
    """Approve or refuse; an approval logs the reveal and tells the student (dashboard and mail)."""
    if not may_decide(decider):
        raise BreakGlassError(_("Only an administrator or a safeguarding officer decides on these requests."))
    if request.requester_id == decider.id:
        raise BreakGlassError(_("You asked for this reveal yourself: another person must decide on it."))
    if request.status != PENDING:
        raise BreakGlassError(_("This request has already been decided."))
    answer = session.get(Answer, request.answer_id)
    if answer is None:
        raise BreakGlassError(_("The answer no longer exists."))
    if answer.user_id == decider.id:
        raise BreakGlassError(_("This answer is yours: another person must decide on it."))
    now = now or utcnow()
    request.status = APPROVED if approve else REFUSED
    request.decided_by_id = decider.id
    request.decided_at = now
    session.add(request)
    if approve:
        access_log.record_reveal(
            session,
            request_id=stored_id(request),
            lecturer_id=request.requester_id,
            class_id=request.class_id,
            module_slug=request.module_slug,
            prompt_id=request.prompt_id,
            student_id=answer.user_id,
            now=now,
        )
        _tell_student(
            session, settings=settings, request=request, student_id=answer.user_id, decider=decider, catalogue=catalogue
        )
    session.commit()
    log.info("reveal request %s %s", request.id, request.status)
    return request


def _tell_student(
    session: Session, *, settings: Settings, request: RevealRequest, student_id: int, decider: User, catalogue=None
) -> None:
    from app import i18n
    from app.services.mail import send_mail

    student = referenced(session, User, student_id)
    requester = session.get(User, request.requester_id) if request.requester_id else None
    assert request.decided_at is not None, "only a decided request is told"
    course_class = session.get(CourseClass, request.class_id)
    # In the student's language, not the approver's.
    token = i18n.current_locale.set(student.locale if student.locale in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    try:
        body = _(
            "Hello %(name)s,\n\nFor safeguarding, your lecturer %(requester)s asked to know who wrote your "
            "answer to '%(prompt)s' in the class '%(class)s', and %(approver)s agreed on %(date)s. Their "
            "reason:\n\n%(reason)s\n\nOnly these two people now know that this answer is yours. If you want "
            "to talk about it, contact them or your student counsellor."
        ) % {
            "name": student.display_name,
            "requester": requester.display_name if requester else "?",
            "prompt": access_log.prompt_title(catalogue, request.module_slug, request.prompt_id),
            "class": course_class.name if course_class else "?",
            "approver": decider.display_name,
            "date": i18n.format_day(aware(request.decided_at)),
            "reason": request.reason,
        }
        subject = _("Your name was shown as the author of an answer")
    finally:
        i18n.current_locale.reset(token)
    send_mail(settings, session=session, to=student.email, subject=subject, body=body)


# -- reading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    request: RevealRequest
    class_name: str
    requester: str | None
    decider: str | None
    answer_text: str
    author: str | None  # only when approved and the viewer is the requester or the approver


def involved(request: RevealRequest, user: User) -> bool:
    return user.id in (request.requester_id, request.decided_by_id)


def visible_to(request: RevealRequest, user: User) -> bool:
    """The requester always; deciders while it is pending, and the one who decided it."""
    if request.requester_id == user.id or request.decided_by_id == user.id:
        return True
    return request.status == PENDING and may_decide(user)


def view(session: Session, *, request: RevealRequest, viewer: User) -> RequestView:
    course_class = session.get(CourseClass, request.class_id)
    requester = session.get(User, request.requester_id) if request.requester_id else None
    decider = session.get(User, request.decided_by_id) if request.decided_by_id else None
    revision = session.get(AnswerRevision, request.revision_id)
    author = None
    if request.status == APPROVED and involved(request, viewer):
        answer = session.get(Answer, request.answer_id)
        student = session.get(User, answer.user_id) if answer else None
        author = f"{student.display_name} <{student.email}>" if student else None
    return RequestView(
        request,
        course_class.name if course_class else "",
        requester.display_name if requester else None,
        decider.display_name if decider else None,
        revision.text if revision else "",
        author,
    )


def requests_for(session: Session, *, user: User) -> tuple[list[RevealRequest], list[RevealRequest]]:
    """(waiting for this user's decision, asked or decided by this user), newest first."""
    waiting = []
    if may_decide(user):
        waiting = list(
            session.exec(
                select(RevealRequest)
                .where(col(RevealRequest.status) == PENDING, col(RevealRequest.requester_id) != user.id)
                .order_by(col(RevealRequest.id).desc())
            )
        )
    own = list(
        session.exec(
            select(RevealRequest)
            .where(or_(col(RevealRequest.requester_id) == user.id, col(RevealRequest.decided_by_id) == user.id))
            .order_by(col(RevealRequest.id).desc())
        )
    )
    return waiting, own


@dataclass(frozen=True)
class StudentNotice:
    class_name: str
    prompt_id: str
    module_slug: str
    requester: str | None
    approver: str | None
    decided_at: datetime
    reason: str


def reveals_of(session: Session, *, user: User) -> list[StudentNotice]:
    """The approved reveals of this student's answers, for their dashboard and export."""
    approver = aliased(User, name="approver")
    rows = session.exec(
        select(RevealRequest, CourseClass.name, User.display_name, approver.display_name)
        .join(Answer, col(Answer.id) == col(RevealRequest.answer_id))
        .join(CourseClass, col(CourseClass.id) == col(RevealRequest.class_id))
        .outerjoin(User, col(User.id) == col(RevealRequest.requester_id))
        .outerjoin(approver, col(approver.id) == col(RevealRequest.decided_by_id))
        .where(col(Answer.user_id) == user.id, col(RevealRequest.status) == APPROVED)
        .order_by(col(RevealRequest.decided_at).desc())
    ).all()
    return [
        StudentNotice(class_name, r.prompt_id, r.module_slug, requester, approver_name, aware(decided_at), r.reason)
        for r, class_name, requester, approver_name in rows
        if (decided_at := r.decided_at) is not None
    ]  # always: approving sets it
