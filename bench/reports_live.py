"""Benchmark the live reports on a million-lead PostgreSQL store (F20 ≤ 300 ms, F21 team ≤ 2 s).

    python bench/reports_live.py [--leads 1000000] [--reps 200] [--days 365] [--repeat 5]
                                 [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                 [--database lc_reports_bench] [--refill]

The store is filled once (kept between runs; `--refill` rebuilds it) straight in SQL with
`generate_series`: replaying a million leads through the engine would take an hour and the
reports only read the derived tables. Shape: `--reps` SDRs in teams of 50, `--leads` spread
evenly over `--days` days ending at the report instant, 4-6 clocks per lead (assignment,
first contact, cadence, qualification; a third also handoff and follow-up), about 15% of
first contacts and 20% of qualifications breached, the last two days' clocks still open.
Deadlines are wall-clock offsets (the reports read instants, not calendars).

Measured in this process (database and polars included), medians of `--repeat` runs:
- `compliance` (F20) for the org, a team and a rep: cold (the closed days' figures computed) and
  warm (a later instant of the same day: what a dashboard request pays);
- the weekly scorecards of every rep of one 50-rep team: `team-scorecard` (one read per team)
  and, for reference, `scorecard` rep by rep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from leadclock.policy import load_preset
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import builder
from leadclock.store import Store

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, noon in Tokyo

FILL = """
SELECT setseed(0.42);
INSERT INTO reps (id, name, team, role, manager, known)
SELECT 'rep-' || lpad(g::text, 4, '0'), '担当者' || g, 'team-' || ((g - 1) / 50 + 1), 'sdr',
       'mgr-' || ((g - 1) / 50 + 1), true
FROM generate_series(1, %(reps)s) g;
INSERT INTO leads (id, source, tier, status, owner, created_at, within_sla, arrived_after_hours,
                   attempts, owners, attributes, updated_at, policy_version)
SELECT 'L-' || g,
       (ARRAY['demo_request','free_trial','pricing_inquiry','content_download','webinar'])[1 + g %% 5],
       'warm',
       (ARRAY['qualified','disqualified','nurture','working','accepted','won','lost','unreachable'])[1 + (g::bigint * 7919) %% 8],
       'rep-' || lpad((1 + (g * 31) %% %(reps)s)::text, 4, '0'),
       %(now)s::timestamptz - make_interval(secs => (1 - g::float8 / %(leads)s) * %(days)s * 86400),
       true, false, 1, '[]', '{}', %(now)s::timestamptz, 'bench'
FROM generate_series(1, %(leads)s) g;
CREATE TEMPORARY TABLE draw AS
SELECT id AS lead, owner, created_at AS s, random() AS r1, random() AS r2, random() AS r3,
       (ARRAY[300, 600, 300, 1800, 3600])[1 + substr(id, 3)::int %% 5] AS fc_target
FROM leads;
INSERT INTO clocks (lead, stage, seq, owner, started_at, due_at, stopped_at, outcome, reason,
                    breached_at, business_seconds, calendar, target, policy_version,
                    exceeded_max, attempts, required, warned)
SELECT u.*, false, 0, 0, false FROM (
SELECT lead, 'assignment', 0, NULL, s, s + interval '1 minute', s + interval '20 seconds', 'met',
       'assigned to ' || owner, NULL, 20, 'business', '1m', 'bench' FROM draw
UNION ALL
SELECT lead, 'first_contact', 0, owner, s, s + make_interval(secs => fc_target),
       CASE WHEN s + make_interval(secs => fc_target * (CASE WHEN r1 < 0.15 THEN 1 + 5 * r2 ELSE r2 END)) < %(now)s
            THEN s + make_interval(secs => fc_target * (CASE WHEN r1 < 0.15 THEN 1 + 5 * r2 ELSE r2 END)) END,
       CASE WHEN r1 < 0.15 AND s + make_interval(secs => fc_target) < %(now)s THEN 'breached'
            WHEN s + make_interval(secs => fc_target * r2) < %(now)s THEN 'met' ELSE 'open' END,
       'call by ' || owner || ' (connected)',
       CASE WHEN r1 < 0.15 AND s + make_interval(secs => fc_target) < %(now)s THEN s + make_interval(secs => fc_target) END,
       fc_target * (CASE WHEN r1 < 0.15 THEN 1 + 5 * r2 ELSE r2 END), 'business', (fc_target / 60) || 'm', 'bench'
FROM draw
UNION ALL
SELECT lead, 'cadence', 0, owner, s, s + interval '2 days',
       CASE WHEN s + interval '1 day' < %(now)s THEN s + interval '1 day' END,
       CASE WHEN s + interval '1 day' < %(now)s THEN 'met' ELSE 'open' END,
       '', NULL, NULL, 'business', '2bd', 'bench' FROM draw
UNION ALL
SELECT lead, 'qualification', 0, owner, s, s + interval '2 days',
       CASE WHEN r3 >= 0.2 AND s + interval '1 day' < %(now)s THEN s + interval '1 day' END,
       CASE WHEN r3 < 0.2 AND s + interval '2 days' < %(now)s THEN 'breached'
            WHEN r3 >= 0.2 AND s + interval '1 day' < %(now)s THEN 'met' ELSE 'open' END,
       '', CASE WHEN r3 < 0.2 AND s + interval '2 days' < %(now)s THEN s + interval '2 days' END,
       NULL, 'business', '2bd', 'bench' FROM draw
UNION ALL
SELECT lead, 'handoff', 0, owner, s + interval '1 day', s + interval '2 days',
       CASE WHEN s + interval '36 hours' < %(now)s THEN s + interval '36 hours' END,
       CASE WHEN s + interval '36 hours' < %(now)s THEN 'met' ELSE 'open' END,
       '', NULL, NULL, 'business', '1bd', 'bench' FROM draw WHERE r2 < 0.33
UNION ALL
SELECT lead, 'follow_up', 0, owner, s + interval '2 days', s + interval '5 days',
       CASE WHEN r1 >= 0.1 AND s + interval '4 days' < %(now)s THEN s + interval '4 days' END,
       CASE WHEN r1 < 0.1 AND s + interval '5 days' < %(now)s THEN 'breached'
            WHEN r1 >= 0.1 AND s + interval '4 days' < %(now)s THEN 'met' ELSE 'open' END,
       '', CASE WHEN r1 < 0.1 AND s + interval '5 days' < %(now)s THEN s + interval '5 days' END,
       NULL, 'business', '3bd', 'bench' FROM draw WHERE r3 > 0.66) u;
ANALYZE;
"""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def prepare(admin_url: str, database: str, leads: int, reps: int, days: int, refill: bool) -> str:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and refill:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
    url = make_url(admin_url).set(database=database, drivername="postgresql+psycopg").render_as_string(hide_password=False)
    store = Store(url)
    store.upgrade()
    store.close()
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM leads").fetchone()
        if row is not None and row[0] == leads:
            return url
        started = time.perf_counter()
        print(f"filling {database}: {leads:,} leads, {reps} reps over {days} days ...", flush=True)
        connection.execute("TRUNCATE clocks, breaches, leads, reps CASCADE")
        with connection.transaction():
            for statement in FILL.split(";\n"):
                if statement.strip():
                    connection.execute(statement, {"reps": reps, "leads": leads, "days": days, "now": NOW})
        clocks = connection.execute("SELECT count(*) FROM clocks").fetchone()
        print(f"filled in {time.perf_counter() - started:.0f} s: {clocks[0] if clocks else 0:,} clocks", flush=True)
    return url


def timed(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    result = call()  # warm: imports, plan cache, the server's buffers
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="lc_reports_bench")
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args()
    url = prepare(args.admin_url, args.database, args.leads, args.reps, args.days, args.refill)
    policy = load_preset("b2b-saas")
    team_reps = [f"rep-{i:04d}" for i in range(1, 51)]
    with Store(url) as store:
        def request(now: datetime = NOW, **kwargs: object) -> ReportRequest:
            return ReportRequest(store=store, policy=policy, now=now, lang="ja", **kwargs)  # type: ignore[arg-type]

        compliance = builder("compliance")
        for label, scope in (("org", {}), ("--team team-1", {"team": "team-1"}), ("--rep rep-0001", {"rep": "rep-0001"})):
            started = time.perf_counter()
            compliance(request(**scope))  # fills the closed days' figures
            cold = time.perf_counter() - started
            ticks = iter(range(1, 1000))
            # Later instants of the same day: the closed days are reused, today is read again.
            warm, _ = timed(lambda scope=scope, ticks=ticks: compliance(request(NOW + timedelta(seconds=next(ticks)), **scope)),
                            args.repeat)
            print(f"compliance {label:16s} cold {cold * 1000:7.1f} ms   warm {warm * 1000:6.1f} ms (median)")
        team = builder("team-scorecard")
        seconds, _ = timed(lambda: team(request(team="team-1", options={"week": "last"})), args.repeat)
        print(f"team-scorecard team-1 (50 reps): {seconds * 1000:7.1f} ms")
        one = builder("scorecard")
        seconds, _ = timed(lambda: [one(request(rep=rep, options={"week": "last"})) for rep in team_reps], 1)
        print(f"scorecard x 50, rep by rep:      {seconds * 1000:7.1f} ms")
        consequences = builder("consequences")
        seconds, _ = timed(lambda: consequences(request(team="team-1")), 1)
        print(f"consequences team-1 (12 weeks):  {seconds * 1000:7.1f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
