"""Database tables. The schema itself is made only by the Alembic migrations in migrations/."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Index, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, Session, SQLModel

from app.crypto import EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they are always stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


T = TypeVar("T")


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def stored_id(row: _Row) -> int:
    """The primary key of a row that is in the database (loaded, or added and flushed). The column is
    `int | None` only because a row made in Python has no id until it is flushed; a missing id here is a
    bug in the caller (a row used before it was stored), never a state of the data."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it before using its id")
    return row.id


def referenced(session: Session, model: type[T], key: object) -> T:
    """The row a NOT NULL foreign key points to: there by the constraint, unless deleted since (a race
    that is a server error, not a state the callers can show)."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r} is gone, though a foreign key pointed to it")
    return row


def primary_key(value: int | None) -> int:
    """A primary key read from the database, which is never NULL (typed `int | None` for rows not yet stored)."""
    if value is None:
        raise ValueError("a primary key read from the database is NULL")
    return value


# Brussels and Amsterdam share one time zone. Times are stored in UTC; dates that people read (due
# dates, "late", the day an answer was submitted) are days on the school's clock: at 00:30 there,
# it is already the next day, while in UTC it is still the previous one.
SCHOOL_ZONE = ZoneInfo("Europe/Brussels")


def school_day(value: datetime) -> date:
    return aware(value).astimezone(SCHOOL_ZONE).date()


def school_today() -> date:
    return school_day(utcnow())


class Role(StrEnum):
    STUDENT = "student"
    LECTURER = "lecturer"
    ADMIN = "admin"


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased: uniqueness is case-insensitive on every database.
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=120)
    role: str = Field(max_length=16, index=True)  # a Role value
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    locale: str | None = Field(default=None, max_length=5)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # When the owner proved the address is theirs (confirmation link, institution sign-in, LMS launch).
    # Only verified students count towards a class's k (docs/privacy.md).
    email_verified_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The owner asked to erase the account; the nightly job erases it from then (cancel clears it).
    erasure_due_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # May approve a break-glass reveal (app/services/break_glass.py), like an administrator.
    safeguarding_officer: bool = False


class UserSession(SQLModel, table=True):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    user_agent: str = Field(default="", max_length=200)


class ThrottleEvent(SQLModel, table=True):
    """One failed or rate-limited attempt, keyed by what is being limited (account, address…)."""

    __tablename__ = "throttle_event"
    __table_args__ = (Index("ix_throttle_event_key_at", "key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CourseClass(SQLModel, table=True):
    """A class (klas/groep) of students taught by one or more lecturers."""

    __tablename__ = "course_class"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    programme: str = Field(default="", max_length=120)
    academic_year: str = Field(default="", max_length=20)
    join_code: str | None = Field(default=None, max_length=20, unique=True)
    # Answers to a prompt are shown to lecturers only when at least this many students submitted.
    min_group_size: int = Field(default=5, ge=3)
    # One pseudonym per student across all prompts of the class (off: a new pseudonym per prompt).
    shared_pseudonyms: bool = False
    # When a module counts as complete for the gradebook (app/services/assessment.py): "" (not sent),
    # "submitted" (every reflection submitted) or "assessed" (submitted and given a level).
    completion_rule: str = Field(default="", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    archived_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Raised by triggers (migration i19_a1) whenever what the rounds of k release can change: a
    # submission, an answer or revision removed, a student's address confirmed. Caches key on it.
    work_version: int = 0


class ClassLecturer(SQLModel, table=True):
    __tablename__ = "class_lecturer"

    class_id: int = Field(foreign_key="course_class.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")


class Enrolment(SQLModel, table=True):
    class_id: int = Field(foreign_key="course_class.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Assignment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("class_id", "module_slug", name="uq_assignment_class_module"),)

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    module_slug: str = Field(max_length=60, index=True)
    opens_on: date | None = None
    due_on: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # The time on the school's clock on due_on (None: the end of the day, 23:59); extensions keep it.
    due_time: time | None = None


class Extension(SQLModel, table=True):
    """A later due date for one student on one assignment."""

    assignment_id: int = Field(foreign_key="assignment.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    due_on: date


class Invitation(SQLModel, table=True):
    """A roster line: this person may join this class through the link they were sent."""

    __table_args__ = (UniqueConstraint("class_id", "email", name="uq_invitation_class_email"),)

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=254)
    display_name: str = Field(max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


# -- a student's work -------------------------------------------------------------------------


class SectionVisit(SQLModel, table=True):
    __tablename__ = "section_visit"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    module_slug: str = Field(max_length=60, primary_key=True)
    section_id: str = Field(max_length=60, primary_key=True)
    visited_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Answer(SQLModel, table=True):
    """A student's reflection on one prompt: the working text, saved as they type."""

    # One answer per student, class and prompt: a student in two classes with the same module writes
    # once per class. class_id is None for text written outside any class (never in a review).
    __table_args__ = (
        UniqueConstraint("user_id", "class_id", "module_slug", "prompt_id", name="uq_answer_user_class_prompt"),
        Index("ix_answer_class_id", "class_id", "module_slug", "prompt_id"),
        Index(
            "uq_answer_no_class_prompt",
            "user_id",
            "module_slug",
            "prompt_id",
            unique=True,
            sqlite_where=sql_text("class_id IS NULL"),
            postgresql_where=sql_text("class_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # The class the answer was written for (docs/privacy.md): only that class's review shows it.
    class_id: int | None = Field(default=None, foreign_key="course_class.id", ondelete="CASCADE")
    module_slug: str = Field(max_length=60, index=True)
    prompt_id: str = Field(max_length=60)
    # Stored encrypted (app/crypto.py), as are the revisions and feedback: never searched in SQL.
    text: str = Field(default="", sa_type=EncryptedText("answer.text"))
    # Raised on every save: a save based on an older version is a conflict, never an overwrite.
    version: int = 0
    module_version: str = Field(default="", max_length=40)
    prompt_hash: str = Field(default="", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    submitted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)


class AnswerRevision(SQLModel, table=True):
    """What was shared with the lecturers at each submission; never changed afterwards."""

    __tablename__ = "answer_revision"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    text: str = Field(sa_type=EncryptedText("answer_revision.text"))
    module_version: str = Field(max_length=40)
    prompt_hash: str = Field(max_length=16)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class VignetteRun(SQLModel, table=True):
    """One walk through a vignette: the choices made, in order, and the ending reached."""

    __tablename__ = "vignette_run"
    __table_args__ = (Index("ix_vignette_run_user_vignette", "user_id", "module_slug", "vignette_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    module_slug: str = Field(max_length=60)
    vignette_id: str = Field(max_length=60)
    # JSON list of [step_id, choice_index] pairs.
    path: str = Field(default="[]", sa_type=Text)
    ending_id: str | None = Field(default=None, max_length=60)
    started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CheckAnswer(SQLModel, table=True):
    __tablename__ = "check_answer"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    module_slug: str = Field(max_length=60, primary_key=True)
    check_id: str = Field(max_length=60, primary_key=True)
    selected: str = Field(max_length=200)  # comma-separated option indexes
    correct: bool
    answered_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ProgressSummary(SQLModel, table=True):
    """How many of a module's steps a student has done, kept as they work (app/services/progress_summary.py).

    Derived from section_visit, answer, vignette_run and check_answer, never a source of truth: triggers
    on those tables mark a row stale (`fingerprint` empty) on any change that can move a count.
    """

    __tablename__ = "progress_summary"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    module_slug: str = Field(max_length=60, primary_key=True)
    # The module's steps_fingerprint the counts were made for; empty: stale, count again.
    fingerprint: str = Field(default="", max_length=16)
    sections: int = 0
    prompts: int = 0
    vignettes: int = 0
    checks: int = 0


class Feedback(SQLModel, table=True):
    """A lecturer's feedback on a submitted answer, and the student's one reply."""

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    revision_id: int = Field(foreign_key="answer_revision.id", ondelete="CASCADE")
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    text: str = Field(sa_type=EncryptedText("feedback.text"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reply_text: str | None = Field(default=None, sa_type=EncryptedText("feedback.reply_text"))
    replied_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reply_read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class DiscussionMark(SQLModel, table=True):
    """A lecturer marked this answer to discuss in class (anonymously)."""

    __tablename__ = "discussion_mark"

    class_id: int = Field(foreign_key="course_class.id", primary_key=True, ondelete="CASCADE")
    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Assessment(SQLModel, table=True):
    """The level(s) a lecturer gave one submitted answer against the prompt's rubric.

    Never updated: a change is a new row, so the history of an assessment is kept; the latest row per
    answer is the current assessment. `levels` is JSON {criterion id: level id}."""

    __table_args__ = (Index("ix_assessment_class_answer", "class_id", "answer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    revision_id: int = Field(foreign_key="answer_revision.id", ondelete="CASCADE")
    class_id: int = Field(foreign_key="course_class.id", ondelete="CASCADE")
    assessor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    rubric_id: str = Field(max_length=60)
    rubric_version: str = Field(default="", max_length=40)
    levels: str = Field(default="{}", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ExternalIdentity(SQLModel, table=True):
    """An identity at an institution's provider (OIDC issuer, LTI platform) that signs in as this user.

    Keyed on (issuer, subject), never on email. Data-minimal: besides the key only when it was first and
    last used, and whether the released affiliation makes the person eligible to become a lecturer."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identity_issuer_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # Staff affiliation released by the institution: may be made a lecturer (never automatically).
    lecturer_eligible: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# -- LTI 1.3 (app/lti): platforms that launch Nabij, the tool's keys, and what launches map to ---------


class LtiPlatform(SQLModel, table=True):
    """One LMS registration: a platform (issuer + client id) and one of its deployments."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id", "deployment_id", name="uq_lti_platform_deployment"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=120)
    issuer: str = Field(max_length=255, index=True)
    client_id: str = Field(max_length=255)
    deployment_id: str = Field(max_length=255)
    auth_login_url: str = Field(sa_type=Text)
    auth_token_url: str = Field(sa_type=Text)
    jwks_url: str = Field(sa_type=Text)
    # Further origins whose pages frame Nabij (space-separated), e.g. a school's own Canvas domain when
    # the issuer is canvas.instructure.com.
    frame_origins: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class LtiKey(SQLModel, table=True):
    """The tool's own signing keys; a retired key stays in the JWKS until its tokens have expired."""

    __tablename__ = "lti_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    private_jwk: str = Field(sa_type=EncryptedText("lti_key.private_jwk"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    retired_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LtiLogin(SQLModel, table=True):
    """One OIDC login initiation: its state and nonce, each usable for exactly one launch."""

    __tablename__ = "lti_login"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    nonce: str = Field(max_length=64, unique=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True, ondelete="CASCADE")
    # What the platform sent, to start the login again in a new window (third-party cookies blocked).
    login_hint: str = Field(default="", sa_type=Text)
    message_hint: str = Field(default="", sa_type=Text)
    target_link_uri: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LtiContext(SQLModel, table=True):
    """An LMS course (context) of one platform registration, and the Nabij class it is."""

    __tablename__ = "lti_context"
    __table_args__ = (UniqueConstraint("platform_id", "context_id", name="uq_lti_context_platform_context"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True, ondelete="CASCADE")
    context_id: str = Field(max_length=255)
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    memberships_url: str = Field(default="", sa_type=Text)
    synced_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class LtiResourceLink(SQLModel, table=True):
    """A placement of Nabij in an LMS course, the assignment it opens, and its gradebook column."""

    __tablename__ = "lti_resource_link"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id", name="uq_lti_resource_link_platform_link"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True, ondelete="CASCADE")
    lti_context_id: int = Field(foreign_key="lti_context.id", index=True, ondelete="CASCADE")
    resource_link_id: str = Field(max_length=255)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True, ondelete="SET NULL")
    lineitem_url: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class LtiGradePost(SQLModel, table=True):
    """The completion last sent to a gradebook column for one student: a job sends only changes."""

    __tablename__ = "lti_grade_post"

    resource_link_id: int = Field(foreign_key="lti_resource_link.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")
    score: float
    posted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# -- notifications and calendar feeds (issue 21) ----------------------------------------------


class Notification(SQLModel, table=True):
    """Something a person should know: shown in the app, mailed at once, in a digest or not at all.

    `data` is JSON with ids and counts only; the text is written when shown, in the reader's language.
    A notice to a lecturer about students' work never holds a student's id (app/services/notifications.py).
    `key` makes creating a notice idempotent (a job may run twice)."""

    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    key: str = Field(max_length=200)
    data: str = Field(default="{}", sa_type=Text)
    link: str = Field(default="/", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # When it went out by mail (at once or in a digest); also set when mail was off for it, so a digest never picks it up.
    mailed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class NotificationSetting(SQLModel, table=True):
    """How one person wants one kind by mail: "now", "digest" or "off" (no row: the kind's default)."""

    __tablename__ = "notification_setting"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(max_length=32, primary_key=True)
    mode: str = Field(max_length=8)


class FeedbackMessage(SQLModel, table=True):
    """One message of the dialogue under a piece of feedback, after the student's first reply (issue 21).

    The lecturer sees a student's message only once it is released in a round of k students writing on
    the same prompt (app/services/dialogue.py); the student sees the lecturer by name."""

    __tablename__ = "feedback_message"

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(foreign_key="feedback.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    from_student: bool
    text: str = Field(sa_type=EncryptedText("feedback_message.text"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    edited_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CalendarFeed(SQLModel, table=True):
    """A personal iCalendar feed: the secret URL holds a random token, only its SHA-256 is stored."""

    __tablename__ = "calendar_feed"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# -- the access log and break-glass reveals (issue 13) ------------------------------------------


class AccessLog(SQLModel, table=True):
    """A lecturer read the answers to a prompt of a class (review page or export) on a day, or revealed
    an author (break-glass). Read rows hold no student's id: a student is shown the rows of the prompts
    they had answered by that day (app/services/access_log.py). `key` deduplicates a day's reads."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_class_prompt", "class_id", "module_slug", "prompt_id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)  # "read", "export" or "reveal"
    lecturer_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    class_id: int = Field(foreign_key="course_class.id", ondelete="CASCADE")
    module_slug: str = Field(max_length=60)
    prompt_id: str = Field(max_length=60)
    day: date
    # Only on a reveal: whose name was shown.
    student_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class RevealRequest(SQLModel, table=True):
    """A lecturer asks to reveal who wrote an answer, for safeguarding; a second person decides."""

    __tablename__ = "reveal_request"

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    revision_id: int = Field(foreign_key="answer_revision.id", ondelete="CASCADE")
    module_slug: str = Field(max_length=60)
    prompt_id: str = Field(max_length=60)
    requester_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    reason: str = Field(sa_type=EncryptedText("reveal_request.reason"))
    status: str = Field(default="pending", max_length=12, index=True)  # pending, approved, refused
    decided_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


__all__ = [
    "AccessLog",
    "Answer",
    "AnswerRevision",
    "Assessment",
    "Assignment",
    "CalendarFeed",
    "CheckAnswer",
    "ClassLecturer",
    "CourseClass",
    "DiscussionMark",
    "Enrolment",
    "Extension",
    "ExternalIdentity",
    "Feedback",
    "FeedbackMessage",
    "Invitation",
    "LtiContext",
    "LtiGradePost",
    "LtiKey",
    "LtiLogin",
    "LtiPlatform",
    "LtiResourceLink",
    "Notification",
    "NotificationSetting",
    "PasswordReset",
    "RevealRequest",
    "Role",
    "SectionVisit",
    "ThrottleEvent",
    "User",
    "UserSession",
    "VignetteRun",
    "aware",
    "utcnow",
]
