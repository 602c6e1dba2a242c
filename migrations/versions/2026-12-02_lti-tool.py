"""lti: platform registrations, the tool's keys, logins (state/nonce), contexts, resource links, grade posts

Revision ID: i16_b1
Revises: i13_c1
Create Date: 2026-12-02 21:00:00

New tables only (app/lti); nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "i16_b1"
down_revision: str | None = "i13_c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _string(length: int):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "lti_platform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _string(120), nullable=False),
        sa.Column("issuer", _string(255), nullable=False),
        sa.Column("client_id", _string(255), nullable=False),
        sa.Column("deployment_id", _string(255), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=False),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("frame_origins", sa.Text(), nullable=False, server_default=""),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id", "deployment_id", name="uq_lti_platform_deployment"),
    )
    op.create_index("ix_lti_platform_issuer", "lti_platform", ["issuer"])
    op.create_table(
        "lti_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", _string(64), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=False),
        _at("created_at"),
        _at("retired_at", True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kid"),
    )
    op.create_table(
        "lti_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", _string(64), nullable=False),
        sa.Column("nonce", _string(64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("login_hint", sa.Text(), nullable=False),
        sa.Column("message_hint", sa.Text(), nullable=False),
        sa.Column("target_link_uri", sa.Text(), nullable=False),
        _at("created_at"),
        _at("used_at", True),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
        sa.UniqueConstraint("nonce"),
    )
    op.create_index("ix_lti_login_platform_id", "lti_login", ["platform_id"])
    op.create_table(
        "lti_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", _string(255), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("memberships_url", sa.Text(), nullable=False),
        _at("synced_at", True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["class_id"], ["course_class.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "context_id", name="uq_lti_context_platform_context"),
    )
    op.create_index("ix_lti_context_platform_id", "lti_context", ["platform_id"])
    op.create_index("ix_lti_context_class_id", "lti_context", ["class_id"])
    op.create_table(
        "lti_resource_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("lti_context_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", _string(255), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("lineitem_url", sa.Text(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lti_context_id"], ["lti_context.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "resource_link_id", name="uq_lti_resource_link_platform_link"),
    )
    op.create_index("ix_lti_resource_link_platform_id", "lti_resource_link", ["platform_id"])
    op.create_index("ix_lti_resource_link_lti_context_id", "lti_resource_link", ["lti_context_id"])
    op.create_index("ix_lti_resource_link_assignment_id", "lti_resource_link", ["assignment_id"])
    op.create_table(
        "lti_grade_post",
        sa.Column("resource_link_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        _at("posted_at"),
        sa.ForeignKeyConstraint(["resource_link_id"], ["lti_resource_link.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_link_id", "user_id"),
    )
    op.create_index("ix_lti_grade_post_user_id", "lti_grade_post", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_lti_grade_post_user_id", table_name="lti_grade_post")
    op.drop_table("lti_grade_post")
    for index in (
        "ix_lti_resource_link_assignment_id",
        "ix_lti_resource_link_lti_context_id",
        "ix_lti_resource_link_platform_id",
    ):
        op.drop_index(index, table_name="lti_resource_link")
    op.drop_table("lti_resource_link")
    op.drop_index("ix_lti_context_class_id", table_name="lti_context")
    op.drop_index("ix_lti_context_platform_id", table_name="lti_context")
    op.drop_table("lti_context")
    op.drop_index("ix_lti_login_platform_id", table_name="lti_login")
    op.drop_table("lti_login")
    op.drop_table("lti_key")
    op.drop_index("ix_lti_platform_issuer", table_name="lti_platform")
    op.drop_table("lti_platform")
