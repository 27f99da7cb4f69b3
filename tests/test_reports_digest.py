"""F18 digests on demand: the scheduled digests' own contents (same figures, same text) as a
Report, counted by hand on a small history (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from report_support import History, fill, local, policy

from leadclock.notify.directory import Directory, people_of
from leadclock.reports.output import FORMATS, ReportError, render
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import run
from leadclock.reports.scheduled import ReportData, ReportRun, build_messages
from leadclock.store import Store

NOW = local(8, 18).astimezone(UTC)  # Wednesday 8 July 2026, 18:00 in Tokyo: the daily digest's time


def history() -> list[dict[str, Any]]:
    h = History()
    h.lead("a1", "demo_request", local(6, 10), 3, "qualified")  # Monday, in time
    h.lead("b1", "demo_request", local(8, 10), 20, None)  # today, called 20 min in (5 min target)
    h.lead("c1", "webinar", local(8, 14), None, None, rep="ae-tanaka")  # today, never called (due 14:15)
    h.lead("d1", "demo_request", local(8, 17, 58), None, None)  # due 09:03 tomorrow: at risk
    h.lead("g1", "demo_request", local(6, 11), 4, None, rep="ae-tanaka")  # decision due today 11:04
    h.lead("w1", "demo_request", local(1, 10), 2, "qualified")  # last week (W27), in time
    h.lead("w2", "demo_request", local(2, 10), 9, "qualified")  # last week, 9 min (late)
    return h.events


@pytest.fixture
def filled(store: Store) -> Store:
    fill(store, history(), policy(), now=NOW)
    return store


def request(store: Store, kind: str | None, lang: str = "ja", **kwargs: Any) -> ReportRequest:
    return ReportRequest(store=store, policy=policy(), now=NOW, lang=lang,
                         options={"kind": kind, "week": kwargs.pop("week", None)}, **kwargs)


def test_daily_digest_by_hand(filled: Store) -> None:
    report = run("digest", request(filled, "daily"))
    payload = report.data["payload"]
    # Since Tuesday 18:00: b1, c1, d1 assigned; b1 contacted (20 min); b1, g1, c1 late; d1 at risk.
    assert (payload["assigned"], payload["first_contacts"], payload["median_first_contact_seconds"]) == (3, 1, 1200.0)
    assert (payload["met"], payload["breached"], payload["compliance"]) == (0, 3, 0.0)
    rows = [(r["section"], r["lead"]) for r in payload["rows"]]
    assert rows == [("breached", "b1"), ("breached", "g1"), ("breached", "c1"), ("at_risk", "d1")]
    assert report.title.startswith("【SLA日次ダイジェスト】")
    assert any("d1" in line for line in report.lines)
    assert [t.key for t in report.tables] == ["summary", "rows"]


def test_a_rep_digest_is_their_own(filled: Store) -> None:
    payload = run("digest", request(filled, "daily", rep="sdr-yamada")).data["payload"]
    assert (payload["assigned"], payload["breached"]) == (2, 1)
    assert {r["lead"] for r in payload["rows"]} == {"b1", "d1"}


def test_same_contents_as_the_scheduled_message(filled: Store) -> None:
    """One definition: the on-demand digest says what the worker's message for this run says."""
    report = run("digest", request(filled, "daily", rep="sdr-yamada"))
    start, end = report.params["from"], report.params["to"]
    scheduled = ReportRun("end_of_day_digest", "end_of_day_digest", "2026-07-08", NOW, start, end)
    data = ReportData(filled.leads(), filled.clocks(), filled.breaches())
    messages = build_messages(scheduled, data, policy(), Directory(people_of(filled.reps()), policy()))
    mine = [m for m in messages if m.recipient == "sdr-yamada"]
    assert len(mine) == 1
    assert {k: mine[0].payload[k] for k in report.data["payload"]} == report.data["payload"]
    assert mine[0].body_text.strip().splitlines() == report.lines


def test_manager_digest_for_a_team(filled: Store) -> None:
    payload = run("digest", request(filled, "manager", team="sales")).data["payload"]
    assert {r["rep"] for r in payload["rows"]} == {"ae-tanaka"}
    assert (payload["team"]["met"], payload["team"]["breached"]) == (0, 2)


def test_weekly_summary_compares_with_the_week_before(filled: Store) -> None:
    report = run("digest", request(filled, "weekly", week="2026-W28"))
    total = report.data["payload"]["total"]
    # W28 so far: a1 met twice (contact, decision), g1 contact met; b1, c1, g1 late.
    assert (total["met"], total["breached"]) == (3, 3)
    # W27: w1 contact + decision met, w2 contact late, decision met -> 3 of 4.
    assert total["previous_compliance"] == 75.0 and total["change"] == -25.0


def test_alerts_are_silent_or_say_what_is_wrong(filled: Store) -> None:
    report = run("digest", request(filled, "alerts"))
    assert report.data["payload"]["team"]["compliance"] == 0.0
    quiet = run("digest", request(filled, "alerts", week=None, start=local(7, 0).astimezone(UTC),
                                  end=local(7, 23).astimezone(UTC)))
    assert quiet.notes and not quiet.tables


@pytest.mark.parametrize("kind", [None, "hourly"])
def test_unknown_kind_names_the_field(filled: Store, kind: str | None) -> None:
    with pytest.raises(ReportError) as error:
        run("digest", request(filled, kind))
    assert error.value.field == "kind"


def test_every_format_in_english(filled: Store) -> None:
    report = run("digest", request(filled, "daily", "en"))
    for fmt in FORMATS:
        text = render(report, fmt)
        assert "b1" in text
