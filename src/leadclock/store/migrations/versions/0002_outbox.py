"""Notification outbox and in-app inbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Plain SQLAlchemy types, as in 0001, so this file keeps meaning the same schema however the models
(`store/outbox_models.py`) evolve later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
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
        "outbox",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _text("dedupe_key"),
        _text("channel"),
        _text("channel_type"),
        _text("recipient"),
        _text("locale"),
        _text("subject"),
        _text("body_text"),
        _text("body_html"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _text("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at", nullable=True),
        _text("lease_owner", nullable=True),
        _instant("lease_until", nullable=True),
        _text("last_error", nullable=True),
        _instant("created_at"),
        _instant("sent_at", nullable=True),
        _text("bundle_key", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    # The sender's claim: live rows whose next attempt (or expired lease) has come.
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"])
    op.create_index("ix_outbox_status", "outbox", ["status"])

    op.create_table(
        "inbox",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _text("recipient"),
        _text("dedupe_key"),
        _text("subject"),
        _text("body"),
        _instant("created_at"),
        _instant("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_inbox_dedupe_key"),
    )
    op.create_index("ix_inbox_recipient", "inbox", ["recipient"])


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
