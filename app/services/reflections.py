"""A student's reflections: drafts saved as they type, submissions kept as revisions, replies to feedback."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from app.content.markdown import count_words
from app.content.model import Module, Reflection
from app.i18n import format_number
from app.i18n import gettext as _
from app.models import Answer, AnswerRevision, Feedback, stored_id, utcnow
from app.services import progress_summary
from app.services.writing import WRITING_CLASS

MAX_ANSWER_LENGTH = 50_000
MAX_REPLY_LENGTH = 5_000


def too_long_message(length: int) -> str:
    return _(
        "Not saved: your text has %(length)s characters, %(over)s more than the %(max)s allowed. Nothing "
        "was cut: shorten it and it is saved."
    ) % {
        "length": format_number(length),
        "over": format_number(length - MAX_ANSWER_LENGTH),
        "max": format_number(MAX_ANSWER_LENGTH),
    }


class ReflectionError(ValueError):
    """A user-facing reason why text was not accepted (the text itself is never dropped)."""


@dataclass
class SaveResult:
    answer: Answer
    conflict: bool = False
    # On a conflict: what the database holds now (the other tab's text).
    stored_text: str = ""


# The autosave runs this several times a minute per writing student: built once. The answer is the
# one for the class the student writes for in this module (app.services.writing), in the same query.
ANSWER = select(Answer).where(
    col(Answer.user_id) == bindparam("user_id"),
    col(Answer.module_slug) == bindparam("slug"),
    col(Answer.prompt_id) == bindparam("prompt_id"),
    col(Answer.class_id).is_not_distinct_from(WRITING_CLASS),
)


# The same, with the class id even when there is no answer yet (for the first save): one query, a
# one-row select of the writing class joined to the answer, if any.
_WRITING_ROW = select(WRITING_CLASS.label("class_id")).subquery("writing")
ANSWER_AND_CLASS = (
    select(_WRITING_ROW.c.class_id, Answer)
    .select_from(_WRITING_ROW)
    .outerjoin(
        Answer,
        and_(
            col(Answer.user_id) == bindparam("user_id"),
            col(Answer.module_slug) == bindparam("slug"),
            col(Answer.prompt_id) == bindparam("prompt_id"),
            col(Answer.class_id).is_not_distinct_from(_WRITING_ROW.c.class_id),
        ),
    )
)


def find_answer(session: Session, *, user_id: int, module_slug: str, prompt_id: str) -> Answer | None:
    return session.exec(ANSWER, params={"user_id": user_id, "slug": module_slug, "prompt_id": prompt_id}).first()


def _answer_and_class(
    session: Session, *, user_id: int, module_slug: str, prompt_id: str
) -> tuple[int | None, Answer | None]:
    row = session.exec(
        ANSWER_AND_CLASS, params={"user_id": user_id, "slug": module_slug, "prompt_id": prompt_id}
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def save_draft(
    session: Session, *, user_id: int, module: Module, prompt: Reflection, text: str, base_version: int
) -> SaveResult:
    """Store the working text if it is based on the stored version; otherwise report a conflict."""
    result = _apply_draft(session, user_id=user_id, module=module, prompt=prompt, text=text, base_version=base_version)
    session.commit()
    return result


def _apply_draft(
    session: Session, *, user_id: int, module: Module, prompt: Reflection, text: str, base_version: int
) -> SaveResult:
    """The draft's change, not yet committed. The transaction holds the write lock from its first
    statement (see app.db), so check-then-write cannot race with another tab."""
    if len(text) > MAX_ANSWER_LENGTH:
        raise ReflectionError(too_long_message(len(text)))
    class_id, answer = _answer_and_class(session, user_id=user_id, module_slug=module.slug, prompt_id=prompt.id)
    if answer is None:
        answer = Answer(user_id=user_id, module_slug=module.slug, prompt_id=prompt.id, class_id=class_id)
    if answer.version != base_version:
        return SaveResult(answer, conflict=answer.text != text, stored_text=answer.text)
    if answer.id is not None and answer.text == text:
        return SaveResult(answer)  # nothing changed: no write, no new version
    answer.text = text
    answer.version += 1
    answer.module_version = module.version
    answer.prompt_hash = prompt.prompt_hash
    answer.updated_at = utcnow()
    session.add(answer)
    session.flush()
    return SaveResult(answer)


def submission_problem(prompt: Reflection, text: str) -> str | None:
    """Why this text cannot be submitted yet (empty, too short), or None."""
    if not text.strip():
        return _("Not submitted: write your answer first.")
    words = count_words(text)
    if words < prompt.min_words:
        return _(
            "Not submitted: your answer has %(words)s words, and this question asks for at least %(min)s. "
            "Your text is kept as a draft, so you can go on writing."
        ) % {"words": words, "min": prompt.min_words}
    return None


def submit(
    session: Session, *, user_id: int, module: Module, prompt: Reflection, text: str, base_version: int
) -> SaveResult:
    """Save, then share the text with the class's lecturers as a new revision."""
    problem = submission_problem(prompt, text)
    if problem:
        raise ReflectionError(problem)
    result = _apply_draft(session, user_id=user_id, module=module, prompt=prompt, text=text, base_version=base_version)
    answer = result.answer
    latest = None if result.conflict else latest_revision(session, answer_id=stored_id(answer))
    if not result.conflict and not (
        latest is not None and latest.text == answer.text and latest.prompt_hash == answer.prompt_hash
    ):  # not yet submitted as is
        now = utcnow()
        session.add(
            AnswerRevision(
                answer_id=stored_id(answer),
                text=answer.text,
                module_version=answer.module_version,
                prompt_hash=answer.prompt_hash,
                submitted_at=now,
            )
        )
        first_submission = answer.submitted_at is None
        answer.submitted_at = now
        session.add(answer)
        if first_submission:
            progress_summary.recount(session, user_id=user_id, module=module)
        from app.services import notifications  # lecturers hear of whole rounds only (issue 21)

        notifications.on_submitted(session, answer)
    session.commit()
    return result


def latest_revision(session: Session, *, answer_id: int) -> AnswerRevision | None:
    return session.exec(
        select(AnswerRevision).where(col(AnswerRevision.answer_id) == answer_id).order_by(col(AnswerRevision.id).desc())
    ).first()


def revisions(session: Session, *, answer_id: int) -> list[AnswerRevision]:
    return list(
        session.exec(
            select(AnswerRevision).where(col(AnswerRevision.answer_id) == answer_id).order_by(col(AnswerRevision.id))
        ).all()
    )


def reply_to_feedback(session: Session, *, user_id: int, feedback_id: int, text: str) -> Feedback | None:
    """The student's one reply; None when the feedback is not on this student's answer."""
    row = session.exec(
        select(Feedback, Answer)
        .join(Answer, col(Answer.id) == col(Feedback.answer_id))
        .where(col(Feedback.id) == feedback_id, col(Answer.user_id) == user_id)
    ).first()
    if row is None:
        return None
    feedback, _answer = row
    text = text.strip()
    if feedback.reply_text is not None:
        raise ReflectionError(_("You have already replied to this feedback."))
    if not text:
        raise ReflectionError(_("Write your reply first."))
    if len(text) > MAX_REPLY_LENGTH:
        raise ReflectionError(_("Your reply is longer than %(num)s characters.") % {"num": MAX_REPLY_LENGTH})
    feedback.reply_text = text
    feedback.replied_at = utcnow()
    session.add(feedback)
    from app.services import notifications  # lecturers hear of whole rounds of replies only (issue 21)

    notifications.on_reply(session, class_id=feedback.class_id, module_slug=_answer.module_slug)
    session.commit()
    return feedback
