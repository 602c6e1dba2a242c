"""assessments: the level(s) a lecturer gave an answer against its rubric (history kept); completion rule per class

Revision ID: i20_b1
Revises: i13_a1
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i20_b1"
down_revision: str | None = "i13_a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=True),
        sa.Column("rubric_id", sa.String(length=60), nullable=False),
        sa.Column("rubric_version", sa.String(length=40), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["revision_id"], ["answer_revision.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["class_id"], ["course_class.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assessor_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessment_answer_id", "assessment", ["answer_id"], unique=False)
    op.create_index("ix_assessment_class_answer", "assessment", ["class_id", "answer_id"], unique=False)
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completion_rule", sa.String(length=16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.drop_column("completion_rule")
    op.drop_index("ix_assessment_class_answer", table_name="assessment")
    op.drop_index("ix_assessment_answer_id", table_name="assessment")
    op.drop_table("assessment")
