"""user.erasure_due_at: a student asked to erase their account; the job erases it at this time

Revision ID: i13_a1
Revises: i15_a1
Create Date: 2026-12-02 10:20:00

Set when a student asks on Account to erase their account (14 days ahead, the grace period in which
they can cancel); cleared on cancel. Existing accounts: none asked, so NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i13_a1"
down_revision: str | None = "i15_a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erasure_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("erasure_due_at")
