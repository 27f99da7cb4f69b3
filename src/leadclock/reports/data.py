"""Reading the store's tables as polars frames: the columnar side of DESIGN's picture.

Reports aggregate hundreds of thousands of clocks (a month of a million-lead history), so rows
must not come back one Python object at a time. On PostgreSQL a SELECT is wrapped in
`COPY (...) TO STDOUT (FORMAT csv)`, instants travelling as integer microseconds, and polars
parses the stream; on SQLite (small teams, the
demo) rows come through SQLAlchemy. Both give the same frame: the same columns, dtypes and
aware-UTC instants, so every report is written once and tested on both databases.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Select, select

from leadclock.store import Store
from leadclock.store.models import LeadRow, RepRow

Schema = Mapping[str, Any]  # column name -> polars dtype (pl.Utf8, pl.Int64, pl.Float64, pl.Boolean, INSTANT)

INSTANT = pl.Datetime("us", "UTC")
REPORT_WORK_MEM = "64MB"  # per sort or hash of one report read on PostgreSQL (see _frame_postgres)


def _empty(schema: Schema) -> pl.DataFrame:
    return pl.DataFrame(schema={name: dtype for name, dtype in schema.items()})


def frame(store: Store, statement: Select[Any], schema: Schema) -> pl.DataFrame:
    """Run `statement` and return its rows as a frame with exactly `schema` (names in order).

    Only scalar columns: text, integers, floats, booleans and instants (select a JSON field
    with the dialect's extraction function, cast to text, if a report needs one).
    """
    if store.dialect == "postgresql":
        return _frame_postgres(store, statement, schema)
    with store._read() as connection:
        rows = connection.execute(statement).all()
    if not rows:
        return _empty(schema)
    columns = list(schema)
    data: dict[str, list[Any]] = {name: [] for name in columns}
    for row in rows:
        for name, value in zip(columns, row, strict=True):
            data[name].append(value)
    return pl.DataFrame({name: pl.Series(name, data[name], dtype=schema[name], strict=False) for name in columns})


def _frame_postgres(store: Store, statement: Select[Any], schema: Schema) -> pl.DataFrame:
    # render_postcompile: an IN (...) list becomes one bound parameter per item (COPY takes no
    # "expanding" parameters).
    compiled = statement.compile(dialect=store.engine.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors = compiled._bind_processors  # type conversions SQLAlchemy would apply (UTCDateTime)
    bound = {key: processors[key](value) if key in processors else value for key, value in params.items()}
    names = list(schema)
    with store._read() as connection:
        driver = store._driver(connection)  # with any write of the caller's transaction sent
        cursor = driver.cursor()
        # Report reads are indexed look-ups; PostgreSQL's JIT judged one by its estimated cost
        # and spent half a second compiling a query that runs in a tenth of that.
        cursor.execute("SET LOCAL jit = off")
        # Report reads group hundreds of thousands of (lead, rep) pairs or sort a day's open
        # clocks; the server's default 4 MB made those spill to temporary files (a million-lead
        # store: 56 MB of spill in the trends' pair count). Only this transaction, only reports.
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        buffer = io.BytesIO()
        with cursor.copy(f"COPY ({_epoch_select(compiled.string, schema)}) TO STDOUT WITH (FORMAT csv)", bound) as copy:
            for block in copy:
                buffer.write(block)
    if buffer.tell() == 0:
        return _empty(schema)
    buffer.seek(0)
    raw = {name: (pl.Int64 if dtype == INSTANT else pl.Utf8 if dtype == pl.Boolean else dtype)
           for name, dtype in schema.items()}
    table = pl.read_csv(buffer, has_header=False, new_columns=names, schema_overrides=raw, infer_schema=False)
    conversions = []
    for name, dtype in schema.items():
        if dtype == INSTANT:
            conversions.append(pl.col(name).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        elif dtype == pl.Boolean:
            conversions.append(pl.col(name) == "t")
    return table.with_columns(conversions) if conversions else table


def _epoch_select(sql: str, schema: Schema) -> str:
    """`sql` with each instant column as integer microseconds since the epoch (UTC).

    Why: a report reads up to a few million instants. As text ("2026-07-08 09:00:00.123+00")
    they cost PostgreSQL a time-zone conversion and formatting each, and polars a pattern parse;
    as integers both sides do almost nothing, and the CSV is a third smaller. date_part gives
    float8 seconds, exact to well under a microsecond for any instant of this era, so rounding
    the product gives the stored microsecond back.
    """
    aliases = [f"c{index}" for index in range(len(schema))]
    columns = [f"round(date_part('epoch', q.{alias}) * 1000000)::int8" if dtype == INSTANT else f"q.{alias}"
               for alias, dtype in zip(aliases, schema.values(), strict=True)]
    return f"SELECT {', '.join(columns)} FROM ({sql}) AS q({', '.join(aliases)})"


def known_scope(store: Store) -> tuple[set[str], set[str], AbstractSet[str]]:
    """Rep ids, team names and sources the store has seen (for 'unknown rep' errors).

    The sources are read only when something asks (a report scoped to one source): the
    distinct sources of a million leads is a full scan, half a second that every report would
    otherwise pay before doing any work.
    """
    with store._read() as connection:
        reps = connection.execute(select(RepRow.id, RepRow.team)).all()
    return ({r.id for r in reps}, {r.team for r in reps if r.team}, _StoredSources(store))


class _StoredSources(AbstractSet[str]):
    """The leads' distinct sources, read on first use."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._found: frozenset[str] | None = None

    def _values(self) -> frozenset[str]:
        if self._found is None:
            with self._store._read() as connection:
                rows = connection.execute(select(LeadRow.source).distinct()).scalars().all()
            self._found = frozenset(s for s in rows if s)
        return self._found

    def __contains__(self, value: object) -> bool:
        return value in self._values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


def utc(value: datetime) -> datetime:
    """An aware instant in UTC (frames compare in UTC)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}")
    return value.astimezone(UTC)
