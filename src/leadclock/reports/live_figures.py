"""The live dashboard's numbers (F20), split so that a request reads only today from the store.

A clock that ended (met or breached) before today's local midnight never changes its outcome
again, so the figures of the closed days are computed once and kept (`Closed`, for
`CLOSED_MAX_AGE` of report time, on the Store object, per scope); each request then reads only
what can still move, all through the `due_at` index:

- the clocks that ended today or fall due in the next hour (`_live_frame`),
- per rep, the open clocks not yet due: how many leads, the nearest deadline (one GROUP BY).

The two parts are merged exactly, not approximately: lead-level compliance is not additive (a
lead counted on Monday and again today is one lead), so the closed part keeps, per lead (and per
rep / team), whether it was counted and whether it was late in each period, and today's leads
correct the closed totals through a join on those few rows. Clock counts and response times are
sums and simply add up; the trend's closed days are final.

A read in the last `REFRESH_AHEAD` of that age starts a background refill and answers with the
kept figures, so a dashboard being watched never waits for the month's read; only the first
request of a scope after start-up, at local midnight or after a quiet spell pays for it.

What may lag by up to `CLOSED_MAX_AGE`: a late event that rewrites a clock of an earlier day, and
the list of clocks that fell due before today and are still running (the "in breach now" rows
older than today; today's are live). A partial index on `clocks (due_at) WHERE stopped_at IS
NULL` would let that list be read live as well.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import and_, func, or_, select, union_all

from leadclock.reports.clock_frame import as_of, load_clocks, responses
from leadclock.reports.data import INSTANT, frame, utc
from leadclock.reports.params import Period, ReportRequest
from leadclock.store import Store
from leadclock.store.models import ClockRow, LeadRow

CLOSED_MAX_AGE = timedelta(minutes=10)
# Figures older than CLOSED_MAX_AGE - REFRESH_AHEAD are refilled in the background on the next read.
REFRESH_AHEAD = timedelta(minutes=2)
SOON = timedelta(hours=1)
PERIODS = ("today", "week", "month", "range")
GROUPS = {"lead": ["lead"], "owner": ["lead", "owner"], "team": ["lead", "team"]}
_LOCK = threading.Lock()
log = logging.getLogger(__name__)


@dataclass
class Part:
    """Figures of one set of decided clocks, small enough to merge with another."""

    flags: dict[str, pl.DataFrame]  # group -> keys (+ source) + c_<period> / l_<period>
    clocks: pl.DataFrame  # period, stage, met, breached
    answered: pl.DataFrame  # period, owner, n, total (first contacts made)
    days: pl.DataFrame  # date, leads, within_sla (lead-days; a day is wholly in one part)


@dataclass
class Closed:
    filled_at: datetime
    part: Part
    sums: dict[str, pl.DataFrame]  # group -> per group value: leads_<p>, within_<p>
    running_late: pl.DataFrame  # running clocks past their deadline, deadline before today (as of fill)


def summarise(decided: pl.DataFrame, bounds: dict[str, Period], now: datetime, zone: str) -> Part:
    """`decided`: clocks after `as_of`, met or breached, with `team` joined."""
    flags_exprs = []
    ended, late = pl.col("ended_at"), pl.col("state") == "breached"
    for name, period in bounds.items():
        inside = (ended >= utc(period.start)) & (ended < utc(period.end))
        flags_exprs += [inside.any().alias(f"c_{name}"), (inside & late).any().alias(f"l_{name}")]
    flags = {
        "lead": decided.group_by("lead").agg(pl.col("source").first(), *flags_exprs),
        "owner": decided.filter(pl.col("owner").is_not_null()).group_by(GROUPS["owner"]).agg(flags_exprs),
        "team": decided.filter(pl.col("team").is_not_null()).group_by(GROUPS["team"]).agg(flags_exprs),
    }
    clocks, answered = [], []
    made = responses(decided, now)
    for name, period in bounds.items():
        inside = (ended >= utc(period.start)) & (ended < utc(period.end))
        clocks.append(decided.filter(inside).group_by("stage").agg(
            (pl.col("state") == "met").sum().cast(pl.Int64).alias("met"),
            late.sum().cast(pl.Int64).alias("breached"),
        ).with_columns(pl.lit(name).alias("period")))
        answered.append(made.filter(inside).group_by("owner").agg(
            pl.len().cast(pl.Int64).alias("n"), pl.col("business_seconds").sum().alias("total"),
        ).with_columns(pl.lit(name).alias("period")))
    per_day = decided.with_columns(ended.dt.convert_time_zone(zone).dt.date().alias("date")).group_by(
        ["date", "lead"]).agg(late.any().alias("late"))
    days = per_day.group_by("date").agg(pl.len().cast(pl.Int64).alias("leads"),
                                        (~pl.col("late")).sum().cast(pl.Int64).alias("within_sla"))
    return Part(flags, pl.concat(clocks, how="vertical_relaxed"), pl.concat(answered, how="vertical_relaxed"), days)


def _sums(flags: pl.DataFrame, by: str | None, periods: tuple[str, ...] = PERIODS) -> pl.DataFrame:
    exprs = []
    for name in periods:
        exprs += [pl.col(f"c_{name}").sum().cast(pl.Int64).alias(f"leads_{name}"),
                  (pl.col(f"c_{name}") & ~pl.col(f"l_{name}")).sum().cast(pl.Int64).alias(f"within_{name}")]
    return flags.group_by(by).agg(exprs) if by else flags.select(exprs)


def _group_sums(part: Part) -> dict[str, pl.DataFrame]:
    return {
        "all": _sums(part.flags["lead"], None), "source": _sums(part.flags["lead"], "source"),
        "owner": _sums(part.flags["owner"], "owner"), "team": _sums(part.flags["team"], "team"),
    }


def merged_sums(closed: Closed, live: Part) -> dict[str, pl.DataFrame]:
    """Closed totals corrected by today's leads: a lead new to a period adds one (within unless
    late today); a lead already counted and within turns late if today's clock was late."""
    out = {}
    for name, flag_key, by in (("all", "lead", None), ("source", "lead", "source"), ("owner", "owner", "owner"),
                               ("team", "team", "team")):
        keys = GROUPS[flag_key]
        today = live.flags[flag_key]
        before = closed.part.flags[flag_key].select(*keys, *(pl.col(f"{p}_{n}").alias(f"{p}_{n}_before")
                                                           for n in PERIODS for p in ("c", "l")))
        joined = today.join(before, on=keys, how="left").with_columns(pl.col("^.*_before$").fill_null(False))
        exprs = []
        for n in PERIODS:
            c, lt, cb, lb = pl.col(f"c_{n}"), pl.col(f"l_{n}"), pl.col(f"c_{n}_before"), pl.col(f"l_{n}_before")
            exprs += [(c & ~cb).sum().cast(pl.Int64).alias(f"leads_{n}"),
                      ((c & ~cb & ~lt).sum().cast(pl.Int64) - (c & cb & ~lb & lt).sum().cast(pl.Int64)).alias(f"within_{n}")]
        delta = joined.group_by(by).agg(exprs) if by else joined.select(exprs)
        base = closed.sums[name]
        if by is None:
            out[name] = pl.concat([base, delta], how="vertical_relaxed").sum()
        else:
            out[name] = pl.concat([base, delta], how="vertical_relaxed").group_by(by).sum()
    return out


def _closed_key(request: ReportRequest, owners: list[str] | None, bounds: dict[str, Period]) -> tuple[Any, ...]:
    return (tuple(owners) if owners is not None else None, request.source, request.zone.key,
            tuple((name, p.start, p.end) for name, p in bounds.items()))


@dataclass
class _Kept:
    """One store's closed-day figures by scope, and a fill lock per scope."""

    figures: dict[tuple[Any, ...], Closed] = field(default_factory=dict)
    locks: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)

    def put(self, key: tuple[Any, ...], closed: Closed) -> None:
        with _LOCK:
            if len(self.figures) >= 32 and key not in self.figures:
                self.figures.clear()
            self.figures[key] = closed


# Per Store object (a process's API and worker each have theirs); gone with the store.
_KEPT: weakref.WeakKeyDictionary[Store, _Kept] = weakref.WeakKeyDictionary()


def kept_figures(store: Store) -> dict[tuple[Any, ...], Closed]:
    with _LOCK:
        return _KEPT.setdefault(store, _Kept()).figures


def closed_part(request: ReportRequest, owners: list[str] | None, bounds: dict[str, Period],
                teams: pl.DataFrame, today_start: datetime) -> Closed:
    """The closed days' figures, from the cache when filled less than `CLOSED_MAX_AGE` ago."""
    now = utc(request.now)
    key = _closed_key(request, owners, bounds)
    with _LOCK:
        kept = _KEPT.setdefault(request.store, _Kept())
        lock = kept.locks.setdefault(key, threading.Lock())
        found = kept.figures.get(key)
    if found is not None and abs(now - found.filled_at) < CLOSED_MAX_AGE:
        # Close to expiry: refill in the background while this answer uses the kept figures, so
        # a dashboard that is being watched (it polls every 15 s) never waits for a month's read.
        if abs(now - found.filled_at) >= CLOSED_MAX_AGE - REFRESH_AHEAD and lock.acquire(blocking=False):
            threading.Thread(target=_refill, args=(request, owners, bounds, teams, today_start, kept, key, lock),
                             name="leadclock-compliance-refill", daemon=True).start()
        return found
    # One fill per scope at a time: the dashboard's first requests of the day arrive together,
    # and each would otherwise read the same month of clocks.
    with lock:
        found = kept.figures.get(key)
        if found is not None and abs(now - found.filled_at) < CLOSED_MAX_AGE:
            return found
        closed = _fill(request, owners, bounds, teams, today_start)
        kept.put(key, closed)
        return closed


def _refill(request: ReportRequest, owners: list[str] | None, bounds: dict[str, Period], teams: pl.DataFrame,
            today_start: datetime, kept: _Kept, key: tuple[Any, ...], lock: threading.Lock) -> None:
    try:
        kept.put(key, _fill(request, owners, bounds, teams, today_start))
    except Exception:  # the next request fills it in the foreground; say why this one failed
        log.warning("background refill of the compliance figures failed", exc_info=True)
    finally:
        lock.release()


def _fill(request: ReportRequest, owners: list[str] | None, bounds: dict[str, Period],
          teams: pl.DataFrame, today_start: datetime) -> Closed:
    now = utc(request.now)
    earliest = min(p.start for p in bounds.values())
    c = ClockRow.__table__.c
    before = load_clocks(request.store, due_from=earliest, due_before=max(today_start, earliest),
                         owners=owners, source=request.source, with_status=False, join_leads=owners is None)
    # Met before today but due today or later (a decision made well ahead of its deadline).
    early = load_clocks(request.store, due_from=max(today_start, earliest), owners=owners, source=request.source,
                        extra=[c.outcome == "met", c.stopped_at < utc(today_start), c.stopped_at >= utc(earliest)],
                        with_status=False)
    clocks = as_of(pl.concat([before, early]), now).join(teams, on="owner", how="left")
    decided = clocks.filter(pl.col("state").is_in(["met", "breached"]) & (pl.col("ended_at") < utc(today_start)))
    part = summarise(decided, bounds, now, request.zone.key)
    running_late = clocks.filter(pl.col("running_now") & (pl.col("state") == "breached")
                                 & (pl.col("due_at") < utc(today_start)))
    return Closed(now, part, _group_sums(part), running_late)


def live_frame(request: ReportRequest, owners: list[str] | None, today_start: datetime, teams: pl.DataFrame) -> pl.DataFrame:
    """Clocks that ended today or are due before an hour from now (today's breaches, the ones
    about to fall due), as of now."""
    now = utc(request.now)
    c = ClockRow.__table__.c
    recent = or_(c.due_at <= now + SOON, and_(c.stopped_at >= utc(today_start), c.stopped_at <= now))
    # With owners, the (owner, due_at) index finds each rep's rows (migration 0007).
    clocks = load_clocks(request.store, due_from=today_start, owners=owners, source=request.source,
                         extra=[recent], with_status=False)
    return as_of(clocks, now).join(teams, on="owner", how="left")


OPEN_SCHEMA = {"owner": pl.Utf8, "open_leads": pl.Int64, "next_due": INSTANT}


def open_by_owner(request: ReportRequest, owners: list[str] | None) -> pl.DataFrame:
    """Per rep: leads with a clock still running and not yet due, and the nearest deadline."""
    now = utc(request.now)
    c, lead = ClockRow.__table__.c, LeadRow.__table__.c
    conditions = [c.due_at > now, c.started_at <= now, c.outcome != "cancelled", c.owner.is_not(None)]
    table = ClockRow.__table__
    if owners is not None:
        conditions.append(c.owner.in_(sorted(set(owners))))
    if request.source is not None:
        table = table.join(LeadRow.__table__, lead.id == c.lead)
        conditions.append(lead.source == request.source)
    # "Not stopped by now" in two disjoint parts rather than one OR: the clocks never stopped
    # come from the partial index of open clocks alone (ix_clocks_open_due_at, migration 0010),
    # the few stopped after `now` (an as-of in the past) through ix_clocks_stopped_at. The OR
    # made PostgreSQL visit the heap page of every open clock.
    parts = union_all(
        select(c.owner, c.lead, c.due_at).select_from(table).where(and_(*conditions, c.stopped_at.is_(None))),
        select(c.owner, c.lead, c.due_at).select_from(table).where(and_(*conditions, c.stopped_at > now)),
    ).subquery()
    statement = (select(parts.c.owner, func.count(func.distinct(parts.c.lead)), func.min(parts.c.due_at))
                 .group_by(parts.c.owner))
    return frame(request.store, statement, OPEN_SCHEMA)
