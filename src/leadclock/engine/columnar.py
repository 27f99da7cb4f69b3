"""Columnar replay: the reference engine's results for a whole history, computed in bulk.

DESIGN principle 1: one semantics. `fast_replay` gives exactly what `engine.replay.run` plus
`reports.compliance.summarize` give for the same file (tests/test_columnar.py holds it to that on
random and demo histories, byte for byte), and `write_fast_outputs` writes the same bytes as
`reports.compliance.write_outputs`.

How (engine/fast/):
1. parse: canonical lines are validated by strict per-type patterns and sliced column-wise; any
   other line goes through the reference `read_events`, so its Event or LineError is the
   reference's own.
2. de-duplicate by id (first in file order), drop what lies after `as_of`, order each lead's
   events by `event_order`; events before their lead's creation are the reference's
   "unknown lead" errors.
3. machine: core.py's handlers on all leads at once, one event per lead per step.
4. COMPLEX leads (what the port does not model, see fast/machine.py) are replayed by the
   reference engine itself, from their original lines.
5. deadlines, outcomes and business time in bulk through the vectorised calendar; files and
   summary formatted like reports/compliance.py.
"""

from __future__ import annotations

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
    iter_chunks,
    parse_history,
)
from leadclock.engine.fast.report import (
    LEAD_COLUMNS,
    OUTCOMES,
    clock_facts,
    clocks_frame,
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
        path_or_lines = list(path_or_lines)  # read twice if a lead needs the reference
    stats: dict[str, Any] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats[f"time_{name}"] = now - clock
        clock = now

    parsed = parse_history(path_or_lines)
    stats.update(lines=parsed.lines, slow_lines=parsed.slow_lines, events=parsed.events.height)
    lap("parse")
    ev = parsed.events
    first = ev.get_column("id").is_first_distinct()
    duplicates = int((~first).sum())
    ev = ev.filter(first)
    when: int | None
    if as_of is not None:
        when = _us(as_of)
        ev = ev.filter(pl.col("at") <= when)
    else:
        when = int(ev.get_column("at").max()) if ev.height else None  # type: ignore[arg-type]
    ev = ev.filter(pl.col("type") != TYPE_CODE["rep.availability"])
    ev, lead_ids, errors = _order(ev)
    lap("order")
    engine = Engine(rules, ev, lead_ids)
    engine.run()
    machine = engine.result()
    lap("machine")
    complex_codes = np.flatnonzero(machine.complex)
    reference = _reference(path_or_lines, ev, complex_codes, rules, when)
    stats.update(leads=len(lead_ids), complex_leads=len(complex_codes),
                 complex_events=int(np.isin(ev.get_column("lc").to_numpy(), complex_codes).sum()))
    lap("reference")
    facts = clock_facts(machine, rules, when)
    lap("clocks")
    clocks, leads, summary = _assemble(machine, facts, reference, rules.version)
    del ev
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
    for name, header, frames in (("clocks.csv", CLOCK_COLUMNS, result.clock_source.batches()),
                                 ("leads.csv", LEAD_COLUMNS, iter([result.leads]))):
        with open(out / name, "wb") as handle:
            handle.write((",".join(header) + "\n").encode())
            for frame in frames:
                _write_rows(handle, frame)
    (out / "summary.json").write_text(
        json.dumps(result.summary if summary is None else summary, ensure_ascii=False, indent=2,
                   sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- steps


def _order(ev: pl.DataFrame) -> tuple[pl.DataFrame, list[str], list[LineError]]:
    """Each lead's events in event_order; events before its lead.created become errors."""
    lead_ids = ev.get_column("lead").unique().sort().to_list()
    # event_order = (at, type rank, id) within a lead. Integer keys sort fast; the id only
    # matters between events of one lead at the same instant and rank, which are rare, so it
    # is compared only there.
    ev = ev.with_columns(
        lc=pl.col("lead").cast(pl.Enum(lead_ids)).to_physical().cast(pl.Int64),
        key=pl.col("at") * 16 + pl.Series(RANKS[ev.get_column("type").to_numpy().astype(np.int64)]),
    ).drop("lead")
    order = np.lexsort((ev.get_column("key").to_numpy(), ev.get_column("lc").to_numpy()))
    lc_s = ev.get_column("lc").to_numpy()[order]
    key_s = ev.get_column("key").to_numpy()[order]
    tie = np.flatnonzero((lc_s[1:] == lc_s[:-1]) & (key_s[1:] == key_s[:-1]))
    if len(tie):
        ids = ev.get_column("id")
        starts = tie[np.r_[True, np.diff(tie) > 1]]
        for begin in starts.tolist():
            end = begin + 1
            while end < len(order) and lc_s[end] == lc_s[begin] and key_s[end] == key_s[begin]:
                end += 1
            group = order[begin:end]
            order[begin:end] = group[np.argsort(ids.gather(group).to_numpy(), kind="stable")]
    ev = ev.drop("key")[order]
    lc = ev.get_column("lc").to_numpy()
    n = len(lc)
    created = ev.get_column("type").to_numpy() == TYPE_CODE["lead.created"]
    # Index of each lead's first lead.created (n when it has none).
    big = np.where(created, np.arange(n), n)
    first_created = np.full(len(lead_ids), n, dtype=np.int64)
    np.minimum.at(first_created, lc, big)
    before = np.arange(n) < first_created[lc]
    errors = []
    if before.any():
        bad = ev.filter(pl.Series(before)).select("line", "id", "lc")
        for line, ident, code in bad.iter_rows():
            lead = lead_ids[code]
            errors.append(LineError(
                line, "lead", f"unknown lead {lead!r} (no lead.created at or before this event)",
                ident))
        ev = ev.filter(pl.Series(~before))
        kept = np.flatnonzero(first_created < n)
        remap = np.full(len(lead_ids), -1, dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        lead_ids = [lead_ids[i] for i in kept.tolist()]
        ev = ev.with_columns(lc=pl.Series(remap[ev.get_column("lc").to_numpy()]))
    return ev, lead_ids, errors


def _reference(source: Any, ev: pl.DataFrame, codes: np.ndarray, rules: Rules,
               when: int | None) -> dict[int, LeadState]:
    """The reference engine on the leads the port leaves to it, from their original lines."""
    if not len(codes):
        return {}
    mask = np.isin(ev.get_column("lc").to_numpy(), codes)
    wanted = ev.filter(pl.Series(mask)).select("line", "lc")
    numbers = np.sort(wanted.get_column("line").to_numpy())
    lead_of = dict(zip(wanted.get_column("line").to_list(), wanted.get_column("lc").to_list(),
                       strict=True))
    events = []
    for chunk in iter_chunks(source):
        n = len(chunk.bounds()[0])
        lo = np.searchsorted(numbers, chunk.first)
        hi = np.searchsorted(numbers, chunk.first + n)
        for number in numbers[lo:hi].tolist():
            for _, item in read_events([chunk.text(number - chunk.first, n)]):
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
    rows = rows[np.lexsort((c["order"][rows], c["lead"][rows]))]
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
    sources = m.sources or [""]
    lead_source = [sources[s] if s >= 0 else "" for s in m.source.tolist()]
    for code, state in reference.items():
        lead_source[code] = state.source
    summary = summarize_arrays(
        n_leads=n_leads, lead_source=lead_source, lead_within=lead_within,
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


def _write_rows(handle: Any, frame: pl.DataFrame) -> None:
    """Rows as csv.writer(lineterminator="\n") writes them."""
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

    def batches(self) -> Iterator[pl.DataFrame]:
        rows = self.rows
        c = self.machine.clocks
        lead = np.concatenate([c["lead"][rows].astype(np.int64),
                               np.array([r[0] for r in self.reference], dtype=np.int64)])
        key = np.concatenate([np.arange(len(rows)),
                              np.array([r[1] for r in self.reference], dtype=np.int64)])
        order = np.lexsort((key, lead))
        for begin in range(0, len(order), self.batch):
            sel = order[begin:begin + self.batch]
            own = sel[sel < len(rows)]
            frame = clocks_frame(self.machine, self.facts, rows[own], self.version)
            ref = sel[sel >= len(rows)] - len(rows)
            if len(ref):
                extra = pl.DataFrame([self.reference[i][2] for i in ref.tolist()],
                                     schema=CLOCK_COLUMNS, orient="row").cast(frame.schema)
                position = np.concatenate([np.flatnonzero(sel < len(rows)),
                                           np.flatnonzero(sel >= len(rows))])
                frame = (pl.concat([frame, extra]).with_columns(_pos=pl.Series(position))
                         .sort("_pos").drop("_pos"))
            yield frame
