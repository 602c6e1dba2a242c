"""Outgoing mail: SMTP when configured, otherwise a file in var/outbox/ so nothing needs a mail server."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from app.config import Settings
from app.models import utcnow

log = logging.getLogger("nabij.mail")


def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body, cte="8bit")  # links stay whole, also in the outbox files
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
        log.info("mail sent via SMTP: %s", subject)
        return
    outbox = settings.var_dir / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S%f}.eml"
    path.write_bytes(bytes(message))
    log.info("mail written to %s (no NABIJ_SMTP_HOST set): %s", path, subject)
