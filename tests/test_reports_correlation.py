"""F23 compliance vs conversion: a worked example by tier, the relation rule, bad input."""

from __future__ import annotations

import json

import pytest
from analysis_support import ingest, lead, request, rows, won
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadclock.cli.main import app
from leadclock.reports.correlation import TIERS, build, relation, spearman, tier_of, tiers_of
from leadclock.reports.output import FORMATS, ReportError
from leadclock.store import Store

NOW = "2026-10-15 12:00"


def history() -> list[dict]:
    """Q3 2026. ann 4/4 in time (contacts after 2, 4, 6, 8 min; 2 deals won: ¥1.0M, ¥2.0M);
    bob 4/5 (four after 5 min, one after 20; one deal ¥0.9M); cid 3/4 (three exactly at the
    10-minute deadline, one after 15); dan 1/2 (1 min, 40 min)."""
    events: list[dict] = []
    plan = {"ann": [2, 4, 6, 8], "bob": [5, 5, 5, 5, 20], "cid": [10, 10, 10, 15], "dan": [1, 40]}
    for index, (rep, contacts) in enumerate(plan.items()):
        for number, minutes in enumerate(contacts):
            lead_id = f"{rep}-{number}"
            events += lead(lead_id, f"2026-07-{6 + index:02d} {10 + number}:00", rep=rep, contact_after=minutes)
    events += won("ann-0", "2026-07-20 10:00", "2026-08-03 10:00", 1_000_000, "ann")
    events += won("ann-1", "2026-07-20 11:00", "2026-08-04 10:00", 2_000_000, "ann")
    events += won("bob-0", "2026-07-21 10:00", "2026-08-05 10:00", 900_000, "bob")
    events += won("bob-1", "2026-07-21 11:00", "2026-08-05 11:00", 700_000, "bob", win=False)
    return events


@pytest.fixture
def filled(store: Store) -> Store:
    ingest(store, history(), NOW)
    return store


def test_tier_table_worked_example(filled: Store) -> None:
    report = build(request(filled, NOW, options={"quarter": "2026Q3"}))
    table = {r["tier"]: r for r in report.data["tiers"]}
    assert table["90-100"] == {"tier": "90-100", "reps": 1, "leads": 4, "response": 300.0, "won": 2,
                               "conversion": 50.0, "deal": 1_500_000}
    assert table["80-90"] == {"tier": "80-90", "reps": 1, "leads": 5, "response": 480.0, "won": 1,
                              "conversion": 20.0, "deal": 900_000}
    assert table["70-80"] == {"tier": "70-80", "reps": 1, "leads": 4, "response": 675.0, "won": 0,
                              "conversion": 0.0, "deal": None}
    assert table["<70"] == {"tier": "<70", "reps": 1, "leads": 2, "response": 1230.0, "won": 0,
                            "conversion": 0.0, "deal": None}
    assert report.data["reps"] == {"90-100": ["ann"], "80-90": ["bob"], "70-80": ["cid"], "<70": ["dan"]}
    # Four leads or five per tier: too few to call it either way, and the note says so with numbers.
    assert report.data["relation"]["verdict"] == "few"
    assert "Too few" in report.notes[0] and "90-100: 50.0% (4)" in report.notes[0]
    assert [r["tier"] for r in rows(report, "tiers")] == ["90-100% SLA", "80-90% SLA", "70-80% SLA", "<70% SLA"]


def test_scope_to_a_team(filled: Store) -> None:
    report = build(request(filled, NOW, team="B", options={"quarter": "2026Q3"}))
    assert report.data["reps"] == {"90-100": [], "80-90": ["bob"], "70-80": ["cid"], "<70": []}


def test_empty_quarter_says_so(filled: Store) -> None:
    report = build(request(filled, NOW, options={"quarter": "2026Q1"}))
    assert all(r["leads"] == 0 and r["conversion"] is None for r in report.data["tiers"])
    assert "No lead" in report.notes[0]


def test_unknown_quarter_names_the_field(store: Store) -> None:
    for bad in ("2026Q5", "Q3", "last year"):
        with pytest.raises(ReportError) as error:
            build(request(store, NOW, options={"quarter": bad}))
        assert error.value.field == "quarter"


def test_relation_rule() -> None:
    def table(conversions: list[float], leads: int = 40) -> list[dict]:
        return [{"tier": label, "leads": leads, "conversion": c} for (label, _), c in zip(TIERS, conversions, strict=True)]

    verdict, rho, used = relation(table([18, 12, 8, 4]))  # 001's own table
    assert (verdict, rho, len(used)) == ("relation", -1.0, 4)
    assert relation(table([18, 8, 12, 4]))[0] == "relation"  # one swap of neighbours: rho -0.8
    assert relation(table([10, 12, 9, 11]))[0] == "none"
    assert relation(table([5, 5, 5, 5]))[:2] == ("none", None)  # flat conversion: no relation
    assert relation(table([18, 12, 8, 4], leads=29))[0] == "few"


def test_spearman_matches_the_textbook() -> None:
    assert spearman([0, 1, 2, 3], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([0, 1, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([0, 1], [1, 1]) is None


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.floats(min_value=0, max_value=100), max_size=30))
def test_tiers_partition_the_reps(compliance: dict[str, float]) -> None:
    groups = tiers_of(compliance)
    members = [rep for reps in groups.values() for rep in reps]
    assert sorted(members) == sorted(compliance)  # everyone once, nobody twice
    floors = dict(TIERS)
    for label, reps in groups.items():
        for rep in reps:
            assert compliance[rep] >= floors[label]
            assert tier_of(compliance[rep]) == label


def test_cli_every_format_and_bad_quarter(filled: Store, db_url: str) -> None:
    runner = CliRunner()
    base = ["report", "correlation", "--db", db_url, "--quarter", "2026Q3", "--as-of", "2026-10-15T12:00:00+09:00"]
    for fmt in FORMATS:
        result = runner.invoke(app, [*base, "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "90-100" in result.output
    assert "コンバージョン率" in runner.invoke(app, [*base, "--lang", "ja"]).output
    data = json.loads(runner.invoke(app, [*base, "--format", "json", "--lang", "en"]).output)
    assert data["data"]["tiers"][1]["conversion"] == 20.0
    bad = runner.invoke(app, [*base[:-4], "--quarter", "2026Q9"])
    assert bad.exit_code == 2 and "--quarter" in bad.output
