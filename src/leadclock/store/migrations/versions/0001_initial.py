"""Initial schema: events, leads, reps, clocks, effects, breaches, audit, policy versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written with plain SQLAlchemy types rather than the models' own (`UTCDateTime` is
`DateTime(timezone=True)` underneath), so this file keeps meaning the same schema however the
models evolve later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
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
        "events",
        sa.Column("seq", _serial(), autoincrement=True, nullable=False),
        _text("id"),
        _text("type"),
        _instant("at"),
        _text("lead", nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _instant("received_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_lead", "events", ["lead"])
    op.create_index("ix_events_at_seq", "events", ["at", "seq"])

    op.create_table(
        "leads",
        _text("id"),
        _text("source"),
        _text("tier", nullable=True),
        _text("status"),
        _text("owner", nullable=True),
        _instant("created_at", nullable=True),
        sa.Column("within_sla", sa.Boolean(), nullable=False),
        sa.Column("arrived_after_hours", sa.Boolean(), nullable=False),
        _instant("first_contact_at", nullable=True),
        _instant("reached_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("last_event_at", nullable=True),
        _text("handoff_to", nullable=True),
        sa.Column("owners", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        _instant("updated_at"),
        _text("policy_version"),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )
    op.create_index("ix_leads_owner", "leads", ["owner"])

    op.create_table(
        "reps",
        _text("id"),
        _text("name", nullable=True),
        _text("team", nullable=True),
        _text("role", nullable=True),
        _text("manager", nullable=True),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reps"),
    )

    op.create_table(
        "clocks",
        _text("lead"),
        _text("stage"),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("owner", nullable=True),
        _instant("started_at"),
        _instant("due_at", nullable=True),
        _instant("max_at", nullable=True),
        _instant("warn_at", nullable=True),
        _instant("stopped_at", nullable=True),
        _text("outcome"),
        _text("reason"),
        _instant("breached_at", nullable=True),
        sa.Column("exceeded_max", sa.Boolean(), nullable=False),
        sa.Column("business_seconds", sa.Float(), nullable=True),
        _text("calendar"),
        _text("target"),
        _text("policy_version"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead"], ["leads.id"], name="fk_clocks_lead_leads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead", "stage", "seq", name="pk_clocks"),
    )
    # The worker's query: open clocks whose deadline has passed (DESIGN principle 4).
    op.create_index("ix_clocks_due_at", "clocks", ["due_at"])
    op.create_index("ix_clocks_owner", "clocks", ["owner"])

    op.create_table(
        "effects",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _text("dedupe_key"),
        _text("kind"),
        _instant("at"),
        _text("lead"),
        _text("stage", nullable=True),
        _text("rule", nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        _text("owner", nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_effects"),
        sa.UniqueConstraint("dedupe_key", name="uq_effects_dedupe_key"),
    )
    op.create_index("ix_effects_lead", "effects", ["lead"])

    op.create_table(
        "breaches",
        _text("lead"),
        _text("stage"),
        sa.Column("seq", sa.Integer(), nullable=False),
        _instant("at"),
        _text("owner", nullable=True),
        _text("category", nullable=True),
        _text("note", nullable=True),
        _text("reviewed_by", nullable=True),
        _instant("reviewed_at", nullable=True),
        sa.PrimaryKeyConstraint("lead", "stage", "seq", name="pk_breaches"),
    )
    op.create_index("ix_breaches_at", "breaches", ["at"])
    op.create_index("ix_breaches_owner", "breaches", ["owner"])

    op.create_table(
        "audit",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        _instant("at"),
        _text("lead", nullable=True),
        _text("actor"),
        _text("action"),
        _text("reason"),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_lead", "audit", ["lead"])

    op.create_table(
        "policy_versions",
        _text("version"),
        _text("name"),
        _instant("created_at"),
        _text("yaml"),
        sa.Column("json", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_policy_versions"),
    )


def downgrade() -> None:
    for table in ("policy_versions", "audit", "breaches", "effects", "clocks", "reps", "leads", "events"):
        op.drop_table(table)
