"""F22 trends: a worked example with hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from analysis_support import ingest, lead, request, rows
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadclock.cli.main import app
from leadclock.reports.output import FORMATS, ReportError, render
from leadclock.reports.trends import TENURE_BUCKETS, build, tenure_bucket
from leadclock.store import Store

NOW = "2026-07-31 12:00"


def history() -> list[dict]:
    """ann started on Mon 2 March (her first clock); bob on Mon 6 July.

    In the range (July): L1 Fri 10:00 met, L2 Fri 16:00 breached (30 min), L3 Mon 10:00 met,
    L4 Mon 10:30 breached, L5 Wed 16:20 met, L6 Fri 10 July 10:15 never contacted (breached).
    Before it: L0 2 March (ann, met) and L7 20 June (ann, met: inside July's rolling windows
    until 19 July)."""
    return [
        *lead("L0", "2026-03-02 10:00", rep="ann", contact_after=2),
        *lead("L7", "2026-06-20 11:00", rep="ann", contact_after=3),
        *lead("L1", "2026-07-03 10:00", rep="ann", contact_after=5),
        *lead("L2", "2026-07-03 16:00", rep="ann", contact_after=30),
        *lead("L3", "2026-07-06 10:00", rep="bob", contact_after=9),
        *lead("L4", "2026-07-06 10:30", rep="bob", contact_after=30),
        *lead("L5", "2026-07-08 16:20", rep="bob", contact_after=5),
        *lead("L6", "2026-07-10 10:15", rep="ann", contact_after=None),
    ]


@pytest.fixture
def filled(store: Store) -> Store:
    ingest(store, history(), NOW)
    return store


def july(store: Store, **kwargs) -> object:  # type: ignore[no-untyped-def]
    from leadclock.reports.params import parse_instant

    base = request(store, NOW, **kwargs)
    zone = base.zone
    return build(request(store, NOW, start=parse_instant("2026-07-01", zone, "from"),
                         end=parse_instant("2026-07-31", zone, "to", end=True), **kwargs))


def test_monthly_weekday_and_hour_worked_example(filled: Store) -> None:
    report = july(filled)
    assert rows(report, "monthly") == [{"month": "2026-07", "leads": 6, "within": 3, "compliance": 50.0}]
    weekday = {r["weekday"]: (r["leads"], r["compliance"]) for r in rows(report, "weekday")}
    assert weekday == {"Mon": (2, 50.0), "Tue": (0, None), "Wed": (1, 100.0), "Thu": (0, None),
                       "Fri": (3, 33.3), "Sat": (0, None), "Sun": (0, None)}
    # Friday vs the rest of the week: 1/3 against 2/3.
    friday = next(r for r in rows(report, "weekday") if r["weekday"] == "Fri")
    assert friday["others"] == 66.7 and friday["vs_others"] == -33.4
    hours = {r["hour"]: (r["leads"], r["compliance"]) for r in rows(report, "hour") if r["leads"]}
    assert hours == {"10:00": (4, 50.0), "16:00": (2, 50.0)}
    heat = report.data["heatmap"]
    assert heat["leads"][4][10] == 2 and heat["compliance"][4][10] == 50.0  # Fri 10:00: L1, L6
    assert heat["compliance"][4][16] == 0.0 and heat["compliance"][2][16] == 100.0
    assert heat["compliance"][0][10] == 50.0 and sum(map(sum, heat["leads"])) == 6
    assert not any("drop" in note for note in report.notes)  # fewer than 20 leads a day: no claim
    assert "Morning arrivals (before 12:00): 50.0% of 4; afternoon (12:00-18:00): 50.0% of 2." in report.notes


def test_a_friday_drop_is_called_out(store: Store) -> None:
    # Thu 16 and Fri 17 July: 20 leads each; every second Friday lead is contacted after 30 min.
    events: list[dict] = []
    for index in range(20):
        at = f"{10 + index // 6:02d}:{index % 6 * 9:02d}"
        events += lead(f"T{index}", f"2026-07-16 {at}", rep="ann", contact_after=5)
        events += lead(f"F{index}", f"2026-07-17 {at}", rep="bob", contact_after=30 if index % 2 else 5)
    ingest(store, events, NOW)
    report = july(store)
    assert "Leads arriving on Fri are 50.0% compliant, 50.0 points below the other days (100.0%; 20 leads)." \
        in report.notes
    assert not any(note.startswith("Mon") for note in report.notes)  # no Monday leads: nothing said


def test_rolling_window_counts_the_29_days_before(filled: Store) -> None:
    rolling = {r["date"].isoformat(): r for r in rows(july(filled), "rolling")}
    assert len(rolling) == 31
    assert (rolling["2026-07-01"]["window_leads"], rolling["2026-07-01"]["rolling"]) == (1, 100.0)  # L7
    assert (rolling["2026-07-03"]["window_leads"], rolling["2026-07-03"]["rolling"]) == (3, 66.7)
    assert (rolling["2026-07-03"]["leads"], rolling["2026-07-03"]["compliance"]) == (2, 50.0)
    assert (rolling["2026-07-19"]["window_leads"], rolling["2026-07-19"]["rolling"]) == (7, 57.1)
    assert (rolling["2026-07-20"]["window_leads"], rolling["2026-07-20"]["rolling"]) == (6, 50.0)
    assert rolling["2026-07-02"]["compliance"] is None  # no leads that day: a dash, not 0%


def test_tenure_buckets_from_each_reps_first_clock(filled: Store) -> None:
    tenure = {r["bucket"]: (r["reps"], r["leads"], r["compliance"]) for r in rows(july(filled), "tenure")}
    # ann: 17-18 weeks after 2 March, L1 met, L2 and L6 breached; bob: his first weeks, 2 of 3.
    assert tenure == {"0-4": (1, 3, 66.7), "5-12": (0, 0, None), "13-26": (1, 3, 33.3), "27+": (0, 0, None)}


def test_team_and_rep_scope_count_only_their_clocks(filled: Store) -> None:
    assert rows(july(filled, team="B"), "monthly") == [{"month": "2026-07", "leads": 3, "within": 2, "compliance": 66.7}]
    assert rows(july(filled, rep="ann"), "monthly") == [{"month": "2026-07", "leads": 3, "within": 1, "compliance": 33.3}]
    assert rows(july(filled, source="event"), "monthly") == []


def test_empty_range_says_so_and_divides_by_nothing(store: Store) -> None:
    report = build(request(store, NOW))
    assert report.notes and "No leads" in report.notes[0]
    assert all(r["compliance"] is None for r in rows(report, "weekday"))
    assert "—" in render(report, "md")


def test_from_after_to_is_an_error(store: Store) -> None:
    from leadclock.reports.params import parse_instant

    zone = request(store, NOW).zone
    with pytest.raises(ReportError) as error:
        build(request(store, NOW, start=parse_instant("2026-07-10", zone, "from"),
                      end=parse_instant("2026-07-01", zone, "to", end=True)))
    assert error.value.field == "from"


@given(st.integers(min_value=0, max_value=2000))
def test_every_tenure_has_exactly_one_bucket(weeks: int) -> None:
    hits = [label for low, high, label in TENURE_BUCKETS if weeks >= low and (high is None or weeks <= high)]
    assert hits == [tenure_bucket(weeks)]


def test_cli_every_format(filled: Store, db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["report", "trends", "--db", db_url, "--from", "2026-07-01", "--to", "2026-07-31",
            "--as-of", "2026-07-31T12:00:00+09:00"]
    for fmt in FORMATS:
        result = runner.invoke(app, [*base, "--format", fmt, "--lang", "ja"])
        assert result.exit_code == 0, result.output
        assert ("50%" in result.output) or ('"compliance": 50.0' in result.output) or ("50.0" in result.output)
    data = json.loads(runner.invoke(app, [*base, "--format", "json"]).output)
    assert data["data"]["targets"] == [90.0, 95.0]
    bad = runner.invoke(app, [*base, "--team", "nobody"])
    assert bad.exit_code == 2 and "--team" in bad.output
    bad = runner.invoke(app, ["report", "trends", "--db", db_url, "--from", "July"])
    assert bad.exit_code == 2 and "--from" in bad.output
