"""users.email_verified_at: when the address of an account was confirmed

Revision ID: i12_a1
Revises: 0002
Create Date: 2026-12-02 09:10:00

Existing accounts count as verified (from their creation): until now they were made by an admin,
a roster import or the demo, or signed up with a class code at a time when nobody could confirm
an address; the lecturer sees per class how many students are verified. From now on a sign-up is
verified only once its owner opens the confirmation link.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i12_a1"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    user = sa.table(
        "user",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("email_verified_at", sa.DateTime(timezone=True)),
    )
    op.execute(user.update().values(email_verified_at=user.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
