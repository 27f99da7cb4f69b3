"""Indexes for the reports on a large store: a rep's clocks by deadline, leads by arrival.

`clocks (owner, due_at)`: a scorecard reads one rep's clocks due in two weeks. With an index on
the owner alone PostgreSQL walks all of the rep's clocks (a year of them) or every clock due in
those weeks and filters; the pair finds exactly the rows. It also serves every lookup by owner
alone (its leading column), so the single-column `ix_clocks_owner` goes: one index less for
each clock the live path writes.

`leads (created_at)`: trends, funnel, correlation and the other cohort reports read the leads
created in a period.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_clocks_owner_due_at", "clocks", ["owner", "due_at"])
    op.drop_index("ix_clocks_owner", table_name="clocks")
    op.create_index("ix_leads_created_at", "leads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_created_at", table_name="leads")
    op.create_index("ix_clocks_owner", "clocks", ["owner"])
    op.drop_index("ix_clocks_owner_due_at", table_name="clocks")
