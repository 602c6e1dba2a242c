"""Database tables. The schema itself is made only by the Alembic migrations in migrations/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they are always stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


__all__ = [
    "Assignment",
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
