"""Notifications: in the app (a count in the navigation, a list) and by mail (at once, a daily digest, or off).

Services call the small `on_*` hooks where something happens; each queues a job (app/jobs.py) after the
request's transaction commits, and the job writes the notices and queues the mails. Jobs may run twice:
every notice has a `key` unique per person, so a second run adds nothing.

Anonymity (docs/privacy.md, section 1): a notice to a lecturer about students' work never names, counts or
dates one student. "Answers waiting for review" and "new replies" are derived from the review's own
released rounds (`review.assignment_review`), per prompt: a notice appears only when a whole round of at
least k was released, which the review page itself already shows. Their data holds class, module and
prompt and the released totals, never a user id. Mail subjects are generic ("Nabij: new feedback"),
without names, class names or module titles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_date, format_datetime
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import i18n, jobs
from app.i18n import gettext as _
from app.models import (
    Answer,
    Assignment,
    ClassLecturer,
    CourseClass,
    Enrolment,
    Extension,
    Feedback,
    Notification,
    NotificationSetting,
    User,
    aware,
    stored_id,
    utcnow,
)

log = logging.getLogger("nabij.notifications")

NOW, DIGEST, OFF = "now", "digest", "off"
MODES = (NOW, DIGEST, OFF)

# kind -> (who gets it, the mail default)
KINDS: dict[str, tuple[str, str]] = {
    "feedback": ("student", NOW),
    "reply": ("student", NOW),
    "assignment": ("student", NOW),
    "due_soon": ("student", NOW),
    "extension": ("student", NOW),
    "review_round": ("lecturer", DIGEST),
    "replies_round": ("lecturer", DIGEST),
    "class_k": ("lecturer", NOW),
}
DUE_SOON_HOURS = 48
DIGEST_GRACE = timedelta(minutes=10)  # a notice this young may still be on its way by mail at once


def kind_label(kind: str) -> str:
    return {
        "feedback": _("New feedback"),
        "reply": _("A reply to you"),
        "assignment": _("New or changed assignment"),
        "due_soon": _("Due within 48 hours"),
        "extension": _("Extension granted"),
        "review_round": _("Answers ready for review"),
        "replies_round": _("New replies to feedback"),
        "class_k": _("A class reached its minimum group size"),
    }[kind]


def kinds_for(user: User) -> list[str]:
    audience = "student" if user.role == "student" else "lecturer"
    return [kind for kind, (who, _default) in KINDS.items() if who == audience]


# -- the reader's language and dates -----------------------------------------------------------------


@contextmanager
def in_language(locale: str | None):
    token = i18n.current_locale.set(locale if locale in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def _day(value: str) -> str:
    return format_date(date.fromisoformat(value), "long", locale=i18n.babel_locale(i18n.current_locale.get()))


def _moment(value: str) -> str:
    from app.models import SCHOOL_ZONE

    return format_datetime(
        datetime.fromisoformat(value).astimezone(SCHOOL_ZONE),
        "d MMMM y HH:mm",
        locale=i18n.babel_locale(i18n.current_locale.get()),
    )


def describe(notification: Notification) -> str:
    """The notice as a sentence in the current language, from its data (ids, titles, counts)."""
    data = json.loads(notification.data or "{}")
    kind = notification.kind
    if kind == "feedback":
        return _("New feedback on your reflection “%(prompt)s” in “%(module)s”.") % data
    if kind == "reply":
        return _("Your lecturer answered you about “%(prompt)s” in “%(module)s”.") % data
    if kind == "assignment":
        values = dict(data, due=_moment(data["due"]))
        if data.get("changed"):
            return _("The assignment “%(module)s” in %(class)s changed: it is now due %(due)s.") % values
        return _("New assignment: “%(module)s” in %(class)s, due %(due)s.") % values
    if kind == "due_soon":
        return _("“%(module)s” is due %(due)s and not all your reflections are submitted yet.") % dict(
            data, due=_moment(data["due"])
        )
    if kind == "extension":
        return _("You have an extension for “%(module)s” until %(due)s.") % dict(data, due=_moment(data["due"]))
    if kind == "review_round":
        return (
            i18n.ngettext(
                "%(num)s new answer to “%(prompt)s” (%(module)s, %(class)s) is ready for review.",
                "%(num)s new answers to “%(prompt)s” (%(module)s, %(class)s) are ready for review.",
                data["num"],
            )
            % data
        )
    if kind == "replies_round":
        return (
            i18n.ngettext(
                "%(num)s new reply to feedback on “%(prompt)s” (%(module)s, %(class)s).",
                "%(num)s new replies to feedback on “%(prompt)s” (%(module)s, %(class)s).",
                data["num"],
            )
            % data
        )
    if kind == "class_k":
        return (
            _("%(class)s now has %(k)s students with a confirmed address: their answers can be reviewed in rounds.")
            % data
        )
    return kind_label(kind)


# -- settings ------------------------------------------------------------------------------------------


def mail_mode(session: Session, *, user_id: int, kind: str) -> str:
    row = session.get(NotificationSetting, (user_id, kind))
    return row.mode if row is not None else KINDS[kind][1]


def mail_modes(session: Session, *, user: User) -> dict[str, str]:
    stored = {
        row.kind: row.mode
        for row in session.exec(select(NotificationSetting).where(col(NotificationSetting.user_id) == user.id))
    }
    return {kind: stored.get(kind, KINDS[kind][1]) for kind in kinds_for(user)}


def set_mail_mode(session: Session, *, user_id: int, kind: str, mode: str) -> None:
    if kind not in KINDS or mode not in MODES:
        raise ValueError(kind)
    row = session.get(NotificationSetting, (user_id, kind)) or NotificationSetting(
        user_id=user_id, kind=kind, mode=mode
    )
    row.mode = mode
    session.add(row)


# -- signed unsubscribe links (no login needed) ---------------------------------------------------------


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, f"unsubscribe:{payload}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(secret: bytes, *, user_id: int, kind: str) -> str:
    payload = f"{user_id}.{kind}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{encoded}.{_mac(secret, payload)}"


def read_unsubscribe_token(secret: bytes, token: str) -> tuple[int, str] | None:
    """(user id, kind) for a genuine token; "all" stands for every kind. None for anything else."""
    try:
        encoded, mac = token.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        user_part, kind = payload.split(".", 1)
        user_id = int(user_part)
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        return None
    if kind != "all" and kind not in KINDS:
        return None
    return user_id, kind


def unsubscribe(session: Session, *, user: User, kind: str) -> None:
    for each in kinds_for(user) if kind == "all" else [kind]:
        set_mail_mode(session, user_id=stored_id(user), kind=each, mode=OFF)
    session.commit()


# -- the in-app list -----------------------------------------------------------------------------------


def unread_count(session: Session, *, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
    ).one()


@dataclass(frozen=True)
class Shown:
    id: int
    text: str
    link: str
    on: date
    unread: bool
    kind: str


def recent(session: Session, *, user: User, limit: int = 100) -> list[Shown]:
    """Newest first, dated by the day only (a lecturer's notice about a round is dated like the round)."""
    from app.models import school_day

    rows = session.exec(
        select(Notification)
        .where(col(Notification.user_id) == user.id)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(limit)
    )
    return [
        Shown(stored_id(row), describe(row), row.link, school_day(row.created_at), row.read_at is None, row.kind)
        for row in rows
    ]


def mark_read(session: Session, *, user_id: int, notification_id: int | None = None) -> str | None:
    """Mark one notice (returning its link) or all of them read."""
    statement = select(Notification).where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
    if notification_id is not None:
        statement = select(Notification).where(
            col(Notification.user_id) == user_id, col(Notification.id) == notification_id
        )
    link = None
    now = utcnow()
    for row in session.exec(statement):
        row.read_at = row.read_at or now
        link = row.link
        session.add(row)
    session.commit()
    return link


# -- writing notices (inside jobs) -----------------------------------------------------------------------


def notify(session: Session, *, user_id: int, kind: str, key: str, data: dict, link: str) -> Notification | None:
    """Add one notice unless this person already has it (same key); queue its mail per their setting.
    Commits; None when it existed."""
    if session.exec(
        select(Notification.id).where(col(Notification.user_id) == user_id, col(Notification.key) == key)
    ).first():
        return None
    mode = mail_mode(session, user_id=user_id, kind=kind)
    notice = Notification(user_id=user_id, kind=kind, key=key[:200], data=json.dumps(data), link=link[:300])
    if mode == OFF:
        notice.mailed_at = notice.created_at  # nothing to mail, now or in a digest
    session.add(notice)
    try:
        session.commit()
    except IntegrityError:  # the same job, running twice at once
        session.rollback()
        return None
    if mode == NOW:
        mail_now(notice.id)
    return notice


def _unsubscribe_url(settings, user: User, kind: str) -> str:
    token = unsubscribe_token(settings.secret(), user_id=stored_id(user), kind=kind)
    return f"{settings.base_url.rstrip('/')}/notifications/unsubscribe/{token}"


def _unsubscribe_lines(settings, user: User, kind: str | None) -> str:
    lines = []
    if kind is not None:
        lines.append(_("No more mails of this kind: %(url)s") % {"url": _unsubscribe_url(settings, user, kind)})
    lines.append(_("No more mails from Nabij: %(url)s") % {"url": _unsubscribe_url(settings, user, "all")})
    lines.append(_("All your settings: %(url)s") % {"url": f"{settings.base_url.rstrip('/')}/notifications/settings"})
    return "\n".join(lines)


def unsubscribe_headers(settings, user: User, kind: str | None) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the mail program offers the button and POSTs to the signed link."""
    return {
        "List-Unsubscribe": f"<{_unsubscribe_url(settings, user, kind or 'all')}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@jobs.task(retries=3, retry_delay=60)
def mail_now(notification_id: int) -> bool:
    """Mail one notice at once, in the person's language; nothing when it was mailed already."""
    from app.services.mail import send_mail

    settings = jobs.settings()
    with jobs.session() as session:
        notice = session.get(Notification, notification_id)
        if notice is None or notice.mailed_at is not None:
            return False
        user = session.get(User, notice.user_id)
        if user is None or not user.is_active:
            return False
        with in_language(user.locale or settings.default_locale):
            subject = _("Nabij: %(what)s") % {"what": kind_label(notice.kind).lower()}
            body = (
                "\n\n".join(
                    [
                        describe(notice),
                        settings.base_url.rstrip("/") + notice.link,
                        "--",
                        _unsubscribe_lines(settings, user, notice.kind),
                    ]
                )
                + "\n"
            )
        notice.mailed_at = utcnow()
        session.add(notice)
        send_mail(
            settings,
            to=user.email,
            subject=subject,
            body=body,
            session=session,
            headers=unsubscribe_headers(settings, user, notice.kind),
        )
        session.commit()
    return True


def send_digests(now: datetime | None = None) -> int:
    """One mail per person with every notice not mailed yet whose kind they get as a digest; returns mails."""
    from app.services.mail import send_mail

    settings = jobs.settings()
    now = now or utcnow()
    sent = 0
    with jobs.session() as session:
        pending = session.exec(
            select(Notification)
            .where(col(Notification.mailed_at).is_(None))
            .order_by(col(Notification.user_id), col(Notification.created_at), col(Notification.id))
        ).all()
        by_user: dict[int, list[Notification]] = {}
        for notice in pending:
            if (
                aware(notice.created_at) <= now - DIGEST_GRACE
                or mail_mode(session, user_id=notice.user_id, kind=notice.kind) == DIGEST
            ):
                by_user.setdefault(notice.user_id, []).append(notice)
        for user_id, notices in by_user.items():
            user = session.get(User, user_id)
            wanted = [n for n in notices if mail_mode(session, user_id=user_id, kind=n.kind) != OFF]
            for notice in notices:
                notice.mailed_at = now
                session.add(notice)
            if user is None or not user.is_active or not wanted:
                continue
            with in_language(user.locale or settings.default_locale):
                subject = _("Nabij: your daily overview")
                lines = [f"- {describe(n)}\n  {settings.base_url.rstrip('/')}{n.link}" for n in wanted]
                body = "\n".join(lines) + "\n\n--\n" + _unsubscribe_lines(settings, user, None) + "\n"
            send_mail(
                settings,
                to=user.email,
                subject=subject,
                body=body,
                session=session,
                headers=unsubscribe_headers(settings, user, None),
            )
            sent += 1
        session.commit()
    return sent


@jobs.periodic_task(jobs.crontab(minute="0", hour="6"))
def daily_digest() -> None:
    send_digests()


# -- hooks the services call (before their commit) -------------------------------------------------------


def _queue(session: Session, task, *args) -> None:
    from app.config import get_settings

    jobs.bind(jobs._context["settings"] or get_settings())
    jobs.after_commit(session, task, *args)


def on_feedback(session: Session, feedback: Feedback) -> None:
    session.flush()
    _queue(session, feedback_given, feedback.id)


def on_reply(session: Session, *, class_id: int, module_slug: str) -> None:
    _queue(session, check_rounds, class_id, module_slug)


def on_submitted(session: Session, answer: Answer) -> None:
    if answer.class_id is not None:
        _queue(session, check_rounds, answer.class_id, answer.module_slug)


def on_lecturer_message(session: Session, message) -> None:
    _queue(session, lecturer_message, message.id)


def on_assignment(session: Session, assignment: Assignment, *, changed: bool) -> None:
    session.flush()
    _queue(session, assignment_saved, assignment.id, changed)


def on_extension(session: Session, extension: Extension) -> None:
    _queue(session, extension_granted, extension.assignment_id, extension.user_id)


def on_class_members(session: Session, *, class_id: int) -> None:
    _queue(session, check_class_k, class_id)


def on_verified(session: Session, *, user_id: int) -> None:
    _queue(session, check_classes_of, user_id)


# -- the jobs behind the hooks -----------------------------------------------------------------------------


def _class_and_module(session: Session, class_id: int, module_slug: str):
    course_class = session.get(CourseClass, class_id)
    module = jobs.catalogue().get(module_slug)
    return course_class, module


def _lecturer_ids(session: Session, class_id: int) -> list[int]:
    return list(session.exec(select(ClassLecturer.user_id).where(col(ClassLecturer.class_id) == class_id)))


def _student_ids(session: Session, class_id: int) -> list[int]:
    return list(session.exec(select(Enrolment.user_id).where(col(Enrolment.class_id) == class_id)))


def _tell_the_author(session: Session, *, feedback_id: int, kind: str, key: str) -> None:
    """A lecturer wrote under a student's answer (feedback, or a later message in its dialogue): the answer's
    author hears of it, with the module and the question but not the text."""
    answer = session.exec(
        select(Answer).join(Feedback, col(Feedback.answer_id) == col(Answer.id)).where(col(Feedback.id) == feedback_id)
    ).first()
    if answer is None:
        return
    module = jobs.catalogue().get(answer.module_slug)
    if module is None:
        return
    prompt = module.reflections.get(answer.prompt_id)
    notify(
        session,
        user_id=answer.user_id,
        kind=kind,
        key=key,
        data={"module": module.title, "prompt": prompt.title if prompt else answer.prompt_id},
        link="/my/feedback",
    )


@jobs.task(retries=3, retry_delay=60)
def feedback_given(feedback_id: int) -> None:
    with jobs.session() as session:
        _tell_the_author(session, feedback_id=feedback_id, kind="feedback", key=f"feedback:{feedback_id}")


@jobs.task(retries=3, retry_delay=60)
def lecturer_message(message_id: int) -> None:
    from app.models import FeedbackMessage

    with jobs.session() as session:
        message = session.get(FeedbackMessage, message_id)
        if message is None or message.from_student:
            return
        _tell_the_author(session, feedback_id=message.feedback_id, kind="reply", key=f"message:{message.id}")


def due_at(assignment: Assignment, due_on: date | None = None) -> datetime:
    from app.services.classes import due_moment

    return due_moment(due_on or assignment.due_on, assignment.due_time)


@jobs.task(retries=3, retry_delay=60)
def assignment_saved(assignment_id: int, changed: bool) -> None:
    with jobs.session() as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            return
        course_class = session.get(CourseClass, assignment.class_id)
        module = jobs.catalogue().get(assignment.module_slug)
        if course_class is None or module is None or course_class.archived_at is not None:
            return
        due = due_at(assignment)
        # Keyed by the dates: each change is one new notice, a job run twice is still one.
        key = f"assignment:{assignment.id}:{due.isoformat()}:{assignment.opens_on}"
        for user_id in _student_ids(session, assignment.class_id):
            notify(
                session,
                user_id=user_id,
                kind="assignment",
                key=key,
                data={"module": module.title, "class": course_class.name, "due": due.isoformat(), "changed": changed},
                link=f"/modules/{module.slug}",
            )


@jobs.task(retries=3, retry_delay=60)
def extension_granted(assignment_id: int, user_id: int) -> None:
    with jobs.session() as session:
        extension = session.get(Extension, (assignment_id, user_id))
        assignment = session.get(Assignment, assignment_id)
        if extension is None or assignment is None:
            return
        module = jobs.catalogue().get(assignment.module_slug)
        if module is None:
            return
        due = due_at(assignment, extension.due_on)
        notify(
            session,
            user_id=user_id,
            kind="extension",
            key=f"extension:{assignment_id}:{due.isoformat()}",
            data={"module": module.title, "due": due.isoformat()},
            link=f"/modules/{module.slug}",
        )


@jobs.task(retries=3, retry_delay=60)
def check_rounds(class_id: int, module_slug: str) -> None:
    """Lecturers hear of released rounds only: the review's own per-prompt totals (multiples of k)."""
    from app.services.review import assignment_review

    with jobs.session() as session:
        course_class, module = _class_and_module(session, class_id, module_slug)
        if course_class is None or module is None:
            return
        from app.services.dialogue import released_student_messages
        from app.services.kgate import k_of

        summary = assignment_review(session, course_class=course_class, module=module)
        lecturers = _lecturer_ids(session, class_id)
        for prompt in summary.prompts:
            link = f"/classes/{class_id}/review/{module.slug}/{prompt.reflection.id}"
            base = {"module": module.title, "class": course_class.name, "prompt": prompt.reflection.title}
            # The dialogue after the first reply: released in rounds of k students too.
            messages = len(
                released_student_messages(
                    session,
                    class_id=class_id,
                    module_slug=module.slug,
                    prompt_id=prompt.reflection.id,
                    k=k_of(course_class),
                )
            )
            for kind, total in (
                ("review_round", prompt.submitted),
                ("replies_round", prompt.replies),
                ("dialogue_round", messages),
            ):
                if not prompt.visible or total <= 0:
                    continue
                prefix = f"{kind}:{class_id}:{module.slug}:{prompt.reflection.id}:"
                for lecturer_id in lecturers:
                    before = _last_total(session, lecturer_id, prefix)
                    if total > before:
                        notify(
                            session,
                            user_id=lecturer_id,
                            key=f"{prefix}{total}",
                            kind="review_round" if kind == "review_round" else "replies_round",
                            data=dict(base, num=total - before, total=total),
                            link=link,
                        )


def _last_total(session: Session, user_id: int, prefix: str) -> int:
    keys = session.exec(
        select(Notification.key).where(col(Notification.user_id) == user_id, col(Notification.key).startswith(prefix))
    ).all()
    return max((int(key.rsplit(":", 1)[1]) for key in keys), default=0)


def verified_students(session: Session, class_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Enrolment)
        .join(User, col(User.id) == col(Enrolment.user_id))
        .where(col(Enrolment.class_id) == class_id, col(User.email_verified_at).is_not(None))
    ).one()


@jobs.task(retries=3, retry_delay=60)
def check_class_k(class_id: int) -> None:
    from app.services.kgate import k_of

    with jobs.session() as session:
        course_class = session.get(CourseClass, class_id)
        if course_class is None:
            return
        k = k_of(course_class)
        if verified_students(session, class_id) < k:
            return
        for lecturer_id in _lecturer_ids(session, class_id):
            notify(
                session,
                user_id=lecturer_id,
                kind="class_k",
                key=f"class_k:{class_id}:{k}",
                data={"class": course_class.name, "k": k},
                link=f"/classes/{class_id}",
            )


@jobs.task(retries=3, retry_delay=60)
def check_classes_of(user_id: int) -> None:
    with jobs.session() as session:
        class_ids = list(session.exec(select(Enrolment.class_id).where(col(Enrolment.user_id) == user_id)))
    for class_id in class_ids:
        check_class_k(class_id)


def remind_due_soon(now: datetime | None = None) -> int:
    """Students whose assignment (or extension) is due within 48 hours and who have not submitted every
    reflection of it; one notice per due moment. Returns the notices added."""
    now = now or utcnow()
    added = 0
    with jobs.session() as session:
        rows = session.exec(
            select(Assignment, CourseClass, col(Enrolment.user_id), col(Extension.due_on))
            .join(CourseClass, col(CourseClass.id) == col(Assignment.class_id))
            .join(Enrolment, col(Enrolment.class_id) == col(Assignment.class_id))
            .outerjoin(
                Extension,
                (col(Extension.assignment_id) == col(Assignment.id))
                & (col(Extension.user_id) == col(Enrolment.user_id)),
            )
            .where(
                col(CourseClass.archived_at).is_(None),
                func.coalesce(Extension.due_on, Assignment.due_on).between(
                    (now - timedelta(days=1)).date(), (now + timedelta(days=3)).date()
                ),
            )
        ).all()
        for assignment, course_class, user_id, extended in rows:
            due = due_at(assignment, extended)
            if not (now < due <= now + timedelta(hours=DUE_SOON_HOURS)):
                continue
            module = jobs.catalogue().get(assignment.module_slug)
            if module is None or not module.reflections:
                continue
            submitted = set(
                session.exec(
                    select(Answer.prompt_id).where(
                        col(Answer.user_id) == user_id,
                        col(Answer.class_id) == course_class.id,
                        col(Answer.module_slug) == module.slug,
                        col(Answer.submitted_at).is_not(None),
                    )
                )
            )
            if set(module.reflections) <= submitted:
                continue
            if notify(
                session,
                user_id=user_id,
                kind="due_soon",
                key=f"due_soon:{assignment.id}:{due.isoformat()}",
                data={"module": module.title, "due": due.isoformat()},
                link=f"/modules/{module.slug}",
            ):
                added += 1
    return added


@jobs.periodic_task(jobs.crontab(minute="5"))
def hourly_due_reminders() -> None:
    remind_due_soon()
