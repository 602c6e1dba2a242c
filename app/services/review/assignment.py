"""One assignment's overview: per prompt how many answers are shown, and the case choices behind the k-gate."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.model import Module, Reflection, Step, Vignette
from app.models import (
    Answer,
    CourseClass,
    DiscussionMark,
    Enrolment,
    Feedback,
    User,
    VignetteRun,
    aware,
)
from app.services.kgate import K_FLOOR, k_of, released_count, rounds, small_cells
from app.services.review.prompt import KGate

# -- one assignment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptSummary(KGate):
    reflection: Reflection
    submitted: int
    k: int
    feedback: int
    replies: int
    marked: int


@dataclass(frozen=True)
class ChoiceCount:
    label_html: str
    count: int | None  # None: fewer than k (see kgate.small_cells)
    share: int | None  # percent of the students who chose at this step


@dataclass(frozen=True)
class StepDistribution:
    step: Step
    number: int
    students: int | None  # None: fewer than k reached this step (its choices are not shown)
    choices: list[ChoiceCount]


@dataclass(frozen=True)
class EndingCount:
    step: Step
    count: int | None
    share: int | None


@dataclass
class VignetteDistribution:
    vignette: Vignette
    students: int
    k: int
    steps: list[StepDistribution] = field(default_factory=list)
    endings: list[EndingCount] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        return self.students >= self.k

    @property
    def needed(self) -> int:
        return max(0, self.k - self.students)


@dataclass
class AssignmentReview:
    course_class: CourseClass
    module: Module
    prompts: list[PromptSummary]
    vignettes: list[VignetteDistribution]


def _share(count: int | None, total: int) -> int | None:
    if count is None:
        return None
    return round(100 * count / total) if total else 0


def assignment_review(session: Session, *, course_class: CourseClass, module: Module) -> AssignmentReview:
    """Per prompt: how many answers were released (whole rounds) and the feedback given; per branching
    vignette: the choices, gated. Four queries."""
    verified = and_(col(User.id) == col(Answer.user_id), col(User.email_verified_at).is_not(None))
    submitted = dict(
        session.exec(
            select(Answer.prompt_id, func.count())
            .join(User, verified)
            .where(
                col(Answer.class_id) == course_class.id,
                col(Answer.module_slug) == module.slug,
                col(Answer.submitted_at).is_not(None),
            )
            .group_by(col(Answer.prompt_id))
        ).all()
    )
    given_on: Counter[str] = Counter()
    replied: dict[str, list] = defaultdict(list)
    for prompt_id, feedback_id, replied_at, author_id in session.exec(
        select(Answer.prompt_id, Feedback.id, Feedback.replied_at, Answer.user_id)
        .select_from(Feedback)
        .join(Answer, col(Answer.id) == col(Feedback.answer_id))
        .where(col(Feedback.class_id) == course_class.id, col(Answer.module_slug) == module.slug)
    ).all():
        given_on[prompt_id] += 1
        if replied_at is not None:
            replied[prompt_id].append((feedback_id, replied_at, author_id))
    marks = dict(
        session.exec(
            select(Answer.prompt_id, func.count())
            .select_from(DiscussionMark)
            .join(Answer, col(Answer.id) == col(DiscussionMark.answer_id))
            .where(col(DiscussionMark.class_id) == course_class.id, col(Answer.module_slug) == module.slug)
            .group_by(col(Answer.prompt_id))
        ).all()
    )
    k = k_of(course_class)
    prompts = []
    for reflection in module.reflections.values():
        # Rounds of k release answers (and replies) in order, so the released count is a multiple of k.
        count = released_count(submitted.get(reflection.id, 0), k)
        visible = count >= k
        given = given_on[reflection.id] if visible else 0
        replies = len(rounds(replied[reflection.id], k)) if visible else 0
        prompts.append(
            PromptSummary(reflection, count, k, given, replies, marks.get(reflection.id, 0) if visible else 0)
        )
    return AssignmentReview(
        course_class, module, prompts, vignette_distributions(session, course_class=course_class, module=module)
    )


def vignette_distributions(
    session: Session, *, course_class: CourseClass, module: Module
) -> list[VignetteDistribution]:
    """Each student's latest walk through each branching vignette, counted per step: one query.

    Only walks finished after the student joined this class count (a new class learns nothing of what
    its students did before), students enter in rounds of k like answers, and cells below k are
    shown as "fewer than 3" (with a second cell hidden where one could be worked out)."""
    vignettes = module.branching_vignettes()
    if not vignettes:
        return []
    rows = session.execute(
        sa_select(
            col(VignetteRun.user_id),
            col(VignetteRun.vignette_id),
            col(VignetteRun.path),
            col(VignetteRun.ending_id),
            col(VignetteRun.finished_at),
        )
        .join(
            Enrolment,
            and_(col(Enrolment.user_id) == col(VignetteRun.user_id), col(Enrolment.class_id) == course_class.id),
        )
        .join(User, col(User.id) == col(VignetteRun.user_id))
        .where(
            col(VignetteRun.module_slug) == module.slug,
            col(VignetteRun.vignette_id).in_([v.id for v in vignettes]),
            col(VignetteRun.finished_at).is_not(None),
            col(VignetteRun.finished_at) >= col(Enrolment.created_at),
            col(User.email_verified_at).is_not(None),
        )
        .order_by(col(VignetteRun.finished_at), col(VignetteRun.id))
    ).all()
    k = k_of(course_class)
    runs_of: dict[str, dict[Hashable, list[tuple]]] = defaultdict(dict)  # vignette -> user -> walks
    for user_id, vignette_id, path, ending_id, finished_at in rows:  # ordered by time
        runs_of[vignette_id].setdefault(user_id, []).append((aware(finished_at), path, ending_id))
    result = []
    for vignette in vignettes:
        walks = runs_of.get(vignette.id, {})
        released = rounds([(user_id, runs[0][0]) for user_id, runs in walks.items()], k)
        runs = []
        for user_id in released.closed_at:
            upto = [run for run in walks[user_id] if run[0] <= released.cutoff]
            runs.append(upto[-1][1:])  # the latest walk released with the round
        distribution = VignetteDistribution(vignette, students=len(runs), k=k)
        result.append(distribution)
        if not distribution.visible:
            continue
        chosen: Counter[tuple[str, int]] = Counter()
        reached: Counter[str] = Counter()
        endings: Counter[str] = Counter()
        for path, ending_id in runs:
            picks = _picks(path, vignette)
            chosen.update(picks)
            reached.update({step_id for step_id, _ in picks})
            if ending_id in vignette.steps:
                endings[ending_id] += 1
        number = 0
        for step in vignette.steps.values():
            if step.is_ending or not step.choices:
                continue
            number += 1
            total = reached[step.id]
            if 0 < total < K_FLOOR:
                distribution.steps.append(StepDistribution(step, number, None, []))
                continue
            cells = small_cells([chosen[(step.id, index)] for index in range(len(step.choices))], K_FLOOR)
            distribution.steps.append(
                StepDistribution(
                    step,
                    number,
                    total,
                    [
                        ChoiceCount(choice.label_html, cells[index], _share(cells[index], total))
                        for index, choice in enumerate(step.choices)
                    ],
                )
            )
        ending_steps = [step for step in vignette.steps.values() if step.is_ending]
        cells = small_cells([endings[step.id] for step in ending_steps], K_FLOOR)
        distribution.endings = [
            EndingCount(step, cells[index], _share(cells[index], len(runs))) for index, step in enumerate(ending_steps)
        ]
    return result


def _picks(path: str, vignette: Vignette) -> set[tuple[str, int]]:
    """The (step, choice) pairs of a run that still exist in the vignette; a step counts once per student."""
    try:
        pairs = json.loads(path or "[]")
    except ValueError:
        return set()
    picks = set()
    for pair in pairs if isinstance(pairs, list) else []:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int)):
            continue
        step = vignette.steps.get(pair[0]) if isinstance(pair[0], str) else None
        if step is not None and 0 <= pair[1] < len(step.choices):
            picks.add((pair[0], pair[1]))
    return picks
