"""Knowledge checks: the student's latest answer, with feedback on every option chosen."""

from __future__ import annotations

from sqlmodel import Session

from app.content.model import Check, Module
from app.forms import parse_int
from app.models import CheckAnswer, utcnow
from app.services import progress_summary


def parse_selection(raw: str) -> frozenset[int]:
    return frozenset(n for part in raw.split(",") if (n := parse_int(part.strip())) is not None)


def answer_check(
    session: Session, *, user_id: int, module: Module, check: Check, selected: list[int]
) -> CheckAnswer | None:
    """Record the choice; None when nothing valid was chosen."""
    module_slug = module.slug
    chosen = sorted({i for i in selected if 0 <= i < len(check.options)})
    if not chosen or (not check.multiple and len(chosen) > 1):
        return None
    existing = session.get(CheckAnswer, (user_id, module_slug, check.id))
    row = existing or CheckAnswer(
        user_id=user_id, module_slug=module_slug, check_id=check.id, selected="", correct=False
    )
    row.selected = ",".join(map(str, chosen))
    row.correct = frozenset(chosen) == check.correct_indexes
    row.answered_at = utcnow()
    session.add(row)
    if existing is None:  # answered again: the same count
        progress_summary.recount(session, user_id=user_id, module=module)
    session.commit()
    session.refresh(row)
    return row
