"""Anonymised review: what the students of a class submitted, under pseudonyms, only above k.

Everything a review page, partial or export shows comes from here, and nothing here hands a name,
email address or database id to a template: answers are referred to by `answer_ref` tokens, students
by their pseudonym in the class, times by the day only. Each function uses a fixed number of queries,
whatever the number of students.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import and_, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.content.model import Module, Reflection, Step, Vignette
from app.i18n import gettext as _
from app.models import (Answer, AnswerRevision, CourseClass, DiscussionMark, Enrolment, Feedback, User,
                        VignetteRun, school_day)
from app.services.paging import Page, page_of, paginate
from app.services.pseudonyms import answer_ref, class_pseudonyms, shuffle_key

FEEDBACK_LIMIT = 5000
ANSWERS_PER_PAGE = 25


class ReviewError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def local_day(value: datetime | None) -> date | None:
    """Dates by the day only, in the school's time zone: no hour or minute narrows down who wrote it."""
    return school_day(value) if value is not None else None


# -- one prompt ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackItem:
    text: str
    given_on: date
    author_name: str | None
    by_me: bool
    seen: bool
    on_earlier_submission: bool
    reply_text: str | None
    replied_on: date | None


@dataclass
class ReviewedAnswer:
    ref: str
    pseudonym: str
    submitted_on: date
    text: str
    earlier_version: bool
    marked: bool = False
    feedback: list[FeedbackItem] = field(default_factory=list)


@dataclass(frozen=True)
class _Submitted:
    """Server-side only: what a ref stands for. Never passed to a template."""

    answer_id: int
    user_id: int
    revision_id: int
    text: str
    prompt_hash: str
    submitted_at: datetime
    marked: bool


@dataclass(frozen=True)
class _Resolved:
    """Server-side only: the answer a ref stands for, and the page of the review that shows it."""

    answer_id: int
    revision_id: int
    page: int


class KGate:
    """Answers are shown only once k students have submitted, so that no one is recognised by a lone
    answer (k is the class's minimum group size). Needs `submitted` and `k`."""

    submitted: int
    k: int

    @property
    def visible(self) -> bool:
        return self.submitted >= self.k

    @property
    def needed(self) -> int:
        return max(0, self.k - self.submitted)


@dataclass
class PromptReview(KGate):
    """One prompt's review. The counts are over all submitted answers; `answers` are the ones shown:
    one page of them (`page`), or all of them for an export."""

    course_class: CourseClass
    module: Module
    reflection: Reflection
    submitted: int
    answers: list[ReviewedAnswer] = field(default_factory=list)
    page: Page[ReviewedAnswer] | None = None
    earlier_versions: int = 0
    marked: int = 0

    @property
    def k(self) -> int:
        return self.course_class.min_group_size


def _submitted_answers(session: Session, *, course_class: CourseClass, module: Module, prompt_id: str) -> list[_Submitted]:
    """The latest shared revision of every submitted answer of a student in the class, and whether it is
    marked to discuss: one query. It starts from the class's students (`IN`, not a join), so the database
    looks their answers up by (user, module, prompt) instead of reading every answer to the module."""
    later = aliased(AnswerRevision)
    latest_id = (select(func.max(later.id)).where(later.answer_id == Answer.id)
                 .correlate(Answer).scalar_subquery())
    students = select(Enrolment.user_id).where(Enrolment.class_id == course_class.id)
    rows = session.exec(
        select(Answer.id, Answer.user_id, AnswerRevision.id, AnswerRevision.text, AnswerRevision.prompt_hash,
               AnswerRevision.submitted_at, DiscussionMark.answer_id)
        .join(AnswerRevision, AnswerRevision.answer_id == Answer.id)
        .outerjoin(DiscussionMark, and_(DiscussionMark.class_id == course_class.id,
                                        DiscussionMark.answer_id == Answer.id))
        .where(Answer.module_slug == module.slug, Answer.prompt_id == prompt_id, col(Answer.user_id).in_(students),
               col(Answer.submitted_at).is_not(None), AnswerRevision.id == latest_id)
    ).all()
    return [_Submitted(*row[:6], marked=row[6] is not None) for row in rows]


def _prompt_answer_ids(module: Module, prompt_id: str):
    return select(Answer.id).where(Answer.module_slug == module.slug, Answer.prompt_id == prompt_id)


def _class_user_ids(session: Session, *, course_class: CourseClass) -> list[int]:
    return list(session.exec(select(Enrolment.user_id).where(Enrolment.class_id == course_class.id)))


def _shuffled(secret: bytes, *, course_class: CourseClass, prompt_id: str,
              submitted: list[_Submitted]) -> list[_Submitted]:
    """The review's order: a keyed shuffle, the same on every load, so a page always holds the same answers."""
    return sorted(submitted, key=lambda item: shuffle_key(secret, class_id=course_class.id, prompt_id=prompt_id,
                                                          answer_id=item.answer_id))


def _index_of(secret: bytes, *, course_class: CourseClass, items: list[_Submitted], ref: str) -> int | None:
    return next((index for index, item in enumerate(items)
                 if answer_ref(secret, class_id=course_class.id, answer_id=item.answer_id) == ref), None)


def prompt_review(session: Session, *, secret: bytes, course_class: CourseClass, module: Module, prompt_id: str,
                  viewer: User | None = None, page: int | str | None = None, ref: str | None = None,
                  per_page: int | None = ANSWERS_PER_PAGE) -> PromptReview:
    """The answers to one prompt, shuffled, under pseudonyms; empty below the class's k. Three queries.

    Shows page `page` (a missing, malformed or too-high number gives the nearest page), or the page that
    holds the answer `ref` when it is given and found; `per_page=None` shows all answers (the exports).
    Refs, pseudonyms and feedback are worked out for the answers shown only.
    """
    reflection = module.reflections[prompt_id]
    submitted = _submitted_answers(session, course_class=course_class, module=module, prompt_id=prompt_id)
    review = PromptReview(course_class, module, reflection, submitted=len(submitted))
    if not review.visible:
        return review
    review.earlier_versions = sum(item.prompt_hash != reflection.prompt_hash for item in submitted)
    review.marked = sum(item.marked for item in submitted)
    ordered = _shuffled(secret, course_class=course_class, prompt_id=prompt_id, submitted=submitted)
    size = per_page or len(ordered)
    if ref is not None:
        index = _index_of(secret, course_class=course_class, items=ordered, ref=ref)
        if index is not None:
            page = page_of(index, per_page=size)
    shown = paginate(ordered, page=page, per_page=size)
    labels = class_pseudonyms(secret, class_id=course_class.id,
                              user_ids=_class_user_ids(session, course_class=course_class))
    # A page asks only for its own answers' feedback; an export (all answers) for the prompt's.
    answer_ids = [item.answer_id for item in shown.items] if per_page else _prompt_answer_ids(module, prompt_id)
    feedback_rows = session.exec(
        select(Feedback, User.display_name).outerjoin(User, User.id == Feedback.author_id)
        .where(Feedback.class_id == course_class.id, col(Feedback.answer_id).in_(answer_ids))
        .order_by(Feedback.created_at, Feedback.id)
    ).all()
    latest_revision = {item.answer_id: item.revision_id for item in shown.items}
    feedback: dict[int, list[FeedbackItem]] = defaultdict(list)
    for row, author_name in feedback_rows:
        feedback[row.answer_id].append(FeedbackItem(
            text=row.text, given_on=local_day(row.created_at), author_name=author_name,
            by_me=viewer is not None and row.author_id == viewer.id, seen=row.read_at is not None,
            on_earlier_submission=row.revision_id != latest_revision.get(row.answer_id),
            reply_text=row.reply_text, replied_on=local_day(row.replied_at)))
    review.answers = [
        ReviewedAnswer(ref=answer_ref(secret, class_id=course_class.id, answer_id=item.answer_id),
                       pseudonym=labels[item.user_id], submitted_on=local_day(item.submitted_at), text=item.text,
                       earlier_version=item.prompt_hash != reflection.prompt_hash,
                       marked=item.marked, feedback=feedback[item.answer_id])
        for item in shown.items
    ]
    review.page = replace(shown, items=review.answers)
    return review


def resolve_ref(session: Session, *, secret: bytes, course_class: CourseClass, module: Module, prompt_id: str,
                ref: str) -> _Resolved | None:
    """The answer a ref stands for, among this class's submitted answers to this prompt, above k only,
    with the page of the review that shows it (to return to after a form without JavaScript)."""
    submitted = _submitted_answers(session, course_class=course_class, module=module, prompt_id=prompt_id)
    if len(submitted) < course_class.min_group_size:
        return None
    ordered = _shuffled(secret, course_class=course_class, prompt_id=prompt_id, submitted=submitted)
    index = _index_of(secret, course_class=course_class, items=ordered, ref=ref)
    if index is None:
        return None
    found = ordered[index]
    return _Resolved(found.answer_id, found.revision_id, page_of(index, per_page=ANSWERS_PER_PAGE))


def give_feedback(session: Session, *, course_class: CourseClass, answer_id: int, revision_id: int, author: User,
                  text: str) -> Feedback:
    """Feedback on the revision the lecturer read; it reaches the student without the lecturer knowing who."""
    text = text.strip()
    if not text:
        raise ReviewError("feedback", _("Write your feedback first."))
    if len(text) > FEEDBACK_LIMIT:
        raise ReviewError("feedback", _("Use at most %(num)s characters.") % {"num": FEEDBACK_LIMIT})
    feedback = Feedback(answer_id=answer_id, revision_id=revision_id, class_id=course_class.id,
                        author_id=author.id, text=text)
    session.add(feedback)
    session.commit()
    return feedback


def set_discussion_mark(session: Session, *, course_class: CourseClass, answer_id: int, marked: bool) -> None:
    existing = session.get(DiscussionMark, (course_class.id, answer_id))
    if marked and existing is None:
        session.add(DiscussionMark(class_id=course_class.id, answer_id=answer_id))
    elif not marked and existing is not None:
        session.delete(existing)
    session.commit()


# -- exports ------------------------------------------------------------------------------------

def _cell(value: str) -> str:
    """Spreadsheets run cells that start with these characters as formulas (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(review: PromptReview) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["pseudonym", "date", "text", "earlier_version", "discuss"])
    for answer in review.answers:
        writer.writerow([answer.pseudonym, answer.submitted_on.isoformat(), _cell(answer.text),
                         "yes" if answer.earlier_version else "no", "yes" if answer.marked else "no"])
    return buffer.getvalue()


def export_markdown(review: PromptReview) -> str:
    reflection = review.reflection
    # Babel does not read _() inside f-strings: every translated text is its own expression.
    title = reflection.title or _("Reflection question")
    earlier = _("Written for an earlier version of the prompt.")
    marked = _("Marked to discuss in class.")
    lines = [f"# {title}", "", f"{review.module.title} · {review.course_class.name}", ""]
    lines += [_("%(num)s anonymised answers, in random order.") % {"num": len(review.answers)}, ""]
    for answer in review.answers:
        lines += [f"## {answer.pseudonym} · {answer.submitted_on.isoformat()}", ""]
        if answer.earlier_version:
            lines += [f"_{earlier}_", ""]
        if answer.marked:
            lines += [f"_{marked}_", ""]
        lines += [f"> {line}" if line.strip() else ">" for line in answer.text.strip().splitlines()] + [""]
    return "\n".join(lines)


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
    count: int
    share: int  # percent of the students who chose at this step


@dataclass(frozen=True)
class StepDistribution:
    step: Step
    number: int
    students: int
    choices: list[ChoiceCount]


@dataclass(frozen=True)
class EndingCount:
    step: Step
    count: int
    share: int


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


def _share(count: int, total: int) -> int:
    return round(100 * count / total) if total else 0


def assignment_review(session: Session, *, course_class: CourseClass, module: Module) -> AssignmentReview:
    """Per prompt: how many submitted (and feedback given); per branching vignette: the choices. Four queries."""
    in_class = and_(Enrolment.user_id == Answer.user_id, Enrolment.class_id == course_class.id)
    submitted = dict(session.exec(
        select(Answer.prompt_id, func.count()).join(Enrolment, in_class)
        .where(Answer.module_slug == module.slug, col(Answer.submitted_at).is_not(None))
        .group_by(Answer.prompt_id)).all())
    feedback_counts = {prompt_id: (given, replies) for prompt_id, given, replies in session.exec(
        select(Answer.prompt_id, func.count(Feedback.id), func.count(Feedback.reply_text))
        .select_from(Feedback).join(Answer, Answer.id == Feedback.answer_id)
        .where(Feedback.class_id == course_class.id, Answer.module_slug == module.slug)
        .group_by(Answer.prompt_id)).all()}
    marks = dict(session.exec(
        select(Answer.prompt_id, func.count()).select_from(DiscussionMark)
        .join(Answer, Answer.id == DiscussionMark.answer_id)
        .where(DiscussionMark.class_id == course_class.id, Answer.module_slug == module.slug)
        .group_by(Answer.prompt_id)).all())
    k = course_class.min_group_size
    prompts = []
    for reflection in module.reflections.values():
        count = submitted.get(reflection.id, 0)
        visible = count >= k
        given, replies = feedback_counts.get(reflection.id, (0, 0)) if visible else (0, 0)
        prompts.append(PromptSummary(reflection, count, k, given, replies,
                                     marks.get(reflection.id, 0) if visible else 0))
    return AssignmentReview(course_class, module, prompts,
                            vignette_distributions(session, course_class=course_class, module=module))


def vignette_distributions(session: Session, *, course_class: CourseClass, module: Module) -> list[VignetteDistribution]:
    """Each student's latest finished walk through each branching vignette, counted per step: one query."""
    vignettes = module.branching_vignettes()
    if not vignettes:
        return []
    rows = session.exec(
        select(VignetteRun.user_id, VignetteRun.vignette_id, VignetteRun.path, VignetteRun.ending_id)
        .join(Enrolment, and_(Enrolment.user_id == VignetteRun.user_id, Enrolment.class_id == course_class.id))
        .where(VignetteRun.module_slug == module.slug, col(VignetteRun.vignette_id).in_([v.id for v in vignettes]),
               col(VignetteRun.finished_at).is_not(None))
        .order_by(VignetteRun.finished_at, VignetteRun.id)
    ).all()
    latest: dict[tuple[str, int], tuple[str, str | None]] = {}
    for user_id, vignette_id, path, ending_id in rows:
        latest[(vignette_id, user_id)] = (path, ending_id)  # ordered by time: the last one wins
    k = course_class.min_group_size
    result = []
    for vignette in vignettes:
        runs = [run for (vignette_id, _), run in latest.items() if vignette_id == vignette.id]
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
            distribution.steps.append(StepDistribution(step, number, total, [
                ChoiceCount(choice.label_html, chosen[(step.id, index)], _share(chosen[(step.id, index)], total))
                for index, choice in enumerate(step.choices)]))
        distribution.endings = [EndingCount(step, endings[step.id], _share(endings[step.id], len(runs)))
                                for step in vignette.steps.values() if step.is_ending]
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
