"""`leadclock report compliance`: the live SLA dashboard as of `request.now` (F20, 001 「リアル
タイムSLAダッシュボード」).

What it shows: compliance today / this week / this month (local periods of the policy's zone) and
over the range (`--from/--to`, else the last 30 local days, today included); per stage, rep,
source and team over the range; the leads in breach now and those with under an hour left; per
rep, compliance, average response and the open leads with the time left on the nearest one; the
daily trend over the range with the policy's team target (90%) and the 95% line (in
`report.data["trend"]` for charts).

Definitions (those of `reports/compliance.py`, see `clock_frame.py`):
- A clock counts in the period in which it *ended*: met at its stop, breached at its deadline
  (an open clock past its deadline is breached). So "today" moves during the day: a clock due at
  15:00 and not stopped joins today's figures at 15:00, as a breach. Cancelled clocks and open
  clocks not yet due count for nobody.
- Compliance of a period = leads within SLA / leads counted, where a lead is counted when one of
  its clocks ended in the period and is within SLA when none of those clocks was breached. Per
  rep (team) only the clocks that rep (a member of that team) owned count; per stage the clock
  rate met / (met + breached) is shown, as `compliance.py` does.
- Average response = mean counted business time of the first contacts made (first-contact clocks
  stopped by a contact, late ones included) among the clocks that ended in the period.
- In breach now: clocks still running past their deadline (their deadline inside the range read,
  i.e. since the earliest of the periods shown); under 1 h left: running clocks due within the
  next hour (wall-clock time). Both lists show the most urgent first and at most `LIST_LIMIT`
  rows; the tables' totals count all of them.

Speed (the dashboard's first page): the closed days' figures are computed once and kept for
`live_figures.CLOSED_MAX_AGE` of report time; a request reads only today's clocks, the ones due
within the hour and the open ones per rep (`live_figures.py` says how the two parts are merged
exactly, and what may lag).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from leadclock.policy.i18n import STAGES, pick
from leadclock.reports.clock_frame import load_reps, pct, team_members
from leadclock.reports.data import utc
from leadclock.reports.live_figures import (
    SOON,
    closed_part,
    live_frame,
    merged_sums,
    open_by_owner,
    summarise,
)
from leadclock.reports.output import Column, Report, ReportError, Table
from leadclock.reports.params import (
    Period,
    ReportRequest,
    day_period,
    month_period,
    range_period,
    week_period,
)

TREND_DAYS = 30
LIST_LIMIT = 100
STRETCH_TARGET = 95.0  # 001: 「90%または95%の目標ライン」; the policy's team target is the 90

_TEXT: dict[str, dict[str, str]] = {
    "title": {"ja": "SLAコンプライアンス(ライブ)", "en": "SLA compliance (live)"},
    "as_of": {"ja": "時点:{when}", "en": "As of: {when}"},
    "scope": {"ja": "対象:{what}", "en": "Scope: {what}"},
    "today": {"ja": "今日", "en": "Today"},
    "week": {"ja": "今週", "en": "This week"},
    "month": {"ja": "今月", "en": "This month"},
    "range": {"ja": "期間 {label}", "en": "Range {label}"},
    "rate_line": {"ja": "{period}:{rate}({leads}中{within}がSLA内)", "en": "{period}: {rate} ({within} of {leads} within SLA)"},
    "breach_line": {"ja": "現在SLAを違反しているリード:{n}", "en": "Leads in breach now: {n}"},
    "soon_line": {"ja": "SLA期限まで1時間未満のリード:{n}", "en": "Leads with under 1 h left: {n}"},
    "periods": {"ja": "期間別コンプライアンス", "en": "Compliance by period"},
    "in_breach": {"ja": "現在SLAを違反しているリード", "en": "Leads in breach now"},
    "due_soon": {"ja": "SLA期限まで1時間未満のリード", "en": "Leads with under 1 h left"},
    "by_rep": {"ja": "担当者別", "en": "By rep"},
    "by_stage": {"ja": "ステージ別", "en": "By stage"},
    "by_source": {"ja": "リードソース別", "en": "By lead source"},
    "by_team": {"ja": "チーム別", "en": "By team"},
    "trend": {"ja": "日次コンプライアンス推移", "en": "Daily compliance trend"},
    "no_data": {"ja": "{label}に判定済み(達成または違反)のクロックはありません。", "en": "No clock ended (met or breached) in {label}."},
    "truncated": {"ja": "{table}:{shown}件を表示(全{total}件)。", "en": "{table}: {shown} shown of {total}."},
    "period": {"ja": "期間", "en": "Period"}, "start": {"ja": "開始", "en": "Start"},
    "leads": {"ja": "リード", "en": "Leads"}, "within": {"ja": "SLA内", "en": "Within SLA"},
    "compliance": {"ja": "コンプライアンス", "en": "Compliance"},
    "met": {"ja": "達成", "en": "Met"}, "breached": {"ja": "違反", "en": "Breached"},
    "response": {"ja": "平均レスポンス", "en": "Avg response"},
    "lead": {"ja": "リード", "en": "Lead"}, "stage": {"ja": "ステージ", "en": "Stage"},
    "owner": {"ja": "担当者", "en": "Owner"}, "source": {"ja": "ソース", "en": "Source"},
    "due": {"ja": "期限", "en": "Due"}, "overdue": {"ja": "超過", "en": "Overdue"},
    "remaining": {"ja": "残り時間", "en": "Time left"},
    "rep": {"ja": "担当者ID", "en": "Rep"}, "name": {"ja": "氏名", "en": "Name"},
    "team": {"ja": "チーム", "en": "Team"}, "open": {"ja": "対応中リード", "en": "Open leads"},
    "next_due": {"ja": "次の期限", "en": "Next due"}, "breach_now": {"ja": "違反中", "en": "In breach"},
    "date": {"ja": "日付", "en": "Date"}, "target": {"ja": "目標", "en": "Target"},
    "stretch": {"ja": "目標(95%)", "en": "Target (95%)"},
    "everyone": {"ja": "全体", "en": "everyone"},
}


def _t(key: str, lang: str, **values: Any) -> str:
    return _TEXT[key][lang].format(**values)


def scope_owners(request: ReportRequest, reps: pl.DataFrame) -> list[str] | None:
    """The reps whose clocks count: one rep, a team's members, or everyone (None)."""
    known = set(reps["rep"].to_list())
    if request.rep is not None:
        if request.rep not in known:
            raise ReportError("rep", f"unknown rep {request.rep!r}")
        return [request.rep]
    if request.team is not None:
        members = team_members(reps, request.team)
        if not members:
            raise ReportError("team", f"unknown team {request.team!r}")
        return members
    return None


def _local(value: datetime | None, request: ReportRequest) -> datetime | None:
    return None if value is None else value.astimezone(request.zone)


def _rate_text(row: dict[str, Any], lang: str) -> str:
    rate = row.get("compliance")
    return "—" if rate is None else f"{round(rate)}%"


def _period_row(key: str, label: str, period: Period, sums: dict[str, pl.DataFrame], clocks: pl.DataFrame,
                answered: pl.DataFrame) -> dict[str, Any]:
    totals = sums["all"].row(0, named=True)
    leads, within = int(totals[f"leads_{key}"]), int(totals[f"within_{key}"])
    counted = clocks.filter(pl.col("period") == key)
    made = answered.filter(pl.col("period") == key)
    n = int(made["n"].sum() or 0)
    return {
        "period": key, "label": label, "start": period.start, "end": period.end,
        "leads": leads, "within_sla": within, "compliance": pct(within, leads),
        "met": int(counted["met"].sum() or 0), "breached": int(counted["breached"].sum() or 0),
        "average_response_seconds": round(float(made["total"].sum()) / n, 1) if n else None,
    }


def _clock_list(clocks: pl.DataFrame, request: ReportRequest, names: dict[str, str], *, overdue: bool) -> list[dict[str, Any]]:
    now = utc(request.now)
    rows = []
    for item in clocks.head(LIST_LIMIT).iter_rows(named=True):
        seconds = (now - item["due_at"]).total_seconds() if overdue else (item["due_at"] - now).total_seconds()
        rows.append({
            "lead": item["lead"], "stage": pick(STAGES, item["stage"], request.lang),
            "owner": item["owner"], "owner_name": names.get(item["owner"] or "", item["owner"]),
            "source": item["source"], "due_at": _local(item["due_at"], request),
            ("overdue_seconds" if overdue else "remaining_seconds"): round(seconds, 1),
        })
    return rows


def build(request: ReportRequest) -> Report:
    lang, zone, now = request.lang, request.zone, utc(request.now)
    reps = load_reps(request.store)
    owners = scope_owners(request, reps)
    today = day_period(request.today, zone)
    window = range_period(request, TREND_DAYS)
    periods = [
        ("today", _t("today", lang), today),
        ("week", _t("week", lang), week_period(request.today, zone)),
        ("month", _t("month", lang), month_period(request.today, zone)),
        ("range", _t("range", lang, label=window.label), window),
    ]
    bounds = {key: period for key, _, period in periods}
    teams = reps.select(pl.col("rep").alias("owner"), "team")
    names = {r: n or r for r, n in reps.select("rep", "name").iter_rows()}

    # The per-rep open-clock count is the longest read and independent of the rest: on
    # PostgreSQL it runs on another connection while this thread reads and merges the periods
    # (SQLite's one connection is not shared between threads).
    pool = ThreadPoolExecutor(max_workers=1) if request.store.dialect == "postgresql" else None
    open_later = pool.submit(open_by_owner, request, owners) if pool is not None else None
    try:
        closed = closed_part(request, owners, bounds, teams, today.start)
        live = live_frame(request, owners, today.start, teams)
        open_ = open_later.result() if open_later is not None else open_by_owner(request, owners)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    live_part = summarise(live.filter(pl.col("state").is_in(["met", "breached"]) & (pl.col("ended_at") >= today.start)),
                          bounds, now, zone.key)
    sums = merged_sums(closed, live_part)
    clocks = pl.concat([closed.part.clocks, live_part.clocks], how="vertical_relaxed").group_by(["period", "stage"]).sum()
    answered = pl.concat([closed.part.answered, live_part.answered], how="vertical_relaxed").group_by(["period", "owner"]).sum()
    running = live.filter(pl.col("running_now"))
    breach_now = pl.concat([closed.running_late.select(live.columns), running.filter(pl.col("state") == "breached")],
                           how="vertical_relaxed").sort(["due_at", "lead"], descending=[True, False])
    soon = running.filter((pl.col("state") == "running") & (pl.col("due_at") <= now + SOON)).sort(["due_at", "lead"])

    report = Report(
        name="compliance", title=_t("title", lang), lang=lang,
        params={"as_of": now, "from": window.start, "to": window.end, "team": request.team,
                "rep": request.rep, "source": request.source},
    )
    period_rows = [_period_row(key, label, period, sums, clocks, answered) for key, label, period in periods]
    scope = request.rep or request.team or request.source or _t("everyone", lang)
    report.lines = [
        _t("as_of", lang, when=now.astimezone(zone).isoformat(timespec="minutes")),
        _t("scope", lang, what=scope),
        *(_t("rate_line", lang, period=row["label"], rate=_rate_text(row, lang), leads=row["leads"],
             within=row["within_sla"]) for row in period_rows),
        _t("breach_line", lang, n=breach_now["lead"].n_unique()),
        _t("soon_line", lang, n=soon["lead"].n_unique()),
    ]
    report.tables.append(Table("periods", _t("periods", lang), [
        Column("label", _t("period", lang)), Column("start", _t("start", lang), "datetime"),
        Column("leads", _t("leads", lang), "int"), Column("within_sla", _t("within", lang), "int"),
        Column("compliance", _t("compliance", lang), "percent"), Column("met", _t("met", lang), "int"),
        Column("breached", _t("breached", lang), "int"),
        Column("average_response_seconds", _t("response", lang), "seconds"),
    ], [{**row, "start": _local(row["start"], request), "end": _local(row["end"], request)} for row in period_rows]))

    list_columns = [Column("lead", _t("lead", lang)), Column("stage", _t("stage", lang)),
                    Column("owner_name", _t("owner", lang)), Column("source", _t("source", lang)),
                    Column("due_at", _t("due", lang), "datetime")]
    report.tables.append(Table("in_breach", _t("in_breach", lang),
                               [*list_columns, Column("overdue_seconds", _t("overdue", lang), "seconds")],
                               _clock_list(breach_now, request, names, overdue=True)))
    report.tables.append(Table("due_soon", _t("due_soon", lang),
                               [*list_columns, Column("remaining_seconds", _t("remaining", lang), "seconds")],
                               _clock_list(soon, request, names, overdue=False)))
    for key, listed in (("in_breach", breach_now), ("due_soon", soon)):
        if listed.height > LIST_LIMIT:
            report.notes.append(_t("truncated", lang, table=_t(key, lang), shown=LIST_LIMIT, total=listed.height))

    report.tables.append(_by_rep(request, sums["owner"], answered, breach_now, open_, names, reps, owners))
    report.tables.append(_by_stage(request, clocks.filter(pl.col("period") == "range")))
    report.tables.append(_by_group(request, sums["source"], "source", "by_source"))
    report.tables.append(_by_group(request, sums["team"].filter(pl.col("team").is_not_null()), "team", "by_team"))
    days = pl.concat([closed.part.days, live_part.days], how="vertical_relaxed")
    trend = _trend(request, days, window)
    report.tables.append(trend)
    report.data["trend"] = {
        "dates": [row["date"].isoformat() for row in trend.rows],
        "leads": [row["leads"] for row in trend.rows],
        "within_sla": [row["within_sla"] for row in trend.rows],
        "compliance": [row["compliance"] for row in trend.rows],
        "targets": {"team": request.policy.compliance.team, "stretch": STRETCH_TARGET},
    }
    for row in period_rows:
        if row["leads"] == 0 and row["period"] in ("today", "range"):
            report.notes.append(_t("no_data", lang, label=row["label"]))
    return report


def _by_rep(request: ReportRequest, owner_sums: pl.DataFrame, answered: pl.DataFrame, breach_now: pl.DataFrame,
            open_: pl.DataFrame, names: dict[str, str], reps: pl.DataFrame, owners: list[str] | None) -> Table:
    lang, now = request.lang, utc(request.now)
    rates = owner_sums.select("owner", pl.col("leads_range").alias("leads"), pl.col("within_range").alias("within_sla"))
    made = answered.filter((pl.col("period") == "range") & pl.col("owner").is_not_null()).select(
        "owner", (pl.col("total") / pl.col("n")).alias("average"))
    late = breach_now.filter(pl.col("owner").is_not_null()).group_by("owner").agg(pl.col("lead").n_unique().alias("in_breach"))
    table = rates.join(made, on="owner", how="full", coalesce=True)
    table = table.join(open_, on="owner", how="full", coalesce=True).join(late, on="owner", how="full", coalesce=True)
    teams = dict(reps.select("rep", "team").iter_rows())
    rows = []
    for item in table.iter_rows(named=True):
        rep = item["owner"]
        if rep is None or (owners is not None and rep not in owners):
            continue
        next_due = item.get("next_due")
        leads, within = item.get("leads") or 0, item.get("within_sla") or 0
        if not (leads or item.get("open_leads") or item.get("in_breach")):
            continue
        rows.append({
            "rep": rep, "name": names.get(rep, rep), "team": teams.get(rep),
            "leads": leads, "within_sla": within, "compliance": pct(within, leads),
            "average_response_seconds": None if item.get("average") is None else round(item["average"], 1),
            "open_leads": item.get("open_leads") or 0, "in_breach": item.get("in_breach") or 0,
            "next_due": _local(next_due, request),
            "remaining_seconds": None if next_due is None else round((next_due - now).total_seconds(), 1),
        })
    rows.sort(key=lambda r: (r["compliance"] is None, r["compliance"] if r["compliance"] is not None else 0, r["rep"]))
    return Table("by_rep", _t("by_rep", lang), [
        Column("rep", _t("rep", lang)), Column("name", _t("name", lang)), Column("team", _t("team", lang)),
        Column("leads", _t("leads", lang), "int"), Column("within_sla", _t("within", lang), "int"),
        Column("compliance", _t("compliance", lang), "percent"),
        Column("average_response_seconds", _t("response", lang), "seconds"),
        Column("open_leads", _t("open", lang), "int"), Column("in_breach", _t("breach_now", lang), "int"),
        Column("next_due", _t("next_due", lang), "datetime"),
        Column("remaining_seconds", _t("remaining", lang), "seconds"),
    ], rows)


def _by_stage(request: ReportRequest, counted: pl.DataFrame) -> Table:
    lang = request.lang
    order = {stage: index for index, stage in enumerate(STAGES)}
    rows = [
        {"stage": item["stage"], "label": pick(STAGES, item["stage"], lang), "met": item["met"],
         "breached": item["breached"], "compliance": pct(item["met"], item["met"] + item["breached"])}
        for item in counted.iter_rows(named=True) if item["met"] + item["breached"]
    ]
    rows.sort(key=lambda r: (order.get(r["stage"], len(order)), r["stage"]))
    return Table("by_stage", _t("by_stage", lang), [
        Column("label", _t("stage", lang)), Column("met", _t("met", lang), "int"),
        Column("breached", _t("breached", lang), "int"), Column("compliance", _t("compliance", lang), "percent"),
    ], rows)


def _by_group(request: ReportRequest, sums: pl.DataFrame, key: str, table_key: str) -> Table:
    lang = request.lang
    rows = [
        {key: item[key], "leads": item["leads_range"], "within_sla": item["within_range"],
         "compliance": pct(item["within_range"], item["leads_range"])}
        for item in sums.sort(key).iter_rows(named=True) if item["leads_range"]
    ]
    if key == "source":
        for row in rows:
            known = request.policy.sources.get(row["source"] or "")
            row["label"] = known.label.get(lang) if known is not None else row["source"]
    label_key = "label" if key == "source" else key
    return Table(table_key, _t(table_key, lang), [
        Column(label_key, _t(key, lang)), Column("leads", _t("leads", lang), "int"),
        Column("within_sla", _t("within", lang), "int"), Column("compliance", _t("compliance", lang), "percent"),
    ], rows)


def _trend(request: ReportRequest, days: pl.DataFrame, window: Period) -> Table:
    lang, zone = request.lang, request.zone
    by_day = {item["date"]: item for item in days.iter_rows(named=True)}
    first = window.start.astimezone(zone).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(zone).date()
    rows = []
    day = first
    while day <= last:
        found = by_day.get(day, {})
        leads, within = found.get("leads", 0), found.get("within_sla", 0)
        rows.append({"date": day, "leads": leads, "within_sla": within,
                     "compliance": pct(within, leads), "target": request.policy.compliance.team,
                     "stretch_target": STRETCH_TARGET})
        day += timedelta(days=1)
    return Table("trend", _t("trend", lang), [
        Column("date", _t("date", lang), "date"), Column("leads", _t("leads", lang), "int"),
        Column("within_sla", _t("within", lang), "int"), Column("compliance", _t("compliance", lang), "percent"),
        Column("target", _t("target", lang), "percent"), Column("stretch_target", _t("stretch", lang), "percent"),
    ], rows)
