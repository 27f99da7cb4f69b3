"""Benchmark the live service as real processes: ingest over HTTP and breach latency.

    python bench/service.py [--quick] [--api-procs 2] [--concurrency 16] [--repeat 3] [--seconds 20]
                            [--batches 10] [--open-clocks 100000] [--deadlines 1000] [--window 60]
                            [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                            [--database lc_bench] [--keep] [--profile DIR]

Everything runs on this machine against a fresh PostgreSQL database that the run creates and
drops (`--database`, made through `--admin-url`):

- the service: `leadclock serve --api-only` x `--api-procs` (uvicorn, one port each) and
  `leadclock worker` (worker + sender); the per-token rate limit is raised through
  LEADCLOCK_API_RATE_LIMIT_* for the run (its defaults, 20 requests/s, would measure the limiter);
- a signed-webhook receiver in its own process, timestamping every arrival;
- the load client, this process: asyncio, one raw keep-alive HTTP/1.1 connection per request in
  flight, closed loop (a few µs of client CPU per request, so it takes as little as possible of
  the cores the service needs);
- the ingest reference, "the floor of the stack": a bare FastAPI app run by uvicorn the same way
  (same process count and log level, sync route in the thread pool, SQLAlchemy + psycopg with
  the store's pool options), one INSERT per request (`/events`) or one multi-row INSERT per
  request (`/events:batch`), same client, bodies and concurrency, measured in the same run.

Phases:
1. reference: single-event POSTs (closed loop, `--seconds`) and batches against the bare app;
   set-up: far-deadline leads (lead.created, routed; first contact due in 30 days) go through
   `Live.ingest` in `--loaders` processes before the service starts, so that with the leads of
   phase 2 the breach phase starts at `--open-clocks` open clocks (topped up if short). Not a
   measurement; see `bulk_main` for why Policy.version is memoised there;
2. batch ingest: `--batches` x 1,000 `lead.created` (routed by the router) per run through
   POST /events:batch;
3. single-event ingest: one `lead.created` at a time (unloaded latency), then POST /events of
   `lead.created` in a closed loop for `--seconds` (each answer must carry the assignment; the
   database must hold exactly one `lead.assigned` event and an owner for each lead), then an
   `activity` event on each of those leads the same way;
4. breach latency: `--deadlines` leads whose first-contact deadline (2 minutes on the 24/7
   calendar, started by a back-dated assignment) falls at known instants spread over the next
   `--window` seconds; each breach notifies the lead's rep on the signed webhook channel pointing
   at the receiver. Latency = arrival at the receiver - due_at, per breach (digests count for
   each breach they carry); missing and duplicated breaches are counted across all deliveries.
   Reference: a 60-second polling scheduler (what CRM workflow engines do: act at the next
   poll). Its delay for a deadline is (poll phase - due_at) mod 60 s, computed on the same due_at
   set for 600 phases 0.1 s apart (median p99 over phases, mean, worst; about 59.4 s, 30 s and
   60 s for deadlines spread over a minute). Simulated rather than run: a real poller could only
   add its own query time.

Figures are printed with os.cpu_count() and `uptime`; ingest figures are medians of `--repeat`
runs. The PostgreSQL server may be shared (other users restart it): a run during which it
restarted, or the service answered 503, is repeated with fresh ids, and so is the breach phase. `--quick`: 10,000 open clocks, 200 deadlines over 20 s, one 5-second run of each ingest
phase. `--profile DIR` records py-spy profiles (raw collapsed stacks and SVG flame graphs) of the
API processes and the worker during the first run of each ingest phase, and of the worker during
the breach phase; sampling slows what it samples, so take figures from a run without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its calendar.py would shadow the
# standard library's calendar module (http.server and holidays import it).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

SECRET = "bench-webhook-secret"
FAST_TARGET = timedelta(minutes=2)  # first-contact target of the short-deadline source
N_REPS = 20
VENV_BIN = Path(sys.executable).parent


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return loadavg()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- the policy


def policy_text(hook_url: str) -> str:
    reps = "\n".join(f"    rep{i:02d}: {{team: east, manager: boss, hours: always}}" for i in range(N_REPS))
    pool = ", ".join(f"rep{i:02d}" for i in range(N_REPS))
    stages = "\n".join(f"      {stage}: none" for stage in ("cadence", "qualification", "handoff", "acceptance"))
    # Cold sources on the 24/7 calendar: no warnings, no tier escalations, nothing due before
    # the first-contact deadline (30 days away, or 2 minutes for bench_fast); routing on 24/7
    # reps so a lead.created is assigned at once whatever the hour. The escalations that would
    # put extra wake-ups on every lead (after-hours, unassigned, no-activity) are switched off,
    # and so are the scheduled reports (a run crossing 18:00 JST would send digests).
    return f"""\
extends: b2b-saas
sources:
  bench_slow:
    label: {{ja: ベンチ（遠い期限）, en: Bench far deadline}}
    priority: cold
    sla:
      assignment: {{target: 5m, calendar: always}}
      first_contact: {{target: 30d, calendar: always}}
{stages}
  bench_fast:
    label: {{ja: ベンチ（近い期限）, en: Bench short deadline}}
    priority: cold
    sla:
      assignment: {{target: 5m, calendar: always}}
      first_contact: {{target: {int(FAST_TARGET.total_seconds())}s, calendar: always}}
{stages}
escalations:
  after_hours_not_worked: null
  unassigned: null
  no_activity_reassign: null
reports:
  rep_daily_digest: null
  manager_weekly_scorecard: null
  monthly_team_review: null
routing:
  reps:
{reps}
    boss: {{team: east, role: manager, hours: always}}
  pools:
    sdrs: [{pool}]
  rules:
    - {{name: everyone, when: {{}}, strategy: round_robin, pool: sdrs}}
  fallback: {{queue: manual}}
  after_hours: {{queue: false, calendar: always}}
channels:
  hook: {{type: webhook, settings: {{url: "{hook_url}", secret: {SECRET}}}}}
"""


# --------------------------------------------------------------------------- webhook receiver


def receiver_main(conn: Any) -> None:
    """A signed-webhook receiver in its own process: records (arrival time, Idempotency-Key,
    effects carried) for every POST /hook; GET /arrivals returns them as JSON."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    arrivals: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            try:
                document = json.loads(body)
            except ValueError:
                document = {}
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            payload = document.get("payload") or {}
            if payload.get("type") == "digest":
                effects = [item.get("effect") or {} for item in payload.get("items") or []]
            else:
                effects = [payload.get("effect") or {}]
            record = {
                "at": at, "key": self.headers.get("Idempotency-Key", ""), "type": payload.get("type"),
                "signed": hmac.compare_digest(self.headers.get("X-Leadclock-Signature", ""), expected),
                "effects": [{"key": e.get("dedupe_key"), "kind": e.get("kind"), "lead": e.get("lead"),
                             "at": e.get("at")} for e in effects],
            }
            with lock:
                arrivals.append(record)
            self._reply(200, b'{"received":true}')

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(arrivals).encode()
            self._reply(200, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    server.serve_forever(0.05)


# --------------------------------------------------------------------------- bare reference app


def bare_app(url: str) -> Any:
    """The floor of the stack: FastAPI + SQLAlchemy/psycopg, one INSERT per request (after the two
    cheapest checks an event API makes, so bench/api_overhead.py can time a refusal too)."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import JSONResponse
    from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, create_engine, text
    from sqlalchemy.dialects.postgresql import insert

    # FastAPI resolves the (postponed, textual) annotations below in this module's globals.
    globals().update(Request=Request, JSONResponse=JSONResponse)
    engine = create_engine(url, pool_pre_ping=True)  # the store's PostgreSQL options
    meta = MetaData()
    table = Table("bench_bare", meta, Column("id", String, primary_key=True), Column("lead", String),
                  Column("type", String), Column("data", JSON), Column("received_at", DateTime(timezone=True)))
    with engine.begin() as connection:  # the processes start together: one creates the table
        connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        meta.create_all(connection)
    app = FastAPI()

    async def body(request: Request) -> Any:
        return json.loads(await request.body())

    def row(raw: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(raw["id"]), "lead": raw.get("lead"), "type": raw.get("type"), "data": raw,
                "received_at": datetime.now(UTC)}

    def refuse(message: str) -> JSONResponse:
        return JSONResponse({"error": {"code": "invalid_event", "message": message, "field": "(event)",
                                       "details": []}}, status_code=422)

    @app.post("/events", status_code=201)
    def one(raw: Any = Depends(body)) -> JSONResponse:  # noqa: B008
        if isinstance(raw, list):
            return refuse("one event object expected")
        if "at" not in raw:
            return refuse("at: is required")
        with engine.begin() as connection:
            connection.execute(insert(table).on_conflict_do_nothing(index_elements=["id"]), [row(raw)])
        return JSONResponse({"status": "accepted", "id": raw["id"]}, status_code=201)

    @app.post("/events:batch")
    def many(raw: Any = Depends(body)) -> dict[str, Any]:  # noqa: B008
        items = raw.get("events") if isinstance(raw, dict) else raw
        with engine.begin() as connection:
            connection.execute(insert(table).on_conflict_do_nothing(index_elements=["id"]), [row(i) for i in items])
        return {"accepted": len(items), "items": [{"index": n, "id": i["id"], "status": "accepted"}
                                                  for n, i in enumerate(items)]}

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def bare_main(url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(url), host="127.0.0.1", port=port, log_level="info")  # as `leadclock serve`


# --------------------------------------------------------------------------- load client


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # when kept
    wall: float = 0.0
    events: int = 0
    errors: int = 0
    sent: list[int] = field(default_factory=list)  # indexes of the bodies sent

    @property
    def rate(self) -> float:
        return self.events / self.wall if self.wall else 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection; only what talking to uvicorn needs."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + self.auth
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length is None:
            raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
        data = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(ports: list[int], path: str, bodies: list[bytes], counts: list[int], concurrency: int,
                token: str | None, keep: bool, seconds: float | None) -> Result:
    result = Result(bodies=[b""] * len(bodies) if keep else [])
    result.statuses = [0] * len(bodies)
    latency = [0.0] * len(bodies)
    order: list[int] = []
    next_index = 0
    begun = time.perf_counter()
    until = begun + seconds if seconds else float("inf")

    async def run(slot: int) -> None:
        nonlocal next_index
        connection = Connection(ports[slot % len(ports)], token)
        try:
            while next_index < len(bodies) and time.perf_counter() < until:
                index = next_index
                next_index += 1
                started = time.perf_counter()
                try:
                    status, data = await connection.post(path, bodies[index])
                except (OSError, asyncio.IncompleteReadError, RuntimeError) as error:
                    status, data = 599, str(error).encode()
                    connection.close()
                latency[index] = time.perf_counter() - started
                result.statuses[index] = status
                order.append(index)
                if keep:
                    result.bodies[index] = data
        finally:
            connection.close()

    await asyncio.gather(*(run(slot) for slot in range(min(concurrency, len(bodies)))))
    result.wall = time.perf_counter() - begun
    result.sent = sorted(order)
    result.latencies = [latency[i] for i in order]
    result.events = sum(counts[i] for i in order if 200 <= result.statuses[i] < 300)
    result.errors = sum(1 for i in order if not 200 <= result.statuses[i] < 300)
    return result


def load(ports: list[int], path: str, bodies: list[bytes], counts: list[int] | None = None, *,
         concurrency: int, token: str | None = None, keep: bool = False, seconds: float | None = None) -> Result:
    """Closed loop: `concurrency` connections spread over `ports`, each sending the next body as
    soon as its previous answer is in, until the bodies run out or `seconds` have passed (the
    requests in flight then are waited for and counted)."""
    return asyncio.run(_load(ports, path, bodies, counts or [1] * len(bodies), concurrency, token, keep, seconds))


# --------------------------------------------------------------------------- events


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]


def created(event_id: str, lead: str, at: datetime, source: str = "bench_slow", n: int = 0) -> dict[str, Any]:
    company = COMPANIES[n % len(COMPANIES)]
    return {"id": event_id, "type": "lead.created", "at": iso(at), "lead": lead, "source": source,
            "company": f"{company} {n % 997}", "email": f"user{n}@{company.lower()}.example.com",
            "country": "JP", "employees": 50 + n % 2000, "title": "Manager"}


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- processes


class Processes:
    """Child processes this run started; stopped by their own handles, never by name."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.children.append((name, child))
        return child

    def stop(self, child: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
        self.children = [(n, c) for n, c in self.children if c is not child]

    def stop_all(self) -> None:
        for _, child in list(reversed(self.children)):
            self.stop(child)


def wait_http(port: int, path: str = "/healthz", timeout: float = 60.0, child: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {child.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


class Profiler:
    """py-spy record on given pids for the length of a phase (raw collapsed stacks + SVG)."""

    def __init__(self, directory: Path | None, procs: Processes) -> None:
        self.directory = directory
        self.procs = procs
        self.py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")

    @contextlib.contextmanager
    def record(self, name: str, pids: dict[str, int]) -> Any:
        if self.directory is None or self.py_spy is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        started = []
        for label, pid in pids.items():
            for fmt, suffix in (("raw", "txt"), ("flamegraph", "svg")):
                out = self.directory / f"{name}-{label}.{suffix}"
                started.append(self.procs.start(f"py-spy-{name}-{label}-{fmt}", [
                    self.py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", fmt,
                    "--output", str(out), "--nonblocking"]))
        time.sleep(1.0)  # attached
        try:
            yield
        finally:
            for child in started:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            for child in started:
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
                self.procs.children = [(n, c) for n, c in self.procs.children if c is not child]
            print(f"  profiles: {', '.join(sorted(str(p) for p in self.directory.glob(name + '-*')))}")


# --------------------------------------------------------------------------- database


def group_sizes(ports: list[int], token: str) -> tuple[int, int]:
    """(ingest transactions, deliveries) summed over the API processes' /metrics."""
    transactions = deliveries = 0
    for port in ports:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            for line in answer.read().decode().splitlines():
                name, _, value = line.partition(" ")
                if name == "leadclock_ingest_transactions_total":
                    transactions += int(float(value))
                elif name == "leadclock_ingest_deliveries_total":
                    deliveries += int(float(value))
    return transactions, deliveries


def db_url(admin_url: str, name: str, driver: str = "postgresql+psycopg") -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(drivername=driver, database=name).render_as_string(hide_password=False)


def recreate_database(admin_url: str, name: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(db_url(admin_url, "postgres", "postgresql"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


class Db:
    """The run's own checks, on a connection of its own (reopened once if the server restarted)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = self._connect()
        self.started = self.server_start()

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        import psycopg

        deadline = time.monotonic() + 120
        while True:
            try:
                return self.connection.execute(sql, args)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                with contextlib.suppress(Exception):
                    self.connection.close()
                time.sleep(1.0)
                with contextlib.suppress(psycopg.OperationalError):
                    self.connection = self._connect()

    def one(self, sql: str, *args: Any) -> Any:
        return self._run(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[Any]:
        return self._run(sql, args).fetchall()

    def server_start(self) -> datetime:
        value: datetime = self.one("SELECT pg_postmaster_start_time()")[0]
        return value

    def restarted(self) -> bool:
        """Did the PostgreSQL server restart since this run began (someone else's doing)?"""
        return self.server_start() != self.started

    def open_clocks(self) -> int:
        return int(self.one("SELECT count(*) FROM clocks WHERE outcome = 'open' AND stopped_at IS NULL")[0])

    def assigned(self, leads: list[str]) -> tuple[int, int, int]:
        """(leads with exactly one lead.assigned event, leads with more, leads stored with an owner)"""
        rows = self.all("SELECT lead, count(*) FROM events WHERE type = 'lead.assigned' AND lead = ANY(%s) "
                        "GROUP BY lead", leads)
        owners = self.one("SELECT count(*) FROM leads WHERE id = ANY(%s) AND owner IS NOT NULL", leads)[0]
        return sum(1 for _, n in rows if n == 1), sum(1 for _, n in rows if n > 1), int(owners)


# --------------------------------------------------------------------------- phases


@dataclass
class Figures:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # name, value, target, met, reference

    def add(self, name: str, value: str, target: str = "", met: bool | None = None, reference: str = "") -> None:
        self.rows.append((name, value, target, "" if met is None else ("yes" if met else "NO"), reference))

    def table(self) -> str:
        heads = ("figure", "value", "target", "met", "reference (same run)")
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) for i, h in enumerate(heads)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(lines)


def describe(result: Result, label: str) -> str:
    ms = [x * 1000 for x in result.latencies]
    return (f"{label}: {result.events:,} events in {result.wall:.2f} s -> {result.rate:,.0f} events/s; "
            f"request p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {max(ms, default=0):.1f} ms; "
            f"errors {result.errors}")


def single_bodies(tag: str, n: int, at: datetime) -> tuple[list[bytes], list[str]]:
    leads = [f"{tag}-{i:06d}" for i in range(n)]
    return [dumps(created(f"{lead}-c", lead, at, n=i)) for i, lead in enumerate(leads)], leads


def batch_bodies(tag: str, n_leads: int, per_batch: int, at: datetime) -> tuple[list[bytes], list[int]]:
    bodies, counts = [], []
    for start in range(0, n_leads, per_batch):
        chunk = range(start, min(n_leads, start + per_batch))
        bodies.append(dumps({"events": [created(f"{tag}-{i:06d}-c", f"{tag}-{i:06d}", at, n=i) for i in chunk]}))
        counts.append(len(chunk))
    return bodies, counts


def poller_reference(dues: list[float], period: float = 60.0) -> tuple[float, float, float]:
    """(median over poll phases of the p99 delay, mean delay, worst delay) of a `period` poller."""
    p99s, means, worst = [], [], 0.0
    for step in range(600):
        phase = step * period / 600
        delays = [(phase - due) % period for due in dues]
        p99s.append(pct(delays, 99))
        means.append(sum(delays) / len(delays))
        worst = max(worst, max(delays))
    return median(p99s), sum(means) / len(means), worst


Lead = tuple[str, datetime | None, str | None, str]  # id, at (None: when ingested), rep (None: routed), source


def bulk_main(url: str, tag: str, leads: list[Lead], per_call: int = 500) -> None:
    """Set-up, not a measurement: ingest `leads` (id, at, rep, source) through `Live.ingest` in
    this process, the service's own write path: lead.created, plus lead.assigned when a rep is
    given (else the router assigns the lead, as in production: one routing decision and its
    audit entry per lead, so the tables the service reads are as large as they would be).

    Where the code under test does not cache `Policy.version` (before commit 0b04b0d), it is
    memoised in THIS process only: it is a pure content hash, so the stored result is identical,
    but uncached it costs 1-4 ms per call (a model_dump + JSON + SHA-256 of the whole policy) and
    is called several times per event, which would make loading 100,000 leads take hours. The
    measured service processes always run the code as it is."""
    from leadclock.engine import parse_event
    from leadclock.policy import Policy
    from leadclock.service.live import Live
    from leadclock.store import Store

    declared = Policy.__dict__.get("version")
    if isinstance(declared, property):  # not cached by the model itself (before 0b04b0d)
        compute = declared.fget
        assert compute is not None
        memo: dict[int, tuple[Any, str]] = {}

        def version(self: Any) -> str:
            hit = memo.get(id(self))
            if hit is None or hit[0] is not self:
                hit = memo[id(self)] = (self, compute(self))
            return hit[1]

        Policy.version = property(version)  # type: ignore[method-assign,assignment]
    with Store(url) as store:
        live = Live(store)
        for begin in range(0, len(leads), per_call):
            events = []
            now = datetime.now(UTC)
            for n, (lead, when, rep, source) in enumerate(leads[begin:begin + per_call], start=begin):
                at = when or now
                events.append(parse_event(created(f"{lead}-c", lead, at, source, n=n)))
                if rep is not None:
                    events.append(parse_event({"id": f"{lead}-a", "type": "lead.assigned", "at": iso(at),
                                               "lead": lead, "rep": rep}))
            for attempt in range(30):
                try:
                    live.ingest(events, datetime.now(UTC), "bench-setup")
                    break
                except Exception as error:  # e.g. the server restarted: the transaction rolled back
                    if attempt == 29:
                        raise
                    print(f"bulk loader {tag}: {type(error).__name__}; retrying", file=sys.stderr, flush=True)
                    time.sleep(2.0)


def bulk_load(url: str, leads: list[Lead], processes: int) -> float:
    """`bulk_main` in `processes` spawned processes; returns the seconds it took. (Routed leads
    take the router's lock, so those loaders overlap only outside it.)"""
    begun = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    share = -(-len(leads) // max(1, processes))
    workers = [ctx.Process(target=bulk_main, args=(url, f"bulk{i}", leads[i * share:(i + 1) * share]))
               for i in range(processes) if leads[i * share:(i + 1) * share]]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError(f"bulk loader exited with {worker.exitcode}")
    return time.perf_counter() - begun


def code_under_test() -> str:
    import leadclock

    where = Path(leadclock.__file__).resolve().parent
    text = str(where)
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True).stdout.strip().splitlines()
        text += f" (git {head}{f', {len(dirty)} uncommitted file(s) under it' if dirty else ', clean'})"
    except (OSError, subprocess.CalledProcessError):
        text += " (not a git checkout)"
    return text


def wait_healthy(ports: list[int], timeout: float = 120.0) -> None:
    """Until every API process says its database is reachable again."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    if json.loads(response.read()).get("database", {}).get("ok"):
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)


def measured(db: Db, ports: list[int], label: str, run: Any, attempts: int = 3) -> Any:
    """`run(attempt)` -> Result; repeated (with fresh ids) when the PostgreSQL server restarted
    during it or the service answered 503 (database unavailable): this server is shared, and
    other users restart it."""
    result = None
    for attempt in range(attempts):
        before = db.server_start()
        result = run(attempt)
        after = db.server_start()
        unavailable = sum(1 for i in result.sent if result.statuses[i] in (503, 599))
        if before == after and not unavailable:
            return result
        print(f"  ({label}: the PostgreSQL server restarted or was unavailable during the run "
              f"({unavailable} answers 503/no answer); repeating it)")
        wait_healthy(ports)
    return result


@dataclass
class Breach:
    dues: dict[str, datetime]
    delivered: dict[str, list[float]]
    latencies_ms: list[float]
    missing: int
    duplicated: int
    restarted: bool


def breach_phase(db: Db, url: str, hook_port: int, worker_pid: int, profiler: Profiler, tag: str, n_fast: int,
                 window: float, pace: float, loaders: int) -> Breach:
    # The short deadlines must all still be ahead when their load finishes: lead-in from the
    # set-up's own pace plus the loaders' start-up, generously.
    lead_in = 10.0 + 3 * (n_fast / pace + 3.0)
    first_due = datetime.now(UTC) + timedelta(seconds=lead_in)
    rng = random.Random(7)
    fast: list[Lead] = []
    for i in range(n_fast):
        due = first_due + timedelta(seconds=window * i / n_fast + rng.uniform(0, window / n_fast))
        fast.append((f"{tag}-{i:05d}", due - FAST_TARGET, f"rep{i % N_REPS:02d}", "bench_fast"))
    started = db.server_start()
    took = bulk_load(url, fast, loaders)
    loaded = datetime.now(UTC)
    dues = {lead: due for lead, due in db.all(
        "SELECT lead, due_at FROM clocks WHERE stage = 'first_contact' AND outcome = 'open' AND lead = ANY(%s)",
        [lead for lead, *_ in fast])}
    print(f"\n[4] breach latency: {len(dues):,} deadlines over {window:.0f} s, {db.open_clocks():,} open clocks "
          f"(short-deadline leads loaded through Live.ingest in {took:.1f} s; first due "
          f"{(min(dues.values()) - loaded).total_seconds():.1f} s after that)")
    if len(dues) < n_fast:
        print(f"  WARNING: {n_fast - len(dues)} deadlines had passed before their load finished; left out")
    last_due = max(dues.values())
    arrivals: list[dict[str, Any]] = []

    def fetch() -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{hook_port}/arrivals", timeout=30) as response:
            found: list[dict[str, Any]] = json.loads(response.read())
            return found

    with profiler.record("breach", {"worker": worker_pid}):
        while datetime.now(UTC) < last_due + timedelta(seconds=30):
            time.sleep(1.0)
            if datetime.now(UTC) < last_due + timedelta(seconds=2):
                continue
            arrivals = fetch()
            seen = {e["lead"] for a in arrivals for e in a["effects"] if e["kind"] == "clock_breached"}
            if set(dues) <= seen:
                time.sleep(3.0)  # late duplicates, if any, would arrive now
                break
    arrivals = fetch()
    delivered: dict[str, list[float]] = {}
    keys: dict[str, int] = {}
    mine = [a for a in arrivals if any(e["lead"] in dues for e in a["effects"])]
    for arrival in mine:
        keys[arrival["key"]] = keys.get(arrival["key"], 0) + 1
        for effect in arrival["effects"]:
            if effect["kind"] == "clock_breached" and effect["lead"] in dues:
                delivered.setdefault(effect["lead"], []).append(arrival["at"])
    latencies = [(min(times) - dues[lead].timestamp()) * 1000 for lead, times in delivered.items()]
    missing = len(set(dues) - set(delivered))
    duplicated = sum(len(t) - 1 for t in delivered.values())
    stray = sum(1 for a in arrivals for e in a["effects"]
                if e["kind"] == "clock_breached" and not str(e["lead"]).startswith("fast"))
    stored = db.one("SELECT count(*), count(DISTINCT lead) FROM effects WHERE kind = 'clock_breached' "
                    "AND lead LIKE %s", f"{tag}-%")
    others = db.one("SELECT count(*) FROM effects WHERE kind = 'clock_breached' AND lead NOT LIKE 'fast%%'")[0]
    worker_ms, sender_ms = [], []
    statuses: dict[str, int] = {}
    for created_at, payload, status in db.all("SELECT created_at, payload, status FROM outbox WHERE channel = 'hook'"):
        items = payload.get("items") if payload.get("type") == "digest" else [payload]
        counted = False
        for item in items or []:
            effect = item.get("effect") or {}
            lead = effect.get("lead")
            if lead in dues and effect.get("kind") == "clock_breached":
                counted = True
                worker_ms.append((created_at - dues[lead]).total_seconds() * 1000)
                if lead in delivered:
                    sender_ms.append((min(delivered[lead]) - created_at.timestamp()) * 1000)
        if counted:
            statuses[status] = statuses.get(status, 0) + 1
    print(f"  deliveries {len(mine):,} ({sum(1 for a in mine if a['type'] == 'digest')} digests, "
          f"{sum(1 for a in mine if not a['signed'])} badly signed); breaches delivered {len(delivered):,}/"
          f"{len(dues):,}, missing {missing}, duplicated {duplicated}, repeated Idempotency-Keys "
          f"{sum(n - 1 for n in keys.values())}; breaches of the far-deadline leads: delivered {stray}, stored {others}")
    print(f"  DB: clock_breached effects {stored[0]:,} on {stored[1]:,} leads; their outbox rows by status {statuses}")
    print(f"  due_at -> receiver: p50 {pct(latencies, 50):.0f} ms, p90 {pct(latencies, 90):.0f} ms, "
          f"p99 {pct(latencies, 99):.0f} ms, max {max(latencies, default=float('nan')):.0f} ms")
    print(f"    due_at -> outbox row stamped (worker round start): p50 {pct(worker_ms, 50):.0f} ms, "
          f"p99 {pct(worker_ms, 99):.0f} ms; stamp -> receiver (rest of the round, commit, sender): "
          f"p50 {pct(sender_ms, 50):.0f} ms, p99 {pct(sender_ms, 99):.0f} ms")
    late = sorted((dues[lead] - first_due).total_seconds() for lead, times in delivered.items()
                  if min(times) - dues[lead].timestamp() > 0.5)
    if late:
        spans: list[list[float]] = [[late[0], late[0], 0]]
        for offset in late:
            if offset - spans[-1][1] > 2.0:
                spans.append([offset, offset, 0])
            spans[-1][1] = offset
            spans[-1][2] += 1
        print("    breaches later than 500 ms, by due time (s after the first deadline): "
              + ", ".join(f"{a:.1f}-{b:.1f} s ({int(n)})" for a, b, n in spans))
    return Breach(dues, delivered, latencies, missing, duplicated, db.server_start() != started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute on a service that meets its targets)")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL URL used to create/drop the benchmark database")
    parser.add_argument("--database", default="lc_bench")
    parser.add_argument("--api-procs", type=int, default=2, help="leadclock serve --api-only processes")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (single-event phases)")
    parser.add_argument("--batch-concurrency", type=int, default=2, help="batches in flight")
    parser.add_argument("--repeat", type=int, default=None, help="runs per ingest figure (default 3; 1 with --quick)")
    parser.add_argument("--seconds", type=float, default=None, help="length of each single-event run (default 20; 5 with --quick)")
    parser.add_argument("--batches", type=int, default=None, help="batches of 1,000 per batch run (default 10; 2 with --quick)")
    parser.add_argument("--open-clocks", type=int, default=None, help="open clocks in the breach phase (default 100,000; 10,000 with --quick)")
    parser.add_argument("--deadlines", type=int, default=None, help="deadlines in the breach window (default 1,000; 200 with --quick)")
    parser.add_argument("--window", type=float, default=None, help="seconds the deadlines are spread over (default 60; 20 with --quick)")
    parser.add_argument("--loaders", type=int, default=2, help="processes loading the open clocks (set-up)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    parser.add_argument("--profile", type=Path, default=None, help="write py-spy profiles here")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_main(args.db, args.port)
        return 0

    quick = args.quick
    repeat = args.repeat or (1 if quick else 3)
    seconds = args.seconds or (5.0 if quick else 20.0)
    n_batches = args.batches or (2 if quick else 10)
    open_target = args.open_clocks or (10_000 if quick else 100_000)
    n_fast = args.deadlines or (200 if quick else 1_000)
    window = args.window or (20.0 if quick else 60.0)
    max_single = 50_000  # bodies prepared per single-event run (the run stops at `seconds`)
    cores = os.cpu_count()
    begun_all = time.perf_counter()
    print(f"leadclock service benchmark ({'quick' if quick else 'full'}); os.cpu_count() = {cores}")
    print(f"code under test: {code_under_test()}")
    print(f"uptime before: {uptime()}")
    print(f"API processes: {args.api_procs}; single-event concurrency {args.concurrency} for {seconds:.0f} s per run; "
          f"batch concurrency {args.batch_concurrency}, {n_batches} batches per run; repeats {repeat}")

    logs = Path(tempfile.mkdtemp(prefix="lc_bench_logs_"))
    procs = Processes(logs)
    profiler = Profiler(args.profile, procs)
    figures = Figures()
    url = db_url(args.admin_url, args.database)
    recreate_database(args.admin_url, args.database)
    ctx = multiprocessing.get_context("fork")  # before any database connection of this process
    parent_end, child_end = ctx.Pipe()
    receiver = ctx.Process(target=receiver_main, args=(child_end,), daemon=True)
    receiver.start()
    hook_port = parent_end.recv()
    leadclock = str(VENV_BIN / "leadclock")
    try:
        # ---------------------------------------------------------------- set-up
        subprocess.run([leadclock, "db", "upgrade", "--db", url], check=True, capture_output=True)
        token = subprocess.run([leadclock, "token", "create", "--role", "admin", "--db", url, "--name", "bench"],
                               check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        from leadclock.policy import load_policy_text
        from leadclock.store import Store

        text = policy_text(f"http://127.0.0.1:{hook_port}/hook")
        with Store(url) as store:
            store.save_policy(load_policy_text(text), text)
            for i in range(N_REPS):
                store.upsert_rep(f"rep{i:02d}", team="east", role="sdr", manager="boss", contact={"channels": ["hook"]})
            store.upsert_rep("boss", team="east", role="manager", contact={"channels": ["hook"]})
        db = Db(db_url(args.admin_url, args.database, "postgresql"))

        # ---------------------------------------------------------------- 1. reference: bare app
        print("\n[1] reference: bare FastAPI app (uvicorn, sync route, SQLAlchemy/psycopg), one INSERT per request")
        bare_ports = [free_port() for _ in range(args.api_procs)]
        bare = [procs.start(f"bare-{p}", [sys.executable, str(Path(__file__).resolve()), "--bare-server",
                                          "--port", str(p), "--db", url]) for p in bare_ports]
        for port, child in zip(bare_ports, bare, strict=True):
            wait_http(port, child=child)
        load(bare_ports, "/events", [dumps(created(f"warm-{i}", f"warm-{i}", datetime.now(UTC))) for i in range(100)],
             concurrency=args.concurrency)  # connections, pools, first-request costs
        bare_single: list[Result] = []
        bare_batch: list[Result] = []
        for run in range(repeat):
            result = measured(db, bare_ports, "bare single", lambda attempt, run=run: load(
                bare_ports, "/events", single_bodies(f"bare{run}.{attempt}", max_single, datetime.now(UTC))[0],
                concurrency=args.concurrency, seconds=seconds))
            bare_single.append(result)
            print("  " + describe(result, f"run {run + 1} single"))
        for run in range(repeat):
            def bare_batches(attempt: int, run: int = run) -> Result:
                bodies, counts = batch_bodies(f"bareb{run}.{attempt}", n_batches * 1000, 1000, datetime.now(UTC))
                return load(bare_ports, "/events:batch", bodies, counts, concurrency=args.batch_concurrency)
            result = measured(db, bare_ports, "bare batch", bare_batches)
            bare_batch.append(result)
            print("  " + describe(result, f"run {run + 1} batch"))
        for child in bare:
            procs.stop(child)

        # ---------------------------------------------------------------- set-up: open clocks
        # The batch phase adds routed far-deadline leads too: the set-up leaves room for them so
        # that the breach phase starts near `open_target` open clocks (topped up before it).
        n_far = max(0, open_target - n_fast - repeat * n_batches * 1000)
        far: list[Lead] = [(f"far-{i:06d}", None, None, "bench_slow") for i in range(n_far)]
        setup_seconds = bulk_load(url, far, args.loaders)
        print(f"\nset-up: {n_far:,} far-deadline leads (routed) through Live.ingest in {args.loaders} process(es) "
              f"in {setup_seconds:.0f} s (not a measurement); open clocks: {db.open_clocks():,}")

        # ---------------------------------------------------------------- the service
        env = {"LEADCLOCK_API_RATE_LIMIT_PER_SECOND": "1000000", "LEADCLOCK_API_RATE_LIMIT_BURST": "1000000"}
        api_ports = [free_port() for _ in range(args.api_procs)]
        apis = [procs.start(f"api-{p}", [leadclock, "serve", "--api-only", "--db", url, "--host", "127.0.0.1",
                                         "--port", str(p)], env) for p in api_ports]
        for port, child in zip(api_ports, apis, strict=True):
            wait_http(port, child=child)
        worker = procs.start("worker", [leadclock, "worker", "--db", url])
        print(f"service: {args.api_procs} x `leadclock serve --api-only` on ports {api_ports} (pids "
              f"{[c.pid for c in apis]}), `leadclock worker` (pid {worker.pid}); logs in {logs}")
        warm = [dumps(created(f"warm-{i}-c", f"warm-{i}", datetime.now(UTC), n=i)) for i in range(8 * args.api_procs)]
        load(api_ports, "/events", warm, concurrency=2 * args.api_procs, token=token)
        pids = {f"api{i}": c.pid for i, c in enumerate(apis)} | {"worker": worker.pid}

        # ---------------------------------------------------------------- 2. batches
        print(f"\n[2] batch ingest: lead.created (routed, far deadline) through POST /events:batch, 1,000 per request, "
              f"{n_batches} per run")
        batch_runs: list[Result] = []
        for run in range(repeat):
            def batches(attempt: int, run: int = run) -> Result:
                bodies, counts = batch_bodies(f"batch{run}.{attempt}", n_batches * 1000, 1000, datetime.now(UTC))
                with profiler.record("batch", pids) if run == 0 and attempt == 0 else contextlib.nullcontext():
                    return load(api_ports, "/events:batch", bodies, counts, concurrency=args.batch_concurrency,
                                token=token)
            result = measured(db, api_ports, "batch", batches)
            batch_runs.append(result)
            print("  " + describe(result, f"run {run + 1}"))

        # ---------------------------------------------------------------- 3. single events
        print(f"\n[3] single-event ingest: POST /events, closed loop, concurrency {args.concurrency}, {seconds:.0f} s per run")
        unloaded = measured(db, api_ports, "unloaded", lambda attempt: load(
            api_ports, "/events", single_bodies(f"idle.{attempt}", 2000, datetime.now(UTC))[0], concurrency=1,
            token=token, seconds=min(seconds, 5.0)))
        print("  " + describe(unloaded, "lead.created, one request at a time (unloaded latency)"))
        single_created: list[Result] = []
        single_activity: list[Result] = []
        assign_ms: list[float] = []
        assign_checked = assign_good = 0
        for run in range(repeat):
            leads_of: dict[int, list[str]] = {}

            def creations(attempt: int, run: int = run, leads_of: dict[int, list[str]] = leads_of) -> Result:
                bodies, leads_of[attempt] = single_bodies(f"one{run}.{attempt}", max_single, datetime.now(UTC))
                with profiler.record("single-created", pids) if run == 0 and attempt == 0 else contextlib.nullcontext():
                    return load(api_ports, "/events", bodies, concurrency=args.concurrency, token=token, keep=True,
                                seconds=seconds)
            result = measured(db, api_ports, "lead.created", creations)
            leads = leads_of[max(leads_of)]
            sent = [leads[i] for i in result.sent]
            owners = {}
            for i in result.sent:
                if result.statuses[i] == 201:
                    owner = (json.loads(result.bodies[i]).get("assignment") or {}).get("owner")
                    if owner:
                        owners[leads[i]] = owner
            one, more, stored = db.assigned(sent)
            assign_checked += len(sent)
            assign_good += min(len(owners), one, stored)
            single_created.append(result)
            assign_ms.extend(x * 1000 for x in result.latencies)
            print("  " + describe(result, f"run {run + 1} lead.created") +
                  f"\n    answers with an owner {len(owners):,}/{len(sent):,}; DB: leads with one lead.assigned "
                  f"event {one:,}, with more {more}, stored with an owner {stored:,}")
            result.bodies = []

            def activities(attempt: int, run: int = run, sent: list[str] = sent, owners: dict[str, str] = owners) -> Result:
                now = datetime.now(UTC)
                follow = [dumps({"id": f"{lead}-a{attempt}", "type": "activity", "at": iso(now), "lead": lead,
                                 "rep": owners.get(lead, "rep00"), "channel": "call", "outcome": "no_answer"})
                          for lead in sent]
                with profiler.record("single-activity", pids) if run == 0 and attempt == 0 else contextlib.nullcontext():
                    return load(api_ports, "/events", follow, concurrency=args.concurrency, token=token, seconds=seconds)
            result = measured(db, api_ports, "activity", activities)
            single_activity.append(result)
            print("  " + describe(result, f"run {run + 1} activity (on those leads)"))

        grouped = group_sizes(api_ports, token)
        print(f"  group commit so far (all phases, every API process): {grouped[1]:,} requests in {grouped[0]:,} "
              f"transactions, {grouped[1] / max(1, grouped[0]):.1f} per transaction")

        # ---------------------------------------------------------------- 4. breach latency
        pace = n_far / setup_seconds if n_far and setup_seconds else 200.0
        short = open_target - n_fast - db.open_clocks()
        if short > 0:
            more: list[Lead] = [(f"fill-{i:06d}", None, None, "bench_slow") for i in range(short)]
            took = bulk_load(url, more, args.loaders)
            print(f"\nset-up: {short:,} more far-deadline leads through Live.ingest in {took:.0f} s (not a measurement)")
        breach = breach_phase(db, url, hook_port, worker.pid, profiler, "fast", n_fast, window, pace, args.loaders)
        if breach.restarted:
            print("  (the PostgreSQL server restarted during the breach phase - another user of this server; repeating it)")
            wait_healthy(api_ports)
            breach = breach_phase(db, url, hook_port, worker.pid, profiler, "fast2", n_fast, window, pace, args.loaders)
        poll_p99, poll_mean, poll_worst = poller_reference([d.timestamp() for d in breach.dues.values()])
        print(f"  a 60 s poller on the same deadlines: p99 {poll_p99:.1f} s, mean {poll_mean:.1f} s, worst {poll_worst:.1f} s")

        # ---------------------------------------------------------------- summary
        def rate(runs: list[Result]) -> float:
            return median([r.rate for r in runs])

        def p99_ms(runs: list[Result]) -> float:
            return median([pct(r.latencies, 99) * 1000 for r in runs])

        def ratio(a: float, b: float, fmt: str = ".2f") -> str:
            return format(a / b, fmt) if b else "n/a"

        bare_rate, bare_p99, bare_batch_rate = rate(bare_single), p99_ms(bare_single), rate(bare_batch)
        c_rate, c_p99 = rate(single_created), p99_ms(single_created)
        a_rate, a_p99 = rate(single_activity), p99_ms(single_activity)
        b_rate, b_p99 = rate(batch_runs), p99_ms(batch_runs)
        assign_p99, idle_p99 = pct(assign_ms, 99), pct(unloaded.latencies, 99) * 1000
        lat = breach.latencies_ms
        p99 = pct(lat, 99)
        ok = not breach.missing and not breach.duplicated
        figures.add("single lead.created, events/s", f"{c_rate:,.0f}", ">= 1,000", c_rate >= 1000,
                    f"bare {bare_rate:,.0f}/s; ours/bare {ratio(c_rate, bare_rate)}")
        figures.add("single lead.created, request p99 ms", f"{c_p99:,.1f}", "<= 50", c_p99 <= 50,
                    f"bare {bare_p99:.1f} ms; ours/bare {ratio(c_p99, bare_p99, '.1f')}")
        figures.add("single activity, events/s", f"{a_rate:,.0f}", ">= 1,000", a_rate >= 1000,
                    f"bare {bare_rate:,.0f}/s; ours/bare {ratio(a_rate, bare_rate)}")
        figures.add("single activity, request p99 ms", f"{a_p99:,.1f}", "<= 50", a_p99 <= 50,
                    f"bare {bare_p99:.1f} ms; ours/bare {ratio(a_p99, bare_p99, '.1f')}")
        figures.add("batch lead.created, events/s", f"{b_rate:,.0f}", ">= 20,000", b_rate >= 20000,
                    f"bare batch {bare_batch_rate:,.0f}/s; ours/bare {ratio(b_rate, bare_batch_rate, '.3f')}")
        figures.add("batch request (1,000 events) p99 ms", f"{b_p99:,.0f}", "", None, "")
        figures.add("lead.created -> assignment p99 ms (loaded)", f"{assign_p99:,.1f}", "<= 100",
                    assign_p99 <= 100 and assign_good == assign_checked,
                    f"{assign_good:,}/{assign_checked:,} answered with an owner, assigned once, stored")
        figures.add("lead.created -> assignment p99 ms (unloaded)", f"{idle_p99:,.1f}", "<= 100", idle_p99 <= 100,
                    "one request at a time")
        figures.add("breach due_at -> receiver p99 ms", f"{p99:,.0f}", "<= 1,000", p99 <= 1000 and ok,
                    f"60 s poller p99 {poll_p99:.1f} s; ours/poller {ratio(p99 / 1000, poll_p99, '.4f')}")
        figures.add("breach due_at -> receiver p50 ms", f"{pct(lat, 50):,.0f}", "", None,
                    f"poller mean {poll_mean:.1f} s (worst {poll_worst:.0f} s); "
                    f"ours/poller {ratio(pct(lat, 50) / 1000, poll_mean, '.4f')}")
        figures.add("breaches missing / duplicated", f"{breach.missing} / {breach.duplicated}", "0 / 0", ok,
                    f"{len(breach.delivered):,}/{len(breach.dues):,} delivered")
        print(f"\nsummary ({'quick' if quick else 'full'} run, {time.perf_counter() - begun_all:.0f} s; "
              f"os.cpu_count() = {cores}; {args.api_procs} API process(es) + 1 worker + receiver + client + "
              f"PostgreSQL on this machine; ingest figures are medians of {repeat} run(s); "
              f"{db.open_clocks() + len(breach.dues):,} open clocks at the start of the breach phase)")
        print(figures.table())
        print(f"uptime after: {uptime()}")
        if db.restarted():
            print(f"note: the PostgreSQL server restarted during this run (up since {db.server_start()}); "
                  "runs it disturbed were repeated")
        return 0 if all(r[3] != "NO" for r in figures.rows) else 1
    finally:
        procs.stop_all()
        receiver.terminate()
        receiver.join(5)
        if not args.keep:
            with contextlib.suppress(Exception):
                recreate_database(args.admin_url, args.database, drop_only=True)
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
