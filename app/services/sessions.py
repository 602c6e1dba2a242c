"""Server-side login sessions: a random token in the cookie, its hash in the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, col, func, select

from app.models import User, UserSession, aware, stored_id, utcnow

# Writing last_seen on every request would turn each page view into a write; a minute is precise enough.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User, user_agent: str = "") -> str:
    """A new session (new token: no fixation); returns the token for the cookie."""
    token = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=stored_id(user),
            csrf_token=secrets.token_urlsafe(32),
            user_agent=user_agent[:200],
        )
    )
    session.commit()
    return token


@dataclass(frozen=True)
class Resumed:
    """What a cookie token refers to. `live` is False for an ended session (to be deleted)."""

    user_session: UserSession
    user: User
    live: bool
    needs_touch: bool
    unread_notifications: int = 0  # for the navigation (issue 21), counted in the same query


# Every request runs this: the statement is built once (building it costs more than running it).
def _unread_notifications():
    from app.models import Notification

    return (
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == col(UserSession.user_id), col(Notification.read_at).is_(None))
        .correlate(UserSession)
        .scalar_subquery()
    )


SESSION_BY_TOKEN = (
    select(UserSession, User, _unread_notifications())
    .join(User, col(User.id) == col(UserSession.user_id))
    .where(col(UserSession.token_hash) == bindparam("token_hash"))
)


def resume_session(session: Session, *, token: str, policy: SessionPolicy) -> Resumed | None:
    """Read-only: the session behind a cookie token, whether it still lives, and whether to touch it."""
    row = session.exec(SESSION_BY_TOKEN, params={"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    user_session, user, unread = row
    now = utcnow()
    expired = (
        now - aware(user_session.last_seen_at) > policy.idle or now - aware(user_session.created_at) > policy.absolute
    )
    live = not expired and user.is_active
    return Resumed(
        user_session, user, live, live and now - aware(user_session.last_seen_at) > TOUCH_INTERVAL, unread or 0
    )


def touch_session(session: Session, *, session_id: int) -> None:
    session.exec(update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=utcnow()))


def resume_session_by_token(session: Session, *, token: str) -> UserSession | None:
    return session.exec(select(UserSession).where(col(UserSession.token_hash) == token_hash(token))).first()


def end_session(session: Session, *, token: str) -> None:
    session.exec(delete(UserSession).where(col(UserSession.token_hash) == token_hash(token)))
    session.commit()


def end_session_by_id(session: Session, *, session_id: int) -> None:
    session.exec(delete(UserSession).where(col(UserSession.id) == session_id))
    session.commit()


def end_all_sessions(session: Session, *, user_id: int, except_id: int | None = None) -> int:
    statement = delete(UserSession).where(col(UserSession.user_id) == user_id)
    if except_id is not None:
        statement = statement.where(col(UserSession.id) != except_id)
    result = session.exec(statement)
    session.commit()
    return result.rowcount or 0


def count_sessions(session: Session, *, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(UserSession).where(col(UserSession.user_id) == user_id)).one()


# -- drafts on shared computers ------------------------------------------------------------------


def draft_owner(secret: bytes, *, user_id: int) -> str:
    """The key under which this account's unsaved drafts live in a browser's storage: per account
    (another student on the same computer never sees or saves them), and no user id in the page."""
    return hmac.new(secret, f"draft-owner:{user_id}".encode(), hashlib.sha256).hexdigest()[:20]


def pending_owner_token(secret: bytes, *, user_id: int, slug: str, prompt_id: str) -> str:
    """Binds the text carried through the login page (after a session ended) to the account whose
    session it was: signed, so that it is saved into that account only."""
    mac = hmac.new(secret, f"pending:{user_id}:{slug}:{prompt_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{user_id}.{mac}"


def pending_owner_id(secret: bytes, *, token: str, slug: str, prompt_id: str) -> int | None:
    user_id, _, _mac = token.partition(".")
    if not user_id.isdigit() or len(token) > 80:
        return None
    expected = pending_owner_token(secret, user_id=int(user_id), slug=slug, prompt_id=prompt_id)
    return int(user_id) if hmac.compare_digest(token, expected) else None
