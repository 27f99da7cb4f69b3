"""Index clocks by start: the reports that count (lead, rep) pairs of a period.

Trends (by rep tenure), correlation and the other cohort reports group the clocks *started* in
a period by lead and rep. Without an index PostgreSQL reads the whole clocks table for it (a
million-lead store: 5 million rows, 1 GB, for 90 days' worth); clocks are written in lead order,
which follows arrival, so a bitmap scan of the start index reads about the period's share of
the table (120,000 pages -> 38,000 for 90 days of a year's store; trends' pair count 3.6 s ->
1.8 s).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_clocks_started_at", "clocks", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_clocks_started_at", table_name="clocks")
