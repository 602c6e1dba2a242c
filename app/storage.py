"""Is the database there and writable? For /healthz, for start-up, and for a clear answer when a
write fails because the disk is full or the database is read-only (instead of a bare 500)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

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
            connection.execute(insert(ThrottleEvent).values(key=PROBE_KEY, created_at=utcnow()))
            connection.execute(delete(ThrottleEvent).where(col(ThrottleEvent.key) == PROBE_KEY))
    except DBAPIError as error:
        return str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
    return None


# -- files the server writes: owner only ------------------------------------------------------------
# The SQLite database, the job queue, the outbox and the development secret hold password hashes,
# reflections and reset links: 0600 files in 0700 folders, whatever the umask. Existing ones are
# tightened too (an install from before this rule); one we may not change is left, with a warning.

log = logging.getLogger("nabij.storage")
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & stat.S_ISVTX:
            return  # a shared folder such as /tmp: never ours to close
        if current & 0o077:
            os.chmod(path, current & mode)
    except OSError as error:
        log.warning("could not make %s private (%s): only its owner should be able to read it", path, error)


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Create `path` (and missing parents) as 0700, or tighten it (unless `tighten` is False); returns it."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
    if tighten or missing:
        _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty as 0600 if it is not there (so nothing else creates it wider), or tighten it."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        _tighten(path, PRIVATE_FILE_MODE)
    return path


def private_sqlite_files(database: Path, var_dir: Path) -> None:
    """The SQLite database and its -wal/-shm (SQLite gives those the database file's mode). Only in an
    existing folder (a missing one is SQLite's error to report); the folder itself is tightened only
    when it is NABIJ_VAR_DIR (app.db.make_engine makes that one)."""
    if not database.parent.is_dir():
        return
    try:
        private_file(database)
    except OSError as error:  # a read-only folder: SQLite reports it when the database is opened
        log.warning("could not create %s as a private file (%s)", database, error)
        return
    for suffix in ("-wal", "-shm", "-journal"):
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            _tighten(companion, PRIVATE_FILE_MODE)
