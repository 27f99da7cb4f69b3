"""`leadclock db upgrade | token create | serve`: the commands that run the live service.

The serve test starts the real embedded process (API + worker + sender) and checks, over HTTP
only, that a lead is routed on arrival and that its breach reaches the rep's in-app inbox within
a couple of seconds of the deadline, with nobody polling for it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from leadclock.cli import app
from leadclock.store import Store

runner = CliRunner()
POLICY = """\
extends: b2b-saas
routing:
  reps:
    sato: {name: 佐藤, team: east, hours: always}
    yamada: {name: 山田, team: east, hours: always}
  pools:
    sdrs: [sato, yamada]
  rules:
    - {name: everyone, when: {}, strategy: round_robin, pool: sdrs}
  fallback: {queue: manual}
  after_hours: {queue: false}   # a 24/7 desk: the test runs at any hour
sources:
  demo_request:
    sla:
      assignment: {target: 30s, calendar: always}
      first_contact: {target: 2s, calendar: always}
channels:
  inapp: {type: inapp}
"""


def test_db_upgrade_creates_then_reports_the_schema(db_url: str) -> None:
    first = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert first.exit_code == 0, first.output
    assert "empty -> 0010" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert again.exit_code == 0 and "0010 -> 0010" in again.output


def test_token_create_prints_a_working_token_and_refuses_bad_scopes(db_url: str) -> None:
    made = runner.invoke(app, ["token", "create", "--role", "manager", "--team", "east", "--db", db_url, "--name", "east-mgr"])
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert token.startswith("lc_")
    from leadclock.api.auth import authenticate

    with Store(db_url) as store:
        principal = authenticate(store, f"Bearer {token}", datetime.now(UTC))
        assert principal is not None and principal.role == "manager" and principal.team == "east"
    refused = runner.invoke(app, ["token", "create", "--role", "manager", "--db", db_url])
    assert refused.exit_code == 2 and "needs a team" in refused.output
    unknown = runner.invoke(app, ["token", "create", "--role", "root", "--db", db_url])
    assert unknown.exit_code == 2 and "unknown role" in unknown.output


def test_token_list_and_revoke(db_url: str) -> None:
    from leadclock.api.auth import authenticate
    from leadclock.api.errors import ApiError

    token = runner.invoke(app, ["token", "create", "--role", "rep", "--rep", "sato", "--db", db_url,
                                "--name", "sato-phone"]).output.strip()
    token_id = int(token.split("_")[1])
    listed = runner.invoke(app, ["token", "list", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(f"{token_id}\t"))
    assert line.split("\t")[:4] == [str(token_id), "rep", "sato", "sato-phone"]
    assert line.endswith("active") and "used never" in line and token not in listed.output
    revoked = runner.invoke(app, ["token", "revoke", str(token_id), "--db", db_url])
    assert revoked.exit_code == 0 and f"token {token_id} revoked" in revoked.output
    with Store(db_url) as store, pytest.raises(ApiError):
        authenticate(store, f"Bearer {token}", datetime.now(UTC))  # no cache here: refused at once
    listed = runner.invoke(app, ["token", "list", "--db", db_url]).output
    assert "revoked " in next(row for row in listed.splitlines() if row.startswith(f"{token_id}\t"))
    again = runner.invoke(app, ["token", "revoke", str(token_id), "--db", db_url])
    assert again.exit_code == 2 and "no active token" in again.output
    missing = runner.invoke(app, ["token", "revoke", "99999", "--db", db_url])
    assert missing.exit_code == 2 and "no active token with id 99999" in missing.output
    junk = runner.invoke(app, ["token", "revoke", "lc_abc", "--db", db_url])
    assert junk.exit_code == 2 and "token_id" in junk.output.lower().replace("-", "_")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_serve_routes_on_arrival_and_delivers_the_breach_to_the_inbox(tmp_path: Path) -> None:
    db = str(tmp_path / "live.db")
    admin = runner.invoke(app, ["token", "create", "--role", "admin", "--db", db]).output.strip()
    sato = runner.invoke(app, ["token", "create", "--role", "rep", "--rep", "sato", "--db", db]).output.strip()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "leadclock.cli", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200)
        headers = {"Authorization": f"Bearer {admin}"}
        uploaded = httpx.post(f"{base}/policies", content=POLICY, timeout=10,
                              headers={**headers, "Content-Type": "text/yaml"})
        assert uploaded.status_code == 201, uploaded.text
        now = datetime.now(UTC)
        posted = httpx.post(f"{base}/events", timeout=10, headers=headers, json={
            "id": "e1", "type": "lead.created", "at": now.isoformat(), "lead": "L-1", "source": "demo_request"})
        assert posted.status_code == 201, posted.text
        assert posted.json()["assignment"]["owner"] == "sato"  # routed in the same request
        inbox = _wait(lambda: httpx.get(f"{base}/inbox", timeout=5,
                                        headers={"Authorization": f"Bearer {sato}"}).json()["items"], 20)
        breached = [m for m in inbox if "L-1" in m["subject"]]
        assert breached, inbox
        clock = httpx.get(f"{base}/leads/L-1", headers=headers, timeout=5).json()
        first = next(c for c in clock["clocks"] if c["stage"] == "first_contact")
        assert first["outcome"] == "breached"
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        assert health["workers"] and health["workers"][0]["fired"] >= 1
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize(("setting", "tuned"), [(None, True), ("0", False), ("off", False)])
def test_service_processes_freeze_their_start_up_heap(setting: str | None, tuned: bool) -> None:
    # In a process of its own: freezing the heap of the test runner would outlive the test.
    probe = (
        "import gc, json; from leadclock.service.heap import settle_heap; "
        "before = gc.get_threshold()[0]; done = settle_heap(); "
        "print(json.dumps([done, gc.get_freeze_count(), before, gc.get_threshold()[0]]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LEADCLOCK_GC_TUNING"}
    if setting is not None:
        env["LEADCLOCK_GC_TUNING"] = setting
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    done, frozen, before, after = json.loads(out.stdout)
    assert done is tuned
    if tuned:
        assert frozen > 1000 and after == 10_000 > before  # the imports are out of the collector's sight
    else:
        assert frozen == 0 and after == before
