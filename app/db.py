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
is taken at the endpoint's first statement and held only while the endpoint works.

**Where sync steps run.** The endpoints, the login check and the dependencies that read are sync
functions run as steps (`run_step`; `app.routing.Router` and `as_step` make them so). On SQLite a step
runs on the event loop: it reads and writes a local file, a few statements, and a hop through the
thread pool and back cost more than the statements do (a section page: 4.3 ms in the pool, 1.9 ms on
the loop; benchmarks/RESULTS.md). A worker's requests then take turns on the loop, as they take turns
for the GIL anyway. A step must not wait there, so where it would, it starts over in the thread pool
(`MustWait`), its session rolled back: at SQLite's write lock held by another process or the write
turn held by a thread of this one (`_begin_writing_now` tries both without waiting), and at a call
that waits on more than the database (`leave_the_loop`: the network, an argon2 hash). Starting over
repeats only reads: once a step has committed a write it waits where it is (and says so in the log).
Endpoints that always wait on more than the database run in the pool from the start
(`@in_thread_pool`). On PostgreSQL every statement is a network round trip: every step runs in the
thread pool. `tests/test_steps.py` holds every endpoint and dependency to this.

**Capacity.** A request holds at most two connections (its session, and `write_for`'s), and a step in
the pool holds one of AnyIO's threads. `InFlightLimit` admits at most half the pool's connections'
worth of requests per worker (`admission_limit`), and `limit_threads` gives the pool as many threads
as there are connections, so an admitted request always finds a connection and a thread; the rest
wait on the event loop holding nothing. Without that, requests parked in a thread waiting for a
connection or for SQLite's write lock starve the requests that hold them (benchmarks/RESULTS.md,
"A stall under concurrency").
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_type_hints
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")
log = logging.getLogger("nabij.db")


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
        event.listen(engine, "commit", _end_write_turn_on_commit)
        event.listen(engine, "rollback", _end_write_turn)
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
    if mode == "IMMEDIATE" and _may_start_over():
        _begin_writing_now(connection)
        return
    if mode == "IMMEDIATE":
        _take_write_turn(connection)
    try:
        connection.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        _end_write_turn(connection)
        raise


def _begin_writing_now(connection) -> None:
    """BEGIN IMMEDIATE for a step on the event loop: at once, or MustWait (see "Where sync steps run")."""
    pool = connection.engine.pool
    with _TURNS_LOCK:
        turn = _WRITE_TURNS.setdefault(pool, threading.Lock())
    if not turn.acquire(blocking=False):
        raise MustWait("the write turn of this worker")
    connection.info[_TURN_KEY] = turn
    dbapi_connection = connection.connection.dbapi_connection
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as error:
        _end_write_turn(connection)
        if isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig):
            raise MustWait("SQLite's write lock, held by another process") from None
        raise
    except BaseException:
        _end_write_turn(connection)
        raise
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


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


def _end_write_turn_on_commit(connection) -> None:
    if _TURN_KEY in connection.info and (step := _LOOP_STEP.get()) is not None:
        step.wrote = True  # from here on the step cannot start over: its writes are in
    _end_write_turn(connection)


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


# -- where sync steps run ----------------------------------------------------------------------------


class MustWait(Exception):
    """A step on the event loop came to something it would have to wait for: it starts again in the
    thread pool (`run_step`). Not an error: never shown, never logged."""


class _LoopStep:
    __slots__ = ("wrote",)

    def __init__(self) -> None:
        self.wrote = False  # committed a write: starting over would write twice


_STEPS_ON_LOOP: ContextVar[bool] = ContextVar("nabij_steps_on_loop", default=False)
_LOOP_STEP: ContextVar[_LoopStep | None] = ContextVar("nabij_loop_step", default=None)


def _may_start_over() -> bool:
    step = _LOOP_STEP.get()
    return step is not None and not step.wrote


async def run_step(function: Callable[..., T], /, *args, **kwargs) -> T:
    """Run a sync step of a request (an endpoint, a dependency, the login check): on the event loop
    where the database is a local SQLite file, else in the thread pool.

    On the loop while it runs on the local file alone; `MustWait` moves it to the pool, and it starts
    over there with its session rolled back, when it comes to a wait before it has committed a write:
    SQLite's write lock taken (by this worker or another process), or a call that waits on more than
    the database (`leave_the_loop`: the network, a password hash).
    """
    if not _STEPS_ON_LOOP.get():
        return await run_in_threadpool(function, *args, **kwargs)
    token = _LOOP_STEP.set(_LoopStep())
    try:
        return function(*args, **kwargs)
    except MustWait:
        pass
    finally:
        _LOOP_STEP.reset(token)
    for value in (*args, *kwargs.values()):
        if isinstance(value, Session):
            value.rollback()  # what it read or flushed is read and flushed again
    return await run_in_threadpool(_in_the_pool, function, args, kwargs)


def _in_the_pool(function: Callable[..., T], args: tuple, kwargs: dict) -> T:
    _LOOP_STEP.set(None)  # the thread's own copy of the request's context
    return function(*args, **kwargs)


def leave_the_loop(what: str) -> None:
    """Call before a sync call that may wait on more than the local database (the network, an
    argon2 hash): a step on the event loop starts again in the thread pool from here."""
    step = _LOOP_STEP.get()
    if step is None:
        return
    if not step.wrote:
        raise MustWait(what)
    # It has committed, so it cannot start over: it waits here, with the worker's other requests.
    log.warning("%s waited on the event loop after a write; mark the endpoint @in_thread_pool", what)


def in_thread_pool(endpoint: Callable[..., T]) -> Callable[..., T]:
    """Mark an endpoint whose work waits on more than the database (a password hash, the network):
    it runs in the thread pool even on SQLite."""
    endpoint.in_thread_pool = True  # type: ignore[attr-defined]
    return endpoint


def as_step(function: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint or dependency as an async one that runs it with `run_step`; FastAPI would send
    it through the thread pool. `app.routing.Router` applies it to every endpoint."""
    if inspect.iscoroutinefunction(function) or getattr(function, "in_thread_pool", False):
        return function
    if inspect.isgeneratorfunction(function):
        raise TypeError(f"{function.__qualname__}: a sync generator dependency would hop to the thread pool")

    @functools.wraps(function)  # FastAPI reads the parameters (and our intent marks) through __wrapped__
    async def step(*args, **kwargs):
        return await run_step(function, *args, **kwargs)

    return step


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

    def __init__(
        self, app: ASGIApp, *, limit: int, steps_on_loop: bool = False, exempt: tuple[str, ...] = ("/static/",)
    ) -> None:
        self.app = app
        self.limit = limit
        self.steps_on_loop = steps_on_loop  # the database is a local SQLite file: see run_step
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
        token = _STEPS_ON_LOOP.set(self.steps_on_loop)
        try:
            await self.app(scope, receive, send)
        finally:
            _STEPS_ON_LOOP.reset(token)
            self.in_flight -= 1
            self._semaphore.release()
