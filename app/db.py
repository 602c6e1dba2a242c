"""The database: engines, and how a request uses them. One mechanism, explained here once.

**Intent, declared per route.** Each endpoint says what it does with the database by the type of its
`session` parameter:

- `ReadSession`: the page reads. On SQLite its transaction is deferred, so it never queues behind a
  writer (WAL: readers do not wait). The few writes such a page makes (a first visit, a session kept
  alive, an access-log line, stored progress counts) go through `write_for`, in a short transaction
  of their own that waits for the write lock; on PostgreSQL, which locks rows, the page's own
  session writes them.
- `WriteSession`: the endpoint writes. On SQLite its transactions begin IMMEDIATE, taking the one
  write lock at their first statement (a deferred transaction that reads and then writes cannot wait
  for the lock: SQLite fails it at once with "database is locked"). The writers of one worker first
  take turns on a mutex (`_take_write_turn`): SQLite's own wait polls with sleeps of up to 100 ms.

An endpoint without a session only reads (the login check). Dependencies take the plain `SessionDep`
and share the endpoint's session. `tests/test_db_intent.py` holds every route to a declared intent.

**The login check** (`app.auth.load_auth`) runs before every endpoint in the same session. In a
write endpoint it reads in a plain read transaction of its own (`read_only`), so that the write lock
is taken at the endpoint's first statement and held only while the endpoint works. It is a read of a
local file on SQLite and runs on the event loop (`run_read`); on PostgreSQL it is a network round
trip and goes to the thread pool.

**Capacity.** A request holds at most two connections (its session, and `write_for`'s), and each sync
step runs in a thread of AnyIO's pool. `InFlightLimit` admits at most half the pool's connections'
worth of requests per worker (`admission_limit`), and `limit_threads` gives the pool as many threads
as there are connections, so an admitted request always finds a connection and a thread; the rest
wait on the event loop holding nothing. Without that, requests parked in a thread waiting for a
connection or for SQLite's write lock starve the requests that hold them (benchmarks/RESULTS.md,
"A stall under concurrency").
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_type_hints
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

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
        for name in ("commit", "rollback"):
            event.listen(engine, name, _end_write_turn)
        event.listen(engine.pool, "checkin", _end_write_turn_on_checkin)
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
    if mode == "IMMEDIATE":
        _take_write_turn(connection)
    try:
        connection.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        _end_write_turn(connection)
        raise


# The writers of one process take turns here before they ask SQLite for its write lock. SQLite's
# busy handler polls with growing sleeps (1, 2, 5, 10 ... 100 ms), so a writer that finds the lock
# taken waits far longer than the holder keeps it, and 8 writers back to back had a p99 of 300 ms; a
# mutex wakes the next writer the moment the last one commits. Writers of other processes (workers)
# still meet at SQLite's lock. Never held longer than the busy timeout: past it, SQLite decides.
_WRITE_TURNS: WeakKeyDictionary = WeakKeyDictionary()  # one lock per database (per engine's pool)
_TURNS_LOCK = threading.Lock()
_TURN_KEY = "nabij_write_turn"


def _take_write_turn(connection) -> None:
    pool = connection.engine.pool
    with _TURNS_LOCK:
        turn = _WRITE_TURNS.setdefault(pool, threading.Lock())
    if turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        connection.info[_TURN_KEY] = turn


def _end_write_turn(connection) -> None:
    turn = connection.info.pop(_TURN_KEY, None)
    if turn is not None:
        turn.release()


def _end_write_turn_on_checkin(_dbapi_connection, record) -> None:
    # A connection handed back without commit or rollback (the pool resets it) ends its turn too.
    turn = record.info.pop(_TURN_KEY, None) if record is not None else None
    if turn is not None:
        turn.release()


def writer(engine: Engine) -> Engine:
    """The same engine, with transactions that take SQLite's write lock up front."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


class Intent(StrEnum):
    READ = "read"
    WRITE = "write"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, bound by the endpoint's declared intent. Objects stay loaded after a
    commit: a page renders what it just saved without reading it again, which on SQLite would take
    the write lock once more.

    `async` although the session is sync: creating one touches no database, and closing one only
    hands its connection back to the pool. As a sync generator, each would be a thread-pool hop,
    and a hop costs more than either.
    """
    bind = request.app.state.write_engine if intent_of(request) is Intent.WRITE else request.app.state.engine
    with Session(bind, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]  # for dependencies: the endpoint's own session
ReadSession = Annotated[Session, Depends(get_session), Intent.READ]
WriteSession = Annotated[Session, Depends(get_session), Intent.WRITE]

_INTENTS: dict[Any, Intent | None] = {}


def declared_intent(endpoint) -> Intent | None:
    """The intent an endpoint declares with its session parameter; None: it declares none (a plain
    SessionDep, or no session at all)."""
    if endpoint not in _INTENTS:
        hints = get_type_hints(endpoint, include_extras=True)
        marks = {mark for hint in hints.values() for mark in get_args(hint)[1:] if isinstance(mark, Intent)}
        _INTENTS[endpoint] = Intent.WRITE if Intent.WRITE in marks else next(iter(marks), None)
    return _INTENTS[endpoint]


def intent_of(request: Request) -> Intent:
    endpoint = request.scope.get("endpoint")
    return (declared_intent(endpoint) if endpoint is not None else None) or Intent.READ


@contextmanager
def read_only(request: Request, session: Session) -> Iterator[None]:
    """Reads that need no write lock in a write endpoint (the login-session lookup): a plain read
    transaction of their own, which ends here, so the endpoint takes the lock at its first statement."""
    if intent_of(request) is Intent.READ or not _single_writer(request):
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
    (InFlightLimit) admits fewer requests than there are connections. On PostgreSQL a read is a
    network round trip, which must not hold up the event loop: it goes to the thread pool.
    """
    if _single_writer(request):
        return function(*args)
    return await run_in_threadpool(function, *args)


def _single_writer(request: Request) -> bool:
    """SQLite: one writer at a time for the whole database."""
    return request.app.state.engine.dialect.name == "sqlite"


@contextmanager
def write_for(request: Request, session: Session) -> Iterator[Session]:
    """Where the few writes of a read endpoint go (a visit recorded, a session kept alive), committed here.

    On SQLite a read endpoint's deferred transaction cannot take the write lock later without failing
    at once when another worker writes: these writes get a short BEGIN IMMEDIATE transaction of their
    own, which waits for the lock. In a write endpoint, and on PostgreSQL, the request's own session
    writes them, and no second connection is taken.
    """
    if intent_of(request) is Intent.WRITE or not _single_writer(request):
        yield session
        session.commit()
        return
    with Session(request.app.state.write_engine, expire_on_commit=False) as writer_session:
        yield writer_session
        writer_session.commit()


# -- capacity ---------------------------------------------------------------------------------------


def admission_limit(settings: Settings) -> int:
    """Requests a worker handles at once: every one may hold two database connections."""
    return max(1, (settings.db_pool_size + settings.db_max_overflow) // 2)


def limit_threads(settings: Settings) -> None:
    """As many threads for sync steps as there are connections: more threads would only queue for one."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size + settings.db_max_overflow


class InFlightLimit:
    """Admission control: at most `limit` requests per worker process past this point at once (see
    this module's docstring, "Capacity"). Static files use no database and pass straight through."""

    def __init__(self, app: ASGIApp, *, limit: int, exempt: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self.in_flight = 0
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.limit)
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._semaphore.release()
