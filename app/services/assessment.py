"""Assessing reflections against a rubric: the level per criterion, its history, the class's distribution,
what the student sees, and module completion for a gradebook.

An assessment is stored as a new row on every change (app.models.Assessment), so its history is kept;
the latest row per answer is the current one. Lecturers assess in the anonymised review, by `ref`, and
never see a name beside a level; the distribution of a class passes the k-gate (app/services/kgate.py).
`completion()` gives a score fraction per student and assignment, without any level in it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.content.model import Module, Reflection
from app.content.rubrics import Criterion, Level, Rubric
from app.i18n import gettext as _
from app.models import Answer, Assessment, Assignment, CourseClass, User, school_day, stored_id
from app.services.kgate import k_of, small_cells

COMPLETION_RULES = ("", "submitted", "assessed")


class AssessmentError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def rubric_of(catalogue: Catalogue, reflection: Reflection) -> Rubric | None:
    return catalogue.rubrics.get(reflection.rubric)


def decode(levels: str | None) -> dict[str, str]:
    """{criterion id: level id} from the stored JSON; anything malformed counts as no levels."""
    try:
        value = json.loads(levels or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def parse_levels(rubric: Rubric, form: dict[str, str]) -> dict[str, str]:
    """The levels picked in the review form (`level-<criterion>` fields), checked against the rubric.
    An empty value is "no level" for that criterion."""
    picked = {}
    for criterion in rubric.criteria:
        value = (form.get(f"level-{criterion.id}") or "").strip()
        if not value:
            continue
        if criterion.level(value) is None:
            raise AssessmentError(_("Choose one of the levels of the rubric."))
        picked[criterion.id] = value
    return picked


def current(session: Session, *, class_id: int, answer_id: int) -> Assessment | None:
    return session.exec(
        select(Assessment)
        .where(col(Assessment.class_id) == class_id, col(Assessment.answer_id) == answer_id)
        .order_by(col(Assessment.id).desc())
    ).first()


def assess(
    session: Session,
    *,
    course_class: CourseClass,
    answer_id: int,
    revision_id: int,
    assessor: User,
    rubric: Rubric,
    levels: dict[str, str],
    commit: bool = True,
) -> Assessment | None:
    """Record the levels for an answer; a new row only when they differ from the current ones (clearing
    every level after an assessment is a change too). None when nothing changed."""
    now = current(session, class_id=stored_id(course_class), answer_id=answer_id)
    if now is None and not levels:
        return None
    if now is not None and decode(now.levels) == levels and now.rubric_id == rubric.id:
        return None
    row = Assessment(
        answer_id=answer_id,
        revision_id=revision_id,
        class_id=stored_id(course_class),
        assessor_id=assessor.id,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        levels=json.dumps(levels, sort_keys=True),
    )
    session.add(row)
    if commit:
        session.commit()
    return row


def history(session: Session, *, answer_ids: list[int]) -> dict[int, list[Assessment]]:
    """Every assessment of these answers, oldest first: one query."""
    result: dict[int, list[Assessment]] = {}
    if not answer_ids:
        return result
    for row in session.exec(
        select(Assessment).where(col(Assessment.answer_id).in_(answer_ids)).order_by(col(Assessment.id))
    ):
        result.setdefault(row.answer_id, []).append(row)
    return result


# -- what people see -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelShown:
    criterion: Criterion
    level: Level
    rank: int  # 1 = the rubric's lowest level
    of: int  # how many levels the criterion has


def shown_levels(rubric: Rubric | None, levels: dict[str, str]) -> list[LevelShown]:
    """The levels in the rubric's order, skipping any the rubric no longer has."""
    if rubric is None:
        return []
    shown = []
    for criterion in rubric.criteria:
        level = criterion.level(levels.get(criterion.id, ""))
        if level is not None:
            shown.append(LevelShown(criterion, level, criterion.rank(level.id), len(criterion.levels)))
    return shown


@dataclass(frozen=True)
class HistoryEntry:
    on: date
    levels: list[LevelShown]


@dataclass
class StudentAssessment:
    """What a student sees beside their answer: the current levels with descriptor and next step, and how
    they changed (dates by the day, no assessor)."""

    rubric: Rubric
    levels: list[LevelShown]
    on: date
    on_earlier_submission: bool
    history: list[HistoryEntry] = field(default_factory=list)


def student_view(
    catalogue: Catalogue, module: Module | None, prompt_id: str, rows: list[Assessment], latest_revision_id: int | None
) -> StudentAssessment | None:
    if not rows:
        return None
    latest = rows[-1]
    rubric = catalogue.rubrics.get(latest.rubric_id)
    if rubric is None:
        return None
    levels = shown_levels(rubric, decode(latest.levels))
    if not levels:
        return None
    return StudentAssessment(
        rubric,
        levels,
        school_day(latest.created_at),
        latest_revision_id is not None and latest.revision_id != latest_revision_id,
        [
            HistoryEntry(school_day(r.created_at), shown_levels(catalogue.rubrics.get(r.rubric_id), decode(r.levels)))
            for r in rows
        ],
    )


@dataclass(frozen=True)
class LevelCell:
    level: Level
    count: int | None  # None: fewer than k (kgate.small_cells)


@dataclass(frozen=True)
class CriterionDistribution:
    criterion: Criterion
    assessed: int
    cells: list[LevelCell]


@dataclass
class LevelDistribution:
    """How the released answers to one prompt were assessed, per criterion. Shown only once at least k
    answers are assessed; cells below k are "fewer than k" (with a second one hidden where it could be
    worked out from the total)."""

    rubric: Rubric
    k: int
    assessed: int
    criteria: list[CriterionDistribution] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        return self.assessed >= self.k

    @property
    def needed(self) -> int:
        return max(0, self.k - self.assessed)


def distribution(
    rubric: Rubric, course_class: CourseClass, levels_per_answer: list[dict[str, str]]
) -> LevelDistribution:
    k = k_of(course_class)
    assessed = [levels for levels in levels_per_answer if levels]
    result = LevelDistribution(rubric, k, len(assessed))
    if not result.visible:
        return result
    for criterion in rubric.criteria:
        counts = Counter(levels.get(criterion.id) for levels in assessed)
        total = sum(counts[level.id] for level in criterion.levels)
        if total < k:
            result.criteria.append(CriterionDistribution(criterion, total, []))
            continue
        cells = small_cells([counts[level.id] for level in criterion.levels], k)
        result.criteria.append(
            CriterionDistribution(
                criterion, total, [LevelCell(level, cells[index]) for index, level in enumerate(criterion.levels)]
            )
        )
    return result


# -- completion, for a gradebook (LTI) -----------------------------------------------------------------


def set_completion_rule(session: Session, *, course_class: CourseClass, rule: str) -> None:
    if rule not in COMPLETION_RULES:
        raise AssessmentError(_("Choose when a module counts as complete."))
    course_class.completion_rule = rule
    session.add(course_class)
    session.commit()


def completion(
    session: Session, student: User, assignment: Assignment, *, catalogue: Catalogue | None = None
) -> float | None:
    """The share (0.0–1.0) of the module's reflections this student completed for this assignment's class,
    by the class's rule: submitted, or submitted and assessed. None when the class sends no completion
    (no rule) or the module is unknown. A module without reflections is complete (1.0) once assigned.
    Only a fraction leaves here: never a level, so a gradebook never shows a level beside a name."""
    course_class = session.get(CourseClass, assignment.class_id)
    if course_class is None or not course_class.completion_rule:
        return None
    if catalogue is None:
        from app import jobs

        catalogue = jobs.catalogue()
    module = catalogue.get(assignment.module_slug)
    if module is None:
        return None
    prompt_ids = list(module.reflections)
    if not prompt_ids:
        return 1.0
    rows = session.exec(
        select(Answer.id, Answer.prompt_id).where(
            col(Answer.user_id) == student.id,
            col(Answer.class_id) == course_class.id,
            col(Answer.module_slug) == module.slug,
            col(Answer.prompt_id).in_(prompt_ids),
            col(Answer.submitted_at).is_not(None),
        )
    ).all()
    done = dict(rows)
    if course_class.completion_rule == "assessed" and done:
        latest = dict(
            session.exec(
                select(Assessment.answer_id, func.max(Assessment.id))
                .where(col(Assessment.class_id) == course_class.id, col(Assessment.answer_id).in_(list(done)))
                .group_by(col(Assessment.answer_id))
            ).all()
        )
        assessed = {
            row.answer_id
            for row in session.exec(select(Assessment).where(col(Assessment.id).in_(list(latest.values()))))
            if decode(row.levels)
        }
        done = {a: p for a, p in done.items() if a in assessed}
    return round(len(set(done.values())) / len(prompt_ids), 4)
