"""Periodic housekeeping for LTI (run by `nabij worker`)."""

from __future__ import annotations

from app import jobs
from app.lti.launch import purge_logins


@jobs.periodic_task(jobs.crontab(hour="4", minute="40"))
def purge_lti_logins() -> None:
    with jobs.session() as session:
        purge_logins(session)
