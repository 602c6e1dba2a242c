"""Running Alembic from Nabij: `nabij migrate`, and the start-up check that the schema is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app import PROJECT_ROOT
from app.config import ConfigError, Settings
from app.db import make_engine


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    config.set_main_option("sqlalchemy.url", settings.effective_database_url.replace("%", "%%"))
    # The whole settings, not only the URL: a data migration encrypts with this installation's data key.
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    from alembic.util import CommandError

    try:
        command.upgrade(alembic_config(settings), revision)
    except CommandError as error:
        # "Can't locate revision identified by '…'": the database is newer than this code.
        engine = make_engine(settings)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
        if current is not None and not known_revision(settings, current):
            raise ConfigError(unknown_revision_message(current)) from None
        raise ConfigError(f"the migration failed: {error}") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
        raise ConfigError(
            f"the database could not be migrated ({reason}): check NABIJ_DATABASE_URL, free disk "
            "space, and that this user may write the database"
        ) from None


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known_revision(settings: Settings, revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config(settings)).get_revision(revision) is not None
    except Exception:
        return False


def unknown_revision_message(revision: str) -> str:
    return (
        f"the database is at revision {revision}, which this version of Nabij does not know (a newer "
        "version migrated it): run that newer version, or restore the backup made before the upgrade"
    )


def ensure_current(settings: Settings, engine: Engine | None = None) -> None:
    """Refuse to run against a schema that is not at the latest migration, or cannot be written to.

    Every failure is one ConfigError line that says what is wrong and what to do.
    """
    from app.crypto import check_stored_keys
    from app.storage import write_problem

    own_engine = engine is None
    engine = engine or make_engine(settings)
    try:
        try:
            current = current_revision(engine)
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
            raise ConfigError(
                f"cannot open the database ({reason}): check NABIJ_DATABASE_URL, that the "
                "database server runs, and that this user may read and write it"
            ) from None
        head = head_revision(settings)
        if current is not None and current != head and not known_revision(settings, current):
            raise ConfigError(unknown_revision_message(current))
        if current != head:
            state = "empty" if current is None else f"at revision {current}"
            raise ConfigError(f"the database is {state}, not at the latest revision {head}: run `nabij migrate`")
        problem = write_problem(engine)
        if problem is not None:
            raise ConfigError(
                f"the database cannot be written to ({problem}): free disk space, or make the "
                "database (and, for SQLite, its folder) writable for this user, then start again"
            )
        # Texts written with another data key: say so now, not on every page that shows one (app/crypto.py).
        check_stored_keys(engine)
    finally:
        if own_engine:
            engine.dispose()
