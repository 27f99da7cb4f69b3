"""F24 root causes: automatic suggestions from the data, manager reviews, the monthly breakdown,
the API's suggested category; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from analysis_support import POLICY, event, ingest, jst, lead, request, rows
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from typer.testing import CliRunner

from leadclock.api import ApiSettings, create_app, create_token
from leadclock.cli.main import app
from leadclock.notify import outbox
from leadclock.notify.outbox import OutboxMessage
from leadclock.policy.routing_models import Rep
from leadclock.reports.output import FORMATS, ReportError
from leadclock.reports.root_causes import (
    CATEGORIES,
    BreachFacts,
    build,
    off_shift,
    shares,
    suggest,
    suggest_for,
)
from leadclock.store import Store
from leadclock.store.outbox_models import Outbox

NOW = "2026-08-10 12:00"


def history() -> list[dict]:
    """July 2026, one breach per rule (the first-contact target is 10 minutes, 24/7):

    R1 assigned 20 min late (assignment breach, no owner); R2 bob 'away' when it starts;
    R3 arrives Tue 17:55, due 18:05 after ann's 18:00 close; R4 a cold 'event' lead; R5 a
    breach whose notification went dead; R6 ann was warned (sent) and still late; R7 nothing
    to go on; R8 reviewed by a manager. R9 breaches in August, R0 in June."""
    return [
        event("rep.availability", "2026-07-06 10:00", rep="bob", status="away"),
        event("rep.availability", "2026-07-06 12:00", rep="bob", status="online"),
        *lead("R0", "2026-06-30 10:00", rep="ann", contact_after=30),
        *lead("R1", "2026-07-09 10:00", rep="ann", contact_after=1, assign_after=20),
        *lead("R2", "2026-07-06 10:30", rep="bob", contact_after=30),
        *lead("R3", "2026-07-07 17:55", rep="ann", contact_after=30),
        *lead("R4", "2026-07-08 11:00", rep="cid", contact_after=20, source="event", tier="cold"),
        *lead("R5", "2026-07-10 11:00", rep="ann", contact_after=20),
        *lead("R6", "2026-07-10 14:00", rep="ann", contact_after=25),
        *lead("R7", "2026-07-13 10:00", rep="bob", contact_after=15),
        *lead("R8", "2026-07-14 10:00", rep="cid", contact_after=15),
        *lead("R9", "2026-08-03 10:00", rep="bob", contact_after=15),
    ]


def notification(store: Store, lead_id: str, kind: str, status: str, at: str) -> None:
    key = f"{kind}:{lead_id}:first_contact:::x|U-1|slack"
    outbox.enqueue(store, [OutboxMessage(
        dedupe_key=key, channel="slack", channel_type="slack", recipient="U-1", locale="ja", subject="s",
        body_text="b", body_html="b",
        payload={"type": "effect", "effect": {"kind": kind, "lead": lead_id, "stage": "first_contact"}},
    )], now=jst(at))
    table = Outbox.__table__
    with store._write() as connection:
        connection.execute(update(table).where(table.c.dedupe_key == key).values(
            status=status, next_attempt_at=None, sent_at=jst(at) if status == "sent" else None))


@pytest.fixture
def filled(store: Store) -> Store:
    ingest(store, history(), NOW)
    notification(store, "R5", "clock_breached", "dead", "2026-07-10 11:31")
    notification(store, "R6", "clock_warning", "sent", "2026-07-10 14:06")
    assert store.review_breach("R8", "first_contact", 0, reviewed_by="mgr", category="chose_not_to_comply",
                               note="ignored the lead")
    return store


def test_each_breach_gets_the_rule_the_data_supports(filled: Store) -> None:
    report = build(request(filled, NOW, options={"month": "2026-07"}))
    found = {(r["lead"], r["stage"]): (r["category_key"], r["basis"]) for r in rows(report, "breaches")}
    assert found == {
        ("R1", "assignment"): ("system_failure", "suggested (not yet confirmed)"),
        ("R2", "first_contact"): ("rep_unavailable", "suggested (not yet confirmed)"),
        ("R3", "first_contact"): ("rep_unavailable", "suggested (not yet confirmed)"),
        ("R4", "first_contact"): ("deprioritised_low_quality", "suggested (not yet confirmed)"),
        ("R5", "first_contact"): ("system_failure", "suggested (not yet confirmed)"),
        ("R6", "first_contact"): ("missed_notification", "suggested (not yet confirmed)"),
        ("R7", "first_contact"): ("unclassified", "—"),
        ("R8", "first_contact"): ("chose_not_to_comply", "confirmed by a manager"),
    }
    reasons = {r["lead"]: r["reason"] for r in rows(report, "breaches")}
    assert reasons["R2"] == "bob was away at the clock's start"
    assert "off shift at the deadline (2026-07-07 18:05" in reasons["R3"]
    assert "slack U-1 (dead)" in reasons["R5"] and reasons["R8"] == "ignored the lead"


def test_monthly_breakdown_shares_and_top_three(filled: Store) -> None:
    report = build(request(filled, NOW, options={"month": "2026-07"}))
    table = {r["key"]: (r["confirmed"], r["suggested"], r["total"], r["share"]) for r in rows(report, "categories")}
    assert table == {
        "rep_unavailable": (0, 2, 2, 25.0), "system_failure": (0, 2, 2, 25.0),
        "missed_notification": (0, 1, 1, 12.5), "deprioritised_low_quality": (0, 1, 1, 12.5),
        "chose_not_to_comply": (1, 0, 1, 12.5), "unclassified": (0, 0, 1, 12.5),
    }
    assert report.data["top"] == ["rep_unavailable", "system_failure", "missed_notification"]
    assert report.notes[0] == "8 breaches: 1 confirmed, 6 suggested, 1 unclassified."
    assert report.notes[1].startswith("Top 1: Rep offline / unavailable: 2 breaches (25.0%)")
    ja = build(request(filled, NOW, lang="ja", options={"month": "2026-07"}))
    assert ja.notes[1].startswith("上位1: 担当者がオフライン/利用不可 — 2件（25.0%）")


def test_scope_and_an_empty_month(filled: Store) -> None:
    report = build(request(filled, NOW, rep="bob", options={"month": "2026-07"}))
    assert sorted(r["lead"] for r in rows(report, "breaches")) == ["R2", "R7"]
    empty = build(request(filled, NOW, options={"month": "2026-05"}))
    assert rows(empty, "breaches") == [] and empty.notes == ["No SLA breaches in 2026-05."]
    assert all(r["share"] is None for r in rows(empty, "categories"))
    with pytest.raises(ReportError) as error:
        build(request(filled, NOW, options={"month": "2026-13"}))
    assert error.value.field == "month"


def test_rule_order_and_edges() -> None:
    due = jst("2026-07-08 10:10")  # a Wednesday, inside the business hours
    base = BreachFacts(stage="first_contact", owner="ann", started_at=due - timedelta(minutes=10), due_at=due,
                       tier="warm")
    assert suggest(base, POLICY) is None
    everything = BreachFacts(stage="assignment", owner=None, started_at=base.started_at, due_at=due, tier="cold",
                             status_at_start="away", failed_notifications=("slack U (dead)",), warned_at=due)
    assert suggest(everything, POLICY).category == "system_failure"  # routing first
    failed = BreachFacts(**{**base.__dict__, "failed_notifications": ("email a (failed)",), "status_at_due": "offline"})
    assert suggest(failed, POLICY).category == "system_failure"  # a notification that never arrived
    away = BreachFacts(**{**base.__dict__, "status_at_due": "offline", "tier": "cold"})
    assert suggest(away, POLICY).category == "rep_unavailable"
    late_warning = BreachFacts(**{**base.__dict__, "warned_at": due + timedelta(seconds=1)})
    assert suggest(late_warning, POLICY) is None  # a warning after the deadline explains nothing
    assert suggest(BreachFacts(**{**base.__dict__, "warned_at": due}), POLICY).category == "missed_notification"


def test_off_shift_reads_the_reps_hours_and_time_off() -> None:
    routing = POLICY.routing.model_copy(update={"reps": {"ann": Rep(time_off=["2026-07-08"])}})
    policy = POLICY.model_copy(update={"routing": routing})
    assert off_shift(policy, "ann", jst("2026-07-08 10:00")) == "time off 2026-07-08"
    assert off_shift(policy, "ann", jst("2026-07-09 10:00")) is None
    assert off_shift(policy, "bob", jst("2026-07-11 10:00")) == "outside the business hours"  # Saturday


@given(st.dictionaries(st.sampled_from([*CATEGORIES, "unclassified"]), st.integers(0, 10_000), min_size=1))
def test_shares_sum_to_100(counts: dict[str, int]) -> None:
    found = shares(counts)
    if sum(counts.values()) == 0:
        assert all(v is None for v in found.values())
    else:
        assert sum(v for v in found.values() if v is not None) == pytest.approx(100.0)


def test_api_lists_breaches_with_the_suggestion(filled: Store, db_url: str) -> None:
    api = create_app(db_url, clock=lambda: jst(NOW), settings=ApiSettings(
        rate_limit_per_second=1000.0, rate_limit_burst=1000))
    token = create_token(api.state.leadclock.store, "admin", name="root")
    with TestClient(api) as client:
        headers = {"Authorization": f"Bearer {token}"}
        items = {(b["lead"], b["stage"]): b for b in client.get("/breaches?limit=100", headers=headers).json()["items"]}
        assert items[("R1", "assignment")]["suggested_category"] == "system_failure"
        assert items[("R2", "first_contact")]["suggested_reason"]["en"] == "bob was away at the clock's start"
        assert items[("R7", "first_contact")]["suggested_category"] is None
        assert items[("R8", "first_contact")]["category"] == "chose_not_to_comply"
        # The manager confirms the suggestion through the existing review endpoint.
        reviewed = client.post("/breaches/R3/first_contact/0/review", headers=headers,
                               json={"category": "rep_unavailable", "note": "shift ended"}).json()
        assert reviewed["category"] == "rep_unavailable" and reviewed["suggested_category"] == "rep_unavailable"
    assert suggest_for(filled, POLICY, [("R4", "first_contact", 0)])[("R4", "first_contact", 0)].category \
        == "deprioritised_low_quality"


def test_cli_every_format(filled: Store, db_url: str) -> None:
    runner = CliRunner()
    base = ["report", "root-causes", "--db", db_url, "--month", "2026-07", "--as-of", "2026-08-10T12:00:00+09:00"]
    for fmt in FORMATS:
        result = runner.invoke(app, [*base, "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "R6" in result.output
    data = json.loads(runner.invoke(app, [*base, "--format", "json", "--lang", "en"]).output)
    assert data["data"]["counts"]["system_failure"] == 2
    bad = runner.invoke(app, [*base[:-4], "--month", "July"])
    assert bad.exit_code == 2 and "--month" in bad.output
