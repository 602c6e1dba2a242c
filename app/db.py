"""Engine creation and the per-request database session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from app.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database, with SQLite tuned for concurrent use."""
    from app import crypto
    from app.storage import private_dir, private_sqlite_files

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database:
            private_dir(settings.var_dir)  # 0700: it holds the database, the outbox, the job queue
            if url.database != ":memory:" and not url.database.startswith("file:"):
                private_sqlite_files(Path(url.database).expanduser(), settings.var_dir)  # 0600
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        crypto.attach(engine, settings)  # the data key for encrypted texts (app/crypto.py)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
    )
    crypto.attach(engine, settings)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock: SQLite
    # fails it at once with "database is locked". Writers therefore start with BEGIN IMMEDIATE,
    # which does honour busy_timeout; readers stay deferred so they never queue behind a writer.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: Engine) -> Engine:
    """The same engine, with transactions that take SQLite's write lock up front."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. Objects stay loaded after a commit: a page renders what it just saved
    without reading it again, which on SQLite would take the write lock once more.

    `async` although the session is sync: creating one touches no database, and closing one only
    hands its connection back to the pool. As a sync generator, each would be a thread-pool hop,
    and a hop costs more than either.
    """
    bind = request.app.state.engine if request.method in SAFE_METHODS else request.app.state.write_engine
    with Session(bind, expire_on_commit=False) as session:
        yield session


@contextmanager
def read_only(request: Request, session: Session) -> Iterator[None]:
    """Reads that need no write lock, even in a request that writes (the login-session lookup).

    A POST's transactions begin with SQLite's one write lock. These reads run in a plain read
    transaction of their own instead, which ends here: the endpoint then takes the lock at its first
    statement, and holds it only while it works, not for the whole request.
    """
    if request.method in SAFE_METHODS or not _single_writer(request):
        yield
        return
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})
    yield
    session.commit()  # nothing to write: it ends the read, so the next statement begins anew


async def run_read(request: Request, function: Callable[..., T], *args) -> T:
    """A short read, such as the login lookup every request starts with.

    On SQLite it runs right here on the event loop: it reads a local file, and in WAL mode a reader
    never waits for a lock, while a hop through the thread pool costs more than the read (about
    0.3 ms; see benchmarks/RESULTS.md). Its connection is always free at once: admission control
    (app.observability.InFlightLimit) admits fewer requests than there are connections. On
    PostgreSQL a read is a network round trip, which must not hold up the event loop: it goes to
    the thread pool.
    """
    if _single_writer(request):
        return function(*args)
    return await run_in_threadpool(function, *args)


def _single_writer(request: Request) -> bool:
    """SQLite: one writer at a time for the whole database."""
    return request.app.state.engine.dialect.name == "sqlite"


SessionDep = Annotated[Session, Depends(get_session)]


@contextmanager
def write_for(request: Request, session: Session) -> Iterator[Session]:
    """Where the few writes of a page view go (a visit recorded, a session kept alive).

    A page view reads in a deferred transaction; on SQLite that transaction cannot take the write
    lock later without failing at once when another worker writes. Page views therefore write in a
    short BEGIN IMMEDIATE transaction of their own, which waits for the lock; other requests
    already hold it and write in their own session. PostgreSQL locks rows, not the database: there
    the request's own session writes, and no second connection is taken.
    """
    if request.method not in SAFE_METHODS or not _single_writer(request):
        yield session
        session.commit()
        return
    with Session(request.app.state.write_engine, expire_on_commit=False) as writer_session:
        yield writer_session
        writer_session.commit()
