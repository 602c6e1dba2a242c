"""The access log students can see: which lecturers read their class's answers to a prompt, on which day.

A read row is (lecturer, class, module, prompt, day, kind): one per lecturer, prompt and day however often the
page is opened (the unique `key`). It holds no student's id and no page or order: it says that the answers to
that prompt were read, never which answer was on the screen. A student is shown the rows of the prompts they had
submitted an answer to, for that class, by the day of the read. That tells them a little more than happened
(their answer may have been on another page), never less. Reveals (break-glass, app/services/break_glass.py) are
rows with the student's id.

Only the student concerned (on Account, in their export) and administrators (per class) see the log; a lecturer
never does, so it cannot tell them who wrote what. Rows go with the answers of an archived class
(app/services/retention.py) and are exported with "my data" (app/services/export.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models import AccessLog, Answer, AnswerRevision, CourseClass, User, school_day, school_today, stored_id, utcnow

log = logging.getLogger("nabij.access_log")

READ, EXPORT, REVEAL = "read", "export", "reveal"


def prompt_title(catalogue, module_slug: str, prompt_id: str) -> str:
    """ "Module · question" as students and admins read it (the ids when the module is gone)."""
    module = catalogue.get(module_slug) if catalogue is not None else None
    prompt = module.reflections.get(prompt_id) if module else None
    if module is None:
        return f"{module_slug} · {prompt_id}"
    return f"{module.title} · {(prompt.title if prompt else None) or prompt_id}"


def _add_once(session: Session, row: AccessLog) -> None:
    """Insert the row unless its key is there already (two requests at once: the second is a no-op)."""
    if session.exec(select(AccessLog.id).where(col(AccessLog.key) == row.key)).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # the same read, logged by a concurrent request


def unrecorded_read(
    session: Session, *, reader: User, review, kind: str = READ, today: date | None = None
) -> AccessLog | None:
    """The log line saying that `reader` saw the answers of a prompt review (a page, a card or an
    export), unless it is logged already today; store it with `record` in a write (app.db.write_for:
    the review pages only read, and most views are not the day's first).

    None too when the review showed no answers (fewer than k): nothing was read."""
    if not review.visible or not review.answers:
        return None
    day = today or school_today()
    course_class = review.course_class
    key = f"{kind}:{reader.id}:{course_class.id}:{review.module.slug}:{review.reflection.id}:{day.isoformat()}"
    if session.exec(select(AccessLog.id).where(col(AccessLog.key) == key)).first() is not None:
        return None
    return AccessLog(
        key=key,
        kind=kind,
        lecturer_id=reader.id,
        class_id=course_class.id,
        module_slug=review.module.slug,
        prompt_id=review.reflection.id,
        day=day,
    )


def record(session: Session, row: AccessLog) -> None:
    """Store a line from unrecorded_read (not committed here); a concurrent request may have stored it first."""
    _add_once(session, row)


def record_reveal(
    session: Session,
    *,
    request_id: int,
    lecturer_id: int | None,
    class_id: int,
    module_slug: str,
    prompt_id: str,
    student_id: int,
    now: datetime | None = None,
) -> None:
    """Log a break-glass reveal (not committed: part of the approval's transaction)."""
    _add_once(
        session,
        AccessLog(
            key=f"reveal:{request_id}",
            kind=REVEAL,
            lecturer_id=lecturer_id,
            class_id=class_id,
            module_slug=module_slug,
            prompt_id=prompt_id,
            day=school_day(now or utcnow()),
            student_id=student_id,
        ),
    )


# -- what a student sees -------------------------------------------------------------------------------


@dataclass
class StudentEntry:
    """Your answers to `prompt_id` of a module in `class_name` were read on `day` by `lecturers`."""

    class_id: int
    class_name: str
    module_slug: str
    prompt_id: str
    day: date
    kind: str
    lecturers: list[str] = field(default_factory=list)
    prompt_title: str = ""


def _first_submissions(session: Session, *, user_id: int) -> dict[tuple[int, str, str], date]:
    """(class, module, prompt) -> the school day the student first submitted an answer there."""
    rows = session.exec(
        select(Answer.class_id, Answer.module_slug, Answer.prompt_id, func.min(AnswerRevision.submitted_at))
        .join(AnswerRevision, col(AnswerRevision.answer_id) == col(Answer.id))
        .where(col(Answer.user_id) == user_id, col(Answer.class_id).is_not(None))
        .group_by(col(Answer.class_id), col(Answer.module_slug), col(Answer.prompt_id))
    ).all()
    return {
        (class_id, slug, prompt): school_day(first) for class_id, slug, prompt, first in rows if class_id is not None
    }  # as the query asks


def for_student(session: Session, *, user: User, catalogue=None) -> list[StudentEntry]:
    """The reads of this student's answers and the reveals of their name, newest day first; per
    (class, prompt, day, kind) the names of the lecturers, alphabetically (never who read first)."""
    submitted = _first_submissions(session, user_id=stored_id(user))
    if not submitted:
        return []
    class_ids = sorted({class_id for class_id, _s, _p in submitted})
    rows = session.exec(
        select(AccessLog, User.display_name, CourseClass.name)
        .join(CourseClass, col(CourseClass.id) == col(AccessLog.class_id))
        .outerjoin(User, col(User.id) == col(AccessLog.lecturer_id))
        .where(col(AccessLog.class_id).in_(class_ids))
    ).all()
    grouped: dict[tuple, StudentEntry] = {}
    for row, lecturer_name, class_name in rows:
        first = submitted.get((row.class_id, row.module_slug, row.prompt_id))
        if first is None or row.day < first:
            continue  # the student had not answered that prompt yet
        if row.kind == REVEAL and row.student_id != user.id:
            continue  # someone else's name was revealed
        kind = REVEAL if row.kind == REVEAL else READ
        entry = grouped.setdefault(
            (row.class_id, row.module_slug, row.prompt_id, row.day, kind),
            StudentEntry(
                row.class_id,
                class_name,
                row.module_slug,
                row.prompt_id,
                row.day,
                kind,
                prompt_title=prompt_title(catalogue, row.module_slug, row.prompt_id),
            ),
        )
        name = lecturer_name or ""  # an erased lecturer (the template says so)
        if name not in entry.lecturers:
            entry.lecturers.append(name)
    for entry in grouped.values():
        entry.lecturers.sort(key=str.casefold)
    return sorted(grouped.values(), key=lambda e: (e.day, e.class_name, e.module_slug, e.prompt_id), reverse=True)


def export_rows(session: Session, *, user: User, catalogue=None) -> list[dict]:
    """The student's entries for "my data", plus (for a lecturer) the reads they made themselves."""
    about_you = [
        {
            "class_id": e.class_id,
            "class": e.class_name,
            "module": e.module_slug,
            "prompt_id": e.prompt_id,
            "question": e.prompt_title,
            "day": e.day.isoformat(),
            "kind": e.kind,
            "lecturers": e.lecturers,
        }
        for e in for_student(session, user=user, catalogue=catalogue)
    ]
    by_you = [
        {
            "class_id": r.class_id,
            "module": r.module_slug,
            "prompt_id": r.prompt_id,
            "day": r.day.isoformat(),
            "kind": r.kind,
        }
        for r in session.exec(
            select(AccessLog).where(col(AccessLog.lecturer_id) == user.id).order_by(col(AccessLog.id))
        )
    ]
    return about_you + [{"read_by_you": True, **row} for row in by_you]


# -- what an administrator sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassEntry:
    day: date
    kind: str
    lecturer: str | None
    module_slug: str
    prompt_id: str
    student: str | None  # only on a reveal
    prompt_title: str = ""


def for_class(session: Session, *, class_id: int, catalogue=None) -> list[ClassEntry]:
    student = aliased(User, name="student")
    rows = session.exec(
        select(AccessLog, User.display_name, student.display_name)
        .outerjoin(User, col(User.id) == col(AccessLog.lecturer_id))
        .outerjoin(student, col(student.id) == col(AccessLog.student_id))
        .where(col(AccessLog.class_id) == class_id)
        .order_by(
            col(AccessLog.day).desc(), col(AccessLog.module_slug), col(AccessLog.prompt_id), col(User.display_name)
        )
    ).all()
    return [
        ClassEntry(
            row.day,
            row.kind,
            lecturer,
            row.module_slug,
            row.prompt_id,
            student_name,
            prompt_title(catalogue, row.module_slug, row.prompt_id),
        )
        for row, lecturer, student_name in rows
    ]
