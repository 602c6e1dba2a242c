"""How far students are in modules, computed in a fixed number of queries for any number of them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, literal, union_all
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
        return (self.prompts_submitted >= set(self.module.reflections)
                and self.vignettes_completed >= set(self.module.vignettes))

    @property
    def started(self) -> bool:
        return bool(self.sections_visited or self.prompts_submitted or self.vignettes_completed
                    or self.checks_answered)

    @property
    def percent(self) -> int:
        """Share of the module's steps done: sections read, prompts submitted, vignettes ended, checks answered."""
        module = self.module
        total = len(module.sections) + len(module.reflections) + len(module.vignettes) + len(module.checks)
        done = (len(self.sections_visited) + len(self.prompts_submitted) + len(self.vignettes_completed)
                + len(self.checks_answered))
        if total == 0:
            return 0
        percent = round(100 * done / total)
        # 100% means complete; a module is not complete until its prompts and vignettes are done.
        return percent if self.complete else min(percent, 99)

    def section_counts(self, section) -> tuple[int, int]:
        """(done, total) of the reflections, vignettes and checks in one section."""
        blocks = section.interactive()
        return sum(self._block_done(block.id) for block in blocks), len(blocks)

    def _block_done(self, block_id: str) -> bool:
        return block_id in self.prompts_submitted or block_id in self.vignettes_completed \
            or block_id in self.checks_answered

    def _seen(self, when: datetime | None) -> datetime | None:
        if when is not None:
            when = aware(when)
            if self.last_activity is None or when > self.last_activity:
                self.last_activity = when
        return when


def _done(kind: str, table, block_id, at, *done):
    return (select(literal(kind).label("kind"), table.user_id, table.module_slug, block_id.label("block_id"),
                   at.label("at"))
            .where(col(table.user_id).in_(bindparam("user_ids", expanding=True)),
                   col(table.module_slug).in_(bindparam("slugs", expanding=True)), *done))


# Everything that counts as done, from the four tables, and the feedback not yet read, in one
# statement built once: building a statement costs more Python than running it, and every page of a
# student needs it.
DONE = union_all(
    _done("sections_visited", SectionVisit, SectionVisit.section_id, SectionVisit.visited_at),
    _done("prompts_submitted", Answer, Answer.prompt_id, Answer.submitted_at, col(Answer.submitted_at).is_not(None)),
    _done("vignettes_completed", VignetteRun, VignetteRun.vignette_id, VignetteRun.finished_at,
          col(VignetteRun.finished_at).is_not(None)),
    _done("checks_answered", CheckAnswer, CheckAnswer.check_id, CheckAnswer.answered_at),
    _done("new_feedback", Answer, Answer.prompt_id, Feedback.created_at, col(Feedback.read_at).is_(None))
    .join(Feedback, Feedback.answer_id == Answer.id),
)


def _still_exists(kind: str, module: Module, block_id: str) -> bool:
    if kind == "sections_visited":
        return module.section(block_id) is not None
    blocks = {"prompts_submitted": module.reflections, "vignettes_completed": module.vignettes,
              "checks_answered": module.checks}[kind]
    return block_id in blocks


def progress_matrix(session: Session, *, user_ids: list[int], modules: list[Module]) -> dict[tuple[int, str], ModuleProgress]:
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
        if kind == "sections_visited" and (progress._last_visit is None or at >= progress._last_visit):
            progress._last_visit, progress.last_section = at, block_id
    return result


def module_progress(session: Session, *, user_id: int, module: Module) -> ModuleProgress:
    return progress_matrix(session, user_ids=[user_id], modules=[module])[(user_id, module.slug)]


def by_user(matrix: dict[tuple[int, str], ModuleProgress]) -> dict[int, list[ModuleProgress]]:
    grouped: dict[int, list[ModuleProgress]] = defaultdict(list)
    for (user_id, _), progress in matrix.items():
        grouped[user_id].append(progress)
    return grouped
