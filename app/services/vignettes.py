"""Walking through case vignettes: each choice recorded, every walk kept, replay from the start."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.content.model import Choice, Module, Step, Vignette
from app.models import VignetteRun, utcnow
from app.services import progress_summary


class VignetteError(ValueError):
    """The choice does not fit the walk (an old tab, a double click): nothing was recorded."""


@dataclass(frozen=True)
class Taken:
    """One step of a walk, with the choice made there."""

    step: Step
    choice: Choice


@dataclass(frozen=True)
class Walk:
    vignette: Vignette
    run: VignetteRun | None
    taken: list[Taken]
    current: Step | None  # where the student is now; the ending once finished

    @property
    def finished(self) -> bool:
        return self.run is not None and self.run.finished_at is not None

    @property
    def started(self) -> bool:
        return self.run is not None


def decode_path(run: VignetteRun | None) -> list[tuple[str, int]]:
    if run is None:
        return []
    return [(step_id, int(index)) for step_id, index in json.loads(run.path or "[]")]


def walk_of(vignette: Vignette, run: VignetteRun | None) -> Walk:
    """Replay a recorded path against the module as it is now; stops where the module changed."""
    if not vignette.branching:
        return Walk(vignette, run, [], None)
    taken: list[Taken] = []
    current = vignette.steps.get(vignette.start or "")
    for step_id, index in decode_path(run):
        if current is None or current.id != step_id or not 0 <= index < len(current.choices):
            break
        choice = current.choices[index]
        taken.append(Taken(current, choice))
        current = vignette.steps.get(choice.target)
    return Walk(vignette, run, taken, current)


def latest_run(session: Session, *, user_id: int, module_slug: str, vignette_id: str) -> VignetteRun | None:
    return session.exec(
        select(VignetteRun)
        .where(
            col(VignetteRun.user_id) == user_id,
            col(VignetteRun.module_slug) == module_slug,
            col(VignetteRun.vignette_id) == vignette_id,
        )
        .order_by(col(VignetteRun.id).desc())
    ).first()


def choose(
    session: Session, *, user_id: int, module: Module, vignette: Vignette, step_id: str, choice_index: int
) -> Walk:
    """Record one choice at the student's current step."""
    module_slug = module.slug
    run = latest_run(session, user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    if run is None or run.finished_at is not None:
        run = VignetteRun(user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    walk = walk_of(vignette, run if run.id else None)
    step = walk.current
    if step is None or step.id != step_id or step.is_ending or not 0 <= choice_index < len(step.choices):
        raise VignetteError(step_id)
    path = [(t.step.id, _index(t)) for t in walk.taken]
    path.append((step.id, choice_index))
    run.path = json.dumps(path)
    target = vignette.steps[step.choices[choice_index].target]
    if target.is_ending:
        run.ending_id = target.id
        run.finished_at = utcnow()
    session.add(run)
    if target.is_ending:
        progress_summary.recount(session, user_id=user_id, module=module)
    session.commit()
    session.refresh(run)
    return walk_of(vignette, run)


def _index(taken: Taken) -> int:
    return taken.step.choices.index(taken.choice)


def restart(session: Session, *, user_id: int, module: Module, vignette: Vignette) -> Walk:
    """A new walk from the start; earlier walks stay recorded (and keep the vignette completed)."""
    module_slug = module.slug
    run = latest_run(session, user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    if run is not None and run.finished_at is None:
        run.path = "[]"
        session.add(run)
        session.commit()
        return walk_of(vignette, run)
    run = VignetteRun(user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    session.add(run)
    session.commit()
    session.refresh(run)
    return walk_of(vignette, run)


def mark_read(session: Session, *, user_id: int, module: Module, vignette: Vignette) -> VignetteRun:
    """An open vignette is completed by reading it."""
    module_slug = module.slug
    run = latest_run(session, user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    if run is not None and run.finished_at is not None:
        return run
    run = run or VignetteRun(user_id=user_id, module_slug=module_slug, vignette_id=vignette.id)
    run.finished_at = utcnow()
    session.add(run)
    progress_summary.recount(session, user_id=user_id, module=module)
    session.commit()
    session.refresh(run)
    return run
