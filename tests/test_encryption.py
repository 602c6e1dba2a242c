"""Data at rest (issue 13 item 8): reflections, revisions and feedback are stored encrypted; keys rotate;
a wrong key says so; the files the server writes are for its owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from app import crypto
from app.config import ConfigError
from app.db import make_engine, writer
from app.main import create_app
from app.models import Answer, AnswerRevision, Feedback, FeedbackMessage
from app.services import reflections
from tests.conftest import FIXTURE_MODULES, POSTGRES_URL, make_settings
from tests.factories import make_class, make_user

fixture_modules = pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)

ANSWER = "Ik merkte dat ik te dichtbij kwam toen de jongere over thuis vertelde."
FEEDBACK = "Mooi dat je dit benoemt; wat deed je daarna?"
REPLY = "Ik heb het met mijn begeleider besproken."
MESSAGE = "Mag ik dit gesprek later nog eens voeren?"
KEY_A = "data-key-a-0123456789-0123456789-0123456789"
KEY_B = "data-key-b-9876543210-9876543210-9876543210"


def write_work(app, session) -> Answer:
    """An answer, submitted (one revision), with feedback and a reply: every encrypted column filled."""
    student = make_user(session)
    course_class = make_class(session)
    module = app.state.catalogue.get("proef")
    prompt = module.reflections["proef-keuze"]
    with Session(app.state.write_engine, expire_on_commit=False) as db:
        result = reflections.submit(db, user_id=student.id, module=module, prompt=prompt, text=ANSWER, base_version=0)
        revision = reflections.latest_revision(db, answer_id=result.answer.id)
        feedback = Feedback(
            answer_id=result.answer.id,
            revision_id=revision.id,
            class_id=course_class.id,
            text=FEEDBACK,
            reply_text=REPLY,
        )
        db.add(feedback)
        db.flush()
        db.add(FeedbackMessage(feedback_id=feedback.id, from_student=True, text=MESSAGE))
        db.commit()
        return result.answer


def test_every_encrypted_column_is_known_to_rotation_and_the_start_up_check():
    """A column typed EncryptedText but missing from ENCRYPTED_COLUMNS would never be re-encrypted by
    `nabij rotate-data-key`, nor checked at start-up."""
    typed = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, crypto.EncryptedText)
    }
    assert typed == set(crypto.ENCRYPTED_COLUMNS)


# The columns write_work fills (a reveal request and an LTI key are encrypted as well, in their own tests).
WORK_COLUMNS = (
    ("answer", "text"),
    ("answer_revision", "text"),
    ("feedback", "text"),
    ("feedback", "reply_text"),
    ("feedback_message", "text"),
)
# The columns of migration i13_c1 (feedback_message came later).
I13_C1_COLUMNS = WORK_COLUMNS[:4]


def raw_values(engine, columns=WORK_COLUMNS) -> dict[str, list[str]]:
    with engine.connect() as connection:
        return {
            f"{table}.{column}": [
                row[0]
                for row in connection.execute(
                    text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL ORDER BY id')
                )
            ]
            for table, column in columns
        }


@fixture_modules
def test_the_database_holds_no_plain_text_and_the_orm_reads_it_back(app, session):
    answer = write_work(app, session)
    stored = raw_values(app.state.engine)
    assert all(stored.values()), stored  # every encrypted column has a value in this test
    for column, values in stored.items():
        for value in values:
            assert value.startswith("nbj1:") and "jongere" not in value and "begeleider" not in value, column
    assert "gesprek" not in str(stored["feedback_message.text"])
    session.expire_all()
    assert session.get(Answer, answer.id).text == ANSWER
    assert [r.text for r in session.exec(select(AnswerRevision))] == [ANSWER]
    feedback = session.exec(select(Feedback)).one()
    assert (feedback.text, feedback.reply_text) == (FEEDBACK, REPLY)


@fixture_modules
@pytest.mark.skipif(
    bool(POSTGRES_URL),
    reason="reads the bytes of the SQLite database file; on PostgreSQL the stored values are checked in SQL (the test above)",
)
def test_a_copy_of_the_sqlite_file_does_not_read_as_text(app, session, settings):
    write_work(app, session)
    with app.state.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = settings.effective_database_url.removeprefix("sqlite:///")
    data = b"".join(Path(path).read_bytes() for path in (database, database + "-wal") if os.path.exists(path))
    assert b"student" in data.lower()  # the file was read: account data is there in clear...
    for secret in (ANSWER, FEEDBACK, REPLY):
        assert secret.encode() not in data and secret[:20].encode() not in data  # ...the texts are not


@fixture_modules
def test_each_value_is_bound_to_its_column_and_fresh_each_time(app, session):
    keyring = crypto.keyring_of(app.state.engine)
    first, second = keyring.encrypt(ANSWER, "answer.text"), keyring.encrypt(ANSWER, "answer.text")
    assert first != second  # a random nonce: equal texts do not look equal
    assert keyring.decrypt(first, "answer.text") == ANSWER
    with pytest.raises(crypto.DataKeyError, match="copied from another column"):
        keyring.decrypt(first, "feedback.text")  # feedback cannot be swapped in as an answer
    tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    with pytest.raises(crypto.DataKeyError):
        keyring.decrypt(tampered, "answer.text")


@fixture_modules
def test_nabij_data_key_is_used_instead_of_the_secret(tmp_path, settings):
    from_secret = crypto.keyring_from_settings(settings).current.key_id
    own = crypto.keyring_from_settings(make_settings(tmp_path, data_key=KEY_A)).current.key_id
    assert own != from_secret and own == crypto.derive(KEY_A).key_id
    with pytest.raises(ConfigError, match="NABIJ_DATA_KEY is too short"):
        crypto.keyring_from_settings(make_settings(tmp_path, data_key="short"))


def with_keys(settings, **keys):
    return settings.model_copy(update={name: SecretStr(value) for name, value in keys.items()})


@fixture_modules
def test_rotation_re_encrypts_and_old_rows_stay_readable_meanwhile(settings, tmp_path):
    old = with_keys(settings, data_key=KEY_A)
    app = create_app(old)
    try:
        with Session(app.state.engine, expire_on_commit=False) as session:
            answer_id = write_work(app, session).id
    finally:
        app.state.engine.dispose()
    key_a, key_b = crypto.derive(KEY_A).key_id, crypto.derive(KEY_B).key_id
    engine = make_engine(old)
    try:
        assert {crypto.key_id_of(v) for values in raw_values(engine).values() for v in values} == {key_a}
    finally:
        engine.dispose()

    # Step 1: the new key, the old one still readable. Old rows read; new writes use the new key.
    during = with_keys(settings, data_key=KEY_B, data_key_previous=KEY_A)
    app = create_app(during)
    try:
        with Session(app.state.write_engine, expire_on_commit=False) as session:
            answer = session.get(Answer, answer_id)
            assert answer.text == ANSWER
            answer.text = ANSWER + " Later aangevuld."
            session.add(answer)
            session.commit()
        mixed = raw_values(app.state.engine)
        assert crypto.key_id_of(mixed["answer.text"][0]) == key_b
        assert crypto.key_id_of(mixed["answer_revision.text"][0]) == key_a

        # Step 2: `nabij rotate-data-key`, with the same configuration as the servers.
        result = CliRunner().invoke(_cli(), ["rotate-data-key"], env=_env(during), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "answer_revision.text: 1 from " + key_a in result.output
        assert "answer.text: nothing" in result.output
        assert {crypto.key_id_of(v) for values in raw_values(app.state.engine).values() for v in values} == {key_b}
        check = CliRunner().invoke(_cli(), ["rotate-data-key", "--check"], env=_env(during), catch_exceptions=False)
        assert f"feedback.reply_text: 1 under {key_b}" in check.output
    finally:
        app.state.engine.dispose()

    # Step 3: the old key removed; everything reads.
    after = create_app(with_keys(settings, data_key=KEY_B))
    try:
        with Session(after.state.engine) as session:
            assert session.get(Answer, answer_id).text == ANSWER + " Later aangevuld."
            assert session.exec(select(Feedback)).one().reply_text == REPLY
    finally:
        after.state.engine.dispose()


@fixture_modules
def test_a_wrong_key_stops_the_server_with_a_clear_message(settings, tmp_path):
    app = create_app(with_keys(settings, data_key=KEY_A))
    try:
        with Session(app.state.engine, expire_on_commit=False) as session:
            write_work(app, session)
    finally:
        app.state.engine.dispose()
    key_a = crypto.derive(KEY_A).key_id
    with pytest.raises(ConfigError) as raised:
        create_app(with_keys(settings, data_key=KEY_B))
    message = str(raised.value)
    assert f"data key {key_a}" in message and "NABIJ_DATA_KEY_PREVIOUS" in message
    # And when a row is read with the wrong key anyway (no start-up check), the error says the same.
    engine = make_engine(with_keys(settings, data_key=KEY_B))
    try:
        with Session(engine) as session, pytest.raises(crypto.DataKeyError, match=f"data key {key_a}"):
            session.exec(select(Answer)).all()
    finally:
        engine.dispose()
    # The CLI refuses to rotate from a key it does not have, and says which.
    result = CliRunner().invoke(_cli(), ["rotate-data-key"], env=_env(with_keys(settings, data_key=KEY_B)))
    assert result.exit_code == 1 and f"data key {key_a}" in result.output


@fixture_modules
def test_the_data_migration_encrypts_existing_plain_text(app, session):
    """What the migration i13_c1 does to rows written before it (run here on this test's database)."""
    answer = write_work(app, session)
    engine = app.state.engine
    with writer(engine).begin() as connection:  # as they were before: plain text
        for table, column in WORK_COLUMNS:
            connection.execute(text(f'UPDATE "{table}" SET "{column}" = :v'), {"v": f"oud {table}.{column}"})
    with writer(engine).begin() as connection:
        counts = crypto.encrypt_plaintext_rows(connection, crypto.keyring_of(connection))
    assert counts == {
        f"{table}.{column}": int((table, column) in WORK_COLUMNS) for table, column in crypto.ENCRYPTED_COLUMNS
    }
    assert all(v.startswith("nbj1:") for values in raw_values(engine).values() for v in values)
    with writer(engine).begin() as connection:  # a second run changes nothing
        assert set(crypto.encrypt_plaintext_rows(connection, crypto.keyring_of(connection)).values()) == {0}
    session.expire_all()
    assert session.get(Answer, answer.id).text == "oud answer.text"
    assert session.exec(select(Feedback)).one().reply_text == "oud feedback.reply_text"


@pytest.mark.skipif(
    bool(POSTGRES_URL),
    reason="downgrading the shared PostgreSQL test schema would break the "
    "other tests of this run; the test above runs the migration's code on PostgreSQL",
)
def test_the_migration_up_and_down(tmp_path):
    from alembic import command

    from app.migrations import alembic_config, upgrade

    settings = make_settings(tmp_path, data_key=KEY_A)
    upgrade(settings, "i13_a1")
    engine = make_engine(settings)
    try:
        with writer(engine).begin() as connection:
            connection.execute(
                text(
                    'INSERT INTO "user" (id, email, display_name, role, password_hash, is_active, '
                    "created_at, password_changed_at) VALUES (1, 'a@b.test', 'A', 'student', 'x', "
                    "1, '2026-01-01', '2026-01-01')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO answer (id, user_id, module_slug, prompt_id, text, version, "
                    "module_version, prompt_hash, created_at, updated_at) VALUES (1, 1, 'm', 'p', "
                    ":t, 1, '1', 'h', '2026-01-01', '2026-01-01')"
                ),
                {"t": ANSWER},
            )
        upgrade(settings)
        assert raw_values(engine, I13_C1_COLUMNS)["answer.text"][0].startswith(f"nbj1:{crypto.derive(KEY_A).key_id}:")
        with Session(engine) as session:
            assert session.get(Answer, 1).text == ANSWER
        command.downgrade(alembic_config(settings), "i13_a1")
        assert raw_values(engine, I13_C1_COLUMNS)["answer.text"] == [ANSWER]
    finally:
        engine.dispose()


# -- files the server writes ------------------------------------------------------------------------


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(
    bool(POSTGRES_URL), reason="file modes of the SQLite database and its folder: PostgreSQL keeps no files of ours"
)
def test_the_sqlite_database_and_var_folder_are_for_the_owner_only(tmp_path):
    old_umask = os.umask(0o022)
    try:
        var = tmp_path / "var"
        settings = make_settings(tmp_path, var_dir=var, database_url=f"sqlite:///{var / 'nabij.sqlite3'}")
        from app.migrations import upgrade

        upgrade(settings)
        engine = make_engine(settings)
        try:
            with writer(engine).begin() as connection:
                connection.execute(text("INSERT INTO throttle_event (key, created_at) VALUES ('k', '2026-01-01')"))
            assert mode(var) == 0o700
            for name in ("nabij.sqlite3", "nabij.sqlite3-wal", "nabij.sqlite3-shm"):
                assert mode(var / name) == 0o600, name
        finally:
            engine.dispose()
        # An install from before: a readable database is tightened when the server opens it.
        os.chmod(var / "nabij.sqlite3", 0o644)
        os.chmod(var, 0o755)
        make_engine(settings).dispose()
        assert mode(var / "nabij.sqlite3") == 0o600 and mode(var) == 0o700
    finally:
        os.umask(old_umask)


def test_outbox_and_development_secret_are_for_the_owner_only(tmp_path):
    from app.services import mail

    old_umask = os.umask(0o022)
    try:
        var = tmp_path / "fresh" / "var"
        settings = make_settings(tmp_path, var_dir=var, secret_key=None)
        settings.secret()
        assert mode(var) == 0o700 and mode(var / "secret_key") == 0o600
        mail.deliver(
            settings,
            {"id": "0" * 32, "to": "a@b.test", "subject": "s", "body": "b", "created": "20260101T000000000000"},
        )
        outbox = var / "outbox"
        assert mode(outbox) == 0o700
        assert [mode(p) for p in outbox.iterdir()] == [0o600]
    finally:
        os.umask(old_umask)


def test_a_shared_folder_is_never_closed(tmp_path):
    from app.storage import private_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    private_dir(shared)
    assert mode(shared) == 0o1777


def _cli():
    from app.cli import main
    from app.config import get_settings

    get_settings.cache_clear()  # the command reads the environment given to this invocation
    return main


def _env(settings) -> dict[str, str]:
    values = {
        "NABIJ_ENV": "test",
        "NABIJ_DATABASE_URL": settings.effective_database_url,
        "NABIJ_VAR_DIR": str(settings.var_dir),
        "NABIJ_MODULES_DIR": str(settings.modules_dir),
        "NABIJ_SECRET_KEY": settings.secret_key.get_secret_value(),
    }
    for name in ("data_key", "data_key_previous"):
        value = getattr(settings, name)
        if value is not None:
            values[f"NABIJ_{name.upper()}"] = value.get_secret_value()
    return values
