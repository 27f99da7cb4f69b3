"""`leadclock replay` / `backtest`: outputs, determinism and bad lines."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.engine.events import json_schema

runner = CliRunner()

GOOD = [
    {"id": "1", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L-1", "source": "demo_request"},
    {"id": "2", "type": "lead.assigned", "at": "2026-07-08T10:00:20+09:00", "lead": "L-1", "rep": "yamada"},
    {"id": "3", "type": "activity", "at": "2026-07-08T10:18:20+09:00", "lead": "L-1", "rep": "yamada", "channel": "call", "outcome": "connected"},
    {"id": "4", "type": "lead.created", "at": "2026-07-08T11:00:00+09:00", "lead": "L-2", "source": "webinar"},
    {"id": "5", "type": "lead.assigned", "at": "2026-07-08T11:01:00+09:00", "lead": "L-2", "rep": "sato"},
    {"id": "6", "type": "activity", "at": "2026-07-08T11:20:00+09:00", "lead": "L-2", "rep": "sato", "channel": "email", "outcome": "sent"},
]


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_replay_writes_outputs_and_is_deterministic(tmp_path):
    events = write(tmp_path / "h.jsonl", GOOD)
    outputs = []
    # Twice with the fast engine, once with the reference one: all three byte-identical.
    for name, engine in (("a", "fast"), ("b", "fast"), ("c", "reference")):
        result = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(events), "--out", str(tmp_path / name), "--engine", engine])
        assert result.exit_code == 0, result.output
        outputs.append({f: (tmp_path / name / f).read_bytes() for f in ("clocks.csv", "leads.csv", "summary.json")})
    assert outputs[0] == outputs[1] == outputs[2]
    summary = json.loads(outputs[0]["summary.json"])
    assert summary["leads"] == 2
    assert summary["within_sla"] == 1  # L-1's first contact took 18 minutes against 5
    assert summary["by_stage"]["first_contact"] == {"met": 1, "breached": 1, "open": 0, "cancelled": 0, "compliance": 50.0}
    assert summary["by_rep"]["yamada"]["compliance"] == 0.0
    assert summary["by_rep"]["sato"]["compliance"] == 100.0
    leads = outputs[0]["leads.csv"].decode().splitlines()
    assert leads[1:] == ["L-1,demo_request,hot,yamada,working,0", "L-2,webinar,warm,sato,working,1"]
    header = outputs[0]["clocks.csv"].decode().splitlines()[0]
    assert header.startswith("lead,stage,seq,rep,started_at,due_at,max_at,stopped_at,outcome")


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_bad_lines_are_reported_and_skipped(tmp_path, engine):
    rows = [
        GOOD[0],
        "{not json",
        {"id": "x1", "type": "lead.teleported", "at": "2026-07-08T10:00:00+09:00", "lead": "L-1"},
        {"id": "x2", "type": "lead.assigned", "at": "2026-07-08T10:00:00+09:00", "lead": "L-1"},
        {"id": "x3", "type": "activity", "at": "yesterday", "lead": "L-1", "rep": "a", "channel": "call", "outcome": "connected"},
        {"id": "x4", "type": "lead.assigned", "at": "2026-07-08T10:00:00+09:00", "lead": "L-404", "rep": "a"},
        *GOOD[1:],
    ]
    events = write(tmp_path / "h.jsonl", rows)
    result = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(events), "--out", str(tmp_path / "out"), "--engine", engine])
    assert result.exit_code == 1
    err = result.stderr
    assert "line 2: (json): not valid JSON" in err
    assert "line 3 (event x1): type: unknown event type 'lead.teleported'" in err
    assert "line 4 (event x2): rep: is required for lead.assigned" in err
    assert "line 5 (event x3): at: 'yesterday' is not an ISO 8601 timestamp" in err
    assert "line 6 (event x4): lead: unknown lead 'L-404'" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["leads"] == 2 and summary["events"]["rejected"] == 5


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_strict_stops_without_writing(tmp_path, engine):
    events = write(tmp_path / "h.jsonl", [GOOD[0], "{oops", *GOOD[1:]])
    out = tmp_path / "out"
    result = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(events), "--out", str(out), "--strict", "--engine", engine])
    assert result.exit_code == 2
    assert "line 2" in result.stderr
    assert not out.exists()


def test_as_of_and_backtest(tmp_path):
    events = write(tmp_path / "h.jsonl", GOOD)
    result = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(events), "--out", str(tmp_path / "o"),
                                 "--as-of", "2026-07-08T10:03:00+09:00"])
    assert result.exit_code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["leads"] == 1 and summary["by_stage"]["first_contact"]["open"] == 1
    loose = tmp_path / "loose.yaml"
    loose.write_text("extends: b2b-saas\nsources:\n  demo_request:\n    sla:\n      first_contact: {target: 30m}\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--events", str(events), "--policy", "preset:b2b-saas", "--policy", str(loose)])
    assert result.exit_code == 0, result.output
    overall = next(line for line in result.stdout.splitlines() if "within SLA" in line)
    assert "50.0%" in overall and "100.0%" in overall
    bad = runner.invoke(app, ["replay", "--preset", "b2b-saas", "--events", str(events), "--as-of", "soon"])
    assert bad.exit_code == 2 and "--as-of" in bad.stderr


def test_shipped_schema_matches_the_contract():
    shipped = json.loads(resources.files("leadclock.engine").joinpath("events.schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema()
