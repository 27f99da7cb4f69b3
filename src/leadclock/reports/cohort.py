"""The lead cohorts the analysis reports (F22-F26) share, read as polars frames.

A cohort is the leads *created* in a period (local time of arrival decides the weekday, hour and
month). Definitions follow `reports/compliance.py`:

* a lead is within SLA when none of its clocks is breached (the store's `leads.within_sla`);
* with `--rep` / `--team`, only the clocks the reps in scope owned count: a lead is in the
  cohort when one of them owned a (not cancelled) clock of it, and within SLA when none of
  *those* clocks is breached;
* a rep's compliance counts (lead, rep) pairs: the leads the rep owned a not-cancelled clock of,
  breached when one of the rep's clocks on that lead is breached.

Aggregation that would otherwise ship millions of clock rows (per lead, per pair) is done by
the database (one GROUP BY); polars does the rest. Nothing here builds LeadState objects.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import BigInteger, Float, Integer, Text, and_, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from leadclock.reports.data import INSTANT, frame
from leadclock.reports.params import ReportRequest
from leadclock.store import Store
from leadclock.store.models import ClockRow, LeadRow, RepRow

_leads = LeadRow.__table__
_clocks = ClockRow.__table__
_reps = RepRow.__table__

T = TypeVar("T")


def scope_reps(request: ReportRequest) -> list[str] | None:
    """The rep ids `--rep` / `--team` select, or None when the report is not limited to reps."""
    if request.rep is None and request.team is None:
        return None
    statement = select(_reps.c.id)
    if request.rep is not None:
        statement = statement.where(_reps.c.id == request.rep)
    if request.team is not None:
        statement = statement.where(_reps.c.team == request.team)
    with request.store._read() as connection:
        return sorted(connection.execute(statement).scalars().all())


def _created_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(_leads.c.created_at >= start, _leads.c.created_at < end)


def clocks_of_leads_created(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Clocks (joined with their leads) of the leads created in [start, end). A lead's clocks start
    at or after its creation, so `started_at >= start` changes nothing but lets the database
    read the period's clocks through the start index (migration 0008) instead of all of them."""
    return and_(_created_in(start, end), _clocks.c.started_at >= start)


def epoch_bucket(store: Store, column: Any, seconds: int) -> ColumnElement[int]:
    """floor(epoch seconds of `column` / seconds), in SQL on either database (UTC instants)."""
    if store.dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / seconds), BigInteger)
    return cast(func.strftime("%s", column), Integer) / seconds  # SQLite keeps UTC text


# Every real time zone's offset is a multiple of 15 minutes: counts per 15-minute UTC bucket give
# exact local dates, weekdays and hours wherever the organisation is.
QUARTER_HOUR = 900


def cohort_subquery(request: ReportRequest, start: datetime, end: datetime) -> Any:
    """The cohort as a subquery: created_at, source, status, within (1 / 0) per lead, in scope."""
    reps = scope_reps(request)
    if reps is None:
        inner = select(_leads.c.created_at.label("created_at"), _leads.c.source.label("source"),
                       _leads.c.status.label("status"),
                       case((_leads.c.within_sla, 1), else_=0).label("within")).where(_created_in(start, end))
    else:
        breached = func.max(case((_clocks.c.outcome == "breached", 1), else_=0))
        inner = (
            select(_leads.c.created_at.label("created_at"), _leads.c.source.label("source"),
                   _leads.c.status.label("status"), (1 - breached).label("within"))
            .select_from(_clocks.join(_leads, _leads.c.id == _clocks.c.lead))
            .where(clocks_of_leads_created(start, end), _clocks.c.owner.in_(reps or [""]),
                   _clocks.c.outcome != "cancelled")
            .group_by(_leads.c.id, _leads.c.created_at, _leads.c.source, _leads.c.status)
        )
    if request.source is not None:
        inner = inner.where(_leads.c.source == request.source)
    return inner.subquery()


def lead_buckets(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """The cohort of `lead_cohort`, counted in the database per 15-minute bucket of arrival:
    created_at (the bucket's start), within, n. A million-lead store ships a few thousand rows."""
    base = cohort_subquery(request, start, end)
    bucket = epoch_bucket(request.store, base.c.created_at, QUARTER_HOUR)
    statement = select(bucket, base.c.within, func.count()).group_by(bucket, base.c.within)
    found = frame(request.store, statement, {"bucket": pl.Int64, "within": pl.Int64, "n": pl.Int64})
    return found.select(
        created_at=pl.from_epoch(pl.col("bucket") * QUARTER_HOUR, time_unit="s").dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC"),
        within=pl.col("within") == 1, n=pl.col("n"))


def rep_compliance(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """Each rep's (lead, rep) pairs for leads created in [start, end): owner, leads, breached."""
    breached = func.max(case((_clocks.c.outcome == "breached", 1), else_=0))
    inner = (
        select(_clocks.c.owner.label("owner"), breached.label("breached"))
        .select_from(_clocks.join(_leads, _leads.c.id == _clocks.c.lead))
        .where(clocks_of_leads_created(start, end), _clocks.c.owner.is_not(None), _clocks.c.outcome != "cancelled")
        .group_by(_clocks.c.lead, _clocks.c.owner)
    )
    reps = scope_reps(request)
    if reps is not None:
        inner = inner.where(_clocks.c.owner.in_(reps or [""]))
    if request.source is not None:
        inner = inner.where(_leads.c.source == request.source)
    base = inner.subquery()
    statement = select(base.c.owner, func.count(), func.sum(base.c.breached)).group_by(base.c.owner)
    return frame(request.store, statement, {"owner": pl.Utf8, "leads": pl.Int64, "breached": pl.Int64})


def pair_days(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """(lead, rep) pairs whose rep's first clock on the lead started in [start, end), counted per
    rep, UTC day of that clock (days since the epoch) and breached (0/1): owner, day, breached, n.
    Only the rep's own clocks count, cancelled ones not at all (as in compliance.py)."""
    breached = func.max(case((_clocks.c.outcome == "breached", 1), else_=0))
    inner = (
        select(_clocks.c.owner.label("owner"), func.min(_clocks.c.started_at).label("first"),
               breached.label("breached"))
        .where(_clocks.c.owner.is_not(None), _clocks.c.outcome != "cancelled",
               _clocks.c.started_at >= start, _clocks.c.started_at < end)
        .group_by(_clocks.c.lead, _clocks.c.owner)
    )
    reps = scope_reps(request)
    if reps is not None:
        inner = inner.where(_clocks.c.owner.in_(reps or [""]))
    if request.source is not None:
        inner = inner.where(_clocks.c.lead.in_(select(_leads.c.id).where(_leads.c.source == request.source)))
    base = inner.subquery()
    day = epoch_bucket(request.store, base.c.first, 86400)
    statement = select(base.c.owner, day, base.c.breached, func.count()).group_by(base.c.owner, day, base.c.breached)
    return frame(request.store, statement, {"owner": pl.Utf8, "day": pl.Int64, "breached": pl.Int64, "n": pl.Int64})


def concurrently(store: Store, *calls: Callable[[], T]) -> list[T]:
    """Run independent reads at once on PostgreSQL (each on its own pooled connection; the
    server and polars work while Python waits); one after another on SQLite."""
    if store.dialect != "postgresql" or len(calls) < 2:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def first_assignments(store: Store, before: datetime) -> pl.DataFrame:
    """Each rep's first assignment in the store, taken as the deadline of their first clock.

    The deadline, not the start, because `clocks (owner, due_at)` is indexed: one index probe
    per rep instead of a scan of every clock ever (a first clock's deadline is minutes to a day
    after its start; tenure is counted in weeks)."""
    first = (
        select(_clocks.c.due_at)
        .where(_clocks.c.owner == _reps.c.id, _clocks.c.due_at.is_not(None), _clocks.c.due_at < before)
        .order_by(_clocks.c.due_at).limit(1).scalar_subquery()
    )
    found = frame(store, select(_reps.c.id, first), {"owner": pl.Utf8, "first_at": INSTANT})
    return found.drop_nulls("first_at")


def json_text(store: Store, key: str) -> ColumnElement[str]:
    """`leads.attributes[key]` as JSON text, on either database (for polars to decode)."""
    if store.dialect == "postgresql":
        return cast(_leads.c.attributes.op("->")(key), Text)
    return func.json_extract(_leads.c.attributes, f"$.{key}")


def json_number(key: str) -> ColumnElement[float]:
    """`leads.attributes[key]` as a number (NULL when absent)."""
    return cast(_leads.c.attributes[key].as_float(), Float)


def local(column: str, request: ReportRequest) -> pl.Expr:
    """An instant column in the policy's local time (for weekday, hour, date, month)."""
    return pl.col(column).dt.convert_time_zone(request.policy.org.timezone)


def pct(part: float | int | None, whole: float | int | None) -> float | None:
    """A percentage rounded to 0.1, None when there is nothing to divide by."""
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)
