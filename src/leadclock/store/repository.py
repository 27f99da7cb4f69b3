"""The store: one class that every edge (CLI, API, worker, reports) reads and writes through.

Rules it keeps:
- every public write is one transaction: it is all stored or, on any error, none of it
  (principle 10: bad input never costs data);
- events are append-only and idempotent by id (principle 6);
- derived state (leads, clocks, breaches) is rewritten per lead from what the engine computed;
- instants are tz-aware UTC both ways, on SQLite as on PostgreSQL (principle 3).

SQLite and PostgreSQL run the same statements: the only dialect-specific parts are the
`INSERT ... ON CONFLICT` constructs (both databases have them, SQLAlchemy spells them per dialect)
and the connection set-up.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import fields
from datetime import UTC, date, datetime
from itertools import islice
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Connection,
    Insert,
    Row,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import StaticPool

from leadclock.engine.events import Event
from leadclock.engine.state import Clock, Effect, LeadState
from leadclock.policy.durations import Duration
from leadclock.store.models import (
    AuditRow,
    BreachRow,
    ClockRow,
    EffectRow,
    EventRow,
    LeadRow,
    PolicyVersionRow,
    RepRow,
    UTCDateTime,
)
from leadclock.store.records import (
    AuditEntry,
    Breach,
    LeadRecord,
    LeadSummary,
    PolicyVersion,
    Rep,
)

if TYPE_CHECKING:
    from leadclock.policy import Policy

ENV_URL = "LEADCLOCK_DATABASE_URL"
DEFAULT_URL = "sqlite:///leadclock.db"
MIGRATIONS = Path(__file__).with_name("migrations")

# Leads per round of statements in save_leads: large enough that executemany dominates, small
# enough that `lead IN (...)` stays far below SQLite's bound-parameter limit (32766).
LEAD_BATCH = 500
ROW_BATCH = 1000  # rows per INSERT ... RETURNING round (events, effects)
# PostgreSQL: more rows than this go through COPY (see `_insert_new`); fewer cost more to stage
# than to send as parameters.
COPY_FROM = 50
# Connection.info keys (per database session) for the staging tables of `Store._staged`.
_STAGING_CREATED = "leadclock_staging_created"  # exist in the session (created by a commit)
_STAGING_USED = "leadclock_staging_used"  # staged into by the open transaction
# Connection.info key: writes of the open `transaction()` not sent yet (`Store._send`).
_DEFERRED = "leadclock_deferred"
# Event fields that name a rep: such a rep goes on the roster (known=False) when first seen.
REP_FIELDS = ("rep", "from", "to")
BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant: PostgreSQL processes starting together take turns running the migrations.
MIGRATION_LOCK = 7_304_265_001

_events = EventRow.__table__
_leads = LeadRow.__table__
_reps = RepRow.__table__
_clocks = ClockRow.__table__
_effects = EffectRow.__table__
_breaches = BreachRow.__table__
_audit = AuditRow.__table__
_policies = PolicyVersionRow.__table__

T = TypeVar("T")

# The engine's Clock, field for field, in its own order; a test holds every field to have its
# column (a new engine field needs a migration). Until it has one, rows are still read correctly,
# by keyword and more slowly, and the new field keeps its default.
CLOCK_FIELDS = tuple(f.name for f in fields(Clock) if f.name in _clocks.c)
_CLOCK_COMPLETE = len(CLOCK_FIELDS) == len(fields(Clock))
_clock_values = attrgetter(*CLOCK_FIELDS)
_clock_columns = [_clocks.c[name] for name in CLOCK_FIELDS]


class StoreError(Exception):
    """A write the store refused; nothing of it was stored. The message names the culprit."""


# --------------------------------------------------------------------------- URLs


def normalise_url(url: str) -> str:
    """Route plain PostgreSQL URLs to psycopg 3 (SQLAlchemy would pick psycopg2, not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def database_url(db: str | os.PathLike[str] | None) -> str:
    """The URL for `--db`: a file path (SQLite) or a full URL; without it, the environment's
    LEADCLOCK_DATABASE_URL, else `leadclock.db` in the working directory."""
    if db is None:
        return normalise_url(os.environ.get(ENV_URL) or DEFAULT_URL)
    value = os.fspath(db)
    if "://" in value:
        return normalise_url(value)
    if value == ":memory:":
        return "sqlite://"
    return f"sqlite:///{Path(value).expanduser().resolve()}"


# --------------------------------------------------------------------------- JSON


def _json_default(value: Any) -> Any:
    # Engine details may carry instants, sets and policy values (durations); everything else
    # must already be JSON, so a stray object fails loudly here instead of being stored as its repr.
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value.isoformat()  # the common case: the engine's instants are UTC already
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value.isoformat()} (instants must carry a UTC offset)")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Duration):
        return str(value)  # the policy's own spelling, e.g. "5m", "2bd"
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"a {type(value).__name__} is not JSON-serialisable")


# allow_nan=False: PostgreSQL's json type rejects NaN, so SQLite must reject it too, or the
# same file would ingest on one database and fail on the other. ensure_ascii=False, compact
# separators. The standard library's C encoder is called directly: `JSONEncoder.encode` builds
# a new one on every call, which costs more than encoding the live path's small details. No
# circular-reference bookkeeping: nothing written is circular (decoded JSON, engine details),
# and a too-deep value ends in RecursionError either way (`_json_text` reports it).
_c_encoder = json.encoder.c_make_encoder
_encode = None if _c_encoder is None else _c_encoder(
    None, _json_default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
_encoder = json.JSONEncoder(
    default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
)


def dumps(value: Any) -> str:
    if _encode is None or value.__class__ is str:
        return _encoder.encode(value)
    return "".join(_encode(value, 0))


# --------------------------------------------------------------------------- helpers


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what}: naive datetime {value.isoformat()} (instants must carry a UTC offset)")
    return value.astimezone(UTC)


class JSONText(str):
    """A value's JSON text as `dumps` wrote it, bound as is: a write encodes each value once,
    when it checks it, instead of once to check and again to bind."""

    __slots__ = ()


_NO_RECIPIENTS = JSONText("[]")  # most effects' (the engine's) recipients, encoded once


def _bind_json(value: Any) -> str:
    # The engine's json_serializer (SQLite's bind processor, psycopg's JSON dumper, COPY rows):
    # text already checked and encoded passes through; any other value is encoded here.
    if value.__class__ is JSONText:
        return value  # type: ignore[no-any-return]
    return dumps(value)


def _json_text(value: Any, what: str) -> JSONText | None:
    # Checked before writing, so the error names the row; psycopg would otherwise raise a bare
    # TypeError from deep inside its adapter, and SQLite would never see NaN as a problem.
    # None stays None: the binding decides what it becomes, as it did before (JSON null in a
    # statement, SQL NULL in COPY).
    if value is None:
        return None
    try:
        return JSONText(dumps(value))
    except (TypeError, ValueError) as error:
        raise StoreError(f"{what} is not JSON-serialisable ({error})") from None
    except RecursionError:
        raise StoreError(f"{what} is not JSON-serialisable (nested too deeply, or circular)") from None


def _rep_ids(events: Iterable[Event]) -> set[str]:
    found: set[str] = set()
    for ev in events:
        for name in REP_FIELDS:
            value = ev.data.get(name)
            if isinstance(value, str) and value:
                found.add(value)
    return found


def _event(row: Row[Any]) -> Event:
    return Event(row.id, row.type, row.at, row.lead or "", row.data or {})


def _clock(row: Row[Any]) -> Clock:
    # Positional when the table has every field: rows are selected in CLOCK_FIELDS order, and
    # this is several times faster than by name for the tens of thousands of clocks of a report.
    if _CLOCK_COMPLETE:
        return Clock(*row)
    return Clock(**dict(zip(CLOCK_FIELDS, row, strict=True)))


def _effect(row: Row[Any]) -> Effect:
    return Effect(
        kind=row.kind, at=row.at, lead=row.lead, stage=row.stage, rule=row.rule, step=row.step,
        recipients=tuple(row.recipients or ()), owner=row.owner, detail=row.detail or {},
    )


def _audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        at=row.at, actor=row.actor, action=row.action, lead=row.lead, reason=row.reason,
        detail=row.detail or {}, id=row.id,
    )


def _breach(row: Row[Any]) -> Breach:
    return Breach(
        lead=row.lead, stage=row.stage, seq=row.seq, at=row.at, owner=row.owner,
        category=row.category, note=row.note, reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
    )


def _summary_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id, "source": row.source, "tier": row.tier, "status": row.status,
        "owner": row.owner, "created_at": row.created_at, "within_sla": row.within_sla,
        "arrived_after_hours": row.arrived_after_hours, "first_contact_at": row.first_contact_at,
        "reached_at": row.reached_at, "attempts": row.attempts, "last_event_at": row.last_event_at,
        "handoff_to": row.handoff_to, "owners": list(row.owners or []),
        "attributes": row.attributes or {}, "updated_at": row.updated_at,
        "policy_version": row.policy_version,
    }


# --------------------------------------------------------------------------- the store


# How psycopg sends each column type in a binary COPY (about 2.5x cheaper to write than text).
# The server decodes each value with the column's own binary input, so a json or varchar column
# takes the text it is given as is: the JSON already encoded (JSONText) is not encoded again.
_BINARY_COPY = {
    "VARCHAR": "text", "TEXT": "text", "JSON": "text", "INTEGER": "int4", "BIGINT": "int8",
    "SMALLINT": "int2", "BOOLEAN": "bool", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "FLOAT": "float8", "DOUBLE PRECISION": "float8", "BYTEA": "bytea",
}


_BINARY_VALUES: dict[str, frozenset[type]] = {
    "text": frozenset({str, type(None)}),
    "timestamptz": frozenset({datetime, type(None)}),
}


def _binary_copyable(types: Sequence[str], rows: list[tuple[Any, ...]]) -> bool:
    """Whether every text and instant value is of the Python type its binary dumper takes (a
    number in a text column, say, is spelled by text COPY but refused by binary COPY)."""
    columns = list(zip(*rows, strict=True))
    for kind, values in zip(types, columns, strict=True):
        allowed = _BINARY_VALUES.get(kind)
        if allowed is not None and not allowed.issuperset(map(type, values)):
            return False
    return True


def _binary_copy_types(table: Table, columns: Sequence[str], dialect: Any) -> list[str] | None:
    """The binary COPY types of `columns`, or None (text COPY) when one has no known mapping."""
    types = []
    for name in columns:
        spelled = table.c[name].type.compile(dialect=dialect).upper().split("(")[0].strip()
        kind = _BINARY_COPY.get(spelled)
        if kind is None:
            return None
        types.append(kind)
    return types


class Store:
    """The database behind `--db` / LEADCLOCK_DATABASE_URL. Call `upgrade()` once after opening."""

    def __init__(self, url: str, *, now: Callable[[], datetime] | None = None, echo: bool = False) -> None:
        self.url = normalise_url(url)
        # The store stamps received_at / updated_at; tests pass a frozen clock.
        self._now = now or (lambda: datetime.now(UTC))
        self._ambient = threading.local()  # the connection of this thread's `transaction()`
        self._reps_stored: set[str] = set()
        self._statements: dict[str, Any] = {}  # see `_cached`
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                f"unsupported database {self.dialect!r}: give a SQLite file path or a postgresql:// URL"
            )
        options: dict[str, Any] = {
            "json_serializer": _bind_json,
            "json_deserializer": json.loads,
            "echo": echo,
        }
        memory = False
        if self.dialect == "sqlite":
            memory = parsed.database in (None, "", ":memory:")
            if memory:
                # One shared connection, or every checkout would see its own empty database.
                options["poolclass"] = StaticPool
                options["connect_args"] = {"check_same_thread": False}
            else:
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        else:
            options["pool_pre_ping"] = True  # a restarted server must not fail the next request
        self.engine = create_engine(self.url, **options)
        if self.dialect == "sqlite":
            self._set_up_sqlite(wal=not memory)
        else:
            @event.listens_for(self.engine, "before_cursor_execute")
            def _send_deferred_first(connection: Connection, *_args: Any) -> None:
                # Any statement sees the writes deferred before it (`_send`).
                if connection.info.get(_DEFERRED):
                    self._flush(connection)

        @event.listens_for(self.engine, "commit")
        def _on_commit(connection: Connection) -> None:
            if not connection.invalidated:
                self._reps_stored.update(connection.info.pop("leadclock_reps", ()))
                # The staging tables this transaction created now exist for the session.
                used = connection.info.pop(_STAGING_USED, ())
                if used:
                    connection.info.setdefault(_STAGING_CREATED, set()).update(used)

        @event.listens_for(self.engine, "rollback")
        def _on_rollback(connection: Connection) -> None:
            # A connection the server dropped is invalid: touching `info` would raise, and its
            # DBAPI connection (with what it noted) is thrown away anyway.
            if not connection.invalidated:
                connection.info.pop(_DEFERRED, None)  # never sent: nothing to undo
                connection.info.pop("leadclock_reps", None)
                # A CREATE rolled back with it: only the tables of earlier commits exist.
                connection.info.pop(_STAGING_USED, None)

    def _set_up_sqlite(self, *, wal: bool) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from pysqlite, which begins late and commits on its
            # own before DDL; SQLAlchemy's documented recipe, completed by the "begin" hook below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if wal:
                # Readers (reports, the dashboard) never block the writer nor wait for it.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql(connection.get_execution_options().get("leadclock_begin", "BEGIN"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction around several Store calls (this thread's calls join it).

        The live service appends events, recomputes leads, records effects, enqueues their
        notifications and moves the lead's wake-up all or nothing (DESIGN principle 4): a crash
        anywhere leaves either everything or nothing. Nested use joins the outer transaction.
        """
        current = getattr(self._ambient, "connection", None)
        if current is not None:
            yield current
            return
        with self._write() as connection:
            self._ambient.connection = connection
            try:
                yield connection
                # The deferred writes, and the commit in the same round trip (the commit that
                # `_write` then asks psycopg for finds the transaction closed and sends nothing).
                self._flush(connection, commit=True)
            finally:
                self._ambient.connection = None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        current = getattr(self._ambient, "connection", None)
        if current is not None:  # inside `transaction()`: join it
            yield current
            return
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                # Take the write lock at BEGIN: a deferred transaction that reads and then writes
                # fails at once with "database is locked" if another writer got in between,
                # where BEGIN IMMEDIATE waits its turn (busy_timeout).
                connection.execution_options(leadclock_begin="BEGIN IMMEDIATE")
            try:
                with connection.begin():
                    yield connection
            except StatementError as error:
                # A value the driver could not bind (not JSON, naive datetime): say which, after
                # the rollback above has undone the whole write.
                if isinstance(error.orig, TypeError | ValueError):
                    raise StoreError(str(error.orig)) from error
                raise

    @contextmanager
    def _read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        current = getattr(self._ambient, "connection", None)
        if current is not None:  # inside `transaction()`: read what it wrote
            yield current
            return
        with self.engine.connect() as connection:
            if snapshot and self.dialect == "postgresql":
                # Several SELECTs that must agree (a lead and its clocks) see one snapshot;
                # SQLite's BEGIN already gives that.
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def _send(self, connection: Connection, sql: str, params: Any, *, many: bool = False) -> None:
        """Run a driver-level write whose result nobody reads. Inside `transaction()` on
        PostgreSQL it is deferred: the writes that end a settle (lead rows, clocks, audit, the
        router, wake-ups, the NOTIFY) then reach the server in one pipeline, one round trip
        instead of one each, just before the next statement that reads (`before_cursor_execute`)
        or the commit. Values must be bound already (`_row_values`)."""
        if self.dialect == "postgresql" and getattr(self._ambient, "connection", None) is connection:
            connection.info.setdefault(_DEFERRED, []).append((sql, params, many))
            return
        connection.exec_driver_sql(sql, params)

    def _ask(self, connection: Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """PostgreSQL: run a driver-level statement and return its rows; the transaction's
        deferred writes go before it in the same pipeline (one round trip for both)."""
        return self._run_deferred(connection, (sql, params))

    def _flush(self, connection: Connection, *, commit: bool = False) -> None:
        """Send the deferred writes of `connection`'s transaction, in order, in one pipeline;
        with `commit`, the COMMIT goes last in it."""
        if connection.info.get(_DEFERRED):
            self._run_deferred(connection, ("COMMIT", None) if commit else None)

    def _run_deferred(self, connection: Connection, last: tuple[str, Any] | None) -> list[tuple[Any, ...]]:
        """The deferred writes, then `last`, in one pipeline; the rows of a `last` that returns
        some (`_ask`), else none."""
        import psycopg

        pending = connection.info.pop(_DEFERRED, None) or []
        if last is not None:
            pending.append((*last, False))
        driver = connection.connection.driver_connection
        assert driver is not None
        sql = pending[0][0] if pending else ""
        try:
            with driver.cursor() as cursor:
                with driver.pipeline() if len(pending) > 1 else nullcontext():
                    for sql, values, many in pending:
                        if many:
                            cursor.executemany(sql, values)
                        else:
                            cursor.execute(sql, values)
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as error:
            raise DBAPIError.instance(sql, None, error, psycopg.Error) from error

    def _driver(self, connection: Connection) -> Any:
        """The psycopg connection under `connection`, for COPY, with the deferred writes sent."""
        self._flush(connection)
        driver = connection.connection.driver_connection
        assert driver is not None
        return driver

    def _row_values(self, connection: Connection, table: Table, columns: Sequence[str],
                    rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """`rows` (tuples in `columns` order) with the conversions a normal bind would apply
        (refuse naive datetimes, the store's JSON rules), for writes below SQLAlchemy's types."""
        convert: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(columns):
            kind = table.c[name].type
            if isinstance(kind, UTCDateTime):
                convert.append((index, kind.bind_processor(connection.dialect)))
            elif isinstance(kind, JSON):
                convert.append((index, lambda value: None if value is None else _bind_json(value)))
        if not convert:
            return rows
        converted: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(row)
            for index, fn in convert:
                try:
                    values[index] = fn(values[index])
                except (TypeError, ValueError) as error:
                    raise StoreError(f"{table.name}.{columns[index]} of {row[:3]}: {error}") from None
            converted.append(tuple(values))
        return converted

    def _bulk_insert(
        self, connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]],
        *, into: str | None = None,
    ) -> None:
        """Plain INSERT of many rows given as tuples in `columns` order, below SQLAlchemy's
        per-row parameter handling: COPY on PostgreSQL (about 3x psycopg's executemany), the
        driver's executemany on SQLite. Same connection, so same transaction. Used for the tens
        of thousands of clocks a full recompute writes."""
        if not rows:
            return
        # Both paths bypass SQLAlchemy's type processing.
        rows = self._row_values(connection, table, columns, rows)
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        if self.dialect == "postgresql" and (into is not None or len(rows) > COPY_FROM):
            driver = self._driver(connection)
            import psycopg

            types = self._cached(f"copy-types:{table.name}:{columns}",
                                 lambda: _binary_copy_types(table, columns, connection.dialect))
            if types is not None and not _binary_copyable(types, rows):
                types = None  # a value text COPY would spell for its column, binary would refuse
            binary = " (FORMAT BINARY)" if types is not None else ""
            statement = f"COPY {quote(into or table.name)} ({names}) FROM STDIN{binary}"
            try:
                with driver.cursor() as cursor, cursor.copy(statement) as copy:
                    if types is not None:
                        copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as error:
                # Raise what SQLAlchemy would have raised (IntegrityError, ...), so callers see
                # one family of errors whichever path wrote the rows.
                raise DBAPIError.instance(statement, None, error, psycopg.Error) from error
        else:
            # SQLite, and a few rows on PostgreSQL (the live path's single events): COPY's
            # extra protocol round trips cost more than one executemany.
            mark = "?" if self.dialect == "sqlite" else "%s"
            marks = ", ".join([mark] * len(columns))
            self._send(connection, f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", rows, many=True)

    def _insert_new(self, connection: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> set[str]:
        """INSERT ... ON CONFLICT (key) DO NOTHING for many rows; returns the keys it stored.

        On PostgreSQL a large set goes through COPY into a temporary table and one INSERT ...
        SELECT: a multi-row VALUES statement of a thousand rows costs psycopg more to parse in
        Python than the database takes to run it (the live path's batches)."""
        if not rows:
            return set()
        if self.dialect == "postgresql" and len(rows) > COPY_FROM:
            quote = connection.dialect.identifier_preparer.quote
            insert = self._staged(connection, table, rows)
            result = connection.exec_driver_sql(
                f"{insert} ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {quote(key)}")
            return {row[0] for row in result}
        if self.dialect == "postgresql":
            # One multi-row statement, sent with the transaction's deferred writes (`_ask`).
            quote = connection.dialect.identifier_preparer.quote
            columns = list(rows[0])
            values = self._row_values(connection, table, columns, [tuple(row[c] for c in columns) for row in rows])
            marks = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(values))
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES {marks} "
                   f"ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {quote(key)}")
            return {row[0] for row in self._ask(connection, sql, [v for row in values for v in row])}
        statement = self._insert_ignoring(table, key)
        stored: set[str] = set()
        for chunk in _chunks(rows, ROW_BATCH):
            stored.update(connection.execute(statement, chunk).scalars())
        return stored

    def _upsert_many(self, connection: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
        """INSERT ... ON CONFLICT (key) DO UPDATE every given column, for rows with distinct keys.
        Large sets go through COPY on PostgreSQL, as in `_insert_new`: psycopg's executemany
        adapts and sends every row in Python."""
        if not rows:
            return
        if self.dialect == "postgresql" and len(rows) > COPY_FROM:
            quote = connection.dialect.identifier_preparer.quote
            insert = self._staged(connection, table, rows)
            assign = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in rows[0] if c != key)
            connection.exec_driver_sql(f"{insert} ON CONFLICT ({quote(key)}) DO UPDATE SET {assign}")
            return
        columns = tuple(rows[0])
        if self.dialect == "postgresql":
            quote = connection.dialect.identifier_preparer.quote
            names = ", ".join(quote(c) for c in columns)
            assign = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != key)
            marks = ", ".join(["%s"] * len(columns))
            values = self._row_values(connection, table, columns, [tuple(row[c] for c in columns) for row in rows])
            self._send(connection, f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}) "
                                   f"ON CONFLICT ({quote(key)}) DO UPDATE SET {assign}", values, many=True)
            return
        statement = self._cached(f"upsert:{table.name}:{key}:{columns}", lambda: self._upsert(table, key, columns))
        connection.execute(statement, rows)

    def _upsert(self, table: Table, key: str, columns: Sequence[str]) -> Insert:
        # `columns` other than the key take the inserted row's values on a conflict.
        statement = self._insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={name: statement.excluded[name] for name in columns if name != key},
        )

    def _staged(self, connection: Connection, table: Table, rows: list[dict[str, Any]]) -> str:
        """COPY `rows` (dicts with the same keys) into this session's empty temporary table of
        those columns; returns the INSERT ... SELECT that moves them over, for the caller's ON
        CONFLICT.

        The table holds only the given columns and no defaults (so staging draws nothing from the
        target's sequences), and is emptied by the commit (ON COMMIT DELETE ROWS). It is created
        once per database session and emptied again only when a transaction stages twice: the
        CREATE ... IF NOT EXISTS and TRUNCATE that every call used to send were two round trips,
        and a TRUNCATE replaces the table's files on disk."""
        columns = list(rows[0])
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        temp = self._cached(f"staging:{table.name}:{columns}", lambda: f"lc_in_{table.name}_{len(self._statements)}")
        created: set[str] = connection.info.setdefault(_STAGING_CREATED, set())
        used: set[str] = connection.info.setdefault(_STAGING_USED, set())
        if temp in used:
            connection.exec_driver_sql(f"DELETE FROM {temp}")
        elif temp not in created:
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS "
                f"AS SELECT {names} FROM {quote(table.name)} WITH NO DATA")
        used.add(temp)
        self._bulk_insert(connection, table, columns, list(map(itemgetter(*columns), rows)), into=temp)
        return f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {temp}"

    def _insert(self, table: Table) -> Insert:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table)  # type: ignore[no-any-return]

    def _cached(self, name: str, build: Callable[[], T]) -> T:
        """The statement `name`, built once per store. Statements are immutable and SQLAlchemy
        caches their compiled form, but building an INSERT ... ON CONFLICT (its `excluded`
        columns, its clauses) costs more than running it for one row, on every write."""
        statement = self._statements.get(name)
        if statement is None:
            # Two threads may both build it; either copy is the same statement.
            statement = self._statements[name] = build()
        return statement  # type: ignore[no-any-return]

    def _insert_ignoring(self, table: Table, key: str) -> Insert:
        """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key, for executemany."""
        return self._cached(f"insert-new:{table.name}:{key}", lambda: (
            self._insert(table).on_conflict_do_nothing(index_elements=[table.c[key]]).returning(table.c[key])))

    # ------------------------------------------------------------------ schema

    def alembic_config(self, connection: Connection | None = None) -> Config:
        """Alembic's configuration without an alembic.ini: the migrations ship in the package.

        To write a new migration against a database at head::

            with store.engine.begin() as conn:
                command.revision(store.alembic_config(conn), "what changed", autogenerate=True)
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["connection"] = connection
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` in one transaction (a failed migration changes nothing)."""
        with self.engine.connect() as connection:
            raw = connection.connection.driver_connection if self.dialect == "sqlite" else None
            if raw is not None:
                # SQLite's documented procedure for schema changes: foreign keys off (only
                # possible outside a transaction), change, check, commit. Otherwise a batch
                # migration that rebuilds `leads` would cascade-delete every clock when it
                # drops the old table.
                raw.execute("PRAGMA foreign_keys=OFF")
                connection.execution_options(leadclock_begin="BEGIN IMMEDIATE")
            try:
                with connection.begin():
                    if self.dialect == "postgresql":
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                        )
                    command.upgrade(self.alembic_config(connection), revision)
                    if raw is not None:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise StoreError(f"migration to {revision} breaks foreign keys: {broken[:5]}")
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")

    def revision(self) -> str | None:
        """The schema's current migration, None for an empty database."""
        with self._read() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # ------------------------------------------------------------------ events

    def append_events(self, events: Sequence[Event]) -> tuple[list[Event], list[str]]:
        """Store the events not seen before, in one transaction.

        Returns (newly stored events, ids of the rest) in input order. A repeated id, whether
        already stored or earlier in the same batch, is a duplicate: the first copy wins and later
        copies change nothing, even if their content differs (principle 6). Every input event is
        in exactly one of the two lists. Reps named by new events join the roster as unknown.
        """
        first: dict[str, Event] = {}
        for ev in events:
            first.setdefault(ev.id, ev)
        received_at = self._now()
        rows = []
        for ev in first.values():
            rows.append({
                "id": ev.id, "type": ev.type, "at": _aware(ev.at, f"event {ev.id!r}: at"),
                "lead": ev.lead or None, "data": _json_text(ev.data, f"event {ev.id!r}: data"),
                "received_at": received_at,
            })
        inserted: set[str] = set()
        if rows:
            with self._write() as connection:
                # ON CONFLICT DO NOTHING ... RETURNING tells exactly which rows this transaction
                # stored, even when another process is ingesting the same delivery concurrently.
                inserted.update(self._insert_new(connection, _events, "id", rows))
                self._note_reps(connection, _rep_ids(first[i] for i in inserted))
        stored: list[Event] = []
        duplicates: list[str] = []
        taken: set[str] = set()
        for ev in events:
            if ev.id in inserted and ev.id not in taken:
                taken.add(ev.id)
                stored.append(ev)
            else:
                duplicates.append(ev.id)
        return stored, duplicates

    def events(self, lead: str | None = None, *, leads: Iterable[str] | None = None) -> list[Event]:
        """Events in the order the engine applies them: by instant, then by arrival.

        `lead` selects one lead ("" selects the events about reps only); `leads` several.
        """
        statement = select(_events)
        if lead is not None:
            statement = statement.where(_events.c.lead == (lead or None))
        if leads is None:
            with self._read() as connection:
                rows = connection.execute(statement.order_by(_events.c.at, _events.c.seq)).all()
        else:
            rows = []
            with self._read() as connection:
                for chunk in _chunks(set(leads), LEAD_BATCH):
                    rows.extend(connection.execute(statement.where(_events.c.lead.in_(chunk))))
            rows.sort(key=lambda row: (row.at, row.seq))
        return [_event(row) for row in rows]

    def event_counts(self, leads: Iterable[str]) -> dict[str, int]:
        """How many events the log holds for each of `leads` (those with none are left out)."""
        counts: dict[str, int] = {}
        statement = select(_events.c.lead, func.count()).group_by(_events.c.lead)
        with self._read() as connection:
            for chunk in _chunks(set(leads), LEAD_BATCH):
                counts.update((lead, count) for lead, count in connection.execute(statement.where(_events.c.lead.in_(chunk))))
        return counts

    def event_count(self) -> int:
        with self._read() as connection:
            return int(connection.execute(select(func.count()).select_from(_events)).scalar_one())

    def latest_event_at(self) -> datetime | None:
        """The time of the latest event stored: "now" for a history that was imported."""
        with self._read() as connection:
            row = connection.execute(
                select(_events.c.at).order_by(_events.c.at.desc(), _events.c.seq.desc()).limit(1)
            ).first()
        return None if row is None else row.at

    # ------------------------------------------------------------------ derived state

    def save_leads(self, leads: Iterable[LeadState], policy_version: str, *,
                   fresh: Collection[str] = frozenset()) -> None:
        """Upsert each lead's row and replace its clocks (and unreviewed breaches), in one
        transaction. A lead given twice keeps its last state. `fresh` names leads the caller
        knows were never stored (it holds their locks): there is nothing of theirs to replace,
        which saves the live path two statements per new lead."""
        updated_at = self._now()
        with self._write() as connection:
            for batch in _chunks(leads, LEAD_BATCH):
                states = {state.lead: state for state in batch}
                lead_rows = []
                clocks: list[Clock] = []
                for state in states.values():
                    lead_rows.append({
                        "id": state.lead, "source": state.source or "", "tier": state.tier,
                        "status": state.status, "owner": state.owner,
                        "created_at": state.created_at, "within_sla": state.within_sla(),
                        "arrived_after_hours": state.arrived_after_hours,
                        "first_contact_at": state.first_contact_at, "reached_at": state.reached_at,
                        "attempts": state.attempts, "last_event_at": state.last_event_at,
                        "handoff_to": state.handoff_to, "owners": list(state.owners),
                        "attributes": _json_text(state.attributes, f"lead {state.lead!r}: attributes"),
                        "updated_at": updated_at,
                        "policy_version": policy_version,
                    })
                    for clock in state.clocks:
                        if clock.lead != state.lead:
                            raise StoreError(f"lead {state.lead!r} holds clock {clock.key!r} of another lead")
                        clocks.append(clock)
                stored = [lead for lead in states if lead not in fresh]
                self._upsert_many(connection, _leads, "id", lead_rows)
                # Delete-then-insert: the engine recomputed every clock of these leads, and two
                # bulk statements beat a per-clock upsert by far.
                if stored and self.dialect == "postgresql":
                    self._send(connection, "DELETE FROM clocks WHERE lead = ANY(%s)", (stored,))
                elif stored:
                    connection.execute(delete(_clocks).where(_clocks.c.lead.in_(stored)))
                self._bulk_insert(connection, _clocks, CLOCK_FIELDS, [_clock_values(c) for c in clocks])
                self._sync_breaches(connection, stored, clocks)

    def _sync_breaches(self, connection: Connection, ids: list[str], clocks: list[Clock]) -> None:
        # A breach row outlives recomputation because people annotate it: insert new ones, move
        # changed ones, and drop the ones a late event undid unless someone already reviewed them.
        wanted = {(c.lead, c.stage, c.seq): c for c in clocks if c.breached_at is not None}
        rows: Iterable[Sequence[Any]] = ()
        if ids and self.dialect == "postgresql":  # sent with the clock writes deferred before it
            rows = self._ask(connection, "SELECT lead, stage, seq, at, owner, reviewed_by FROM breaches "
                                         "WHERE lead = ANY(%s)", (ids,))
        elif ids:
            rows = connection.execute(
                select(_breaches.c.lead, _breaches.c.stage, _breaches.c.seq, _breaches.c.at,
                       _breaches.c.owner, _breaches.c.reviewed_by)
                .where(_breaches.c.lead.in_(ids)))
        # (at, owner, reviewed_by) by key; instants compare as instants whatever their zone.
        have = {(row[0], row[1], row[2]): (row[3], row[4], row[5]) for row in rows}
        new = [
            {"lead": c.lead, "stage": c.stage, "seq": c.seq, "at": c.breached_at, "owner": c.owner}
            for k, c in wanted.items()
            if k not in have
        ]
        moved = [
            {"k_lead": c.lead, "k_stage": c.stage, "k_seq": c.seq, "v_at": c.breached_at, "v_owner": c.owner}
            for k, c in wanted.items()
            if k in have and (have[k][0] != c.breached_at or have[k][1] != c.owner)
        ]
        gone = [
            {"k_lead": k[0], "k_stage": k[1], "k_seq": k[2]}
            for k, row in have.items()
            if k not in wanted and row[2] is None
        ]
        key = (
            (_breaches.c.lead == bindparam("k_lead"))
            & (_breaches.c.stage == bindparam("k_stage"))
            & (_breaches.c.seq == bindparam("k_seq"))
        )
        if new:
            connection.execute(_breaches.insert(), new)
        if moved:
            connection.execute(
                update(_breaches).where(key).values(
                    at=bindparam("v_at", type_=UTCDateTime()), owner=bindparam("v_owner")
                ),
                moved,
            )
        if gone:
            connection.execute(delete(_breaches).where(key), gone)

    def save_effects(self, effects: Iterable[Effect]) -> int:
        """Record effects, skipping any whose dedupe key is already stored; return how many were new."""
        return len(self.insert_effects(effects))

    def insert_effects(self, effects: Iterable[Effect]) -> list[Effect]:
        """Record effects, skipping any whose dedupe key is already stored; return the new ones
        (in the given order): exactly these are news to notify."""
        created_at = self._now()
        rows: dict[str, dict[str, Any]] = {}
        given: dict[str, Effect] = {}
        for effect in effects:
            at = _aware(effect.at, f"effect {effect.kind} of lead {effect.lead!r}: at")
            # The key is computed from the UTC instant so that the same fact reported with another
            # offset is still the same fact.
            key = effect.key_at(at)
            given.setdefault(key, effect)
            rows.setdefault(key, {
                "dedupe_key": key, "kind": effect.kind, "at": at, "lead": effect.lead,
                "stage": effect.stage, "rule": effect.rule, "step": effect.step,
                "recipients": list(effect.recipients) if effect.recipients else _NO_RECIPIENTS,
                "owner": effect.owner,
                "detail": _json_text(effect.detail, f"effect {key!r}: detail"),
                "created_at": created_at,
            })
        if not rows:
            return []
        with self._write() as connection:
            inserted = self._insert_new(connection, _effects, "dedupe_key", list(rows.values()))
        # As a later read would return them: UTC instants, detail parsed from its stored text.
        stored = []
        for key, effect in given.items():
            if key in inserted:
                row = rows[key]
                detail = row["detail"]
                stored.append(Effect(
                    kind=effect.kind, at=row["at"], lead=effect.lead, stage=effect.stage,
                    rule=effect.rule, step=effect.step, recipients=effect.recipients,
                    owner=effect.owner, detail=None if detail is None else json.loads(detail),
                ))
        return stored

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        rows = [
            {
                "at": _aware(entry.at, f"audit {entry.action}: at"), "lead": entry.lead,
                "actor": entry.actor, "action": entry.action, "reason": entry.reason,
                "detail": _json_text(entry.detail, f"audit {entry.action}: detail"),
            }
            for entry in entries
        ]
        if not rows:
            return
        with self._write() as connection:
            if self.dialect == "postgresql":
                # Plain rows, no conflict to handle: straight COPY, or a deferred executemany for
                # a few (ids from the same sequence, in the same order, as the INSERT would take them).
                columns = list(rows[0])
                self._bulk_insert(connection, _audit, columns, list(map(itemgetter(*columns), rows)))
            else:
                connection.execute(self._cached("insert:audit", _audit.insert), rows)

    # ------------------------------------------------------------------ policies

    def save_policy(self, policy: Policy, source_text: str) -> str:
        """Keep a policy under its content version; saving the same content again changes nothing
        (the first name and time stay). Returns the version."""
        version = policy.version
        row = {
            "version": version, "name": policy.name, "created_at": self._now(),
            "yaml": source_text, "json": policy.model_dump(mode="json"),
        }
        with self._write() as connection:
            connection.execute(
                self._insert(_policies).on_conflict_do_nothing(index_elements=[_policies.c.version]),
                [row],
            )
        return version

    def policy_versions(self) -> list[PolicyVersion]:
        """Every stored policy, oldest first."""
        with self._read() as connection:
            rows = connection.execute(
                select(_policies).order_by(_policies.c.created_at, _policies.c.version)
            ).all()
        return [self._policy_version(row) for row in rows]

    def policy_version(self, version: str) -> PolicyVersion | None:
        with self._read() as connection:
            row = connection.execute(select(_policies).where(_policies.c.version == version)).first()
        return None if row is None else self._policy_version(row)

    def load_policy(self, version: str) -> Policy | None:
        """The policy a clock was started under (principle 7), rebuilt from its stored document."""
        from leadclock.policy import Policy

        stored = self.policy_version(version)
        return None if stored is None else Policy.model_validate(stored.document)

    @staticmethod
    def _policy_version(row: Row[Any]) -> PolicyVersion:
        return PolicyVersion(
            version=row.version, name=row.name, created_at=row.created_at,
            source_text=row.yaml, document=row.json,
        )

    # ------------------------------------------------------------------ reading

    def lead(self, lead_id: str) -> LeadRecord | None:
        """A lead with its clocks, events, effects, breaches and audit; None before the engine
        has saved it."""
        with self._read(snapshot=True) as connection:
            row = connection.execute(select(_leads).where(_leads.c.id == lead_id)).first()
            if row is None:
                return None
            clocks = connection.execute(
                select(*_clock_columns).where(_clocks.c.lead == lead_id)
                .order_by(_clocks.c.started_at, _clocks.c.stage, _clocks.c.seq)
            ).all()
            events = connection.execute(
                select(_events).where(_events.c.lead == lead_id).order_by(_events.c.at, _events.c.seq)
            ).all()
            effects = connection.execute(
                select(_effects).where(_effects.c.lead == lead_id).order_by(_effects.c.at, _effects.c.id)
            ).all()
            audit = connection.execute(
                select(_audit).where(_audit.c.lead == lead_id).order_by(_audit.c.at, _audit.c.id)
            ).all()
            breaches = connection.execute(
                select(_breaches).where(_breaches.c.lead == lead_id)
                .order_by(_breaches.c.at, _breaches.c.stage, _breaches.c.seq)
            ).all()
        return LeadRecord(
            **_summary_fields(row),
            clocks=[_clock(r) for r in clocks],
            events=[_event(r) for r in events],
            effects=[_effect(r) for r in effects],
            audit=[_audit_entry(r) for r in audit],
            breaches=[_breach(r) for r in breaches],
        )

    def leads(self) -> list[LeadSummary]:
        """Every lead's row, oldest first (leads without a creation time last)."""
        with self._read() as connection:
            rows = connection.execute(select(_leads)).all()
        far = datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda r: (r.created_at or far, r.id))
        return [LeadSummary(**_summary_fields(row)) for row in rows]

    def clocks(
        self,
        *,
        open_only: bool = False,
        due_before: datetime | None = None,
        lead: str | None = None,
        leads: Iterable[str] | None = None,
    ) -> list[Clock]:
        """Clocks by deadline. `open_only`: still running and not breached (outcome "open").
        `due_before`: due_at strictly before that instant, i.e. breached by then (a breach is the
        first instant after due_at); clocks without a deadline are left out. Uses the due_at index.
        Clocks without a deadline come last.
        """
        statement = select(*_clock_columns)
        if open_only:
            statement = statement.where(_clocks.c.outcome == "open")
        if due_before is not None:
            statement = statement.where(_clocks.c.due_at < _aware(due_before, "due_before"))
        if lead is not None:
            statement = statement.where(_clocks.c.lead == lead)
        # NULLS LAST spelled out: SQLite and PostgreSQL default to opposite ends.
        order = (_clocks.c.due_at.asc().nulls_last(), _clocks.c.lead, _clocks.c.stage, _clocks.c.seq)
        with self._read() as connection:
            if leads is None:
                return [_clock(row) for row in connection.execute(statement.order_by(*order))]
            found = []
            for chunk in _chunks(set(leads), LEAD_BATCH):
                found.extend(_clock(row) for row in connection.execute(
                    statement.where(_clocks.c.lead.in_(chunk)).order_by(*order)))
            return found

    def known_leads(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` have a lead.created event in the store."""
        known: set[str] = set()
        with self._read() as connection:
            if self.dialect == "postgresql":  # one array parameter; sent with any deferred writes
                return {row[0] for row in self._ask(
                    connection, "SELECT DISTINCT lead FROM events WHERE type = 'lead.created' AND lead = ANY(%s)",
                    (sorted(set(ids)),))}
            for chunk in _chunks(set(ids), LEAD_BATCH):
                known.update(connection.execute(
                    select(_events.c.lead).where(_events.c.type == "lead.created", _events.c.lead.in_(chunk))
                ).scalars())
        return known

    def effects(self, lead: str | None = None, *, kind: str | None = None) -> list[Effect]:
        statement = select(_effects)
        if lead is not None:
            statement = statement.where(_effects.c.lead == lead)
        if kind is not None:
            statement = statement.where(_effects.c.kind == kind)
        with self._read() as connection:
            rows = connection.execute(statement.order_by(_effects.c.at, _effects.c.id))
            return [_effect(row) for row in rows]

    def audit(self, lead: str | None = None) -> list[AuditEntry]:
        statement = select(_audit)
        if lead is not None:
            statement = statement.where(_audit.c.lead == lead)
        with self._read() as connection:
            rows = connection.execute(statement.order_by(_audit.c.at, _audit.c.id))
            return [_audit_entry(row) for row in rows]

    def breaches(self, lead: str | None = None) -> list[Breach]:
        statement = select(_breaches)
        if lead is not None:
            statement = statement.where(_breaches.c.lead == lead)
        statement = statement.order_by(_breaches.c.at, _breaches.c.lead, _breaches.c.stage, _breaches.c.seq)
        with self._read() as connection:
            return [_breach(row) for row in connection.execute(statement)]

    def review_breach(
        self,
        lead: str,
        stage: str,
        seq: int,
        *,
        reviewed_by: str,
        category: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Record a person's root cause for a breach (F24); False when there is no such breach."""
        with self._write() as connection:
            result = connection.execute(
                update(_breaches)
                .where((_breaches.c.lead == lead) & (_breaches.c.stage == stage) & (_breaches.c.seq == seq))
                .values(category=category, note=note, reviewed_by=reviewed_by, reviewed_at=self._now())
            )
            return bool(result.rowcount)

    # ------------------------------------------------------------------ reps

    def reps(self, *, known: bool | None = None) -> list[Rep]:
        statement = select(_reps).order_by(_reps.c.id)
        if known is not None:
            statement = statement.where(_reps.c.known == known)
        with self._read() as connection:
            return self._reps_read(connection, list(connection.execute(statement)))

    # The roster as `reps()` reads it, in driver SQL for `read_pipelined` (same column order).
    REPS_SQL = "SELECT id, name, team, role, manager, known, locale, contact FROM reps ORDER BY id"
    # Leads' clocks (`clock_from`) and events (`events_from`), likewise.
    CLOCKS_SQL = f"SELECT {', '.join(CLOCK_FIELDS)} FROM clocks WHERE lead = ANY(%s)"
    EVENTS_SQL = "SELECT at, seq, id, type, lead, data FROM events WHERE lead = ANY(%s)"

    @staticmethod
    def clock_from(row: Sequence[Any]) -> Clock:
        return _clock(row)  # type: ignore[arg-type]

    @staticmethod
    def events_from(rows: Iterable[Sequence[Any]]) -> list[Event]:
        """`EVENTS_SQL`'s rows as `events(leads=...)` returns them: by instant, then arrival."""
        return [Event(row[2], row[3], row[0], row[4] or "", row[5] or {}) for row in sorted(rows, key=itemgetter(0, 1))]

    def _reps_read(self, connection: Connection, rows: Sequence[Sequence[Any]]) -> list[Rep]:
        found = [Rep(row[0], row[1], row[2], row[3], row[4], row[5], row[6], dict(row[7]) if row[7] else None)
                 for row in rows]
        # Seen stored: `_note_reps` may skip them. Through the same commit hook as a write,
        # since a row this transaction inserted is gone again if it rolls back.
        connection.info.setdefault("leadclock_reps", set()).update(
            rep.id for rep in found if rep.id not in self._reps_stored)
        return found

    def reps_from(self, rows: Sequence[Sequence[Any]]) -> list[Rep]:
        """The roster from `REPS_SQL`'s rows, read by `read_pipelined` in this transaction."""
        with self._read() as connection:
            return self._reps_read(connection, rows)

    def read_pipelined(self, queries: Sequence[tuple[str, Any]]) -> list[list[tuple[Any, ...]]]:
        """PostgreSQL: several reads (driver SQL and parameters) in one round trip, as one psycopg
        pipeline, in the open transaction (after its deferred writes). Rows are psycopg's (JSON
        decoded), instants in UTC like the store's own reads."""
        import psycopg

        with self._read() as connection:
            driver = self._driver(connection)
            cursors = []
            try:
                with driver.pipeline():
                    for sql, params in queries:
                        cursor = driver.cursor()
                        cursor.execute(sql, params)
                        cursors.append(cursor)
                results = [cursor.fetchall() for cursor in cursors]
            except psycopg.Error as error:
                raise DBAPIError.instance(queries[0][0], None, error, psycopg.Error) from error
            finally:
                for cursor in cursors:
                    cursor.close()
        return [[tuple(value.astimezone(UTC) if value.__class__ is datetime else value for value in row)
                 for row in rows] for rows in results]

    def upsert_rep(
        self,
        rep_id: str,
        name: str | None = None,
        team: str | None = None,
        role: str | None = None,
        manager: str | None = None,
        *,
        known: bool = True,
        locale: str | None = None,
        contact: dict[str, Any] | None = None,
    ) -> None:
        """Put a rep on the roster (known=True). A field given as None keeps its stored value.

        known=False records a rep only seen in events: added if absent, never demoting a rep
        the roster already knows.
        """
        if not known:
            self.note_reps([rep_id])
            return
        statement = self._insert(_reps).values(
            id=rep_id, name=name, team=team, role=role, manager=manager, known=True,
            locale=locale, contact=_json_text(contact, f"rep {rep_id!r}: contact"),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_reps.c.id],
            set_={
                **{
                    column: func.coalesce(statement.excluded[column], _reps.c[column])
                    for column in ("name", "team", "role", "manager", "locale", "contact")
                },
                "known": True,
            },
        )
        with self._write() as connection:
            connection.execute(statement)

    def note_reps(self, rep_ids: Iterable[str]) -> None:
        """Add reps not on the roster yet, as unknown; known reps are left as they are."""
        with self._write() as connection:
            self._note_reps(connection, set(rep_ids))

    def _note_reps(self, connection: Connection, rep_ids: set[str]) -> None:
        # Reps are never deleted, so one this process has seen stored needs no statement (the
        # live path names a rep in almost every event).
        rep_ids = rep_ids - self._reps_stored
        if rep_ids:
            connection.execute(
                self._cached("note-reps", lambda: self._insert(_reps).on_conflict_do_nothing(index_elements=[_reps.c.id])),
                [{"id": rep, "known": False} for rep in sorted(rep_ids)],
            )
            # Remembered only once the transaction commits (a rollback would undo the insert).
            connection.info.setdefault("leadclock_reps", set()).update(rep_ids)


def open_store(db: str | os.PathLike[str] | None = None, *, upgrade: bool = True) -> Store:
    """The store for a `--db` value (see `database_url`), migrated to the latest schema."""
    store = Store(database_url(db))
    if upgrade:
        store.upgrade()
    return store
