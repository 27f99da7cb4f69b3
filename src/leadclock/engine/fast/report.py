"""From the clock table to clocks.csv, leads.csv and the compliance summary.

Every value is formatted the way reports/compliance.py formats the reference's objects
(`datetime.isoformat()`, `f"{seconds:.3f}"`, `round(...)`, `statistics.fmean`), so the files are
byte-identical; the property tests in tests/test_columnar.py hold them to it.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import polars as pl

from leadclock.engine.fast.machine import (
    CHANNEL_NAMES,
    EVENT_STATUSES,
    NONE,
    OUTCOME_NAMES,
    R_ACCEPTED_BY,
    R_ACT_FC,
    R_ASSIGNED_TO,
    R_ATTEMPTS,
    R_CLOSED,
    R_DEAL,
    R_DEC_ASSIGN,
    R_DEC_CONTACT,
    R_DECIDED,
    R_DECISION,
    R_FIRST_AE,
    R_FU_ACT,
    R_HANDED,
    R_HANDED_TO,
    R_HO_QUAL,
    R_NONE,
    R_NURTURE,
    R_OPP,
    R_REACHED,
    R_REASSIGNED,
    R_REJECTED,
    R_STATUS,
    STAGES,
    STATUS_NAMES,
    Machine,
)
from leadclock.engine.rules import Rules
from leadclock.reports.compliance import CLOCK_COLUMNS

OUTCOMES = ("met", "breached", "open", "cancelled")
MET, BREACHED, OPEN, CANCELLED = range(4)
LEAD_COLUMNS = ["lead", "source", "tier", "owner", "status", "within_sla"]


def reason_text(tpl: int, a: int, b: int, c: int, names: list[str], reasons: list[str]) -> str:
    """The reason string core.py writes for a stop, from its template and arguments."""

    def why(status: int, reason: int) -> str:
        text = reasons[reason] if reason >= 0 else ""
        return EVENT_STATUSES[status] + (f": {text}" if text else "")

    return {
        R_NONE: lambda: "",
        R_ASSIGNED_TO: lambda: f"assigned to {names[a]}",
        R_REASSIGNED: lambda: f"reassigned from {names[a]} to {names[b]}",
        R_ACT_FC: lambda: f"{CHANNEL_NAMES[a]} by {names[b]} ({OUTCOME_NAMES[c]})",
        R_REACHED: lambda: f"lead reached ({CHANNEL_NAMES[a]}, {OUTCOME_NAMES[b]})",
        R_ATTEMPTS: lambda: f"{a} attempts made",
        R_FIRST_AE: lambda: f"first AE contact by {names[a]}",
        R_FU_ACT: lambda: f"{CHANNEL_NAMES[a]} by {names[b]}",
        R_DECISION: lambda: f"decision {why(a, b)}",
        R_DECIDED: lambda: f"decided ({EVENT_STATUSES[a]})",
        R_DEC_CONTACT: lambda: f"decided before contact ({EVENT_STATUSES[a]})",
        R_DEC_ASSIGN: lambda: f"decided before assignment ({EVENT_STATUSES[a]})",
        R_STATUS: lambda: f"status {EVENT_STATUSES[a]}",
        R_NURTURE: lambda: "moved to nurture",
        R_CLOSED: lambda: f"closed ({why(a, b)})",
        R_HO_QUAL: lambda: "handed off (qualified)",
        R_HANDED: lambda: "handed off",
        R_HANDED_TO: lambda: f"handed off to {names[a] if a >= 0 else 'routing'}",
        R_ACCEPTED_BY: lambda: f"accepted by {names[a]}",
        R_REJECTED: lambda: f"rejected by {names[a]}: {reasons[b]}",
        R_OPP: lambda: "opportunity created",
        R_DEAL: lambda: "deal closed",
    }[tpl]()


def _deadline(rules: Rules, calendar: str, start: np.ndarray, duration: Any) -> np.ndarray:
    """Rules.deadline over an array of starts (int µs); same arithmetic, vectorised."""
    cal = rules.calendars[calendar]
    moments = start.view("datetime64[us]")
    if duration.kind == "same_day":
        out = cal.day_end(moments)
    else:
        out = cal.add(moments, float(duration.seconds(cal.business_day_seconds) or 0.0))
    return np.asarray(out, dtype="datetime64[us]").view(np.int64)



def clock_facts(m: Machine, rules: Rules, when: int | None) -> dict[str, np.ndarray]:
    """Deadlines, outcomes, maximums and business time of every clock, in bulk."""
    c = m.clocks
    n = len(c["lead"])
    start, stop, stopped = c["start"], c["stop"], c["stopped"]
    due = np.zeros(n, dtype=np.int64)
    max_at = np.zeros(n, dtype=np.int64)
    has_max = np.zeros(n, dtype=bool)
    busy_us = np.zeros(n, dtype=np.int64)
    rule = c["rule"]
    for rid in np.flatnonzero(np.bincount(rule)).tolist() if len(rule) else []:
        sel = np.flatnonzero(rule == rid)
        info = m.rules[rid]
        due[sel] = _deadline(rules, info.calendar, start[sel], info.target)
        if info.max is not None:
            max_at[sel] = _deadline(rules, info.calendar, start[sel], info.max)
            has_max[sel] = True
        done = sel[stopped[sel]]
        if len(done):
            cal = rules.calendars[info.calendar]
            seconds = cal.elapsed(start[done].view("datetime64[us]"),
                                  stop[done].view("datetime64[us]"))
            busy_us[done] = np.rint(np.asarray(seconds) * 1e6).astype(np.int64)
    late = stop > due
    outcome = np.where(stopped, np.where(c["cancel"] & ~late, CANCELLED,
                                         np.where(late, BREACHED, MET)), OPEN)
    if when is not None:
        outcome = np.where(~stopped & (when > due), BREACHED, outcome)
        over = np.where(stopped, stop > max_at, when > max_at)
    else:
        over = np.where(stopped, stop > max_at, False)
    return {"due": due, "max": max_at, "has_max": has_max, "outcome": outcome,
            "exceeded": has_max & over, "busy_us": busy_us}


def iso(us: pl.Expr, fractions: bool = True) -> pl.Expr:
    """datetime.isoformat() of a UTC instant given in µs (microseconds only when not zero)."""
    moment = pl.from_epoch(us, time_unit="us")
    whole = moment.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if not fractions:
        return whole
    return (pl.when(us % 1_000_000 == 0).then(whole)
            .otherwise(moment.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")))


_FRACTIONS = pl.Series([f".{i:03d}" for i in range(1000)])


def seconds_text(us: np.ndarray) -> pl.Series:
    """f"{us / 1e6:.3f}" without a Python call per value.

    Rounding to the millisecond in integers agrees with formatting the float except on an exact
    half millisecond (where the float's binary value decides) and for huge values: those few
    are formatted by Python itself.
    """
    ms = (us + 500) // 1000
    # Series addition concatenates strings faster than concat_str
    out = pl.Series(ms // 1000).cast(pl.String) + _FRACTIONS.gather(ms % 1000)
    odd = np.flatnonzero((us % 1000 == 500) | (us > 2**50))
    if len(odd):
        fixed = [f"{float(v) / 1e6:.3f}" for v in us[odd].tolist()]
        out = out.scatter(odd, fixed)
    return out


_TIMES: pl.Series | None = None


def iso_text(us: np.ndarray) -> pl.Series:
    """datetime.isoformat() of UTC instants given in µs (microseconds only when not zero).

    Whole seconds (the usual case) come from two small tables, the day's date and the time of
    day, instead of a strftime per value."""
    global _TIMES
    if not len(us):
        return pl.Series([], dtype=pl.String)
    seconds = us // 1_000_000
    day = seconds // 86400
    low, high = int(day.min()), int(day.max())
    if np.any(us - seconds * 1_000_000) or high - low > 100_000:
        return pl.select(iso(pl.lit(pl.Series(us)))).to_series()
    if _TIMES is None:
        _TIMES = pl.Series([f"T{h:02d}:{m:02d}:{x:02d}+00:00" for h in range(24)
                            for m in range(60) for x in range(60)])
    dates = pl.select(pl.from_epoch(pl.lit(pl.Series(np.arange(low, high + 1) * 86400)),
                                    time_unit="s").dt.strftime("%Y-%m-%d")).to_series()
    return dates.gather(day - low) + _TIMES.gather(seconds - day * 86400)


def _masked(values: pl.Series, mask: np.ndarray, empty: str | None) -> pl.Series:
    if mask.all():
        return values
    return pl.select(pl.when(pl.lit(pl.Series(mask))).then(pl.lit(values))
                     .otherwise(pl.lit(empty, dtype=pl.String))).to_series()


def _only(text: Any, values: np.ndarray, mask: np.ndarray) -> pl.Series:
    """text(values) where `mask`, null elsewhere; only the masked values are formatted."""
    if mask.all():
        return text(values)
    if not mask.any():
        return pl.Series([None] * len(values), dtype=pl.String)
    part = text(values[mask])
    index = pl.select(pl.when(pl.lit(pl.Series(mask)))
                      .then(pl.lit(pl.Series(np.cumsum(mask) - 1)))).to_series()
    return part.gather(index)


def clocks_frame(m: Machine, facts: dict[str, np.ndarray], rows: np.ndarray,
                 version: str, empty: str | None = "") -> pl.DataFrame:
    """clocks.csv rows for the clocks `rows` (indexes into the clock table); an empty value is
    `empty` (None: null, which the CSV writer writes as nothing)."""
    c = m.clocks
    names = pl.Series([empty, *m.names[1:]], dtype=pl.String)
    owner = c["owner"][rows]
    owner_text = names.gather(np.where(owner > 0, owner, 0))
    tpl, ra, rb, rc = c["tpl"][rows], c["ra"][rows], c["rb"][rows], c["rc"][rows]
    key = pl.DataFrame({"tpl": tpl, "ra": ra, "rb": rb, "rc": rc})
    distinct = key.unique()
    texts = [reason_text(int(t), int(a), int(b), int(x), m.names, m.reasons) or empty
             for t, a, b, x in distinct.iter_rows()]
    reason = key.join(distinct.with_columns(reason=pl.Series(texts, dtype=pl.String)),
                      on=["tpl", "ra", "rb", "rc"], how="left", maintain_order="left"
                      ).get_column("reason")
    targets = pl.Series([r.text for r in m.rules] or [""], dtype=pl.String)
    stopped = c["stopped"][rows]
    has_max = facts["has_max"][rows]
    n = len(rows)
    return pl.DataFrame({
        "lead": pl.Series(m.leads).gather(c["lead"][rows]),
        "stage": pl.Series(STAGES).gather(c["stage"][rows].astype(np.int64)),
        "seq": c["seq"][rows],
        "rep": owner_text,
        "started_at": iso_text(c["start"][rows]),
        "due_at": iso_text(facts["due"][rows]),
        "max_at": _masked(iso_text(facts["max"][rows]), has_max, empty),
        "stopped_at": _masked(iso_text(c["stop"][rows]), stopped, empty),
        "outcome": pl.Series(OUTCOMES).gather(facts["outcome"][rows]),
        "exceeded_max": facts["exceeded"][rows].astype(np.int64),
        "business_seconds": _masked(seconds_text(facts["busy_us"][rows]), stopped, empty),
        "target": targets.gather(c["rule"][rows]),
        "policy_version": pl.Series([version], dtype=pl.String).gather(np.zeros(n, np.int64)),
        "reason": reason,
    })


def leads_frame(m: Machine, within: np.ndarray, rows: np.ndarray) -> pl.DataFrame:
    names = pl.Series(m.names or [""])
    owner = m.owner[rows]
    tier = m.tier[rows]
    return pl.DataFrame({
        "lead": pl.Series(m.leads).gather(rows),
        "source": pl.Series(m.sources or [""]).gather(np.maximum(m.source[rows], 0)),
        "tier": pl.Series(["", *m.tiers]).gather(tier + 1),
        "owner": names.gather(np.where(owner > 0, owner, 0)),
        "status": pl.Series(STATUS_NAMES).gather(m.status[rows]),
        "within_sla": within[rows].astype(np.int64),
    })


# ---------------------------------------------------------------------------------- summary


def _median(values: np.ndarray) -> float:
    """statistics.median of float values (no NaN) by partition instead of a sort."""
    zeros = values[values == 0]
    if np.signbit(zeros).any():  # -0.0 and 0.0 tie: let the sort's order decide
        return float(statistics.median(values.tolist()))
    n = len(values)
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, (half - 1, half))[[half - 1, half]].tolist()
    return (low + high) / 2


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _rate(met: int, breached: int) -> dict[str, Any]:
    return {"met": met, "breached": breached, "compliance": _pct(met, met + breached)}


def summarize_arrays(*, n_leads: int, lead_source: np.ndarray, source_names: list[str],
                     lead_within: np.ndarray,
                     c_lead: np.ndarray, c_stage: np.ndarray, c_owner: np.ndarray,
                     c_outcome: np.ndarray, c_busy: np.ndarray, owner_names: list[str]
                     ) -> dict[str, Any]:
    """reports.compliance.summarize over columns (owner code <= 0 is "no owner"; a lead's source
    is a code of `source_names`)."""
    within_total = int(lead_within.sum())
    counts = np.bincount(c_stage * 4 + c_outcome, minlength=4 * len(STAGES)).reshape(-1, 4)
    fc = (c_stage == STAGES.index("first_contact")) & ~np.isnan(c_busy) & (c_outcome != CANCELLED)
    first = c_busy[fc]
    by_rep: dict[str, Any] = {}
    owned = (c_owner > 0) & (c_outcome != CANCELLED)
    if owned.any():
        span = int(c_lead.max()) + 1
        pairs = pl.Series(c_owner[owned].astype(np.int64) * span + c_lead[owned]).unique()
        lead_count = np.bincount(pairs.to_numpy() // span, minlength=len(owner_names))
        bad = owned & (c_outcome == BREACHED)
        bpairs = pl.Series(c_owner[bad].astype(np.int64) * span + c_lead[bad]).unique()
        breached = np.bincount(bpairs.to_numpy() // span, minlength=len(owner_names))
        fc_owned = fc & (c_owner > 0)
        order = np.argsort(c_owner[fc_owned], kind="stable")
        fc_owner, fc_busy = c_owner[fc_owned][order], c_busy[fc_owned][order]
        bounds = np.searchsorted(fc_owner, np.arange(len(owner_names) + 1))
        for code in np.flatnonzero(lead_count).tolist():
            leads_n = int(lead_count[code])
            good = leads_n - int(breached[code])
            times = fc_busy[bounds[code]:bounds[code + 1]]
            by_rep[owner_names[code]] = {
                "leads": leads_n, "within_sla": good, "compliance": _pct(good, leads_n),
                "average_first_contact_seconds": (round(math.fsum(times.tolist()) / len(times), 1)
                                                  if len(times) else None),
            }
    source_total: dict[str, int] = {}
    source_within: dict[str, int] = {}
    if n_leads:
        totals = np.bincount(lead_source, minlength=len(source_names))
        goods = np.bincount(lead_source, weights=lead_within.astype(np.int64),
                            minlength=len(source_names))
        for code in np.flatnonzero(totals).tolist():
            name = source_names[code]
            source_total[name] = source_total.get(name, 0) + int(totals[code])
            source_within[name] = source_within.get(name, 0) + int(goods[code])
    values = first.tolist()
    return {
        "leads": n_leads,
        "within_sla": within_total,
        "compliance": _pct(within_total, n_leads),
        "first_contact_business_seconds": {
            "count": len(values),
            "average": round(math.fsum(values) / len(values), 1) if values else None,
            "median": round(_median(first), 1) if values else None,
        },
        "by_stage": {
            stage: {**_rate(int(row[0]), int(row[1])), "open": int(row[2]), "cancelled": int(row[3])}
            for stage, row in zip(STAGES, counts, strict=True) if int(row.sum())
        },
        "by_rep": {rep: by_rep[rep] for rep in sorted(by_rep)},
        "by_source": {
            s: {"leads": source_total[s], "within_sla": source_within[s],
                "compliance": _pct(source_within[s], source_total[s])}
            for s in sorted(source_total)
        },
    }


__all__ = ["CLOCK_COLUMNS", "CSV_NAMES", "LEAD_COLUMNS", "NONE", "clock_facts", "clocks_csv_frame",
           "clocks_frame", "csv_field", "csv_row", "csv_series", "iso", "iso_text",
           "leads_frame", "reason_text", "seconds_text", "summarize_arrays"]


# ------------------------------------------------------------------------- pre-encoded CSV

_SPECIAL = ',"\n'


def csv_field(value: Any) -> str:
    """A value as csv.writer (QUOTE_MINIMAL) writes it, for text without "\\r"."""
    text = "" if value is None else str(value)
    if any(ch in text for ch in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_series(values: pl.Series) -> pl.Series:
    """csv_field over a String series (nulls stay null)."""
    if not bool(values.str.contains(r'[,"\n]').fill_null(False).any()):
        return values
    quoted = pl.lit('"') + pl.col("v").str.replace_all('"', '""', literal=True) + pl.lit('"')
    return pl.DataFrame({"v": values}).select(
        pl.when(pl.col("v").str.contains(r'[,"\n]')).then(quoted).otherwise(pl.col("v"))
    ).to_series()


CSV_GROUPS = (1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 3)  # clocks.csv columns per pre-encoded column
CSV_NAMES = ("lead", "stage", "seq", "rep", "started_at", "due_at", "max_at", "stopped_at",
             "outcome_exceeded", "business_seconds", "tail")


def csv_row(row: list[Any]) -> list[Any]:
    """A clock_row in the pre-encoded layout of clocks_csv_frame."""
    out: list[Any] = []
    at = 0
    for width in CSV_GROUPS:
        part = row[at:at + width]
        out.append(part[0] if at == 2 else ",".join(csv_field(v) for v in part))  # seq: as is
        at += width
    return out


def clocks_csv_frame(m: Machine, facts: dict[str, np.ndarray], rows: np.ndarray, version: str,
                     leads: pl.Series, names: pl.Series) -> pl.DataFrame:
    """clocks.csv rows whose text columns are already CSV-encoded (to be written unquoted, nulls
    as nothing); target, policy_version and reason come as one column, outcome and
    exceeded_max as another. `leads` and `names` are csv_series of m.leads and of
    [None, *m.names[1:]]. Only for text without "\\r"."""
    c = m.clocks
    owner = c["owner"][rows]
    tpl, ra, rb, rc = c["tpl"][rows], c["ra"][rows], c["rb"][rows], c["rc"][rows]
    parts = [c["rule"][rows].astype(np.int64), tpl.astype(np.int64), ra.astype(np.int64),
             rb.astype(np.int64), rc.astype(np.int64)]
    head = "," + csv_field(version) + ","

    def text(r: int, t: int, a: int, b: int, x: int) -> str:
        return (csv_field(m.rules[r].text if m.rules else "") + head
                + csv_field(reason_text(t, a, b, x, m.names, m.reasons)))

    lows = [int(p.min()) if len(p) else 0 for p in parts]
    widths = [(int(p.max()) - low).bit_length() if len(p) else 0 for p, low in zip(parts, lows,
                                                                                  strict=True)]
    if sum(widths) <= 62:  # the key packed in one int64: a sort instead of a join
        packed = np.zeros(len(rows), dtype=np.int64)
        for p, low, width in zip(parts, lows, widths, strict=True):
            packed = (packed << width) | (p - low)
        distinct, inverse = np.unique(packed, return_inverse=True)
        fields = []
        for low, width in zip(lows[::-1], widths[::-1], strict=True):
            fields.append((distinct & ((1 << width) - 1)) + low)
            distinct = distinct >> width
        texts = [text(*v) for v in zip(*(f.tolist() for f in fields[::-1]), strict=True)]
        tail = pl.Series(texts, dtype=pl.String).gather(inverse.reshape(-1))
    else:
        key = pl.DataFrame(dict(zip(["rule", "tpl", "ra", "rb", "rc"], parts, strict=True)))
        unique = key.unique()
        texts = [text(*v) for v in unique.iter_rows()]
        tail = key.join(unique.with_columns(tail=pl.Series(texts, dtype=pl.String)),
                        on=["rule", "tpl", "ra", "rb", "rc"], how="left", maintain_order="left"
                        ).get_column("tail")
    stopped = c["stopped"][rows]
    has_max = facts["has_max"][rows]
    pairs = pl.Series([f"{csv_field(o)},{e}" for o in OUTCOMES for e in (0, 1)])
    return pl.DataFrame({
        "lead": leads.gather(c["lead"][rows]),
        "stage": pl.Series([csv_field(s) for s in STAGES]).gather(
            c["stage"][rows].astype(np.int64)),
        "seq": c["seq"][rows],
        "rep": names.gather(np.where(owner > 0, owner, 0)),
        "started_at": iso_text(c["start"][rows]),
        "due_at": iso_text(facts["due"][rows]),
        "max_at": _only(iso_text, facts["max"][rows], has_max),
        "stopped_at": _only(iso_text, c["stop"][rows], stopped),
        "outcome_exceeded": pairs.gather(facts["outcome"][rows] * 2
                                         + facts["exceeded"][rows].astype(np.int64)),
        "business_seconds": _only(seconds_text, facts["busy_us"][rows], stopped),
        "tail": tail,
    })
