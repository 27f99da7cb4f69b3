"""Dashboard users and their sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Plain SQLAlchemy types, as in 0001-0004, so this file keeps meaning the same schema however the
model (`store/user_models.py`) evolves later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _serial() -> sa.types.TypeEngine[int]:
    # SQLite auto-numbers only an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _text("login"),
        _text("display_name"),
        _text("password_hash"),
        _text("role"),
        _text("team", nullable=True),
        _text("rep", nullable=True),
        _text("locale"),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("login", name="uq_users_login"),
        sa.CheckConstraint("role IN ('admin', 'ops', 'manager', 'rep')", name="ck_users_role"),
        sa.CheckConstraint("locale IN ('ja', 'en')", name="ck_users_locale"),
    )
    op.create_table(
        "web_sessions",
        _text("id_hash"),
        sa.Column("user_id", _serial(), nullable=False),
        _instant("created_at"),
        _instant("expires_at"),
        _text("csrf_secret"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("users")
