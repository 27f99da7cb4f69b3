"""API tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Plain SQLAlchemy types, as in 0001 and 0002, so this file keeps meaning the same schema however
the model (`store/token_models.py`) evolves later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
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
        "api_tokens",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _text("token_hash"),
        _text("name"),
        _text("role"),
        _text("team", nullable=True),
        _text("rep", nullable=True),
        _instant("created_at"),
        _instant("revoked_at", nullable=True),
        _instant("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        # Every request looks its token up by hash: the unique index is that lookup.
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.CheckConstraint(
            "role IN ('admin', 'ops', 'manager', 'rep', 'integration')", name="ck_api_tokens_role"
        ),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
