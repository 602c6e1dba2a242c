"""Forgotten passwords: the same work for every address, whether or not it has an account.

The request only records the attempt and queues `send_reset_mail_job` (app/jobs.py, Huey) with the
address; looking it up, making the token and sending the mail happen in the worker. Until the queue
is configured in this process (app/jobs.py `configure`), the same work runs as a background task
after the response (`send_reset_mail_later`): either way, not in the request. So neither the answer nor the
time it takes tells anyone whether an address has an account (ASVS 6.3.x, account enumeration).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from app import jobs
from app.config import Settings
from app.i18n import gettext as _
from app.services import accounts
from app.services.mail import send_mail


def send_reset_mail(session: Session, *, settings: Settings, email: str, mailer=send_mail) -> bool:
    """The job: a reset link to the account's owner, if there is an active account; True if sent."""
    user = accounts.find_by_email(session, email)
    if user is None or not user.is_active:
        return False
    token = accounts.start_password_reset(
        session, user=user, valid_for=timedelta(minutes=settings.password_reset_minutes)
    )
    link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
    body = _(
        "Hello %(name)s,\n\nSomeone (probably you) asked to choose a new Nabij password. "
        "Open this link within %(minutes)s minutes:\n\n%(link)s\n\n"
        "If you did not ask for this, you can ignore this message."
    ) % {"name": user.display_name, "minutes": settings.password_reset_minutes, "link": link}
    mailer(settings, to=user.email, subject=_("Choose a new Nabij password"), body=body)
    return True


def send_reset_mail_later(engine, *, settings: Settings, email: str) -> None:
    """Run after the response: its own session; a failure is logged, never shown to anyone."""
    import logging

    try:
        with Session(engine, expire_on_commit=False) as session:
            send_reset_mail(session, settings=settings, email=email)
    except Exception:
        logging.getLogger("nabij.auth").warning("a password reset mail could not be sent", exc_info=True)


@jobs.task(retries=3, retry_delay=60)
def send_reset_mail_job(email: str) -> None:
    """The queued job; may run twice after a crash (a second link then, the first one still valid)."""
    with jobs.session() as session:
        send_reset_mail(session, settings=jobs.settings(), email=email)


def queue_reset_mail(settings: Settings, email: str, *, background, engine) -> None:
    """The one thing a reset request does with the address, whether or not it has an account."""
    from huey.storage import MemoryStorage

    if jobs.huey.immediate or not isinstance(jobs.huey.storage, MemoryStorage):  # the queue is configured
        jobs.bind(settings)
        send_reset_mail_job(email)
    else:
        background.add_task(send_reset_mail_later, engine, settings=settings, email=email)


WELCOME_LINK_DAYS = 7


def send_welcome_mail(session: Session, *, settings: Settings, user, created_by: str) -> None:
    """An account an administrator made: its owner chooses the password through a link, so nobody
    else ever knows it (and no password travels by chat or on paper)."""
    token = accounts.start_password_reset(session, user=user, valid_for=timedelta(days=WELCOME_LINK_DAYS))
    link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
    body = _(
        "Hello %(name)s,\n\n%(admin)s made a Nabij account for you with this address. Choose your "
        "password with this link; it works for %(days)s days:\n\n%(link)s\n\nAfterwards you log in "
        "with this address and that password."
    ) % {"name": user.display_name, "admin": created_by, "days": WELCOME_LINK_DAYS, "link": link}
    send_mail(settings, to=user.email, subject=_("Your Nabij account: choose a password"), body=body, session=session)
    session.commit()
