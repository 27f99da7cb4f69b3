"""`leadclock demo`, `ingest` and `explain` against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.store import Store

runner = CliRunner()

EVENTS = [
    {"id": "1", "type": "lead.created", "at": "2026-07-08T10:00:00+09:00", "lead": "L-1", "source": "demo_request"},
    {"id": "2", "type": "lead.assigned", "at": "2026-07-08T10:00:20+09:00", "lead": "L-1", "rep": "yamada"},
    {"id": "3", "type": "activity", "at": "2026-07-08T10:18:20+09:00", "lead": "L-1", "rep": "yamada", "channel": "call", "outcome": "connected"},
]


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ingest_is_idempotent_and_explain_says_why(tmp_path, db_url):
    first = _write(tmp_path / "a.jsonl", EVENTS[:2])
    result = runner.invoke(app, ["ingest", str(first), "--db", db_url, "--preset", "b2b-saas"])
    assert result.exit_code == 0, result.output
    assert "accepted 2  duplicate 0  rejected 0" in result.stdout
    # The same file again changes nothing; the rest arrives later, one line broken.
    again = runner.invoke(app, ["ingest", str(first), "--db", db_url])
    assert "accepted 0  duplicate 2  rejected 0" in again.stdout
    rest = _write(tmp_path / "b.jsonl", [EVENTS[2], "{broken", {**EVENTS[2], "id": "4", "lead": "L-404"}])
    late = runner.invoke(app, ["ingest", str(rest), "--db", db_url])
    assert late.exit_code == 1
    assert "accepted 1  duplicate 0  rejected 2" in late.stdout
    assert "line 2: (json)" in late.stderr and "unknown lead 'L-404'" in late.stderr
    store = Store(db_url)
    try:
        assert store.event_count() == 3
        record = store.lead("L-1")
        first_contact = next(c for c in record.clocks if c.stage == "first_contact")
        assert first_contact.outcome == "breached"
        assert any(e.action == "clock.changed" and "first_contact" in e.reason for e in store.audit("L-1"))
    finally:
        store.close()
    explained = runner.invoke(app, ["explain", "L-1", "--db", db_url])
    assert explained.exit_code == 0, explained.output
    out = explained.stdout
    assert "first_contact#0 [yamada] target 5m" in out and "BREACHED" in out
    assert "2026-07-08 Wed 10:05:20 JST" in out  # the deadline in local business time
    assert "because: call by yamada (connected)" in out
    assert "Score 0" in out and "lead → mql  by scoring: trigger action demo_request" in out
    missing = runner.invoke(app, ["explain", "L-999", "--db", db_url])
    assert missing.exit_code == 1 and "no lead 'L-999'" in missing.stderr


def test_ingest_without_any_policy_is_a_clear_error(tmp_path, db_url):
    events = _write(tmp_path / "a.jsonl", EVENTS[:1])
    result = runner.invoke(app, ["ingest", str(events), "--db", db_url])
    assert result.exit_code == 2
    assert "--policy" in result.stderr


def test_demo_is_reproducible(tmp_path):
    outputs = []
    for name in ("a.db", "b.db"):
        result = runner.invoke(app, ["demo", "--no-serve", "--db", str(tmp_path / name), "--days", "5"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1].replace("b.db", "a.db")
    assert "leads within SLA" in outputs[0] and "sdr-takahashi" in outputs[0]
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert len(store.reps(known=True)) == 12
        assert [r.id for r in store.reps(known=False)] == ["contractor-01"]
    finally:
        store.close()
