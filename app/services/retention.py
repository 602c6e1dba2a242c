"""Retention and purge: what Nabij deletes on its own, and when (docs/privacy.md).

* answers (with their revisions, feedback and discussion marks) of a class archived
  ``NABIJ_RETENTION_MONTHS_AFTER_ARCHIVE`` months ago (default 12); its lecturers are mailed a month ahead,
  so they can export what they still need;
* throttle events (they hold IP addresses and e-mail addresses in their keys) after a day;
* sessions (with their user agents) a week after they expired; reset tokens a week after they expired;
* invitations that were never used, once they expired.

`purge` runs nightly as a job (`nightly_purge`, in `nabij worker` and `make run`); `nabij purge --dry-run`
shows what would go. Every step deletes by a date condition only, so running it twice does nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from app import jobs
from app.config import Settings
from app.models import (
    Answer,
    AnswerRevision,
    ClassLecturer,
    CourseClass,
    DiscussionMark,
    Feedback,
    Invitation,
    Notification,
    PasswordReset,
    ThrottleEvent,
    User,
    UserSession,
    aware,
    primary_key,
    utcnow,
)

log = logging.getLogger("nabij.retention")

THROTTLE_KEEP = timedelta(days=1)
EXPIRED_KEEP = timedelta(days=7)
WARN_AHEAD = timedelta(days=30)
NOTIFICATION_KEEP = timedelta(days=182)  # what happened in a class: half a year is more than a semester
DAYS_PER_MONTH = 30


def invitation_valid_days() -> int:
    from app.services.roster import INVITATION_VALID_DAYS

    return INVITATION_VALID_DAYS


def archive_cutoff(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=DAYS_PER_MONTH * settings.retention_months_after_archive)


@dataclass
class PurgePlan:
    archived_classes: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{name}: {count}" for name, count in self.counts.items()]


def _conditions(settings: Settings, now: datetime):
    idle = timedelta(minutes=settings.session_idle_minutes)
    lifetime = timedelta(hours=settings.session_max_hours)
    return {
        "throttle events": (ThrottleEvent, col(ThrottleEvent.created_at) < now - THROTTLE_KEEP),
        # A session has expired when it was idle too long or lived too long; it is kept a week after that.
        "sessions": (
            UserSession,
            or_(
                col(UserSession.last_seen_at) < now - idle - EXPIRED_KEEP,
                col(UserSession.created_at) < now - lifetime - EXPIRED_KEEP,
            ),
        ),
        "reset tokens": (PasswordReset, col(PasswordReset.expires_at) < now - EXPIRED_KEEP),
        "unused invitations": (
            Invitation,
            (col(Invitation.accepted_at).is_(None))
            & (col(Invitation.created_at) < now - timedelta(days=invitation_valid_days())),
        ),
        "notifications": (Notification, col(Notification.created_at) < now - NOTIFICATION_KEEP),
    }


def plan(session: Session, *, settings: Settings, now: datetime | None = None) -> PurgePlan:
    now = now or utcnow()
    result = PurgePlan()
    result.archived_classes = [
        primary_key(class_id)
        for class_id in session.exec(
            select(col(CourseClass.id)).where(
                col(CourseClass.archived_at).is_not(None), col(CourseClass.archived_at) < archive_cutoff(settings, now)
            )
        )
    ]
    answers = 0
    if result.archived_classes:
        answers = session.exec(
            select(func.count()).select_from(Answer).where(col(Answer.class_id).in_(result.archived_classes))
        ).one()
    result.counts["answers of archived classes"] = answers
    # The access log and reveal requests of those classes go with their answers (issue 13).
    from app.models import AccessLog

    result.counts["access log of archived classes"] = (
        session.exec(
            select(func.count()).select_from(AccessLog).where(col(AccessLog.class_id).in_(result.archived_classes))
        ).one()
        if result.archived_classes
        else 0
    )
    for name, (model, condition) in _conditions(settings, now).items():
        result.counts[name] = session.exec(select(func.count()).select_from(model).where(condition)).one()
    result.counts["mails in the outbox folder"] = len(_old_outbox_files(settings, now))
    return result


def _old_outbox_files(settings: Settings, now: datetime) -> list:
    """Mails written to var/outbox/ (no SMTP server configured) hold reset links and reveal reasons in plain
    text: they go a week after they were written, like expired sessions."""
    outbox = settings.var_dir / "outbox"
    if not outbox.is_dir():
        return []
    cutoff = (now - EXPIRED_KEEP).timestamp()
    return [path for path in outbox.glob("*.eml") if path.stat().st_mtime < cutoff]


def purge(session: Session, *, settings: Settings, now: datetime | None = None) -> PurgePlan:
    now = now or utcnow()
    result = plan(session, settings=settings, now=now)
    if result.archived_classes:
        answer_ids = select(Answer.id).where(col(Answer.class_id).in_(result.archived_classes))
        from app.models import AccessLog, RevealRequest

        session.exec(delete(RevealRequest).where(col(RevealRequest.class_id).in_(result.archived_classes)))
        session.exec(delete(AccessLog).where(col(AccessLog.class_id).in_(result.archived_classes)))
        session.exec(delete(DiscussionMark).where(col(DiscussionMark.answer_id).in_(answer_ids)))
        session.exec(delete(Feedback).where(col(Feedback.answer_id).in_(answer_ids)))
        session.exec(delete(AnswerRevision).where(col(AnswerRevision.answer_id).in_(answer_ids)))
        session.exec(delete(Answer).where(col(Answer.class_id).in_(result.archived_classes)))
    for model, condition in _conditions(settings, now).values():
        session.exec(delete(model).where(condition))
    session.commit()
    for path in _old_outbox_files(settings, now):
        path.unlink(missing_ok=True)
    log.info("purge: %s", ", ".join(result.lines()))
    return result


def classes_to_warn(session: Session, *, settings: Settings, now: datetime | None = None) -> list[CourseClass]:
    """Archived classes whose answers go within a month (and not yet gone)."""
    now = now or utcnow()
    cutoff = archive_cutoff(settings, now)
    return list(
        session.exec(
            select(CourseClass).where(
                col(CourseClass.archived_at).is_not(None),
                col(CourseClass.archived_at) >= cutoff,
                col(CourseClass.archived_at) < cutoff + WARN_AHEAD,
            )
        )
    )


def warn_lecturers(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """Mail each class's lecturers once, a month before its answers are purged; the number of mails."""
    from app.i18n import gettext as _
    from app.services.mail import send_mail

    sent = 0
    for course_class in classes_to_warn(session, settings=settings, now=now):
        if not jobs.huey.storage.put_if_empty(f"retention-warned:{course_class.id}", b"1"):
            continue  # warned before (the job runs nightly)
        if course_class.archived_at is None:  # never: classes_to_warn gives archived classes
            continue
        purge_on = (
            aware(course_class.archived_at) + timedelta(days=DAYS_PER_MONTH * settings.retention_months_after_archive)
        ).date()
        lecturers = session.exec(
            select(User)
            .join(ClassLecturer, col(ClassLecturer.user_id) == col(User.id))
            .where(col(ClassLecturer.class_id) == course_class.id)
        )
        for lecturer in lecturers:
            body = _(
                "Hello %(name)s,\n\nThe class '%(class)s' was archived. On %(date)s Nabij deletes its "
                "students' answers and feedback, as the retention rules say. If you still need anything, "
                "export it from the class's review pages before then."
            ) % {"name": lecturer.display_name, "class": course_class.name, "date": purge_on.isoformat()}
            send_mail(
                settings,
                to=lecturer.email,
                subject=_("Answers of %(class)s will be deleted on %(date)s")
                % {"class": course_class.name, "date": purge_on.isoformat()},
                body=body,
            )
            sent += 1
    return sent


@jobs.periodic_task(jobs.crontab(hour="3", minute="15"))
def nightly_purge() -> None:
    """The nightly job (03:15 UTC): warn a month ahead, then purge what is due."""
    settings = jobs.settings()
    with jobs.session() as session:
        warn_lecturers(session, settings=settings)
    with jobs.session() as session:
        purge(session, settings=settings)
