"""Replay with leadclock routing: router + engine composed in time (F8, F9, F17)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from leadclock.engine import compile_rules, parse_event
from leadclock.engine.routed import run_routed
from leadclock.policy import load_policy_text

POLICY_TEXT = """\
extends: b2b-saas
routing:
  reps:
    sato: {name: 佐藤, team: east}
    yamada: {name: 山田, team: east}
    suzuki: {name: 鈴木, team: east}
  pools:
    sdrs: [sato, yamada, suzuki]
  rules:
    - {name: everyone, when: {}, strategy: round_robin, pool: sdrs}
  fallback: {queue: manual}
  after_hours: {queue: true, order: arrival}
  reassignment: {exclude_recent: 1, fallback: manager_queue}
"""
POLICY = load_policy_text(POLICY_TEXT)
RULES = compile_rules(POLICY)
_n = iter(range(10**6))


def ev(kind, at, lead, **fields):
    return parse_event({"id": f"x{next(_n)}", "type": kind, "at": at + "+09:00", "lead": lead, **fields})


def jst(text):
    return datetime.fromisoformat(text + "+09:00").astimezone(UTC)


def test_round_robin_in_hours_and_queue_at_the_opening():
    events = [
        ev("lead.created", "2026-07-08T10:00:00", "L1", source="webinar"),
        ev("lead.created", "2026-07-08T10:01:00", "L2", source="webinar"),
        ev("lead.created", "2026-07-08T20:00:00", "L3", source="webinar"),  # after hours
        ev("lead.created", "2026-07-08T21:00:00", "L4", source="content_download"),
        ev("lead.assigned", "2026-07-08T10:00:05", "L1", rep="someone-else"),  # ignored: we route
        ev("activity", "2026-07-09T09:20:00", "L3", rep="suzuki", channel="call", outcome="connected"),
    ]
    result, decisions = run_routed(events, RULES)
    owners = {lead: state.owner for lead, state in result.leads.items()}
    assigned = [(d.lead, d.rep, d.at) for d in decisions if d.rep]
    assert [a[0] for a in assigned] == ["L1", "L2", "L3", "L4"]
    assert len({owners["L1"], owners["L2"], owners["L3"]}) == 3  # the rotation, no repeats
    # After-hours leads wait for Thursday 09:00 and are assigned in arrival order.
    assert [a[2] for a in assigned[2:]] == [jst("2026-07-09T09:00:00")] * 2
    first = next(c for c in result.leads["L3"].clocks if c.stage == "first_contact")
    assert first.started_at == jst("2026-07-09T09:00:00")
    assert result.rep_status["ignored_assignments"] == "1"
    assert all(d.explain("en") for d in decisions)


def test_breach_that_says_reassign_goes_back_to_the_router():
    """F17: a hot lead with no activity 15 minutes after assignment goes to the next rep."""
    events = [ev("lead.created", "2026-07-08T10:00:00", "H1", source="demo_request")]
    result, decisions = run_routed(events, RULES, as_of=jst("2026-07-08T10:20:00"))
    lead = result.leads["H1"]
    assert len(lead.owners) == 2 and lead.owners[0] != lead.owners[1]
    reassignment = decisions[-1]
    assert reassignment.kind == "reassign" and reassignment.previous_owner == lead.owners[0]
    assert reassignment.at > jst("2026-07-08T10:15:00")
    clocks = [(c.owner, c.outcome) for c in lead.clocks if c.stage == "first_contact"]
    assert clocks[0] == (lead.owners[0], "breached") and clocks[1][0] == lead.owners[1]
    # Left alone, the chain goes on every 15 minutes, never back to the rep just excluded.
    later, _ = run_routed(events, RULES, as_of=jst("2026-07-08T10:50:00"))
    owners = later.leads["H1"].owners
    assert len(owners) == 4 and all(a != b for a, b in itertools.pairwise(owners))


def test_cli_replay_route(tmp_path):
    import json

    from typer.testing import CliRunner

    from leadclock.cli import app

    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY_TEXT, encoding="utf-8")
    rows = [
        {"id": "1", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L1", "source": "webinar"},
        {"id": "2", "type": "lead.created", "at": "2026-07-08T20:00:00+09:00", "lead": "L2", "source": "webinar"},
        {"id": "3", "type": "activity", "at": "2026-07-09T09:05:00+09:00", "lead": "L2", "rep": "sato", "channel": "call", "outcome": "connected"},
    ]
    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "--policy", str(policy), "--events", str(history), "--out", str(tmp_path / "o"), "--route"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["routing"]["assigned"] == 2 and summary["routing"]["queued_after_hours"] == 1
    assert "reassignment rate east: 0.0%" in result.stdout
    plain = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(history), "--route"])
    assert plain.exit_code == 2 and "routing rules" in plain.stderr


def test_ingest_route_keeps_each_decision_in_the_audit_trail(tmp_path):
    import json

    from typer.testing import CliRunner

    from leadclock.cli import app

    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY_TEXT, encoding="utf-8")
    rows = [
        {"id": "1", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L1", "source": "webinar"},
        {"id": "2", "type": "lead.created", "at": "2026-07-08T20:00:00+09:00", "lead": "L2", "source": "webinar"},
        {"id": "3", "type": "engagement", "at": "2026-07-09T09:30:00+09:00", "lead": "L1", "action": "webinar"},
    ]
    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    for _ in range(2):  # ingesting twice adds no second copy of a decision
        result = runner.invoke(app, ["ingest", str(history), "--db", db, "--policy", str(policy), "--route"])
        assert result.exit_code == 0, result.output
    explained = runner.invoke(app, ["explain", "L2", "--db", db])
    assert explained.exit_code == 0, explained.output
    routed = [line for line in explained.stdout.splitlines() if "router: lead." in line]
    assert len(routed) == 2  # queued after hours, then assigned at the opening
    assert "lead.queue" in routed[0] and "lead.assign" in routed[1]
