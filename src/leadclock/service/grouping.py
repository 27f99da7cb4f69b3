"""Group commit for the API: concurrent deliveries share one `Live.ingest` transaction.

Each POST /events costs a transaction of about fourteen statements (locks, the event, the lead,
its clocks, effects, outbox, wake-ups, audit) however small it is; a batch of a thousand costs
about twenty-three. So each API process ingests on one thread of its own: deliveries queue for
it, and when it is free it takes every delivery waiting (the first one's actor, in arrival order,
up to `max_events`) and ingests them as one batch. A lone request is ingested at once, so
grouping adds no delay when the service is idle; under load, each request waits at most for the
transaction in progress and its own. An async route awaits its answer without holding a thread
(`submit_async`); sync callers block on it (`submit`).

Every delivery still gets exactly its own answer: its events' positions in the shared batch are
translated back, and it sees the stored state and the new effects of the leads it touched. If a
shared transaction fails, nothing of it is stored (one transaction), and each delivery is
retried alone, so a delivery that cannot be ingested fails only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadclock.engine.events import Event
from leadclock.engine.replay import LineError
from leadclock.service.live import Ingested, Settled

Ingest = Callable[[Sequence[Event], datetime, str], Ingested]
IDLE_SECONDS = 30.0  # the ingest thread ends after this long without work (a new one starts on demand)


@dataclass
class _Delivery:
    events: list[Event]
    actor: str
    now: Callable[[], datetime]
    on_done: Callable[[], None]
    done: bool = False
    result: Ingested | None = None
    error: BaseException | None = None

    def answer(self) -> Ingested:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass
class GroupStats:
    transactions: int = 0
    deliveries: int = 0
    retried_alone: int = 0
    largest: int = 0  # deliveries in the largest shared transaction


class IngestGroups:
    """Group commit in front of an ingest function: one ingest thread, any number of callers."""

    def __init__(self, ingest: Ingest, max_events: int = 1000) -> None:
        self._ingest = ingest
        self.max_events = max_events
        self._cond = threading.Condition()
        self._waiting: list[_Delivery] = []
        self._thread: threading.Thread | None = None
        self.stats = GroupStats()

    def waiting(self) -> int:
        """Deliveries queued behind the transaction in progress."""
        with self._cond:
            return len(self._waiting)

    def submit(self, events: Sequence[Event], now: Callable[[], datetime], actor: str) -> Ingested:
        """Ingest `events` (in one transaction, possibly shared with other deliveries) as of
        `now()` read when the transaction starts; the answer is this delivery's alone."""
        finished = threading.Event()
        mine = _Delivery(list(events), actor, now, finished.set)
        self._enqueue(mine)
        finished.wait()
        return mine.answer()

    async def submit_async(self, events: Sequence[Event], now: Callable[[], datetime], actor: str) -> Ingested:
        """`submit` for the event loop: waits for the answer without holding a thread."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(None))

        mine = _Delivery(list(events), actor, now, wake)
        self._enqueue(mine)
        await asyncio.shield(finished)  # a cancelled request must not cancel the shared answer
        return mine.answer()

    def _enqueue(self, delivery: _Delivery) -> None:
        with self._cond:
            self._waiting.append(delivery)
            if self._thread is None or not self._thread.is_alive():  # (a dead one: never wait on it)
                self._thread = threading.Thread(target=self._serve, name="leadclock-ingest", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                if not self._waiting:
                    self._cond.wait(IDLE_SECONDS)
                if not self._waiting:
                    self._thread = None  # under the lock: the next delivery starts a new thread
                    return
                group = self._take()
            try:
                self._run(group)
            except BaseException as error:  # every delivery must get an answer, even from a bug
                for delivery in group:
                    if not delivery.done:
                        delivery.error, delivery.done = error, True
            for delivery in group:
                # RuntimeError: the caller's event loop has closed (server stopping); no one waits.
                with contextlib.suppress(RuntimeError):
                    delivery.on_done()

    def _take(self) -> list[_Delivery]:
        """The first waiting delivery and, in arrival order, the others of its actor that fit.
        Called with the condition held."""
        first = self._waiting[0]
        room = self.max_events - len(first.events)
        group = [first]
        for delivery in self._waiting[1:]:
            if delivery.actor == first.actor and len(delivery.events) <= room:
                group.append(delivery)
                room -= len(delivery.events)
        taken = {id(d) for d in group}
        self._waiting = [d for d in self._waiting if id(d) not in taken]
        return group

    def _run(self, group: list[_Delivery]) -> None:
        stats = self.stats
        stats.transactions += 1
        stats.deliveries += len(group)
        stats.largest = max(stats.largest, len(group))
        if len(group) == 1:
            self._alone(group[0])
            return
        combined = [event for delivery in group for event in delivery.events]
        try:
            shared = self._ingest(combined, group[0].now(), group[0].actor)
        except Exception:
            # Nothing of the shared transaction is stored; each delivery alone fails only itself.
            stats.retried_alone += len(group)
            for delivery in group:
                self._alone(delivery)
            return
        for delivery, answer in zip(group, split(shared, [d.events for d in group]), strict=True):
            delivery.result = answer
            delivery.done = True

    def _alone(self, delivery: _Delivery) -> None:
        try:
            delivery.result = self._ingest(delivery.events, delivery.now(), delivery.actor)
        except BaseException as error:  # handed to the caller, which raises it
            delivery.error = error
        delivery.done = True


def split(shared: Ingested, deliveries: Sequence[list[Event]]) -> list[Ingested]:
    """One `Ingested` per delivery of a shared batch (the deliveries' events, concatenated in
    order, were ingested as one).

    Errors carry 1-based positions in the shared batch: each is renumbered within its delivery.
    An event id stored by the batch counts as stored for the first delivery that carried it; a
    later one in the same batch is a duplicate, as it would be had it come a moment later."""
    stored_ids = {event.id for event in shared.stored}
    errors = sorted(shared.errors, key=lambda error: error.line)
    answers: list[Ingested] = []
    start = 0
    claimed: set[str] = set()
    for events in deliveries:
        end = start + len(events)
        mine = [LineError(e.line - start, e.field, e.reason, e.event_id) for e in errors if start < e.line <= end]
        rejected = {e.line for e in mine}
        stored, duplicates = [], []
        for position, event in enumerate(events, start=1):
            if position in rejected:
                continue
            if event.id in stored_ids and event.id not in claimed:
                claimed.add(event.id)
                stored.append(event)
            else:
                duplicates.append(event.id)
        leads = {event.lead for event in events if event.lead}
        settled = Settled(
            leads={lead: state for lead, state in shared.settled.leads.items() if lead in leads},
            effects=[effect for effect in shared.settled.effects if effect.lead in leads],
            decisions=[d for d in shared.settled.decisions if d.lead in leads],
            messages=0,
        )
        answers.append(Ingested(stored, duplicates, mine, settled))
        start = end
    return answers


__all__ = ["GroupStats", "IngestGroups", "split"]
