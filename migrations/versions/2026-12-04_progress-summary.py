"""progress_summary and course_class.work_version, kept by triggers, for the progress matrix

Revision ID: i19_a1
Revises: i13_b1
Create Date: 2026-12-04 19:00:00

The table starts empty: a row that is missing counts as stale, and the first progress matrix that
needs it counts it from the work tables and stores it (app/services/progress_summary.py).

The triggers fire only on a change that can move a count (a first visit, a submission or its
withdrawal, a walk ended, a check answered, any of those rows deleted, or their keys changed), never
on an autosave or a re-visit. An insert or update marks its row stale with an upsert, which on
PostgreSQL takes the row's lock before the writing transaction counts; a delete removes the row (an
upsert would refer to a user that a cascading erasure is deleting).

course_class.work_version is raised on every change that can move what the rounds of k release in a
class (a revision submitted, changed or removed, an answer moved or removed, an address confirmed or
withdrawn), so that what the rounds release can be cached per version (app/services/work_cache.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i19_a1"
down_revision: str | None = "i13_b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (the id of the step, the condition for a row to count, in terms of a row alias)
COUNTED = {
    "section_visit": ("section_id", "TRUE"),
    "answer": ("prompt_id", "{row}.submitted_at IS NOT NULL"),
    "vignette_run": ("vignette_id", "{row}.finished_at IS NOT NULL"),
    "check_answer": ("check_id", "TRUE"),
}

STALE = (
    "INSERT INTO progress_summary (user_id, module_slug, fingerprint, sections, prompts, vignettes, checks) "
    "VALUES (NEW.user_id, NEW.module_slug, '', 0, 0, 0, 0) "
    "ON CONFLICT (user_id, module_slug) DO UPDATE SET fingerprint = ''"
)
FORGET_OLD = "DELETE FROM progress_summary WHERE user_id = OLD.user_id AND module_slug = OLD.module_slug"


def _conditions(table: str) -> dict[str, str]:
    step, counts = COUNTED[table]
    new, old = counts.format(row="NEW"), counts.format(row="OLD")
    moved = f"OLD.user_id <> NEW.user_id OR OLD.module_slug <> NEW.module_slug OR OLD.{step} <> NEW.{step}"
    return {
        "insert": new,
        "update": f"({moved}) OR (({old}) <> ({new}))",
        "delete": old,
    }


def _columns(table: str) -> str:
    step = COUNTED[table][0]
    extra = {"answer": ", submitted_at", "vignette_run": ", finished_at"}.get(table, "")
    return f"user_id, module_slug, {step}{extra}"


def upgrade() -> None:
    op.create_table(
        "progress_summary",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_slug", sa.String(length=60), nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("sections", sa.Integer(), nullable=False),
        sa.Column("prompts", sa.Integer(), nullable=False),
        sa.Column("vignettes", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "module_slug"),
    )
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_version", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
        _postgresql_work_version_triggers()
    else:
        _sqlite_triggers()
        _sqlite_work_version_triggers()


RAISE = "UPDATE course_class SET work_version = work_version + 1 WHERE id"
# trigger name: (event, table, condition, the classes whose version rises)
WORK_VERSION = {
    "class_work_revision_insert": (
        "INSERT",
        "answer_revision",
        None,
        "= (SELECT class_id FROM answer WHERE id = NEW.answer_id)",
    ),
    "class_work_revision_delete": (
        "DELETE",
        "answer_revision",
        None,
        "= (SELECT class_id FROM answer WHERE id = OLD.answer_id)",
    ),
    # Revisions are never changed by the app; one changed by hand still makes a new state.
    "class_work_revision_update": (
        "UPDATE",
        "answer_revision",
        None,
        "IN (SELECT class_id FROM answer WHERE id IN (OLD.answer_id, NEW.answer_id))",
    ),
    "class_work_answer_update": (
        "UPDATE OF user_id, class_id, module_slug, prompt_id",
        "answer",
        None,
        "IN (OLD.class_id, NEW.class_id)",
    ),
    # A cascade removes the answer before its revisions: their trigger no longer finds its class.
    "class_work_answer_delete": ("DELETE", "answer", "OLD.class_id IS NOT NULL", "= OLD.class_id"),
    "class_work_user_verified": (
        "UPDATE OF email_verified_at",
        '"user"',
        "OLD.email_verified_at IS DISTINCT FROM NEW.email_verified_at",
        "IN (SELECT class_id FROM answer WHERE user_id = NEW.id)",
    ),
}


def _sqlite_work_version_triggers() -> None:
    for name, (event, table, condition, classes) in WORK_VERSION.items():
        when = f" WHEN {condition.replace('IS DISTINCT FROM', 'IS NOT')}" if condition else ""
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table}{when} BEGIN {RAISE} {classes}; END")


def _postgresql_work_version_triggers() -> None:
    for name, (event, table, condition, classes) in WORK_VERSION.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {RAISE} {classes}; RETURN NULL; END $$"
        )
        when = f" WHEN ({condition})" if condition else ""
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} EXECUTE FUNCTION {name}()")


def _sqlite_triggers() -> None:
    for table in COUNTED:
        when = _conditions(table)
        op.execute(
            f"CREATE TRIGGER progress_stale_{table}_insert AFTER INSERT ON {table} "
            f"WHEN {when['insert']} BEGIN {STALE}; END"
        )
        moved = "OLD.user_id <> NEW.user_id OR OLD.module_slug <> NEW.module_slug"
        op.execute(
            f"CREATE TRIGGER progress_stale_{table}_update AFTER UPDATE OF {_columns(table)} ON {table} "
            f"WHEN {when['update']} BEGIN {FORGET_OLD} AND ({moved}); {STALE}; END"
        )
        op.execute(
            f"CREATE TRIGGER progress_stale_{table}_delete AFTER DELETE ON {table} "
            f"WHEN {when['delete']} BEGIN {FORGET_OLD}; END"
        )


def _postgresql_triggers() -> None:
    op.execute(
        f"""
        CREATE FUNCTION progress_summary_stale() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {FORGET_OLD};
                RETURN NULL;
            END IF;
            IF TG_OP = 'UPDATE' THEN
                IF OLD.user_id <> NEW.user_id OR OLD.module_slug <> NEW.module_slug THEN
                    {FORGET_OLD};
                END IF;
            END IF;
            {STALE};
            RETURN NULL;
        END
        $$
        """
    )
    for table in COUNTED:
        when = _conditions(table)
        for event, clause in (
            ("insert", "INSERT"),
            ("update", f"UPDATE OF {_columns(table)}"),
            ("delete", "DELETE"),
        ):
            op.execute(
                f"CREATE TRIGGER progress_stale_{table}_{event} AFTER {clause} ON {table} "
                f"FOR EACH ROW WHEN ({when[event]}) EXECUTE FUNCTION progress_summary_stale()"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in COUNTED:
        for event in ("insert", "update", "delete"):
            op.execute(
                f"DROP TRIGGER IF EXISTS progress_stale_{table}_{event}" + (f" ON {table}" if postgresql else "")
            )
    for name, (_event, table, _condition, _classes) in WORK_VERSION.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS progress_summary_stale()")
    with op.batch_alter_table("course_class", schema=None) as batch_op:
        batch_op.drop_column("work_version")
    op.drop_table("progress_summary")
