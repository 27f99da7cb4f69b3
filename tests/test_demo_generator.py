"""The demo history generator: contract, order, determinism, and the realism the demo relies on."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from leadclock.engine.events import REACHED, parse_event
from leadclock.policy import load_preset
from leadclock.sim import LEAD_HORIZON_DAYS, UNKNOWN_REP, demo_roster, generate, write_jsonl

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(generate())


@pytest.fixture(scope="module")
def by_lead(events) -> dict[str, list[dict]]:
    leads: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        if "lead" in event:
            leads[event["lead"]].append(event)
    return leads


def at(event: dict) -> datetime:
    return datetime.fromisoformat(event["at"])


def test_every_event_passes_the_contract(events):
    assert len(events) > 5000
    for event in events:
        parse_event(event)
    kinds = Counter(e["type"] for e in events)
    for kind in ("lead.created", "lead.assigned", "activity", "lead.status", "engagement",
                 "handoff.requested", "handoff.accepted", "handoff.rejected",
                 "opportunity.created", "deal.closed", "rep.availability"):
        assert kinds[kind] > 0, kind


def test_times_are_in_order_with_the_tokyo_offset(events):
    times = [at(e) for e in events]
    assert all(a <= b for a, b in pairwise(times))
    assert all(e["at"].endswith("+09:00") for e in events)
    first, last = times[0].astimezone(TOKYO).date(), times[-1].astimezone(TOKYO).date()
    assert date(2026, 10, 1) <= first and last < date(2026, 10, 31)  # cut at the end of the period


def test_ids_are_unique_and_name_their_lead(events):
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    for e in events:
        if "lead" in e:
            assert e["id"].startswith(e["lead"] + "-")
            assert e["lead"].startswith("L-1")


def test_deterministic():
    a = list(generate(days=5))
    assert a == list(generate(days=5))
    assert a != list(generate(days=5, seed=8))


def test_a_later_cut_only_adds_events():
    short = list(generate(days=5))
    longer = list(generate(days=5, until=date(2026, 11, 10)))
    assert len(longer) > len(short)
    assert [e for e in longer if e["at"] < "2026-10-06"] == short


def test_roster_is_the_team_of_seed_000():
    roster = demo_roster()
    roles = Counter(r.role for r in roster)
    assert roles == {"sdr": 4, "ae": 6, "manager": 2}
    ids = {r.id for r in roster}
    assert len(ids) == len(roster)
    assert UNKNOWN_REP not in ids
    assert "山田花子" in {r.name for r in roster}
    for rep in roster:
        assert rep.manager is None or rep.manager in ids
        assert rep.id.startswith({"sdr": "sdr-", "ae": "ae-", "manager": "mgr-"}[rep.role])


def test_source_mix_follows_the_b2b_saas_shares(by_lead):
    created = [lead[0] for lead in by_lead.values()]
    assert all(e["type"] == "lead.created" for e in created)
    share = Counter(e["source"] for e in created)
    expected = {"demo_request": 0.15, "free_trial": 0.15, "pricing_inquiry": 0.10,
                "content_download": 0.35, "webinar": 0.25}
    assert set(share) == set(expected) == set(load_preset("b2b-saas").sources)
    for source, want in expected.items():
        assert share[source] / len(created) == pytest.approx(want, abs=0.05), source


def test_mostly_business_hours_with_some_after_hours(by_lead):
    created = [at(lead[0]).astimezone(TOKYO) for lead in by_lead.values()]
    after = [t for t in created if t.weekday() >= 5 or not 9 <= t.hour < 18 or t.date() == date(2026, 10, 12)]
    assert 0.12 < len(after) / len(created) < 0.30
    assert any(t.weekday() >= 5 for t in after) and any(t.weekday() < 5 for t in after)


def test_after_hours_leads_are_worked_the_next_morning(by_lead):
    for lead in by_lead.values():
        created = at(lead[0]).astimezone(TOKYO)
        if created.weekday() == 5:  # Saturday: assigned at Monday's opening (F9)
            monday = created.date() + timedelta(days=2)
            if monday == date(2026, 10, 12):  # スポーツの日: the calendar's JP holidays apply
                monday += timedelta(days=1)
            assigned = at(next(e for e in lead if e["type"] == "lead.assigned")).astimezone(TOKYO)
            assert assigned.date() == monday and assigned.hour == 9 and assigned.minute < 10
            calls = [e for e in lead if e["type"] == "activity" and e["outcome"] not in REACHED]
            if calls:
                assert at(calls[0]).astimezone(TOKYO).hour >= 9


def test_handoffs_missing_a_required_field_are_completed_later(by_lead):
    required = set(load_preset("b2b-saas").handoff.required_fields)
    incomplete = completed = 0
    for lead in by_lead.values():
        requests = [e for e in lead if e["type"] == "handoff.requested"]
        for i, request in enumerate(requests):
            assert request["from"] and request["to"].startswith("ae-")
            if not required <= set(request["fields"]):
                incomplete += 1
                completed += any(required <= set(r["fields"]) for r in requests[i + 1:])
    total = sum(e["type"] == "handoff.requested" for lead in by_lead.values() for e in lead)
    assert 0.03 < incomplete / total < 0.2
    assert completed >= incomplete * 0.7


def test_some_handoffs_are_rejected_with_a_policy_reason(events):
    reasons = set(load_preset("b2b-saas").handoff.rejection_reasons)
    rejected = [e for e in events if e["type"] == "handoff.rejected"]
    accepted = [e for e in events if e["type"] == "handoff.accepted"]
    assert rejected and {e["reason"] for e in rejected} <= reasons
    assert 0.03 < len(rejected) / (len(rejected) + len(accepted)) < 0.2


def test_unknown_rep_appears(events):
    roster = {r.id for r in demo_roster()}
    strangers = {e["rep"] for e in events if e["type"] == "lead.assigned"} - roster
    assert strangers == {UNKNOWN_REP}
    availability = [e for e in events if e["type"] == "rep.availability"]
    assert availability and {e["rep"] for e in availability} <= roster


def test_decisions_and_deals_look_like_a_funnel(events):
    status = Counter(e["status"] for e in events if e["type"] == "lead.status")
    assert status["qualified"] and status["disqualified"] and status["nurture"]
    for e in events:
        if e["type"] == "lead.status" and e["status"] == "disqualified":
            assert e["reason"]
        if e["type"] in ("opportunity.created", "deal.closed"):
            assert 400_000 <= e["amount"] <= 6_000_000 and e["rep"].startswith("ae-")


def test_fast_rep_beats_struggling_rep(by_lead):
    delays: dict[str, list[float]] = defaultdict(list)
    for lead in by_lead.values():
        assigned = [e for e in lead if e["type"] == "lead.assigned"]
        attempts = [e for e in lead if e["type"] == "activity" and e["outcome"] not in REACHED]
        if assigned and attempts and at(lead[0]).astimezone(TOKYO).weekday() < 5:
            delays[assigned[0]["rep"]].append((at(attempts[0]) - at(assigned[0])).total_seconds())

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    assert median(delays["sdr-sato"]) < median(delays["sdr-takahashi"])


def test_histories_stay_within_the_lead_horizon():
    horizon = timedelta(days=LEAD_HORIZON_DAYS)
    created: dict[str, datetime] = {}
    for e in generate(days=3, until=date(2026, 12, 31)):
        if e["type"] == "lead.created":
            created[e["lead"]] = at(e)
        elif "lead" in e:
            assert at(e) - created[e["lead"]] < horizon


@pytest.mark.parametrize("preset", ["smb", "enterprise", "lead-types"])
def test_other_presets_generate_valid_histories(preset):
    policy = load_preset(preset)
    events = list(generate(days=4, leads_per_day=30, policy_name=preset))
    assert {e["source"] for e in events if e["type"] == "lead.created"} == set(policy.sources)
    for e in events:
        parse_event(e)


def test_a_policy_without_sources_is_refused():
    with pytest.raises(ValueError, match="no lead sources"):
        generate(policy_name="base")


def test_other_time_zone_and_arguments():
    events = list(generate(days=3, leads_per_day=10, timezone="America/New_York", start=date(2026, 11, 1)))
    assert events and all(e["at"].endswith(("-05:00", "-04:00")) for e in events)
    assert list(generate(days=0)) == []
    with pytest.raises(ValueError):
        generate(days=-1)


def test_write_jsonl_round_trips(tmp_path):
    events = list(generate(days=2))
    path = tmp_path / "events.jsonl"
    assert write_jsonl(iter(events), path) == len(events)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == events
    assert lines[0] == json.dumps(events[0], ensure_ascii=False, separators=(",", ":"))
    assert "株式会社" in path.read_text(encoding="utf-8")
