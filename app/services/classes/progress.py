"""A class's progress: the matrix by student and module, and its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.content.model import Module
from app.models import (
    Assignment,
    CourseClass,
    Enrolment,
    Extension,
    User,
    primary_key,
    school_today,
    stored_id,
)
from app.services import progress_summary, spreadsheet
from app.services.classes.assignments import class_assignments
from app.services.paging import Page, paginate
from app.services.progress import ProgressCounts, percent_done
from app.services.work_cache import WorkCache

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

    @property
    def shown_as(self) -> tuple:
        """Everything the cell shows (templates/classes/_progress_cell.html): cells with the same key
        look the same, and a page of 350 cells has a few dozen different ones, each rendered once."""
        return (
            id(self.module),
            self.percent,
            self.progress.sections,
            self.progress.checks,
            self.reflections_done,
            self.late,
            self.complete,
            self.is_open,
            self.not_started,
            self.extended,
            self.due_on,
        )


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
    # Students whose stored progress counts were stale, counted anew for this view: store them
    # (progress_summary.store_stale) so that the next view reads them.
    stale: frozenset[int] = frozenset()

    @property
    def modules(self) -> list[Module]:
        return [module for _, module in self.assigned]

    @property
    def rows(self) -> Sequence[ProgressRow]:
        return self.page.items


_RELEASED = WorkCache()


def released_reflections(
    session: Session, *, course_class: CourseClass, modules: Sequence[Module]
) -> frozenset[tuple[int, str]]:
    """The (student, module) pairs whose answers to every prompt of the module are in the class's
    review, released in rounds of k exactly as the review releases them: one query, or none when the
    class's work has not changed since it was last worked out (app/services/work_cache.py)."""
    from app.services.kgate import k_of

    if not modules:
        return frozenset()
    return _RELEASED.get(
        session,
        class_id=stored_id(course_class),
        key=(k_of(course_class), tuple((module.slug, module.steps_fingerprint) for module in modules)),
        compute=lambda: _released(session, course_class=course_class, modules=modules),
    )


def _released(session: Session, *, course_class: CourseClass, modules: Sequence[Module]) -> frozenset[tuple[int, str]]:
    from app.models import Answer, AnswerRevision
    from app.services.kgate import k_of, rounds

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
    return frozenset(done)


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
    (`per_page=None`: all). Five queries whatever the size of the class, and one more for the
    students whose stored counts are stale (see ClassProgress.stale)."""
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

    stale: set[int] = set()

    def rows_of(some: Sequence[StudentRow]) -> list[ProgressRow]:
        counts, stale_here = progress_summary.counts(
            session, user_ids=[student.id for student in some], modules=[module for _, module in assigned]
        )
        stale.update(stale_here)
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
        shown_rows = rows_of(cut.items)
        return ClassProgress(
            assigned, cut.with_items(shown_rows), len(students), sort, show, verified, frozenset(stale)
        )
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
    return ClassProgress(assigned, shown, len(students), sort, show, verified, frozenset(stale))


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
