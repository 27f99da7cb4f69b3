"""Columnar replay: the reference engine's results for a whole history, computed in bulk.

DESIGN principle 1: one semantics. `fast_replay` gives exactly what `engine.replay.run` plus
`reports.compliance.summarize` give for the same file (tests/test_columnar.py holds it to that on
random and demo histories, byte for byte), and `write_fast_outputs` writes the same bytes as
`reports.compliance.write_outputs`.

How (engine/fast/):
1. parse: the history is read in chunks; canonical lines are validated by strict per-type
   patterns and turned into integer columns at once (ids as two hashes, times as int64 µs,
   strings as codes); any other line goes through the reference `read_events`, so its Event or
   LineError is the reference's own.
2. de-duplicate by id (first in file order), drop what lies after `as_of`, order each lead's
   events by `event_order` (one int64 sort key; ids compared only between tied events, read
   again from the file); events before their lead's creation are the reference's
   "unknown lead" errors.
3. machine: core.py's handlers on all leads at once, one event per lead per step; the starting
   tier is rules.tiering's, decided once per distinct attribute value.
4. COMPLEX leads (what the port does not model, see fast/machine.py) are replayed by the
   reference engine itself, from their original lines.
5. deadlines, outcomes and business time in bulk through the vectorised calendar; files and
   summary formatted like reports/compliance.py.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from leadclock.engine.fast.machine import STAGES, Engine
from leadclock.engine.fast.parse import (
    RANKS,
    TYPE_CODE,
    Vocab,
    parse_history,
    read_lines,
)
from leadclock.engine.fast.report import (
    CSV_NAMES,
    LEAD_COLUMNS,
    OUTCOMES,
    clock_facts,
    clocks_csv_frame,
    clocks_frame,
    csv_row,
    csv_series,
    leads_frame,
    summarize_arrays,
)
from leadclock.engine.replay import LineError, read_events, run
from leadclock.engine.rules import Rules, compile_rules
from leadclock.engine.state import LeadState
from leadclock.policy import Policy
from leadclock.reports.compliance import CLOCK_COLUMNS, clock_row

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class FastResult:
    clock_source: ClockSource  # clocks.csv rows, built batch by batch (see `clocks`)
    leads: pl.DataFrame  # lead, source, tier, owner, status, within_sla
    summary: dict[str, Any]  # == reports.compliance.summarize(result.leads.values())
    errors: list[LineError]  # parse and unknown-lead errors, by line (as `leadclock replay`)
    duplicates: int
    as_of: datetime | None  # the instant clocks were evaluated at (as_of or the last event)
    policy_version: str
    stats: dict[str, Any] = field(default_factory=dict)  # timings and shares, for the bench

    @property
    def clocks(self) -> pl.DataFrame:
        """CLOCK_COLUMNS with clock_row's values, sorted like clocks.csv (built on access:
        a million leads make five million rows, which write_fast_outputs streams instead)."""
        frames = list(self.clock_source.batches())
        return pl.concat(frames) if frames else pl.DataFrame(schema=dict.fromkeys(
            CLOCK_COLUMNS, pl.String))

    def cli_summary(self) -> dict[str, Any]:
        """The summary as `leadclock replay` writes it (with version, as-of and event counts)."""
        return {
            **self.summary,
            "policy_version": self.policy_version,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "events": {"duplicates": self.duplicates, "rejected": len(self.errors)},
        }


def fast_replay(path_or_lines: str | Path | Iterable[str | bytes], policy: Policy | Rules,
                as_of: datetime | None = None) -> FastResult:
    """Replay a JSON Lines history (a path, or the lines themselves) under `policy`."""
    rules = policy if isinstance(policy, Rules) else compile_rules(policy)
    if not isinstance(path_or_lines, str | Path):
        path_or_lines = list(path_or_lines)  # read again for the few lines needed verbatim
    stats: dict[str, Any] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats[f"time_{name}"] = now - clock
        clock = now

    parsed = parse_history(path_or_lines, tuple(rules.required_fields),
                           (*rules.tiering.reads, "email", "title"))
    stats.update(lines=parsed.lines, slow_lines=parsed.slow_lines, events=parsed.height)
    lap("parse")
    cols = parsed.cols
    first = _first_ids(cols)
    duplicates = int(len(first) - np.count_nonzero(first))
    when: int | None
    if as_of is not None:
        when = _us(as_of)
        first &= cols["at"] <= when
    else:
        when = int(cols["at"][first].max()) if first.any() else None
    first &= cols["type"] != TYPE_CODE["rep.availability"]
    rows = np.flatnonzero(first)
    del first
    vocab = parsed.vocab
    ev, lead_ids, errors = _order(path_or_lines, cols, rows, vocab.lead_names())
    parsed.cols = {}
    del cols, rows
    gc.collect()
    lap("order")
    words = {name: Vocab.strings(getattr(vocab, name))
             for name in ("names", "reasons", "sources", "tiers")}
    words.update({f"attr:{key}": Vocab.strings(cats) for key, cats in vocab.attrs.items()})
    engine = Engine(rules, ev, lead_ids, words, parsed.created, parsed.created_events)
    parsed.created, parsed.created_events = {}, {}
    engine.run()
    machine = engine.result()
    del engine
    lap("machine")
    complex_codes = np.flatnonzero(machine.complex)
    reference = _reference(path_or_lines, ev, complex_codes, rules, when)
    stats.update(leads=len(lead_ids), complex_leads=len(complex_codes),
                 complex_events=int(np.count_nonzero(machine.complex[ev["lead"]])))
    del ev
    gc.collect()
    lap("reference")
    facts = clock_facts(machine, rules, when)
    lap("clocks")
    clocks, leads, summary = _assemble(machine, facts, reference, rules.version)
    lap("assemble")
    errors = sorted(parsed.errors + errors, key=lambda e: e.line)
    as_of_dt = _dt(when) if when is not None else None
    return FastResult(clocks, leads, summary, errors, duplicates, as_of_dt, rules.version, stats)


def write_fast_outputs(out: str | Path, result: FastResult,
                       summary: dict[str, Any] | None = None) -> None:
    """clocks.csv, leads.csv and summary.json, byte-identical to compliance.write_outputs."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = result.clock_source
    plain = not source.has_cr()
    with open(out / "clocks.csv", "wb") as handle:
        handle.write((",".join(CLOCK_COLUMNS) + "\n").encode())
        if plain:  # values come CSV-encoded: written as they are
            for frame in source.csv_batches():
                frame.write_csv(handle, include_header=False, line_terminator="\n",
                                quote_style="never", null_value="")
        else:
            for frame in source.batches():
                _write_rows(handle, frame)
    with open(out / "leads.csv", "wb") as handle:
        handle.write((",".join(LEAD_COLUMNS) + "\n").encode())
        _write_rows(handle, result.leads)
    (out / "summary.json").write_text(
        json.dumps(result.summary if summary is None else summary, ensure_ascii=False, indent=2,
                   sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- steps


def _first_ids(cols: dict[str, np.ndarray]) -> np.ndarray:
    """First occurrence (in file order) of every id: ids are compared by a 64-bit hash of their
    bytes (sorted, which beats a hash table of millions), and rows whose first hashes collide
    are told apart by a second, independent one."""
    hashes = cols["idh"]
    first = np.ones(len(hashes), dtype=bool)
    if len(hashes) < 2:
        return first
    # numpy's sort of the bare values beats an argsort; rows holding a repeated value are found
    # by a binary search among those values.
    ordered = np.sort(hashes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if len(repeated):
        found = np.minimum(np.searchsorted(repeated, hashes), len(repeated) - 1)
        rows = np.flatnonzero(repeated[found] == hashes)
        del found
        pair = pl.DataFrame({"h": hashes[rows], "g": cols["idh2"][rows]})
        keep = pair.select(pl.struct("h", "g").is_first_distinct()).to_series().to_numpy()
        first[rows[~keep]] = False
    return first


def _ids(source: Any, numbers: np.ndarray) -> dict[int, str]:
    """The event ids of lines `numbers` (read again: rare)."""
    numbers = np.unique(numbers)
    out = {}
    for number, text in read_lines(source, numbers).items():
        for _, item in read_events([text]):
            if not isinstance(item, LineError):
                out[number] = item.id
    return out


_EVENT_COLUMNS = ("line", "type", "at", "lead", "a", "b", "c", "d", "score", "exotic")


def _order(source: Any, cols: dict[str, np.ndarray], rows: np.ndarray, leads: pl.Series
           ) -> tuple[dict[str, np.ndarray], pl.Series, list[LineError]]:
    """Rows `rows` of the event table in (lead, event_order); events before their lead's
    lead.created become errors. Leads are coded by their rank among the lead ids."""
    by_name = leads.arg_sort().to_numpy()
    rank = np.empty(len(leads), dtype=np.int64)
    rank[by_name] = np.arange(len(leads))
    leads = leads.gather(by_name)
    everything = len(rows) == len(cols["lead"])  # rows == arange: no gathers needed
    lead = rank[cols["lead"] if everything else cols["lead"][rows]]
    at = cols["at"] if everything else cols["at"][rows]
    type_rank = RANKS[cols["type"] if everything else cols["type"][rows]]
    # event_order = (at, type rank, id) within a lead. The id only matters between events of
    # one lead at the same instant and rank, which are rare, so it is compared only there.
    ordered, tie, sorted_lead = _time_ordered(lead, at, type_rank)
    order = ordered if ordered is not None else None
    if order is None:
        order, tie = _keyed(lead, at, type_rank, len(leads))
    del at, type_rank
    if tie.any():
        order = order.copy()  # polars' array is read-only
        tied = np.flatnonzero(tie)
        starts = tied[np.r_[True, np.diff(tied) > 1]]
        ends = np.r_[tied[np.r_[np.diff(tied) > 1, True]]] + 2
        members = np.concatenate([order[b:e] for b, e in zip(starts.tolist(), ends.tolist(),
                                                                strict=True)])
        ids = _ids(source, cols["line"][rows[members]])
        for begin, end in zip(starts.tolist(), ends.tolist(), strict=True):
            group = order[begin:end]
            names = [ids[n] for n in cols["line"][rows[group]].tolist()]
            order[begin:end] = group[sorted(range(len(group)), key=names.__getitem__)]
    del tie
    sel = order if everything else rows[order]
    ev = {name: cols[name][sel] for name in _EVENT_COLUMNS if name != "lead"}
    ev["lead"] = sorted_lead if sorted_lead is not None else lead[order]
    del sel, lead, order
    lc = ev["lead"]
    n = len(lc)
    # Index of each lead's first lead.created (n when it has none): rows are sorted by lead.
    created = np.flatnonzero(ev["type"] == TYPE_CODE["lead.created"])
    first_created = np.full(len(leads), n, dtype=np.int64)
    if len(created):
        owner = lc[created]
        head = np.r_[True, owner[1:] != owner[:-1]]
        first_created[owner[head]] = created[head]
    del created
    before = np.arange(n) < first_created[lc]
    errors = []
    if before.any():
        bad = np.flatnonzero(before)
        ids = _ids(source, ev["line"][bad])
        names = leads.gather(lc[bad]).to_list()
        for line, lead_name in zip(ev["line"][bad].tolist(), names, strict=True):
            errors.append(LineError(
                line, "lead",
                f"unknown lead {lead_name!r} (no lead.created at or before this event)",
                ids[line]))
        keep = np.flatnonzero(~before)
        ev = {name: col[keep] for name, col in ev.items()}
    kept = np.flatnonzero(first_created < n)
    if len(kept) != len(leads):
        remap = np.full(len(leads), -1, dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        leads = leads.gather(kept)
        ev["lead"] = remap[ev["lead"]]
    return ev, leads, errors


def _time_ordered(lead: np.ndarray, at: np.ndarray, type_rank: np.ndarray
                  ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """When the rows are in time order (a history written as it happened), (lead, row) order
    is (lead, at) order: one sort of packed integers, then each lead's same-instant runs put in
    type-rank order. Returns the order, the ties left (same lead, instant and rank: to compare
    by id) and the sorted leads; None as the order when the rows are not in time order."""
    n = len(lead)
    bits = max(1, int(n - 1).bit_length())
    if not n or int(lead.max()) >= 2 ** (62 - bits) or not np.all(at[1:] >= at[:-1]):
        return None, np.zeros(0, dtype=bool), None
    packed = (lead.astype(np.uint64) << np.uint64(bits)) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << bits) - 1)).astype(np.int64)
    sorted_lead = (packed >> np.uint64(bits)).astype(np.int64)
    del packed
    at_s = at[order]
    same = (sorted_lead[1:] == sorted_lead[:-1]) & (at_s[1:] == at_s[:-1])
    del at_s
    rank_s = type_rank[order]
    if same.any():
        tied = np.flatnonzero(same)
        members = np.unique(np.concatenate([tied, tied + 1]))
        after = np.zeros(len(members), dtype=bool)  # tied with the element before it
        inner = members > 0
        after[inner] = same[members[inner] - 1]
        run = np.cumsum(~after)
        within = np.lexsort((rank_s[members], run))  # stable: file order among equal ranks
        order[members] = order[members][within]
        rank_s[members] = rank_s[members][within]
    tie = same & (rank_s[1:] == rank_s[:-1])
    return order, tie, sorted_lead


def _keyed(lead: np.ndarray, at: np.ndarray, type_rank: np.ndarray, n_leads: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """(lead, at, type rank) order by a sort on one int64 key when it fits (whole seconds),
    else by lexsort; and the ties between neighbours."""
    key: np.ndarray | None = None
    if len(lead):
        low = int(at.min())
        unit = 1 if np.any(at % 1_000_000) else 1_000_000
        span = (int(at.max()) - low) // unit + 1
        if n_leads * span * 16 < 2**62:
            key = ((lead * span + (at - low) // unit) << 4) + type_rank
    if key is not None:
        order = pl.Series(key).arg_sort().to_numpy()
        key_s = key[order]
        return order, key_s[1:] == key_s[:-1]
    minor = at * 16 + type_rank
    order = np.lexsort((minor, lead))
    key_s = minor[order]
    return order, (key_s[1:] == key_s[:-1]) & (lead[order][1:] == lead[order][:-1])


def _lexsort2(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """np.lexsort((minor, major)) (stable) for non-negative integers, by one sort of packed
    (major, minor, position) integers when they fit in 63 bits."""
    n = len(major)
    if n:
        low = int(minor.min())
        bits_i = max(1, (n - 1).bit_length())
        bits_m = (int(minor.max()) - low).bit_length()
        if int(major.min()) >= 0 and int(major.max()).bit_length() + bits_m + bits_i <= 63:
            packed = ((major.astype(np.int64) << (bits_m + bits_i))
                      | ((minor.astype(np.int64) - low) << bits_i) | np.arange(n))
            packed.sort()
            return packed & ((1 << bits_i) - 1)
    return np.lexsort((minor, major))


def _reference(source: Any, ev: dict[str, np.ndarray], codes: np.ndarray, rules: Rules,
               when: int | None) -> dict[int, LeadState]:
    """The reference engine on the leads the port leaves to it, from their original lines."""
    if not len(codes):
        return {}
    flag = np.zeros(int(codes.max()) + 2, dtype=bool)
    flag[codes] = True
    mask = flag[np.minimum(ev["lead"], len(flag) - 1)]
    numbers = ev["line"][mask]
    lead_of = dict(zip(numbers.tolist(), ev["lead"][mask].tolist(), strict=True))
    events = []
    for number, text in sorted(read_lines(source, np.sort(numbers)).items()):
        for _, item in read_events([text]):
            if not isinstance(item, LineError):
                events.append((number, item))
    result = run(events, rules, as_of=_dt(when) if when is not None else None)
    by_lead = {}
    for number, event in events:
        by_lead.setdefault(lead_of[number], event.lead)
    return {code: result.leads[lead] for code, lead in by_lead.items()}


def _assemble(m: Any, facts: dict[str, np.ndarray], reference: dict[int, LeadState],
              version: str) -> tuple[ClockSource, pl.DataFrame, dict[str, Any]]:
    c = m.clocks
    n_leads = len(m.leads)
    keep = ~m.complex[c["lead"]] if len(c["lead"]) else np.zeros(0, dtype=bool)
    rows = np.flatnonzero(keep)
    rows = rows[_lexsort2(c["order"][rows], c["lead"][rows])]
    breached = facts["outcome"] == 1
    within = np.bincount(c["lead"][breached], minlength=n_leads) == 0
    simple = np.flatnonzero(~m.complex)
    leads = leads_frame(m, within, simple)
    # Summary inputs: the port's clocks, then the reference's for complex leads.
    names = list(m.names)
    name_index = {v: i for i, v in enumerate(names)}
    c_lead = [c["lead"][rows]]
    c_stage = [c["stage"][rows].astype(np.int64)]
    c_owner = [c["owner"][rows]]
    c_outcome = [facts["outcome"][rows]]
    busy = np.where(c["stopped"][rows], facts["busy_us"][rows] / 1e6, np.nan)
    c_busy = [busy]
    lead_within = within.copy()
    ref_rows, ref_leads = [], []
    for code in sorted(reference):
        state = reference[code]
        lead_within[code] = state.within_sla()
        ref_leads.append([state.lead, state.source, state.tier or "", state.owner or "",
                          state.status, int(state.within_sla())])
        for index, clk in enumerate(state.clocks):
            ref_rows.append((code, index, clock_row(clk)))
            owner = clk.owner
            if owner and owner not in name_index:
                name_index[owner] = len(names)
                names.append(owner)
            c_lead.append(np.array([code]))
            c_stage.append(np.array([STAGES.index(clk.stage)]))
            c_owner.append(np.array([name_index[owner] if owner else -1]))
            c_outcome.append(np.array([OUTCOMES.index(clk.outcome)]))
            c_busy.append(np.array([clk.business_seconds if clk.stopped_at is not None
                                    and clk.business_seconds is not None else np.nan]))
    clocks = ClockSource(m, facts, rows, ref_rows, version)
    if ref_rows or ref_leads:
        more = pl.DataFrame(ref_leads, schema=LEAD_COLUMNS, orient="row").cast(leads.schema)
        leads = pl.concat([leads, more]).sort("lead")
    source_names = [*m.sources, ""]
    lead_source = np.where(m.source >= 0, m.source, len(m.sources))
    if reference:
        source_index = {v: i for i, v in enumerate(source_names)}
        for code, state in reference.items():
            if state.source not in source_index:
                source_index[state.source] = len(source_names)
                source_names.append(state.source)
            lead_source[code] = source_index[state.source]
    summary = summarize_arrays(
        n_leads=n_leads, lead_source=lead_source, source_names=source_names,
        lead_within=lead_within,
        c_lead=np.concatenate(c_lead), c_stage=np.concatenate(c_stage),
        c_owner=np.concatenate(c_owner), c_outcome=np.concatenate(c_outcome),
        c_busy=np.concatenate(c_busy), owner_names=names)
    return clocks, leads, summary


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH)


def _dt(us: int) -> datetime:
    from datetime import timedelta

    return _EPOCH + timedelta(microseconds=int(us))


__all__ = ["FastResult", "fast_replay", "write_fast_outputs"]


def _write_rows(handle: Any, frame: pl.DataFrame, nulls: bool = False) -> None:
    """Rows as csv.writer(lineterminator="\n") writes them. `nulls`: the frame holds no "\r"
    and its empty values are already nulls."""
    if nulls:
        frame.write_csv(handle, include_header=False, line_terminator="\n",
                        quote_style="necessary", null_value="")
        return
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if frame.select(pl.any_horizontal(pl.col(text).str.contains("\r", literal=True))
                    .fill_null(False).any()).item():
        # csv.writer quotes "\n" but not a lone "\r" (lineterminator is "\n"); polars quotes
        # both. Such values only come from escaped JSON strings: rare, so the csv module
        # itself writes this batch.
        import csv
        import io

        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\n").writerows(frame.iter_rows())
        handle.write(buffer.getvalue().encode("utf-8"))
        return
    # csv.writer's QUOTE_MINIMAL otherwise matches polars' "necessary", except that polars
    # quotes an empty string: written as null, it comes out bare like csv.writer's.
    frame.with_columns(pl.when(pl.col(text) != "").then(pl.col(text))).write_csv(
        handle, include_header=False, line_terminator="\n", quote_style="necessary",
        null_value="")


@dataclass
class ClockSource:
    """clocks.csv in order: the port's clocks and the reference's (complex leads), merged."""

    machine: Any
    facts: dict[str, np.ndarray]
    rows: np.ndarray  # the port's clocks to show, in (lead, creation) order
    reference: list[tuple[int, int, list[Any]]]  # (lead code, index, clock_row)
    version: str
    batch: int = 500_000

    def has_cr(self) -> bool:
        """Whether a "\r" may be in some value (only an escaped JSON string brings one)."""
        m = self.machine
        texts = [*m.names, *m.reasons, *m.sources, self.version, *(r.text for r in m.rules)]
        if any("\r" in t for t in texts):
            return True
        if bool(pl.Series(m.leads).str.contains("\r", literal=True).any()):
            return True
        return any("\r" in str(v) for r in self.reference for v in r[2])

    def _order(self) -> np.ndarray:
        rows = self.rows
        if not self.reference:  # the port's clocks alone, already in order
            return np.arange(len(rows))
        c = self.machine.clocks
        lead = np.concatenate([c["lead"][rows].astype(np.int64),
                               np.array([r[0] for r in self.reference], dtype=np.int64)])
        key = np.concatenate([np.arange(len(rows)),
                              np.array([r[1] for r in self.reference], dtype=np.int64)])
        return np.lexsort((key, lead))

    def csv_batches(self) -> Iterator[pl.DataFrame]:
        """Batches of clocks.csv rows with CSV-encoded values (report.clocks_csv_frame); only
        when not has_cr()."""
        rows, order = self.rows, self._order()
        m = self.machine
        leads = csv_series(pl.Series(m.leads, dtype=pl.String))
        names = csv_series(pl.Series([None, *m.names[1:]], dtype=pl.String))
        for begin in range(0, len(order), self.batch):
            sel = order[begin:begin + self.batch]
            own = sel[sel < len(rows)]
            frame = clocks_csv_frame(m, self.facts, rows[own], self.version, leads, names)
            ref = sel[sel >= len(rows)] - len(rows)
            if len(ref):
                extra = pl.DataFrame([csv_row(self.reference[i][2]) for i in ref.tolist()],
                                     schema=list(CSV_NAMES), orient="row").cast(frame.schema)
                position = np.concatenate([np.flatnonzero(sel < len(rows)),
                                           np.flatnonzero(sel >= len(rows))])
                frame = (pl.concat([frame, extra]).with_columns(_pos=pl.Series(position))
                         .sort("_pos").drop("_pos"))
            yield frame

    def batches(self, empty: str | None = "") -> Iterator[pl.DataFrame]:
        """Batches of clocks.csv rows; an empty value is `empty` (None: null)."""
        rows = self.rows
        order = self._order()
        for begin in range(0, len(order), self.batch):
            sel = order[begin:begin + self.batch]
            own = sel[sel < len(rows)]
            frame = clocks_frame(self.machine, self.facts, rows[own], self.version, empty)
            ref = sel[sel >= len(rows)] - len(rows)
            if len(ref):
                extra = pl.DataFrame([self.reference[i][2] for i in ref.tolist()],
                                     schema=CLOCK_COLUMNS, orient="row").cast(frame.schema)
                if empty is None:
                    text = [c for c, t in extra.schema.items() if t == pl.String]
                    extra = extra.with_columns(pl.when(pl.col(text) != "").then(pl.col(text)))
                position = np.concatenate([np.flatnonzero(sel < len(rows)),
                                           np.flatnonzero(sel >= len(rows))])
                frame = (pl.concat([frame, extra]).with_columns(_pos=pl.Series(position))
                         .sort("_pos").drop("_pos"))
            yield frame
