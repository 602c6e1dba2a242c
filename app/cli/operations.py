"""Running Nabij: the server, migrations, the job worker, purges, key rotation, backups, demo data."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import main
from app.cli.common import (
    ensure_schema,
    fail,
    or_exit,
)
from app.config import get_settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--reload", is_flag=True, help="Restart when code, templates or modules change (for authors and developers)."
)
@click.option("--workers", default=1, show_default=True, help="Number of worker processes.")
def serve(host: str, port: int, reload: bool, workers: int) -> None:
    """Serve the web application."""
    import uvicorn

    from app.migrations import ensure_current
    from app.observability import logging_config

    settings = get_settings()
    or_exit(settings.secret)
    or_exit(lambda: ensure_current(settings))
    _announce_base_url(settings, host, port)
    # One line per log record (app/observability.py). uvicorn's own access log stays off: it
    # would print raw URLs, password-reset tokens included; Nabij logs route templates instead.
    # proxy_headers off: Nabij reads X-Forwarded-For/-Proto itself, from NABIJ_TRUSTED_PROXIES only
    # (app/proxies.py); uvicorn's own handling would believe FORWARDED_ALLOW_IPS instead.
    options: dict = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "log_level": "info",
        "log_config": logging_config("INFO", settings.effective_log_format),
        "access_log": False,
    }
    if reload:
        from app import PROJECT_ROOT

        options.update(
            reload=True,
            reload_dirs=[str(PROJECT_ROOT / "app"), str(PROJECT_ROOT / "templates"), str(settings.modules_dir)],
            reload_includes=["*.py", "*.html", "*.md", "*.yml", "*.yaml"],
        )
    elif workers > 1:
        options["workers"] = workers
    uvicorn.run("app.main:create_served_app", factory=True, **options)


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run repeatedly)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine
    from app.migrations import current_revision, head_revision, upgrade

    settings = get_settings()

    def was_at() -> str | None:
        engine = make_engine(settings)
        try:
            return current_revision(engine)
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()

    before = was_at()
    or_exit(lambda: upgrade(settings))
    head = head_revision(settings)
    if before is None:
        click.echo(f"database created at the latest revision ({head})")
    elif before != head:
        click.echo(f"database migrated from revision {before} to {head}")
    else:
        click.echo(f"database is up to date (revision {head})")


def _announce_base_url(settings, host: str, port: int) -> None:
    """Links in mails and on class pages use NABIJ_BASE_URL. Unset in development, it follows the
    address served here (so `make run PORT=8101` links to :8101); in production it must be set."""
    import os

    listening = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if "NABIJ_BASE_URL" not in os.environ:
        if settings.is_production:
            click.echo(
                f"warning: NABIJ_BASE_URL is not set: links in mails will point to {settings.base_url}; "
                "set it to the address people use (e.g. https://nabij.school.be)",
                err=True,
            )
        else:
            os.environ["NABIJ_BASE_URL"] = listening  # the workers read their settings from the environment
            get_settings.cache_clear()
    import logging
    import logging.config

    from app.observability import logging_config

    # Through the log, so that in JSON mode this line is JSON like every other line.
    logging.config.dictConfig(logging_config("INFO", settings.effective_log_format))
    public = os.environ.get("NABIJ_BASE_URL", listening)
    logging.getLogger("nabij").info(
        "Nabij serves on %s%s", listening, f" (public address {public})" if public != listening else ""
    )


@main.command()
@click.argument("message")
def makemigration(message: str) -> None:
    """For developers: write a new migration from the changes in app/models.py (review it!)."""
    from alembic import command

    from app.migrations import alembic_config

    command.revision(alembic_config(get_settings()), message=message, autogenerate=True)


@main.command()
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
def purge(dry_run: bool) -> None:
    """Delete what the retention rules say has been kept long enough (the nightly job does this too)."""
    from sqlmodel import Session

    from app import jobs
    from app.db import make_engine, writer
    from app.services import retention

    settings = get_settings()
    engine = make_engine(settings)
    try:
        or_exit(lambda: ensure_schema(settings, engine))
        with Session(writer(engine)) as session:
            if dry_run:
                result = retention.plan(session, settings=settings)
                click.echo("would delete (dry run, nothing changed):")
            else:
                jobs.bind(settings)
                retention.warn_lecturers(session, settings=settings)
                result = retention.purge(session, settings=settings)
                click.echo("deleted:")
            for line in result.lines():
                click.echo(f"  {line}")
    finally:
        engine.dispose()


@main.command("rotate-data-key")
@click.option("--check", is_flag=True, help="Only count the stored texts under each key id; change nothing.")
@click.option("--dry-run", is_flag=True, help="Show what would be re-encrypted; change nothing.")
def rotate_data_key(check: bool, dry_run: bool) -> None:
    """Re-encrypt the stored texts with the current data key (docs/deploy.md, "Data key").

    Set NABIJ_DATA_KEY to the new key and NABIJ_DATA_KEY_PREVIOUS to the old one (or, if the old one
    was derived from it, the old NABIJ_SECRET_KEY), run this, then remove NABIJ_DATA_KEY_PREVIOUS.
    Servers may keep running meanwhile; it can be run again after an interruption.
    """
    from app import crypto
    from app.db import make_engine

    settings = get_settings()
    keyring = or_exit(lambda: crypto.keyring_from_settings(settings))
    engine = make_engine(settings)
    try:
        or_exit(lambda: ensure_schema(settings, engine))
        click.echo(
            f"current data key: {keyring.current.key_id}; also readable: "
            f"{', '.join(k for k in keyring.key_ids if k != keyring.current.key_id) or 'none'}"
        )
        if check:
            with engine.connect() as connection:
                usage = crypto.key_usage(connection)
            for column, counts in usage.items():
                listed = ", ".join(f"{count} under {key_id}" for key_id, count in sorted(counts.items()))
                click.echo(f"  {column}: {listed or 'empty'}")
            return
        try:
            report = crypto.rotate(engine, keyring, dry_run=dry_run)
        except crypto.DataKeyError as error:
            fail(f"{error}. The batch with that text was not changed; run again once the key is configured.")
        click.echo("would re-encrypt (dry run, nothing changed):" if dry_run else "re-encrypted:")
        for column, counts in report.items():
            listed = ", ".join(f"{count} from {key_id}" for key_id, count in sorted(counts.items()))
            click.echo(f"  {column}: {listed or 'nothing (all under the current key)'}")
        if not dry_run:
            click.echo("done: every stored text is under the current key; NABIJ_DATA_KEY_PREVIOUS can go.")
    finally:
        engine.dispose()


@main.command()
@click.option("--workers", default=2, show_default=True, help="Jobs run at the same time (threads).")
def worker(workers: int) -> None:
    """Run background jobs (mail, nightly purge, large exports) until Ctrl-C; see app/jobs.py."""
    from app.jobs import run_worker
    from app.migrations import ensure_current

    settings = get_settings()
    or_exit(settings.secret)
    or_exit(lambda: ensure_current(settings))
    click.echo(f"worker: running background jobs ({workers} at a time); stop with Ctrl-C")
    run_worker(settings, workers=workers)


@main.command()
def demo() -> None:
    """Load demo accounts, a class and assignments into an empty database."""
    from app.demo import load_demo

    settings = get_settings()
    or_exit(settings.secret)
    accounts = or_exit(lambda: load_demo(settings))
    if accounts is None:
        click.echo("the database already has (non-demo) users; demo data was not loaded")
        return
    click.echo("Demo accounts (log in at http://127.0.0.1:8000/login):")
    for account in accounts:
        click.echo(f"  {account}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it already exists.")
def backup(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while Nabij keeps running.

    Uses SQLite's online backup: one consistent copy, including what is still in the write-ahead
    log, without stopping the server (readers and writers go on meanwhile). PATH becomes one
    self-contained database file. For PostgreSQL, use pg_dump (see docs/deploy.md).
    """
    import os
    import sqlite3
    from contextlib import closing

    from sqlalchemy.engine import make_url

    settings = get_settings()
    url = make_url(settings.effective_database_url)
    backend = url.get_backend_name()
    if backend != "sqlite":
        fail(
            f"`nabij backup` copies SQLite databases; this database is {backend}. Back up PostgreSQL "
            'with pg_dump, e.g. `pg_dump --format=custom --file=nabij.dump "$URL"` (docs/deploy.md).'
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        fail(f"cannot back up the SQLite database {url.database or '(in memory)'!r}: not a plain file.")
    source = Path(url.database).expanduser().resolve()
    target = path.expanduser().resolve()
    if not source.is_file():
        fail(f"there is no database at {source} (nothing to back up; `nabij migrate` creates it).")
    if target == source:
        fail("PATH is the database itself: choose another file.")
    if target.exists() and not force:
        fail(f"{target} already exists: choose a new file, or add --force to replace it.")
    if not target.parent.is_dir():
        fail(f"the folder {target.parent} does not exist.")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        partial.touch(mode=0o600)  # it holds password hashes and reflections: owner only
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)  # one step: a consistent snapshot; in WAL mode writers are not blocked
            dst.execute("PRAGMA journal_mode=DELETE")  # no -wal/-shm beside the copy
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            fail(f"the copy failed its integrity check ({check}); {target} was not written.")
        os.replace(partial, target)
    except sqlite3.Error as error:
        fail(f"backup failed: {error}")
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"backed up {source} to {target} ({target.stat().st_size} bytes, integrity ok)")
