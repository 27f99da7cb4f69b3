"""Running clocks per rep, for "each rep's assigned leads and the time left before a breach" (F20).

A running clock is one not stopped yet: `open` (its deadline ahead, or just passed and not fired
by the worker yet) or `breached` and still running (past its deadline, the lead still waiting).
Both are what a rep must act on now, so both are listed, most urgent first. Read through the
dashboard's scope (`web/scope.py`), so a rep's page only ever holds that rep's clocks and leads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, select

from leadclock.api.auth import Principal
from leadclock.store import Store
from leadclock.store.models import ClockRow, LeadRow, RepRow
from leadclock.web.scope import clock_condition

_clocks: Table = ClockRow.__table__  # type: ignore[assignment]
_leads: Table = LeadRow.__table__  # type: ignore[assignment]
_reps: Table = RepRow.__table__  # type: ignore[assignment]

LIMIT = 2000  # a page people read; the count beyond it is still shown
AT_RISK_SECONDS = 3600.0


@dataclass(frozen=True)
class RunningClock:
    lead: str
    stage: str
    seq: int
    owner: str | None
    source: str
    tier: str | None
    due_at: datetime | None
    target: str
    outcome: str

    def seconds_left(self, now: datetime) -> float | None:
        return None if self.due_at is None else (self.due_at - now).total_seconds()


@dataclass
class RepClocks:
    rep: str | None
    name: str | None
    team: str | None
    clocks: list[RunningClock] = field(default_factory=list)

    def overdue(self, now: datetime) -> int:
        return sum(1 for c in self.clocks if c.due_at is not None and c.due_at <= now)

    def at_risk(self, now: datetime) -> int:
        return sum(1 for c in self.clocks
                   if c.due_at is not None and 0 < (c.due_at - now).total_seconds() < AT_RISK_SECONDS)


def running_clocks(store: Store, principal: Principal, now: datetime, rep: str | None = None) -> tuple[list[RepClocks], bool]:
    """Running clocks grouped by owner (reps in roster order, then unassigned), and whether the
    list was cut at `LIMIT`."""
    statement = (
        select(_clocks.c.lead, _clocks.c.stage, _clocks.c.seq, _clocks.c.owner, _clocks.c.due_at,
               _clocks.c.target, _clocks.c.outcome, _leads.c.source, _leads.c.tier)
        .join(_leads, _leads.c.id == _clocks.c.lead)
        .where(_clocks.c.stopped_at.is_(None), _clocks.c.outcome.in_(("open", "breached")),
               clock_condition(principal))
        .order_by(_clocks.c.due_at.asc().nulls_last(), _clocks.c.lead, _clocks.c.stage, _clocks.c.seq)
        .limit(LIMIT + 1)
    )
    if rep is not None:
        statement = statement.where(_clocks.c.owner == rep)
    with store._read() as connection:
        rows = connection.execute(statement).all()
        roster = {r.id: r for r in connection.execute(select(_reps.c.id, _reps.c.name, _reps.c.team))}
    cut = len(rows) > LIMIT
    groups: dict[str | None, RepClocks] = {}
    by_owner: dict[str | None, list[RunningClock]] = defaultdict(list)
    for row in rows[:LIMIT]:
        by_owner[row.owner].append(RunningClock(row.lead, row.stage, row.seq, row.owner, row.source, row.tier,
                                                row.due_at, row.target, row.outcome))
    for owner, clocks in by_owner.items():
        known = roster.get(owner) if owner else None
        groups[owner] = RepClocks(owner, known.name if known else None, known.team if known else None, clocks)
    ordered = sorted(groups.values(), key=lambda g: (g.rep is None, g.team or "", g.rep or ""))
    return ordered, cut


__all__ = ["AT_RISK_SECONDS", "RepClocks", "RunningClock", "running_clocks"]
