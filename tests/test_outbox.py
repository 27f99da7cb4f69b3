"""The outbox table and its repository functions, on SQLite and on PostgreSQL (`store` fixture).

Time is always passed in (principle 2): every test runs on a frozen instant and moves it by hand.
Delivery through real receivers is in test_notify.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leadclock.notify import outbox
from leadclock.notify.outbox import OutboxMessage, RetryPolicy
from leadclock.store import Store, StoreError
from leadclock.store.models import Base

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)


def message(key: str, **fields: object) -> OutboxMessage:
    values: dict[str, object] = {
        "dedupe_key": key, "channel": "hook", "channel_type": "webhook", "recipient": "sato",
        "locale": "ja", "subject": f"件名 {key}", "body_text": "本文", "body_html": "<p>本文</p>",
        "payload": {"type": "effect", "key": key, "at": T0.isoformat()},
    }
    values.update(fields)
    return OutboxMessage(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- schema


def test_migration_0002_matches_the_models_and_downgrades(store: Store) -> None:
    head = store.revision()
    assert head is not None and head >= "0002"
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    with store.engine.begin() as connection:
        command.downgrade(store.alembic_config(connection), "0001")
    assert store.revision() == "0001"
    store.upgrade()
    assert store.revision() == head
    assert outbox.enqueue(store, [message("k")], now=T0) == 1


# --------------------------------------------------------------------------- enqueue


def test_enqueue_twice_stores_one_row(store: Store) -> None:
    assert outbox.enqueue(store, [message("a"), message("b"), message("a")], now=T0) == 2
    assert outbox.enqueue(store, [message("a", subject="changed"), message("b")], now=T0) == 0
    rows = outbox.list_rows(store)
    assert [(r.dedupe_key, r.status, r.attempts, r.subject) for r in rows] == [
        ("a", "pending", 0, "件名 a"), ("b", "pending", 0, "件名 b"),
    ]
    assert rows[0].next_attempt_at == T0 and rows[0].created_at == T0
    assert rows[0].payload == {"type": "effect", "key": "a", "at": T0.isoformat()}


def test_a_sent_message_is_not_enqueued_again(store: Store) -> None:
    outbox.enqueue(store, [message("a")], now=T0)
    [row] = outbox.claim(store, "w1", T0, 10, 60)
    assert outbox.mark_sent(store, row, T0)
    assert outbox.enqueue(store, [message("a")], now=T0 + timedelta(hours=1)) == 0
    assert [r.status for r in outbox.list_rows(store)] == ["sent"]


def test_bad_input_stores_nothing_of_its_batch(store: Store) -> None:
    with pytest.raises(StoreError, match=r"'bad'.*payload"):
        outbox.enqueue(store, [message("good"), message("bad", payload={"x": object()})], now=T0)
    with pytest.raises(StoreError, match="naive"):
        outbox.enqueue(store, [message("good")], now=datetime(2026, 7, 8, 10, 0))
    assert outbox.list_rows(store) == []


def test_enqueue_joins_the_callers_transaction(store: Store) -> None:
    # The worker's breach, escalation and notifications are stored all or nothing (principle 4).
    with pytest.raises(RuntimeError), store.engine.begin() as connection:
        assert outbox.enqueue(store, [message("a")], now=T0, connection=connection) == 1
        raise RuntimeError("the worker failed after enqueueing")
    assert outbox.list_rows(store) == []
    with store.engine.begin() as connection:
        outbox.enqueue(store, [message("a")], now=T0, connection=connection)
    assert [r.dedupe_key for r in outbox.list_rows(store)] == ["a"]


def test_not_before_delays_the_first_attempt(store: Store) -> None:
    outbox.enqueue(store, [message("later", not_before=T0 + timedelta(minutes=5))], now=T0)
    assert outbox.claim(store, "w1", T0 + timedelta(minutes=4), 10, 60) == []
    assert [r.dedupe_key for r in outbox.claim(store, "w1", T0 + timedelta(minutes=5), 10, 60)] == ["later"]


# --------------------------------------------------------------------------- claim


def test_claim_takes_due_rows_in_order_under_a_lease(store: Store) -> None:
    outbox.enqueue(store, [message("first")], now=T0)
    outbox.enqueue(store, [message("second"), message("third")], now=T0 + timedelta(seconds=1))
    outbox.enqueue(store, [message("future")], now=T0 + timedelta(hours=1))

    now = T0 + timedelta(seconds=5)
    claimed = outbox.claim(store, "w1", now, limit=2, lease_seconds=30)
    assert [r.dedupe_key for r in claimed] == ["first", "second"]
    for row in claimed:
        assert (row.status, row.lease_owner, row.attempts) == ("sending", "w1", 1)
        assert row.lease_until == now + timedelta(seconds=30)
    # Leased rows are not claimed again while the lease runs; the rest are.
    assert [r.dedupe_key for r in outbox.claim(store, "w2", now, 10, 30)] == ["third"]
    assert outbox.claim(store, "w3", now + timedelta(seconds=29), 10, 30) == []
    assert outbox.next_due(store) == now + timedelta(seconds=30)
    assert outbox.counts(store) == {"sending": 3, "pending": 1}


def test_claims_are_exclusive_across_concurrent_senders(store: Store) -> None:
    outbox.enqueue(store, [message(f"m{i:03d}") for i in range(120)], now=T0)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        try:
            start.wait()
            got: list[str] = []
            while batch := outbox.claim(store, name, T0, limit=7, lease_seconds=60):
                got.extend(r.dedupe_key for r in batch)
            results[name] = got
        except BaseException as error:  # surfaced below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    claimed = [key for keys in results.values() for key in keys]
    assert sorted(claimed) == [f"m{i:03d}" for i in range(120)]  # each row once, none lost
    owners = {r.dedupe_key: r.lease_owner for r in outbox.list_rows(store)}
    for name, keys in results.items():
        assert all(owners[k] == name for k in keys)


def test_an_expired_lease_is_claimable_again(store: Store) -> None:
    outbox.enqueue(store, [message("a")], now=T0)
    [crashed] = outbox.claim(store, "w1", T0, 10, lease_seconds=60)
    # w1 dies without marking. Before the lease ends nobody may take the row ...
    assert outbox.claim(store, "w2", T0 + timedelta(seconds=59), 10, 60) == []
    # ... after it, w2 does, as a new attempt.
    [again] = outbox.claim(store, "w2", T0 + timedelta(seconds=60), 10, 60)
    assert (again.id, again.lease_owner, again.attempts) == (crashed.id, "w2", 2)
    # w1 comes back to life: its failure report is stale and changes nothing ...
    assert outbox.mark_failed(store, crashed, "late", T0 + timedelta(seconds=61)) is None
    assert outbox.get(store, again.id).status == "sending"  # type: ignore[union-attr]
    # ... but a delivery it made is recorded, which keeps w2's from being retried.
    assert outbox.mark_sent(store, crashed, T0 + timedelta(seconds=62))
    assert not outbox.mark_sent(store, again, T0 + timedelta(seconds=63))
    row = outbox.get(store, again.id)
    assert row is not None and row.status == "sent" and row.sent_at == T0 + timedelta(seconds=62)
    assert row.next_attempt_at is None


def test_a_row_that_keeps_crashing_its_sender_dies(store: Store) -> None:
    retry = RetryPolicy(max_attempts=3)
    outbox.enqueue(store, [message("poison")], now=T0)
    now = T0
    for attempt in (1, 2, 3):
        [row] = outbox.claim(store, f"w{attempt}", now, 10, 60, retry=retry)
        assert row.attempts == attempt
        now += timedelta(seconds=61)  # the sender dies every time
    assert outbox.claim(store, "w4", now, 10, 60, retry=retry) == []
    [dead] = outbox.list_dead(store)
    assert dead.attempts == 3 and "lease of w3 expired" in (dead.last_error or "")


# --------------------------------------------------------------------------- failures


def test_backoff_is_deterministic_exponential_jittered_and_capped() -> None:
    retry = RetryPolicy(base=timedelta(seconds=30), factor=2, cap=timedelta(minutes=10), jitter=0.25)
    for row_id in (1, 2, 99):
        delays = [retry.delay(row_id, n).total_seconds() for n in range(1, 9)]
        assert delays == [retry.delay(row_id, n).total_seconds() for n in range(1, 9)]
        for n, delay in enumerate(delays, start=1):
            raw = min(600.0, 30.0 * 2 ** (n - 1))
            assert raw * 0.75 <= delay <= raw
    # Rows that failed together do not all come back together.
    assert len({retry.delay(row_id, 1) for row_id in range(20)}) == 20


def test_failures_back_off_then_the_row_dies(store: Store) -> None:
    retry = RetryPolicy(max_attempts=3, base=timedelta(seconds=10))
    outbox.enqueue(store, [message("a")], now=T0)
    now = T0
    for attempt in (1, 2):
        [row] = outbox.claim(store, "w1", now, 10, 60, retry=retry)
        assert outbox.mark_failed(store, row, f"HTTP 500 #{attempt}", now, retry=retry) == "failed"
        stored = outbox.get(store, row.id)
        assert stored is not None
        assert (stored.status, stored.attempts, stored.last_error) == ("failed", attempt, f"HTTP 500 #{attempt}")
        assert stored.next_attempt_at == now + retry.delay(row.id, attempt)
        assert outbox.claim(store, "w1", stored.next_attempt_at - timedelta(microseconds=1), 10, 60) == []
        now = stored.next_attempt_at
    [row] = outbox.claim(store, "w1", now, 10, 60, retry=retry)
    assert outbox.mark_failed(store, row, "HTTP 500 #3", now, retry=retry) == "dead"
    [dead] = outbox.list_dead(store)
    assert (dead.id, dead.attempts, dead.next_attempt_at, dead.last_error) == (row.id, 3, None, "HTTP 500 #3")
    assert outbox.claim(store, "w1", now + timedelta(days=1), 10, 60) == []


def test_retry_after_longer_than_the_backoff_wins(store: Store) -> None:
    outbox.enqueue(store, [message("a")], now=T0)
    [row] = outbox.claim(store, "w1", T0, 10, 60)
    outbox.mark_failed(store, row, "HTTP 429", T0, retry_after=600)
    assert outbox.get(store, row.id).next_attempt_at == T0 + timedelta(seconds=600)  # type: ignore[union-attr]
    # ... up to the policy's cap.
    [row] = outbox.claim(store, "w1", T0 + timedelta(seconds=600), 10, 60)
    outbox.mark_failed(store, row, "HTTP 429", T0 + timedelta(seconds=600), retry_after=86400)
    assert outbox.get(store, row.id).next_attempt_at == T0 + timedelta(seconds=600, hours=1)  # type: ignore[union-attr]


def test_permanent_failure_is_dead_at_once_and_requeue_revives_it(store: Store) -> None:
    outbox.enqueue(store, [message("a"), message("b")], now=T0)
    first, second = outbox.claim(store, "w1", T0, 10, 60)
    assert outbox.mark_dead(store, first, "HTTP 404 no_service", T0) == "dead"
    assert outbox.mark_sent(store, second, T0)
    assert [r.dedupe_key for r in outbox.list_dead(store)] == ["a"]

    assert not outbox.requeue(store, second.id, now=T0)  # only dead rows
    assert outbox.requeue(store, first.id, now=T0 + timedelta(minutes=5))
    assert not outbox.requeue(store, first.id, now=T0 + timedelta(minutes=5))
    assert outbox.list_dead(store) == []
    [again] = outbox.claim(store, "w2", T0 + timedelta(minutes=5), 10, 60)
    assert (again.id, again.attempts, again.last_error) == (first.id, 1, "HTTP 404 no_service")
