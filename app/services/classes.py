"""Classes, join codes, enrolments and assignments."""

from __future__ import annotations

import secrets
from datetime import date

from sqlmodel import Session, col, select

from app.models import Assignment, ClassLecturer, CourseClass, Enrolment, User

# No 0/O, 1/I/L: codes are read aloud in class and typed from a projector.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_join_code(code: str | None) -> str:
    return f"{code[:4]}-{code[4:]}" if code else ""


def create_class(session: Session, *, name: str, lecturer: User, programme: str = "",
                 academic_year: str = "") -> CourseClass:
    course_class = CourseClass(name=name.strip(), programme=programme.strip(),
                               academic_year=academic_year.strip(), join_code=new_join_code())
    session.add(course_class)
    session.flush()
    session.add(ClassLecturer(class_id=course_class.id, user_id=lecturer.id))
    session.commit()
    session.refresh(course_class)
    return course_class


def class_by_join_code(session: Session, code: str) -> CourseClass | None:
    normalised = normalise_join_code(code)
    if len(normalised) != JOIN_CODE_LENGTH:
        return None
    return session.exec(select(CourseClass).where(CourseClass.join_code == normalised,
                                                  col(CourseClass.archived_at).is_(None))).first()


def enrol(session: Session, *, course_class: CourseClass, student: User) -> bool:
    """Enrol a student; False when they already were."""
    if session.get(Enrolment, (course_class.id, student.id)) is not None:
        return False
    session.add(Enrolment(class_id=course_class.id, user_id=student.id))
    session.commit()
    return True


def assign(session: Session, *, course_class: CourseClass, module_slug: str, due_on: date,
           opens_on: date | None = None) -> Assignment:
    existing = session.exec(select(Assignment).where(Assignment.class_id == course_class.id,
                                                     Assignment.module_slug == module_slug)).first()
    assignment = existing or Assignment(class_id=course_class.id, module_slug=module_slug, due_on=due_on)
    assignment.due_on = due_on
    assignment.opens_on = opens_on
    session.add(assignment)
    session.commit()
    session.refresh(assignment)
    return assignment
