"""Benchmark the reports people open most on a one-million-lead PostgreSQL store.

    python bench/reports.py [--url postgresql://postgres@127.0.0.1:5432/leadclock_bench]
                            [--days 365] [--leads-per-day 2740] [--sdrs 50] [--aes 20]
                            [--repeat 5] [--rebuild]

The data set: the demo generator (`sim/demo.py`) with a 50-SDR / 20-AE roster, a year of
2,740 leads a day (about a million leads, eight million events: a store that has run for a
year, so "this month" holds ~80,000 leads, as in a real organisation of that size rather than
the replay benchmark's 100 dense days), cut at the end of the last day as an export taken then
would be (the last leads still in flight). It is built once into its own
database (created if missing) and reused while the `bench_dataset` marker says it is complete
and was built from the same generator source, parameters and policy; `--rebuild` forces it.

Building takes the fastest honest path: generate (one pass writes the JSON Lines history, the
`events` rows and per-lead facts), the columnar replay (`engine/columnar.py`, byte-identical to
the reference engine's clocks.csv / leads.csv), then COPY into events / leads / clocks / breaches
with reps and the policy version. Columns the replay's files do not carry are derived as the
engine defines them: a breach happens at the deadline (`breached_at = due_at`), a lead's
`created_at` is its `lead.created` instant, `attempts` counts its outbound activities, and
`first_contact_at` is its first-contact clock's stop. Left empty: `warn_at`, `reached_at`,
`handoff_to` (no report here reads them), and `owners` holds the final owner only.

Measured (server side, one warm-up, then the median of `--repeat` runs), against targets:

  (a) the dashboard's first page: `reports.registry.run("compliance", ...)` (<= 300 ms), and
      when the web dashboard is installed, its first page through a TestClient as a manager;
  (b) the weekly scorecards of a 50-rep team: `team-scorecard`, which carries every member's
      own card from one read (<= 2 s); also, for comparison, plus each rep's `scorecard` called
      separately (one read each);
  (c) `trends` over 90 days (<= 2 s);
  (d) correlation, root-causes, target-review and funnel for their default periods (no target).

The reference for each is the equivalent single SQL aggregate over the same tables, run with
psycopg in the same process and timed the same way: the ratio is what our layer costs on top of
the database doing the counting. Prints os.cpu_count() and the load average before and after.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its calendar.py would shadow the
# standard library's calendar module (which holidays imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import polars as pl  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/leadclock_bench"
BUILDER_VERSION = "1"  # bump when the way the data set is written changes
START = date(2025, 11, 1)
TEAM = "inside-sales"  # the SDR team: 50 reps with --sdrs 50
INBOUND = frozenset({"replied"})  # engine.events.INBOUND: not an attempt


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# ---------------------------------------------------------------------------------------------
# The data set


def fingerprint(args: argparse.Namespace, policy_version: str) -> str:
    """Generator source + builder version + parameters + policy: what makes the data what it is."""
    import leadclock.sim.demo as demo

    digest = hashlib.sha256(Path(demo.__file__).read_bytes())
    digest.update(json.dumps([BUILDER_VERSION, args.seed, args.days, args.leads_per_day, args.sdrs,
                              args.aes, args.preset, START.isoformat(), policy_version]).encode())
    return digest.hexdigest()[:16]


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = libpq(str(parsed.set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parsed.database]).fetchone()
        if not found:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')
            print(f"created database {parsed.database}")


def marker(url: str) -> dict[str, Any] | None:
    with psycopg.connect(libpq(url)) as connection:
        exists = connection.execute("SELECT to_regclass('public.bench_dataset')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = connection.execute("SELECT detail FROM bench_dataset WHERE complete").fetchone()
        return None if row is None else dict(row[0])


def _tsv(value: str) -> str:
    # COPY text format: backslash is the escape; JSON never carries a raw tab or newline.
    return value.replace("\\", "\\\\")


def generate_files(args: argparse.Namespace, policy: Any, roster: list[Any], work: Path) -> tuple[dict[str, Path], int]:
    """One pass over the generator: the JSON Lines history, the events rows (COPY text format),
    per-event facts (lead, instant, kind) and each lead's creation attributes."""
    from leadclock.sim.demo import _line_encoder, generate

    encode = _line_encoder()
    paths = {name: work / name for name in ("history.jsonl", "events.tsv", "facts.tsv", "created.tsv")}
    buffers: dict[str, list[str]] = {name: [] for name in paths}
    count = 0
    with ExitStack() as stack:
        handles = {name: stack.enter_context(open(path, "w", encoding="utf-8", newline="\n"))
                   for name, path in paths.items()}

        def flush() -> None:
            for name, lines in buffers.items():
                if lines:
                    lines.append("")
                    handles[name].write("\n".join(lines))
                    lines.clear()

        events = generate(seed=args.seed, start=START, days=args.days, leads_per_day=args.leads_per_day,
                          policy=policy, roster=roster)
        for event in events:
            count += 1
            buffers["history.jsonl"].append(encode(event))
            kind, at, lead = event["type"], event["at"], event.get("lead")
            data = {k: v for k, v in event.items() if k not in ("id", "type", "at", "lead")}
            buffers["events.tsv"].append(
                f"{count}\t{event['id']}\t{kind}\t{at}\t{lead if lead is not None else chr(92) + 'N'}\t"
                f"{_tsv(encode(data))}\t{at}")
            if lead is not None:
                code = "o"
                if kind == "lead.created":
                    code = "c"
                    attributes = {k: v for k, v in data.items() if k != "source"}
                    buffers["created.tsv"].append(f"{lead}\t{encode(attributes)}")
                elif kind == "activity" and data.get("outcome") not in INBOUND:
                    code = "a"
                buffers["facts.tsv"].append(f"{lead}\t{at}\t{code}")
            if len(buffers["events.tsv"]) >= 20_000:
                flush()
        flush()
    print(f"  generated {count:,} events", flush=True)
    return paths, count


def copy_file(connection: psycopg.Connection, statement: str, path: Path) -> None:
    with connection.cursor() as cursor, cursor.copy(statement) as copy, open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            copy.write(block)


def copy_frame(connection: psycopg.Connection, table: str, frame: pl.DataFrame) -> None:
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv, NULL '')") as copy:
        for begin in range(0, frame.height, 500_000):
            buffer = io.BytesIO()
            frame.slice(begin, 500_000).write_csv(buffer, include_header=False, null_value="")
            copy.write(buffer.getvalue())


def clock_rules(policy: Any, combos: pl.DataFrame) -> pl.DataFrame:
    """Per (stage, source, tier): the SLA's calendar and a cadence's required attempts."""
    from leadclock.policy.models import CadenceSla, ClockSla

    rows = []
    for stage, source, tier in combos.iter_rows():
        sla = policy.stage_sla(stage, source, tier)
        calendar = getattr(sla, "calendar", "business") if isinstance(sla, ClockSla | CadenceSla) else "business"
        required = sla.min_attempts if isinstance(sla, CadenceSla) else 0
        rows.append((stage, source, tier, calendar, required))
    return pl.DataFrame(rows, schema={"stage": pl.Utf8, "source": pl.Utf8, "tier": pl.Utf8,
                                      "calendar": pl.Utf8, "required": pl.Int64}, orient="row")


def build(args: argparse.Namespace, url: str, policy: Any, roster: list[Any], key: str) -> dict[str, Any]:
    from leadclock.calendar import from_policy
    from leadclock.engine.columnar import fast_replay, write_fast_outputs
    from leadclock.store import Store
    from leadclock.store.models import Base

    begun = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="lc_reports_bench_"))
    print(f"building the data set in {work} ...", flush=True)
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")
    store = Store(url)
    store.upgrade()
    lap = time.perf_counter()
    paths, event_count = generate_files(args, policy, roster, work)
    print(f"  generate: {time.perf_counter() - lap:.0f} s", flush=True)

    lap = time.perf_counter()
    result = fast_replay(paths["history.jsonl"], policy)
    write_fast_outputs(work / "out", result)
    as_of = result.as_of
    assert as_of is not None
    print(f"  columnar replay: {time.perf_counter() - lap:.0f} s ({result.stats['leads']:,} leads, "
          f"{result.stats['lines']:,} events)", flush=True)
    del result

    lap = time.perf_counter()
    strings = {"infer_schema": False}
    clocks = pl.read_csv(work / "out" / "clocks.csv", **strings)  # type: ignore[arg-type]
    leads = pl.read_csv(work / "out" / "leads.csv", **strings)  # type: ignore[arg-type]
    facts = pl.read_csv(paths["facts.tsv"], separator="\t", has_header=False, quote_char=None,
                        new_columns=["lead", "at", "code"], **strings)  # type: ignore[arg-type]
    created = pl.read_csv(paths["created.tsv"], separator="\t", has_header=False, quote_char=None,
                          new_columns=["lead", "attributes"], **strings)  # type: ignore[arg-type]
    instants = facts.with_columns(pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_unit="us")
                                  .dt.convert_time_zone("UTC").alias("t"))
    per_lead = instants.group_by("lead").agg(
        pl.col("t").filter(pl.col("code") == "c").min().alias("created_at"),
        (pl.col("code") == "a").sum().cast(pl.Int64).alias("attempts"),
        pl.col("t").max().alias("last_event_at"),
    )
    del facts, instants
    first_contact = clocks.filter(
        (pl.col("stage") == "first_contact") & (pl.col("seq") == "0") & pl.col("outcome").is_in(["met", "breached"])
        & (pl.col("stopped_at").fill_null("") != "") & ~pl.col("reason").fill_null("").str.starts_with("reassigned")
    ).select("lead", pl.col("stopped_at").alias("first_contact_at"))
    leads = (leads.join(per_lead, on="lead", how="left").join(created, on="lead", how="left")
             .join(first_contact, on="lead", how="left"))
    business = from_policy(policy, "business")
    created_us = leads["created_at"].dt.replace_time_zone(None).to_numpy()
    after_hours = ~business.is_open(created_us)
    updated = as_of.astimezone(UTC).isoformat()
    version = policy.version
    lead_rows = leads.select(
        pl.col("lead").alias("id"), "source", pl.col("tier").fill_null(""), "status", "owner",
        pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00"),
        (pl.col("within_sla") == "1").alias("within_sla"),
        pl.Series("arrived_after_hours", after_hours),
        "first_contact_at",
        pl.lit(None, dtype=pl.Utf8).alias("reached_at"),
        pl.col("attempts").fill_null(0),
        pl.col("last_event_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00"),
        pl.lit(None, dtype=pl.Utf8).alias("handoff_to"),
        pl.when(pl.col("owner").is_null()).then(pl.lit("[]")).otherwise(pl.format('["{}"]', "owner")).alias("owners"),
        pl.col("attributes").fill_null("{}"),
        pl.lit(updated).alias("updated_at"),
        pl.lit(version).alias("policy_version"),
    )
    lead_rows = lead_rows.with_columns(pl.col("tier").replace("", None))
    combos = clocks.join(leads.select("lead", "source", "tier"), on="lead", how="left")
    rules = clock_rules(policy, combos.select("stage", "source", "tier").unique())
    combos = combos.join(rules, on=["stage", "source", "tier"], how="left").join(
        leads.select("lead", pl.col("attempts").alias("lead_attempts")), on="lead", how="left")
    clock_rows = combos.select(
        "lead", "stage", pl.col("seq").cast(pl.Int64), pl.col("rep").alias("owner"), "started_at", "due_at",
        "max_at", pl.lit(None, dtype=pl.Utf8).alias("warn_at"), "stopped_at", "outcome", pl.col("reason").fill_null(""),
        pl.when(pl.col("outcome") == "breached").then(pl.col("due_at")).otherwise(None).alias("breached_at"),
        (pl.col("exceeded_max") == "1").alias("exceeded_max"),
        pl.col("business_seconds").cast(pl.Float64),
        pl.col("calendar").fill_null("business"), "target", "policy_version",
        pl.when(pl.col("stage") == "cadence").then(pl.col("lead_attempts").fill_null(0)).otherwise(0).alias("attempts"),
        pl.col("required").fill_null(0),
        pl.lit(False).alias("warned"),
    )
    breach_rows = clock_rows.filter(pl.col("outcome") == "breached").select(
        "lead", "stage", "seq", pl.col("due_at").alias("at"), "owner")
    print(f"  rows: {lead_rows.height:,} leads, {clock_rows.height:,} clocks, {breach_rows.height:,} breaches "
          f"({time.perf_counter() - lap:.0f} s to derive)", flush=True)

    store.save_policy(policy, f"extends: {args.preset}\n")
    for rep in roster:
        store.upsert_rep(rep.id, name=rep.name, team=rep.team, role=rep.role, manager=rep.manager)
    store.upsert_rep("contractor-01", known=False)
    store.close()

    lap = time.perf_counter()
    tables = [Base.metadata.tables[name] for name in ("events", "leads", "clocks", "breaches")]
    with psycopg.connect(libpq(url)) as connection:
        # Secondary indexes are built once after the load (faster than maintained row by row).
        for table in tables:
            for index in table.indexes:
                connection.execute(f"DROP INDEX IF EXISTS {index.name}")
        copy_file(connection, "COPY events (seq, id, type, at, lead, data, received_at) FROM STDIN", paths["events.tsv"])
        connection.execute("SELECT setval(pg_get_serial_sequence('events', 'seq'), (SELECT max(seq) FROM events))")
        copy_frame(connection, "leads", lead_rows)
        copy_frame(connection, "clocks", clock_rows)
        copy_frame(connection, "breaches", breach_rows)
        print(f"  COPY: {time.perf_counter() - lap:.0f} s", flush=True)
        lap = time.perf_counter()
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.schema import CreateIndex

        for table in tables:
            for index in table.indexes:
                connection.execute(str(CreateIndex(index).compile(dialect=postgresql.dialect())))
        connection.commit()
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        print(f"  indexes + VACUUM ANALYZE: {time.perf_counter() - lap:.0f} s", flush=True)
        detail = {"key": key, "as_of": as_of.isoformat(), "leads": lead_rows.height, "clocks": clock_rows.height,
                  "events": event_count,
                  "build_seconds": round(time.perf_counter() - begun, 1), "built_at": datetime.now(UTC).isoformat()}
        connection.execute("CREATE TABLE bench_dataset (complete boolean NOT NULL, detail jsonb NOT NULL)")
        connection.execute("INSERT INTO bench_dataset VALUES (true, %s)", [json.dumps(detail)])
    for path in work.rglob("*"):
        if path.is_file():
            path.unlink()
    print(f"built in {detail['build_seconds']:.0f} s", flush=True)
    return detail


# ---------------------------------------------------------------------------------------------
# Measuring


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Median of `repeat` runs after one warm-up (imports, the connection pool, the database's
    caches, and the reports' own caches, e.g. the compliance report's closed days kept for ten
    minutes). The warm-up's time is the last item of the list: what a cold request pays."""
    begun = time.perf_counter()
    action()
    cold = time.perf_counter() - begun
    times = []
    for _ in range(repeat):
        begun = time.perf_counter()
        action()
        times.append(time.perf_counter() - begun)
    return statistics.median(times), [*times, cold]


def sql_reference(url: str, statement: str, params: dict[str, Any]) -> Callable[[], Any]:
    connection = psycopg.connect(libpq(url))

    def run() -> Any:
        rows = connection.execute(statement, params).fetchall()
        connection.rollback()
        return rows

    return run


def report_line(name: str, median: float, times: list[float], target: float | None, reference: float | None) -> None:
    runs = ", ".join(f"{t * 1000:.0f}" for t in times[:-1]) + f"; cold {times[-1] * 1000:.0f}"
    verdict = "" if target is None else ("  MEETS" if median <= target else "  MISSES") + f" target {target * 1000:.0f} ms"
    ratio = "" if reference is None else f"  ({median / reference:.1f}x the SQL reference)"
    print(f"  {name:48s} median {median * 1000:8.1f} ms  [{runs}]{verdict}{ratio}", flush=True)


def measure(args: argparse.Namespace, url: str, policy: Any, roster: list[Any], now: datetime) -> None:
    from leadclock.reports.params import ReportRequest
    from leadclock.store import Store

    store = Store(url)
    zone = policy.org.timezone
    team = [r.id for r in roster if r.team == TEAM and r.role == "sdr"]
    print(f"\nreports as of {now.isoformat()}, team {TEAM!r} of {len(team)} reps; "
          f"median of {args.repeat} after one warm-up")
    request = ReportRequest(store=store, policy=policy, now=now, lang="en")

    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(zone))
    if "a" in args.only:
        measure_a(args, url, store, request, now, local)
    if "b" in args.only:
        measure_b(args, url, store, policy, team, now, local)
    if "c" in args.only:
        measure_c(args, url, request, zone, local)
    if "d" in args.only:
        measure_d(args, request)
    store.close()


def measure_a(args: argparse.Namespace, url: str, store: Any, request: Any, now: datetime, local: datetime) -> None:
    """(a) the dashboard's first page."""
    from leadclock.reports.registry import run

    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    reference_a = sql_reference(url, """
        SELECT c.owner, l.source,
               count(*) FILTER (WHERE c.outcome = 'met' AND c.stopped_at <= %(now)s) AS met,
               count(*) FILTER (WHERE c.outcome <> 'met' AND c.due_at < %(now)s) AS breached,
               count(DISTINCT c.lead) AS leads
        FROM clocks c JOIN leads l ON l.id = c.lead
        WHERE c.due_at >= %(start)s AND c.outcome <> 'cancelled'
        GROUP BY c.owner, l.source""", {"now": now, "start": month_start})
    ref_a, ref_a_times = timed(reference_a, args.repeat)
    report_line("SQL reference: this month's clocks by rep x source", ref_a, ref_a_times, None, None)
    comp, comp_times = timed(lambda: run("compliance", request), args.repeat)
    report_line("(a) compliance (dashboard first page)", comp, comp_times, 0.300, ref_a)
    web = web_first_page(url, now, args.repeat)
    if web is not None:
        report_line("(a) dashboard first page over HTTP (TestClient, manager)", web[0], web[1], 0.300, ref_a)


def measure_b(args: argparse.Namespace, url: str, store: Any, policy: Any, team: list[str], now: datetime,
              local: datetime) -> None:
    """(b) the weekly scorecards of every rep of the team."""
    from zoneinfo import ZoneInfo

    from leadclock.reports.params import ReportRequest, week_period
    from leadclock.reports.registry import run

    zone = policy.org.timezone
    week = week_period((local - timedelta(days=7)).date(), ZoneInfo(zone))
    reference_b = sql_reference(url, """
        SELECT c.owner, count(DISTINCT c.lead) AS leads,
               count(*) FILTER (WHERE c.outcome = 'met') AS met,
               count(*) FILTER (WHERE c.outcome <> 'met' AND c.due_at < %(now)s) AS breached,
               avg(c.business_seconds) FILTER (WHERE c.stage = 'first_contact') AS response
        FROM clocks c JOIN leads l ON l.id = c.lead
        WHERE c.due_at >= %(start)s AND c.due_at < %(end)s AND c.owner = ANY(%(team)s)
              AND c.outcome <> 'cancelled'
        GROUP BY c.owner""", {"now": now, "start": week.start, "end": week.end, "team": team})
    ref_b, ref_b_times = timed(reference_b, args.repeat)
    report_line(f"SQL reference: last week by rep ({len(team)} reps)", ref_b, ref_b_times, None, None)
    options = {"week": week.label}

    def scorecards() -> None:
        run("team-scorecard", ReportRequest(store=store, policy=policy, now=now, lang="en", team=TEAM, options=options))
        for rep in team:
            run("scorecard", ReportRequest(store=store, policy=policy, now=now, lang="en", rep=rep, options=options))

    def team_cards() -> None:
        report = run("team-scorecard", ReportRequest(store=store, policy=policy, now=now, lang="en", team=TEAM,
                                                     options=options))
        assert len(report.data["cards"]) >= len(team) - 1, "every member's own card is in the team report"

    team_only, team_times = timed(team_cards, args.repeat)
    report_line(f"(b) team-scorecard with every member's card ({len(team)} reps, {week.label})", team_only,
                team_times, 2.0, ref_b)
    cards, cards_times = timed(scorecards, args.repeat)
    report_line(f"    team-scorecard + {len(team)} separate scorecard calls", cards, cards_times, None, ref_b)


def measure_c(args: argparse.Namespace, url: str, request: Any, zone: str, local: datetime) -> None:
    """(c) trends over 90 days."""
    from leadclock.reports.registry import run

    start_c = (local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=89)).astimezone(UTC)
    end_c = (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(UTC)
    reference_c = sql_reference(url, """
        SELECT date_trunc('day', created_at AT TIME ZONE %(zone)s) AS day, count(*) AS leads,
               count(*) FILTER (WHERE within_sla) AS within
        FROM leads WHERE created_at >= %(start)s AND created_at < %(end)s
        GROUP BY 1""", {"zone": zone, "start": start_c, "end": end_c})
    ref_c, ref_c_times = timed(reference_c, args.repeat)
    report_line("SQL reference: 90 days of leads by local day", ref_c, ref_c_times, None, None)
    trends, trends_times = timed(lambda: run("trends", request), args.repeat)
    report_line("(c) trends, 90 days", trends, trends_times, 2.0, ref_c)


def measure_d(args: argparse.Namespace, request: Any) -> None:
    """(d) the other analysis reports for their default periods (no target in the issue; the
    figures say where a future target would stand)."""
    from leadclock.reports.registry import run

    for name in ("correlation", "root-causes", "target-review", "funnel"):
        seconds, times = timed(lambda name=name: run(name, request), args.repeat)  # type: ignore[misc]
        report_line(f"(d) {name}", seconds, times, None, None)


def web_first_page(url: str, now: datetime, repeat: int) -> tuple[float, list[float]] | None:
    """The dashboard's first page (`GET /ui/`) as the team's manager sees it, through a
    TestClient on the app `leadclock serve` runs (its clock set to the data set's end)."""
    import secrets

    try:
        from leadclock.web.accounts import create_user, set_password
        from leadclock.web.sessions import CSRF_FIELD, LOGIN_CSRF_COOKIE
    except ImportError:
        print("  (the web dashboard is not installed: its first page is not measured)")
        return None
    from fastapi.testclient import TestClient

    from leadclock.api.app import create_app

    app = create_app(url, clock=lambda: now)
    store = app.state.leadclock.store
    password = secrets.token_urlsafe(16)
    if not set_password(store, "bench-manager", password):
        create_user(store, login="bench-manager", password=password, role="manager", team=TEAM, now=now, locale="en")
    with TestClient(app) as client:
        client.get("/ui/login")
        signed = client.post("/ui/login", data={"login": "bench-manager", "password": password,
                                                CSRF_FIELD: client.cookies.get(LOGIN_CSRF_COOKIE) or ""},
                             follow_redirects=False)
        if signed.status_code != 303:
            raise RuntimeError(f"dashboard sign-in failed: {signed.status_code} {signed.text[:200]}")

        def page() -> None:
            response = client.get("/ui/")
            if response.status_code != 200:
                raise RuntimeError(f"GET /ui/ answered {response.status_code}")

        return timed(page, repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("LEADCLOCK_BENCH_URL", DEFAULT_URL))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--leads-per-day", type=int, default=2_740)
    parser.add_argument("--sdrs", type=int, default=50)
    parser.add_argument("--aes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preset", default="b2b-saas")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only", default="abcd", help="which measurements: any of a, b, c, d (default all)")
    args = parser.parse_args()

    from leadclock.policy import load_preset
    from leadclock.sim.demo import demo_roster
    from leadclock.store import Store

    print(f"os.cpu_count() = {os.cpu_count()}; load average before: {loadavg()}", flush=True)
    policy = load_preset(args.preset)
    roster = demo_roster(args.sdrs, args.aes)
    url = args.url
    ensure_database(url)
    key = fingerprint(args, policy.version)
    found = None if args.rebuild else marker(url)
    if found is not None and found.get("key") == key:
        print(f"reusing the data set in {make_url(url).database} (built {found['built_at']} in "
              f"{found['build_seconds']:.0f} s: {found['leads']:,} leads, {found['events']:,} events, "
              f"{found['clocks']:,} clocks)")
        store = Store(url)
        store.upgrade()  # new migrations (report indexes) apply to the existing data
        store.close()
    else:
        found = build(args, url, policy, roster, key)
    now = datetime.fromisoformat(found["as_of"])
    measure(args, url, policy, roster, now)
    print(f"\nload average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
