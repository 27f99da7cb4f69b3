"""F25 quarterly target review: data-backed advice on the SLA targets (001 「四半期目標レビュー」).

`leadclock report target-review --quarter 2026Q3`

The quarter's leads (created in it, local time) are compared week by week (local ISO weeks,
cut by the quarter) and with the previous quarter. 001's four adjustment scenarios become rules,
each printed with the numbers behind it:

* **too easy → tighten**: compliance ≥ 98% in every week of the quarter that had at least
  `MIN_WEEK_COUNT` leads (and at least `MIN_WEEKS` such weeks). For the whole team the next
  first-contact target comes from the 30 → 15 → 5 minute ladder (`policy.benchmarks.advise`,
  the same advice as `leadclock policy advise`), measured from the quarter's average first contact;
* **unrealistic → loosen or add capacity**: the quarter's compliance < 85%;
* **good compliance, flat conversion → tighten**: compliance ≥ the policy's team target and the
  lead → won conversion moved less than `FLAT_RELATIVE` (10%, relative) from the previous
  quarter, both quarters with at least `MIN_CONVERSION_LEADS` leads;
* **volume doubled → relax temporarily or add capacity**: at least twice the previous quarter's
  leads (which must be at least `MIN_PREVIOUS_LEADS`).

The rules run for the team (all leads in scope), per stage (clock compliance: met / (met +
breached) of the stage's clocks, weeks with at least `MIN_WEEK_COUNT` clocks) and per source
(lead compliance; volume too). A stage or source with fewer than `MIN_SCOPE_COUNT` leads or
clocks in the quarter gets no advice. When no rule fires: "no change advised", with the figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import case, func, select

from leadclock.policy.benchmarks import advise
from leadclock.reports.cohort import (
    clocks_of_leads_created,
    cohort_subquery,
    concurrently,
    pct,
    scope_reps,
)
from leadclock.reports.data import frame
from leadclock.reports.output import Column, Report, Table
from leadclock.reports.params import Period, ReportRequest, parse_quarter, week_period
from leadclock.store.models import ClockRow, LeadRow

TIGHTEN_AT = 98.0
LOOSEN_BELOW = 85.0
FLAT_RELATIVE = 0.10
VOLUME_FACTOR = 2.0
MIN_WEEK_COUNT = 10
MIN_WEEKS = 4
MIN_CONVERSION_LEADS = 100
MIN_PREVIOUS_LEADS = 20
MIN_SCOPE_COUNT = 30

_leads = LeadRow.__table__
_clocks = ClockRow.__table__

_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "四半期SLA目標レビュー", "quarter": "四半期: {label}（前四半期 {previous} と比較）",
        "advice": "提言", "figures": "数値", "scope": "対象", "rule": "ルール", "text": "提言",
        "basis": "根拠", "team": "チーム全体", "stage": "ステージ: {name}", "source": "ソース: {name}",
        "leads": "リード/クロック", "previous": "前四半期", "compliance": "コンプライアンス",
        "previous_compliance": "前四半期コンプライアンス", "weeks": "週数", "min_week": "最低週",
        "max_week": "最高週", "conversion": "コンバージョン率", "previous_conversion": "前四半期コンバージョン率",
        "tighten": "目標が簡単すぎる可能性: より野心的に締める",
        "tighten_basis": "{n}週すべてで{at}%以上（最低週 {low}%）",
        "loosen": "目標が非現実的な可能性: 調整するか容量の問題を解決する",
        "loosen_basis": "四半期のコンプライアンス {value}%（{limit}%未満、{below}/{n}週が{limit}%未満）",
        "flat": "コンプライアンスは良いがコンバージョン率が横ばい: 目標が緩すぎる可能性、締める",
        "flat_basis": "コンプライアンス {value}%（目標{target}%以上）、コンバージョン率 {before}% → {now}%（相対変化 {change:+.1f}%、±{flat}%未満）",
        "volume": "リードボリュームが2倍に: 目標を一時的に緩和するか容量を追加する",
        "volume_basis": "リード {before}件 → {now}件（{ratio:.1f}倍）",
        "none": "変更は不要です",
        "rule_tighten": "締める", "rule_loosen": "緩和か容量追加", "rule_flat": "締める（コンバージョン横ばい）",
        "rule_volume": "一時緩和か容量追加（量が倍増）", "rule_none": "変更なし",
        "none_basis": "コンプライアンス {value}%（週 {low}%〜{high}%）、リード {now}件（前四半期 {before}件）、コンバージョン率 {conv}%（前四半期 {prev_conv}%）",
        "empty": "この四半期（{label}）にリードはありません。",
        "no_change": "どのルールにも該当しないため、目標の変更は提言しません。",
    },
    "en": {
        "title": "Quarterly SLA target review", "quarter": "Quarter: {label} (compared with {previous})",
        "advice": "Advice", "figures": "Figures", "scope": "Scope", "rule": "Rule", "text": "Advice",
        "basis": "Numbers", "team": "Whole team", "stage": "Stage: {name}", "source": "Source: {name}",
        "leads": "Leads / clocks", "previous": "Previous quarter", "compliance": "Compliance",
        "previous_compliance": "Previous compliance", "weeks": "Weeks", "min_week": "Lowest week",
        "max_week": "Highest week", "conversion": "Conversion", "previous_conversion": "Previous conversion",
        "tighten": "The target may be too easy: make it more ambitious (tighten)",
        "tighten_basis": "at least {at}% in all {n} weeks (lowest week {low}%)",
        "loosen": "The target may be unrealistic: adjust it or fix the capacity problem",
        "loosen_basis": "quarter compliance {value}% (below {limit}%; {below} of {n} weeks below {limit}%)",
        "flat": "Good compliance but flat conversion: the target may be too loose, tighten it",
        "flat_basis": "compliance {value}% (target {target}% or more), conversion {before}% → {now}% (relative change {change:+.1f}%, within ±{flat}%)",
        "volume": "Lead volume doubled: relax the target temporarily or add capacity",
        "volume_basis": "leads {before} → {now} ({ratio:.1f}x)",
        "none": "No change advised",
        "rule_tighten": "tighten", "rule_loosen": "loosen or add capacity", "rule_flat": "tighten (flat conversion)",
        "rule_volume": "relax or add capacity (volume doubled)", "rule_none": "no change",
        "none_basis": "compliance {value}% (weeks {low}% to {high}%), leads {now} (previous quarter {before}), conversion {conv}% (previous {prev_conv}%)",
        "empty": "No leads were created in {label}.",
        "no_change": "No rule applies: no change to the targets is advised.",
    },
}


def _week_index(column: Any, boundaries: list[datetime]) -> Any:
    """Which week of the period an instant falls in (0-based), as SQL both databases run: the
    week boundaries are local Mondays, so no time-zone arithmetic happens in the database."""
    whens = [(column >= boundary, index) for index, boundary in reversed(list(enumerate(boundaries)))]
    return case(*whens, else_=0)


def week_starts(period: Period, request: ReportRequest) -> list[datetime]:
    """The start of each local week that overlaps the period (the first cut at the period's start)."""
    starts = [period.start]
    week = week_period(period.start.astimezone(request.zone).date(), request.zone)
    while week.end < period.end:
        starts.append(week.end)
        week = week_period((week.end + timedelta(hours=12)).astimezone(request.zone).date(), request.zone)
    return starts


def _stage_counts(request: ReportRequest, period: Period, boundaries: list[datetime]) -> pl.DataFrame:
    week = _week_index(_leads.c.created_at, boundaries)
    stopped = _clocks.c.stopped_at.is_not(None) & _clocks.c.business_seconds.is_not(None)
    statement = (
        select(_clocks.c.stage, week, func.sum(case((_clocks.c.outcome == "met", 1), else_=0)),
               func.sum(case((_clocks.c.outcome == "breached", 1), else_=0)),
               func.sum(case((stopped, _clocks.c.business_seconds), else_=0.0)),
               func.sum(case((stopped, 1), else_=0)))
        .select_from(_clocks.join(_leads, _leads.c.id == _clocks.c.lead))
        .where(clocks_of_leads_created(period.start, period.end),
               _clocks.c.outcome.in_(("met", "breached")))
        .group_by(_clocks.c.stage, week)
    )
    reps = scope_reps(request)
    if reps is not None:
        statement = statement.where(_clocks.c.owner.in_(reps or [""]))
    if request.source is not None:
        statement = statement.where(_leads.c.source == request.source)
    return frame(request.store, statement, {"stage": pl.Utf8, "week": pl.Int64, "met": pl.Int64,
                                            "breached": pl.Int64, "seconds": pl.Float64, "timed": pl.Int64})


def _lead_weeks(request: ReportRequest, period: Period, boundaries: list[datetime]) -> pl.DataFrame:
    """Leads counted by the database per source, week, within (0/1) and won (0/1)."""
    base = cohort_subquery(request, period.start, period.end)
    week = _week_index(base.c.created_at, boundaries)
    won = case((base.c.status == "won", 1), else_=0)
    statement = select(base.c.source, week, base.c.within, won, func.count()).group_by(
        base.c.source, week, base.c.within, won)
    return frame(request.store, statement, {"source": pl.Utf8, "week": pl.Int64, "within": pl.Int64,
                                            "won": pl.Int64, "n": pl.Int64})


def _figures(weekly: pl.DataFrame, good: str, total: str) -> dict[str, Any]:
    """Quarter compliance and the weeks' range, from per-week (good, total) counts."""
    counted = weekly.filter(pl.col(total) >= MIN_WEEK_COUNT)
    rates = [100.0 * g / t for g, t in zip(counted[good], counted[total], strict=True)]
    count, hits = int(weekly[total].sum() or 0), int(weekly[good].sum() or 0)
    return {"count": count, "compliance": pct(hits, count), "weeks": len(rates),
            "min_week": round(min(rates), 1) if rates else None, "max_week": round(max(rates), 1) if rates else None,
            "weeks_below": sum(1 for r in rates if r < LOOSEN_BELOW)}


def evaluate(now: dict[str, Any], before: dict[str, Any] | None, team_target: float, *,
             volume: bool = True, conversion: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """The rules that fire for one scope: [(rule, numbers)], rule in tighten / loosen / flat / volume.

    `now` / `before`: count, compliance, weeks, min_week, weeks_below (and conversion when
    `conversion`) for this quarter and the previous one."""
    fired: list[tuple[str, dict[str, Any]]] = []
    if now["count"] < MIN_SCOPE_COUNT or now["compliance"] is None:
        return fired
    if now["weeks"] >= MIN_WEEKS and now["min_week"] is not None and now["min_week"] >= TIGHTEN_AT:
        fired.append(("tighten", {"at": TIGHTEN_AT, "n": now["weeks"], "low": now["min_week"]}))
    if now["compliance"] < LOOSEN_BELOW:
        fired.append(("loosen", {"value": now["compliance"], "limit": LOOSEN_BELOW, "below": now["weeks_below"],
                                 "n": now["weeks"]}))
    if conversion and before is not None and now["compliance"] >= team_target \
            and now["count"] >= MIN_CONVERSION_LEADS and before["count"] >= MIN_CONVERSION_LEADS \
            and now.get("conversion") is not None and before.get("conversion"):
        change = (now["conversion"] - before["conversion"]) / before["conversion"]
        if abs(change) < FLAT_RELATIVE:
            fired.append(("flat", {"value": now["compliance"], "target": team_target, "before": before["conversion"],
                                   "now": now["conversion"], "change": 100 * change, "flat": 100 * FLAT_RELATIVE}))
    if volume and before is not None and before["count"] >= MIN_PREVIOUS_LEADS \
            and now["count"] >= VOLUME_FACTOR * before["count"]:
        fired.append(("volume", {"before": before["count"], "now": now["count"],
                                 "ratio": now["count"] / before["count"]}))
    return fired


def build(request: ReportRequest) -> Report:
    lang = request.lang
    words = _WORDS[lang]
    quarter = parse_quarter(request.option("quarter"), request.zone, request.today)
    previous = quarter.previous(request.zone)
    report = Report("target-review", words["title"], lang,
                    params={"quarter": quarter.label, "previous": previous.label, "from": quarter.start,
                            "to": quarter.end, "team": request.team, "rep": request.rep, "source": request.source})
    report.lines.append(words["quarter"].format(label=quarter.label, previous=previous.label))
    boundaries = week_starts(quarter, request)
    cohort, before_cohort, stages = concurrently(
        request.store, lambda: _lead_weeks(request, quarter, boundaries),
        lambda: _lead_weeks(request, previous, [previous.start]),
        lambda: _stage_counts(request, quarter, boundaries))
    advice_rows: list[dict[str, Any]] = []
    figure_rows: list[dict[str, Any]] = []

    def lead_figures(frame_now: pl.DataFrame, frame_before: pl.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
        weekly = frame_now.group_by("week").agg(good=(pl.col("n") * pl.col("within")).sum(), total=pl.col("n").sum())
        now = _figures(weekly, "good", "total")
        now["conversion"] = pct(int((frame_now["n"] * frame_now["won"]).sum()), now["count"])
        count = int(frame_before["n"].sum() or 0)
        before = {"count": count, "compliance": pct(int((frame_before["n"] * frame_before["within"]).sum()), count),
                  "conversion": pct(int((frame_before["n"] * frame_before["won"]).sum()), count)}
        return now, before

    def add(scope: str, now: dict[str, Any], before: dict[str, Any] | None, fired: list[tuple[str, dict[str, Any]]],
            extra: str | None = None) -> None:
        figure_rows.append({"scope": scope, "leads": now["count"], "previous": None if before is None else before["count"],
                            "compliance": now["compliance"],
                            "previous_compliance": None if before is None else before.get("compliance"),
                            "weeks": now["weeks"], "min_week": now["min_week"], "max_week": now["max_week"],
                            "conversion": now.get("conversion"),
                            "previous_conversion": None if before is None else before.get("conversion")})
        for rule, numbers in fired:
            text = words[rule] + (f" — {extra}" if extra and rule in ("tighten", "flat") else "")
            advice_rows.append({"scope": scope, "rule": rule, "rule_label": words[f"rule_{rule}"], "advice": text,
                                "basis": words[f"{rule}_basis"].format(**numbers)})

    team_now, team_before = lead_figures(cohort, before_cohort)
    if cohort.is_empty():
        report.notes.append(words["empty"].format(label=quarter.label))
    fc = stages.filter(pl.col("stage") == "first_contact")
    ladder = None
    if fc.height and int(fc["timed"].sum() or 0) > 0:
        baseline = float(fc["seconds"].sum()) / float(fc["timed"].sum()) / 60
        if baseline > 0:
            ladder = advise(baseline, request.policy.benchmark_segment or "b2b_saas").message.get(lang)
    target = request.policy.compliance.team
    add(words["team"], team_now, team_before, evaluate(team_now, team_before, target), ladder)
    stage_names = sorted(set(stages["stage"].to_list()))
    for stage in stage_names:
        weekly = stages.filter(pl.col("stage") == stage).with_columns(total=pl.col("met") + pl.col("breached"))
        now = _figures(weekly, "met", "total")
        fired = evaluate(now, None, target, volume=False, conversion=False)
        add(words["stage"].format(name=stage), now, None, fired, ladder if stage == "first_contact" else None)
    if request.source is None:
        for source in sorted(set(cohort["source"].to_list())):
            now, before = lead_figures(cohort.filter(pl.col("source") == source),
                                       before_cohort.filter(pl.col("source") == source))
            fired = [f for f in evaluate(now, before, target, conversion=False)]
            add(words["source"].format(name=source), now, before, fired)
    report.tables.append(Table("advice", words["advice"], [
        Column("scope", words["scope"]), Column("rule_label", words["rule"]), Column("advice", words["text"]),
        Column("basis", words["basis"]),
    ], advice_rows))
    report.tables.append(Table("figures", words["figures"], [
        Column("scope", words["scope"]), Column("leads", words["leads"], "int"),
        Column("previous", words["previous"], "int"), Column("compliance", words["compliance"], "percent"),
        Column("previous_compliance", words["previous_compliance"], "percent"),
        Column("weeks", words["weeks"], "int"), Column("min_week", words["min_week"], "percent"),
        Column("max_week", words["max_week"], "percent"), Column("conversion", words["conversion"], "percent"),
        Column("previous_conversion", words["previous_conversion"], "percent"),
    ], figure_rows))
    report.data["rules"] = {"tighten_at": TIGHTEN_AT, "loosen_below": LOOSEN_BELOW, "flat_relative": FLAT_RELATIVE,
                            "volume_factor": VOLUME_FACTOR, "min_week_count": MIN_WEEK_COUNT,
                            "min_scope_count": MIN_SCOPE_COUNT}
    report.data["first_contact_ladder"] = ladder
    if not advice_rows and not cohort.is_empty():
        advice_rows.append({"scope": words["team"], "rule": "none", "rule_label": words["rule_none"],
                            "advice": words["none"],
                            "basis": words["none_basis"].format(
                                value=team_now["compliance"], low=team_now["min_week"], high=team_now["max_week"],
                                now=team_now["count"], before=team_before["count"], conv=team_now["conversion"],
                                prev_conv=team_before["conversion"])})
        report.notes.append(words["no_change"])
    return report
