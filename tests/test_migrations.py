"""Migrations are the only way the schema is made: they run from empty and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.db import make_engine
from app.migrations import current_revision, head_revision, upgrade
from tests.conftest import POSTGRES_URL, make_settings


def test_migrations_run_from_empty_to_head_on_sqlite(tmp_path):
    settings = make_settings(tmp_path)
    upgrade(settings)
    engine = make_engine(settings)
    try:
        assert current_revision(engine) == head_revision(settings)
        assert set(inspect(engine).get_table_names()) >= {t.name for t in SQLModel.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_models_and_migrations_agree(settings, migrated_template):
    """No pending autogenerate diff, on the database this run uses (SQLite or PostgreSQL)."""
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; generate a migration: {diff}"


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    settings = make_settings(tmp_path)
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("busy_timeout") == 5000
    finally:
        engine.dispose()


@pytest.mark.skipif(
    bool(POSTGRES_URL),
    reason="downgrading the shared PostgreSQL test schema would break "
    "the other tests of this run; the SQLite run covers every downgrade()",
)
def test_downgrade_to_empty_and_up_again(tmp_path):
    from alembic import command

    from app.migrations import alembic_config

    settings = make_settings(tmp_path)
    upgrade(settings)
    command.downgrade(alembic_config(settings), "base")
    engine = make_engine(settings)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()
    upgrade(settings)
