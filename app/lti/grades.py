"""Completion to the LMS gradebook (AGS), as a job, gated exactly like the progress matrix.

An LMS gradebook is one more view with names beside it, so it learns no more, and no sooner, than the
progress matrix shows (app/services/classes.py, docs/privacy.md):

* the only thing sent per student is completion, 0 or 1: "every reflection of the module is in", as
  released in rounds of k by `released_reflections` (the same call the matrix makes). Never a text, a
  level, a partial count or a submission time (the score's timestamp is when we post it);
* because a round releases k students at once, every submission re-evaluates the whole class, and each
  student whose released state changed since the last post is sent (`lti_grade_post` keeps what was
  sent, so a retried job sends nothing twice);
* with the class's completion rule "assessed", a student also needs every answer assessed
  (app/services/assessment.py); with no rule, nothing is sent.

The job is queued after the submission's transaction commits (app/jobs.after_commit), from a flush
listener on new answer revisions, so the student's request never waits for the LMS, and retried with a
delay when the LMS is down.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app import jobs
from app.lti import services
from app.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Assignment,
    CourseClass,
    Enrolment,
    ExternalIdentity,
    LtiGradePost,
    LtiPlatform,
    LtiResourceLink,
    User,
    referenced,
    stored_id,
    utcnow,
)

log = logging.getLogger("nabij.lti")


def gradebook_links(session: Session, *, class_id: int, module_slug: str) -> list[LtiResourceLink]:
    return list(
        session.exec(
            select(LtiResourceLink)
            .join(Assignment, col(Assignment.id) == col(LtiResourceLink.assignment_id))
            .where(
                col(Assignment.class_id) == class_id,
                col(Assignment.module_slug) == module_slug,
                col(LtiResourceLink.lineitem_url) != "",
            )
        )
    )


def completed(session: Session, *, course_class: CourseClass, assignment: Assignment, module) -> set[int]:
    """The students whose module counts as complete *as the matrix shows it*."""
    from app.services.assessment import completion
    from app.services.classes import released_reflections

    done = {user_id for user_id, _slug in released_reflections(session, course_class=course_class, modules=[module])}
    if course_class.completion_rule == "assessed":
        done = {
            user_id
            for user_id in done
            if completion(session, referenced(session, User, user_id), assignment, catalogue=jobs.catalogue()) == 1.0
        }
    return done


def post_for_link(session: Session, link: LtiResourceLink) -> int:
    """Send every change of completion on this link's line item; returns how many were sent."""
    assignment = session.get(Assignment, link.assignment_id)
    course_class = session.get(CourseClass, assignment.class_id) if assignment else None
    module = jobs.catalogue().get(assignment.module_slug) if assignment else None
    if assignment is None or course_class is None or module is None or not course_class.completion_rule:
        return 0
    platform = referenced(session, LtiPlatform, link.platform_id)
    done = completed(session, course_class=course_class, assignment=assignment, module=module)
    students = session.exec(
        select(ExternalIdentity.user_id, ExternalIdentity.subject)
        .join(Enrolment, col(Enrolment.user_id) == col(ExternalIdentity.user_id))
        .where(col(Enrolment.class_id) == course_class.id, col(ExternalIdentity.issuer) == platform.issuer)
    ).all()
    sent_before = {
        row.user_id: row
        for row in session.exec(select(LtiGradePost).where(col(LtiGradePost.resource_link_id) == link.id))
    }
    sent = 0
    for user_id, subject in students:
        score = 1.0 if user_id in done else 0.0
        before = sent_before.get(user_id)
        if (before is None and score == 0.0) or (before is not None and before.score == score):
            continue  # nothing new to say: not-yet-complete is what the gradebook shows already
        services.post_score(session, platform, link.lineitem_url, user_id=subject, score=score)
        row = before or LtiGradePost(resource_link_id=stored_id(link), user_id=user_id, score=score)
        row.score, row.posted_at = score, utcnow()
        session.add(row)
        session.commit()  # one by one: a retry after a failure sends only what is left
        sent += 1
    return sent


def post_completion(session: Session, *, class_id: int, module_slug: str) -> int:
    return sum(
        post_for_link(session, link) for link in gradebook_links(session, class_id=class_id, module_slug=module_slug)
    )


@jobs.task(retries=5, retry_delay=120)
def post_completion_job(class_id: int, module_slug: str) -> None:
    with jobs.session() as session:
        post_completion(session, class_id=class_id, module_slug=module_slug)


@jobs.task(retries=5, retry_delay=120)
def post_completion_for_answer(answer_id: int) -> None:
    with jobs.session() as session:
        answer = session.get(Answer, answer_id)
        if answer is None or answer.class_id is None:
            return
        post_completion(session, class_id=answer.class_id, module_slug=answer.module_slug)


@event.listens_for(OrmSession, "after_flush")
def _queue_on_submission(db_session, _context) -> None:
    """A submission (a new answer revision) may close a round of k, an assessment complete a module under
    the "assessed" rule: re-evaluate the class after the commit."""
    if db_session.info.get("nabij_lti_queued") is not None:
        return
    for obj in db_session.new:
        # A new assessment matters under the "assessed" rule (a no-op job under the others).
        if isinstance(obj, (AnswerRevision, Assessment)):
            db_session.info["nabij_lti_queued"] = True
            jobs.after_commit(db_session, post_completion_for_answer, obj.answer_id)
            return


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _reset(db_session) -> None:
    db_session.info.pop("nabij_lti_queued", None)
