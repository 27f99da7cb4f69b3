"""Helpers for tests/test_reliability.py: a recording webhook receiver, `leadclock` subprocesses
that can be SIGKILLed, an HTTP client that retries like a real CRM integration, and PostgreSQL
server control (restart, fresh schemas).

Nothing here is specific to one test; the scenarios themselves live in test_reliability.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

# --------------------------------------------------------------------------- waiting


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def poll(condition: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Like `wait_for`, but False on timeout instead of failing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- webhook receiver


@dataclass
class Attempt:
    """One request the receiver answered (or was answering when its caller died)."""

    key: str
    status: int
    document: dict[str, Any]
    at: float  # time.monotonic()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def covered(self) -> list[str]:
        """The planned item keys this message carries: itself, or a digest's members."""
        payload = self.document.get("payload") or {}
        if payload.get("type") == "digest":
            return [str(item["key"]) for item in payload.get("items", [])]
        return [str(payload.get("key") or self.document.get("id"))]


@dataclass
class WebhookReceiver:
    """A signed-webhook receiver on 127.0.0.1 that records every attempt with the answer it gave.

    It behaves like an idempotent production receiver: a repeated Idempotency-Key is answered
    2xx (refusing it would dead-letter the row); the tests decide which repeats are allowed.
    Modes: "up" (200), "unavailable" (503); `stop()` closes the port (connection refused).
    `hold_at=n` makes the n-th request block after it was recorded as received, until
    `release` is set: the test kills the caller between its send and its bookkeeping.
    """

    secret: str
    port: int = 0
    mode: str = "up"
    delay: float = 0.0  # seconds per request: a slower receiver makes a longer storm
    hold_at: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    held_key: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    requests: int = 0

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reply = receiver.handle(self.path, dict(self.headers.items()), body)
                with contextlib.suppress(OSError):  # the caller may have been killed meanwhile
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.delay:
            time.sleep(self.delay)
        key = headers.get("Idempotency-Key", "")
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        hold = False
        with self.lock:
            self.requests += 1
            if path != "/hook":
                self.problems.append(f"unexpected request to {path}")
                return 404, b"{}"
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(headers.get("X-Leadclock-Signature", ""), expected):
                self.problems.append(f"bad signature for {key!r}")
            if not key or key != document.get("id"):
                self.problems.append(f"Idempotency-Key {key!r} is not the message id {document.get('id')!r}")
            status = 200 if self.mode == "up" else 503
            self.attempts.append(Attempt(key, status, document, time.monotonic()))
            if status == 200 and self.hold_at is not None and self.requests == self.hold_at:
                hold, self.held_key = True, key
        if hold:
            self.held.set()
            self.release.wait(120)
        if status == 200:
            return 200, b'{"received":true}'
        return status, b'{"error":"unavailable"}'

    # ---------------------------------------------------------------- reading

    def snapshot(self) -> list[Attempt]:
        with self.lock:
            return list(self.attempts)

    def ok_counts(self) -> Counter[str]:
        return Counter(a.key for a in self.snapshot() if a.ok)


# --------------------------------------------------------------------------- subprocesses


def leadclock_command() -> list[str]:
    """How to run the `leadclock` CLI with this interpreter (the venv's script when present)."""
    script = Path(sys.executable).parent / "leadclock"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from leadclock.cli import app; app()"]


class Service:
    """A `leadclock ...` subprocess with its output in a log file; kill -9 or stop it."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args = [*leadclock_command(), *args]
        self.log_path = log
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Service:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no cleanup, no rollback but the database's own."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time. Safe to call twice."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return process.returncode

    def wait_log(self, text: str, timeout: float) -> None:
        """Wait until the current run logged `text` (e.g. "worker running"); fail if it died."""
        def logged() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.args[1]} exited with {self.process.returncode}\n{self.log_tail()}")
            current = self.log_path.read_text(errors="replace").rsplit("===== start #", 1)[-1]
            return text in current

        wait_for(logged, timeout, 0.1, f"{text!r} in the log")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def api_ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


# --------------------------------------------------------------------------- a retrying client


@dataclass
class Seen:
    """One answer (or failure) the client got."""

    event: str
    outcome: str  # "201", "503", "ConnectError", "ReadTimeout", ...
    seconds: float
    at: float  # time.monotonic() when the request ended


class Poster(threading.Thread):
    """POSTs events one per request, in order; retries each on connection errors, 5xx and 429
    until it is acknowledged (2xx), like a CRM integration with a retry queue. A 4xx other than
    429 is recorded and not retried (the event was refused for what it is)."""

    def __init__(self, base: str, token: str, events: Sequence[dict[str, Any]], *, timeout: float = 60.0,
                 give_up_after: float = 150.0, pause: Callable[[], None] | None = None) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.events = list(events)
        self.timeout = timeout
        self.give_up_after = give_up_after
        self.pause = pause
        self.seen: list[Seen] = []
        self.acked: dict[str, int] = {}  # event id -> the 2xx status that acknowledged it
        self.refused: dict[str, tuple[int, str]] = {}
        self.failure: str | None = None
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                for event in self.events:
                    self._deliver(client, event)
        except Exception as error:  # surfaced by the test, never lost in a thread
            self.failure = f"{type(error).__name__}: {error}"

    def _deliver(self, client: httpx.Client, event: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.give_up_after
        backoff = 0.05
        while True:
            if self.pause is not None:
                self.pause()
            started = time.monotonic()
            try:
                response = client.post(f"{self.base}/events", json=event, headers=self.headers)
                outcome, status = str(response.status_code), response.status_code
            except httpx.TimeoutException as error:
                outcome, status = type(error).__name__, None
            except httpx.TransportError as error:
                outcome, status = type(error).__name__, None
            ended = time.monotonic()
            with self.lock:
                self.seen.append(Seen(event["id"], outcome, ended - started, ended))
            if status is not None and 200 <= status < 300:
                with self.lock:
                    self.acked[event["id"]] = status
                return
            if status is not None and 400 <= status < 500 and status != 429:
                self.refused[event["id"]] = (status, response.text[:300])
                return
            if ended > deadline:
                raise AssertionError(f"event {event['id']} not acknowledged after {self.give_up_after} s "
                                     f"(last: {outcome})")
            time.sleep(backoff)
            backoff = min(backoff * 2, 0.5)

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)

    def outcomes(self) -> Counter[str]:
        with self.lock:
            return Counter(s.outcome for s in self.seen)


# --------------------------------------------------------------------------- PostgreSQL


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema (dropped afterwards), like conftest's
    `postgres_schema_url`, for tests that need more than one database."""
    schema = f"lc_rel_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
               .render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def pg_cluster() -> tuple[str, str] | None:
    """(version, cluster name) of the local Debian-style cluster, or None without one."""
    root = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not root.is_dir():
        return None
    for version in sorted(root.iterdir(), key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()],
                          reverse=True):
        if (version / "main").is_dir():
            return version.name, "main"
    return None


def pg_ready(host: str = "127.0.0.1", port: int = 5432) -> bool:
    if shutil.which("pg_isready") is not None:
        done = subprocess.run(["pg_isready", "-h", host, "-p", str(port), "-t", "2"], capture_output=True, timeout=30)
        if done.returncode != 0:
            return False
    try:
        with psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def pg_ctl(action: str, cluster: tuple[str, str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    version, name = cluster
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
                          capture_output=True, text=True, timeout=timeout)


def ensure_pg_running(cluster: tuple[str, str], timeout: float = 90.0) -> None:
    """Start the server if it is not answering, and wait until it does (other tests need it)."""
    if pg_ready():
        return
    pg_ctl("start", cluster)
    wait_for(pg_ready, timeout, 0.5, "PostgreSQL to accept connections again")


__all__ = [
    "Attempt", "Poster", "Seen", "Service", "WebhookReceiver", "api_ready", "ensure_pg_running",
    "free_port", "leadclock_command", "libpq_url", "pg_cluster", "pg_ctl", "pg_ready", "pg_schema", "poll", "wait_for",
]
