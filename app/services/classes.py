"""Classes, join codes, lecturers, enrolments, assignments and extensions."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.content.model import Module
from app.i18n import gettext as _
from app.models import (
    SCHOOL_ZONE,
    Assignment,
    ClassLecturer,
    CourseClass,
    Enrolment,
    Extension,
    Invitation,
    Role,
    User,
    primary_key,
    school_today,
    stored_id,
    utcnow,
)
from app.services import notifications, spreadsheet
from app.services.errors import FieldError
from app.services.paging import Page, paginate
from app.services.progress import ProgressCounts, percent_done, progress_counts

# No 0/O, 1/I/L: codes are read aloud in class and typed from a projector.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8
# Answers are shown only when at least this many students submitted; a class may ask for more, never less.
MIN_GROUP_SIZE = 3
MAX_GROUP_SIZE = 50
LIMITS = {"name": 120, "programme": 120, "academic_year": 20}


class ClassError(FieldError):
    """A refusal about classes (app/services/errors.py)."""


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


def create_class(
    session: Session, *, name: str, lecturer: User, programme: str = "", academic_year: str = ""
) -> CourseClass:
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
    if user is None or not user.is_active or user.role not in (Role.LECTURER, Role.ADMIN):
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


# -- progress overview --------------------------------------------------------------------------
# Names appear here (progress is not content), so the matrix shows only what a lecturer needs to act
# on, and nothing that changes faster than the review: started, sections read, checks done, whether
# all reflections are in (as released in rounds of k, the same moment the review shows them), late.
# No per-prompt detail, no times, no vignette walks (docs/privacy.md, section 1).

PROGRESS_SORTS = ("name", "-name", "progress", "-progress")
PROGRESS_FILTERS = ("all", "not-started", "late")
PROGRESS_PER_PAGE = 50


class ProgressCell:
    """One student in one assigned module; everything the matrix shows is worked out once, here."""

    __slots__ = (
        "assignment",
        "complete",
        "due_on",
        "extended",
        "is_open",
        "late",
        "module",
        "not_started",
        "percent",
        "progress",
        "reflections_done",
        "started",
    )

    def __init__(
        self,
        assignment: Assignment,
        module: Module,
        progress: ProgressCounts,
        *,
        due_on: date,
        extended: bool,
        today: date,
        reflections_done: bool = False,
    ) -> None:
        self.assignment = assignment
        self.module = module
        self.progress = progress
        self.due_on = due_on  # with the student's extension, if any
        self.extended = extended
        self.reflections_done = reflections_done  # every prompt's answer released in a round of k
        # Started: a section read or a check answered (a submission alone never shows here).
        self.started = bool(progress.sections or progress.checks)
        sections, checks, prompts = len(module.sections), len(module.checks), len(module.reflections)
        total = sections + checks + prompts
        done = progress.sections + progress.checks + (prompts if reflections_done else 0)
        self.complete = reflections_done and progress.sections >= sections and progress.checks >= checks
        self.percent = percent_done(done, total, self.complete)
        self.is_open = assignment.opens_on is None or assignment.opens_on <= today
        self.late = due_on < today and not reflections_done
        self.not_started = self.is_open and not self.started


class StudentRow(NamedTuple):
    """The columns of a student that class_progress loads (no ORM objects for a whole lecture hall)."""

    id: int
    display_name: str
    email: str
    email_verified_at: datetime | None


class ProgressRow:
    __slots__ = ("cells", "late", "not_started", "percent", "student")

    def __init__(self, student: StudentRow, cells: list[ProgressCell]) -> None:
        self.student = student
        self.cells = cells
        self.percent = round(sum(cell.percent for cell in cells) / len(cells)) if cells else 0
        self.late = any(cell.late for cell in cells)
        self.not_started = any(cell.not_started for cell in cells)


@dataclass(frozen=True)
class ClassProgress:
    assigned: list[tuple[Assignment, Module]]
    page: Page[ProgressRow]  # the rows shown; page.total: how many match the filter, on all pages
    students: int  # in the class
    sort: str
    show: str
    verified: int = 0  # students whose address is confirmed: only they count towards k

    @property
    def rows(self) -> Sequence[ProgressRow]:
        return self.page.items


def released_reflections(
    session: Session, *, course_class: CourseClass, modules: Sequence[Module]
) -> set[tuple[int, str]]:
    """The (student, module) pairs whose answers to every prompt of the module are in the class's
    review, released in rounds of k exactly as the review releases them: one query."""
    from app.models import Answer, AnswerRevision
    from app.services.kgate import k_of, rounds

    if not modules:
        return set()
    first = func.min(AnswerRevision.submitted_at)
    rows = session.execute(
        sa_select(
            col(Answer.id),
            col(Answer.user_id),
            col(Answer.module_slug),
            col(Answer.prompt_id),
            first,
            col(User.email_verified_at),
        )
        .join(AnswerRevision, col(AnswerRevision.answer_id) == col(Answer.id))
        .join(User, col(User.id) == col(Answer.user_id))
        .where(
            col(Answer.class_id) == course_class.id,
            col(Answer.module_slug).in_([m.slug for m in modules]),
            col(User.email_verified_at).is_not(None),
        )
        .group_by(
            col(Answer.id),
            col(Answer.user_id),
            col(Answer.module_slug),
            col(Answer.prompt_id),
            col(User.email_verified_at),
        )
    ).all()
    by_prompt: dict[tuple[str, str], list] = {}
    owner: dict[Hashable, int] = {}  # answer id -> its author; the keys rounds() hands back
    for answer_id, user_id, slug, prompt_id, first_at, verified_at in rows:
        owner[answer_id] = user_id
        by_prompt.setdefault((slug, prompt_id), []).append((answer_id, max(_aware(first_at), _aware(verified_at))))
    k = k_of(course_class)
    released: dict[str, dict[int, int]] = {}  # slug -> user -> prompts released
    for (slug, _prompt_id), entries in by_prompt.items():
        for answer_id in rounds(entries, k).closed_at:
            per_user = released.setdefault(slug, {})
            per_user[owner[answer_id]] = per_user.get(owner[answer_id], 0) + 1
    done = set()
    for module in modules:
        wanted = len(module.reflections)
        for user_id, count in released.get(module.slug, {}).items():
            if wanted and count >= wanted:
                done.add((user_id, module.slug))
    return done


def _aware(value):
    from app.models import aware

    return aware(value)


def class_progress(
    session: Session,
    *,
    course_class: CourseClass,
    catalogue: Catalogue,
    sort: str = "name",
    show: str = "all",
    page: int | str | None = None,
    per_page: int | None = PROGRESS_PER_PAGE,
    today: date | None = None,
) -> ClassProgress:
    """Students × assigned modules, filtered and sorted over the whole class, then one page of them
    (`per_page=None`: all). Five queries whatever the size of the class."""
    today = today or school_today()
    sort = sort if sort in PROGRESS_SORTS else "name"
    show = show if show in PROGRESS_FILTERS else "all"
    # Only what the matrix shows of a student, in the order of class_students: no ORM objects for a
    # whole lecture hall.
    students = [
        StudentRow(primary_key(user_id), name, email, verified_at)
        for user_id, name, email, verified_at in session.exec(
            select(User.id, User.display_name, User.email, User.email_verified_at)
            .join(Enrolment, col(Enrolment.user_id) == col(User.id))
            .where(col(Enrolment.class_id) == course_class.id)
            .order_by(func.lower(User.display_name), col(User.id))
        )
    ]
    verified = sum(student.email_verified_at is not None for student in students)
    assigned = [
        (assignment, module)
        for assignment in class_assignments(session, course_class=course_class)
        if (module := catalogue.get(assignment.module_slug)) is not None
    ]
    granted = {
        (assignment_id, user_id): due_on
        for assignment_id, user_id, due_on in session.exec(
            select(col(Extension.assignment_id), col(Extension.user_id), col(Extension.due_on))
            .join(Assignment, col(Assignment.id) == col(Extension.assignment_id))
            .where(col(Assignment.class_id) == course_class.id)
        )
    }
    done = released_reflections(session, course_class=course_class, modules=[module for _, module in assigned])

    def rows_of(some: Sequence[StudentRow]) -> list[ProgressRow]:
        counts = progress_counts(
            session, user_ids=[student.id for student in some], modules=[module for _, module in assigned]
        )
        columns = [
            (assignment, module, module.slug, stored_id(assignment), assignment.due_on)
            for assignment, module in assigned
        ]
        rows = []
        for student in some:
            user_id = student.id
            cells = []
            for assignment, module, slug, assignment_id, due_on in columns:
                extension = granted.get((assignment_id, user_id))
                cells.append(
                    ProgressCell(
                        assignment,
                        module,
                        counts[user_id, slug],
                        due_on=extension or due_on,
                        extended=extension is not None,
                        today=today,
                        reflections_done=(user_id, slug) in done,
                    )
                )
            rows.append(ProgressRow(student, cells))
        return rows

    if show == "all" and sort in ("name", "-name") and per_page:
        # The names alone give the order: progress only for the students on the page.
        cut = paginate(students if sort == "name" else students[::-1], page=page, per_page=per_page)
        return ClassProgress(assigned, cut.with_items(rows_of(cut.items)), len(students), sort, show, verified)
    rows = rows_of(students)
    if show == "late":
        rows = [row for row in rows if row.late]
    elif show == "not-started":
        rows = [row for row in rows if row.not_started]
    if sort.endswith("progress"):
        rows.sort(key=lambda row: row.percent, reverse=sort.startswith("-"))  # stable: by name within a percentage
    elif sort == "-name":
        rows.reverse()
    shown = paginate(rows, page=page, per_page=per_page or max(1, len(rows)))
    return ClassProgress(assigned, shown, len(students), sort, show, verified)


PROGRESS_CSV_COLUMNS = (
    "started",
    "sections read",
    "sections total",
    "checks done",
    "checks total",
    "all reflections submitted",
    "due",
    "late",
)


def progress_csv(progress: ClassProgress) -> str:
    """The same facts as the matrix, no more: no per-prompt counts, no times."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["name", "email"]
    for _assignment, module in progress.assigned:
        header += [f"{module.title}: {label}" for label in PROGRESS_CSV_COLUMNS]
    writer.writerow(header)
    yes_no = {True: "yes", False: "no"}
    for row in progress.rows:
        line: list[str | int] = [spreadsheet.cell(row.student.display_name), spreadsheet.cell(row.student.email)]
        for cell in row.cells:
            line += [
                yes_no[cell.started],
                cell.progress.sections,
                len(cell.module.sections),
                cell.progress.checks,
                len(cell.module.checks),
                yes_no[cell.reflections_done] if cell.module.reflections else "",
                cell.due_on.isoformat(),
                yes_no[cell.late],
            ]
        writer.writerow(line)
    return buffer.getvalue()
