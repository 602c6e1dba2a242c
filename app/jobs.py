"""Background jobs on Huey: mail, purges, large exports, anything a request must not wait for.

Why Huey, and which storage
---------------------------
Huey (3.5) keeps its queue in a database we already have, so no extra service is needed:

* **SQLite (one laptop, the default)**: `SqliteStorage` in ``<NABIJ_VAR_DIR>/jobs.sqlite3`` (0600). A separate
  file from the application's database, so a burst of job bookkeeping never takes the application's one
  SQLite write lock. Web workers and `nabij worker` on the same machine share the file.
* **PostgreSQL (an institution, several app workers, several hosts)**: huey's own `PostgresStorage` (psycopg 3,
  already our driver) in the application's database, tables ``nabij_jobs_kv/_schedule/_task/_counter``. It
  takes tasks with row locks (``FOR UPDATE SKIP LOCKED``) and wakes workers with LISTEN/NOTIFY, so any number
  of web workers enqueue and any number of `nabij worker` processes consume, with nothing but the database.
  (We rejected SqliteHuey on a shared network path: SQLite locking over NFS/SMB is unreliable; and
  `SqlHuey` via peewee, an extra ORM for what huey does natively since 3.1; procrastinate is PostgreSQL-only,
  which would leave the laptop without a runner.)

The queue uses its own connection: **enqueueing is not part of a request's transaction**. Therefore

* a request queues work with :func:`after_commit`, which enqueues only once the request's transaction has
  committed (and drops the work on a rollback), so a job never sees data that was never written;
* every job is idempotent: it may run twice (a retry after a crash) and must then do nothing new; jobs take
  ids and re-read the database rather than carrying rows in their arguments.

Defining and running tasks (see also /tmp/nabij-notes/jobs-api.md)::

    from app import jobs

    @jobs.task(retries=5, retry_delay=60)
    def post_grade(score_id: int) -> None:
        with jobs.session() as session:     # a write session on the configured database
            ...
            session.commit()

    jobs.after_commit(session, post_grade, score.id)   # in a service, before session.commit()

Periodic tasks use :func:`periodic_task` with :func:`crontab`. In tests (``NABIJ_ENV=test``) Huey runs in
immediate mode: a queued task runs at once, in the test's process, on the test's database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from huey import Huey, crontab  # noqa: F401  (crontab re-exported for task modules)
from huey.storage import MemoryStorage, PostgresStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from app.config import Settings, get_settings

log = logging.getLogger("nabij.jobs")

QUEUE_NAME = "nabij"
PG_TABLE_PREFIX = "nabij_jobs"
SQLITE_FILE = "jobs.sqlite3"
# Modules that define tasks and that app.main does not import anyway (the worker imports these too).
TASK_MODULES = [
    "app.services.mail",
    "app.services.retention",
    "app.services.erasure",
    "app.services.export",
]

# Until configure() runs, an in-memory queue: importing a task module never creates files or connections.
huey = Huey(QUEUE_NAME, storage_class=MemoryStorage, utc=True)

_context: dict[str, Any] = {"settings": None, "catalogue": None}
_engines: dict[str, Engine] = {}


def task(**options) -> Callable:
    """Decorator for a background task; options as huey's (retries, retry_delay, priority, expires…)."""
    return huey.task(**options)


def periodic_task(schedule: Callable, **options) -> Callable:
    """Decorator for a task the worker runs on a schedule, e.g. ``periodic_task(crontab(hour="3", minute="15"))``."""
    return huey.periodic_task(schedule, **options)


def configure(settings: Settings, *, engine: Engine | None = None, catalogue=None) -> None:
    """Point the queue at this installation's storage; called by create_app, `nabij worker` and the CLI."""
    _context["settings"] = settings
    if catalogue is not None:
        _context["catalogue"] = catalogue
    if engine is not None:
        previous = _engines.get(settings.effective_database_url)
        if previous is not None and previous is not engine:
            # Another app's engine for the same database (a restart, the next test): close its pooled
            # connections now rather than leaving them to the garbage collector.
            previous.dispose()
        _engines[settings.effective_database_url] = engine
    immediate = settings.env == "test"
    huey._immediate = immediate
    if immediate:
        if not isinstance(huey.storage, MemoryStorage):
            huey.storage = MemoryStorage(QUEUE_NAME)
        return
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        huey.storage = PostgresStorage(QUEUE_NAME, dsn=dsn, table_prefix=PG_TABLE_PREFIX)
        return
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = settings.var_dir / SQLITE_FILE
    if not path.exists():
        path.touch(mode=0o600)
    os.chmod(path, 0o600)
    huey.storage = SqliteStorage(QUEUE_NAME, filename=str(path))


def bind(settings: Settings) -> None:
    """Before queueing: a process nobody configured (a CLI command) queues to its own settings' storage,
    never to the in-memory placeholder; in immediate mode (tests) a job runs in the caller's process and
    uses the caller's settings."""
    if _context["settings"] is None:
        configure(settings)
    elif huey.immediate:
        _context["settings"] = settings


def close_engines() -> None:
    """Close the jobs' own database connections (between tests, and before a process exits)."""
    while _engines:
        _engines.popitem()[1].dispose()


def settings() -> Settings:
    return _context["settings"] or get_settings()


def engine() -> Engine:
    current = settings()
    key = current.effective_database_url
    if key not in _engines:
        from app.db import make_engine

        _engines[key] = make_engine(current)
    return _engines[key]


def catalogue():
    if _context["catalogue"] is None:
        from app.content.catalogue import load_catalogue

        _context["catalogue"] = load_catalogue(settings().modules_dir)
    return _context["catalogue"]


@contextmanager
def session() -> Iterator[Session]:
    """A session for a job, writing (on SQLite it takes the write lock up front, like a POST)."""
    from app.db import writer

    with Session(writer(engine()), expire_on_commit=False) as job_session:
        yield job_session


# -- queueing after the caller's transaction commits ------------------------------------------------

_PENDING = "nabij_jobs_after_commit"


def after_commit(db_session: Session, function: Callable, *args, **kwargs) -> None:
    """Queue ``function(*args, **kwargs)`` (a task) once ``db_session``'s transaction commits.

    Call it before the commit that makes the job's data visible. On a rollback, or when the session is
    closed without a commit, nothing is queued."""
    db_session.info.setdefault(_PENDING, []).append((function, args, kwargs))


@event.listens_for(OrmSession, "after_commit")
def _run_pending(db_session) -> None:
    pending = db_session.info.pop(_PENDING, None)
    for function, args, kwargs in pending or ():
        try:
            function(*args, **kwargs)
        except Exception:  # the queue being down must not turn a saved request into an error page
            log.exception("could not queue job %s", getattr(function, "name", function))


@event.listens_for(OrmSession, "after_rollback")
def _drop_pending(db_session) -> None:
    db_session.info.pop(_PENDING, None)


def load_task_modules() -> None:
    """Import every module that defines tasks, so the worker knows them all."""
    import importlib

    import app.main  # noqa: F401  (routes import their services, and with them their tasks)

    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise


def run_worker(settings: Settings, *, workers: int = 2) -> None:
    """Run queued and periodic tasks until interrupted (Ctrl-C or SIGTERM)."""
    configure(settings)
    load_task_modules()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()
