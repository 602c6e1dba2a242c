"""Reflections, revisions and feedback stored encrypted (data at rest)

Revision ID: i13_c1
Revises: i20_b1 (re-chained in the shared tree; originally i13_a1)
Create Date: 2026-12-02 21:00:00

No schema change: the columns stay TEXT; their values become ``nbj1:<key id>:<ciphertext>`` (app/crypto.py),
encrypted with this installation's data key (NABIJ_DATA_KEY, or derived from NABIJ_SECRET_KEY). Existing
plain-text values are encrypted here, in batches; a value that is already encrypted is left alone, so the
migration can run again. The downgrade decrypts them back to plain text (it needs the same key). Plain SQL
on id and the text column only: the same on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

from app import crypto

revision: str = "i13_c1"
down_revision: str | None = "i20_b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The encrypted columns at this revision; tables made later (feedback_message) hold encrypted text from the start.
COLUMNS = (("answer", "text"), ("answer_revision", "text"), ("feedback", "text"), ("feedback", "reply_text"))


def upgrade() -> None:
    connection = op.get_bind()
    crypto.encrypt_plaintext_rows(connection, crypto.keyring_of(connection), COLUMNS)


def downgrade() -> None:
    connection = op.get_bind()
    crypto.decrypt_all_rows(connection, crypto.keyring_of(connection), COLUMNS)
