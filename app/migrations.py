"""Running Alembic from Nabij: `nabij migrate`, and the start-up check that the schema is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from app import PROJECT_ROOT
from app.config import ConfigError, Settings
from app.db import make_engine


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    config.set_main_option("sqlalchemy.url", settings.effective_database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(settings: Settings, engine: Engine | None = None) -> None:
    """Refuse to run against a schema that is not at the latest migration."""
    own_engine = engine is None
    engine = engine or make_engine(settings)
    try:
        current = current_revision(engine)
    finally:
        if own_engine:
            engine.dispose()
    head = head_revision(settings)
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise ConfigError(f"the database is {state}, not at the latest revision {head}: run `nabij migrate`")
