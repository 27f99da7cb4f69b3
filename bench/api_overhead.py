"""Benchmark the API's per-request CPU around the ingest: middleware, dispatcher, auth, rate limit,
dependencies, policy lookup, JSON in and out.

    python bench/api_overhead.py [--requests 2000] [--repeat 5] [--batch 20]
                                 [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                 [--database lc_api_overhead] [--keep] [--profile CASE]

Runs in this one process, on a fresh PostgreSQL database the run creates and drops: the app from
`create_app` (the b2b-saas preset uploaded through POST /policies, an integration token from
`create_token`, the rate limit raised so it never refuses) and, as the reference measured in the
same run, a bare FastAPI app with the same shape as bench/service.py's floor: an async dependency
doing `json.loads` of the body, a sync route (thread pool), SQLAlchemy + psycopg with
pool_pre_ping. Requests go through httpx.ASGITransport in a closed loop, one at a time, so no
socket or HTTP parser is measured, only the ASGI apps. The figure is this process's CPU time per
request (time.process_time, all threads: the thread pool runs sync routes); PostgreSQL's own CPU
is not in it. Cases:

- reject: POST /events with a list body, refused 422 before any ingest (ours: dispatcher,
  limits middleware, auth, rate limit, body decode, error response; bare: decode + 422);
- invalid: POST /events with an event object lacking `at` (ours additionally runs `ingest()`:
  the active policy lookup, parse, an empty `Live.ingest`; bare: decode + 422);
- duplicate: POST /events of an event already stored, the cheapest full path (bare: the one
  INSERT ... ON CONFLICT DO NOTHING);
- batch: POST /events:batch of `--batch` duplicates (bare: one multi-row INSERT).

Each case is timed `--repeat` times, alternating ours and bare, after a warm-up; the medians are
printed with the ratio ours/bare. `--profile CASE` runs that case once more under yappi (if
installed; CPU clock, every thread) and prints where our app's time goes.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its calendar.py would shadow the
# standard library's calendar module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

try:
    from leadclock.api import ApiSettings, create_app, create_token
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(_HERE.parent / "src"))
    from leadclock.api import ApiSettings, create_app, create_token
from leadclock.policy import preset_text  # noqa: E402

sys.path.append(str(_HERE))  # after the standard library, so bench/calendar.py shadows nothing
from service import bare_app, db_url, recreate_database  # noqa: E402  # the reference and scratch database

CASES = ("reject", "invalid", "duplicate", "batch")


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: bytes
    status: int  # what ours must answer
    bare_status: int


def cases(batch: int) -> dict[str, Case]:
    event = {"id": "ov-1", "type": "lead.created", "at": "2025-01-06T09:00:00+09:00", "lead": "ov-lead-1",
             "source": "demo_request", "country": "JP"}
    events = [{**event, "id": f"ov-b{i}", "lead": f"ov-lead-b{i}"} for i in range(batch)]
    invalid = {k: v for k, v in event.items() if k != "at"}
    return {
        "reject": Case("POST", "/events", json.dumps([event]).encode(), 422, 422),
        "invalid": Case("POST", "/events", json.dumps(invalid).encode(), 422, 422),
        "duplicate": Case("POST", "/events", json.dumps(event).encode(), 200, 201),
        "batch": Case("POST", "/events:batch", json.dumps({"events": events}).encode(), 200, 200),
    }


async def run(client: httpx.AsyncClient, case: Case, n: int, headers: dict[str, str], expect: int) -> float:
    """CPU seconds per request over `n` sequential requests."""
    start = time.process_time()
    for _ in range(n):
        response = await client.request(case.method, case.path, content=case.body, headers=headers)
        if response.status_code != expect:
            raise SystemExit(f"{case.method} {case.path}: {response.status_code} {response.text[:300]}")
    return (time.process_time() - start) / n


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


async def measure(args: argparse.Namespace, url: str) -> None:
    app = create_app(url, settings=ApiSettings(rate_limit_per_second=1e9, rate_limit_burst=1_000_000_000))
    store = app.state.leadclock.store
    admin = create_token(store, "admin", name="bench-admin")
    token = create_token(store, "integration", name="bench")
    ours_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bare_headers = {"Content-Type": "application/json"}
    bare = bare_app(url)
    table = cases(args.batch)
    async with client_for(app) as ours_client, client_for(bare) as bare_client:
        uploaded = await ours_client.post("/policies", content=preset_text("b2b-saas"),
                                          headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/yaml"})
        assert uploaded.status_code == 201, uploaded.text
        # Store the events the duplicate cases send again (ours and bare).
        for name in ("duplicate", "batch"):
            case = table[name]
            first = await ours_client.request(case.method, case.path, content=case.body, headers=ours_headers)
            assert first.status_code in (200, 201), first.text
            await bare_client.request(case.method, case.path, content=case.body, headers=bare_headers)

        print(f"per-request CPU (µs, this process, all threads), median of {args.repeat} x {args.requests} "
              f"requests; batch = {args.batch} events")
        print(f"{'case':<10} {'ours':>9} {'bare':>9} {'ours/bare':>10}   runs (ours)")
        for name in args.cases:
            case = table[name]
            n = args.requests if name != "batch" else max(1, args.requests // 4)
            await run(ours_client, case, max(1, n // 10), ours_headers, case.status)  # warm-up
            await run(bare_client, case, max(1, n // 10), bare_headers, case.bare_status)
            ours: list[float] = []
            ref: list[float] = []
            for _ in range(args.repeat):
                ours.append(await run(ours_client, case, n, ours_headers, case.status))
                ref.append(await run(bare_client, case, n, bare_headers, case.bare_status))
            o, b = statistics.median(ours) * 1e6, statistics.median(ref) * 1e6
            runs = " ".join(f"{x * 1e6:.0f}" for x in ours)
            print(f"{name:<10} {o:9.0f} {b:9.0f} {o / b:10.2f}   {runs}", flush=True)

        if args.profile:
            await profile(ours_client, table[args.profile], args.requests, ours_headers)
    store.close()


async def profile(client: httpx.AsyncClient, case: Case, n: int, headers: dict[str, str]) -> None:
    """yappi, on the CPU clock and in every thread: the sync dependencies and routes run in the
    thread pool, where a profiler of the main thread (cProfile, pyinstrument) sees nothing."""
    try:
        import yappi
    except ImportError:
        print("--profile needs yappi (pip install yappi)")
        return
    yappi.set_clock_type("cpu")
    yappi.start(profile_threads=True)
    await run(client, case, n, headers, case.status)
    yappi.stop()
    stats = yappi.get_func_stats()
    stats.sort("ttot")
    print(f"\nprofile of {case.method} {case.path} x {n} (total CPU time per function, all threads):")
    stats.print_all(columns={0: ("name", 90), 1: ("ncall", 8), 2: ("tsub", 8), 3: ("ttot", 8)})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="lc_api_overhead")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", choices=CASES)
    args = parser.parse_args(argv)
    recreate_database(args.admin_url, args.database)
    try:
        asyncio.run(measure(args, db_url(args.admin_url, args.database)))
    finally:
        if not args.keep:
            recreate_database(args.admin_url, args.database, drop_only=True)


if __name__ == "__main__":
    main()
