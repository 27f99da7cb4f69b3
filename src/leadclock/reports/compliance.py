"""Compliance by stage, rep, source and overall (F20-F21 building blocks, F29 outputs).

A lead is within SLA when none of its clocks is breached (001's "42 of 47"). For a rep, only
the clocks that rep owned count, so an AE's late acceptance does not mark the SDR down.
Cancelled clocks and clocks still open and not yet due are not counted against anyone.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from leadclock.engine.state import Clock, LeadState

STAGES = ("assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance", "follow_up")


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _rate(met: int, breached: int) -> dict[str, Any]:
    return {"met": met, "breached": breached, "compliance": _pct(met, met + breached)}


def summarize(leads: Iterable[LeadState]) -> dict[str, Any]:
    leads = list(leads)
    stage_counts: dict[str, list[int]] = {s: [0, 0, 0, 0] for s in STAGES}  # met, breached, open, cancelled
    rep_leads: dict[str, set[str]] = defaultdict(set)
    rep_breached: dict[str, set[str]] = defaultdict(set)
    rep_first: dict[str, list[float]] = defaultdict(list)
    source_total: dict[str, int] = defaultdict(int)
    source_within: dict[str, int] = defaultdict(int)
    first_contact: list[float] = []
    within_total = 0
    for lead in leads:
        within = lead.within_sla()
        within_total += within
        source_total[lead.source] += 1
        source_within[lead.source] += within
        for clock in lead.clocks:
            index = {"met": 0, "breached": 1, "open": 2, "cancelled": 3}[clock.outcome]
            stage_counts.setdefault(clock.stage, [0, 0, 0, 0])[index] += 1
            if clock.owner and clock.outcome != "cancelled":
                rep_leads[clock.owner].add(lead.lead)
                if clock.outcome == "breached":
                    rep_breached[clock.owner].add(lead.lead)
            # Only contacts that happened count in response times (not reassigned-away clocks).
            if clock.stage == "first_contact" and clock.outcome in ("met", "breached") and clock.stopped_at is not None and clock.business_seconds is not None:
                first_contact.append(clock.business_seconds)
                if clock.owner:
                    rep_first[clock.owner].append(clock.business_seconds)
    total = len(leads)
    return {
        "leads": total,
        "within_sla": within_total,
        "compliance": _pct(within_total, total),
        "first_contact_business_seconds": {
            "count": len(first_contact),
            "average": round(statistics.fmean(first_contact), 1) if first_contact else None,
            "median": round(statistics.median(first_contact), 1) if first_contact else None,
        },
        "by_stage": {
            stage: {**_rate(c[0], c[1]), "open": c[2], "cancelled": c[3]}
            for stage, c in stage_counts.items() if sum(c)
        },
        "by_rep": {
            rep: {
                "leads": len(rep_leads[rep]),
                "within_sla": len(rep_leads[rep]) - len(rep_breached[rep]),
                "compliance": _pct(len(rep_leads[rep]) - len(rep_breached[rep]), len(rep_leads[rep])),
                "average_first_contact_seconds": round(statistics.fmean(rep_first[rep]), 1) if rep_first[rep] else None,
            }
            for rep in sorted(rep_leads)
        },
        "by_source": {
            source: {
                "leads": source_total[source], "within_sla": source_within[source],
                "compliance": _pct(source_within[source], source_total[source]),
            }
            for source in sorted(source_total)
        },
    }


CLOCK_COLUMNS = ["lead", "stage", "seq", "rep", "started_at", "due_at", "max_at", "stopped_at",
                 "outcome", "exceeded_max", "business_seconds", "target", "policy_version", "reason"]


def _iso(value) -> str:  # type: ignore[no-untyped-def]
    return value.isoformat() if value is not None else ""


def clock_row(clock: Clock) -> list[Any]:
    seconds = "" if clock.business_seconds is None else f"{clock.business_seconds:.3f}"
    return [clock.lead, clock.stage, clock.seq, clock.owner or "", _iso(clock.started_at), _iso(clock.due_at),
            _iso(clock.max_at), _iso(clock.stopped_at), clock.outcome, int(clock.exceeded_max), seconds,
            clock.target, clock.policy_version, clock.reason]


def write_outputs(out: Path, leads: dict[str, LeadState], summary: dict[str, Any]) -> None:
    """clocks.csv, leads.csv and summary.json; byte-identical for the same inputs."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "clocks.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CLOCK_COLUMNS)
        for lead_id in sorted(leads):
            for clock in leads[lead_id].clocks:
                writer.writerow(clock_row(clock))
    with open(out / "leads.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["lead", "source", "tier", "owner", "status", "within_sla"])
        for lead_id in sorted(leads):
            lead = leads[lead_id]
            writer.writerow([lead_id, lead.source, lead.tier or "", lead.owner or "", lead.status, int(lead.within_sla())])
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
