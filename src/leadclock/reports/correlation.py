"""F23: does SLA compliance go with revenue? (001 「コンバージョン相関分析」, run quarterly)

`leadclock report correlation --quarter 2026Q3`

001's table, by compliance tier: 90-100%, 80-90%, 70-80%, < 70% (a tier includes its lower
bound: 90.0 is "90-100", 89.9 is "80-90"). Definitions:

* the tier is the tier of the *rep's* compliance in the quarter: the rep's (lead, rep) pairs for
  leads created in the quarter, within SLA when none of the rep's own clocks on the lead is
  breached (as everywhere in leadclock);
* a lead counts for the rep who owned its first-contact clock when it ended, met or breached
  (the rep whose response 001's table is about); a lead reassigned after a breached first
  contact counts for both reps, since both clocks ended on them;
* average response time: those clocks' business time to the first contact attempt, as in the
  compliance report;
* conversion rate: leads won / leads of the tier (lead → won);
* average deal size: the mean amount of the tier's won deals.

The relation is stated, not assumed. Rule: only tiers with at least `MIN_TIER_LEADS` leads take
part; with at least three such tiers, the Spearman rank correlation between tier order (best
first) and conversion rate must be ≤ `RELATION_RHO` (-0.8: conversion falls as compliance falls,
with at most one swap of neighbours among four tiers) to say "conversion falls with compliance".
Anything else says plainly that this quarter's data shows no such relation (or too few leads).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import case, func, select

from leadclock.reports.cohort import (
    clocks_of_leads_created,
    concurrently,
    json_number,
    pct,
    rep_compliance,
    scope_reps,
)
from leadclock.reports.data import frame
from leadclock.reports.output import Column, Report, Table
from leadclock.reports.params import ReportRequest, parse_quarter
from leadclock.store.models import ClockRow, LeadRow

TIERS = (("90-100", 90.0), ("80-90", 80.0), ("70-80", 70.0), ("<70", 0.0))
MIN_TIER_LEADS = 30
RELATION_RHO = -0.8

_leads = LeadRow.__table__
_clocks = ClockRow.__table__

_WORDS = {
    "ja": {
        "title": "SLAコンプライアンス vs コンバージョン率", "table": "コンプライアンスティア別",
        "tier": "コンプライアンスティア", "reps": "担当者", "leads": "リード", "response": "平均レスポンスタイム",
        "won": "受注", "conversion": "コンバージョン率", "deal": "平均案件サイズ", "sla": "{tier}% SLA",
        "quarter": "四半期: {label}（ティアは担当者の四半期コンプライアンス、リードは初回コンタクトの担当者に帰属）",
        "empty": "この四半期（{label}）に初回コンタクトのあったリードはありません。",
        "relation": "コンバージョン率はコンプライアンスとともに下がっています（スピアマン順位相関 {rho:+.2f}、{n}ティア、各{min}件以上: {figures}）。SLAへの継続的な投資と徹底の根拠になります。",
        "none": "このデータではコンプライアンスとコンバージョン率の相関は見られません（スピアマン順位相関 {rho}、{n}ティア、各{min}件以上: {figures}）。SLA目標が適切でないか、リード品質に問題がある可能性があります。調査してください。",
        "few": "相関を判断するにはデータが足りません: {min}件以上のリードがあるティアが{n}つだけです（3つ以上必要）: {figures}。",
    },
    "en": {
        "title": "SLA compliance vs conversion rate", "table": "By compliance tier",
        "tier": "Compliance tier", "reps": "Reps", "leads": "Leads", "response": "Avg response time",
        "won": "Won", "conversion": "Conversion rate", "deal": "Avg deal size", "sla": "{tier}% SLA",
        "quarter": "Quarter: {label} (tier = the rep's compliance in the quarter; each lead counts for its first-contact rep)",
        "empty": "No lead created in {label} had a first-contact clock that ended.",
        "relation": "Conversion falls as compliance falls (Spearman rank correlation {rho:+.2f} over {n} tiers of at least {min} leads: {figures}): this justifies continued SLA investment and enforcement.",
        "none": "This data shows no correlation between compliance and conversion (Spearman rank correlation {rho} over {n} tiers of at least {min} leads: {figures}). The SLA targets may be wrong or lead quality poor: investigate.",
        "few": "Too few leads to judge a correlation: only {n} tier(s) have at least {min} leads (3 needed): {figures}.",
    },
}


def tier_of(compliance: float) -> str:
    """The 001 tier of a compliance percentage; each value in [0, 100] has exactly one tier."""
    for label, floor in TIERS:
        if compliance >= floor:
            return label
    return TIERS[-1][0]


def tiers_of(rep_compliance: Mapping[str, float]) -> dict[str, list[str]]:
    """Reps by tier (every rep in exactly one tier; tiers in 001's order, reps sorted)."""
    out: dict[str, list[str]] = {label: [] for label, _ in TIERS}
    for rep in sorted(rep_compliance):
        out[tier_of(rep_compliance[rep])].append(rep)
    return out


def spearman(order: list[float], values: list[float]) -> float | None:
    """Spearman rank correlation (average ranks for ties); None when either side is constant."""
    if len(order) < 2:
        return None
    table = pl.DataFrame({"x": order, "y": values}, schema={"x": pl.Float64, "y": pl.Float64})
    rho = table.select(pl.corr("x", "y", method="spearman")).item()
    return None if rho is None or rho != rho else float(rho)


def relation(rows: list[dict[str, Any]], min_leads: int = MIN_TIER_LEADS) -> tuple[str, float | None, list[dict[str, Any]]]:
    """('relation' | 'none' | 'few', rho, the tiers used) for table rows in tier order."""
    used = [r for r in rows if r["leads"] >= min_leads and r["conversion"] is not None]
    if len(used) < 3:
        return "few", None, used
    rho = spearman([float(TIERS.index(next(t for t in TIERS if t[0] == r["tier"]))) for r in used],
                   [float(r["conversion"]) for r in used])
    return ("relation" if rho is not None and rho <= RELATION_RHO else "none"), rho, used


def _first_contacts(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    """Per rep, counted by the database: first-contact clocks that ended on the rep (leads),
    their business seconds, how many of those leads were won and the won amounts."""
    won = _leads.c.status == "won"
    statement = (
        select(_clocks.c.owner, func.count(), func.sum(_clocks.c.business_seconds),
               func.count(_clocks.c.business_seconds), func.sum(case((won, 1), else_=0)),
               func.sum(case((won, json_number("deal_amount")), else_=None)),
               func.count(case((won, json_number("deal_amount")), else_=None)))
        .select_from(_clocks.join(_leads, _leads.c.id == _clocks.c.lead))
        .where(clocks_of_leads_created(start, end),
               _clocks.c.stage == "first_contact", _clocks.c.outcome.in_(("met", "breached")),
               _clocks.c.stopped_at.is_not(None), _clocks.c.owner.is_not(None))
        .group_by(_clocks.c.owner)
    )
    if request.source is not None:
        statement = statement.where(_leads.c.source == request.source)
    reps = scope_reps(request)
    if reps is not None:
        statement = statement.where(_clocks.c.owner.in_(reps or [""]))
    return frame(request.store, statement, {
        "owner": pl.Utf8, "leads": pl.Int64, "seconds": pl.Float64, "timed": pl.Int64, "won": pl.Int64,
        "amount": pl.Float64, "amounts": pl.Int64})


def build(request: ReportRequest) -> Report:
    words = _WORDS[request.lang]
    quarter = parse_quarter(request.option("quarter"), request.zone, request.today)
    report = Report("correlation", words["title"], request.lang,
                    params={"quarter": quarter.label, "from": quarter.start, "to": quarter.end,
                            "team": request.team, "rep": request.rep, "source": request.source})
    report.lines.append(words["quarter"].format(label=quarter.label))
    per_rep, contacts = concurrently(
        request.store, lambda: rep_compliance(request, quarter.start, quarter.end),
        lambda: _first_contacts(request, quarter.start, quarter.end))
    compliance = {row["owner"]: 100.0 * (row["leads"] - row["breached"]) / row["leads"]
                  for row in per_rep.iter_rows(named=True)}
    by_tier = tiers_of(compliance)
    rep_tier = pl.DataFrame({"owner": list(compliance), "tier": [tier_of(v) for v in compliance.values()]},
                            schema={"owner": pl.Utf8, "tier": pl.Utf8})
    leads = contacts.join(rep_tier, on="owner", how="inner")
    summed = leads.group_by("tier").agg(pl.col("leads", "seconds", "timed", "won", "amount", "amounts").sum())
    stats = {row["tier"]: {
        "leads": row["leads"], "won": row["won"],
        "response": row["seconds"] / row["timed"] if row["timed"] else None,
        "deal": row["amount"] / row["amounts"] if row["amounts"] else None,
    } for row in summed.iter_rows(named=True)}
    rows = []
    for label, _floor in TIERS:
        row = stats.get(label)
        count = row["leads"] if row else 0
        rows.append({
            "tier": label, "reps": len(by_tier[label]), "leads": count,
            "response": None if row is None or row["response"] is None else round(row["response"], 1),
            "won": row["won"] if row else 0, "conversion": pct(row["won"], count) if row else None,
            "deal": None if row is None or row["deal"] is None else round(row["deal"]),
        })
    shown = [{**r, "tier": words["sla"].format(tier=r["tier"])} for r in rows]
    report.tables.append(Table("tiers", words["table"], [
        Column("tier", words["tier"]), Column("reps", words["reps"], "int"), Column("leads", words["leads"], "int"),
        Column("response", words["response"], "seconds"), Column("won", words["won"], "int"),
        Column("conversion", words["conversion"], "percent"), Column("deal", words["deal"], "money"),
    ], shown))
    report.data["tiers"] = rows
    report.data["reps"] = {label: reps for label, reps in by_tier.items()}
    if leads.is_empty():
        report.notes.append(words["empty"].format(label=quarter.label))
        report.data["relation"] = {"verdict": "few", "rho": None}
        return report
    verdict, rho, used = relation(rows)
    figures = ", ".join(f"{r['tier']}: {r['conversion']}% ({r['leads']})" for r in (used or rows))
    report.data["relation"] = {"verdict": verdict, "rho": None if rho is None else round(rho, 3),
                               "min_leads": MIN_TIER_LEADS, "threshold": RELATION_RHO}
    rho_text = "—" if rho is None else f"{rho:+.2f}"
    if verdict == "relation":
        assert rho is not None
        report.notes.append(words["relation"].format(rho=rho, n=len(used), min=MIN_TIER_LEADS, figures=figures))
    elif verdict == "none":
        report.notes.append(words["none"].format(rho=rho_text, n=len(used), min=MIN_TIER_LEADS, figures=figures))
    else:
        report.notes.append(words["few"].format(n=len(used), min=MIN_TIER_LEADS, figures=figures))
    return report
