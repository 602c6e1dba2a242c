"""Is the database there and writable? For /healthz, for start-up, and for a clear answer when a
write fails because the disk is full or the database is read-only (instead of a bare 500)."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from app.db import writer
from app.models import ThrottleEvent, utcnow

PROBE_KEY = "healthz:write-probe"
# SQLite's messages, and PostgreSQL's SQLSTATEs, for "the data cannot be written".
SQLITE_MESSAGES = ("database or disk is full", "readonly database", "disk i/o error", "read-only file system")
POSTGRES_STATES = ("53100", "53200", "25006", "58030")  # disk full, out of memory, read-only transaction, I/O


def is_storage_error(error: BaseException) -> bool:
    """True for a failed write that no retry of the request can fix: a full disk, a read-only database."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in POSTGRES_STATES:
        return True
    message = str(original).lower()
    return any(fragment in message for fragment in SQLITE_MESSAGES)


def write_problem(engine: Engine) -> str | None:
    """None when a real write (a row added and removed, committed) succeeds; else a short reason."""
    try:
        with writer(engine).begin() as connection:
            connection.execute(insert(ThrottleEvent.__table__).values(key=PROBE_KEY, created_at=utcnow()))
            connection.execute(delete(ThrottleEvent.__table__).where(ThrottleEvent.__table__.c.key == PROBE_KEY))
    except DBAPIError as error:
        return str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
    return None
