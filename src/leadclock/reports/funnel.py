"""F26 funnel and closed loop: Lead → MQL → SQL → Opportunity → Won (002, 003, 004).

`leadclock report funnel [--from --to] [--spend N] [--revenue-target N]` (default: the 90
local days ending today).

The cohort is the leads *created* in the range; each is counted at the furthest lifecycle stage it
ever reached. Stages come from the lifecycle record the engine keeps on every lead
(`leads.attributes.transitions`, one entry per move with who / when / why, and
`attributes.stage`, see `scoring/lifecycle.py` and `engine/core.py`):

* Lead: every lead created (lead.created);
* MQL: moved to `mql` (score ≥ threshold or a trigger action at creation or on engagement, or
  routed to inside sales: lead.assigned), or any later stage;
* SQL: moved to `sql` (lead.status qualified, or a complete handoff.requested), or later;
* Opportunity: moved to `opportunity` (opportunity.created), or to won / lost;
* Won: moved to `won` (deal.closed with won: true); its amount is `attributes.deal_amount`.

Also (004 「重要な販売およびマーケティング指標」): sales-accepted leads (an acceptance clock the AE
ended by accepting, first contact or an opportunity, not by rejecting it; or an opportunity),
revenue from qualified leads (won amounts of leads that reached SQL), cost per lead / MQL / SQL
for `--spend`, and sales velocity = opportunities × win rate × average deal size ÷ average
sales cycle in days (the usual formula: 003 lists セールスサイクル速度 as a KPI without one), where
win rate = won / (won + lost) and the cycle runs from lead creation to the won deal.

Reverse funnel (`--revenue-target`): deals = ⌈target ÷ average deal⌉, then each earlier stage
= ⌈next stage ÷ observed rate⌉, in exact fractions, so needed × rate ≥ the next stage's need.

Closed loop (004): per source, how many leads sales marked qualified (reached SQL), recycle
(nurture / recycled), garbage (unqualified / garbage) and unreachable.

Sharp change (004: "if this rate changes sharply in a period, review the definitions"): each
stage-to-stage rate is compared with the previous period of equal length; flagged when it moved
by at least `SHARP_RELATIVE` (25%) of its previous value and both periods have at least
`SHARP_MIN` leads entering the step. Recent leads have not had time to convert: a funnel of the
last weeks is a lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from typing import Any

import polars as pl
from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from leadclock.reports.cohort import (
    clocks_of_leads_created,
    concurrently,
    json_number,
    json_text,
    pct,
    scope_reps,
)
from leadclock.reports.data import INSTANT, frame
from leadclock.reports.output import Column, Report, ReportError, Table
from leadclock.reports.params import Period, ReportRequest, range_period
from leadclock.scoring.lifecycle import marketing_feedback
from leadclock.store import Store
from leadclock.store.models import ClockRow, LeadRow

DEFAULT_DAYS = 90
SHARP_RELATIVE = 0.25
SHARP_MIN = 20
STAGES = ("lead", "mql", "sql", "opportunity", "won")
RANK = {"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "lost": 3, "won": 4}
FEEDBACK = ("qualified", "recycle", "garbage", "unreachable")

_leads = LeadRow.__table__
_clocks = ClockRow.__table__

_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "ファネルとクローズドループ", "range": "期間: {label}（この期間に作成されたリード）",
        "funnel": "ファネル", "stage": "ステージ", "count": "件数", "step": "前段からの転換率",
        "from_lead": "リードからの転換率", "previous": "前期間の転換率", "change": "変化（ポイント）",
        "lead": "リード", "mql": "MQL", "sql": "SQL", "opportunity": "商談", "won": "受注",
        "kpis": "KPI", "metric": "指標", "value": "値",
        "accepted": "営業が承認したリード", "accepted_rate": "SQLのうち営業承認率",
        "revenue": "適格リードからの収益", "avg_deal": "平均案件サイズ", "win_rate": "勝率（受注/(受注+失注)）",
        "cycle": "平均セールスサイクル（リード作成→受注、日）", "velocity": "セールスベロシティ（円/日）",
        "spend": "マーケティング費用", "cpl": "リード単価", "cpmql": "MQL単価", "cpsql": "SQL単価",
        "reverse": "リバースファネル（収益目標 {target}）", "needed": "必要数", "rate_used": "次段への転換率",
        "feedback": "マーケティングへのステータスフィードバック（ソース別）", "source": "ソース", "leads": "リード",
        "qualified": "適格", "recycle": "リサイクル", "garbage": "ゴミ", "unreachable": "リーチできず",
        "empty": "この期間（{label}）に作成されたリードはありません。",
        "sharp": "{step}の転換率が急変しました: {before}% → {now}%（前期間比 {change:+.0f}%、{n_before}件 → {n_now}件）。適格リードの定義かフォローアッププロセスを見直してください。",
        "no_reverse": "リバースファネルを計算できません: {why}。",
        "no_rate": "{step}の転換率が0または不明",
        "no_deal": "受注案件がなく平均案件サイズが不明",
        "immature": "直近のリードはまだ転換の途中です: 最近の期間の転換率は下限値です。",
    },
    "en": {
        "title": "Funnel and closed loop", "range": "Range: {label} (leads created in it)",
        "funnel": "Funnel", "stage": "Stage", "count": "Count", "step": "Rate from previous stage",
        "from_lead": "Rate from lead", "previous": "Previous period rate", "change": "Change (points)",
        "lead": "Lead", "mql": "MQL", "sql": "SQL", "opportunity": "Opportunity", "won": "Won",
        "kpis": "KPIs", "metric": "Metric", "value": "Value",
        "accepted": "Sales-accepted leads", "accepted_rate": "Sales-accepted share of SQLs",
        "revenue": "Revenue from qualified leads", "avg_deal": "Average deal size",
        "win_rate": "Win rate (won / (won + lost))", "cycle": "Average sales cycle (lead created → won, days)",
        "velocity": "Sales velocity (per day)", "spend": "Marketing spend", "cpl": "Cost per lead",
        "cpmql": "Cost per MQL", "cpsql": "Cost per SQL",
        "reverse": "Reverse funnel (revenue target {target})", "needed": "Needed", "rate_used": "Rate to the next stage",
        "feedback": "Status feedback to marketing (by source)", "source": "Source", "leads": "Leads",
        "qualified": "Qualified", "recycle": "Recycle", "garbage": "Garbage", "unreachable": "Unreachable",
        "empty": "No leads were created in {label}.",
        "sharp": "The {step} rate changed sharply: {before}% → {now}% ({change:+.0f}% vs the previous period; {n_before} → {n_now} leads). Review the qualified-lead definition or the follow-up process.",
        "no_reverse": "The reverse funnel cannot be computed: {why}.",
        "no_rate": "the {step} rate is zero or unknown",
        "no_deal": "no deal was won, so the average deal size is unknown",
        "immature": "Recent leads are still converting: rates of a recent range are lower bounds.",
    },
}


def _number(request: ReportRequest, name: str, field: str, positive: bool) -> float | None:
    value = request.option(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReportError(field, f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ReportError(field, f"must be a {'positive' if positive else 'non-negative'} amount, got {value!r}")
    return number


def _reached(store: Store) -> tuple[ColumnElement[str], ColumnElement[int]]:
    """The lead's current stage and the rank of the furthest stage it ever reached, in SQL.

    A stage was reached when it is the current one or a transition went to it. The transitions
    are searched as JSON text, normalised by the database (PostgreSQL's jsonb prints `"to": "won"`,
    SQLite's json_extract `"to":"won"`); a quote inside a value is escaped, so the pattern only
    matches a transition's own `to`."""
    stage = _leads.c.attributes["stage"].as_string()
    if store.dialect == "postgresql":
        moves = cast(cast(_leads.c.attributes.op("->")("transitions"), JSONB), Text)
        pattern = '%"to": "{}"%'
    else:
        moves = func.json_extract(_leads.c.attributes, "$.transitions")
        pattern = '%"to":"{}"%'

    def went(*names: str) -> ColumnElement[bool]:
        return or_(stage.in_(names), *(func.coalesce(moves, "").like(pattern.format(name)) for name in names))

    rank = case((went("won"), RANK["won"]), (went("opportunity", "lost"), RANK["opportunity"]),
                (went("sql"), RANK["sql"]), (went("mql"), RANK["mql"]), else_=0)
    return stage, rank


def _in_scope(request: ReportRequest, start: datetime, end: datetime) -> ColumnElement[bool]:
    where = and_(_leads.c.created_at >= start, _leads.c.created_at < end)
    if request.source is not None:
        where = and_(where, _leads.c.source == request.source)
    reps = scope_reps(request)
    if reps is not None:
        where = and_(where, _leads.c.id.in_(select(_clocks.c.lead).where(_clocks.c.owner.in_(reps or [""]))))
    return where


def _cohort(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """The period's leads counted by the database: source, stage, reached, accepted (0/1), n."""
    stage, rank = _reached(request.store)
    accepted_ids = select(_clocks.c.lead).select_from(_clocks.join(_leads, _leads.c.id == _clocks.c.lead)).where(
        clocks_of_leads_created(start, end), _clocks.c.stage == "acceptance",
        _clocks.c.stopped_at.is_not(None), _clocks.c.outcome.in_(("met", "breached")),
        ~_clocks.c.reason.like("rejected%"))
    accepted = case((or_(rank >= RANK["opportunity"], _leads.c.id.in_(accepted_ids)), 1), else_=0)
    inner = select(_leads.c.source.label("source"), stage.label("stage"), rank.label("reached"),
                   accepted.label("accepted")).where(_in_scope(request, start, end)).subquery()
    statement = select(inner.c.source, inner.c.stage, inner.c.reached, inner.c.accepted, func.count()).group_by(
        inner.c.source, inner.c.stage, inner.c.reached, inner.c.accepted)
    return frame(request.store, statement, {"source": pl.Utf8, "stage": pl.Utf8, "reached": pl.Int64,
                                            "accepted": pl.Int64, "n": pl.Int64})


def _won(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """The period's won leads (won is final): created_at, amount, won_at (its transition's time)."""
    stage, _rank = _reached(request.store)
    statement = select(_leads.c.created_at, json_number("deal_amount"), json_text(request.store, "transitions")).where(
        _in_scope(request, start, end), stage == "won")
    raw = frame(request.store, statement, {"created_at": INSTANT, "amount": pl.Float64, "transitions": pl.Utf8})
    moves = raw["transitions"].str.json_decode(pl.List(pl.Struct({"to": pl.Utf8, "at": pl.Utf8})))
    won_at = pl.DataFrame({"moves": moves}).select(
        won_at=pl.col("moves").list.eval(pl.element().filter(pl.element().struct.field("to") == "won")
                                         .struct.field("at")).list.first().str.to_datetime(time_zone="UTC", time_unit="us"))
    return raw.select("created_at", "amount").hstack(won_at)


def counts(cohort: pl.DataFrame) -> dict[str, int]:
    """Leads that reached each stage (or a later one)."""
    return {stage: int(cohort.filter(pl.col("reached") >= RANK[stage])["n"].sum() or 0) for stage in STAGES}


def rates(reached: dict[str, int]) -> list[Fraction | None]:
    """Stage-to-stage rates (lead→MQL, MQL→SQL, SQL→opportunity, opportunity→won), exact."""
    return [Fraction(reached[b], reached[a]) if reached[a] else None for a, b in pairwise(STAGES)]


def reverse_funnel(target: float, average_deal: Fraction | float, step_rates: Sequence[Fraction | None]) -> dict[str, int] | None:
    """Leads, MQLs, SQLs, opportunities and deals needed for `target` revenue at the observed
    rates and average deal; None when a rate or the deal size is zero or unknown. Exact: every
    stage's need × its rate ≥ the next stage's need, and deals × average deal ≥ target."""
    deal = Fraction(average_deal)
    if deal <= 0 or any(r is None or r <= 0 for r in step_rates):
        return None
    need = {"won": math.ceil(Fraction(target) / deal)}
    for stage, nxt, rate in zip(reversed(STAGES[:-1]), reversed(STAGES[1:]), reversed(step_rates), strict=True):
        assert rate is not None
        need[stage] = math.ceil(need[nxt] / rate)
    return {stage: need[stage] for stage in STAGES}


def sharp_changes(reached: dict[str, int], reached_before: dict[str, int]) -> list[dict[str, Any]]:
    """Stage-to-stage rates that moved by at least SHARP_RELATIVE of their previous value, both
    periods with at least SHARP_MIN leads entering the step (004's "sharp change" alert)."""
    found = []
    for (frm, to), now, old in zip(pairwise(STAGES), rates(reached), rates(reached_before), strict=True):
        if now is None or old is None or old == 0 or reached[frm] < SHARP_MIN or reached_before[frm] < SHARP_MIN:
            continue
        change = (now - old) / old
        if abs(change) >= SHARP_RELATIVE:
            found.append({"from": frm, "to": to, "before": _pct_fraction(old), "now": _pct_fraction(now),
                          "change": round(100 * float(change), 1), "n_before": reached_before[frm],
                          "n_now": reached[frm]})
    return found


def _pct_fraction(value: Fraction | None) -> float | None:
    return None if value is None else round(100.0 * float(value), 1)


def build(request: ReportRequest) -> Report:
    lang = request.lang
    words = _WORDS[lang]
    spend = _number(request, "spend", "spend", positive=False)
    target = _number(request, "revenue_target", "revenue-target", positive=True)
    period = range_period(request, DEFAULT_DAYS)
    before = Period(period.start - (period.end - period.start), period.start, f"before {period.label}")
    report = Report("funnel", words["title"], lang,
                    params={"from": period.start, "to": period.end, "label": period.label, "spend": spend,
                            "revenue_target": target, "team": request.team, "rep": request.rep,
                            "source": request.source})
    report.lines.append(words["range"].format(label=period.label))
    cohort, previous, won = concurrently(
        request.store, lambda: _cohort(request, period.start, period.end),
        lambda: _cohort(request, before.start, before.end), lambda: _won(request, period.start, period.end))
    reached, reached_before = counts(cohort), counts(previous)
    now_rates, before_rates = rates(reached), rates(reached_before)
    rows = []
    for index, stage in enumerate(STAGES):
        step = now_rates[index - 1] if index else None
        old = before_rates[index - 1] if index else None
        rows.append({
            "stage": words[stage], "key": stage, "count": reached[stage], "step": _pct_fraction(step),
            "from_lead": pct(reached[stage], reached["lead"]), "previous": _pct_fraction(old),
            "change": None if step is None or old is None else round(100.0 * float(step - old), 1) + 0.0,  # no -0.0
        })
    report.tables.append(Table("funnel", words["funnel"], [
        Column("stage", words["stage"]), Column("count", words["count"], "int"),
        Column("step", words["step"], "percent"), Column("from_lead", words["from_lead"], "percent"),
        Column("previous", words["previous"], "percent"), Column("change", words["change"], "delta"),
    ], rows))
    report.data["funnel"] = {"counts": reached, "previous_counts": reached_before,
                             "rates": [_pct_fraction(r) for r in now_rates]}
    if cohort.is_empty():
        report.notes.append(words["empty"].format(label=period.label))
    lost = int(cohort.filter(pl.col("stage") == "lost")["n"].sum() or 0)
    average_deal = won["amount"].mean() if won.height else None
    # A won deal went through SQL (the lifecycle allows no other way): all of it is qualified revenue.
    qualified_revenue = float(won["amount"].sum() or 0)
    win_rate = Fraction(won.height, won.height + lost) if won.height + lost else None
    cycle_days = None
    if won.height:
        days = ((won["won_at"] - won["created_at"]).dt.total_seconds() / 86400).drop_nulls()
        cycle_days = float(days.mean()) if days.len() else None  # type: ignore[arg-type]
    velocity = None
    if win_rate is not None and average_deal is not None and cycle_days:
        velocity = reached["opportunity"] * float(win_rate) * float(average_deal) / cycle_days  # type: ignore[arg-type]
    accepted = int(cohort.filter(pl.col("accepted") == 1)["n"].sum() or 0)
    kpis: list[dict[str, Any]] = [
        {"metric": words["accepted"], "key": "accepted", "value": accepted, "kind": "int"},
        {"metric": words["accepted_rate"], "key": "accepted_rate", "value": pct(accepted, reached["sql"]), "kind": "percent"},
        {"metric": words["revenue"], "key": "revenue", "value": qualified_revenue, "kind": "money"},
        {"metric": words["avg_deal"], "key": "avg_deal", "value": None if average_deal is None else round(float(average_deal)), "kind": "money"},  # type: ignore[arg-type]
        {"metric": words["win_rate"], "key": "win_rate", "value": _pct_fraction(win_rate), "kind": "percent"},
        {"metric": words["cycle"], "key": "cycle_days", "value": None if cycle_days is None else round(cycle_days, 1), "kind": "float"},
        {"metric": words["velocity"], "key": "velocity", "value": None if velocity is None else round(velocity), "kind": "money"},
    ]
    if spend is not None:
        kpis += [
            {"metric": words["spend"], "key": "spend", "value": spend, "kind": "money"},
            {"metric": words["cpl"], "key": "cost_per_lead", "value": spend / reached["lead"] if reached["lead"] else None, "kind": "money"},
            {"metric": words["cpmql"], "key": "cost_per_mql", "value": spend / reached["mql"] if reached["mql"] else None, "kind": "money"},
            {"metric": words["cpsql"], "key": "cost_per_sql", "value": spend / reached["sql"] if reached["sql"] else None, "kind": "money"},
        ]
    # One column per kind would be odd for a metric list: values are shown as text already formatted.
    from leadclock.reports.output import format_value

    report.tables.append(Table("kpis", words["kpis"], [Column("metric", words["metric"]), Column("value", words["value"])],
                               [{"metric": k["metric"], "key": k["key"], "value": format_value(k["value"], k["kind"], lang),
                                 "raw": k["value"]} for k in kpis]))
    report.data["kpis"] = {k["key"]: k["value"] for k in kpis}
    if target is not None:
        _reverse(report, words, target, average_deal, now_rates)
    _feedback(report, words, cohort)
    report.data["sharp_changes"] = changes = sharp_changes(reached, reached_before)
    for change in changes:
        report.notes.append(words["sharp"].format(
            step=f"{words[change['from']]}→{words[change['to']]}", before=change["before"], now=change["now"],
            change=change["change"], n_before=change["n_before"], n_now=change["n_now"]))
    if cohort.height:
        report.notes.append(words["immature"])
    return report


def _reverse(report: Report, words: dict[str, str], target: float, average_deal: float | None,
             step_rates: list[Fraction | None]) -> None:
    from leadclock.reports.output import format_value

    shown = format_value(target, "money", report.lang)  # type: ignore[arg-type]
    needed = None if average_deal is None else reverse_funnel(target, Fraction(average_deal), step_rates)
    if needed is None:
        if average_deal is None:
            why = words["no_deal"]
        else:
            index = next(i for i, r in enumerate(step_rates) if r is None or r <= 0)
            why = words["no_rate"].format(step=f"{words[STAGES[index]]}→{words[STAGES[index + 1]]}")
        report.notes.append(words["no_reverse"].format(why=why))
        report.data["reverse"] = None
        return
    rows = [{"stage": words[stage], "key": stage, "needed": needed[stage],
             "rate": _pct_fraction(step_rates[index]) if index < len(step_rates) else None}
            for index, stage in enumerate(STAGES)]
    report.tables.append(Table("reverse", words["reverse"].format(target=shown), [
        Column("stage", words["stage"]), Column("needed", words["needed"], "int"),
        Column("rate", words["rate_used"], "percent"),
    ], rows))
    report.data["reverse"] = needed


def _feedback(report: Report, words: dict[str, str], cohort: pl.DataFrame) -> None:
    def kind(stage: str | None, reached: int) -> str | None:
        if reached >= RANK["sql"]:
            return "qualified"
        return marketing_feedback(stage) if stage in {"sql", "recycled", "nurture", "garbage", "unqualified",
                                                        "unreachable"} else None

    tally: dict[str, dict[str, int]] = {}
    for source, stage, reached, n in cohort.select("source", "stage", "reached", "n").iter_rows():
        row = tally.setdefault(source, {"leads": 0, **dict.fromkeys(FEEDBACK, 0)})
        row["leads"] += n
        found = kind(stage, reached)
        if found in FEEDBACK:
            row[found] += n
    rows = [{"source": source, **values} for source, values in sorted(tally.items())]
    report.tables.append(Table("feedback", words["feedback"], [
        Column("source", words["source"]), Column("leads", words["leads"], "int"),
        *(Column(name, words[name], "int") for name in FEEDBACK),
    ], rows))
