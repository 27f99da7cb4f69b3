"""The worker's tables (see `worker_models.py`): wake-ups, the router's state, heartbeats, state.

Functions over a `Store`; each joins the caller's `store.transaction()` when there is one, so a
wake-up moves in the same transaction as the events and effects that moved it.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text

from leadclock.engine.state import Clock
from leadclock.routing.state import RouterState
from leadclock.store.repository import Store, _json_text
from leadclock.store.worker_models import RouterStateRow, ServiceState, Wakeup, WorkerHeartbeat

_wakeups = Wakeup.__table__
_router = RouterStateRow.__table__
_heartbeats = WorkerHeartbeat.__table__
_state = ServiceState.__table__
ROUTER = "~router"
REPORTS = "~reports"
WAKE_CHANNEL = "leadclock_wakeup"  # PostgreSQL LISTEN/NOTIFY channel


def set_wakeups(store: Store, due: Mapping[str, datetime | None], now: datetime) -> None:
    """Upsert each key's next due time; None deletes it (nothing left to fire)."""
    keep = {key: at for key, at in due.items() if at is not None}
    drop = [key for key, at in due.items() if at is None]
    with store._write() as connection:
        if drop and store.dialect == "postgresql":
            store._send(connection, "DELETE FROM wakeups WHERE key = ANY(%s)", (sorted(drop),))
        elif drop:
            connection.execute(delete(_wakeups).where(_wakeups.c.key.in_(drop)))
        if keep:
            store._upsert_many(connection, _wakeups, "key",
                               [{"key": k, "due_at": at, "updated_at": now} for k, at in sorted(keep.items())])
        if store.dialect == "postgresql" and keep:
            # Wake sleeping workers (delivered at commit; nothing if the transaction rolls back),
            # saying how soon: a worker that wakes earlier anyway sleeps on (service.waiting).
            # Inside a settle, these statements are deferred and sent with its last writes.
            soonest = min(keep.values()).timestamp()
            store._send(connection, "SELECT pg_notify(%s, %s)", (WAKE_CHANNEL, f"{soonest:.6f}"))


def claim_due(store: Store, now: datetime, limit: int) -> list[tuple[str, datetime]]:
    """Keys due by `now`, earliest first, locked for this transaction; on PostgreSQL rows another
    worker holds are skipped, so workers share the load without waiting for each other."""
    statement = (
        select(_wakeups.c.key, _wakeups.c.due_at)
        .where(_wakeups.c.due_at <= now)
        .order_by(_wakeups.c.due_at, _wakeups.c.key)
        .limit(limit)
    )
    if store.dialect == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    with store._write() as connection:
        return [(row.key, row.due_at) for row in connection.execute(statement)]


def next_due(store: Store) -> datetime | None:
    with store._read() as connection:
        value: datetime | None = connection.execute(select(func.min(_wakeups.c.due_at))).scalar()
        return value


def wakeup(store: Store, key: str) -> datetime | None:
    with store._read() as connection:
        value: datetime | None = connection.execute(select(_wakeups.c.due_at).where(_wakeups.c.key == key)).scalar()
        return value


def wakeups(store: Store) -> dict[str, datetime]:
    with store._read() as connection:
        return {row.key: row.due_at for row in connection.execute(select(_wakeups))}


def overdue(store: Store, now: datetime, grace: timedelta) -> tuple[int, datetime | None]:
    """How many wake-ups are more than `grace` late at `now`, and the oldest due time."""
    with store._read() as connection:
        row = connection.execute(
            select(func.count(), func.min(_wakeups.c.due_at)).where(_wakeups.c.due_at < now - grace)
        ).one()
        return int(row[0]), row[1]


def lock_leads(store: Store, leads: Iterable[str], *, wait: bool = True) -> set[str]:
    """Per-lead advisory locks for this transaction (PostgreSQL), in sorted order so two writers
    never deadlock; with wait=False, only the ones free now. SQLite's single writer needs none."""
    ids = sorted(set(leads))
    if store.dialect != "postgresql" or not ids:
        return set(ids)
    with store._write() as connection:
        if wait:
            # One statement for the whole batch; ORDER BY keeps the sorted order that rules out
            # deadlocks between writers. Nothing to read back: inside a transaction it goes with
            # the next statement (Store._send), and a transaction's BEGIN with it.
            store._send(connection,
                        "SELECT pg_advisory_xact_lock(8123, hashtext(k)) FROM unnest(%s::text[]) AS k ORDER BY k",
                        (ids,))
            return set(ids)
        rows = connection.execute(
            text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE pg_try_advisory_xact_lock(8123, hashtext(k))"),
            {"keys": ids},
        )
        return {row[0] for row in rows}


def load_router(store: Store, *, wait: bool = True) -> RouterState | None:
    """The router's state, locked for this transaction. None when wait=False and another
    process holds it (the caller retries later)."""
    statement = select(_router.c.state).where(_router.c.id == 1)
    if store.dialect == "postgresql":
        statement = statement.with_for_update(skip_locked=not wait)
    with store._write() as connection:
        blob = connection.execute(statement).scalar()
        if blob is None and store.dialect == "postgresql" and wait:
            # No row yet: serialise its creation with a transaction lock, then look again (a
            # writer that created it meanwhile has committed by the time the lock is ours).
            connection.execute(text("SELECT pg_advisory_xact_lock(8124, 0)"))
            blob = connection.execute(statement).scalar()
        if blob is None:
            if not wait and store.dialect == "postgresql":
                exists = connection.execute(select(func.count()).select_from(_router)).scalar()
                if exists:
                    return None
            return RouterState()
    return router_from(blob)


# The router's row, locked, in driver SQL: for a reader that sends it with others (service.live).
ROUTER_SQL = "SELECT state FROM router_state WHERE id = 1 FOR UPDATE"


def router_from(blob: bytes) -> RouterState:
    # Our own row, written by save_router below; the database is as trusted as the code.
    state: RouterState = pickle.loads(zlib.decompress(blob))
    return state


def save_router(store: Store, state: RouterState, now: datetime) -> None:
    blob = zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    with store._write() as connection:
        store._upsert_many(connection, _router, "id", [{"id": 1, "state": blob, "updated_at": now}])


def clocks_ended_since(store: Store, since: datetime) -> list[Clock]:
    """Clocks met or breached after `since` (for the compliance watch)."""
    from leadclock.store.repository import _clock, _clock_columns, _clocks

    statement = select(*_clock_columns).where(
        ((_clocks.c.outcome == "met") & (_clocks.c.stopped_at > since))
        | ((_clocks.c.outcome == "breached") & (_clocks.c.breached_at > since))
    )
    with store._read() as connection:
        return [_clock(row) for row in connection.execute(statement)]


def beat(store: Store, worker: str, now: datetime, lag_seconds: float, fired: int) -> None:
    statement = store._insert(_heartbeats).values(worker=worker, at=now, lag_seconds=lag_seconds, fired=fired)
    statement = statement.on_conflict_do_update(
        index_elements=[_heartbeats.c.worker],
        set_={"at": now, "lag_seconds": lag_seconds, "fired": _heartbeats.c.fired + fired},
    )
    with store._write() as connection:
        connection.execute(statement)


def heartbeats(store: Store) -> list[dict[str, Any]]:
    with store._read() as connection:
        return [dict(row._mapping) for row in connection.execute(select(_heartbeats).order_by(_heartbeats.c.worker))]


def get_state(store: Store, key: str) -> dict[str, Any] | None:
    with store._read() as connection:
        value: dict[str, Any] | None = connection.execute(select(_state.c.value).where(_state.c.key == key)).scalar()
        return value


def put_state(store: Store, key: str, value: dict[str, Any], now: datetime) -> None:
    ready = _json_text(value, f"service state {key!r}")
    statement = store._insert(_state).values(key=key, value=ready, updated_at=now)
    statement = statement.on_conflict_do_update(index_elements=[_state.c.key], set_={"value": ready, "updated_at": now})
    with store._write() as connection:
        connection.execute(statement)


__all__ = [
    "REPORTS",
    "ROUTER",
    "ROUTER_SQL",
    "WAKE_CHANNEL",
    "beat",
    "claim_due",
    "get_state",
    "heartbeats",
    "load_router",
    "lock_leads",
    "next_due",
    "overdue",
    "put_state",
    "router_from",
    "save_router",
    "set_wakeups",
    "wakeup",
    "wakeups",
]
