"""F19 consequences: the ladder from consecutive weeks below the line and the compensation hooks,
from a hand-made history (SQLite and PostgreSQL), and the ladder's rules as properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_support import TOKYO, History, fill, policy

from leadclock.reports.consequences import multiplier, stage_of, streak
from leadclock.reports.output import FORMATS, ReportError, render
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import run
from leadclock.store import Store

NOW = datetime(2026, 7, 13, 9, 0, tzinfo=TOKYO).astimezone(UTC)  # Monday after W28


def week_of(monday: date, rep: str, within: int, total: int, h: History) -> None:
    """`total` leads assigned on `monday` to `rep`: `within` called in 3 min, the rest after 10
    (first contact target 5 min); all decided at once."""
    for index in range(total):
        at = datetime(monday.year, monday.month, monday.day, 10, tzinfo=TOKYO) + timedelta(minutes=30 * index)
        h.lead(f"{rep}-{monday:%m%d}-{index}", "demo_request", at, 3 if index < within else 10, "disqualified", rep=rep)


def history() -> History:
    """yamada: W22 5/5, W23 3/5, W24 nothing (leave), W25-W28 3/5 -> 5 weeks below: continuing.
    sato: W27 5/5, W28 3/5 -> first occurrence. tanaka (sales): W28 5/5."""
    h = History()
    mondays = {week: date(2026, 5, 25) + timedelta(weeks=week - 22) for week in range(22, 29)}
    week_of(mondays[22], "sdr-yamada", 5, 5, h)
    for week in (23, 25, 26, 27, 28):
        week_of(mondays[week], "sdr-yamada", 3, 5, h)
    week_of(mondays[27], "sdr-sato", 5, 5, h)
    week_of(mondays[28], "sdr-sato", 3, 5, h)
    week_of(mondays[28], "ae-tanaka", 5, 5, h)
    return h


@pytest.fixture
def filled(store: Store) -> Store:
    fill(store, history().events, policy(), now=NOW)
    return store


def request(store: Store, lang: str = "ja", **kwargs: object) -> ReportRequest:
    return ReportRequest(store=store, policy=policy(), now=NOW, lang=lang,  # type: ignore[arg-type]
                         options={"week": kwargs.pop("week", "2026-W28")}, **kwargs)  # type: ignore[arg-type]


def test_ladder_and_compensation_by_hand(filled: Store) -> None:
    report = run("consequences", request(filled, "en"))
    ladder = {r["rep"]: (r["weeks_below"], r["stage"], r["compliance"]) for r in report.table("ladder").rows}
    assert ladder == {"sdr-yamada": (5, "continuing", 60.0), "sdr-sato": (1, "first", 60.0),
                      "ae-tanaka": (0, "none", 100.0)}
    assert report.table("ladder").rows[0]["rep"] == "sdr-yamada"  # longest streak first
    assert report.table("ladder").rows[0]["action"].startswith("Formal performance improvement plan")
    pay = {r["rep"]: (r["gate_met"], r["multiplier"], r["team_compliance"], r["team_bonus"])
           for r in report.table("compensation").rows}
    assert pay == {"sdr-yamada": ("no", 90, 60.0, "no"), "sdr-sato": ("no", 90, 60.0, "no"),
                   "ae-tanaka": ("yes", 110, 100.0, "yes")}
    weeks = [(r["week"], r["compliance"]) for r in report.table("history").rows if r["rep"] == "sdr-yamada"]
    assert weeks == [("2026-W22", 100.0), ("2026-W23", 60.0), ("2026-W25", 60.0), ("2026-W26", 60.0),
                     ("2026-W27", 60.0), ("2026-W28", 60.0)]


def test_an_earlier_week_reads_the_ladder_as_it_was(filled: Store) -> None:
    report = run("consequences", request(filled, week="2026-W26"))
    ladder = {r["rep"]: (r["weeks_below"], r["stage"]) for r in report.table("ladder").rows}
    assert ladder == {"sdr-yamada": (3, "pattern")}  # W26, W25, (W24 skipped), W23


def test_scope_and_bad_input(filled: Store) -> None:
    team = run("consequences", request(filled, team="sales"))
    assert [r["rep"] for r in team.table("ladder").rows] == ["ae-tanaka"]
    for kwargs, field in (({"rep": "nobody"}, "rep"), ({"team": "nowhere"}, "team"), ({"week": "W99"}, "week")):
        with pytest.raises(ReportError) as error:
            run("consequences", request(filled, **kwargs))
        assert error.value.field == field


def test_no_leads_says_so(filled: Store) -> None:
    report = run("consequences", request(filled, week="2025-W10"))
    assert not report.table("ladder").rows and report.notes
    for fmt in FORMATS:
        assert render(report, fmt)


def test_policy_lines_are_used(filled: Store) -> None:
    stricter = policy().model_copy(update={"compliance": policy().compliance.model_copy(update={"rep_alert_below": 50.0})})
    report = run("consequences", ReportRequest(store=filled, policy=stricter, now=NOW, options={"week": "2026-W28"}))
    assert {r["rep"]: r["weeks_below"] for r in report.table("ladder").rows}["sdr-yamada"] == 0


# --------------------------------------------------------------------------- properties


@given(st.integers(0, 60))
def test_ladder_stages(weeks: int) -> None:
    stage = stage_of(weeks)
    expected = ("none" if weeks == 0 else "first" if weeks == 1 else "pattern" if weeks < 4
                else "continuing" if weeks < 8 else "persistent")
    assert stage == expected
    order = ("none", "first", "pattern", "continuing", "persistent")
    assert order.index(stage_of(weeks + 1)) >= order.index(stage)


@given(st.lists(st.one_of(st.none(), st.floats(0, 100)), max_size=20), st.floats(1, 100))
def test_streak_counts_trailing_weeks_below_skipping_empty_ones(weekly: list[float | None], line: float) -> None:
    known = [value for value in weekly if value is not None]
    expected = 0
    for value in reversed(known):
        if value >= line:
            break
        expected += 1
    assert streak(weekly, line) == expected


@given(st.one_of(st.none(), st.floats(0, 100)), st.floats(1, 89))
def test_multiplier(compliance: float | None, low: float) -> None:
    found = multiplier(compliance, low, 90.0)
    if compliance is None:
        assert found is None
    elif compliance >= 90.0:
        assert found == 110
    elif compliance < low:
        assert found == 90
    else:
        assert found == 100
