"""access log (who read a class's answers to a prompt, on which day), break-glass reveal requests,
user.safeguarding_officer

Revision ID: i13_b1
Revises: i21_b1
Create Date: 2026-12-02 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i13_b1"
down_revision: str | None = "i21_b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safeguarding_officer", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lecturer_id", sa.Integer(), nullable=True),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("module_slug", sa.String(length=60), nullable=False),
        sa.Column("prompt_id", sa.String(length=60), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lecturer_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["class_id"], ["course_class.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_access_log_class_prompt", "access_log", ["class_id", "module_slug", "prompt_id"], unique=False)
    op.create_index("ix_access_log_lecturer_id", "access_log", ["lecturer_id"], unique=False)
    op.create_index("ix_access_log_student_id", "access_log", ["student_id"], unique=False)
    op.create_table(
        "reveal_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("module_slug", sa.String(length=60), nullable=False),
        sa.Column("prompt_id", sa.String(length=60), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["course_class.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answer_id"], ["answer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["revision_id"], ["answer_revision.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requester_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reveal_request_class_id", "reveal_request", ["class_id"], unique=False)
    op.create_index("ix_reveal_request_answer_id", "reveal_request", ["answer_id"], unique=False)
    op.create_index("ix_reveal_request_requester_id", "reveal_request", ["requester_id"], unique=False)
    op.create_index("ix_reveal_request_status", "reveal_request", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("reveal_request")
    op.drop_table("access_log")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("safeguarding_officer")
