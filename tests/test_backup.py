"""`nabij backup PATH`: SQLite's online backup of a running database; PostgreSQL is sent to pg_dump."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from contextlib import closing

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from app.cli import main
from app.config import get_settings
from app.main import create_app
from app.migrations import upgrade
from app.models import User
from tests.conftest import TEST_SECRET, make_settings


@pytest.fixture
def sqlite_settings(tmp_path, migrated_template):
    """A migrated SQLite database, also when the suite runs on PostgreSQL."""
    settings = make_settings(tmp_path)
    if migrated_template is not None:
        shutil.copy(migrated_template, tmp_path / "nabij.sqlite3")
    else:
        upgrade(settings)
    return settings


def run_backup(monkeypatch, settings, *args):
    monkeypatch.setenv("NABIJ_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("NABIJ_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("NABIJ_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, ["backup", *map(str, args)])
    finally:
        get_settings.cache_clear()


def add_user(connection, email: str) -> None:
    connection.execute(
        "INSERT INTO user (email, display_name, role, password_hash, is_active, created_at, password_changed_at)"
        " VALUES (?, 'Backup Test', 'student', 'x', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (email,),
    )


def emails(path) -> set[str]:
    with closing(sqlite3.connect(path)) as connection:
        return {row[0] for row in connection.execute("SELECT email FROM user")}


def test_online_backup_copies_committed_work_still_in_the_wal_while_the_database_is_in_use(
    sqlite_settings, tmp_path, monkeypatch
):
    database = tmp_path / "nabij.sqlite3"
    # The running app's connection: WAL mode, no automatic checkpoint, so committed rows stay in the
    # -wal file; and a write transaction left open while the backup runs.
    writer = sqlite3.connect(database, isolation_level=None, timeout=5)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    add_user(writer, "committed@school.test")
    writer.execute("BEGIN IMMEDIATE")
    add_user(writer, "uncommitted@school.test")
    try:
        # A plain copy of the database file misses what is still in the write-ahead log.
        naive = tmp_path / "naive-copy.sqlite3"
        shutil.copy(database, naive)
        assert "committed@school.test" not in emails(naive)

        target = tmp_path / "backups" / "nabij-backup.sqlite3"
        target.parent.mkdir()
        result = run_backup(monkeypatch, sqlite_settings, target)
        assert result.exit_code == 0, result.output
        assert "integrity ok" in result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    copied = emails(target)
    assert "committed@school.test" in copied
    assert "uncommitted@school.test" not in copied
    with closing(sqlite3.connect(target)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["nabij-backup.sqlite3"]  # no partial left over

    # The copy is a working Nabij database: it starts (schema at the latest migration) and has the data.
    restored = make_settings(tmp_path / "restored", database_url=f"sqlite:///{target}")
    app = create_app(restored)
    try:
        with Session(app.state.engine) as session:
            assert session.exec(select(User).where(User.email == "committed@school.test")).first() is not None
    finally:
        app.state.engine.dispose()


def test_backup_does_not_overwrite_without_force(sqlite_settings, tmp_path, monkeypatch):
    target = tmp_path / "existing.sqlite3"
    target.write_text("keep me")
    result = run_backup(monkeypatch, sqlite_settings, target)
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output
    assert target.read_text() == "keep me"

    result = run_backup(monkeypatch, sqlite_settings, "--force", target)
    assert result.exit_code == 0, result.output
    assert emails(target) == emails(tmp_path / "nabij.sqlite3")


@pytest.mark.parametrize("name", ["the-database-itself", "missing-folder"])
def test_backup_refuses_impossible_targets_with_one_line(sqlite_settings, tmp_path, monkeypatch, name):
    target = tmp_path / "nabij.sqlite3" if name == "the-database-itself" else tmp_path / "nope" / "b.sqlite3"
    result = run_backup(monkeypatch, sqlite_settings, "--force", target)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_backup_of_a_missing_database_says_so(tmp_path, monkeypatch):
    settings = make_settings(tmp_path)
    result = run_backup(monkeypatch, settings, tmp_path / "b.sqlite3")
    assert result.exit_code == 1
    assert "no database" in result.output
    assert not (tmp_path / "b.sqlite3").exists()


def test_backup_on_postgresql_points_to_pg_dump(tmp_path, monkeypatch):
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://nabij:secret@db.invalid:5432/nabij")
    result = run_backup(monkeypatch, settings, tmp_path / "b.sqlite3")
    assert result.exit_code == 1
    assert "pg_dump" in result.output and "postgresql" in result.output
    assert "secret" not in result.output  # the URL's password is not echoed
    assert not (tmp_path / "b.sqlite3").exists()
