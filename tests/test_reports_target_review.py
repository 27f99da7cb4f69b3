"""F25 quarterly target review: each of 001's scenarios with the numbers behind it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from analysis_support import ingest, lead, request, rows
from typer.testing import CliRunner

from leadclock.cli.main import app
from leadclock.policy.benchmarks import advise
from leadclock.reports.output import FORMATS, ReportError
from leadclock.reports.target_review import build, evaluate, week_starts
from leadclock.store import Store

NOW = "2026-10-05 12:00"


def weekly_leads(prefix: str, monday: date, weeks: int, per_week: int, contact: float,
                 breached_every: int = 0) -> list[dict]:
    """`per_week` leads in each of `weeks` weeks from `monday` (weekdays, 10:00-14:00), contacted
    `contact` minutes after routing; every `breached_every`-th one routed 6 minutes late and
    contacted after 30 minutes (both clocks breached)."""
    events: list[dict] = []
    count = 0
    for week in range(weeks):
        for index in range(per_week):
            day = monday + timedelta(days=7 * week + index % 5)
            late = bool(breached_every) and count % breached_every == 0
            events += lead(f"{prefix}{count}", f"{day.isoformat()} {10 + index // 5:02d}:{index % 5 * 7:02d}",
                           rep="ann", contact_after=30 if late else contact, assign_after=6 if late else 0)
            count += 1
    return events


def review(store: Store, **kwargs) -> object:  # type: ignore[no-untyped-def]
    return build(request(store, NOW, options={"quarter": "2026Q3"}, **kwargs))


def test_too_easy_and_volume_doubled(store: Store) -> None:
    # Q2: 20 leads; Q3: 50 leads, 10 a week for 5 weeks, all contacted after 8 minutes.
    ingest(store, weekly_leads("P", date(2026, 4, 6), 2, 10, 8) + weekly_leads("Q", date(2026, 7, 6), 5, 10, 8), NOW)
    report = review(store)
    advice = {(r["scope"], r["rule"]): r for r in rows(report, "advice")}
    ladder = advise(8.0, "b2b_saas").message.en
    assert set(advice) == {
        ("Whole team", "tighten"), ("Whole team", "volume"), ("Stage: assignment", "tighten"),
        ("Stage: first_contact", "tighten"), ("Source: web", "tighten"), ("Source: web", "volume"),
    }
    assert advice[("Whole team", "tighten")]["basis"] == "at least 98.0% in all 5 weeks (lowest week 100.0%)"
    assert advice[("Whole team", "tighten")]["advice"].endswith(ladder)  # the 30 → 15 → 5 ladder
    assert "5 min" in ladder
    assert advice[("Whole team", "volume")]["basis"] == "leads 20 → 50 (2.5x)"
    figures = {r["scope"]: r for r in rows(report, "figures")}
    assert (figures["Whole team"]["leads"], figures["Whole team"]["previous"], figures["Whole team"]["compliance"],
            figures["Whole team"]["weeks"]) == (50, 20, 100.0, 5)
    assert report.data["first_contact_ladder"] == ladder
    assert report.params["previous"] == "2026Q2"


def test_unrealistic_target(store: Store) -> None:
    ingest(store, weekly_leads("Q", date(2026, 7, 6), 4, 10, 5, breached_every=2), NOW)
    advice = {(r["scope"], r["rule"]): r["basis"] for r in rows(review(store), "advice")}
    assert advice[("Whole team", "loosen")] == "quarter compliance 50.0% (below 85.0%; 4 of 4 weeks below 85.0%)"
    assert ("Stage: first_contact", "loosen") in advice and ("Whole team", "tighten") not in advice


def test_no_change_with_the_numbers(store: Store) -> None:
    ingest(store, weekly_leads("P", date(2026, 4, 6), 3, 10, 5)
           + weekly_leads("Q", date(2026, 7, 6), 4, 10, 5, breached_every=10), NOW)
    report = review(store)
    assert rows(report, "advice") == [{
        "scope": "Whole team", "rule": "none", "rule_label": "no change", "advice": "No change advised",
        "basis": "compliance 90.0% (weeks 90.0% to 90.0%), leads 40 (previous quarter 30), "
                 "conversion 0.0% (previous 0.0%)",
    }]
    assert report.notes == ["No rule applies: no change to the targets is advised."]
    ja = build(request(store, NOW, lang="ja", options={"quarter": "2026Q3"}))
    assert rows(ja, "advice")[0]["advice"] == "変更は不要です"


def test_rules_as_numbers() -> None:
    now = {"count": 400, "compliance": 96.0, "weeks": 13, "min_week": 93.0, "weeks_below": 0, "conversion": 10.5}
    before = {"count": 380, "compliance": 95.0, "conversion": 10.0}
    assert [rule for rule, _ in evaluate(now, before, 90.0)] == ["flat"]  # +5% relative: flat
    assert evaluate({**now, "conversion": 11.5}, before, 90.0) == []  # +15%: conversion moved
    assert [rule for rule, _ in evaluate({**now, "compliance": 89.0}, before, 90.0)] == []  # under the target
    assert [rule for rule, _ in evaluate({**now, "count": 760}, before, 90.0)] == ["flat", "volume"]
    assert evaluate({**now, "count": 29}, before, 90.0) == []  # too few to advise anything


def test_empty_quarter_and_bad_quarter(store: Store) -> None:
    report = review(store)
    assert report.notes == ["No leads were created in 2026Q3."] and rows(report, "advice") == []
    with pytest.raises(ReportError) as error:
        build(request(store, NOW, options={"quarter": "2026-Q0"}))
    assert error.value.field == "quarter"


def test_weeks_are_local_and_cut_by_the_quarter(store: Store) -> None:
    from leadclock.reports.params import parse_quarter

    base = request(store, NOW)
    quarter = parse_quarter("2026Q3", base.zone, base.today)
    starts = week_starts(quarter, base)
    # Wed 1 July, then every Monday 00:00 JST (Sunday 15:00 UTC) to Mon 28 September: 14 weeks.
    assert len(starts) == 14 and starts[0] == quarter.start
    assert [s.astimezone(base.zone).strftime("%a %H:%M") for s in starts[1:3]] == ["Mon 00:00", "Mon 00:00"]


def test_cli_every_format(store: Store, db_url: str) -> None:
    ingest(store, weekly_leads("Q", date(2026, 7, 6), 4, 10, 5, breached_every=2), NOW)
    runner = CliRunner()
    base = ["report", "target-review", "--db", db_url, "--quarter", "2026Q3", "--as-of", "2026-10-05T12:00:00+09:00"]
    for fmt in FORMATS:
        result = runner.invoke(app, [*base, "--format", fmt, "--lang", "en"])
        assert result.exit_code == 0, result.output
        assert "loosen" in result.output or "緩和" in result.output
    data = json.loads(runner.invoke(app, [*base, "--format", "json"]).output)
    assert data["tables"][0]["rows"][0]["rule"] == "loosen"
    assert "目標が非現実的" in runner.invoke(app, [*base, "--lang", "ja"]).output
    bad = runner.invoke(app, [*base[:-4], "--quarter", "Q3"])
    assert bad.exit_code == 2 and "--quarter" in bad.output
