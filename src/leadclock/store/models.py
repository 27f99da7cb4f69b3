"""The tables, as SQLAlchemy 2 declarative models.

The engine's dataclasses stay the in-memory shapes; these rows are how they are kept. Writes go
through Core statements on `Model.__table__` (see `repository.py`) because bulk inserts of plain
dicts are an order of magnitude faster than building ORM objects, and the store converts to engine
objects on the way out anyway.

Every change here needs a migration in `migrations/versions/`; `tests/test_store.py` fails when the
migrated schema and these models differ.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints: migrations can then refer to (and later alter) them by a name that is the
# same on SQLite and PostgreSQL, instead of whatever each database would invent.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
SerialId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC instant in and out, on every database (DESIGN principle 3).

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so UTC is stored naive, as the same
    "YYYY-MM-DD HH:MM:SS.ffffff" text SQLAlchemy's own DATETIME writes (it sorts as time does),
    and the zone is put back on the way out. A naive datetime coming in is refused rather than
    guessed at: assuming server-local time is how deadlines silently move by nine hours.

    The processors are written out in full instead of layering on SQLAlchemy's DATETIME ones:
    a save of 10,000 leads binds some 300,000 instants, and the C `isoformat`/`fromisoformat`
    pair is several times faster than the generic formatting.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        to_text = dialect.name == "sqlite"

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.__class__ is datetime and value.tzinfo is UTC:  # the common case, fast
                return value.isoformat(" ", "microseconds")[:26] if to_text else value
            if not isinstance(value, datetime):
                raise TypeError(f"expected a datetime, got {type(value).__name__}")
            offset = value.utcoffset()
            if offset is None:
                raise ValueError(f"naive datetime {value.isoformat()} (instants must carry a UTC offset)")
            if not to_text:
                return value  # psycopg sends the offset; timestamptz keeps the instant
            if offset:
                value = value - offset  # the UTC wall time (still labelled with the old zone)
            # [:26] drops the offset: "YYYY-MM-DD HH:MM:SS.ffffff" (years are zero-padded).
            return value.isoformat(" ", "microseconds")[:26]

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None]:
        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):  # SQLite
                # Appending the offset is ~10x faster than .replace(tzinfo=UTC) on CPython 3.11.
                return datetime.fromisoformat(value + "+00:00")
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)  # PostgreSQL answers in the session's time zone

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as is
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        str: Text(),
    }


class EventRow(Base):
    """The append-only log. `id` is the caller's id and makes ingest idempotent (principle 6);
    `seq` is arrival order, the tie-break between events at the same instant. `seq` is the primary
    key because SQLite can only auto-number its primary key."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(unique=True)
    type: Mapped[str]
    at: Mapped[datetime]
    lead: Mapped[str | None] = mapped_column(index=True)  # NULL for events about a rep only
    data: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]

    __table_args__ = (Index("ix_events_at_seq", "at", "seq"),)


class LeadRow(Base):
    """A lead's derived state as of the last engine run; rewritten whenever its events change."""

    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(default="")
    tier: Mapped[str | None]
    status: Mapped[str]
    owner: Mapped[str | None] = mapped_column(index=True)
    created_at: Mapped[datetime | None] = mapped_column(index=True)  # cohorts by arrival (0007)
    within_sla: Mapped[bool]
    arrived_after_hours: Mapped[bool] = mapped_column(default=False)
    first_contact_at: Mapped[datetime | None]
    reached_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_event_at: Mapped[datetime | None]
    handoff_to: Mapped[str | None]
    owners: Mapped[list[Any]]
    attributes: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    policy_version: Mapped[str]


class RepRow(Base):
    """The roster. A rep first seen in an event is kept with `known=False` until someone says who
    they are, so reports can name them and flag the gap."""

    __tablename__ = "reps"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str | None]
    team: Mapped[str | None]
    role: Mapped[str | None]
    manager: Mapped[str | None]
    known: Mapped[bool] = mapped_column(default=True)
    # How notifications reach the rep (notify/directory.py): locale, and addresses by channel
    # type ({"email": ..., "slack": ..., "channels": [...], "hubspot_owner_id": ...}).
    locale: Mapped[str | None]
    contact: Mapped[dict[str, Any] | None]


class ClockRow(Base):
    """One SLA clock (engine `Clock`). Timers are data (principle 4): the worker finds due clocks
    through the `due_at` index instead of holding them in memory."""

    __tablename__ = "clocks"

    lead: Mapped[str] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str | None]
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    max_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    outcome: Mapped[str]
    reason: Mapped[str] = mapped_column(default="")
    breached_at: Mapped[datetime | None]
    exceeded_max: Mapped[bool] = mapped_column(default=False)
    business_seconds: Mapped[float | None] = mapped_column(Float)
    calendar: Mapped[str]
    target: Mapped[str]
    policy_version: Mapped[str]  # frozen per clock (principle 7)
    attempts: Mapped[int] = mapped_column(default=0)
    required: Mapped[int] = mapped_column(default=0)
    warned: Mapped[bool] = mapped_column(default=False)  # the warning effect was emitted

    # A scorecard reads one rep's clocks due in a week or two (migration 0007); the pair also
    # serves lookups by owner alone. Cohort reports count the clocks started in a period (0008);
    # the live dashboard reads the clocks that stopped today (0009) and counts the open ones per
    # rep from a partial index that carries what the count needs (0010).
    __table_args__ = (Index("ix_clocks_owner_due_at", "owner", "due_at"),
                      Index("ix_clocks_started_at", "started_at"),
                      Index("ix_clocks_stopped_at", "stopped_at"),
                      Index("ix_clocks_open_due_at", "due_at",
                            postgresql_include=["owner", "lead", "started_at", "outcome"],
                            postgresql_where=text("stopped_at IS NULL"),
                            sqlite_where=text("stopped_at IS NULL")))


class EffectRow(Base):
    """What the engine decided. `dedupe_key` is unique so a re-run of the same history, or a
    worker and a replay racing, can never record (and later send) the same fact twice."""

    __tablename__ = "effects"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    at: Mapped[datetime]
    lead: Mapped[str] = mapped_column(index=True)
    stage: Mapped[str | None]
    rule: Mapped[str | None]
    step: Mapped[int | None]
    recipients: Mapped[list[Any]]
    owner: Mapped[str | None]
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class BreachRow(Base):
    """One row per breached clock, kept apart from `clocks` because people annotate it (F24 root
    cause, note, reviewer) and a recomputation of the clocks must not wipe that."""

    __tablename__ = "breaches"

    lead: Mapped[str] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    owner: Mapped[str | None] = mapped_column(index=True)
    category: Mapped[str | None]
    note: Mapped[str | None]
    reviewed_by: Mapped[str | None]
    reviewed_at: Mapped[datetime | None]


class AuditRow(Base):
    """Who changed what and why: overrides, late events that rewrote a clock, policy changes."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    lead: Mapped[str | None] = mapped_column(index=True)
    actor: Mapped[str]
    action: Mapped[str]
    reason: Mapped[str] = mapped_column(default="")
    detail: Mapped[dict[str, Any]]

    # "The latest policy activation" is asked on every live request: an index, not a scan.
    __table_args__ = (Index("ix_audit_action_at", "action", "at"),)


class PolicyVersionRow(Base):
    """Every policy a clock was ever started under, so a running clock keeps its rules
    (principle 7) and an old breach can be explained by the text that was in force."""

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    created_at: Mapped[datetime]
    yaml: Mapped[str]
    json: Mapped[dict[str, Any]]


__all__ = [
    "AuditRow", "Base", "BreachRow", "ClockRow", "EffectRow", "EventRow", "LeadRow",
    "PolicyVersionRow", "RepRow", "UTCDateTime",
]
from leadclock.store import outbox_models as outbox_models  # noqa: E402  (registers outbox, inbox on Base.metadata)
from leadclock.store import token_models as token_models  # noqa: E402  (registers api_tokens on Base.metadata)
from leadclock.store import user_models as user_models  # noqa: E402  (registers users, web_sessions on Base.metadata)
from leadclock.store import worker_models as worker_models  # noqa: E402  (registers the worker's tables)
