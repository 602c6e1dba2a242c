"""Assignments: their dates (one rule for web and CLI), extensions, cancelling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.i18n import gettext as _
from app.models import (
    SCHOOL_ZONE,
    Assignment,
    CourseClass,
    Extension,
    User,
    school_today,
    stored_id,
)
from app.services import notifications
from app.services.classes.core import ClassError, ensure_writable, is_enrolled

# -- assignments --------------------------------------------------------------------------------


def class_assignments(session: Session, *, course_class: CourseClass) -> list[Assignment]:
    return list(
        session.exec(
            select(Assignment)
            .where(col(Assignment.class_id) == course_class.id)
            .order_by(col(Assignment.due_on), col(Assignment.module_slug))
        )
    )


def class_assignment(session: Session, *, course_class: CourseClass, assignment_id: int) -> Assignment | None:
    assignment = session.get(Assignment, assignment_id)
    return assignment if assignment is not None and assignment.class_id == course_class.id else None


def assignment_for_module(session: Session, *, course_class: CourseClass, module_slug: str) -> Assignment | None:
    return session.exec(
        select(Assignment).where(
            col(Assignment.class_id) == course_class.id, col(Assignment.module_slug) == module_slug
        )
    ).first()


def parse_date(value: str, *, field: str, required: bool) -> date | None:
    value = value.strip()
    if not value:
        if required:
            raise ClassError(field, _("Fill in a date."))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ClassError(field, _("Fill in a date like 2026-10-01.")) from None


def check_dates(*, due_on: date, opens_on: date | None, due_changed: bool = True) -> None:
    """The rules for an assignment's dates, for the web and the CLI alike. A due date that is set (not one
    kept unchanged on an assignment that is past due) must be today or later, on the school's calendar."""
    if due_changed and due_on < school_today():
        raise ClassError("due_on", _("The due date has passed. Choose a date from today on."))
    if opens_on is not None and opens_on > due_on:
        raise ClassError("opens_on", _("The opening date must be on or before the due date."))


# A due date without a time is due at the end of that day on the school's clock.
END_OF_DAY = time(23, 59)


def due_moment(due_on: date, due_time: time | None = None) -> datetime:
    """The moment (aware, school zone) an assignment is due: due_on at due_time, else 23:59."""
    return datetime.combine(due_on, due_time or END_OF_DAY, tzinfo=SCHOOL_ZONE)


def parse_time(value: str, *, field: str = "due_time") -> time | None:
    """An optional time like 17:00; empty gives None (the end of the day)."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ClassError(field, _("Fill in a time like 17:00, or leave it empty for 23:59.")) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def assign(
    session: Session,
    *,
    course_class: CourseClass,
    module_slug: str,
    due_on: date,
    opens_on: date | None = None,
    due_time: time | None = None,
) -> Assignment:
    """Assign a module to a class, or change the dates when it is assigned already."""
    ensure_writable(course_class)
    existing = assignment_for_module(session, course_class=course_class, module_slug=module_slug)
    assignment = existing or Assignment(class_id=stored_id(course_class), module_slug=module_slug, due_on=due_on)
    return update_assignment(session, assignment=assignment, due_on=due_on, opens_on=opens_on, due_time=due_time)


def update_assignment(
    session: Session, *, assignment: Assignment, due_on: date, opens_on: date | None, due_time: time | None = None
) -> Assignment:
    check_dates(due_on=due_on, opens_on=opens_on, due_changed=assignment.id is None or assignment.due_on != due_on)
    changed: bool | None = assignment.id is not None  # None: nothing to tell the students
    if changed and (assignment.due_on, assignment.opens_on, assignment.due_time) == (due_on, opens_on, due_time):
        changed = None  # saved unchanged: nothing to tell the students
    assignment.due_on = due_on
    assignment.opens_on = opens_on
    assignment.due_time = due_time
    session.add(assignment)
    if changed is not None:
        notifications.on_assignment(session, assignment, changed=bool(changed))
    session.commit()
    session.refresh(assignment)
    return assignment


def cancel_assignment(session: Session, *, assignment: Assignment) -> None:
    """Students no longer see it; their work in the module stays theirs."""
    session.exec(delete(Extension).where(col(Extension.assignment_id) == assignment.id))
    session.delete(assignment)
    session.commit()


@dataclass(frozen=True)
class GrantedExtension:
    student: User
    due_on: date


def extensions(session: Session, *, assignment: Assignment) -> list[GrantedExtension]:
    rows = session.exec(
        select(Extension, User)
        .join(User, col(User.id) == col(Extension.user_id))
        .where(col(Extension.assignment_id) == assignment.id)
        .order_by(func.lower(User.display_name))
    )
    return [GrantedExtension(user, extension.due_on) for extension, user in rows]


def grant_extension(
    session: Session, *, course_class: CourseClass, assignment: Assignment, user_id: int, due_on: date
) -> Extension:
    if not is_enrolled(session, course_class=course_class, user_id=user_id):
        raise ClassError("student", _("Choose a student of this class."))
    if due_on <= assignment.due_on:
        raise ClassError("extension_due_on", _("An extension must end after the due date of the assignment."))
    extension = session.get(Extension, (assignment.id, user_id)) or Extension(
        assignment_id=stored_id(assignment), user_id=user_id, due_on=due_on
    )
    extension.due_on = due_on
    session.add(extension)
    notifications.on_extension(session, extension)
    session.commit()
    return extension


def remove_extension(session: Session, *, assignment: Assignment, user_id: int) -> None:
    session.exec(
        delete(Extension).where(col(Extension.assignment_id) == assignment.id, col(Extension.user_id) == user_id)
    )
    session.commit()
