"""Roster sync (NRPS): the LMS course's members become the class's students and lecturers.

Learners become students, Instructors and Teaching Assistants lecturers (never admins), each keyed on
(issuer, user_id) like a launch. An account the LMS vouches for counts as verified for k (the LMS is
the institution's own record). Members who are Inactive or Deleted in the LMS, and students who came
from this LMS but are no longer listed, leave the class; nobody else's enrolment is touched."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app import jobs
from app.lti import launch as lti_launch
from app.lti import services
from app.models import CourseClass, Enrolment, ExternalIdentity, LtiContext, LtiPlatform, referenced, stored_id, utcnow


@dataclass
class SyncResult:
    students: int = 0
    lecturers: int = 0
    removed: int = 0
    skipped: int = 0  # members whose email already belongs to another account (linked by that person later)


def sync(session: Session, *, context_id: int) -> SyncResult:
    context = session.get(LtiContext, context_id)
    result = SyncResult()
    if context is None or not context.memberships_url:
        return result
    platform = referenced(session, LtiPlatform, context.platform_id)
    course_class = referenced(session, CourseClass, context.class_id)
    class_id = stored_id(course_class)
    listed: set[int] = set()
    for member in services.members(session, platform, context.memberships_url):
        instructor = bool(member.roles & lti_launch.INSTRUCTOR_ROLES)
        learner = bool(member.roles & lti_launch.LEARNER_ROLES)
        if not instructor and not learner:
            continue
        if member.status != "Active":
            identity = session.exec(
                select(ExternalIdentity).where(
                    col(ExternalIdentity.issuer) == platform.issuer, col(ExternalIdentity.subject) == member.user_id
                )
            ).first()
            if identity is not None:
                result.removed += _unenrol(session, class_id, identity.user_id)
            continue
        try:
            user = lti_launch.account_for(
                session, platform=platform, subject=member.user_id, claims=member.claims(), instructor=instructor
            )
        except lti_launch.LaunchError:
            result.skipped += 1
            continue
        lti_launch.join_class(session, course_class=course_class, user=user, instructor=instructor)
        listed.add(stored_id(user))
        if instructor:
            result.lecturers += 1
        else:
            result.students += 1
    # Students from this LMS who are no longer in its course leave the class too.
    from_lms = session.exec(
        select(Enrolment.user_id)
        .join(ExternalIdentity, col(ExternalIdentity.user_id) == col(Enrolment.user_id))
        .where(col(Enrolment.class_id) == course_class.id, col(ExternalIdentity.issuer) == platform.issuer)
    ).all()
    for user_id in set(from_lms) - listed:
        result.removed += _unenrol(session, class_id, user_id)
    context.synced_at = utcnow()
    session.add(context)
    session.commit()
    return result


def _unenrol(session: Session, class_id: int, user_id: int) -> int:
    row = session.get(Enrolment, (class_id, user_id))
    if row is None:
        return 0
    session.delete(row)
    session.commit()
    return 1


@jobs.task(retries=3, retry_delay=60)
def sync_roster(context_id: int) -> None:
    with jobs.session() as session:
        sync(session, context_id=context_id)


@jobs.periodic_task(jobs.crontab(minute="40", hour="4"))
def nightly_roster_sync() -> int:
    """Every night, each linked LMS course's roster again (a student who left the course in the LMS leaves
    the class here), one job per course so that one LMS that is down retries alone. Archived classes stay
    as they are."""
    with jobs.session() as session:
        contexts = session.exec(
            select(col(LtiContext.id))
            .join(CourseClass, col(CourseClass.id) == col(LtiContext.class_id))
            .where(col(LtiContext.memberships_url).is_not(None), col(CourseClass.archived_at).is_(None))
        ).all()
    for context_id in contexts:
        sync_roster(context_id)
    return len(contexts)
