"""F21 scorecards: 001's example line for line (ja and en) from a history run through the engine,
the team scorecard and its ranking, bad input, the CLI and every format; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_support import NOW, SEED_LINES_EN, SEED_LINES_JA, TOKYO, fill, policy, scorecard_history
from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.reports.output import FORMATS, ReportError, render
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import run
from leadclock.reports.scorecard import Card, build, build_team, ranked, target_text, trend_line
from leadclock.store import Store


@pytest.fixture
def filled(store: Store) -> Store:
    fill(store, scorecard_history(), policy())
    return store


def request(store: Store, lang: str = "ja", **kwargs: object) -> ReportRequest:
    options = {"week": kwargs.pop("week", "2026-W28")}
    return ReportRequest(store=store, policy=policy(), now=kwargs.pop("now", NOW), lang=lang,  # type: ignore[arg-type]
                         options=options, **kwargs)  # type: ignore[arg-type]


def test_the_001_example_line_for_line_in_japanese(filled: Store) -> None:
    report = build(request(filled, rep="sdr-yamada"))
    assert report.lines == SEED_LINES_JA


def test_the_001_example_line_for_line_in_english(filled: Store) -> None:
    report = build(request(filled, "en", rep="sdr-yamada"))
    assert report.lines == SEED_LINES_EN


def test_the_numbers_are_in_the_tables(filled: Store) -> None:
    report = build(request(filled, rep="sdr-yamada"))
    (row,) = report.table("summary").rows
    assert (row["assigned"], row["within_sla"], row["compliance"]) == (47, 42, 89.4)
    assert (row["qualified"], row["disqualified"], row["in_progress"]) == (18, 23, 6)
    assert (row["qualified_pct"], row["disqualified_pct"], row["in_progress_pct"]) == (38.3, 48.9, 12.8)
    assert row["average_response_seconds"] == pytest.approx(381 * 60 / 47, abs=0.1)
    assert (row["previous_compliance"], row["change"], row["violations"]) == (85.0, 4.4, 5)
    violations = report.table("violations").rows
    assert [v["lead"] for v in violations] == ["12345", "12389", "12401", "12423", "12456"]
    assert [v["target"] for v in violations] == ["5分", "5分", "48時間", "15分", "48時間"]
    assert violations[0]["actual_seconds"] == 18 * 60


def test_a_card_read_later_says_the_same(filled: Store) -> None:
    """The week is taken as it ended: a Friday lead breaching on Tuesday does not change W28."""
    later = build(request(filled, rep="sdr-yamada", now=NOW + timedelta(days=30)))
    assert later.lines == SEED_LINES_JA


def test_the_week_in_progress_is_as_of_now(filled: Store) -> None:
    # Wednesday 8 July 12:00 JST: 12401's decision (due 12:04) is not late yet; 12456 not yet.
    wednesday = datetime(2026, 7, 8, 3, 0, tzinfo=UTC)
    report = build(request(filled, rep="sdr-yamada", now=wednesday, week="this"))
    (row,) = report.table("summary").rows
    assert [v["lead"] for v in report.table("violations").rows] == ["12345", "12389"]
    assert row["violations"] == 2


def test_team_scorecard_rows_total_and_ranking(filled: Store) -> None:
    report = build_team(request(filled, team="inside-sales"))
    rows = report.table("reps").rows
    # The manager had no leads and is not a row; sato (10 of 10) ranks above yamada (42 of 47).
    assert [(r["rank"], r["rep"], r["assigned"], r["within_sla"]) for r in rows] == [
        (1, "sdr-sato", 10, 10), (2, "sdr-yamada", 47, 42), (None, "inside-sales", 57, 52)]
    assert rows[-1]["compliance"] == 91.2 and rows[-1]["previous_compliance"] == 85.0
    assert rows[0]["change"] is None  # sato had no leads the week before
    assert report.lines[3] == "チーム合計:91%(57中52がSLA内)"
    assert report.lines[-3:] == ["ランキング:", "1. 佐藤健太 100%(10中10)", "2. 山田花子 89%(47中42)"]
    assert "傾向:↑ 改善中(先週比+6%)" in report.lines


def test_team_and_single_cards_agree(filled: Store) -> None:
    team = {r["rep"]: r for r in build_team(request(filled, team="inside-sales")).table("reps").rows}
    single = build(request(filled, rep="sdr-yamada")).table("summary").rows[0]
    assert {k: v for k, v in team["sdr-yamada"].items() if k not in ("rank",)} == single


def test_the_team_report_carries_every_members_own_card(filled: Store) -> None:
    team = build_team(request(filled, team="inside-sales"))
    for rep in ("sdr-yamada", "sdr-sato"):
        alone = build(request(filled, rep=rep))
        assert team.data["cards"][rep] == alone.lines
    assert team.data["cards"]["sdr-yamada"] == SEED_LINES_JA
    by_rep = [(row["rep"], row["lead"]) for row in team.table("violations").rows]
    assert by_rep == [("sdr-yamada", v["lead"]) for v in build(request(filled, rep="sdr-yamada")).table("violations").rows]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"rep": "nobody"}, "rep"), ({}, "rep"), ({"rep": "sdr-yamada", "week": "2026-W60"}, "week"),
    ({"rep": "sdr-yamada", "week": "July"}, "week"),
])
def test_bad_input_names_the_field(filled: Store, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ReportError) as error:
        run("scorecard", request(filled, **kwargs))
    assert error.value.field == field


def test_unknown_team_names_the_field(filled: Store) -> None:
    with pytest.raises(ReportError) as error:
        run("team-scorecard", request(filled, team="nowhere"))
    assert error.value.field == "team"
    with pytest.raises(ReportError) as error:
        build_team(request(filled))
    assert error.value.field == "team"


def test_a_week_without_leads_says_so(filled: Store) -> None:
    report = build(request(filled, rep="sdr-yamada", week="2026-W20"))
    (row,) = report.table("summary").rows
    assert row["assigned"] == 0 and row["compliance"] is None
    assert report.notes and "2026-W20" in report.notes[0]
    assert "SLAコンプライアンス:—(0中0がSLA内)" in report.lines
    for fmt in FORMATS:
        assert render(report, fmt)


def test_every_format(filled: Store) -> None:
    report = build(request(filled, rep="sdr-yamada"))
    assert json.loads(render(report, "json"))["tables"][0]["rows"][0]["assigned"] == 47
    assert "sdr-yamada,山田花子,47,42,89.4" in render(report, "csv")
    assert "SLAコンプライアンス:89%(47中42がSLA内)" in render(report, "md")
    assert "リード#12345" in render(report, "html")
    assert "割り当てリード:47" in render(report, "table")


def test_cli_scorecard_md_and_unknown_rep(db_url: str) -> None:
    with Store(db_url) as opened:
        opened.upgrade()
        fill(opened, scorecard_history(), policy())
    runner = CliRunner()
    as_of = NOW.isoformat()
    result = runner.invoke(app, ["report", "scorecard", "--db", db_url, "--rep", "sdr-yamada", "--week", "2026-W28",
                                 "--format", "md", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    for line in SEED_LINES_JA:
        if line:
            assert line in result.output
    result = runner.invoke(app, ["report", "scorecard", "--db", db_url, "--rep", "nobody", "--week", "2026-W28",
                                 "--as-of", as_of])
    assert result.exit_code == 2 and "--rep" in result.output
    result = runner.invoke(app, ["report", "team-scorecard", "--db", db_url, "--team", "inside-sales",
                                 "--week", "2026-W28", "--format", "csv", "--lang", "en", "--as-of", as_of])
    assert result.exit_code == 0 and "sdr-sato" in result.output


# --------------------------------------------------------------------------- pure parts


@given(st.integers(0, 500), st.integers(0, 500), st.integers(1, 500), st.integers(0, 500))
def test_trend_arrow_follows_the_rounded_change(within: int, extra: int, before_n: int, before_within: int) -> None:
    assigned = within + extra
    card = Card("r", assigned=assigned, within=within, previous=round(100 * min(before_within, before_n) / before_n, 1))
    line = trend_line(card, "en")
    if assigned == 0:
        assert "—" in line
        return
    change = round(card.change or 0.0)
    assert ("↑" in line) == (change > 0) and ("↓" in line) == (change < 0) and ("→" in line) == (change == 0)
    if change:
        assert f"{change:+d}%" in line


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=12))
def test_ranking_is_by_compliance_and_ties_share_a_rank(figures: list[tuple[int, int]]) -> None:
    cards = [(f"r{i}", f"r{i}", Card(f"r{i}", assigned=a + w, within=w)) for i, (w, a) in enumerate(figures)]
    order = ranked(cards)
    values = [card.compliance for _, _, _, card in order]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True)
    assert all(v is None for v in values[len(known):])
    for (rank_a, _, _, a), (rank_b, _, _, b) in itertools.pairwise(order):
        assert rank_b >= rank_a
        if a.compliance is not None and a.compliance == b.compliance:
            assert rank_a == rank_b


def test_targets_read_like_the_seed() -> None:
    assert [target_text(t, "ja") for t in ("5m", "15m", "1bd", "2bd", "3bd", "4h")] == [
        "5分", "15分", "24時間", "48時間", "72時間", "4時間"]
    assert [target_text(t, "en") for t in ("5m", "2bd")] == ["5 min", "48 h"]


def test_an_ae_teams_card_counts_the_leads_handed_to_it(db_url: str) -> None:
    """AEs get leads at the handoff (their acceptance clock), not at assignment: the `sales` team's
    card counts exactly the leads whose acceptance clock a member owned, started in the week."""
    from leadclock.policy import load_preset
    from leadclock.service.ingest import ingest_events
    from leadclock.sim.demo import demo_roster, generate

    preset = load_preset("b2b-saas")
    ingest_events(list(generate(seed=7, days=14)), db_url, preset, roster=demo_roster())
    now = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)  # the Monday after W42
    with Store(db_url) as store:
        team = {r.id for r in store.reps() if r.team == "sales"}
        report = build_team(ReportRequest(store=store, policy=preset, now=now, lang="en", team="sales",
                                          options={"week": "2026-W42"}))
        start = datetime(2026, 10, 12, tzinfo=TOKYO).astimezone(UTC)
        end = start + timedelta(days=7)
        expected = {(c.owner, c.lead) for c in store.clocks()
                    if c.stage in ("first_contact", "cadence", "acceptance") and c.owner in team
                    and start <= c.started_at < end}
    rows = {row["rep"]: row for row in report.table("reps").rows}
    assert expected, "the demo hands leads to AEs every week"
    assert sum(row["assigned"] for rep, row in rows.items() if rep in team) == len(expected)
