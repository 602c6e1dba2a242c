"""The student's dashboard: assignments with progress, where to continue, new feedback."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session

from app.content.catalogue import Catalogue
from app.content.model import Module, Section
from app.models import User, stored_id
from app.services.dashboard import AssignedModule, student_assignments
from app.services.progress import ModuleProgress, progress_matrix


@dataclass(frozen=True)
class Resume:
    module: Module
    section: Section


@dataclass(frozen=True)
class StudentHome:
    assigned: list[tuple[AssignedModule, ModuleProgress]]
    others: list[tuple[Module, ModuleProgress]]
    resume: Resume | None
    new_feedback: Counter  # module slug -> unread feedback


def resume_point(progress: ModuleProgress) -> Section:
    """Where the student was last, if work is left there; else the next section with something to do."""
    module = progress.module
    done = progress.prompts_submitted | progress.vignettes_completed | progress.checks_answered

    def open_work(section: Section) -> bool:
        return section.id not in progress.sections_visited or any(b.id not in done for b in section.interactive())

    start = module.section_index(progress.last_section) if progress.last_section else 0
    if progress.last_section and open_work(module.sections[start]):
        return module.sections[start]
    ordered = module.sections[start + 1 :] + module.sections[: start + 1]
    return next((section for section in ordered if open_work(section)), module.sections[0])


def student_home(session: Session, *, user: User, catalogue: Catalogue) -> StudentHome:
    assigned = student_assignments(session, user=user, catalogue=catalogue)
    modules = catalogue.published()
    user_id = stored_id(user)
    matrix = progress_matrix(session, user_ids=[user_id], modules=modules)
    assigned_slugs = {a.module.slug for a in assigned}
    started = [(at, p) for p in matrix.values() if p.started and (at := p.last_activity) is not None]
    latest = max(started, key=lambda pair: pair[0])[1] if started else None
    unread = Counter({slug: progress.new_feedback for (_, slug), progress in matrix.items() if progress.new_feedback})
    return StudentHome(
        assigned=[(a, matrix[(user_id, a.module.slug)]) for a in assigned if (user_id, a.module.slug) in matrix],
        others=[(m, matrix[(user_id, m.slug)]) for m in modules if m.slug not in assigned_slugs],
        resume=Resume(latest.module, resume_point(latest)) if latest and not latest.complete else None,
        new_feedback=unread,
    )
