"""Benchmark the analysis reports (F22-F26) on a million-lead PostgreSQL store (F22 trends ≤ 2 s).

    python bench/reports_analysis.py [--leads 1000000] [--reps 200] [--days 365] [--repeat 3]
                                     [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                     [--database lc_analysis_bench] [--refill]

The store is filled the way `bench/reports_live.py` fills its own (same SQL, `generate_series`,
leads spread evenly over `--days` days ending at the report instant), in a database of its own
so the two benchmarks never rebuild each other's data; then, as the engine would have, each
lead's owner history (`leads.owners`) and a `breaches` row per breached clock are filled in. Printed: the median of `--repeat` warm
runs of each report's `build`, database and polars included, for its default period
(trends: the 90 days ending today, about a quarter of the million leads; funnel: the same;
correlation and target review: last quarter; root causes: last month).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from reports_live import NOW, _libpq, prepare, timed

from leadclock.policy import load_preset
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import builder
from leadclock.store import Store

REPORTS = ("trends", "correlation", "root-causes", "target-review", "funnel")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="lc_analysis_bench")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--only", choices=REPORTS, action="append")
    args = parser.parse_args()
    url = prepare(args.admin_url, args.database, args.leads, args.reps, args.days, args.refill)
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM breaches").fetchone()
        if row is not None and row[0] == 0:
            print("filling owners and breaches ...", flush=True)
            connection.execute("UPDATE leads SET owners = json_build_array(owner) WHERE owners::text = '[]'")
            connection.execute("INSERT INTO breaches (lead, stage, seq, at, owner) SELECT lead, stage, seq, "
                               "breached_at, owner FROM clocks WHERE outcome = 'breached' ON CONFLICT DO NOTHING")
            connection.execute("VACUUM ANALYZE leads")
            connection.execute("ANALYZE breaches")
    policy = load_preset("b2b-saas")
    with Store(url) as store:
        request = ReportRequest(store=store, policy=policy, now=NOW, lang="ja")
        for name in args.only or REPORTS:
            seconds, _ = timed(lambda name=name: builder(name)(request), args.repeat)  # type: ignore[misc]
            print(f"{name:14s} {seconds * 1000:8.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
