"""One prompt's review: the released answers under pseudonyms, refs, feedback and discussion marks."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.model import Module, Reflection
from app.content.rubrics import Rubric
from app.i18n import gettext as _
from app.models import (
    Answer,
    AnswerRevision,
    Assessment,
    CourseClass,
    DiscussionMark,
    Enrolment,
    Feedback,
    User,
    aware,
    stored_id,
)
from app.services import assessment as assessing
from app.services.kgate import Released, k_of, rounds
from app.services.paging import Page, page_of, paginate
from app.services.pseudonyms import answer_ref, class_pseudonyms, prompt_scope, shuffle_key
from app.services.review.common import ANSWERS_PER_PAGE, FEEDBACK_LIMIT, ReviewError, local_day
from app.services.work_cache import WorkCache

# -- one prompt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackItem:
    text: str
    given_on: date
    author_name: str | None
    by_me: bool
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
    # The current assessment (criterion id: level id), whether it was given on an earlier submission,
    # and how many times it was set or changed.
    levels: dict[str, str] = field(default_factory=dict)
    assessed_earlier: bool = False
    assessments: int = 0


@dataclass(frozen=True)
class _Submitted:
    """Server-side only: what a ref stands for. Never passed to a template."""

    answer_id: int
    user_id: int
    revision_id: int
    prompt_hash: str
    round_closed_at: datetime
    marked: bool
    levels: str | None = None  # the latest assessment's JSON
    assessed_revision: int | None = None
    assessments: int = 0


@dataclass(frozen=True)
class _Resolved:
    """Server-side only: the answer a ref stands for, and the page of the review that shows it."""

    answer_id: int
    revision_id: int
    page: int


class KGate:
    """Answers are shown in rounds of at least k students (k: the class's minimum group size, never
    below 3), so that no one is recognised by a lone answer or by the moment an answer appeared.
    Needs `submitted` (the answers released so far) and `k`."""

    submitted: int
    if TYPE_CHECKING:  # a field of the dataclasses below, a property of PromptReview

        @property
        def k(self) -> int: ...

    @property
    def visible(self) -> bool:
        return self.submitted >= self.k

    @property
    def needed(self) -> int:
        return max(0, self.k - self.submitted)


@dataclass
class PromptReview(KGate):
    """One prompt's review. `submitted` counts the released answers (whole rounds); `answers` are the
    ones shown: one page of them (`page`), or all of them for an export."""

    course_class: CourseClass
    module: Module
    reflection: Reflection
    submitted: int
    answers: list[ReviewedAnswer] = field(default_factory=list)
    page: Page[ReviewedAnswer] | None = None
    earlier_versions: int = 0
    marked: int = 0
    waiting: bool = False  # some answers wait for the next round (how many is never shown)
    rubric: Rubric | None = None
    levels: assessing.LevelDistribution | None = None  # the class's levels, k-gated

    @property
    def k(self) -> int:
        return k_of(self.course_class)


@dataclass(frozen=True)
class _ReleasedAnswer:
    """Server-side only: an answer the rounds of k released, with its latest revision up to the latest round."""

    answer_id: int
    user_id: int
    revision_id: int
    prompt_hash: str
    round_closed_at: datetime


@dataclass(frozen=True)
class _Release:
    """One prompt's answers as the rounds of k released them, in the review's order (a keyed shuffle, the
    same on every load), with their refs and, for per-prompt pseudonyms, their labels. It depends only on
    the students' submissions and addresses: worked out once per state of the class's work."""

    released: Released
    ordered: tuple[_ReleasedAnswer, ...]
    refs: tuple[str, ...]
    labels: dict[int, str] | None  # None when the class shares pseudonyms: those follow the roster


_RELEASES = WorkCache()


def _release(session: Session, secret: bytes, *, course_class: CourseClass, module: Module, prompt_id: str) -> _Release:
    key = (
        hashlib.blake2b(secret, digest_size=8).digest(),
        k_of(course_class),
        module.slug,
        prompt_id,
        course_class.shared_pseudonyms,
    )
    return _RELEASES.get(
        session,
        class_id=stored_id(course_class),
        key=key,
        compute=lambda: _work_out_release(
            session, secret, course_class=course_class, module=module, prompt_id=prompt_id
        ),
    )


def _work_out_release(
    session: Session, secret: bytes, *, course_class: CourseClass, module: Module, prompt_id: str
) -> _Release:
    """Every answer written for this class to this prompt by a student with a verified address enters the
    review at its first submission (or the verification, if that came later); rounds of k release them,
    each with the latest revision submitted up to the latest round (a later resubmission waits for the next
    round): two queries. No texts: a page reads (and decrypts) only the texts it shows (_texts)."""
    first = func.min(AnswerRevision.submitted_at)
    entries = [
        (answer_id, user_id, max(aware(first_at), aware(verified_at)))
        for answer_id, user_id, first_at, verified_at in session.execute(
            sa_select(col(Answer.id), col(Answer.user_id), first, col(User.email_verified_at))
            .join(AnswerRevision, col(AnswerRevision.answer_id) == col(Answer.id))
            .join(User, col(User.id) == col(Answer.user_id))
            .where(
                col(Answer.class_id) == course_class.id,
                col(Answer.module_slug) == module.slug,
                col(Answer.prompt_id) == prompt_id,
                col(User.email_verified_at).is_not(None),
            )
            .group_by(col(Answer.id), col(Answer.user_id), col(User.email_verified_at))
        )
    ]
    released = rounds([(answer_id, entered_at) for answer_id, _user, entered_at in entries], k_of(course_class))
    if not released or released.cutoff is None:  # a cutoff comes with the first release
        return _Release(released, (), (), {})
    latest: dict[int, tuple[int, str]] = {}  # answer id -> (revision id, prompt hash)
    for revision_id, answer_id, submitted_at, prompt_hash in session.execute(
        sa_select(
            col(AnswerRevision.id),
            col(AnswerRevision.answer_id),
            col(AnswerRevision.submitted_at),
            col(AnswerRevision.prompt_hash),
        )
        .where(col(AnswerRevision.answer_id).in_(list(released.closed_at)))
        .order_by(col(AnswerRevision.id))
    ):
        if aware(submitted_at) <= released.cutoff:
            latest[answer_id] = (revision_id, prompt_hash)
    class_id = stored_id(course_class)
    ordered = tuple(
        sorted(
            (
                _ReleasedAnswer(answer_id, user_id, *latest[answer_id], released.closed_at[answer_id])
                for answer_id, user_id, _entered in entries
                if answer_id in released and answer_id in latest
            ),
            key=lambda item: shuffle_key(secret, class_id=class_id, prompt_id=prompt_id, answer_id=item.answer_id),
        )
    )
    labels = (
        None
        if course_class.shared_pseudonyms
        else class_pseudonyms(
            secret,
            class_id=class_id,
            user_ids={item.user_id for item in ordered},
            scope=prompt_scope(module.slug, prompt_id),
        )
    )
    refs = tuple(answer_ref(secret, class_id=class_id, answer_id=item.answer_id) for item in ordered)
    return _Release(released, ordered, refs, labels)


def _lecturers_marks(session: Session, *, course_class: CourseClass, answer_ids: list[int]) -> dict[int, tuple]:
    """What lecturers did with these answers: marked to discuss, and the latest assessment (its levels and
    revision) with how many there were: one query. The lecturers' doing, so never cached."""
    if not answer_ids:
        return {}
    # The latest assessment rides along as correlated subqueries.
    latest = (
        select(col(Assessment.id))
        .where(col(Assessment.answer_id) == col(Answer.id), col(Assessment.class_id) == course_class.id)
        .order_by(col(Assessment.id).desc())
        .limit(1)
        .correlate(Answer)
        .scalar_subquery()
    )
    levels = select(Assessment.levels).where(col(Assessment.id) == latest).scalar_subquery()
    assessed_revision = select(Assessment.revision_id).where(col(Assessment.id) == latest).scalar_subquery()
    assessments = (
        select(func.count(col(Assessment.id)))
        .where(col(Assessment.answer_id) == col(Answer.id), col(Assessment.class_id) == course_class.id)
        .scalar_subquery()
    )
    return {
        answer_id: (marked is not None, levels_json, revision, count)
        for answer_id, marked, levels_json, revision, count in session.execute(
            sa_select(col(Answer.id), col(DiscussionMark.answer_id), levels, assessed_revision, assessments)
            .outerjoin(
                DiscussionMark,
                and_(col(DiscussionMark.class_id) == course_class.id, col(DiscussionMark.answer_id) == col(Answer.id)),
            )
            .where(col(Answer.id).in_(answer_ids))
        )
    }


def _submitted_answers(session: Session, release: _Release, *, course_class: CourseClass) -> list[_Submitted]:
    """The released answers in the review's order, with what lecturers did with them."""
    marks = _lecturers_marks(session, course_class=course_class, answer_ids=[i.answer_id for i in release.ordered])
    return [
        _Submitted(
            item.answer_id,
            item.user_id,
            item.revision_id,
            item.prompt_hash,
            item.round_closed_at,
            *marks.get(item.answer_id, (False, None, None, 0)),
        )
        for item in release.ordered
    ]


def _texts(session: Session, items: Sequence[_Submitted]) -> dict[int, str]:
    """The texts of the revisions shown, by revision id: one query for a page."""
    if not items:
        return {}
    return dict(
        session.execute(
            sa_select(col(AnswerRevision.id), col(AnswerRevision.text)).where(
                col(AnswerRevision.id).in_([item.revision_id for item in items])
            )
        ).all()
    )


def _class_user_ids(session: Session, *, course_class: CourseClass) -> list[int]:
    return list(session.exec(select(Enrolment.user_id).where(col(Enrolment.class_id) == course_class.id)))


def _labels(
    session: Session, secret: bytes, *, course_class: CourseClass, release: _Release, submitted: list[_Submitted]
) -> dict[int, str]:
    """Pseudonyms: per prompt by default (collisions resolved among the released authors, so labels
    change only with a round: worked out with the release); one per class when the class chose so
    (among all its students, so they follow the roster)."""
    if release.labels is not None:
        return release.labels
    return class_pseudonyms(
        secret,
        class_id=stored_id(course_class),
        user_ids={item.user_id for item in submitted} | set(_class_user_ids(session, course_class=course_class)),
    )


def prompt_review(
    session: Session,
    *,
    secret: bytes,
    course_class: CourseClass,
    module: Module,
    prompt_id: str,
    viewer: User | None = None,
    page: int | str | None = None,
    ref: str | None = None,
    per_page: int | None = ANSWERS_PER_PAGE,
    rubric: Rubric | None = None,
) -> PromptReview:
    """The released answers to one prompt, shuffled, under pseudonyms, dated by their round; empty
    before the first round. Five queries (six with one pseudonym across prompts), two more when the
    class's work changed since the release was last worked out (_release).

    Shows page `page` (a missing, malformed or too-high number gives the nearest page), or the page that
    holds the answer `ref` when it is given and found; `per_page=None` shows all answers (the exports).
    Replies to feedback are released in rounds of k too; whether a student read feedback is never shown.
    """
    reflection = module.reflections[prompt_id]
    release = _release(session, secret, course_class=course_class, module=module, prompt_id=prompt_id)
    review = PromptReview(
        course_class,
        module,
        reflection,
        submitted=len(release.ordered),
        waiting=release.released.pending > 0,
        rubric=rubric,
    )
    if not review.visible:
        return review
    submitted = _submitted_answers(session, release, course_class=course_class)
    if rubric is not None:
        review.levels = assessing.distribution(rubric, course_class, [assessing.decode(i.levels) for i in submitted])
    review.earlier_versions = sum(item.prompt_hash != reflection.prompt_hash for item in submitted)
    review.marked = sum(item.marked for item in submitted)
    ordered = submitted  # in the release's order
    size = per_page or len(ordered)
    if ref is not None and ref in release.refs:
        page = page_of(release.refs.index(ref), per_page=size)
    shown = paginate(ordered, page=page, per_page=size)
    labels = _labels(session, secret, course_class=course_class, release=release, submitted=submitted)
    # Replies are released in rounds over the whole prompt: when each was written, for every released answer;
    # the texts of feedback and replies only for the answers on this page.
    author_of = {item.answer_id: item.user_id for item in submitted}
    replies = rounds(
        [
            (feedback_id, replied_at, author_of[answer_id])
            for feedback_id, answer_id, replied_at in session.execute(
                sa_select(col(Feedback.id), col(Feedback.answer_id), col(Feedback.replied_at)).where(
                    col(Feedback.class_id) == course_class.id,
                    col(Feedback.answer_id).in_(list(author_of)),
                    col(Feedback.replied_at).is_not(None),
                )
            )
        ],
        review.k,
    )
    on_page = {item.answer_id for item in shown.items}
    latest_revision = {item.answer_id: item.revision_id for item in shown.items}
    feedback_rows = session.exec(
        select(Feedback, User.display_name)
        .outerjoin(User, col(User.id) == col(Feedback.author_id))
        .where(col(Feedback.class_id) == course_class.id, col(Feedback.answer_id).in_(list(on_page)))
        .order_by(col(Feedback.created_at), col(Feedback.id))
    ).all()
    texts = _texts(session, shown.items)
    feedback: dict[int, list[FeedbackItem]] = defaultdict(list)
    for row, author_name in feedback_rows:
        reply = row.id in replies
        feedback[row.answer_id].append(
            FeedbackItem(
                text=row.text,
                given_on=local_day(row.created_at),
                author_name=author_name,
                by_me=viewer is not None and row.author_id == viewer.id,
                on_earlier_submission=row.revision_id != latest_revision.get(row.answer_id),
                reply_text=row.reply_text if reply else None,
                replied_on=local_day(replies.closed_at[row.id]) if reply else None,
            )
        )
    ref_of = dict(zip((item.answer_id for item in release.ordered), release.refs, strict=True))
    review.answers = [
        ReviewedAnswer(
            ref=ref_of[item.answer_id],
            pseudonym=labels[item.user_id],
            submitted_on=local_day(item.round_closed_at),
            text=texts[item.revision_id],
            earlier_version=item.prompt_hash != reflection.prompt_hash,
            marked=item.marked,
            feedback=feedback[item.answer_id],
            levels=assessing.decode(item.levels),
            assessed_earlier=item.assessed_revision is not None and item.assessed_revision != item.revision_id,
            assessments=item.assessments or 0,
        )
        for item in shown.items
    ]
    review.page = shown.with_items(review.answers)
    return review


def resolve_ref(
    session: Session, *, secret: bytes, course_class: CourseClass, module: Module, prompt_id: str, ref: str
) -> _Resolved | None:
    """The answer a ref stands for, among this class's released answers to this prompt, with the page of
    the review that shows it (to return to after a form without JavaScript)."""
    release = _release(session, secret, course_class=course_class, module=module, prompt_id=prompt_id)
    if len(release.ordered) < k_of(course_class) or ref not in release.refs:
        return None
    index = release.refs.index(ref)
    found = release.ordered[index]
    return _Resolved(found.answer_id, found.revision_id, page_of(index, per_page=ANSWERS_PER_PAGE))


def give_feedback(
    session: Session,
    *,
    course_class: CourseClass,
    answer_id: int,
    revision_id: int,
    author: User,
    text: str,
    level_fields: bool = False,
) -> Feedback:
    """Feedback on the revision the lecturer read; it reaches the student without the lecturer knowing who.
    `level_fields`: the form could also set a level (so an empty form asks for either)."""
    text = text.strip()
    if not text:
        if level_fields:
            raise ReviewError("feedback", _("Write feedback or choose a level."))
        raise ReviewError("feedback", _("Write your feedback first."))
    if len(text) > FEEDBACK_LIMIT:
        raise ReviewError("feedback", _("Use at most %(num)s characters.") % {"num": FEEDBACK_LIMIT})
    feedback = Feedback(
        answer_id=answer_id, revision_id=revision_id, class_id=stored_id(course_class), author_id=author.id, text=text
    )
    session.add(feedback)
    from app.services import notifications  # the student hears of it (issue 21)

    notifications.on_feedback(session, feedback)
    session.commit()
    return feedback


def set_discussion_mark(session: Session, *, course_class: CourseClass, answer_id: int, marked: bool) -> None:
    existing = session.get(DiscussionMark, (course_class.id, answer_id))
    if marked and existing is None:
        session.add(DiscussionMark(class_id=stored_id(course_class), answer_id=answer_id))
    elif not marked and existing is not None:
        session.delete(existing)
    session.commit()
