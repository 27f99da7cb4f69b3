"""The outbox: notifications stored first, delivered after (DESIGN principles 4 and 5).

A row is written in the same transaction as the fact it reports (or, here, by `enqueue`), then a
sender claims it under a lease, delivers it, and marks it. The guarantees:

- one row per dedupe key: planning the same facts twice stores nothing new;
- a claim is exclusive while its lease runs (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several
  senders share the table without waiting on each other; SQLite: the claim is one
  `BEGIN IMMEDIATE` transaction, so claims are serialised);
- a sender that dies mid-send loses nothing: its rows' `next_attempt_at` is the lease's end, so
  they become claimable again when the lease runs out;
- failures retry with exponential back-off (jitter derived from the row id, so runs and tests are
  reproducible) and a bounded number of attempts, then the row is dead: listed by `list_dead`
  until someone `requeue`s it.

Delivery is at least once: a sender that delivered and then died before `mark_sent` delivers
again after the lease. That is why every channel passes the dedupe key to the receiver
(Idempotency-Key, Message-ID, Slack block_id, the inbox's unique key).

Every function takes `now`: the clock is injected, never read here (principle 2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select, text, update

from leadclock.notify._db import insert_ignoring, table
from leadclock.store import Store, StoreError
from leadclock.store.outbox_models import Outbox
from leadclock.store.repository import JSONText, dumps

_outbox = table(Outbox)
ROW_BATCH = 1000
# Statuses a claim may pick up (with next_attempt_at due); "sending" means an expired lease.
CLAIMABLE = ("pending", "failed", "sending")
ERROR_LIMIT = 2000  # characters of an error kept in last_error


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message to store: planned by `plan.plan_messages`, or built by a digest job."""

    dedupe_key: str
    channel: str
    channel_type: str
    recipient: str
    locale: str
    subject: str
    body_text: str
    body_html: str
    payload: dict[str, Any] = field(default_factory=dict)
    bundle_key: str | None = None
    not_before: datetime | None = None  # first attempt no earlier than this (default: now)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored message as the sender sees it."""

    id: int
    dedupe_key: str
    channel: str
    channel_type: str
    recipient: str
    locale: str
    subject: str
    body_text: str
    body_html: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    bundle_key: str | None

    @property
    def idempotency_key(self) -> str:
        """The dedupe key as an HTTP header value: as is when it is printable ASCII, else a
        SHA-256 (http.client refuses other bytes, and receivers compare keys as opaque strings)."""
        key = self.dedupe_key
        if key.isascii() and key.isprintable() and len(key) <= 255:
            return key
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential back-off.

    The n-th failure waits min(cap, base * factor**(n-1)), shortened by up to `jitter` of itself
    by a fraction derived from (row id, n): senders that failed together (a receiver outage) do
    not all come back at the same instant, and the same row always waits the same time, so tests
    need no randomness. With the defaults a row gets 10 attempts over about 2.5 hours.
    """

    max_attempts: int = 10
    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.25

    def delay(self, row_id: int, attempt: int) -> timedelta:
        raw = min(self.cap.total_seconds(), self.base.total_seconds() * self.factor ** max(attempt - 1, 0))
        digest = hashlib.sha256(f"{row_id}:{attempt}".encode()).digest()
        fraction = int.from_bytes(digest[:8], "big") / 2**64
        return timedelta(seconds=raw * (1.0 - self.jitter * fraction))


DEFAULT_RETRY = RetryPolicy()


_ROW_FIELDS = tuple(f.name for f in fields(OutboxRow))


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what}: naive datetime {value.isoformat()} (instants must carry a UTC offset)")
    return value.astimezone(UTC)


def _row(row: Row[Any]) -> OutboxRow:
    return OutboxRow(**{name: getattr(row, name) for name in _ROW_FIELDS})


# --------------------------------------------------------------------------- writing


def enqueue(
    store: Store,
    messages: Iterable[OutboxMessage],
    *,
    now: datetime | None = None,
    connection: Connection | None = None,
) -> int:
    """Store messages whose dedupe key is new, in one transaction; return how many were stored.

    A key already stored (or repeated within `messages`) is skipped, whatever its state: a
    message sent yesterday is not sent again because the same fact was planned again.

    With `connection`, the rows are written in the caller's open transaction instead of a new
    one: the worker records a breach, advances the escalation and enqueues its notifications
    all or nothing (DESIGN principle 4).
    """
    # The store's clock (frozen in tests) when the caller does not pass one.
    moment = _utc(now if now is not None else store._now(), "enqueue now")
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.dedupe_key in rows:
            continue
        try:
            # Encoded once: the text checked here is the text stored.
            payload = JSONText(dumps(message.payload))
        except (TypeError, ValueError) as error:
            raise StoreError(f"outbox message {message.dedupe_key!r}: payload is not JSON ({error})") from None
        not_before = _utc(message.not_before, f"outbox message {message.dedupe_key!r}: not_before") \
            if message.not_before is not None else moment
        rows[message.dedupe_key] = {
            "dedupe_key": message.dedupe_key, "channel": message.channel,
            "channel_type": message.channel_type, "recipient": message.recipient,
            "locale": message.locale, "subject": message.subject, "body_text": message.body_text,
            "body_html": message.body_html, "payload": payload, "status": "pending",
            "attempts": 0, "next_attempt_at": not_before, "lease_owner": None, "lease_until": None,
            "last_error": None, "created_at": moment, "sent_at": None,
            "bundle_key": message.bundle_key,
        }
    if not rows:
        return 0
    statement = store._cached("outbox-enqueue", lambda: insert_ignoring(store, _outbox, _outbox.c.dedupe_key)
                              .returning(_outbox.c.id))
    inserted = 0
    values = list(rows.values())
    if connection is not None:
        for start in range(0, len(values), ROW_BATCH):
            inserted += len(connection.execute(statement, values[start:start + ROW_BATCH]).all())
        _wake_senders(store, connection, inserted)
        return inserted
    # The store's write transaction: BEGIN IMMEDIATE on SQLite, all-or-nothing on both.
    with store._write() as own:
        for start in range(0, len(values), ROW_BATCH):
            inserted += len(own.execute(statement, values[start:start + ROW_BATCH]).all())
        _wake_senders(store, own, inserted)
    return inserted


OUTBOX_CHANNEL = "leadclock_outbox"


def _wake_senders(store: Store, connection: Connection, inserted: int) -> None:
    """PostgreSQL: tell sleeping senders (LISTEN leadclock_outbox) at commit that rows arrived."""
    if inserted and store.dialect == "postgresql":
        connection.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))


def claim(
    store: Store,
    worker_id: str,
    now: datetime,
    limit: int = 50,
    lease_seconds: float = 60.0,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> list[OutboxRow]:
    """Lease up to `limit` due rows to `worker_id` until now + lease_seconds, oldest due first.

    A row whose lease ran out after its last allowed attempt is not claimed again but dead: a
    message that crashes its sender every time must not crash every sender forever.
    """
    moment = _utc(now, "claim now")
    lease_until = moment + timedelta(seconds=lease_seconds)
    candidates = (
        select(_outbox.c.id, _outbox.c.status, _outbox.c.attempts, _outbox.c.lease_owner)
        .where(_outbox.c.next_attempt_at <= moment, _outbox.c.status.in_(CLAIMABLE))
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
    )
    if store.dialect == "postgresql":
        # Rows another sender is claiming right now are skipped, not waited for: each sender
        # takes a disjoint batch. (SQLite has no row locks; BEGIN IMMEDIATE serialises claims.)
        candidates = candidates.with_for_update(skip_locked=True)
    with store._write() as connection:
        found = connection.execute(candidates).all()
        if not found:
            return []
        exhausted = {r.id for r in found if r.status == "sending" and r.attempts >= retry.max_attempts}
        for r in found:
            if r.id not in exhausted:
                continue
            connection.execute(
                update(_outbox).where(_outbox.c.id == r.id).values(
                    status="dead", next_attempt_at=None, lease_until=None,
                    last_error=(f"lease of {r.lease_owner} expired after attempt {r.attempts} of "
                                f"{retry.max_attempts}: the sender stopped while sending"),
                )
            )
        ids = [r.id for r in found if r.id not in exhausted]
        if not ids:
            return []
        claimed = connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(ids))
            .values(
                status="sending", lease_owner=worker_id, lease_until=lease_until,
                # The lease's end is also when the row is due again: a crashed sender's rows
                # come back by the same index scan as any retry.
                next_attempt_at=lease_until, attempts=_outbox.c.attempts + 1,
            )
            .returning(*_outbox.c)
        ).all()
    order = {row_id: index for index, row_id in enumerate(ids)}
    return sorted((_row(r) for r in claimed), key=lambda r: order[r.id])


def mark_sent(store: Store, row: OutboxRow, now: datetime) -> bool:
    """Record a delivery. True unless the row was already marked sent.

    Not fenced by the lease: a delivery that happened is recorded even if the lease expired
    meanwhile (marking it sent is what keeps another sender from delivering it again).
    """
    moment = _utc(now, "mark_sent now")
    with store._write() as connection:
        result = connection.execute(
            update(_outbox)
            .where(_outbox.c.id == row.id, _outbox.c.status != "sent")
            .values(status="sent", sent_at=moment, next_attempt_at=None, lease_until=None)
        )
        return bool(result.rowcount)


def mark_failed(
    store: Store,
    row: OutboxRow,
    error: str,
    now: datetime,
    *,
    permanent: bool = False,
    retry_after: float | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> str | None:
    """Record a failed attempt; return the row's new status ("failed" or "dead").

    Dead at once when `permanent` (the receiver refused the message itself) or when this was the
    last allowed attempt; otherwise due again after the back-off (or the receiver's Retry-After,
    when longer). Fenced by the lease: a sender whose lease was taken over by another returns
    None and changes nothing, so a stale failure cannot reschedule someone else's attempt.
    """
    moment = _utc(now, "mark_failed now")
    dead = permanent or row.attempts >= retry.max_attempts
    if dead:
        values: dict[str, Any] = {"status": "dead", "next_attempt_at": None}
    else:
        delay = retry.delay(row.id, row.attempts)
        if retry_after is not None and retry_after > delay.total_seconds():
            # The receiver's own hint wins, up to the policy's cap: an alert an hour late is
            # still worth more than one a day late because a server said "Retry-After: 86400".
            delay = timedelta(seconds=min(retry_after, retry.cap.total_seconds()))
        values = {"status": "failed", "next_attempt_at": moment + delay}
    values.update(lease_until=None, last_error=error[:ERROR_LIMIT])
    with store._write() as connection:
        result = connection.execute(
            update(_outbox)
            .where(
                _outbox.c.id == row.id,
                _outbox.c.status == "sending",
                _outbox.c.lease_owner == row.lease_owner,
            )
            .values(**values)
        )
    if not result.rowcount:
        return None
    return str(values["status"])


def mark_dead(store: Store, row: OutboxRow, error: str, now: datetime) -> str | None:
    """A failure that no retry can fix (the receiver refused the message)."""
    return mark_failed(store, row, error, now, permanent=True)


def requeue(store: Store, row_id: int, *, now: datetime | None = None) -> bool:
    """Give a dead row a fresh set of attempts, due at once; False when it is not dead.

    `last_error` stays until the next failure, so the history of a requeued row is visible.
    """
    moment = _utc(now if now is not None else store._now(), "requeue now")
    with store._write() as connection:
        result = connection.execute(
            update(_outbox)
            .where(_outbox.c.id == row_id, _outbox.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=moment, lease_owner=None, lease_until=None)
        )
        return bool(result.rowcount)


# --------------------------------------------------------------------------- reading


def list_rows(store: Store, *, status: str | Sequence[str] | None = None) -> list[OutboxRow]:
    """Rows in insertion order, optionally of some statuses only."""
    statement = select(_outbox).order_by(_outbox.c.id)
    if status is not None:
        statement = statement.where(_outbox.c.status.in_([status] if isinstance(status, str) else status))
    with store._read() as connection:
        return [_row(r) for r in connection.execute(statement)]


def list_dead(store: Store) -> list[OutboxRow]:
    """The dead letters: messages that will not be retried until requeued."""
    return list_rows(store, status="dead")


def get(store: Store, row_id: int) -> OutboxRow | None:
    with store._read() as connection:
        found = connection.execute(select(_outbox).where(_outbox.c.id == row_id)).first()
    return None if found is None else _row(found)


def next_due(store: Store) -> datetime | None:
    """When the next claim can find something (a new row, a retry or a lease running out)."""
    with store._read() as connection:
        # min() keeps the column's type, so the value comes back as a UTC instant on both databases.
        value: datetime | None = connection.execute(
            select(func.min(_outbox.c.next_attempt_at)).where(_outbox.c.status.in_(CLAIMABLE))
        ).scalar_one()
    return value


def counts(store: Store) -> dict[str, int]:
    """Rows per status (for /healthz and the dashboard)."""
    with store._read() as connection:
        rows = connection.execute(select(_outbox.c.status, func.count()).group_by(_outbox.c.status)).all()
    return {status: int(n) for status, n in rows}


__all__ = [
    "CLAIMABLE", "DEFAULT_RETRY", "OutboxMessage", "OutboxRow", "RetryPolicy", "claim", "counts",
    "enqueue", "get", "list_dead", "list_rows", "mark_dead", "mark_failed", "mark_sent",
    "next_due", "requeue",
]
