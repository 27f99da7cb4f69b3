"""`leadclock demo`'s live half: the planner on fake time, and the loop end to end on SQLite."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text

from leadclock.engine.events import parse_event
from leadclock.service.ingest import ingest_events
from leadclock.service.live import Live
from leadclock.service.runtime import run_background
from leadclock.sim.demo import demo_roster
from leadclock.sim.live_demo import DemoFeeder, LivePlanner, demo_policy, history_until
from leadclock.store import Store

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ROSTER = demo_roster()


@pytest.fixture(scope="module")
def policy():
    return demo_policy("b2b-saas", ROSTER)


def at(event: dict) -> datetime:
    return datetime.fromisoformat(event["at"])


def drive(planner: LivePlanner, until: datetime, step: timedelta = timedelta(seconds=5),
          owner_of=lambda lead: "sdr-sato") -> list[dict]:
    """Step fake time to `until`, giving every new lead an owner the moment it is created."""
    out: list[dict] = []
    now = START
    while now < until:
        now += step
        events = planner.due(now)
        out += events
        for event in events:
            if event["type"] == "lead.created":
                planner.observe_owner(event["lead"], owner_of(event["lead"]), now)
    return out


def test_the_demo_policy_routes_and_ticks_around_the_clock(policy):
    assert policy.calendars["business"].always
    assert [r.name for r in policy.routing.rules] == ["hot leads", "everyone else"]
    assert policy.routing.pools["top_performers"] == ["sdr-sato", "sdr-yamada"]
    assert policy.routing.fallback.rep == "mgr-matsumoto"
    assert policy.sources["demo_request"].sla.first_contact.warn.at_fraction == 0.5
    office = demo_policy("b2b-saas", ROSTER, around_the_clock=False)
    assert not office.calendars["business"].always and office.calendars["business"].weekly


def test_history_ends_now(policy):
    now = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # 12:30 in Tokyo
    events = history_until(now, days=3, seed=7, policy=policy, roster=ROSTER)
    times = [at(e) for e in events]
    assert max(times) <= now and max(times) > now - timedelta(hours=2)  # today has data
    assert min(times) >= datetime(2026, 11, 18, tzinfo=UTC) - timedelta(hours=9)
    for event in events:
        parse_event(event)


def test_arrivals_every_20_to_90_seconds_with_the_demo_mix(policy):
    planner = LivePlanner(policy, ROSTER, seed=3, start=START, first_number=500)
    events = drive(planner, START + timedelta(hours=3))
    created = [e for e in events if e["type"] == "lead.created"]
    assert created[0]["lead"] == "L-500" and at(created[0]) - START <= timedelta(seconds=10)
    gaps = [(at(b) - at(a)).total_seconds() for a, b in pairwise(created)]
    assert all(19 <= g <= 91 for g in gaps)  # whole seconds
    assert 10_800 / 90 <= len(created) <= 10_800 / 20
    sources = {e["source"] for e in created}
    assert sources == set(policy.sources)  # every source of the preset shows up in 3 hours
    for event in events:
        parse_event(event)
    assert all(a <= b for a, b in pairwise(at(e) for e in events))


def test_the_same_seed_plans_the_same_events(policy):
    runs = [drive(LivePlanner(policy, ROSTER, seed=5, start=START), START + timedelta(hours=1)) for _ in range(2)]
    assert runs[0] == runs[1]
    other = drive(LivePlanner(policy, ROSTER, seed=6, start=START), START + timedelta(hours=1))
    assert other != runs[0]


def test_owners_work_their_leads_and_some_leads_are_left_alone(policy):
    planner = LivePlanner(policy, ROSTER, seed=11, start=START)
    events = drive(planner, START + timedelta(hours=4))
    leads = {e["lead"] for e in events if e["type"] == "lead.created"}
    worked = {e["lead"] for e in events if e["type"] == "activity"}
    aes = {r.id for r in ROSTER if r.role == "ae"}
    assert {e["rep"] for e in events if e["type"] == "activity"} - aes == {"sdr-sato"}
    untouched = leads - worked
    assert 0.05 * len(leads) < len(untouched) < 0.4 * len(leads)  # breaches in the making
    kinds = {e["type"] for e in events}
    assert {"lead.status", "handoff.requested", "handoff.accepted"} <= kinds
    # Nothing is planned before its lead exists, and every lead's first event is its creation.
    first: dict[str, str] = {}
    for event in events:
        first.setdefault(event["lead"], event["type"])
    assert set(first.values()) == {"lead.created"}


def test_a_new_owner_voids_the_old_owners_plan(policy):
    planner = LivePlanner(policy, ROSTER, seed=2, start=START, neglect=0.0)
    created = planner.due(START + timedelta(seconds=15))
    lead = created[0]["lead"]
    planner.observe_owner(lead, "sdr-takahashi", START + timedelta(seconds=15))
    planner.observe_owner(lead, "sdr-yamada", START + timedelta(seconds=16))  # reassigned at once
    later = [e for e in planner.due(START + timedelta(hours=3)) if e["lead"] == lead]
    reps = {e.get("rep") for e in later if e["type"] in ("activity", "lead.status")} - {None}
    assert reps and reps <= {"sdr-yamada"} | {r.id for r in ROSTER if r.role == "ae"}


def test_the_loop_routes_breaches_escalates_and_fills_the_inbox(tmp_path, policy):
    """History, then the feeder, worker and sender on a clock 120x real time: within seconds a
    live lead is created and routed, a warning fires, a clock breaches and an inbox row appears."""
    now = datetime.now(UTC).replace(microsecond=0)
    db = tmp_path / "demo.db"
    history = history_until(now, days=2, seed=7, policy=policy, roster=ROSTER)
    ingest_events(history, str(db), policy, roster=ROSTER)
    store = Store(f"sqlite:///{db}")
    begun = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=(time.monotonic() - begun) * 120)

    first = 90_000
    # Leads every 10-30 fake seconds, half of them left alone: breaches within fake minutes.
    planner = LivePlanner(policy, ROSTER, seed=1, start=now, first_number=first, gap=(10, 30), neglect=0.5)
    wake, outbox_wake = threading.Event(), threading.Event()
    live = Live(store, wake=wake)
    live.outbox_wake = outbox_wake
    stop, threads = run_background(store, wake=wake, outbox_wake=outbox_wake, live=live, clock=clock, max_sleep=0.05)
    feeder = DemoFeeder(live, planner, clock, max_sleep=0.05)
    feeding = threading.Thread(target=feeder.run, args=(stop,), daemon=True)
    feeding.start()
    try:
        found: dict[str, object] = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with store._read() as connection:
                found["routed"] = connection.execute(text(
                    "SELECT l.id, l.owner FROM leads l JOIN audit a ON a.lead = l.id "
                    "WHERE l.id >= :first AND a.action = 'lead.assign' AND l.owner IS NOT NULL LIMIT 1"),
                    {"first": f"L-{first}"}).first()
                found["warning"] = connection.execute(text(
                    "SELECT lead FROM effects WHERE kind = 'clock_warning' AND lead >= :first LIMIT 1"),
                    {"first": f"L-{first}"}).first()
                found["breach"] = connection.execute(text(
                    "SELECT lead, stage FROM effects WHERE kind = 'clock_breached' AND lead >= :first LIMIT 1"),
                    {"first": f"L-{first}"}).first()
                found["inbox"] = connection.execute(text(  # about a live lead (L-9xxxx)
                    "SELECT recipient, subject FROM inbox WHERE dedupe_key LIKE :live LIMIT 1"), {"live": "%:L-9%"}).first()
            if all(found.values()):
                break
    finally:
        stop.set()
        for thread in [*threads, feeding]:
            thread.join(timeout=10)
        store.close()
    assert found["routed"] is not None, "no live lead was routed"
    assert found["routed"][1] in {r.id for r in ROSTER}
    assert found["warning"] is not None, "no warning before a live deadline"
    assert found["breach"] is not None, "no live clock breached"
    assert found["inbox"] is not None, "nothing reached the in-app inbox"
    assert feeder.posted > 5


def test_the_cli_builds_to_now_prints_a_working_login_and_serves(tmp_path, monkeypatch):
    """`leadclock demo` without --no-serve: the history, a sign-in that works, then `serve` with
    the live feed as a companion (replaced here by a stand-in that records its arguments)."""
    import re

    from typer.testing import CliRunner

    from leadclock.cli.main import app
    from leadclock.web.accounts import verify_login

    served: dict[str, object] = {}

    def fake_serve(url: str, host: str, port: int, *, companions=()) -> None:
        served.update(url=url, host=host, port=port, companions=list(companions))

    monkeypatch.setattr("leadclock.service.runtime.serve", fake_serve)
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--days", "2", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served["url"] == f"sqlite:///{db}" and served["port"] == 8123 and len(served["companions"]) == 1
    assert "http://127.0.0.1:8123/ui/" in result.stdout and "Ctrl-C" in result.stdout
    password = re.search(r"sign in as matsumoto / (\S+)", result.stdout).group(1)
    store = Store(f"sqlite:///{db}")
    try:
        user = verify_login(store, "matsumoto", password)
        assert user is not None and (user.role, user.team) == ("manager", "inside-sales")
        assert store.leads()  # the history is stored
    finally:
        store.close()
    from fastapi.testclient import TestClient

    from leadclock.api.app import create_app

    token = re.search(r"API token \(the same manager\): (\S+)", result.stdout).group(1)
    with TestClient(create_app(f"sqlite:///{db}")) as client:
        answer = client.get("/inbox", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["recipient"] == "mgr-matsumoto"


def test_a_failed_round_is_sent_again(policy, monkeypatch):
    """The store refusing a round (locked, restarting) loses no event: the next round sends it."""
    from types import SimpleNamespace

    sent: list[str] = []
    calls = []

    def ingest(events, now, actor):  # type: ignore[no-untyped-def]
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        sent.extend(e.id for e in events)
        return SimpleNamespace(errors=[], stored=events, settled=SimpleNamespace(decisions=[]))

    monkeypatch.setattr("leadclock.sim.live_demo._owners", lambda store, leads: {})
    live = SimpleNamespace(ingest=ingest, store=None)
    feeder = DemoFeeder(live, LivePlanner(policy, ROSTER, seed=4, start=START), clock=lambda: START)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        feeder.step(START + timedelta(minutes=2))
    feeder.step(START + timedelta(minutes=4))
    expected = drive(LivePlanner(policy, ROSTER, seed=4, start=START), START + timedelta(minutes=4),
                     step=timedelta(minutes=2), owner_of=lambda lead: None)
    assert sent == [e["id"] for e in expected] and len(sent) >= 2


def test_a_preset_without_sources_is_a_clear_error():
    with pytest.raises(ValueError, match="defines no lead sources"):
        LivePlanner(demo_policy("base", ROSTER), ROSTER, seed=1, start=START)


@pytest.mark.parametrize("preset", ["lead-types", "enterprise", "smb"])
def test_every_preset_with_sources_runs_live(preset):
    """`leadclock demo --preset NAME`: the demo policy loads and the planner's events pass the
    contract under every shipped preset that has lead sources."""
    chosen = demo_policy(preset, ROSTER)
    assert chosen.routing.rules and chosen.calendars["business"].always
    events = drive(LivePlanner(chosen, ROSTER, seed=1, start=START), START + timedelta(hours=2))
    assert {e["source"] for e in events if e["type"] == "lead.created"} <= set(chosen.sources)
    assert any(e["type"] == "activity" for e in events)
    for event in events:
        parse_event(event)
