"""F26 funnel and closed loop: a worked example, the reverse funnel, sharp changes, bad input."""

from __future__ import annotations

import json
from fractions import Fraction
from itertools import pairwise

import pytest
from analysis_support import event, ingest, lead, request, rows, won
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadclock.cli.main import app
from leadclock.reports.funnel import STAGES, build, rates, reverse_funnel, sharp_changes
from leadclock.reports.output import FORMATS, ReportError
from leadclock.reports.params import parse_instant
from leadclock.store import Store

NOW = "2026-08-10 12:00"
FIELDS = {"budget": "yes", "authority": "cto", "need": "crm", "timeline": "q3", "next_step": "demo"}


def history() -> list[dict]:
    """July: ten leads. F1 won ¥1M (10 days after creation), F2 won ¥3M (20 days), F3 lost,
    F4 qualified (SQL) only, F5 nurture, F6 unreachable, F7 garbage, F8 recycled (all eight were
    routed to a rep: MQL), F9 thrown away before routing, F10 never routed."""
    return [
        *lead("F1", "2026-07-06 10:00", rep="ann", contact_after=5),
        *won("F1", "2026-07-08 10:00", "2026-07-16 10:00", 1_000_000, "ann"),
        *lead("F2", "2026-07-07 10:00", rep="ann", contact_after=5),
        *won("F2", "2026-07-09 10:00", "2026-07-27 10:00", 3_000_000, "ann"),
        *lead("F3", "2026-07-07 11:00", rep="bob", contact_after=5),
        *won("F3", "2026-07-09 11:00", "2026-07-20 10:00", 500_000, "bob", win=False),
        *lead("F4", "2026-07-08 10:00", rep="bob", contact_after=5),
        event("handoff.requested", "2026-07-08 12:00", "F4", **{"from": "bob"}, fields=FIELDS),
        *lead("F5", "2026-07-08 11:00", rep="cid", contact_after=5),
        event("lead.status", "2026-07-08 12:00", "F5", status="nurture", revisit="2026-10-01"),
        *lead("F6", "2026-07-09 10:00", rep="cid", contact_after=5),
        event("lead.status", "2026-07-09 12:00", "F6", status="unreachable"),
        *lead("F7", "2026-07-09 11:00", rep="dan", contact_after=5),
        event("lead.status", "2026-07-09 12:00", "F7", status="garbage", reason="spam"),
        *lead("F8", "2026-07-10 10:00", rep="dan", contact_after=5),
        event("lead.status", "2026-07-10 12:00", "F8", status="recycled"),
        *lead("F9", "2026-07-10 11:00", rep=None, contact_after=None),
        event("lead.status", "2026-07-10 11:01", "F9", status="garbage", reason="test entry"),
        *lead("F10", "2026-07-13 10:00", rep=None, contact_after=None),
    ]


@pytest.fixture
def filled(store: Store) -> Store:
    ingest(store, history(), NOW)
    return store


def july(store: Store, **kwargs) -> object:  # type: ignore[no-untyped-def]
    zone = request(store, NOW).zone
    return build(request(store, NOW, start=parse_instant("2026-07-01", zone, "from"),
                         end=parse_instant("2026-07-31", zone, "to", end=True), **kwargs))


def test_funnel_counts_and_rates(filled: Store) -> None:
    report = july(filled, options={"spend": 1_000_000, "revenue_target": 10_000_000})
    funnel = {r["key"]: (r["count"], r["step"], r["from_lead"]) for r in rows(report, "funnel")}
    assert funnel == {"lead": (10, None, 100.0), "mql": (8, 80.0, 80.0), "sql": (4, 50.0, 40.0),
                      "opportunity": (3, 75.0, 30.0), "won": (2, 66.7, 20.0)}
    assert all(r["previous"] is None for r in rows(report, "funnel"))  # nothing in June
    kpis = report.data["kpis"]
    assert kpis["accepted"] == 3 and kpis["accepted_rate"] == 75.0  # the three opportunities
    assert kpis["revenue"] == 4_000_000 and kpis["avg_deal"] == 2_000_000
    assert kpis["win_rate"] == 66.7 and kpis["cycle_days"] == 15.0
    assert kpis["velocity"] == 266_667  # 3 opportunities x 2/3 x ¥2M / 15 days
    assert (kpis["cost_per_lead"], kpis["cost_per_mql"], kpis["cost_per_sql"]) == (100_000, 125_000, 250_000)


def test_reverse_funnel_for_a_revenue_target(filled: Store) -> None:
    report = july(filled, options={"revenue_target": 10_000_000})
    # 5 deals of ¥2M; 5 / (2/3) -> 8 opportunities; 8 / (3/4) -> 11 SQLs; 22 MQLs; 22 / (4/5) -> 28.
    assert report.data["reverse"] == {"lead": 28, "mql": 22, "sql": 11, "opportunity": 8, "won": 5}
    assert [r["needed"] for r in rows(report, "reverse")] == [28, 22, 11, 8, 5]


def test_status_feedback_to_marketing(filled: Store) -> None:
    assert rows(july(filled), "feedback") == [
        {"source": "web", "leads": 10, "qualified": 4, "recycle": 2, "garbage": 2, "unreachable": 1}]


def test_empty_range_and_no_deals(filled: Store) -> None:
    zone = request(filled, NOW).zone
    report = build(request(filled, NOW, start=parse_instant("2026-05-01", zone, "from"),
                           end=parse_instant("2026-05-31", zone, "to", end=True),
                           options={"revenue_target": 1_000_000, "spend": 500}))
    assert "No leads were created" in report.notes[0]
    assert any("cannot be computed" in note for note in report.notes)
    assert report.data["kpis"]["cost_per_lead"] is None and report.data["reverse"] is None


@pytest.mark.parametrize(("options", "field"), [
    ({"spend": -1}, "spend"), ({"spend": "lots"}, "spend"), ({"revenue_target": 0}, "revenue-target"),
    ({"revenue_target": float("nan")}, "revenue-target"),
])
def test_bad_amounts_name_the_field(store: Store, options: dict, field: str) -> None:
    with pytest.raises(ReportError) as error:
        build(request(store, NOW, options=options))
    assert error.value.field == field


def test_sharp_change_rule() -> None:
    before = {"lead": 100, "mql": 80, "sql": 40, "opportunity": 20, "won": 10}
    now = {"lead": 100, "mql": 50, "sql": 25, "opportunity": 14, "won": 7}
    changes = sharp_changes(now, before)
    # lead→MQL 80% → 50% (-37.5%): flagged; MQL→SQL 50% → 50%; SQL→opp 50% → 56% (+12%); opp→won 50% → 50%.
    assert [(c["from"], c["to"], c["before"], c["now"], c["change"]) for c in changes] == [
        ("lead", "mql", 80.0, 50.0, -37.5)]
    assert sharp_changes({**now, "lead": 19}, before) == []  # too few leads to call it


rate_counts = st.lists(st.integers(min_value=1, max_value=500), min_size=5, max_size=5).map(sorted)


@given(rate_counts, st.integers(min_value=1, max_value=10**10), st.integers(min_value=1, max_value=10**8))
def test_reverse_funnel_times_rates_reaches_the_target(counts: list[int], target: int, deal: int) -> None:
    reached = dict(zip(STAGES, reversed(counts), strict=True))  # lead >= mql >= ... >= won
    step_rates = rates(reached)
    need = reverse_funnel(target, Fraction(deal), step_rates)
    assert need is not None
    assert need["won"] * deal >= target and (need["won"] - 1) * deal < target
    for (stage, nxt), rate in zip(pairwise(STAGES), step_rates, strict=True):
        assert rate is not None
        assert need[stage] * rate >= need[nxt]  # enough at every stage...
        assert (need[stage] - 1) * rate < need[nxt]  # ...and not one more than needed


def test_reverse_funnel_refuses_zero_rates() -> None:
    assert reverse_funnel(100, Fraction(10), [Fraction(1, 2), Fraction(0), Fraction(1), Fraction(1)]) is None
    assert reverse_funnel(100, Fraction(0), [Fraction(1)] * 4) is None


def test_cli_every_format(filled: Store, db_url: str) -> None:
    runner = CliRunner()
    base = ["report", "funnel", "--db", db_url, "--from", "2026-07-01", "--to", "2026-07-31",
            "--as-of", "2026-08-10T12:00:00+09:00", "--spend", "1000000", "--revenue-target", "10000000"]
    for fmt in FORMATS:
        result = runner.invoke(app, [*base, "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "MQL" in result.output
    data = json.loads(runner.invoke(app, [*base, "--format", "json"]).output)
    assert data["data"]["reverse"]["lead"] == 28
    assert "リバースファネル" in runner.invoke(app, [*base, "--lang", "ja"]).output
    bad = runner.invoke(app, [*base[:-4], "--spend", "-3"])
    assert bad.exit_code == 2 and "--spend" in bad.output
