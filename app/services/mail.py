"""Outgoing mail, always through a background job (app/jobs.py): a request never waits for SMTP.

`send_mail` builds the message and queues `deliver_mail`; with a `session`, only after that session's
transaction commits (a reset link is never mailed for a token that was rolled back). The job sends via SMTP
when configured, otherwise it writes a file in var/outbox/ (0600) so nothing needs a mail server. It is
idempotent: each message has an id, and a message already delivered is not sent again on a retry.
"""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from email.message import EmailMessage

from sqlmodel import Session

from app import jobs
from app.config import Settings
from app.db import leave_the_loop
from app.models import utcnow

log = logging.getLogger("nabij.mail")

SENT_KEY = "mail-sent:"


def send_mail(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    session: Session | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Queue a mail; returns its message id. With `session`, it is queued when that session commits.

    `headers`: extra ones, such as List-Unsubscribe."""
    message_id = uuid.uuid4().hex
    message = {
        "id": message_id,
        "to": to,
        "subject": subject,
        "body": body,
        "created": f"{utcnow():%Y%m%dT%H%M%S%f}",
        "headers": dict(headers or {}),
    }
    compose(settings, message)  # a header the mail library refuses fails here, in the caller, not in the job
    jobs.bind(settings)
    if session is not None:
        jobs.after_commit(session, deliver_mail, message)
    else:
        deliver_mail(message)
    return message_id


@jobs.task(retries=6, retry_delay=120)
def deliver_mail(message: dict) -> bool:
    """The job: deliver one queued message once; False when it had already been delivered."""
    key = SENT_KEY + message["id"]
    if jobs.huey.get(key, peek=True) is not None:
        return False
    deliver(jobs.settings(), message)
    jobs.huey.put(key, True)
    return True


def compose(settings: Settings, message_data: dict) -> EmailMessage:
    """The message as it goes out; raises ValueError for a header with a line break."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = message_data["to"]
    message["Subject"] = message_data["subject"]
    message["Message-ID"] = f"<{message_data['id']}@nabij>"
    for name, value in message_data.get("headers", {}).items():
        message[name] = value
    message.set_content(message_data["body"], cte="8bit")  # links stay whole, also in the outbox files
    return message


def deliver(settings: Settings, message_data: dict) -> None:
    message = compose(settings, message_data)
    if settings.smtp_host:
        leave_the_loop("an SMTP server")
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
        log.info("mail sent via SMTP: %s", message_data["subject"])
        return
    from app.storage import private_dir

    private_dir(settings.var_dir)  # mkdir's mode does not reach the parents it creates
    outbox = private_dir(settings.var_dir / "outbox")
    # Named by creation time and id: a retry rewrites the same file instead of adding a second one.
    path = outbox / f"{message_data['created']}-{message_data['id'][:8]}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    log.info("mail written to %s (no NABIJ_SMTP_HOST set): %s", path, message_data["subject"])
