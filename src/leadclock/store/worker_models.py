"""The worker's tables: timers as data (DESIGN principle 2), the router's memory, and heartbeats.

- `wakeups`: one row per lead that has something due (a warning, a deadline, a maximum, an
  escalation step) at `due_at`, the earliest of them. The engine's state is rebuilt from the event
  log, so one row per lead is enough: when it comes due the worker replays the lead as of now,
  which fires everything due and yields the lead's next wake-up. Keys starting with `~` are not
  leads: `~router` (the after-hours queue's next opening), `~reports` (the next scheduled
  report). A row is written in the same transaction as the events that changed the lead, so a
  crash can never leave a lead without its timer; "dirty" leads (events stored, derived state
  not yet recomputed) get `due_at` = the moment they were stored and are picked up at once.
- `router_state`: the router's rotations, caps and queue (pickled `RouterState`), one row, taken
  FOR UPDATE while routing so API processes and workers decide one lead at a time.
- `worker_heartbeats`: each worker's last tick and lag, for /healthz and /metrics.
- `service_state`: small named values (how far the report schedule has been checked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from leadclock.store.models import Base


class Wakeup(Base):
    __tablename__ = "wakeups"

    key: Mapped[str] = mapped_column(primary_key=True)  # a lead id, or "~router" / "~reports"
    due_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class RouterStateRow(Base):
    __tablename__ = "router_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    lag_seconds: Mapped[float] = mapped_column(Float)
    fired: Mapped[int] = mapped_column(Integer, default=0)


class ServiceState(Base):
    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


__all__ = ["RouterStateRow", "ServiceState", "Wakeup", "WorkerHeartbeat"]
