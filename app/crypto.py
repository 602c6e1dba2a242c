"""Reflections, their revisions and feedback are stored encrypted (data at rest, docs/deploy.md).

A stolen database file or backup must not read as text. The texts are encrypted with AES-256-GCM
(cryptography's AESGCM) under a data key derived with HKDF-SHA256 from NABIJ_DATA_KEY, or, when that is
not set, from NABIJ_SECRET_KEY. The ORM stays transparent: the columns have the type
:class:`EncryptedText`, which encrypts on the way in and decrypts on the way out.

A stored value is ``nbj1:<key id>:<base64url(nonce + ciphertext + tag)>``:

* the key id (8 hex digits of a hash of the key) says which key wrote it, so during a rotation rows under
  the old key (NABIJ_DATA_KEY_PREVIOUS) and the new one can be read side by side, and
  ``nabij rotate-data-key`` knows what is left to re-encrypt;
* the column's name is the associated data: a value copied into another column does not decrypt;
* "nbj1" names the scheme, so a later one can be told apart.

Which key an engine uses is set on its dialect by app.db.make_engine, so two apps in one process
(tests, a rotation) each use their own. Nothing can be searched or compared inside these columns in
SQL: queries use other columns (submitted_at, ids), never the text.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from app.config import MIN_SECRET_LENGTH, ConfigError, Settings

SCHEME = "nbj1"
NONCE_BYTES = 12
HKDF_SALT = b"nabij data at rest"
HKDF_INFO = b"nabij data key v1"
DIALECT_ATTRIBUTE = "nabij_keyring"

# Every encrypted column: (table, column). The column name is also the associated data.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("answer", "text"),
    ("answer_revision", "text"),
    ("feedback", "text"),
    ("feedback", "reply_text"),
    ("feedback_message", "text"),
    ("reveal_request", "reason"),
    ("lti_key", "private_jwk"),
)


class DataKeyError(RuntimeError):
    """A stored text cannot be decrypted with the configured keys; the message says what to do."""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    aead: AESGCM


def derive(material: str) -> DataKey:
    """The AES key for a configured key string (NABIJ_DATA_KEY or NABIJ_SECRET_KEY), and its id."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(material.encode())
    key_id = hashlib.sha256(b"nabij data key id:" + key).hexdigest()[:8]
    return DataKey(key_id, AESGCM(key))


class Keyring:
    """The key new values are written with, and the earlier ones that may still be read."""

    def __init__(self, current: DataKey, previous: tuple[DataKey, ...] = ()) -> None:
        self.current = current
        self.keys = {key.key_id: key for key in (*previous, current)}

    @property
    def key_ids(self) -> list[str]:
        return list(self.keys)

    def encrypt(self, plaintext: str, column: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.current.aead.encrypt(nonce, plaintext.encode("utf-8"), column.encode())
        token = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{SCHEME}:{self.current.key_id}:{token}"

    def decrypt(self, value: str, column: str) -> str:
        if value == "":
            return ""  # a server default; an empty text reveals nothing its ciphertext would not
        key_id, sealed = _parse(value, column)
        key = self.keys.get(key_id)
        if key is None:
            raise DataKeyError(
                f"{column} was encrypted with data key {key_id}, which is not configured (configured: "
                f"{', '.join(self.keys)}): set NABIJ_DATA_KEY (or NABIJ_SECRET_KEY) to the key it was written "
                'with, or add that key to NABIJ_DATA_KEY_PREVIOUS (docs/deploy.md, "Data key")'
            )
        try:
            return key.aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], column.encode()).decode("utf-8")
        except InvalidTag:
            raise DataKeyError(
                f"{column}: a stored value under data key {key_id} does not decrypt; it was "
                "changed or copied from another column"
            ) from None

    def is_current(self, value: str) -> bool:
        return value.startswith(f"{SCHEME}:{self.current.key_id}:")


def is_encrypted(value: str) -> bool:
    return value.startswith(SCHEME + ":") and value.count(":") >= 2


def key_id_of(value: str) -> str | None:
    return value.split(":", 2)[1] if is_encrypted(value) else None


def _parse(value: str, column: str) -> tuple[str, bytes]:
    if not is_encrypted(value):
        raise DataKeyError(
            f"{column} holds a value that is not encrypted: the data migration has not run (run `nabij migrate`)"
        )
    _scheme, key_id, token = value.split(":", 2)
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise DataKeyError(f"{column}: a stored value is damaged (not base64)") from None
    if len(sealed) < NONCE_BYTES + 16:
        raise DataKeyError(f"{column}: a stored value is damaged (too short)")
    return key_id, sealed


def _key_strings(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def keyring_from_settings(settings: Settings) -> Keyring:
    """NABIJ_DATA_KEY, or the application secret; and NABIJ_DATA_KEY_PREVIOUS (comma-separated)."""
    if settings.data_key is not None and settings.data_key.get_secret_value():
        current = settings.data_key.get_secret_value()
        if len(current) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"NABIJ_DATA_KEY is too short: use at least {MIN_SECRET_LENGTH} random characters, "
                "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
    else:
        current = settings.secret().decode()
    previous = _key_strings(settings.data_key_previous.get_secret_value() if settings.data_key_previous else "")
    return Keyring(derive(current), tuple(derive(material) for material in previous if material != current))


class _LazyKeyring:
    """Derived on first use: commands that never touch a text (backup, `modules check`) need no key."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._keyring: Keyring | None = None

    def get(self) -> Keyring:
        if self._keyring is None:
            self._keyring = keyring_from_settings(self._settings)
        return self._keyring


def attach(engine: Engine, settings: Settings) -> None:
    """Give this engine its data keys (app.db.make_engine)."""
    setattr(engine.dialect, DIALECT_ATTRIBUTE, _LazyKeyring(settings))


def keyring_of(bind: Engine | Connection | object) -> Keyring:
    dialect = getattr(bind, "dialect", bind)
    holder = getattr(dialect, DIALECT_ATTRIBUTE, None)
    if holder is None:
        raise DataKeyError("this database connection has no data key: make engines with app.db.make_engine")
    return holder.get()


class EncryptedText(TypeDecorator):
    """A Text column whose values are stored encrypted; `column` ("answer.text") is the associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring_of(dialect).encrypt(value, self.column)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring_of(dialect).decrypt(value, self.column)


# -- whole-table work: the data migration, rotation, the start-up check -----------------------------


def _rows(connection: Connection, table: str, column: str, *, batch: int = 500) -> Iterator[list[tuple[int, str]]]:
    """(id, raw value) of every non-NULL value, in batches by id; raw: no type, no decryption."""
    from sqlalchemy import text

    last = 0
    while True:
        rows = connection.execute(
            text(
                f'SELECT id, "{column}" FROM "{table}" WHERE id > :last AND "{column}" '
                f"IS NOT NULL ORDER BY id LIMIT {batch}"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        last = rows[-1][0]


def _update(connection: Connection, table: str, column: str, values: list[dict]) -> None:
    from sqlalchemy import text

    if values:
        connection.execute(text(f'UPDATE "{table}" SET "{column}" = :value WHERE id = :id'), values)


def encrypt_plaintext_rows(
    connection: Connection, keyring: Keyring, columns: tuple[tuple[str, str], ...] = ENCRYPTED_COLUMNS
) -> dict[str, int]:
    """The data migration: encrypt every value that is not encrypted yet. Runs again harmlessly.

    A migration passes the columns that existed at its revision (later tables are encrypted from the start)."""
    counts: dict[str, int] = {}
    for table, column in columns:
        name = f"{table}.{column}"
        counts[name] = 0
        for rows in _rows(connection, table, column):
            values = [
                {"id": row_id, "value": keyring.encrypt(raw, name)} for row_id, raw in rows if not is_encrypted(raw)
            ]
            _update(connection, table, column, values)
            counts[name] += len(values)
    return counts


def decrypt_all_rows(
    connection: Connection, keyring: Keyring, columns: tuple[tuple[str, str], ...] = ENCRYPTED_COLUMNS
) -> None:
    """The migration's downgrade: back to plain text."""
    for table, column in columns:
        name = f"{table}.{column}"
        for rows in _rows(connection, table, column):
            _update(
                connection,
                table,
                column,
                [{"id": row_id, "value": keyring.decrypt(raw, name)} for row_id, raw in rows if is_encrypted(raw)],
            )


def rotate(engine: Engine, keyring: Keyring, *, dry_run: bool = False, batch: int = 500) -> dict[str, dict[str, int]]:
    """Re-encrypt every value not under the current key; per column, how many were under which key id.

    One short transaction per batch, so the servers keep writing meanwhile (on SQLite they wait for the
    lock a moment, never for the whole run), and a run that is interrupted goes on where it stopped when
    started again. A value changed by a server between reading and writing is left as the server wrote
    it (under the current key, as the servers run with the new configuration). A value under a key that
    is not configured stops it with a DataKeyError; the batches before it are done."""
    from sqlalchemy import text

    from app.db import writer

    report: dict[str, dict[str, int]] = {}
    for table, column in ENCRYPTED_COLUMNS:
        name = f"{table}.{column}"
        counts: dict[str, int] = {}
        last = 0
        while True:
            with writer(engine).begin() as connection:
                rows = connection.execute(
                    text(
                        f'SELECT id, "{column}" FROM "{table}" WHERE id > :last AND "{column}" IS NOT NULL '
                        f"ORDER BY id LIMIT {batch}"
                    ),
                    {"last": last},
                ).all()
                if not rows:
                    break
                last = rows[-1][0]
                values = []
                for row_id, raw in rows:
                    if raw == "" or keyring.is_current(raw):
                        continue
                    label = key_id_of(raw) or "plain text"
                    counts[label] = counts.get(label, 0) + 1
                    plaintext = keyring.decrypt(raw, name) if is_encrypted(raw) else raw
                    values.append({"id": row_id, "old": raw, "value": keyring.encrypt(plaintext, name)})
                if values and not dry_run:
                    connection.execute(
                        text(f'UPDATE "{table}" SET "{column}" = :value WHERE id = :id AND "{column}" = :old'), values
                    )
        report[name] = counts
    return report


def key_usage(connection: Connection) -> dict[str, dict[str, int]]:
    """Per column, how many values each key id holds (for `nabij rotate-data-key --check`)."""
    usage: dict[str, dict[str, int]] = {}
    for table, column in ENCRYPTED_COLUMNS:
        counts: dict[str, int] = {}
        for rows in _rows(connection, table, column):
            for _row_id, raw in rows:
                if raw != "":
                    label = key_id_of(raw) or "plain text"
                    counts[label] = counts.get(label, 0) + 1
        usage[f"{table}.{column}"] = counts
    return usage


def check_stored_keys(engine: Engine) -> None:
    """At start-up: the newest and oldest value of each column decrypt with the configured keys.

    A wrong NABIJ_DATA_KEY / NABIJ_SECRET_KEY then stops the server with one clear line, instead of
    every page with a reflection failing later."""
    from sqlalchemy import text

    try:
        keyring = keyring_of(engine)
    except DataKeyError as error:
        raise ConfigError(str(error)) from None
    with engine.connect() as connection:
        for table, column in ENCRYPTED_COLUMNS:
            for order in ("ASC", "DESC"):
                raw = connection.execute(
                    text(
                        f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                        f"AND \"{column}\" <> '' ORDER BY id {order} LIMIT 1"
                    )
                ).scalar()
                if raw is None:
                    break
                try:
                    keyring.decrypt(raw, f"{table}.{column}")
                except DataKeyError as error:
                    raise ConfigError(f"the stored texts cannot be read: {error}") from None
