"""How far students are in modules, computed in a fixed number of queries for any number of them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from app.content.model import Module
from app.models import Answer, CheckAnswer, SectionVisit, VignetteRun, aware


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
        done = self.prompts_submitted | self.vignettes_completed | self.checks_answered
        blocks = section.interactive()
        return sum(block.id in done for block in blocks), len(blocks)

    def _seen(self, when: datetime | None) -> None:
        if when is not None:
            when = aware(when)
            if self.last_activity is None or when > self.last_activity:
                self.last_activity = when


def progress_matrix(session: Session, *, user_ids: list[int], modules: list[Module]) -> dict[tuple[int, str], ModuleProgress]:
    """Progress for every (user, module) pair, in four queries whatever the number of users."""
    by_slug = {m.slug: m for m in modules}
    result = {(user_id, m.slug): ModuleProgress(m) for user_id in user_ids for m in modules}
    if not user_ids or not modules:
        return result
    slugs = list(by_slug)

    # What counts, per table: (query, the progress set it fills, whether the id still exists in the module).
    sources = [
        (select(SectionVisit.user_id, SectionVisit.module_slug, SectionVisit.section_id, SectionVisit.visited_at)
         .where(col(SectionVisit.user_id).in_(user_ids), col(SectionVisit.module_slug).in_(slugs)),
         "sections_visited", lambda module, block_id: module.section(block_id) is not None),
        (select(Answer.user_id, Answer.module_slug, Answer.prompt_id, Answer.submitted_at)
         .where(col(Answer.user_id).in_(user_ids), col(Answer.module_slug).in_(slugs),
                col(Answer.submitted_at).is_not(None)),
         "prompts_submitted", lambda module, block_id: block_id in module.reflections),
        (select(VignetteRun.user_id, VignetteRun.module_slug, VignetteRun.vignette_id, VignetteRun.finished_at)
         .where(col(VignetteRun.user_id).in_(user_ids), col(VignetteRun.module_slug).in_(slugs),
                col(VignetteRun.finished_at).is_not(None)),
         "vignettes_completed", lambda module, block_id: block_id in module.vignettes),
        (select(CheckAnswer.user_id, CheckAnswer.module_slug, CheckAnswer.check_id, CheckAnswer.answered_at)
         .where(col(CheckAnswer.user_id).in_(user_ids), col(CheckAnswer.module_slug).in_(slugs)),
         "checks_answered", lambda module, block_id: block_id in module.checks),
    ]
    for query, attribute, exists in sources:
        for user_id, slug, block_id, at in session.exec(query):
            progress = result.get((user_id, slug))
            if progress is None or not exists(by_slug[slug], block_id):
                continue
            getattr(progress, attribute).add(block_id)
            progress._seen(at)
            if attribute == "sections_visited" and (progress._last_visit is None or aware(at) >= progress._last_visit):
                progress._last_visit, progress.last_section = aware(at), block_id
    return result


def module_progress(session: Session, *, user_id: int, module: Module) -> ModuleProgress:
    return progress_matrix(session, user_ids=[user_id], modules=[module])[(user_id, module.slug)]


def by_user(matrix: dict[tuple[int, str], ModuleProgress]) -> dict[int, list[ModuleProgress]]:
    grouped: dict[int, list[ModuleProgress]] = defaultdict(list)
    for (user_id, _), progress in matrix.items():
        grouped[user_id].append(progress)
    return grouped
