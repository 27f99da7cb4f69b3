"""Columnar reading of a JSON Lines event history, with the reference's errors line for line.

A line takes the fast path only when a strict, per-type regular expression proves that it is a
compact JSON object in the canonical key order (`event_to_json`, the contract order, or the demo
generator's order for `lead.created`), with kinds and enumerations exactly as `parse_event`
checks them, no escapes and no control characters. For such a line every JSON parser agrees on
the values, so plain byte slicing yields what `parse_event` would. Every other line (bad JSON,
other key orders, escapes, integer ids, ...) goes through the reference `read_events` itself, so
its Event or its LineError is the reference's by construction.

Why not `polars.read_ndjson`: it coerces a number into a string column (`"rep": 5` -> "5"),
keeps the *first* of duplicated keys where Python keeps the last, and is slower than the regex.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from leadclock.engine.core import TYPE_RANK
from leadclock.engine.events import (
    AVAILABILITY,
    CHANNELS,
    FIELDS,
    OUTCOMES,
    STATUSES,
    Event,
)
from leadclock.engine.replay import LineError, read_events

TYPES: tuple[str, ...] = tuple(FIELDS)  # type code = index here
TYPE_CODE = {name: code for code, name in enumerate(TYPES)}
RANKS = np.array([TYPE_RANK.get(t, 9) for t in TYPES], dtype=np.int64)
CHUNK_BYTES = 48 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Columns of the event table (one row per valid event, in file order).
SCHEMA: dict[str, Any] = {
    "line": pl.Int64, "id": pl.String, "type": pl.UInt8, "at": pl.Int64, "lead": pl.String,
    "rep": pl.String, "channel": pl.String, "outcome": pl.String, "status": pl.String,
    "reason": pl.String, "frm": pl.String, "to": pl.String,
    "won": pl.Boolean, "source": pl.String, "tier": pl.String, "score": pl.Float64,
    "fields": pl.String, "exotic": pl.Boolean,
}

# ---------------------------------------------------------------------------------- patterns

# Lines holding a backslash or a control character never reach the patterns (see
# _parse_chunk), so inside a string "anything but a quote" is a character needing no escape.
_C = r'[^"]'
_STR = rf'"{_C}+"'  # parse_event's "string (not empty)"
# Offsets are required ("Z" and fractions take the exact path); years are bounded so that
# Python's datetime and polars agree on every accepted value.
_TS = (r'"(?:19|2[01])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3])'
       r':[0-5][0-9]:[0-5][0-9][+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"')
# Bounded digits: finite in Python and exact in float64, so validation and values agree.
_INT = r"(?:0|[1-9][0-9]{0,17})"
_NUM = r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?"
_UNUM = r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?"
_BOOL = r"(?:true|false)"
_OBJ = rf'\{{(?:"{_C}*":"{_C}*"(?:,"{_C}*":"{_C}*")*)?\}}'
_DATE = r'"(?:19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}"'
_KIND = {"string": _STR, "integer": _INT, "number": _NUM, "boolean": _BOOL, "object": _OBJ}


def _enum(values: Iterable[str]) -> str:
    return '"(?:' + "|".join(re.escape(v) for v in sorted(values)) + ')"'


_SPECIAL = {
    ("activity", "channel"): _enum(CHANNELS),
    ("activity", "outcome"): _enum(OUTCOMES),
    ("rep.availability", "status"): _enum(AVAILABILITY),
    ("lead.status", "revisit"): _DATE,
    ("opportunity.created", "amount"): _UNUM,
    ("deal.closed", "amount"): _UNUM,
}
# The generator writes lead.created attributes in this order; the contract order is the other.
_CREATED_DEMO_ORDER = ["source", "name", "company", "email", "industry", "employees", "title",
                       "country", "account", "value", "tier", "score", "team"]
# lead.updated takes any attributes; only these (which change nothing but attributes) are fast.
_UPDATED_KEYS = ["company", "email", "industry", "title", "country", "account", "name", "team",
                 "note", "source", "employees", "value"]


def _members(kind: str, order: list[str]) -> str:
    required, optional = FIELDS[kind]
    out = []
    for key in order:
        value = _SPECIAL.get((kind, key)) or _KIND[required.get(key) or optional[key]]
        member = f',"{key}":{value}'
        out.append(member if key in required else f"(?:{member})?")
    return "".join(out)


def _body(kind: str) -> str:
    required, optional = FIELDS[kind]
    if kind == "lead.status":
        # A decision that needs a reason (parse_event's rule) is written into the pattern.
        need = [s for s in ("disqualified", "garbage") if s in STATUSES]
        free = sorted(STATUSES - set(need))
        head = (f'(?:,"status":{_enum(need)},"reason":{_STR}'
                f'|,"status":{_enum(free)}(?:,"reason":{_STR})?)')
        return head + _members(kind, ["revisit", "rep"])
    if kind == "lead.updated":
        value = rf'(?:"{_C}*"|{_NUM}|{_BOOL})'
        return f'(?:,"(?:{"|".join(_UPDATED_KEYS)})":{value})*'
    orders = [list(required) + list(optional)]
    if kind == "lead.created":
        orders.append(_CREATED_DEMO_ORDER)
    return "(?:" + "|".join(_members(kind, o) for o in orders) + ")"


def _pattern(kind: str) -> str:
    lead = "" if kind == "rep.availability" else f',"lead":{_STR}'
    return rf'^\{{"id":{_STR},"type":"{re.escape(kind)}","at":{_TS}{lead}{_body(kind)}\}}$'


PATTERNS = {kind: _pattern(kind) for kind in TYPES}
# The 11 bytes after `"type":"` tell the types apart.
_TYPE_KEY = {(t + '","at":"')[:11]: TYPE_CODE[t] for t in TYPES}
assert len(_TYPE_KEY) == len(TYPES)


# ---------------------------------------------------------------------------------- chunks


@dataclass
class Chunk:
    """Whole lines `first`, `first + 1`, ... of a history, separated by b"\\n"."""

    data: bytes
    first: int  # line number of the first line
    texts: list[str] | None = None  # the caller's own lines, when given as strings
    final_newline: bool = True  # whether the last line ended with a newline

    def text(self, index: int, n_lines: int) -> str:
        """The line exactly as the reference's `read_events` sees it (newline included)."""
        if self.texts is not None:
            return self.texts[index]
        starts, ends = self.bounds()
        raw = self.data[starts[index]:ends[index]].decode("utf-8")
        last = index == n_lines - 1
        return raw + ("\n" if (not last or self.final_newline) else "")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        cached = getattr(self, "_bounds", None)
        if cached is None:
            buf = np.frombuffer(self.data, dtype=np.uint8)
            nl = np.flatnonzero(buf == 10)
            ends = nl if (len(buf) and buf[-1] == 10) else np.append(nl, len(buf))
            starts = np.empty(len(ends), dtype=np.int64)
            if len(ends):
                starts[0] = 0
                starts[1:] = ends[:-1] + 1
            cached = (starts, ends.astype(np.int64))
            object.__setattr__(self, "_bounds", cached)
        return cached


def _file_chunks(path: Path, chunk_bytes: int) -> Iterator[Chunk]:
    first = 1
    rest = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk_bytes)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1:]
            yield from _normalised(data[:cut + 1], first, True)
            first += _count_lines(data[:cut + 1])
    if rest:
        yield from _normalised(rest, first, False)


def _normalised(data: bytes, first: int, final_newline: bool) -> Iterator[Chunk]:
    # The reference reads in text mode: "\r\n" and a lone "\r" end a line like "\n" does.
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    yield Chunk(data, first, None, data.endswith(b"\n"))


def _count_lines(data: bytes) -> int:
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _list_chunks(lines: Iterable[str | bytes], chunk_lines: int = 200_000) -> Iterator[Chunk]:
    """Caller-given lines: each element is one line, whatever it contains (as in read_events)."""
    batch: list[str] = []
    first = 1
    for number, item in enumerate(lines, start=1):
        text = item.decode("utf-8") if isinstance(item, bytes) else item
        batch.append(text)
        if len(batch) >= chunk_lines:
            yield _text_chunk(batch, first)
            first = number + 1
            batch = []
    if batch:
        yield _text_chunk(batch, first)


def _text_chunk(texts: list[str], first: int) -> Chunk:
    # Lines with inner line breaks cannot share a newline-separated buffer: a control
    # character stands in for them there, which sends them to the exact path (read from `texts`).
    body = [t[:-1] if t.endswith("\n") else t for t in texts]
    safe = ["\x01" if ("\n" in b or "\r" in b) else b for b in body]
    return Chunk(("\n".join(safe) + "\n").encode("utf-8"), first, texts, True)


# ---------------------------------------------------------------------------------- parsing


@dataclass
class ParsedHistory:
    events: pl.DataFrame
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0
    slow_lines: int = 0  # lines that took the exact per-line path


def parse_history(source: str | Path | Iterable[str | bytes],
                  chunk_bytes: int = CHUNK_BYTES) -> ParsedHistory:
    chunks = (_file_chunks(Path(source), chunk_bytes) if isinstance(source, str | Path)
              else _list_chunks(source))
    frames: list[pl.DataFrame] = []
    errors: list[LineError] = []
    lines = slow = 0
    for chunk in chunks:
        frame, chunk_errors, n_lines, n_slow = _parse_chunk(chunk)
        frames.append(frame)
        errors.extend(chunk_errors)
        lines += n_lines
        slow += n_slow
    empty = pl.DataFrame(schema=SCHEMA).with_columns(pl.col(_PAYLOAD).cast(pl.Categorical),
                                                      pl.col("line").cast(pl.Int32))
    events = pl.concat(frames, how="vertical") if frames else empty
    return ParsedHistory(events, errors, lines, slow)


def iter_chunks(source: str | Path | Iterable[str | bytes]) -> Iterator[Chunk]:
    return (_file_chunks(Path(source), CHUNK_BYTES) if isinstance(source, str | Path)
            else _list_chunks(source))


def _parse_chunk(chunk: Chunk) -> tuple[pl.DataFrame, list[LineError], int, int]:
    starts, ends = chunk.bounds()
    n = len(starts)
    if n == 0:
        return pl.DataFrame(schema=SCHEMA).with_columns(
            pl.col(_PAYLOAD).cast(pl.Categorical), pl.col("line").cast(pl.Int32)), [], 0, 0
    buf = np.frombuffer(chunk.data, dtype=np.uint8)
    slow = np.zeros(n, dtype=bool)
    # Escapes, control characters (tab, \x01 the reader's separator, ...) and invalid UTF-8
    # take the exact path; a clean chunk costs two counts.
    n_backslash = int(np.count_nonzero(buf == 92))
    n_control = int(np.count_nonzero(buf < 32)) - int(np.count_nonzero(buf == 10))
    if n_backslash or n_control:
        bad = np.flatnonzero((buf == 92) | ((buf < 32) & (buf != 10)))
        slow[np.searchsorted(ends, bad, side="left")] = True
    try:
        frame = pl.read_csv(chunk.data, has_header=False, separator="\x01", quote_char=None,
                            schema={"line": pl.String}, truncate_ragged_lines=True,
                            comment_prefix=None, raise_if_empty=False)
        if frame.height != n:
            raise ValueError("line count mismatch")
        lines = frame.get_column("line")
        blank = lines.is_null().to_numpy() | (lines.str.len_bytes() == 0).fill_null(True).to_numpy()
    except Exception:  # invalid UTF-8 and the like: every line through the exact path
        lines = pl.Series("line", [None] * n, dtype=pl.String)
        slow[:] = True
        blank = np.zeros(n, dtype=bool)
    numbers = chunk.first + np.arange(n, dtype=np.int64)
    fast, ok = _fast_rows(lines, slow, numbers)
    # Empty lines are skipped by the reference; whitespace-only ones take the exact path
    # (str.strip() there strips Unicode spaces too).
    slow_idx = np.flatnonzero(slow | (~ok & ~blank))
    rows: list[dict[str, Any]] = []
    errors: list[LineError] = []
    for index in slow_idx.tolist():
        text = chunk.text(index, n)
        for _, item in read_events([text]):
            if isinstance(item, LineError):
                errors.append(dataclasses.replace(item, line=chunk.first + index))
            else:
                rows.append(event_row(chunk.first + index, item))
    frame = fast
    if rows:
        frame = pl.concat([fast, pl.DataFrame(rows, schema=SCHEMA)], how="vertical").sort("line")
    # Payload strings repeat a lot (reps, statuses, reasons): categorical codes keep a history
    # of millions of events in memory; ids and leads stay strings.
    return frame.with_columns(pl.col(_PAYLOAD).cast(pl.Categorical),
                              pl.col("line").cast(pl.Int32)), errors, n, len(slow_idx)


_PAYLOAD = ["rep", "channel", "outcome", "status", "reason", "frm", "to", "source", "tier",
            "fields"]


def event_row(line: int, event: Event) -> dict[str, Any]:
    """An Event (from the exact path) as a row of the event table."""
    d = event.data
    kind = event.type
    row: dict[str, Any] = {
        "line": line, "id": event.id, "type": TYPE_CODE[kind], "at": _us(event.at),
        "lead": event.lead if kind != "rep.availability" else None,
        "rep": None, "channel": None, "outcome": None, "status": None, "reason": None,
        "frm": None, "to": None, "won": None, "source": None, "tier": None,
        "score": None, "fields": None, "exotic": False,
    }
    if kind == "lead.created":
        row["source"] = d["source"]
        row["tier"] = d.get("tier")
        score = d.get("score")
        if score is not None:
            row["score"] = float(score)
            # Python compares a huge int with the score bounds exactly; a float might not.
            row["exotic"] = isinstance(score, int) and abs(score) > 2**53
    elif kind == "lead.updated":
        if "tier" in d:
            tier = d["tier"]
            if isinstance(tier, str):
                row["tier"] = tier
            else:  # the reference tests `tier in tiers`: unhashable values raise there
                row["exotic"] = True
    elif kind in ("lead.assigned", "handoff.accepted", "opportunity.created"):
        row["rep"] = d.get("rep")
    elif kind == "activity":
        row.update(rep=d["rep"], channel=d["channel"], outcome=d["outcome"])
    elif kind == "lead.status":
        row.update(status=d["status"], reason=d.get("reason"))
    elif kind == "handoff.requested":
        # The fields object is kept as JSON; completeness is decided against the policy later.
        row.update(frm=d["from"], to=d.get("to"))
        fields = d.get("fields")
        row["fields"] = None if fields is None else json.dumps(fields, ensure_ascii=False)
    elif kind == "handoff.rejected":
        row.update(rep=d["rep"], reason=d["reason"])
    elif kind == "deal.closed":
        row["won"] = d["won"]
    return row


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


# ---------------------------------------------------------------------------------- fast rows


def _fast_rows(lines: pl.Series, slow: np.ndarray, numbers: np.ndarray
               ) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows of canonical lines, and the mask of lines that need the exact path."""
    n = len(lines)
    df = pl.DataFrame({"line": lines, "no": numbers, "slow": slow}).with_row_index("i")
    # Type from the bytes after `"type":"`; the full pattern checks it again.
    df = df.with_columns(p=pl.col("line").str.find('","type":"', literal=True).cast(pl.Int64))
    df = df.with_columns(tkey=pl.col("line").cast(pl.Binary).bin.slice(pl.col("p") + 10, 11)
                         .cast(pl.String, strict=False))
    types = (df.get_column("tkey").replace_strict(_TYPE_KEY, default=255, return_dtype=pl.UInt8)
             .fill_null(255).to_numpy().astype(np.int64))
    types[slow] = 255
    ok = np.zeros(n, dtype=bool)
    parts: list[pl.DataFrame] = []
    for code, kind in enumerate(TYPES):
        idx = np.flatnonzero(types == code)
        if not len(idx):
            continue
        sub = df[idx]
        good = sub.get_column("line").str.contains(PATTERNS[kind]).fill_null(False).to_numpy()
        if not good.any():
            continue
        sub = sub.filter(pl.Series(good))
        part, valid = _extract(kind, sub)
        ok[idx[good][valid]] = True
        parts.append(part.filter(pl.Series(valid)))
    out = pl.concat(parts, how="vertical").sort("line") if parts else pl.DataFrame(schema=SCHEMA)
    return out, ok


def _str_at(b: pl.Expr, start: pl.Expr) -> pl.Expr:
    """The JSON string value starting at byte `start` (just after its opening quote).

    Offsets are bytes (`str.find`), so slicing works on the binary view; a value never holds a
    quote on this path, so it ends at the next one. A null `start` (absent member) gives null.
    """
    rest = b.bin.slice(start)
    end = rest.cast(pl.String).str.find('"', literal=True)
    return rest.bin.slice(0, end).cast(pl.String)


def _after(line: pl.Expr, text: str) -> pl.Expr:
    """Byte offset just past `text`: a member key is found once, as values hold no quotes."""
    return line.str.find(text, literal=True).cast(pl.Int64) + len(text)


def _extract(kind: str, sub: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Values of validated canonical lines of one type; and which rows are fully valid."""
    line = pl.col("line")
    b = line.cast(pl.Binary)
    at_start = pl.col("p") + 10 + len(kind) + 8  # `","type":"` + type + `","at":"`
    cols: dict[str, pl.Expr] = {
        "line": pl.col("no"),
        "id": b.bin.slice(7, pl.col("p") - 7).cast(pl.String),
        "type": pl.lit(TYPE_CODE[kind], dtype=pl.UInt8),
        "exotic": pl.lit(False),
        "at_text": b.bin.slice(at_start, 25).cast(pl.String),
    }
    if kind != "rep.availability":
        cols["lead"] = _str_at(b, at_start + 25 + 10)  # `","lead":"` follows the timestamp
    texts = sub.get_column("line")

    def has(text: str) -> bool:
        return bool(texts.str.contains(text, literal=True).any())

    if kind == "lead.created":
        cols["source"] = _str_at(b, _after(line, ',"source":"'))
        if has(',"tier":"'):
            cols["tier"] = _str_at(b, _after(line, ',"tier":"'))
        if has(',"score":'):
            rest = b.bin.slice(_after(line, ',"score":')).cast(pl.String)
            cols["score"] = rest.str.extract(r"^(-?[0-9]+(?:\.[0-9]+)?)").cast(pl.Float64)
    elif kind in ("lead.assigned", "handoff.accepted", "handoff.rejected", "activity",
                  "opportunity.created"):
        cols["rep"] = _str_at(b, _after(line, ',"rep":"'))
        if kind == "handoff.rejected":
            cols["reason"] = _str_at(b, _after(line, ',"reason":"'))
        elif kind == "activity":
            cols["channel"] = _str_at(b, _after(line, ',"channel":"'))
            cols["outcome"] = _str_at(b, _after(line, ',"outcome":"'))
    elif kind == "lead.status":
        cols["status"] = _str_at(b, _after(line, ',"status":"'))
        cols["reason"] = _str_at(b, _after(line, ',"reason":"'))
        if has(',"revisit":"'):
            cols["revisit"] = _str_at(b, _after(line, ',"revisit":"'))
    elif kind == "handoff.requested":
        cols["frm"] = _str_at(b, _after(line, ',"from":"'))
        fields_at = line.str.find(',"fields":{', literal=True).cast(pl.Int64)
        # `to` precedes `fields` in the only accepted order: a `"to"` key inside the fields
        # object (found when the member is absent) lies after it and is ignored.
        to_at = _after(line, ',"to":"')
        cols["to"] = pl.when(fields_at.is_null() | (to_at < fields_at)).then(_str_at(b, to_at))
        # The fields object is the last member and flat: it runs to the line's closing brace.
        cols["fields"] = b.bin.slice(fields_at + 10, line.str.len_bytes().cast(pl.Int64) - 11
                                     - fields_at).cast(pl.String)
    elif kind == "deal.closed":
        cols["won"] = line.str.contains(',"won":true', literal=True)
    out = sub.select(**cols)
    # Timestamps: naive wall time minus the offset (the pattern fixed the 25-byte layout).
    at_text = out.get_column("at_text")
    naive = at_text.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us",
                                                      strict=False)
    offset = at_text.str.slice(19, 6)
    minutes = {text: _offset_minutes(text) for text in offset.unique().drop_nulls().to_list()}
    off_us = offset.replace_strict(minutes, default=0, return_dtype=pl.Int64).to_numpy() * 60_000_000
    valid = naive.is_not_null().to_numpy()  # the pattern lets February 30th through
    naive_us = naive.dt.epoch("us").fill_null(0).to_numpy()
    out = out.drop("at_text").with_columns(at=pl.Series(naive_us - off_us, dtype=pl.Int64))
    if "revisit" in out.columns:
        revisit = out.get_column("revisit")
        day = revisit.str.to_date("%Y-%m-%d", strict=False)
        valid &= (revisit.is_null() | day.is_not_null()).to_numpy()
        out = out.drop("revisit")
    missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in SCHEMA.items()
               if name not in out.columns]
    return out.with_columns(missing).select(list(SCHEMA)).cast(SCHEMA), valid


def _offset_minutes(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6]))
