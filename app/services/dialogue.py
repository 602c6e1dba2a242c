"""The student's side of feedback across modules: "All my feedback", newest first, unread marked.

(The back-and-forth dialogue of issue 21 item 4 is to be built here too; see the issue 21 report.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.models import Answer, CourseClass, Feedback, User, referenced, school_day, stored_id
from app.services.workspace import mark_feedback_read

LIMIT = 500


@dataclass(frozen=True)
class MyFeedback:
    id: int
    module_title: str
    module_slug: str
    prompt_title: str
    class_name: str
    lecturer: str | None  # the lecturer by name: the student may know who wrote to them
    text: str
    given_on: date
    unread: bool
    reply_text: str | None


def my_feedback(session: Session, *, user: User, catalogue: Catalogue) -> list[MyFeedback]:
    rows = session.execute(
        sa_select(
            Feedback, col(Answer.module_slug), col(Answer.prompt_id), col(CourseClass.name), col(User.display_name)
        )
        .join(Answer, col(Answer.id) == col(Feedback.answer_id))
        .join(CourseClass, col(CourseClass.id) == col(Feedback.class_id))
        .outerjoin(User, col(User.id) == col(Feedback.author_id))
        .where(col(Answer.user_id) == user.id)
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        .limit(LIMIT)
    ).all()
    items = []
    for feedback, slug, prompt_id, class_name, lecturer in rows:
        module = catalogue.get(slug)
        prompt = module.reflections.get(prompt_id) if module else None
        items.append(
            MyFeedback(
                feedback.id,
                module.title if module else slug,
                slug,
                prompt.title if prompt else prompt_id,
                class_name,
                lecturer,
                feedback.text,
                school_day(feedback.created_at),
                feedback.read_at is None,
                feedback.reply_text,
            )
        )
    return items


def mark_read(session: Session, *, items: list[MyFeedback]) -> None:
    unread = [item.id for item in items if item.unread]
    if unread:
        mark_feedback_read(session, feedback_ids=unread)


# -- the dialogue under feedback (issue 21 item 4) ---------------------------------------------------------
# After the feedback (and the student's first reply, Feedback.reply_text), lecturer and student go back and
# forth in FeedbackMessage rows. The student writes as their pseudonym: a lecturer sees a student's message
# only when it is released in a round of k students writing on the same prompt of the class (kgate.rounds),
# as replies are; until then the student may edit or withdraw it. Released, it stays as it is: a change a
# lecturer could watch happen would be an oracle. The lecturer writes by name and may edit or withdraw
# their own last message at any time. Withdrawn messages show as "withdrawn", without their text.

MESSAGE_LIMIT = 5000


class DialogueError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Message:
    id: int
    from_student: bool
    text: str | None  # None: withdrawn
    on: date
    edited: bool
    mine: bool
    can_change: bool
    author_name: str | None = None  # the lecturer's name, for the student; never the student's


def _check_text(text: str) -> str:
    from app.i18n import gettext as _

    text = (text or "").strip()
    if not text:
        raise DialogueError(_("Write your message first."))
    if len(text) > MESSAGE_LIMIT:
        raise DialogueError(_("Use at most %(num)s characters.") % {"num": MESSAGE_LIMIT})
    return text


def _messages(session: Session, feedback_ids: list[int]):
    from app.models import FeedbackMessage

    if not feedback_ids:
        return []
    return session.exec(
        select(FeedbackMessage)
        .where(col(FeedbackMessage.feedback_id).in_(feedback_ids))
        .order_by(col(FeedbackMessage.created_at), col(FeedbackMessage.id))
    ).all()


def released_student_messages(session: Session, *, class_id: int, module_slug: str, prompt_id: str, k: int):
    """Which student messages on this prompt of the class a lecturer may read: rounds of k students."""
    from app.models import FeedbackMessage
    from app.services.kgate import rounds

    rows = session.exec(
        select(FeedbackMessage.id, FeedbackMessage.created_at, Answer.user_id)
        .join(Feedback, col(Feedback.id) == col(FeedbackMessage.feedback_id))
        .join(Answer, col(Answer.id) == col(Feedback.answer_id))
        .where(
            col(Feedback.class_id) == class_id,
            col(Answer.module_slug) == module_slug,
            col(Answer.prompt_id) == prompt_id,
            col(FeedbackMessage.from_student).is_(True),
        )
    ).all()
    return rounds(rows, k)


def _student_feedback(session: Session, *, user_id: int, feedback_id: int):
    return session.exec(
        select(Feedback, Answer)
        .join(Answer, col(Answer.id) == col(Feedback.answer_id))
        .where(col(Feedback.id) == feedback_id, col(Answer.user_id) == user_id)
    ).first()


def _k(session: Session, class_id: int) -> int:
    from app.services.kgate import k_of

    return k_of(session.get(CourseClass, class_id))


def student_thread(session: Session, *, user: User, feedback_id: int) -> list[Message]:
    row = _student_feedback(session, user_id=stored_id(user), feedback_id=feedback_id)
    if row is None:
        return []
    feedback, answer = row
    messages = _messages(session, [feedback.id])
    released = released_student_messages(
        session,
        class_id=feedback.class_id,
        module_slug=answer.module_slug,
        prompt_id=answer.prompt_id,
        k=_k(session, feedback.class_id),
    )
    names = (
        {
            u.id: u.display_name
            for u in session.exec(
                select(User).where(
                    col(User.id).in_({m.author_id for m in messages if not m.from_student and m.author_id})
                )
            )
        }
        if messages
        else {}
    )
    last = messages[-1].id if messages else None
    return [
        Message(
            m.id,
            m.from_student,
            None if m.withdrawn_at else m.text,
            school_day(m.created_at),
            m.edited_at is not None,
            m.from_student,
            m.from_student and m.id == last and m.withdrawn_at is None and m.id not in released,
            None if m.from_student else names.get(m.author_id),
        )
        for m in messages
    ]


def lecturer_thread(
    session: Session, *, course_class: CourseClass, viewer: User, feedback: Feedback, answer: Answer
) -> list[Message]:
    """What a lecturer sees: their and co-lecturers' messages, and the student's released ones, by day."""
    messages = _messages(session, [stored_id(feedback)])
    released = released_student_messages(
        session,
        class_id=stored_id(course_class),
        module_slug=answer.module_slug,
        prompt_id=answer.prompt_id,
        k=_k(session, stored_id(course_class)),
    )
    shown = [m for m in messages if not m.from_student or m.id in released]
    last_mine = next((m.id for m in reversed(messages) if not m.from_student and m.author_id == viewer.id), None)
    result = []
    for m in shown:
        on = school_day(released.closed_at[m.id]) if m.from_student else school_day(m.created_at)
        mine = not m.from_student and m.author_id == viewer.id
        result.append(
            Message(
                m.id,
                m.from_student,
                None if m.withdrawn_at else m.text,
                on,
                m.edited_at is not None and not m.from_student,
                mine,
                mine and m.id == last_mine and m.withdrawn_at is None,
            )
        )
    return result


def student_says(session: Session, *, user: User, feedback_id: int, text: str):
    from app.i18n import gettext as _
    from app.models import FeedbackMessage
    from app.services import notifications

    row = _student_feedback(session, user_id=stored_id(user), feedback_id=feedback_id)
    if row is None:
        return None
    feedback, answer = row
    if feedback.reply_text is None:
        raise DialogueError(_("Reply to the feedback first."))
    message = FeedbackMessage(feedback_id=feedback.id, author_id=user.id, from_student=True, text=_check_text(text))
    session.add(message)
    notifications.on_reply(session, class_id=feedback.class_id, module_slug=answer.module_slug)
    session.commit()
    return message


def lecturer_says(session: Session, *, author: User, feedback: Feedback, text: str):
    from app.models import FeedbackMessage
    from app.services import notifications

    message = FeedbackMessage(
        feedback_id=stored_id(feedback), author_id=author.id, from_student=False, text=_check_text(text)
    )
    session.add(message)
    session.flush()
    notifications.on_lecturer_message(session, message)
    session.commit()
    return message


def change_own_last(session: Session, *, user: User, message_id: int, text: str | None, as_student: bool):
    """Edit (`text`) or withdraw (`text=None`) one's own last message; False when that is not allowed."""
    from app.models import FeedbackMessage, utcnow

    message = session.get(FeedbackMessage, message_id)
    if message is None or message.author_id != user.id or message.from_student != as_student or message.withdrawn_at:
        return False
    feedback = referenced(session, Feedback, message.feedback_id)
    messages = _messages(session, [message.feedback_id])
    if as_student:
        if messages[-1].id != message.id:
            return False
        answer = referenced(session, Answer, feedback.answer_id)
        if answer.user_id != user.id or message.id in released_student_messages(
            session,
            class_id=feedback.class_id,
            module_slug=answer.module_slug,
            prompt_id=answer.prompt_id,
            k=_k(session, feedback.class_id),
        ):
            return False
    elif next((m.id for m in reversed(messages) if not m.from_student and m.author_id == user.id), None) != message.id:
        return False
    if text is None:
        message.withdrawn_at = utcnow()
        message.text = ""  # withdrawn is gone: not kept, not exported
    else:
        message.text = _check_text(text)
        message.edited_at = utcnow()
    session.add(message)
    session.commit()
    return True
