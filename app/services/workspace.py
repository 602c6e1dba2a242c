"""A student's state for the blocks on a page, loaded in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.content.markdown import count_words
from app.content.model import Check, Module, Reflection, Vignette
from app.models import (
    Answer,
    AnswerRevision,
    Assessment,
    CheckAnswer,
    Feedback,
    SectionVisit,
    VignetteRun,
    aware,
    stored_id,
    utcnow,
)
from app.services import progress_summary
from app.services.checks import parse_selection
from app.services.vignettes import Walk, walk_of
from app.services.writing import WRITING_CLASS


@dataclass
class ReflectionWork:
    prompt: Reflection
    answer: Answer | None = None
    latest: AnswerRevision | None = None
    feedback: list[Feedback] = field(default_factory=list)
    refers_to: Walk | None = None
    # Set by a route to show the user's own text again (after an error or a conflict).
    text_override: str | None = None
    conflict_text: str | None = None
    error: str | None = None
    # Why the text could not be submitted (it was kept as a draft): shown once, beside the answer.
    submit_problem: str | None = None
    saved_now: bool = False
    # Set by the submit route: what app.services.privacy_guard found in the text (the student is asked first).
    privacy_findings: list = field(default_factory=list)
    # Levels lecturers gave this answer, oldest first (app/services/assessment.py).
    assessments: list[Assessment] = field(default_factory=list)

    def assessment(self, catalogue):
        """The current level(s) with descriptor and next step, for this student's own page."""
        from app.services.assessment import student_view

        return student_view(catalogue, None, self.prompt.id, self.assessments, self.latest.id if self.latest else None)

    @property
    def text(self) -> str:
        if self.text_override is not None:
            return self.text_override
        return self.answer.text if self.answer else ""

    @property
    def version(self) -> int:
        return self.answer.version if self.answer else 0

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def saved_at(self) -> datetime | None:
        return aware(self.answer.updated_at) if self.answer and self.answer.version else None

    @property
    def submitted(self) -> bool:
        return self.latest is not None

    @property
    def submitted_at(self) -> datetime | None:
        return aware(self.latest.submitted_at) if self.latest is not None else None

    @property
    def changed_since_submission(self) -> bool:
        return self.latest is not None and self.answer is not None and self.answer.text != self.latest.text

    @property
    def outdated(self) -> bool:
        """The submitted answer was written for an earlier wording of the prompt."""
        return self.latest is not None and self.latest.prompt_hash != self.prompt.prompt_hash

    @property
    def unread_feedback(self) -> bool:
        return any(f.read_at is None for f in self.feedback)

    @property
    def state(self) -> str:
        if self.conflict_text is not None:
            return "conflict"
        if self.latest is None:
            return "draft" if self.text else "empty"
        return "changed" if self.changed_since_submission else "submitted"


@dataclass
class VignetteWork:
    vignette: Vignette
    walk: Walk
    completed: bool  # any walk reached an ending (a replay does not undo that)


@dataclass
class CheckWork:
    check: Check
    answer: CheckAnswer | None
    error: bool = False  # the last attempt chose nothing

    @property
    def selected(self) -> frozenset[int]:
        return parse_selection(self.answer.selected) if self.answer else frozenset()


Work = ReflectionWork | VignetteWork | CheckWork


# Statements for every page of a student, built once: building one costs more than running it.
def _own(model, block_column):
    return select(model).where(
        model.user_id == bindparam("user_id"),
        model.module_slug == bindparam("slug"),
        col(block_column).in_(bindparam("block_ids", expanding=True)),
    )


@dataclass(frozen=True)
class ShownAgain:
    """A block shown again after a request it did not take: what the student typed, and why.

    Made by its constructors, so a route says what happened (`refused`, `in_conflict`, `nothing_chosen`)
    instead of setting view attributes by name."""

    block_id: str
    text: str | None = None
    error: str | None = None
    conflict_text: str | None = None
    privacy_findings: tuple = ()
    nothing_chosen: bool = False

    @classmethod
    def refused(cls, block_id: str, *, text: str, error: str) -> ShownAgain:
        return cls(block_id, text=text, error=error)

    @classmethod
    def in_conflict(cls, block_id: str, *, text: str, stored_text: str | None) -> ShownAgain:
        return cls(block_id, text=text, conflict_text=stored_text)

    @classmethod
    def asked_about_privacy(cls, block_id: str, *, text: str, findings) -> ShownAgain:
        """Not submitted yet: the guard found what may name a client; the student decides."""
        return cls(block_id, text=text, privacy_findings=tuple(findings))

    @classmethod
    def check_without_choice(cls, block_id: str) -> ShownAgain:
        return cls(block_id, nothing_chosen=True)

    def apply_to(self, work: Work) -> None:
        if isinstance(work, ReflectionWork):
            work.text_override, work.error, work.conflict_text = self.text, self.error, self.conflict_text
            work.privacy_findings = list(self.privacy_findings)
        elif isinstance(work, CheckWork):
            work.error = self.nothing_chosen


# A student's answers for the class they write for in this module (app.services.writing).
ANSWERS = _own(Answer, Answer.prompt_id).where(col(Answer.class_id).is_not_distinct_from(WRITING_CLASS))
REVISIONS = (
    select(AnswerRevision)
    .where(col(AnswerRevision.answer_id).in_(bindparam("answer_ids", expanding=True)))
    .order_by(col(AnswerRevision.id))
)
FEEDBACK = (
    select(Feedback)
    .where(col(Feedback.answer_id).in_(bindparam("answer_ids", expanding=True)))
    .order_by(col(Feedback.id))
)
ASSESSMENTS = (
    select(Assessment)
    .where(col(Assessment.answer_id).in_(bindparam("answer_ids", expanding=True)))
    .order_by(col(Assessment.id))
)
VIGNETTE_RUNS = _own(VignetteRun, VignetteRun.vignette_id).order_by(col(VignetteRun.id))
CHECK_ANSWERS = _own(CheckAnswer, CheckAnswer.check_id)


def load_work(
    session: Session, *, user_id: int, module: Module, blocks: list[Reflection | Vignette | Check]
) -> dict[str, Work]:
    """State for each interactive block, keyed by block id: five queries at most."""
    reflections = [b for b in blocks if isinstance(b, Reflection)]
    vignette_ids = {b.id for b in blocks if isinstance(b, Vignette)}
    vignette_ids |= {r.refers_to for r in reflections if r.refers_to}
    checks = [b for b in blocks if isinstance(b, Check)]
    work: dict[str, Work] = {}
    reflection_works: dict[str, ReflectionWork] = {}  # the same objects, as what they are

    if reflections:
        answers = {
            a.prompt_id: a
            for a in session.exec(
                ANSWERS, params={"user_id": user_id, "slug": module.slug, "block_ids": [r.id for r in reflections]}
            )
        }
        # Revisions, and so feedback, exist only for answers submitted at least once.
        answer_ids = [a.id for a in answers.values() if a.submitted_at is not None]
        latest: dict[int, AnswerRevision] = {}
        feedback: dict[int, list[Feedback]] = {}
        assessed: dict[int, list[Assessment]] = {}
        if answer_ids:
            for revision in session.exec(REVISIONS, params={"answer_ids": answer_ids}):
                latest[revision.answer_id] = revision
            for item in session.exec(FEEDBACK, params={"answer_ids": answer_ids}):
                feedback.setdefault(item.answer_id, []).append(item)
            if any(prompt.rubric for prompt in reflections):
                for row in session.exec(ASSESSMENTS, params={"answer_ids": answer_ids}):
                    assessed.setdefault(row.answer_id, []).append(row)
        for prompt in reflections:
            answer = answers.get(prompt.id)
            work[prompt.id] = reflection_works[prompt.id] = ReflectionWork(
                prompt,
                answer,
                latest.get(answer.id) if answer else None,
                feedback.get(answer.id, []) if answer else [],
                assessments=assessed.get(answer.id, []) if answer else [],
            )

    if vignette_ids:
        latest_runs: dict[str, VignetteRun] = {}
        completed: set[str] = set()
        for run in session.exec(
            VIGNETTE_RUNS, params={"user_id": user_id, "slug": module.slug, "block_ids": list(vignette_ids)}
        ):
            latest_runs[run.vignette_id] = run
            if run.finished_at is not None:
                completed.add(run.vignette_id)
        for block in blocks:
            if isinstance(block, Vignette):
                run = latest_runs.get(block.id)
                work[block.id] = VignetteWork(block, walk_of(block, run), block.id in completed)
        for prompt in reflections:
            vignette = module.vignettes.get(prompt.refers_to or "")
            if vignette is not None:
                reflection_works[prompt.id].refers_to = walk_of(vignette, latest_runs.get(vignette.id))

    if checks:
        answered = {
            a.check_id: a
            for a in session.exec(
                CHECK_ANSWERS, params={"user_id": user_id, "slug": module.slug, "block_ids": [c.id for c in checks]}
            )
        }
        for check in checks:
            work[check.id] = CheckWork(check, answered.get(check.id))
    return work


def record_visit(session: Session, *, user_id: int, module: Module, section_id: str, visited: set[str]) -> None:
    """First visit of a section counts for progress; later visits write nothing."""
    if section_id in visited:
        return
    try:
        with session.begin_nested():
            session.add(SectionVisit(user_id=user_id, module_slug=module.slug, section_id=section_id))
    except IntegrityError:  # a second tab recorded it first: that is the same fact
        return
    progress_summary.recount(session, user_id=user_id, module=module)


def unread_feedback_ids(work: dict[str, Work]) -> list[int]:
    return [
        stored_id(f) for w in work.values() if isinstance(w, ReflectionWork) for f in w.feedback if f.read_at is None
    ]


def mark_feedback_read(session: Session, *, feedback_ids: list[int]) -> None:
    # The page being rendered still shows them as new (this once): leave the loaded objects alone.
    session.exec(
        update(Feedback)
        .where(col(Feedback.id).in_(feedback_ids))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
