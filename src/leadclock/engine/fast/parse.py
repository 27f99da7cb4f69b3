"""Columnar reading of a JSON Lines event history, with the reference's errors line for line.

A line takes the fast path only when a strict, per-type regular expression proves that it is a
compact JSON object in the canonical key order (`event_to_json`, the contract order, or the demo
generator's order for `lead.created`), with kinds and enumerations exactly as `parse_event`
checks them, no escapes and no control characters. For such a line every JSON parser agrees on
the values, so the values sit at offsets that plain byte arithmetic finds. Every other line (bad
JSON, other key orders, escapes, integer ids, ...) goes through the reference `read_events`
itself, so its Event or its LineError is the reference's by construction.

The history is read in chunks (`CHUNK_BYTES`): the text of the whole file is never held at once.
Each chunk becomes integer columns straight away (`COLUMNS`): ids as two independent hashes of
their bytes (duplicates are compared on both, see columnar._dedup), timestamps as int64 µs UTC
(fixed-layout digits turned into numbers with numpy), enumerations as small codes, and every other
string as a code of a per-replay `Vocab` (polars categoricals: exact, whatever the length).

Why not `polars.read_ndjson`: it coerces a number into a string column (`"rep": 5` -> "5"),
keeps the *first* of duplicated keys where Python keeps the last, and is slower than this.
"""

from __future__ import annotations

import dataclasses
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
CHUNK_BYTES = 64 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UTC_END_US = int((datetime(2201, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()) * 1_000_000

# Enumerations as event columns code them (index in these tuples).
CHANNEL_NAMES = ("call", "email", "sms", "meeting", "social")
OUTCOME_NAMES = ("connected", "voicemail", "no_answer", "wrong_number", "busy", "sent", "bounced",
                 "replied", "booked", "held", "no_show", "other")
# lead.status values as events give them (in_progress only sets "working").
EVENT_STATUSES = ("qualified", "disqualified", "nurture", "recycled", "garbage", "unreachable",
                  "in_progress")
assert set(CHANNEL_NAMES) == CHANNELS and set(OUTCOME_NAMES) == OUTCOMES
assert set(EVENT_STATUSES) == STATUSES

# Columns of the event table (one row per valid event, in file order). What `a`, `b`, `c`, `d`
# hold depends on the type (-1: absent); strings are codes of the Vocab named in brackets:
#   lead.created        a source [sources], b tier [tiers], score
#   lead.updated        b tier [tiers] (a string tier; any other value makes the row exotic)
#   lead.assigned, handoff.accepted, opportunity.created   a rep [names]
#   activity            a rep [names], c channel, d outcome (CHANNEL_NAMES, OUTCOME_NAMES)
#   lead.status         b reason [reasons], c status (EVENT_STATUSES)
#   handoff.requested   a from [names], b to [names], c 1 if it carries every required field
#   handoff.rejected    a rep [names], b reason [reasons]
#   deal.closed         c 1 if won
# `lead` is a code of Vocab.leads (-1 for rep.availability); `exotic` marks values the columnar
# port leaves to the reference engine.
COLUMNS: dict[str, Any] = {
    "line": np.int64, "idh": np.uint64, "idh2": np.uint32, "type": np.int8, "at": np.int64,
    "lead": np.int32, "a": np.int32, "b": np.int32, "c": np.int8, "d": np.int8,
    "score": np.float64, "exotic": np.bool_,
}
# Two independent hashes of an id's UTF-8 bytes.
HASH_SEEDS = (0x5EED_1D5, 0x0BAD_CAFE)

# ---------------------------------------------------------------------------------- patterns

# Inside a string "anything but a quote, a backslash or a control character": such a string needs
# no unescaping, and a line holding an escape or a control character takes the exact path.
_C = r'[^"\\\x00-\x1f]'
_STR = rf'"{_C}+"'  # parse_event's "string (not empty)"
# Offsets are required ("Z" and fractions take the exact path); years are bounded so that
# Python's datetime and the numeric conversion agree on every accepted value.
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


def _suffix_pattern(kind: str) -> str:
    """The pattern from the timestamp's closing quote on: what comes before it (`{"id":"`, the
    id, `","type":"<kind>","at":"` and the timestamp) is checked with numpy (_fast_rows)."""
    lead = "" if kind == "rep.availability" else f',"lead":{_STR}'
    return rf'^"{lead}{_body(kind)}\}}$'


SUFFIX_PATTERNS = {kind: _suffix_pattern(kind) for kind in TYPES}
# An id as the patterns accept it has none of these (and is not empty).
_BAD_ID = r'["\\\x00-\x1f]'


def _word(text: str) -> int:
    """The little-endian uint64 of the first 8 bytes of `text` (zero-padded)."""
    return int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little")


# Bytes 3..10 of `type + '","at":"'` tell the types apart (the pattern checks the type again).
_TYPE_AT = 13  # offset of those bytes after the `","type":"` key's start
_TYPE_WORDS = np.array([_word((t + '","at":"')[3:]) for t in TYPES], dtype=np.uint64)
assert len(set(_TYPE_WORDS.tolist())) == len(TYPES)
_TYPE_SORT = np.argsort(_TYPE_WORDS)


def _enum_table(values: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.uint64]:
    """The shortest prefix of `value + '"'` that tells the values apart, as sorted words."""
    for size in range(1, 9):
        keys = [_word((v + '"')[:size]) for v in values]
        if len(set(keys)) == len(values):
            mask = np.uint64((1 << (8 * size)) - 1)
            order = np.argsort(np.array(keys, dtype=np.uint64))
            return np.array(keys, dtype=np.uint64)[order], order.astype(np.int8), mask
    raise AssertionError(values)


_ENUMS = {name: _enum_table(values) for name, values in
          (("channel", CHANNEL_NAMES), ("outcome", OUTCOME_NAMES), ("status", EVENT_STATUSES))}


# ---------------------------------------------------------------------------------- vocabulary


LEAD_SEEDS = (0x1EAD_5EED, 0x0C0D_E5ED)


class LeadTable:
    """Lead ids as dense codes without a global categorical. Each batch of ids is hashed (64
    bits of their bytes) and numbered by its distinct hashes (provisional codes, unique across
    batches); `finish` merges the batches' distinct hashes once, at the end. A second,
    independent hash must agree wherever the first does, else `collision` is set and the
    caller parses again with exact categoricals (parse_history)."""

    def __init__(self) -> None:
        self.size = 0  # provisional codes handed out
        self.keys: list[np.ndarray] = []  # per batch: its distinct hashes
        self.checks: list[np.ndarray] = []  # ... their second hashes
        self.heads: list[pl.Series] = []  # ... their ids
        self.collision = False
        self._names: pl.Series | None = None

    @staticmethod
    def hashes(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        raw = values.cast(pl.Binary)
        return (raw.hash(LEAD_SEEDS[0]).to_numpy(),
                (raw.hash(LEAD_SEEDS[1]).to_numpy() >> np.uint64(32)).astype(np.uint32))

    def codes(self, values: pl.Series) -> np.ndarray:
        """Provisional codes of a String series of lead ids (no nulls)."""
        if not len(values):
            return np.zeros(0, dtype=np.int64)
        h1, h2 = self.hashes(values)
        series = pl.Series(h1)
        heads = np.flatnonzero(series.is_first_distinct().to_numpy())
        local = series.rank("dense").to_numpy().astype(np.int64) - 1
        order = np.empty(len(heads), dtype=np.int64)  # rank -> head
        order[local[heads]] = np.arange(len(heads))
        code = order[local]
        if not np.array_equal(h2[heads][code], h2):
            self.collision = True
        self.keys.append(h1[heads])
        self.checks.append(h2[heads])
        self.heads.append(values.gather(heads))
        code += self.size
        self.size += len(heads)
        return code

    def finish(self) -> np.ndarray:
        """Final code of each provisional code (sets the names)."""
        keys = np.concatenate(self.keys) if self.keys else np.zeros(0, dtype=np.uint64)
        checks = np.concatenate(self.checks) if self.checks else np.zeros(0, dtype=np.uint32)
        order = np.argsort(keys)
        ranked = keys[order]
        start = np.r_[True, ranked[1:] != ranked[:-1]] if len(ranked) else np.zeros(0, bool)
        group = np.cumsum(start) - 1
        remap = np.empty(len(keys), dtype=np.int64)
        remap[order] = group
        first = order[start]  # one provisional code per final code
        if not np.array_equal(checks[first][remap], checks):
            self.collision = True
        heads = pl.concat(self.heads) if self.heads else pl.Series([], dtype=pl.String)
        self._names = heads.gather(first).cast(pl.String).rename("")
        self.keys, self.checks, self.heads = [], [], []
        return remap

    def names(self) -> pl.Series:
        assert self._names is not None, "finish() first"
        return self._names


@dataclass
class Vocab:
    """Strings of one replay as dense codes (per-replay polars categoricals: exact, any length)."""

    leads: pl.Categories = field(default_factory=pl.Categories.random)
    names: pl.Categories = field(default_factory=pl.Categories.random)
    reasons: pl.Categories = field(default_factory=pl.Categories.random)
    sources: pl.Categories = field(default_factory=pl.Categories.random)
    tiers: pl.Categories = field(default_factory=pl.Categories.random)

    attrs: dict[str, pl.Categories] = field(default_factory=dict)  # lead.created members
    # Lead ids: hashed (LeadTable) unless `exact_leads`, when they are categoricals like the rest
    exact_leads: bool = False
    lead_table: LeadTable = field(default_factory=lambda: LeadTable())

    def __post_init__(self) -> None:
        # A mapping lives as long as some series of its dtype does (codes would start over).
        self._anchors = [pl.Series([], dtype=pl.Categorical(cats)) for cats in
                         (self.leads, self.names, self.reasons, self.sources, self.tiers)]

    def attr(self, key: str) -> pl.Categories:
        if key not in self.attrs:
            self.attrs[key] = pl.Categories.random()
            self._anchors.append(pl.Series([], dtype=pl.Categorical(self.attrs[key])))
        return self.attrs[key]

    def lead_codes(self, values: pl.Series) -> np.ndarray:
        """Codes of lead ids (a String series without nulls), dense from 0."""
        if self.exact_leads:
            return self.codes(self.leads, values)
        return self.lead_table.codes(values)

    def lead_names(self) -> pl.Series:
        """Lead ids by code."""
        if self.exact_leads:
            return self.leads.to_series()
        return self.lead_table.names()

    @staticmethod
    def codes(cats: pl.Categories, values: pl.Series) -> np.ndarray:
        """int64 codes (-1 for null) of a String or Binary series."""
        if values.dtype != pl.String:
            values = values.cast(pl.String)
        return (values.cast(pl.Categorical(cats)).to_physical().cast(pl.Int64).fill_null(-1)
                .to_numpy())

    @staticmethod
    def strings(cats: pl.Categories) -> list[str]:
        return cats.to_series().to_list()


# ---------------------------------------------------------------------------------- chunks


@dataclass
class Chunk:
    """Whole lines `first`, `first + 1`, ... of a history, separated by b"\\n"."""

    data: bytes
    first: int  # line number of the first line
    texts: list[str] | None = None  # the caller's own lines, when given as strings
    final_newline: bool = True  # whether the last line ended with a newline
    # `data` followed by at least _PAD zero bytes (length a multiple of 8), when at hand
    padded: np.ndarray | None = field(default=None, repr=False)

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


def _file_chunks(path: Path, chunk_bytes: int, count: bool = True) -> Iterator[Chunk]:
    """Chunks of whole lines. `count=False`: the caller numbers them (sets `first`) as it goes.

    The file is read into one reusable zero-padded buffer, which a chunk also carries as its
    `padded` bytes (valid until the next chunk is read): no copy but the chunk's own bytes."""
    first = 1
    buf = np.zeros(_round8(chunk_bytes + _PAD), dtype=np.uint8)
    filled = 0
    with open(path, "rb") as handle:
        while True:
            if filled + chunk_bytes + _PAD > len(buf):  # a line longer than a chunk
                grown = np.zeros(_round8(filled + chunk_bytes + _PAD), dtype=np.uint8)
                grown[:filled] = buf[:filled]
                buf = grown
            got = handle.readinto(memoryview(buf)[filled:filled + chunk_bytes])
            if not got:
                break
            filled += got
            cut = _last_newline(buf, filled)
            if cut < 0:
                continue
            body = buf[:cut + 1].tobytes()
            rest = buf[cut + 1:filled].copy()
            buf[cut + 1:cut + 1 + _PAD] = 0
            chunk = _normalised(body, first, buf)
            del body
            if count:
                first += _count_lines(chunk.data)
            yield chunk
            del chunk
            buf[:len(rest)] = rest
            filled = len(rest)
    if filled:
        yield _normalised(buf[:filled].tobytes(), first)


_PAD = 64  # zero bytes after a chunk's data: word reads past a line's end stay in bounds


def _round8(size: int) -> int:
    return (size + 7) // 8 * 8


def _last_newline(buf: np.ndarray, filled: int) -> int:
    """Offset of the last b"\n" in buf[:filled] (-1: none)."""
    window = 1 << 16
    end = filled
    while end > 0:
        begin = max(0, end - window)
        hits = np.flatnonzero(buf[begin:end] == 10)
        if len(hits):
            return begin + int(hits[-1])
        end = begin
        window *= 4
    return -1


def _normalised(data: bytes, first: int, padded: np.ndarray | None = None) -> Chunk:
    # The reference reads in text mode: "\r\n" and a lone "\r" end a line like "\n" does.
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        padded = None
    return Chunk(data, first, None, data.endswith(b"\n"), padded)


def _count_lines(data: bytes) -> int:
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


def iter_chunks(source: str | Path | Iterable[str | bytes]) -> Iterator[Chunk]:
    return (_file_chunks(Path(source), CHUNK_BYTES) if isinstance(source, str | Path)
            else _list_chunks(source))


def read_lines(source: Any, numbers: np.ndarray) -> dict[int, str]:
    """The text of lines `numbers` (sorted), as `read_events` sees them: one more pass."""
    out: dict[int, str] = {}
    if not len(numbers):
        return out
    for chunk in iter_chunks(source):
        n = len(chunk.bounds()[0]) if chunk.texts is None else len(chunk.texts)
        lo = np.searchsorted(numbers, chunk.first)
        hi = np.searchsorted(numbers, chunk.first + n)
        for number in numbers[lo:hi].tolist():
            out[number] = chunk.text(number - chunk.first, n)
        if hi == len(numbers):
            break
    return out


# ---------------------------------------------------------------------------------- parsing


@dataclass
class ParsedHistory:
    cols: dict[str, np.ndarray]  # COLUMNS, one row per valid event in file order
    vocab: Vocab
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0
    slow_lines: int = 0  # lines that took the exact per-line path
    # lead.created members the starting tier reads (rules.tiering), by line: "line" (sorted) and
    # per member the raw JSON text's code in vocab.attr(member) (-1: absent) for canonical lines;
    # the exact path's events keep their own data (line -> Event).
    created: dict[str, np.ndarray] = field(default_factory=dict)
    created_events: dict[int, Event] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return len(self.cols["line"])


# lead.created members by kind (what a canonical line may carry).
CREATED_MEMBERS = {**FIELDS["lead.created"][0], **FIELDS["lead.created"][1]}


def parse_history(source: str | Path | Iterable[str | bytes], required: tuple[str, ...] = (),
                  created_keys: tuple[str, ...] = (), chunk_bytes: int = CHUNK_BYTES
                  ) -> ParsedHistory:
    """`required`: the policy's handoff.required_fields (handoff.requested rows record whether
    they carry them all, as core._on_handoff_requested decides); `created_keys`: the lead.created
    members to keep (those the starting tier reads)."""
    if not isinstance(source, str | Path | list | tuple):
        source = list(source)  # read twice if lead ids collide
    parsed = _parse_history(source, required, created_keys, chunk_bytes, exact_leads=False)
    if parsed.vocab.lead_table.collision:  # two lead ids share a hash: categoricals instead
        parsed = _parse_history(source, required, created_keys, chunk_bytes, exact_leads=True)
    return parsed


def _parse_history(source: str | Path | Iterable[str | bytes], required: tuple[str, ...],
                   created_keys: tuple[str, ...], chunk_bytes: int, exact_leads: bool
                   ) -> ParsedHistory:
    chunks = (_file_chunks(Path(source), chunk_bytes, count=False)
              if isinstance(source, str | Path) else _list_chunks(source))
    vocab = Vocab(exact_leads=exact_leads)
    keys = tuple(k for k in dict.fromkeys(created_keys) if k in CREATED_MEMBERS)
    parts: list[dict[str, np.ndarray]] = []
    created_parts: list[dict[str, np.ndarray]] = []
    created_events: dict[int, Event] = {}
    errors: list[LineError] = []
    lines = slow = 0
    first = 1
    for chunk in chunks:
        chunk.first = first
        ctx = _Context(vocab, tuple(required), keys)
        cols, chunk_errors, n_lines, n_slow = _parse_chunk(chunk, ctx)
        first += n_lines
        del chunk
        parts.append(cols)
        created_parts.append(ctx.created_table())
        created_events.update(ctx.created_events)
        errors.extend(chunk_errors)
        lines += n_lines
        slow += n_slow
    created = {name: np.concatenate([p[name] for p in created_parts]) if created_parts
               else np.zeros(0, dtype=np.int64) for name in ("line", *keys)}
    order = np.argsort(created["line"], kind="stable")
    created = {name: col[order] for name, col in created.items()}
    if not exact_leads:
        remap = vocab.lead_table.finish()
        for part in parts:
            lead = part["lead"]
            has = lead >= 0
            lead[has] = remap[lead[has]]
    cols: dict[str, np.ndarray] = {}
    for name, dtype in COLUMNS.items():  # column by column: the parts go as the whole comes
        cols[name] = (np.concatenate([p.pop(name) for p in parts]) if parts
                      else np.zeros(0, dtype=dtype))
    return ParsedHistory(cols, vocab, errors, lines, slow, created, created_events)


@dataclass
class _Context:
    """What one chunk's parse needs and collects besides the event columns."""

    vocab: Vocab
    required: tuple[str, ...]
    keys: tuple[str, ...]  # lead.created members to keep
    first: int = 1
    created_rows: list[np.ndarray] = field(default_factory=list)
    created_codes: dict[str, list[np.ndarray]] = field(default_factory=dict)
    created_events: dict[int, Event] = field(default_factory=dict)

    def created_table(self) -> dict[str, np.ndarray]:
        rows = (np.concatenate(self.created_rows) if self.created_rows
                else np.zeros(0, dtype=np.int64))
        out = {"line": rows + self.first}
        for key in self.keys:
            parts = self.created_codes.get(key, [])
            out[key] = (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))
        return out


def _empty(n: int) -> dict[str, np.ndarray]:
    out = {name: np.full(n, -1, dtype=dtype) for name, dtype in COLUMNS.items()
           if name not in ("score", "exotic", "idh", "idh2")}
    out["idh"] = np.zeros(n, dtype=np.uint64)
    out["idh2"] = np.zeros(n, dtype=np.uint32)
    out["score"] = np.full(n, np.nan)
    out["exotic"] = np.zeros(n, dtype=bool)
    return out


def _parse_chunk(chunk: Chunk, ctx: _Context
                 ) -> tuple[dict[str, np.ndarray], list[LineError], int, int]:
    vocab, required = ctx.vocab, ctx.required
    ctx.first = chunk.first
    data = chunk.data
    try:
        frame = pl.read_csv(data, has_header=False, separator="\x01", quote_char=None,
                            schema={"line": pl.String}, truncate_ragged_lines=True,
                            comment_prefix=None, raise_if_empty=False)
        lines = frame.get_column("line")
        del frame
    except Exception:  # invalid UTF-8 and the like: every line through the exact path
        lines = None
    if lines is not None:
        lens = lines.str.len_bytes().fill_null(0).to_numpy().astype(np.int64)
        n = len(lens)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1] + 1, out=starts[1:])
        expect = len(data) - (1 if data.endswith(b"\n") else 0)
        slow = np.zeros(n, dtype=bool)
        if n and starts[-1] + lens[-1] == expect:
            object.__setattr__(chunk, "_bounds", (starts, starts + lens))
        else:
            # read_csv's lines are not the bytes' lines (a \x01, a byte order mark, ...): the exact
            # bounds, and lines that differ take the exact path.
            starts, ends = chunk.bounds()
            if len(starts) != n:
                lines = None
            else:
                slow |= (ends - starts) != lens
    if lines is None:
        starts, ends = chunk.bounds()
        n = len(starts)
        slow = np.ones(n, dtype=bool)
        lines = pl.Series("line", [None] * n, dtype=pl.String)
        lens = ends - starts
    if n == 0:
        return _empty(0), [], 0, 0
    out = _empty(n)
    ok = np.zeros(n, dtype=bool)
    if not slow.all():
        _fast_rows(lines, chunk, starts, lens, slow, out, ok, ctx)
    # Empty lines are skipped by the reference; whitespace-only ones take the exact path
    # (str.strip() there strips Unicode spaces too).
    slow_idx = np.flatnonzero(~ok & ((lens > 0) | slow))
    errors: list[LineError] = []
    if len(slow_idx):
        rows: list[tuple[int, Event]] = []
        for index in slow_idx.tolist():
            text = chunk.text(index, n)
            for _, item in read_events([text]):
                if isinstance(item, LineError):
                    errors.append(dataclasses.replace(item, line=chunk.first + index))
                else:
                    rows.append((index, item))
        _slow_rows(rows, out, ok, vocab, required)
        for index, event in rows:
            if event.type == "lead.created":
                ctx.created_events[chunk.first + index] = event
    keep = np.flatnonzero(ok)
    cols = out if len(keep) == n else {name: arr[keep] for name, arr in out.items()}
    cols["line"] = keep + chunk.first
    return cols, errors, n, len(slow_idx)


# ---------------------------------------------------------------------------------- fast rows


class _Words:
    """Little-endian uint64 words at any byte offsets of a zero-padded buffer (`words[pos]`),
    each put together from the two aligned words it spans: far cheaper to gather than from a
    stride-1 view of the bytes."""

    def __init__(self, aligned: np.ndarray) -> None:
        self.aligned = aligned

    def __getitem__(self, pos: np.ndarray) -> np.ndarray:
        return self.run(pos, 1)[0]

    def run(self, pos: np.ndarray, count: int) -> list[np.ndarray]:
        """The words at pos, pos + 8, ..., pos + 8 * (count - 1)."""
        pos = np.asarray(pos, dtype=np.int64)
        q = pos >> 3
        shift = ((pos & 7) << 3).astype(np.uint64)
        back = _SIXTY_FOUR - shift  # a shift by 64 gives 0 in numpy
        parts = [self.aligned[q + i] for i in range(count + 1)]
        return [(parts[i] >> shift) | (parts[i + 1] << back) for i in range(count)]


_SIXTY_FOUR = np.uint64(64)


def _u64_view(data: bytes, padded: np.ndarray | None = None
              ) -> tuple[np.ndarray, _Words, np.ndarray]:
    """Bytes, little-endian uint64 words at every byte offset of `data` (zero-padded), and the
    aligned words (word i is bytes 8i..8i+7)."""
    if padded is None or len(padded) < len(data) + _PAD or len(padded) % 8:
        padded = np.zeros(_round8(len(data) + _PAD), dtype=np.uint8)
        padded[:len(data)] = np.frombuffer(data, dtype=np.uint8)
    aligned = padded.view("<u8")
    return padded, _Words(aligned), aligned


_FF = np.uint64(0xFF)
_NIB = np.uint64(0x0F0F0F0F0F0F0F0F)


def _pairs(word: np.ndarray) -> np.ndarray:
    """Two-digit numbers: byte i of the result (low 8 bits at 8*i) is 10*digit(i) + digit(i+1)."""
    digits = word & _NIB
    return digits * np.uint64(10) + (digits >> np.uint64(8))


def _byte(word: np.ndarray, index: int) -> np.ndarray:
    return ((word >> np.uint64(8 * index)) & _FF).astype(np.int64)


def _day_table() -> np.ndarray:
    """Days since 1970-01-01 of (year - 1900, month, day), -2**40 for dates that do not exist."""
    years = np.arange(1900, 3000)
    out = np.full((len(years), 16, 32), -(2**40), dtype=np.int64)
    for month in range(1, 13):
        first = np.array([np.datetime64(f"{y:04d}-{month:02d}-01", "D") for y in years])
        nxt = np.array([np.datetime64(f"{y + (month == 12):04d}-{month % 12 + 1:02d}-01", "D")
                        for y in years])
        base = first.astype(np.int64)
        length = (nxt - first).astype(np.int64)
        for day in range(1, 32):
            out[:, month, day] = np.where(day <= length, base + day - 1, -(2**40))
    return out.reshape(-1)


_DAYS: np.ndarray | None = None


def _days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    global _DAYS
    if _DAYS is None:
        _DAYS = _day_table()
    return _DAYS[((year - 1900) * 16 + month) * 32 + day]


def _mask(*index: int) -> int:
    return sum(0xFF << (8 * i) for i in index)


def _digits(word: np.ndarray, mask: int) -> np.ndarray:
    """Whether the bytes of `word` under `mask` (0xFF bytes) are all ASCII digits."""
    high = np.uint64(mask & 0xF0F0F0F0F0F0F0F0)
    zeros = np.uint64(mask & 0x3030303030303030)
    low = word & np.uint64(mask)
    return ((low & high) == zeros) & (((low + np.uint64(mask & 0x0606060606060606)) & high)
                                      == zeros)


def _bytes_are(word: np.ndarray, values: dict[int, str]) -> np.ndarray:
    mask = _mask(*values)
    want = sum(ord(ch) << (8 * i) for i, ch in values.items())
    return (word & np.uint64(mask)) == np.uint64(want)


def _timestamps(words: _Words, padded: np.ndarray, pos: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`YYYY-MM-DDTHH:MM:SS+HH:MM` at byte `pos` as µs UTC; whether it has the pattern's form
    (_TS: digits, separators and ranges); and whether the date exists (the form lets February
    30th through)."""
    w0, w1, w2 = words.run(pos, 3)
    last = padded[pos + 24]
    form = (_digits(w0, _mask(0, 1, 2, 3, 5, 6)) & _bytes_are(w0, {4: "-", 7: "-"})
            & _digits(w1, _mask(0, 1, 3, 4, 6, 7)) & _bytes_are(w1, {2: "T", 5: ":"})
            & _digits(w2, _mask(1, 2, 4, 5, 7)) & _bytes_are(w2, {0: ":", 6: ":"})
            & ((last >= 48) & (last <= 57)))
    sign = _byte(w2, 3)
    form &= (sign == 43) | (sign == 45)  # "+" or "-"
    last = (last & 15).astype(np.int64)
    p0, p1, p2 = _pairs(w0), _pairs(w1), _pairs(w2)
    year = _byte(p0, 0) * 100 + _byte(p0, 2)
    month, day = _byte(p0, 5), _byte(p1, 0)
    hour, minute, second = _byte(p1, 3), _byte(p1, 6), _byte(p2, 1)
    off_hour, off_minute = _byte(p2, 4), (_byte(w2, 7) & 15) * 10 + last
    form &= ((year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12) & (day >= 1)
             & (day <= 31) & (hour <= 23) & (minute <= 59) & (second <= 59) & (off_hour <= 23)
             & (off_minute <= 59))
    days = _days(np.where(form, year, 1970), np.where(form, month, 1), np.where(form, day, 1))
    seconds = days * 86400 + hour * 3600 + minute * 60 + second
    offset = off_hour * 3600 + off_minute * 60
    seconds -= np.where(sign == 45, -offset, offset)  # "-" is 45
    return seconds * 1_000_000, form, days > -(2**39)


def _dates_valid(words: _Words, pos: np.ndarray) -> np.ndarray:
    """Whether `"YYYY-MM-DD"` at byte `pos` (years 1900-2999 by the pattern) is a real date."""
    w0, w1 = words.run(pos, 2)
    p0, p1 = _pairs(w0), _pairs(w1)
    year = _byte(p0, 0) * 100 + _byte(p0, 2)
    month = _byte(p0, 5)
    day = _byte(p1, 0)
    good = (month <= 12) & (day <= 31)
    days = _days(year, np.where(good, month, 0), np.where(good, day, 0))
    return good & (days > -(2**39))


def _enum_codes(words: _Words, pos: np.ndarray, name: str) -> np.ndarray:
    keys, order, mask = _ENUMS[name]
    found = np.searchsorted(keys, words[pos] & mask)
    return order[np.minimum(found, len(keys) - 1)]


def _find(sub: pl.Series, text: str) -> np.ndarray:
    """Byte offset of `text` in each line (-1 when absent)."""
    return sub.str.find(text, literal=True).fill_null(-1).cast(pl.Int64).to_numpy()


def _slice(sub: pl.Series, start: np.ndarray, end: np.ndarray) -> pl.Series:
    """Bytes [start, end) of each line as strings (offsets fall on ASCII bytes: valid UTF-8)."""
    frame = pl.DataFrame({"b": sub.cast(pl.Binary), "s": start, "n": end - start})
    return frame.select(pl.col("b").bin.slice(pl.col("s"), pl.col("n"))).to_series().cast(
        pl.String)


def _slice_some(sub: pl.Series, has: np.ndarray, start: np.ndarray, end: np.ndarray
                ) -> pl.Series:
    """_slice where `has`, null elsewhere (no gather of the lines)."""
    if has.all():
        return _slice(sub, start, end)
    values = _slice(sub, np.where(has, start, 0), np.where(has, end, 0))
    return pl.select(pl.when(pl.lit(pl.Series(has))).then(pl.lit(values))).to_series()


def _slice_only(sub: pl.Series, has: np.ndarray, start: np.ndarray, end: np.ndarray
                ) -> pl.Series:
    """_slice of the lines where `has` (sliced first, then filtered: short values)."""
    if has.all():
        return _slice(sub, start, end)
    return _slice(sub, np.where(has, start, 0), np.where(has, end, 0)).filter(pl.Series(has))


# Scanning the zero-padded chunk 8 bytes at a time (bit tricks on uint64 words): a validated
# line holds no escape, so the first quote at or after a string value's start is its end.
_LO = np.uint64(0x0101010101010101)
_HI = np.uint64(0x8080808080808080)
_ONE = np.uint64(1)
_SEVEN = np.uint64(7)
_TOP = np.uint64(56)
_BYTE_INDEX = np.uint64(0x0001020304050607)  # (1 << 8k) * this has k in its top byte
_QUOTE = np.uint64(0x2222222222222222)
_COMMA = np.uint64(0x2C2C2C2C2C2C2C2C)
_BRACE = np.uint64(0x7D7D7D7D7D7D7D7D)


def _zero_bytes(x: np.ndarray) -> np.ndarray:
    """High bit set in (at least) the lowest zero byte of each word; exact for the lowest."""
    return (x - _LO) & ~x & _HI


_LOW_BYTES = np.array([(1 << (8 * r)) - 1 for r in range(8)], dtype=np.uint64)


def _hits(w: np.ndarray, targets: tuple[np.ndarray, ...], low: np.ndarray | None
          ) -> np.ndarray:
    t = None
    for target in targets:
        x = w ^ target
        if low is not None:
            x |= low
        found = _zero_bytes(x)
        t = found if t is None else t | found
    assert t is not None
    return t


def _lowest(t: np.ndarray) -> np.ndarray:
    """Index of the lowest byte whose high bit is set (garbage where t == 0)."""
    lsb = t & (~t + _ONE)
    return (((lsb >> _SEVEN) * _BYTE_INDEX) >> _TOP).astype(np.int64)


def _scan(aligned: np.ndarray, pos: np.ndarray, targets: tuple[np.ndarray, ...]
          ) -> np.ndarray:
    """Absolute offset of the first byte at or after `pos` equal to one of `targets` (each a
    byte repeated 8 times), reading aligned words: two at first (at least 9 bytes from `pos`,
    which covers most values), then one at a time. Such a byte must exist (in the padding at
    the latest, for a zero target)."""
    pos = np.asarray(pos, dtype=np.int64)
    q = pos >> 3
    t0 = _hits(aligned[q], targets, _LOW_BYTES[pos & 7])  # bytes before `pos` never match
    t1 = _hits(aligned[q + 1], targets, None)
    first = t0 != 0
    t = np.where(first, t0, t1)
    out = (q << 3) + np.where(first, 0, 8) + _lowest(t)
    todo = np.flatnonzero(t == 0)
    q = q[todo] + 2
    while len(todo):  # two words at a time
        t0 = _hits(aligned[q], targets, None)
        t1 = _hits(aligned[q + 1], targets, None)
        first = t0 != 0
        t = np.where(first, t0, t1)
        hit = t != 0
        found = np.flatnonzero(hit)
        out[todo[found]] = (q[found] << 3) + np.where(first[found], 0, 8) + _lowest(t[found])
        todo, q = todo[~hit], q[~hit] + 2
    return out


def _quote(aligned: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _scan(aligned, pos, (_QUOTE,))


def _fast_rows(lines: pl.Series, chunk: Chunk, starts: np.ndarray, lens: np.ndarray,
               slow: np.ndarray, out: dict[str, np.ndarray], ok: np.ndarray, ctx: _Context
               ) -> None:
    """Fill `out` for the canonical lines and mark them in `ok`.

    A line is canonical when PATTERNS[type] matches it. The patterns' common head, up to the
    timestamp's closing quote, is checked here with numpy and on the (short) ids; the regular
    expression only reads the rest (SUFFIX_PATTERNS), which is most of the cost."""
    vocab = ctx.vocab
    padded, words, aligned = _u64_view(chunk.data, chunk.padded)
    p = _find(lines, '","type":"')  # on a canonical line, just after the id
    cand = (p >= 8) & ~slow & (lens >= p + 40)
    at_key = np.where(cand, starts + p + _TYPE_AT, 0)
    key = words[at_key]
    found = np.minimum(np.searchsorted(_TYPE_WORDS[_TYPE_SORT], key), len(TYPES) - 1)
    types = np.where(cand & (_TYPE_WORDS[_TYPE_SORT][found] == key), _TYPE_SORT[found], -1)
    # `{"id":"`, then the id: not empty (p >= 8), no quote, backslash or control character.
    typed = types >= 0
    where = np.flatnonzero(typed)
    some = lines.filter(pl.Series(typed))
    ident = _slice(some, np.full(len(where), 7, dtype=np.int64), p[where])
    good = ~ident.str.contains(_BAD_ID).to_numpy() & some.str.starts_with('{"id":"').to_numpy()
    del some
    ident = ident.cast(pl.Binary)
    out["idh"][where] = ident.hash(HASH_SEEDS[0]).to_numpy()
    out["idh2"][where] = ident.hash(HASH_SEEDS[1]).to_numpy() >> np.uint64(32)
    del ident
    types[where[~good]] = -1
    present = np.bincount(types[types >= 0], minlength=len(TYPES))
    lead_start = np.zeros(len(lines), dtype=np.int64)
    lead_end = np.zeros(len(lines), dtype=np.int64)
    valid_parts = []
    for code in np.flatnonzero(present).tolist():
        kind = TYPES[code]
        rows = np.flatnonzero(types == code)
        rel_at = p[rows] + 10 + len(kind) + 8  # `","type":"` + type + `","at":"`
        # `","type":"` is at p (found there) and bytes 13..20 are the type key: the rest
        head = (_text_at(words, starts[rows] + p[rows] + 10, kind[:3])
                & _text_at(words, starts[rows] + p[rows] + 21,
                           f'","type":"{kind}","at":"'[21:]))
        at, form, real = _timestamps(words, padded, starts[rows] + rel_at)
        head &= form
        mask = np.zeros(len(lines), dtype=bool)
        mask[rows[head]] = True
        rows, rel_at, at, real = rows[head], rel_at[head], at[head], real[head]
        if not len(rows):
            continue
        sub = lines.filter(pl.Series(mask))
        good = _slice_from(sub, rel_at + 25).str.contains(SUFFIX_PATTERNS[kind]).fill_null(
            False).to_numpy()
        if not good.any():
            continue
        rows, rel_at, at, real = rows[good], rel_at[good], at[good], real[good]
        sub = sub.filter(pl.Series(good))
        real &= (at >= 0) & (at < _UTC_END_US)  # parse_event's 1970-2200 (UTC) bound: exact path
        fine = _extract(kind, sub, rows, starts[rows], lens[rows], rel_at + 35,
                        (words, padded, aligned), out, lead_end, ctx)
        real &= fine
        out["at"][rows] = at
        out["type"][rows] = code
        lead_start[rows] = rel_at + 35  # `","lead":"` follows the timestamp
        ok[rows[real]] = True
        valid_parts.append(rows[real])
    if not valid_parts:
        return
    valid = np.sort(np.concatenate(valid_parts))
    has_lead = out["type"][valid] != TYPE_CODE["rep.availability"]
    with_lead = valid[has_lead]
    if len(with_lead):
        mask = np.zeros(len(lines), dtype=bool)
        mask[with_lead] = True
        sub = lines.filter(pl.Series(mask))
        out["lead"][with_lead] = vocab.lead_codes(
            _slice(sub, lead_start[with_lead], lead_end[with_lead]))


def _slice_from(sub: pl.Series, start: np.ndarray) -> pl.Series:
    """Bytes from `start` (an ASCII byte) to the end of each line, as strings."""
    frame = pl.DataFrame({"b": sub.cast(pl.Binary), "s": start})
    return frame.select(pl.col("b").bin.slice(pl.col("s"))).to_series().cast(pl.String)


def _text_at(words: _Words, pos: np.ndarray, text: str) -> np.ndarray:
    """Whether the bytes of `text` sit at `pos`."""
    raw = text.encode()
    parts = words.run(pos, (len(raw) + 7) // 8)
    out = np.ones(len(pos), dtype=bool)
    for i, word in enumerate(parts):
        piece = raw[8 * i:8 * i + 8]
        mask = np.uint64((1 << (8 * len(piece))) - 1)
        out &= (word & mask) == np.uint64(int.from_bytes(piece, "little"))
    return out


_CHANNEL_LEN = np.array([len(v) for v in CHANNEL_NAMES], dtype=np.int64)
_STATUS_LEN = np.array([len(v) for v in EVENT_STATUSES], dtype=np.int64)


def _word_is(words: _Words, pos: np.ndarray, text: str) -> np.ndarray:
    """Whether the (up to 8) bytes of `text` sit at `pos`."""
    size = len(text.encode())
    assert size <= 8
    mask = np.uint64((1 << (8 * size)) - 1)
    return (words[pos] & mask) == np.uint64(_word(text))


def _extract(kind: str, sub: pl.Series, rows: np.ndarray, starts: np.ndarray, lens: np.ndarray,
             lead_at: np.ndarray, views: tuple[_Words, np.ndarray, np.ndarray],
             out: dict[str, np.ndarray], lead_end: np.ndarray, ctx: _Context) -> np.ndarray:
    """Type-specific values of validated lines `rows` (`sub`); False where the exact path must
    decide after all. Offsets: `starts` absolute, everything else relative to the line."""
    vocab, required = ctx.vocab, ctx.required
    words, padded, aligned = views
    fine = np.ones(len(rows), dtype=bool)
    if kind == "rep.availability":
        return fine
    end_abs = _quote(aligned, starts + lead_at)  # the lead's closing quote
    end = end_abs - starts
    lead_end[rows] = end
    close = lens - 2  # the last value of a line ends just before `"}`
    if kind == "lead.created":
        src = end + 12  # `","source":"`
        src_end = _quote(aligned, starts + src)
        out["a"][rows] = vocab.codes(vocab.sources, _slice(sub, src, src_end - starts))
        members = _created_walk(views, src_end + 1)
        has, begin, stop = members["tier"]
        if has.any():
            out["b"][rows[has]] = vocab.codes(
                vocab.tiers, _slice_only(sub, has, begin - starts, stop - starts))
        has, begin, stop = members["score"]
        if has.any():
            score = _slice_only(sub, has, begin - starts, stop - starts)
            out["score"][rows[has]] = score.cast(pl.Float64).to_numpy()
        _created_members(sub, rows, starts, members, ctx)
    elif kind in ("lead.assigned", "handoff.accepted", "handoff.rejected", "activity"):
        rep = end + 9  # `","rep":"`
        rep_end = close if kind == "handoff.accepted" else _quote(aligned, starts + rep) - starts
        if kind == "handoff.rejected":
            out["b"][rows] = vocab.codes(vocab.reasons, _slice(sub, rep_end + 12, close))
        elif kind == "activity":
            channel = starts + rep_end + 13  # `","channel":"`
            out["c"][rows] = ch = _enum_codes(words, channel, "channel")
            out["d"][rows] = _enum_codes(words, channel + _CHANNEL_LEN[ch] + 13, "outcome")
        out["a"][rows] = vocab.codes(vocab.names, _slice(sub, rep, rep_end))
    elif kind == "opportunity.created":
        amount_end = _scan(aligned, end_abs + 11, (_COMMA, _BRACE))  # `","amount":`
        has = padded[amount_end] == 44  # `,"rep":"` follows
        if has.any():
            out["a"][rows[has]] = vocab.codes(vocab.names, _slice_only(
                sub, has, amount_end - starts + 8, close))
    elif kind == "lead.status":
        out["c"][rows] = st = _enum_codes(words, end_abs + 12, "status")  # `","status":"`
        q = end_abs + 12 + _STATUS_LEN[st]  # the status' closing quote
        has = _word_is(words, q, '","reaso')
        if has.any():
            begin = q + 12  # `","reason":"`
            stop = q.copy()
            stop[has] = _quote(aligned, begin[has])
            out["b"][rows[has]] = vocab.codes(vocab.reasons, _slice_only(
                sub, has, begin - starts, stop - starts))
            q = np.where(has, stop, q)
        has = _word_is(words, q, '","revis')
        if has.any():
            fine[has] = _dates_valid(words, q[has] + 13)  # `","revisit":"`
    elif kind == "handoff.requested":
        frm = end + 10  # `","from":"`
        frm_end = _quote(aligned, starts + frm)
        has_to = _word_is(words, frm_end, '","to":"')
        q = frm_end.copy()
        if has_to.any():
            q[has_to] = _quote(aligned, frm_end[has_to] + 8)
        has_fields = _word_is(words, q, '","field')
        fields_at = np.where(has_fields, q - starts, -1)
        out["a"][rows] = vocab.codes(vocab.names, _slice(sub, frm, frm_end - starts))
        if has_to.any():
            out["b"][rows[has_to]] = vocab.codes(vocab.names, _slice_only(
                sub, has_to, frm_end - starts + 8, q - starts))
        complete, exact = _complete(sub, has_fields, fields_at, lens, required)
        out["c"][rows] = complete
        fine &= exact
    elif kind == "deal.closed":
        out["c"][rows] = padded[end_abs + 8] == 116  # `","won":` then "t"rue
    return fine


# lead.created members after `source` (the patterns allow no other), told apart by their first
# four bytes.
_MEMBER_KEYS = tuple(k for k in CREATED_MEMBERS if k != "source")
_MEMBER_PREFIX = np.array([_word(k[:4]) for k in _MEMBER_KEYS], dtype=np.uint64)
assert len(set(_MEMBER_PREFIX.tolist())) == len(_MEMBER_KEYS)
assert all(len(k) >= 4 for k in _MEMBER_KEYS)
_MEMBER_SORT = np.argsort(_MEMBER_PREFIX)
_MEMBER_SORTED = _MEMBER_PREFIX[_MEMBER_SORT]
_MEMBER_LEN = np.array([len(k) for k in _MEMBER_KEYS], dtype=np.int64)
_MEMBER_STR = np.array([CREATED_MEMBERS[k] == "string" for k in _MEMBER_KEYS])
_LOW4 = np.uint64(0xFFFFFFFF)


def _created_walk(views: tuple[_Words, np.ndarray, np.ndarray], nxt: np.ndarray
                  ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The members of validated lead.created lines after `source` (`nxt`: the absolute offset
    just after its closing quote): per key, whether each line has it and the absolute [begin,
    end) of its value (a string's content, a number's literal)."""
    words, padded, aligned = views
    n = len(nxt)
    idx = np.arange(n)
    cur = nxt.astype(np.int64)
    got_idx, got_key, got_begin, got_end = [], [], [], []
    while len(idx):
        more = padded[cur] == 44  # `,` (else the closing brace)
        idx, cur = idx[more], cur[more]
        if not len(idx):
            break
        prefix = words[cur + 2] & _LOW4
        key = _MEMBER_SORT[np.minimum(np.searchsorted(_MEMBER_SORTED, prefix),
                                      len(_MEMBER_KEYS) - 1)]
        value = cur + _MEMBER_LEN[key] + 4  # `,"` key `":`
        is_str = _MEMBER_STR[key]
        begin = value + is_str
        stop = np.empty(len(idx), dtype=np.int64)
        if is_str.all():
            stop = _quote(aligned, begin)
        else:
            stop[is_str] = _quote(aligned, begin[is_str])
            stop[~is_str] = _scan(aligned, begin[~is_str], (_COMMA, _BRACE))
        got_idx.append(idx)
        got_key.append(key)
        got_begin.append(begin)
        got_end.append(stop)
        cur = stop + is_str
    out = {}
    all_idx = np.concatenate(got_idx) if got_idx else np.zeros(0, dtype=np.int64)
    all_key = np.concatenate(got_key) if got_key else np.zeros(0, dtype=np.int64)
    all_begin = np.concatenate(got_begin) if got_begin else np.zeros(0, dtype=np.int64)
    all_end = np.concatenate(got_end) if got_end else np.zeros(0, dtype=np.int64)
    for code, name in enumerate(_MEMBER_KEYS):
        sel = np.flatnonzero(all_key == code)
        has = np.zeros(n, dtype=bool)
        begin = np.zeros(n, dtype=np.int64)
        end = np.zeros(n, dtype=np.int64)
        where = all_idx[sel]
        has[where] = True
        begin[where] = all_begin[sel]
        end[where] = all_end[sel]
        out[name] = (has, begin, end)
    return out


def _created_members(sub: pl.Series, rows: np.ndarray, starts: np.ndarray,
                     members: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                     ctx: _Context) -> None:
    """The raw JSON text of each kept lead.created member (a string's content, a number's
    literal), as codes of vocab.attr(member)."""
    ctx.created_rows.append(rows)
    for key in ctx.keys:
        codes = np.full(len(rows), -1, dtype=np.int64)
        has, begin, end = members[key]
        if has.any():
            values = _slice_some(sub, has, begin - starts, end - starts)
            if key == "email":  # only the text after the last "@" matters (Tiering.key)
                values = values.str.split("@").list.last()
            codes = ctx.vocab.codes(ctx.vocab.attr(key), values)
        ctx.created_codes.setdefault(key, []).append(codes)


def _complete(sub: pl.Series, has_fields: np.ndarray, fields_at: np.ndarray, lens: np.ndarray,
              required: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each handoff carries every required field (core: `fields.get(f) in (None, "",
    [], {})` means missing), and whether that could be decided here.

    On this path `fields` is a flat object of strings, so a key is present and empty exactly
    when `"key":""` occurs. A key written twice (Python keeps the last) is left to the exact path.
    """
    n = len(sub)
    if not required:
        return np.ones(n, dtype=np.int8), np.ones(n, dtype=bool)
    if any(('"' in f or "\\" in f or any(ord(ch) < 32 for ch in f)) for f in required):
        return np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool)
    complete = has_fields.copy()
    exact = np.ones(n, dtype=bool)
    frame = pl.DataFrame({"b": sub.cast(pl.Binary), "s": np.maximum(fields_at, 0) + 11})
    body = frame.select(pl.col("b").bin.slice(pl.col("s")).cast(pl.String)).to_series()
    for name in required:
        count = body.str.count_matches(f'"{name}":"', literal=True).to_numpy()
        empty = body.str.contains(f'"{name}":""', literal=True).to_numpy()
        complete &= (count == 1) & ~empty
        exact &= ~has_fields | (count <= 1)
    return complete.astype(np.int8), exact


# ---------------------------------------------------------------------------------- exact path


def _slow_rows(rows: list[tuple[int, Event]], out: dict[str, np.ndarray], ok: np.ndarray,
               vocab: Vocab, required: tuple[str, ...]) -> None:
    """Rows of events the reference parser produced (lines off the fast path)."""
    if not rows:
        return
    index = np.array([i for i, _ in rows], dtype=np.int64)
    ok[index] = True
    strings: dict[str, list[str | None]] = {"id": [], "lead": [], "a": [], "b": []}
    vocab_of: list[tuple[pl.Categories | None, pl.Categories | None]] = []
    for i, event in rows:
        d = event.data
        kind = event.type
        out["type"][i] = TYPE_CODE[kind]
        out["at"][i] = _us(event.at)
        strings["id"].append(event.id)
        strings["lead"].append(event.lead if kind != "rep.availability" else None)
        a = b = None
        cats_a = cats_b = None
        if kind == "lead.created":
            a, cats_a = d["source"], vocab.sources
            b, cats_b = d.get("tier"), vocab.tiers
            score = d.get("score")
            if score is not None:
                out["score"][i] = float(score)
                # Python compares a huge int with the score bounds exactly; a float might not.
                out["exotic"][i] = isinstance(score, int) and abs(score) > 2**53
        elif kind == "lead.updated":
            if "tier" in d:
                tier = d["tier"]
                if isinstance(tier, str):
                    b, cats_b = tier, vocab.tiers
                else:  # the reference tests `tier in tiers`: unhashable values raise there
                    out["exotic"][i] = True
        elif kind in ("lead.assigned", "handoff.accepted", "opportunity.created"):
            a, cats_a = d.get("rep"), vocab.names
        elif kind == "activity":
            a, cats_a = d["rep"], vocab.names
            out["c"][i] = CHANNEL_NAMES.index(d["channel"])
            out["d"][i] = OUTCOME_NAMES.index(d["outcome"])
        elif kind == "lead.status":
            out["c"][i] = EVENT_STATUSES.index(d["status"])
            b, cats_b = d.get("reason"), vocab.reasons
        elif kind == "handoff.requested":
            a, cats_a = d["from"], vocab.names
            b, cats_b = d.get("to"), vocab.names
            given = d.get("fields") or {}
            out["c"][i] = not [f for f in required if given.get(f) in (None, "", [], {})]
        elif kind == "handoff.rejected":
            a, cats_a = d["rep"], vocab.names
            b, cats_b = d["reason"], vocab.reasons
        elif kind == "deal.closed":
            out["c"][i] = bool(d["won"])
        strings["a"].append(a)
        strings["b"].append(b)
        vocab_of.append((cats_a, cats_b))
    ids = pl.Series([s.encode("utf-8") for s in strings["id"]], dtype=pl.Binary)  # type: ignore[union-attr]
    out["idh"][index] = ids.hash(HASH_SEEDS[0]).to_numpy()
    out["idh2"][index] = ids.hash(HASH_SEEDS[1]).to_numpy() >> np.uint64(32)
    has_lead = np.array([lead is not None for lead in strings["lead"]], dtype=bool)
    out["lead"][index[~has_lead]] = -1
    if has_lead.any():
        out["lead"][index[has_lead]] = vocab.lead_codes(
            pl.Series([lead for lead in strings["lead"] if lead is not None], dtype=pl.String))
    for column in ("a", "b"):
        side = 0 if column == "a" else 1
        groups: dict[int, tuple[pl.Categories, list[int]]] = {}
        for position, cats in enumerate(vocab_of):
            chosen = cats[side]
            if chosen is not None and strings[column][position] is not None:
                groups.setdefault(id(chosen), (chosen, []))[1].append(position)
        for cats, positions in groups.values():
            values = pl.Series([strings[column][k] for k in positions], dtype=pl.String)
            out[column][index[positions]] = vocab.codes(cats, values)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


_ONE_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
