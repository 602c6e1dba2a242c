"""Rate limits kept in the database, so they hold across all workers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from app.models import ThrottleEvent, aware, utcnow


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def retry_after(session: Session, keys: list[str], *, limit: int, window: timedelta) -> int:
    """Seconds until another attempt is allowed for every key; 0 when allowed now."""
    since = utcnow() - window
    wait = 0
    for key in keys:
        count, oldest = session.exec(
            select(func.count(), func.min(ThrottleEvent.created_at))
            .where(ThrottleEvent.key == key, ThrottleEvent.created_at > since)
        ).one()
        if count >= limit and oldest is not None:
            wait = max(wait, int((aware(oldest) + window - utcnow()).total_seconds()) + 1)
    return wait


def check(session: Session, keys: list[str], *, limit: int, window: timedelta) -> None:
    wait = retry_after(session, keys, limit=limit, window=window)
    if wait > 0:
        raise Throttled(wait)


def record(session: Session, keys: list[str]) -> None:
    for key in keys:
        session.add(ThrottleEvent(key=key))
    session.commit()


def clear(session: Session, key: str) -> None:
    session.exec(delete(ThrottleEvent).where(ThrottleEvent.key == key))
    session.commit()


def purge(session: Session, *, older_than: timedelta) -> None:
    session.exec(delete(ThrottleEvent).where(ThrottleEvent.created_at < utcnow() - older_than))
    session.commit()
