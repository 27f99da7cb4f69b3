"""Clocks as a polars frame, and what each one was at a given instant: the reports' common ground.

The live dashboard (F20), the scorecards (F21) and the consequence ladder (F19) all ask the same
two questions of the `clocks` table, so they are answered once, here:

- which rows to read: only clocks whose deadline falls on or after the earliest instant a report
  needs (`due_from`), through the `due_at` index. That is enough because a clock's outcome is
  decided at or before its deadline: a met clock stopped at or before `due_at`, a breach happens
  at `due_at` (the engine records `breached_at = due_at`). Clocks without a deadline cannot be
  late and have no place in a period, so they are left out.
- what a clock was as of `now` (`as_of`), with the definitions of `reports/compliance.py`:
  *met* once stopped met; *breached* once its deadline has passed (an open clock past its
  deadline is breached, as the engine will mark it); *running* when started and neither;
  cancelled clocks and clocks not yet started count for nobody. A clock *ends* when it is met
  (`stopped_at`) or breached (`due_at`): that instant places it in a period.

Lead-level compliance follows `compliance.py`: a lead is within SLA when none of its counted
clocks is breached; for a rep (or a team) only the clocks that rep (that team) owned count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Text, and_, case, false, null, select

from leadclock.reports.data import INSTANT, frame, utc
from leadclock.store import Store
from leadclock.store.models import ClockRow, LeadRow, RepRow

CLOCK_SCHEMA = {
    "lead": pl.Utf8, "stage": pl.Utf8, "seq": pl.Int64, "owner": pl.Utf8,
    "started_at": INSTANT, "due_at": INSTANT, "stopped_at": INSTANT, "outcome": pl.Utf8,
    "reason": pl.Utf8, "business_seconds": pl.Float64, "target": pl.Utf8,
    "attempts": pl.Int64, "required": pl.Int64, "source": pl.Utf8, "status": pl.Utf8,
}
REP_SCHEMA = {"rep": pl.Utf8, "name": pl.Utf8, "team": pl.Utf8, "role": pl.Utf8}

# Lead statuses grouped as the 001 scorecard counts them (適格化 / 不適格化 / 進行中). A lead
# that went on to a handoff, an opportunity or a deal was qualified first.
QUALIFIED = ("qualified", "handed_off", "accepted", "opportunity", "won", "lost")
DISQUALIFIED = ("disqualified", "nurture", "recycled", "garbage", "unreachable")


def load_clocks(
    store: Store,
    *,
    due_from: datetime,
    due_before: datetime | None = None,
    owners: Sequence[str] | None = None,
    source: str | None = None,
    stages: Iterable[str] | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
    with_source: bool = True,
    with_status: bool | ColumnElement[bool] = True,
    join_leads: bool = False,
) -> pl.DataFrame:
    """Clocks with a deadline in [due_from, due_before), with their lead's source and status
    (null when not asked for).

    Every predicate is indexed or rides on one that is: `due_at` (ix_clocks_due_at), owners with
    it (ix_clocks_owner_due_at). The lead's columns come by primary-key look-ups, right for a few
    thousand clocks; `join_leads` joins the leads table instead, right for a month of clocks
    (PostgreSQL hashes the leads once instead of a look-up per clock: 1.2 s instead of 3.7 s for
    400,000 clocks of a million-lead store).
    """
    c, lead = ClockRow.__table__.c, LeadRow.__table__.c
    nothing = null().cast(Text)
    table: Any = ClockRow.__table__
    if join_leads:
        table = table.join(LeadRow.__table__, lead.id == c.lead)
        lead_source: ColumnElement[Any] = lead.source
        lead_status: ColumnElement[Any] = lead.status
    else:
        lead_source = select(lead.source).where(lead.id == c.lead).scalar_subquery()
        lead_status = select(lead.status).where(lead.id == c.lead).scalar_subquery()
    # `with_status` may be a condition: the look-up is then made only for the rows that need it.
    if with_status is False:
        lead_status = nothing
    elif with_status is not True:
        lead_status = case((with_status, lead_status), else_=nothing)
    conditions = [c.due_at >= utc(due_from), c.outcome != "cancelled"]
    if due_before is not None:
        conditions.append(c.due_at < utc(due_before))
    if owners is not None:
        conditions.append(c.owner.in_(sorted(set(owners))) if owners else false())
    if source is not None:
        conditions.append(lead_source == source)
    if stages is not None:
        conditions.append(c.stage.in_(sorted(set(stages))))
    conditions.extend(extra)
    statement = select(c.lead, c.stage, c.seq, c.owner, c.started_at, c.due_at, c.stopped_at, c.outcome,
                       c.reason, c.business_seconds, c.target, c.attempts, c.required,
                       lead_source if with_source else nothing, lead_status
                       ).select_from(table).where(and_(*conditions))
    return frame(store, statement, CLOCK_SCHEMA)


def load_reps(store: Store) -> pl.DataFrame:
    r = RepRow.__table__.c
    return frame(store, select(r.id, r.name, r.team, r.role), REP_SCHEMA)


def team_members(reps: pl.DataFrame, team: str) -> list[str]:
    return sorted(reps.filter(pl.col("team") == team)["rep"].to_list())


def as_of(clocks: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Adds `state` (met | breached | running | none) as of `now` and `ended_at` (met: the stop;
    breached: the deadline; otherwise null)."""
    now = utc(now)
    stopped = pl.col("stopped_at").is_not_null() & (pl.col("stopped_at") <= now)
    past_due = pl.col("due_at") < now
    state = (
        pl.when(pl.col("started_at") > now).then(pl.lit("none"))
        .when((pl.col("outcome") == "met") & stopped).then(pl.lit("met"))
        # Met later than `now` (an as-of in the past) was still running then, never late.
        .when(pl.col("outcome") == "met").then(pl.lit("running"))
        .when(past_due).then(pl.lit("breached"))
        .otherwise(pl.lit("running"))
    )
    ended = (
        pl.when(pl.col("state") == "met").then(pl.col("stopped_at"))
        .when(pl.col("state") == "breached").then(pl.col("due_at"))
        .otherwise(pl.lit(None, dtype=INSTANT))
    )
    # Still running at `now` (a breached clock keeps running until someone acts).
    running = (pl.col("started_at") <= now) & (pl.col("stopped_at").is_null() | (pl.col("stopped_at") > now))
    return clocks.with_columns(state.alias("state")).with_columns(
        ended.alias("ended_at"), running.alias("running_now")
    )


def ended_in(clocks: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Clocks (after `as_of`) that ended, met or breached, in [start, end)."""
    return clocks.filter(
        pl.col("ended_at").is_not_null() & (pl.col("ended_at") >= utc(start)) & (pl.col("ended_at") < utc(end))
    )


def lead_compliance(decided: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group: leads counted, leads within SLA (none of the group's counted clocks breached),
    compliance in percent (null when no lead counted)."""
    per_lead = decided.group_by([*by, "lead"]).agg((pl.col("state") == "breached").any().alias("late"))
    counts = [pl.len().alias("leads"), (~pl.col("late")).sum().alias("within_sla")]
    out = per_lead.group_by(by).agg(counts) if by else per_lead.select(counts)
    return out.with_columns(
        pl.col("leads").cast(pl.Int64), pl.col("within_sla").cast(pl.Int64)
    ).with_columns(percent("within_sla", "leads").alias("compliance"))


def clock_compliance(decided: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group: clocks met, clocks breached, met / (met + breached) in percent."""
    out = decided.group_by(by).agg(
        (pl.col("state") == "met").sum().cast(pl.Int64).alias("met"),
        (pl.col("state") == "breached").sum().cast(pl.Int64).alias("breached"),
    )
    return out.with_columns(
        (pl.col("met") + pl.col("breached")).alias("_n")
    ).with_columns(percent("met", "_n").alias("compliance")).drop("_n")


def responses(decided: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """First contacts that happened by `now`: first-contact clocks stopped (met or late) with a
    counted time, the numbers `compliance.py` averages as response time. A clock stopped by a
    reassignment measured no contact and is left out."""
    return decided.filter(
        (pl.col("stage") == "first_contact") & pl.col("stopped_at").is_not_null()
        & (pl.col("stopped_at") <= utc(now)) & pl.col("business_seconds").is_not_null()
        & ~pl.col("reason").fill_null("").str.starts_with("reassigned")
    )


def percent(part: str, whole: str) -> pl.Expr:
    """100 * part / whole rounded to 0.1, null when whole is 0 (never a division by zero)."""
    return (
        pl.when(pl.col(whole) > 0)
        .then((100.0 * pl.col(part) / pl.col(whole)).round(1))
        .otherwise(pl.lit(None, dtype=pl.Float64))
    )


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
