"""Worker: wake-ups (timers as data), the router's state, heartbeats, service state; rep contacts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Plain SQLAlchemy types, as in 0001–0003, so this file keeps meaning the same schema however the
models (`store/worker_models.py`, `store/models.py`) evolve later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "wakeups",
        _text("key"),
        _instant("due_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_wakeups"),
    )
    # The worker's claim is a range scan on this index: "everything due by now, earliest first".
    op.create_index("ix_wakeups_due_at", "wakeups", ["due_at"])
    op.create_table(
        "router_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_router_state"),
    )
    op.create_table(
        "worker_heartbeats",
        _text("worker"),
        _instant("at"),
        sa.Column("lag_seconds", sa.Float(), nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_worker_heartbeats"),
    )
    op.create_table(
        "service_state",
        _text("key"),
        sa.Column("value", sa.JSON(), nullable=False),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_service_state"),
    )
    with op.batch_alter_table("reps") as batch:
        batch.add_column(_text("locale", nullable=True))
        batch.add_column(sa.Column("contact", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("contact")
        batch.drop_column("locale")
    op.drop_table("service_state")
    op.drop_table("worker_heartbeats")
    op.drop_table("router_state")
    op.drop_index("ix_wakeups_due_at", table_name="wakeups")
    op.drop_table("wakeups")
