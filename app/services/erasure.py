"""Erasure (GDPR art. 17): everything that holds a user's id goes, and with their answers everything on them.

Walks the tables in SQLModel.metadata, so a table added later is covered without a change here:

* rows of a table with a foreign key to ``answer`` whose answer is the user's (revisions, feedback written on
  their answers, discussion marks): deleted; what a lecturer discussed in class is kept nowhere else;
* rows with a NOT NULL foreign key to ``user`` (sessions, reset tokens, enrolments, answers, walks, checks,
  visits, extensions, external identities…): deleted;
* a NULLable foreign key to ``user`` (the author of feedback, when a lecturer is erased): set to NULL, so the
  student keeps the feedback without the lecturer's id;
* invitations to the address, and throttle rows whose key holds the address; then the account itself.

`nabij user erase EMAIL` (admins) and the job after a student's own request (grace period, app/routes/account.py)
both call `erase_user`; it is idempotent (an id that is gone erases nothing).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select, update
from sqlmodel import Session, SQLModel, col

from app import jobs
from app.models import Answer, Invitation, ThrottleEvent, User, primary_key

log = logging.getLogger("nabij.erasure")


def erase_user(session: Session, *, user_id: int) -> bool:
    """Erase the account and all its data; False if there was no such account."""
    user = session.get(User, user_id)
    if user is None:
        return False
    email = user.email
    answer_ids = select(col(Answer.id)).where(col(Answer.user_id) == user_id).scalar_subquery()
    for table in reversed(SQLModel.metadata.sorted_tables):
        if table.name == "user":
            continue
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if "answer" in targets and table.name != "answer":
                session.execute(delete(table).where(column.in_(answer_ids)))
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if "user" not in targets:
                continue
            if column.nullable:
                session.execute(update(table).where(column == user_id).values({column.name: None}))
            else:
                session.execute(delete(table).where(column == user_id))
    session.execute(delete(Invitation).where(col(Invitation.email) == email))
    from app.services.throttle import email_fingerprint

    session.execute(
        delete(ThrottleEvent).where(
            or_(
                col(ThrottleEvent.key).contains(email, autoescape=True),
                col(ThrottleEvent.key).contains(email_fingerprint(email)),
            )
        )
    )
    session.execute(delete(User).where(col(User.id) == user_id))
    session.commit()
    log.info("account %s erased", user_id)
    return True


@jobs.task(retries=3, retry_delay=60)
def erase_user_job(user_id: int) -> bool:
    with jobs.session() as session:
        return erase_user(session, user_id=user_id)


# -- a student's own request: 14 days to change their mind --------------------------------------------

GRACE_DAYS = 14
# An account that signs in with its institution or LMS has no password to type again: a sign-in this recent
# is the re-authentication instead (as "sudo mode" elsewhere).
REAUTH_WINDOW_MINUTES = 10


def signs_in_externally(session: Session, *, user_id: int) -> bool:
    from app.models import ExternalIdentity

    found = session.execute(select(col(ExternalIdentity.id)).where(col(ExternalIdentity.user_id) == user_id)).first()
    return found is not None


def signed_in_recently(user_session, *, now=None) -> bool:
    from datetime import timedelta

    from app.models import aware, utcnow

    return aware(user_session.created_at) > (now or utcnow()) - timedelta(minutes=REAUTH_WINDOW_MINUTES)


def request_erasure(session: Session, *, user: User, now=None) -> None:
    """Schedule the erasure GRACE_DAYS ahead; asking again does not move the date."""
    from datetime import timedelta

    from app.models import utcnow

    if user.erasure_due_at is None:
        user.erasure_due_at = (now or utcnow()) + timedelta(days=GRACE_DAYS)
        session.add(user)
        session.commit()


def cancel_erasure(session: Session, *, user: User) -> None:
    user.erasure_due_at = None
    session.add(user)
    session.commit()


def erase_due(session: Session, *, now=None) -> int:
    """Erase every account whose grace period is over; the number erased."""
    from app.models import utcnow

    due = list(
        session.scalars(
            select(col(User.id)).where(
                col(User.erasure_due_at).is_not(None), col(User.erasure_due_at) <= (now or utcnow())
            )
        )
    )
    for user_id in due:
        erase_user(session, user_id=primary_key(user_id))
    return len(due)


@jobs.periodic_task(jobs.crontab(minute="5"))
def erase_due_job() -> None:
    """Hourly: erase the accounts whose 14 days are over."""
    with jobs.session() as session:
        erase_due(session)


def leave_class(session: Session, *, user: User, class_id: int, keep_answers: bool = False) -> bool:
    """Leave a class: the enrolment and extensions go; the answers written for it go too, unless the student
    chooses to keep them (they then stay visible to that class's review). False if not enrolled."""
    from app.models import AnswerRevision, Assignment, DiscussionMark, Enrolment, Extension, Feedback

    enrolment = session.get(Enrolment, (class_id, user.id))
    if enrolment is None:
        return False
    assignments = select(col(Assignment.id)).where(col(Assignment.class_id) == class_id).scalar_subquery()
    session.execute(
        delete(Extension).where(col(Extension.user_id) == user.id, col(Extension.assignment_id).in_(assignments))
    )
    if not keep_answers:
        answer_ids = (
            select(col(Answer.id))
            .where(col(Answer.user_id) == user.id, col(Answer.class_id) == class_id)
            .scalar_subquery()
        )
        for model in (DiscussionMark, Feedback, AnswerRevision):
            session.execute(delete(model).where(col(model.answer_id).in_(answer_ids)))
        session.execute(delete(Answer).where(col(Answer.user_id) == user.id, col(Answer.class_id) == class_id))
    session.delete(enrolment)
    session.commit()
    return True


def enrolled_classes(session: Session, *, user_id: int) -> list:
    from app.models import CourseClass, Enrolment

    return list(
        session.scalars(
            select(CourseClass)
            .join(Enrolment, col(Enrolment.class_id) == col(CourseClass.id))
            .where(col(Enrolment.user_id) == user_id)
            .order_by(col(CourseClass.name))
        )
    )
