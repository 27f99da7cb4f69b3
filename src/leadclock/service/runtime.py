"""Processes: the embedded service (API + worker + sender in one process) and the scaled-out
parts (`serve --api-only`, `worker`), as `leadclock serve` and `leadclock worker` run them.

The sender's channels come from the active policy's `channels:` and are rebuilt when a new policy
becomes active, so uploading a policy with a new Slack channel needs no restart.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from leadclock.notify.channels import build_channels
from leadclock.notify.errors import NotifyError
from leadclock.notify.outbox import OUTBOX_CHANNEL
from leadclock.notify.sender import Sender
from leadclock.service.heap import settle_heap
from leadclock.service.live import Live, PolicyBook
from leadclock.service.waiting import Waiter
from leadclock.service.worker import Worker
from leadclock.store import Store

log = logging.getLogger("leadclock.service")


def process_name(kind: str) -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


class SenderLoop:
    """Runs a `Sender` for the active policy's channels, rebuilt as soon as the active policy
    changes (checked every round), and sleeps until the next row is due or a writer says rows
    arrived (`Waiter` on `leadclock_outbox`)."""

    def __init__(self, store: Store, name: str, clock: Callable[[], datetime] | None = None,
                 wake: threading.Event | None = None, max_sleep: float = 5.0) -> None:
        self.store = store
        self.name = name
        self.clock = clock or (lambda: datetime.now(UTC))
        self.policies = PolicyBook(store)
        self.waiter = Waiter(store, OUTBOX_CHANNEL, wake)
        self.max_sleep = max_sleep
        self.version: str | None = "(none yet)"
        self.sender: Sender | None = None

    def _current(self) -> Sender:
        policy = self.policies.active()
        version = policy.version if policy is not None else None
        if self.sender is None or version != self.version:
            channels = {}
            if policy is not None:
                try:
                    channels = build_channels(policy, store=self.store, clock=self.clock)
                except NotifyError as error:
                    # Messages for a broken channel wait (then dead-letter with this reason)
                    # rather than stopping every other channel.
                    log.error("sender: channel settings: %s", error)
            self.version = version
            self.sender = Sender(self.store, channels, self.name, self.clock, max_sleep=self.max_sleep)
        return self.sender

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sender = self._current()
                report = sender.run_once(self.clock())
                if report.claimed >= sender.batch:
                    continue
                delay = sender.sleep_for(self.clock())
            except Exception:
                log.exception("sender %s: round failed", self.name)
                self.waiter.close()
                delay = 1.0
            self.waiter.wait(delay, stop)
        self.waiter.close()


def run_background(store: Store, *, worker: bool = True, sender: bool = True,
                   wake: threading.Event | None = None, live: Live | None = None,
                   outbox_wake: threading.Event | None = None,
                   clock: Callable[[], datetime] | None = None, max_sleep: float | None = None,
                   ) -> tuple[threading.Event, list[threading.Thread]]:
    """Start the worker and the sender as threads; set the returned event to stop them.

    `clock` (default: the system clock) is what both call "now": a test runs them on a clock
    that moves faster than real time, with a short `max_sleep` so neither oversleeps it."""
    stop = threading.Event()
    threads = []
    outbox_wake = outbox_wake or threading.Event()
    if worker:
        loop = Worker(store, name=process_name("worker"), wake=wake, live=live, clock=clock,
                      **({"max_sleep": max_sleep} if max_sleep is not None else {}))
        loop.live.outbox_wake = outbox_wake  # the sender hears of the worker's messages at once
        threads.append(threading.Thread(target=loop.run, args=(stop,), name="leadclock-worker", daemon=True))
    if sender:
        outbox = SenderLoop(store, process_name("sender"), wake=outbox_wake, clock=clock,
                            **({"max_sleep": max_sleep} if max_sleep is not None else {}))
        threads.append(threading.Thread(target=outbox.run, args=(stop,), name="leadclock-sender", daemon=True))
    for thread in threads:
        thread.start()
    return stop, threads


def serve(url: str, host: str, port: int, *, api_only: bool = False,
          companions: Sequence[Callable[[Live, threading.Event], None]] = ()) -> None:
    """The API with uvicorn; unless `api_only`, the worker and the sender in the same process.

    Each of `companions` runs in a thread of its own with the app's `Live` (so what it writes
    wakes the embedded worker and sender at once) until the server stops (`leadclock demo`
    feeds live leads this way)."""
    import uvicorn

    from leadclock.api.app import create_app
    from leadclock.api.settings import ApiSettings

    app = create_app(url, settings=ApiSettings.from_env())
    context = app.state.leadclock
    stop: threading.Event | None = None
    threads: list[threading.Thread] = []
    if not api_only:
        wake, outbox_wake = threading.Event(), threading.Event()
        context.live.wake = wake
        context.live.outbox_wake = outbox_wake
        stop, threads = run_background(context.store, wake=wake, outbox_wake=outbox_wake)
    if companions:
        stop = stop or threading.Event()
        for index, companion in enumerate(companions):
            thread = threading.Thread(target=companion, args=(context.live, stop),
                                      name=f"leadclock-companion-{index}", daemon=True)
            thread.start()
            threads.append(thread)
    settle_heap()  # start-up is over: see service/heap.py
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if stop is not None:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)


def run_worker(url: str, *, sender: bool = True) -> None:
    """`leadclock worker`: the worker (and the sender) until SIGINT/SIGTERM."""
    store = Store(url)
    store.upgrade()
    settle_heap()
    stop, threads = run_background(store, sender=sender)

    def _stop(*_args: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker running against %s", store.engine.url.render_as_string(hide_password=True))
    while not stop.wait(0.5):
        if not any(thread.is_alive() for thread in threads):
            break
    for thread in threads:
        thread.join(timeout=10)
    store.close()


__all__ = ["SenderLoop", "process_name", "run_background", "run_worker", "serve"]
