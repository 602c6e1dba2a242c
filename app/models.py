"""Database tables. The schema itself is made only by the Alembic migrations in migrations/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Index, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they are always stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    archived_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


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
    __table_args__ = (UniqueConstraint("user_id", "class_id", "module_slug", "prompt_id",
                                       name="uq_answer_user_class_prompt"),
                      Index("ix_answer_class_id", "class_id", "module_slug", "prompt_id"),
                      Index("uq_answer_no_class_prompt", "user_id", "module_slug", "prompt_id", unique=True,
                            sqlite_where=sql_text("class_id IS NULL"), postgresql_where=sql_text("class_id IS NULL")))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # The class the answer was written for (docs/privacy.md): only that class's review shows it.
    class_id: int | None = Field(default=None, foreign_key="course_class.id", ondelete="CASCADE")
    module_slug: str = Field(max_length=60, index=True)
    prompt_id: str = Field(max_length=60)
    text: str = Field(default="", sa_type=Text)
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
    text: str = Field(sa_type=Text)
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


class Feedback(SQLModel, table=True):
    """A lecturer's feedback on a submitted answer, and the student's one reply."""

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True, ondelete="CASCADE")
    revision_id: int = Field(foreign_key="answer_revision.id", ondelete="CASCADE")
    class_id: int = Field(foreign_key="course_class.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reply_text: str | None = Field(default=None, sa_type=Text)
    replied_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reply_read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class DiscussionMark(SQLModel, table=True):
    """A lecturer marked this answer to discuss in class (anonymously)."""

    __tablename__ = "discussion_mark"

    class_id: int = Field(foreign_key="course_class.id", primary_key=True, ondelete="CASCADE")
    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
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


__all__ = [
    "Answer",
    "AnswerRevision",
    "Assignment",
    "CheckAnswer",
    "DiscussionMark",
    "Extension",
    "ExternalIdentity",
    "Feedback",
    "Invitation",
    "SectionVisit",
    "VignetteRun",
    "ClassLecturer",
    "CourseClass",
    "Enrolment",
    "PasswordReset",
    "Role",
    "ThrottleEvent",
    "User",
    "UserSession",
    "aware",
    "utcnow",
]
