"""Classes and their join codes, lecturers and students."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import gettext as _
from app.models import (
    ClassLecturer,
    CourseClass,
    Enrolment,
    Invitation,
    Role,
    User,
    stored_id,
    utcnow,
)
from app.services import notifications
from app.services.errors import FieldError

# No 0/O, 1/I/L: codes are read aloud in class and typed from a projector.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8
# Answers are shown only when at least this many students submitted; a class may ask for more, never less.
MIN_GROUP_SIZE = 3
MAX_GROUP_SIZE = 50
LIMITS = {"name": 120, "programme": 120, "academic_year": 20}


class ClassError(FieldError):
    """A refusal about classes (app/services/errors.py)."""


class ArchivedClassError(ClassError):
    """The class is archived, so this change is refused (the web answers 409, the CLI one error line)."""


def ensure_writable(course_class: CourseClass) -> CourseClass:
    """The one statement of the rule that an archived class is read-only: every change to a class, from the
    web (app/access.py) or the CLI, passes here first."""
    if course_class.archived_at is not None:
        raise ArchivedClassError(
            "class",
            _("This class is archived: it can be read but not changed. Restore it under Settings to make changes."),
        )
    return course_class


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_join_code(code: str | None) -> str:
    return f"{code[:4]}-{code[4:]}" if code else ""


def _unused_join_code(session: Session) -> str:
    while True:  # 31^8 codes: a clash is practically impossible, but cheap to rule out
        code = new_join_code()
        if session.exec(select(CourseClass.id).where(col(CourseClass.join_code) == code)).first() is None:
            return code


# -- classes ------------------------------------------------------------------------------------


def class_field_errors(*, name: str, programme: str = "", academic_year: str = "") -> dict[str, str]:
    values = {"name": name.strip(), "programme": programme.strip(), "academic_year": academic_year.strip()}
    errors = {
        field: _("Use at most %(num)s characters.") % {"num": limit}
        for field, limit in LIMITS.items()
        if len(values[field]) > limit
    }
    for field, value in values.items():
        if field not in errors and any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
            # The name goes into mail subjects, where a line break is refused.
            errors[field] = _("Write it on one line, without line breaks.")
    if not values["name"]:
        errors["name"] = _("Give the class a name.")
    return errors


def can_teach(user: User | None) -> bool:
    """The one rule of who may teach a class (create it, be added to it): an active lecturer or administrator.
    create_class and add_lecturer check it, so the web and `nabij class create` cannot disagree."""
    return user is not None and user.is_active and user.role in (Role.LECTURER, Role.ADMIN)


def create_class(
    session: Session, *, name: str, lecturer: User, programme: str = "", academic_year: str = ""
) -> CourseClass:
    if not can_teach(lecturer):
        raise ClassError("lecturer", _("Only an active lecturer or administrator account can teach a class."))
    errors = class_field_errors(name=name, programme=programme, academic_year=academic_year)
    if errors:
        field = next(iter(errors))
        raise ClassError(field, errors[field])
    course_class = CourseClass(
        name=name.strip(),
        programme=programme.strip(),
        academic_year=academic_year.strip(),
        join_code=_unused_join_code(session),
    )
    session.add(course_class)
    session.flush()
    session.add(ClassLecturer(class_id=stored_id(course_class), user_id=stored_id(lecturer)))
    session.commit()
    session.refresh(course_class)
    return course_class


def update_class(
    session: Session,
    *,
    course_class: CourseClass,
    name: str,
    programme: str,
    academic_year: str,
    min_group_size: int,
    shared_pseudonyms: bool | None = None,
) -> CourseClass:
    ensure_writable(course_class)
    errors = class_field_errors(name=name, programme=programme, academic_year=academic_year)
    if errors:
        field = next(iter(errors))
        raise ClassError(field, errors[field])
    check_group_size(min_group_size)
    course_class.name = name.strip()
    course_class.programme = programme.strip()
    course_class.academic_year = academic_year.strip()
    course_class.min_group_size = min_group_size
    if shared_pseudonyms is not None:
        course_class.shared_pseudonyms = shared_pseudonyms
    session.add(course_class)
    session.commit()
    session.refresh(course_class)
    return course_class


def parse_group_size(value: str) -> int:
    try:
        size = int(value.strip())
    except ValueError:
        raise ClassError("min_group_size", _("Fill in a whole number.")) from None
    return check_group_size(size)


def check_group_size(size: int) -> int:
    """A class may ask for more answers per round than the minimum (k), never fewer."""
    if size < MIN_GROUP_SIZE:
        raise ClassError(
            "min_group_size",
            _("Use at least %(num)s: fewer answers could reveal who wrote them.") % {"num": MIN_GROUP_SIZE},
        )
    if size > MAX_GROUP_SIZE:
        raise ClassError("min_group_size", _("Use at most %(num)s.") % {"num": MAX_GROUP_SIZE})
    return size


def taught_class(session: Session, *, user: User, class_id: int, as_lecturer: bool = False) -> CourseClass | None:
    """The class if this user teaches it (administrators reach every class to manage it), else None.

    `as_lecturer`: only if the user is one of the class's lecturers, administrators included (for the
    review and the progress matrix, which an administrator reads only as a lecturer of the class)."""
    if user.role == Role.ADMIN and not as_lecturer:
        return session.get(CourseClass, class_id)
    if user.role not in (Role.LECTURER, Role.ADMIN):
        return None
    return session.exec(
        select(CourseClass)
        .join(ClassLecturer, col(ClassLecturer.class_id) == col(CourseClass.id))
        .where(col(CourseClass.id) == class_id, col(ClassLecturer.user_id) == user.id)
    ).first()


def _saved(session: Session, course_class: CourseClass) -> CourseClass:
    session.add(course_class)
    session.commit()
    session.refresh(course_class)
    return course_class


def rotate_join_code(session: Session, *, course_class: CourseClass) -> CourseClass:
    """A new code (also to open a closed class again): the old code stops working at once."""
    course_class.join_code = _unused_join_code(session)
    return _saved(session, course_class)


def close_join_code(session: Session, *, course_class: CourseClass) -> CourseClass:
    course_class.join_code = None
    return _saved(session, course_class)


def archive_class(session: Session, *, course_class: CourseClass) -> CourseClass:
    """Archived classes are read-only: no one joins, nothing is assigned or changed."""
    course_class.archived_at = utcnow()
    course_class.join_code = None
    return _saved(session, course_class)


def restore_class(session: Session, *, course_class: CourseClass) -> CourseClass:
    """Back in use; the join code stays closed until a lecturer opens it with a new code."""
    course_class.archived_at = None
    return _saved(session, course_class)


def class_by_join_code(session: Session, code: str) -> CourseClass | None:
    normalised = normalise_join_code(code)
    if len(normalised) != JOIN_CODE_LENGTH:
        return None
    return session.exec(
        select(CourseClass).where(col(CourseClass.join_code) == normalised, col(CourseClass.archived_at).is_(None))
    ).first()


# -- lecturers ----------------------------------------------------------------------------------


def class_lecturers(session: Session, *, course_class: CourseClass) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(ClassLecturer, col(ClassLecturer.user_id) == col(User.id))
            .where(col(ClassLecturer.class_id) == course_class.id)
            .order_by(col(User.display_name))
        )
    )


def add_lecturer(session: Session, *, course_class: CourseClass, email: str) -> User:
    from app.services.accounts import find_by_email

    if not email.strip():
        raise ClassError("email", _("Fill in the email address of a lecturer."))
    user = find_by_email(session, email)
    if user is None or not can_teach(user):  # "is None" narrows the type for what follows
        raise ClassError(
            "email", _("There is no lecturer account with this email address. An administrator can create one.")
        )
    if session.get(ClassLecturer, (course_class.id, user.id)) is not None:
        raise ClassError("email", _("%(name)s already teaches this class.") % {"name": user.display_name})
    session.add(ClassLecturer(class_id=stored_id(course_class), user_id=stored_id(user)))
    session.commit()
    return user


def remove_lecturer(session: Session, *, course_class: CourseClass, user_id: int) -> bool:
    """False when this is not a lecturer of the class; a class always keeps at least one lecturer."""
    link = session.get(ClassLecturer, (course_class.id, user_id))
    if link is None:
        return False
    count = session.exec(
        select(func.count()).select_from(ClassLecturer).where(col(ClassLecturer.class_id) == course_class.id)
    ).one()
    if count <= 1:
        raise ClassError("lecturer", _("A class needs at least one lecturer."))
    session.delete(link)
    session.commit()
    return True


# -- students -----------------------------------------------------------------------------------


def enrol(session: Session, *, course_class: CourseClass, student: User) -> bool:
    """Enrol a student; False when they already were."""
    if session.get(Enrolment, (course_class.id, student.id)) is not None:
        return False
    session.add(Enrolment(class_id=stored_id(course_class), user_id=stored_id(student)))
    notifications.on_class_members(session, class_id=stored_id(course_class))
    session.commit()
    return True


def class_students(session: Session, *, course_class: CourseClass) -> list[User]:
    """The students of a class, by name: for roster and progress pages, never for review pages."""
    return list(
        session.exec(
            select(User)
            .join(Enrolment, col(Enrolment.user_id) == col(User.id))
            .where(col(Enrolment.class_id) == course_class.id)
            .order_by(func.lower(User.display_name), col(User.id))
        )
    )


def is_enrolled(session: Session, *, course_class: CourseClass, user_id: int) -> bool:
    return session.get(Enrolment, (course_class.id, user_id)) is not None


def pending_invitations(session: Session, *, course_class: CourseClass) -> list[Invitation]:
    return list(
        session.exec(
            select(Invitation)
            .where(col(Invitation.class_id) == course_class.id, col(Invitation.accepted_at).is_(None))
            .order_by(func.lower(Invitation.display_name))
        )
    )


def withdraw_invitation(session: Session, *, course_class: CourseClass, invitation_id: int) -> bool:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.class_id != course_class.id or invitation.accepted_at is not None:
        return False
    session.delete(invitation)
    session.commit()
    return True
