"""answers belong to the class they were written for; pseudonyms per prompt unless a class keeps one

Revision ID: i12_a2
Revises: i12_a1
Create Date: 2026-12-02 09:20:00

Existing answers are carried over to the class they were written for: among the classes of the
student that have an assignment of the answer's module, the one the student joined most recently
at or before the answer was last submitted (or, for a draft, last saved). When the student joined
none of them by then (the text was written before they were in any such class), the answer belongs
to no class: it stays the student's, and no review shows it. Feedback already names its class.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i12_a2"
down_revision: str | None = "i12_a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _aware(value):
    from datetime import UTC, datetime

    if isinstance(value, str):  # SQLite without type information
        value = datetime.fromisoformat(value)
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shared_pseudonyms", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("class_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_answer_class_id", "course_class", ["class_id"], ["id"], ondelete="CASCADE")
        batch_op.drop_constraint("uq_answer_user_prompt", type_="unique")
        batch_op.create_unique_constraint(
            "uq_answer_user_class_prompt", ["user_id", "class_id", "module_slug", "prompt_id"]
        )
        batch_op.create_index("ix_answer_class_id", ["class_id", "module_slug", "prompt_id"], unique=False)
    # One answer per (student, module, prompt) written outside any class (NULLs are distinct in a
    # unique constraint on both databases, so this one needs its own partial index).
    op.create_index(
        "uq_answer_no_class_prompt",
        "answer",
        ["user_id", "module_slug", "prompt_id"],
        unique=True,
        sqlite_where=sa.text("class_id IS NULL"),
        postgresql_where=sa.text("class_id IS NULL"),
    )

    connection = op.get_bind()
    joined: dict[tuple[int, str], list[tuple]] = {}
    for class_id, user_id, slug, created_at in connection.execute(
        sa.text(
            "SELECT e.class_id, e.user_id, a.module_slug, e.created_at FROM enrolment e "
            "JOIN assignment a ON a.class_id = e.class_id"
        )
    ):
        joined.setdefault((user_id, slug), []).append((_aware(created_at), class_id))
    updates = []
    for answer_id, user_id, slug, submitted_at, updated_at in connection.execute(
        sa.text("SELECT id, user_id, module_slug, submitted_at, updated_at FROM answer")
    ):
        written = _aware(submitted_at) or _aware(updated_at)
        candidates = sorted(c for c in joined.get((user_id, slug), []) if c[0] <= written)
        if candidates:
            updates.append({"class_id": candidates[-1][1], "answer_id": answer_id})
    if updates:
        connection.execute(sa.text("UPDATE answer SET class_id = :class_id WHERE id = :answer_id"), updates)


def downgrade() -> None:
    op.drop_index("uq_answer_no_class_prompt", table_name="answer")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_class_id")
        batch_op.drop_constraint("uq_answer_user_class_prompt", type_="unique")
        batch_op.drop_constraint("fk_answer_class_id", type_="foreignkey")
        batch_op.drop_column("class_id")
        batch_op.create_unique_constraint("uq_answer_user_prompt", ["user_id", "module_slug", "prompt_id"])
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.drop_column("shared_pseudonyms")
