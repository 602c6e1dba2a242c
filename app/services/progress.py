"""How far students are in modules, computed in a fixed number of queries for any number of them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Label, Select, bindparam, func, literal, literal_column, tuple_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.model import Module
from app.models import Answer, CheckAnswer, Feedback, SectionVisit, VignetteRun, aware


@dataclass
class ModuleProgress:
    """One student's progress in one module. Ids of blocks no longer in the module do not count."""

    module: Module
    sections_visited: set[str] = field(default_factory=set)
    prompts_submitted: set[str] = field(default_factory=set)
    vignettes_completed: set[str] = field(default_factory=set)
    checks_answered: set[str] = field(default_factory=set)
    last_activity: datetime | None = None
    last_section: str | None = None  # the section visited most recently
    # Lecturers' feedback the student has not seen yet: on which prompts, and how many items.
    prompts_with_new_feedback: set[str] = field(default_factory=set)
    new_feedback: int = 0
    _last_visit: datetime | None = None

    @property
    def prompts_total(self) -> int:
        return len(self.module.reflections)

    @property
    def vignettes_total(self) -> int:
        return len(self.module.vignettes)

    @property
    def complete(self) -> bool:
        """Every prompt submitted and every vignette brought to an ending."""
        return self.prompts_submitted >= set(self.module.reflections) and self.vignettes_completed >= set(
            self.module.vignettes
        )

    @property
    def started(self) -> bool:
        return bool(self.sections_visited or self.prompts_submitted or self.vignettes_completed or self.checks_answered)

    @property
    def percent(self) -> int:
        """Share of the module's steps done: sections read, prompts submitted, vignettes ended, checks answered."""
        module = self.module
        total = len(module.sections) + len(module.reflections) + len(module.vignettes) + len(module.checks)
        done = (
            len(self.sections_visited)
            + len(self.prompts_submitted)
            + len(self.vignettes_completed)
            + len(self.checks_answered)
        )
        return percent_done(done, total, self.complete)

    def section_counts(self, section) -> tuple[int, int]:
        """(done, total) of the reflections, vignettes and checks in one section."""
        blocks = section.interactive()
        return sum(self._block_done(block.id) for block in blocks), len(blocks)

    def _block_done(self, block_id: str) -> bool:
        return (
            block_id in self.prompts_submitted
            or block_id in self.vignettes_completed
            or block_id in self.checks_answered
        )

    def _seen(self, when: datetime | None) -> datetime | None:
        if when is not None:
            when = aware(when)
            if self.last_activity is None or when > self.last_activity:
                self.last_activity = when
        return when


def percent_done(done: int, total: int, complete: bool) -> int:
    """`done` of `total` steps as a whole percentage; 100% means complete, and a module is not complete
    until its prompts and vignettes are done."""
    if total == 0:
        return 0
    percent = round(100 * done / total)
    return percent if complete else min(percent, 99)


def _done(kind: str, table, block_id, at, *done):
    return sa_select(
        literal(kind).label("kind"), table.user_id, table.module_slug, block_id.label("block_id"), at.label("at")
    ).where(
        col(table.user_id).in_(bindparam("user_ids", expanding=True)),
        col(table.module_slug).in_(bindparam("slugs", expanding=True)),
        *done,
    )


# Everything that counts as done, from the four tables, and the feedback not yet read, in one
# statement built once: building a statement costs more Python than running it, and every page of a
# student needs it.
DONE = union_all(
    _done("sections_visited", SectionVisit, SectionVisit.section_id, SectionVisit.visited_at),
    _done("prompts_submitted", Answer, Answer.prompt_id, Answer.submitted_at, col(Answer.submitted_at).is_not(None)),
    _done(
        "vignettes_completed",
        VignetteRun,
        VignetteRun.vignette_id,
        VignetteRun.finished_at,
        col(VignetteRun.finished_at).is_not(None),
    ),
    _done("checks_answered", CheckAnswer, CheckAnswer.check_id, CheckAnswer.answered_at),
    _done("new_feedback", Answer, Answer.prompt_id, Feedback.created_at, col(Feedback.read_at).is_(None)).join(
        Feedback, col(Feedback.answer_id) == col(Answer.id)
    ),
)


# Where each kind of done step is registered in a module (runs once per row of DONE).
_REGISTRY = {"prompts_submitted": "reflections", "vignettes_completed": "vignettes", "checks_answered": "checks"}


def _still_exists(kind: str, module: Module, block_id: str) -> bool:
    if kind == "sections_visited":
        return module.section(block_id) is not None
    return block_id in getattr(module, _REGISTRY[kind])


def progress_matrix(
    session: Session, *, user_ids: list[int], modules: list[Module]
) -> dict[tuple[int, str], ModuleProgress]:
    """Progress for every (user, module) pair, in one query whatever the number of users."""
    by_slug = {m.slug: m for m in modules}
    result = {(user_id, m.slug): ModuleProgress(m) for user_id in user_ids for m in modules}
    if not user_ids or not modules:
        return result
    rows = session.connection().execute(DONE, {"user_ids": list(user_ids), "slugs": list(by_slug)})
    for kind, user_id, slug, block_id, at in rows:
        progress = result.get((user_id, slug))
        if progress is None:
            continue
        if kind == "new_feedback":  # the lecturer's doing, not the student's: not progress, not activity
            progress.prompts_with_new_feedback.add(block_id)
            progress.new_feedback += 1
            continue
        if not _still_exists(kind, by_slug[slug], block_id):
            continue
        getattr(progress, kind).add(block_id)
        at = progress._seen(at)
        if kind == "sections_visited" and (
            progress._last_visit is None or (at is not None and at >= progress._last_visit)
        ):
            progress._last_visit, progress.last_section = at, block_id
    return result


# -- the counts only, for a lecturer's overview of a whole class ------------------------------------

COUNTED = ("sections", "prompts", "vignettes", "checks")


class ProgressCounts:
    """How many of a module's steps one student has done: what a progress overview shows, without the
    ids and times that ModuleProgress keeps. The same rules: ids no longer in the module do not count."""

    __slots__ = ("checks", "complete", "module", "percent", "prompts", "sections", "started", "vignettes")

    def __init__(
        self,
        module: Module,
        sections: int = 0,
        prompts: int = 0,
        vignettes: int = 0,
        checks: int = 0,
        *,
        shape: tuple[int, int, int] | None = None,
    ) -> None:
        # shape: the module's (reflections, vignettes, steps), when the caller worked it out once.
        reflections, vignettes_total, steps = shape or _shape(module)
        self.module = module
        self.sections, self.prompts, self.vignettes, self.checks = sections, prompts, vignettes, checks
        # Counts of distinct ids that still exist: as many as the module has means all of them.
        self.complete = prompts >= reflections and vignettes >= vignettes_total
        self.started = bool(sections or prompts or vignettes or checks)
        self.percent = percent_done(sections + prompts + vignettes + checks, steps, self.complete)

    @property
    def prompts_total(self) -> int:
        return len(self.module.reflections)

    def __repr__(self) -> str:
        return (
            f"ProgressCounts({self.module.slug!r}, sections={self.sections}, prompts={self.prompts}, "
            f"vignettes={self.vignettes}, checks={self.checks})"
        )


def _shape(module: Module) -> tuple[int, int, int]:
    reflections, vignettes = len(module.reflections), len(module.vignettes)
    return reflections, vignettes, len(module.sections) + reflections + vignettes + len(module.checks)


def _counted(which: str, table, block_id, *done, distinct: bool = False):
    flags: list[Label[Any]] = [literal_column("1" if kind == which else "0").label(kind) for kind in COUNTED]
    statement = select(table.user_id, table.module_slug, block_id.label("block_id"), *flags).where(
        col(table.user_id).in_(bindparam("user_ids", expanding=True)),
        tuple_(table.module_slug, block_id).in_(bindparam(which, expanding=True)),
        *done,
    )
    return statement.distinct() if distinct else statement


# The four counts per student and module, summed in the database: no times, no feedback, only the
# (module, id) pairs that still exist (bound per call), and a vignette counts once however often it
# was ended, a prompt once however many classes it was answered for. Built once, like DONE.
_COUNTED_ROWS = union_all(
    _counted("sections", SectionVisit, SectionVisit.section_id),
    # A student in two classes with the module has an answer per class: the prompt counts once.
    _counted("prompts", Answer, Answer.prompt_id, col(Answer.submitted_at).is_not(None), distinct=True),
    _counted(
        "vignettes", VignetteRun, VignetteRun.vignette_id, col(VignetteRun.finished_at).is_not(None), distinct=True
    ),
    _counted("checks", CheckAnswer, CheckAnswer.check_id),
).subquery("counted")
COUNTS: Select = select(
    _COUNTED_ROWS.c.user_id, _COUNTED_ROWS.c.module_slug, *[func.sum(_COUNTED_ROWS.c[kind]) for kind in COUNTED]
).group_by(_COUNTED_ROWS.c.user_id, _COUNTED_ROWS.c.module_slug)


def progress_counts(
    session: Session, *, user_ids: list[int], modules: list[Module]
) -> dict[tuple[int, str], ProgressCounts]:
    """The counts for every (user, module) pair, in one query whatever the number of users: the same
    `percent`, `complete` and `started` as progress_matrix, for a fraction of its work."""
    shapes = {m.slug: (m, _shape(m)) for m in modules}
    nothing = {m.slug: ProgressCounts(m) for m in modules}  # shared: never changed after construction
    result = {(user_id, m.slug): nothing[m.slug] for user_id in user_ids for m in modules}
    if not user_ids or not modules:
        return result
    pairs = {
        "sections": [(m.slug, section.id) for m in modules for section in m.sections],
        "prompts": [(m.slug, prompt_id) for m in modules for prompt_id in m.reflections],
        "vignettes": [(m.slug, vignette_id) for m in modules for vignette_id in m.vignettes],
        "checks": [(m.slug, check_id) for m in modules for check_id in m.checks],
    }
    for user_id, slug, sections, prompts, vignettes, checks in session.connection().execute(
        COUNTS, {"user_ids": list(user_ids), **pairs}
    ):
        module, shape = shapes[slug]
        result[user_id, slug] = ProgressCounts(module, sections, prompts, vignettes, checks, shape=shape)
    return result


def module_progress(session: Session, *, user_id: int, module: Module) -> ModuleProgress:
    return progress_matrix(session, user_ids=[user_id], modules=[module])[(user_id, module.slug)]


def by_user(matrix: dict[tuple[int, str], ModuleProgress]) -> dict[int, list[ModuleProgress]]:
    grouped: dict[int, list[ModuleProgress]] = defaultdict(list)
    for (user_id, _), progress in matrix.items():
        grouped[user_id].append(progress)
    return grouped
