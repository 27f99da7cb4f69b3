"""Benchmark the columnar replay against the reference engine on a demo history.

    python bench/replay.py [--days 100] [--leads-per-day 10000] [--repeat 3] [--sample 100000]

Generates (or reuses, cached in /tmp) a demo history of about a million leads / eight million
events, then times `fast_replay` + `write_fast_outputs` end to end on ONE core (polars is pinned
to one thread before it is imported): read + parse, order (de-duplication, as-of, event_order,
unknown leads), the columnar engine, the reference fallback for complex leads, deadlines and
outcomes, assembly + summary, and the file writes. It prints each phase, events/s (median of
`--repeat` runs), the peak RSS, the share of leads the columnar port handled itself, and, for the
ratio, the reference engine's cost: `engine.core.apply` per event and `replay.run` events/s on
the first `--sample` events of the same file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["POLARS_MAX_THREADS"] = "1"  # one core, as the target says; before polars loads
# Run as a script, this folder comes first on sys.path, and its calendar.py would shadow the
# standard library's calendar module (which holidays imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from itertools import islice  # noqa: E402

PHASES = ("parse", "order", "machine", "reference", "clocks", "assemble", "write")


def history(seed: int, days: int, per_day: int) -> Path:
    from leadclock.sim.demo import generate, write_jsonl

    path = Path(tempfile.gettempdir()) / f"lc_bench_s{seed}_d{days}_l{per_day}.jsonl"
    if not path.exists():
        start = date(2026, 10, 1)
        print(f"generating {path} ...", flush=True)
        begun = time.perf_counter()
        partial = path.with_suffix(".partial")
        # `until` 30 days after the last arrival: every lead's history runs out.
        count = write_jsonl(generate(seed=seed, start=start, days=days, leads_per_day=per_day,
                                     until=start + timedelta(days=days + 30)), partial)
        partial.rename(path)
        print(f"  {count:,} events in {time.perf_counter() - begun:.0f} s", flush=True)
    return path


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--leads-per-day", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--preset", default="b2b-saas")
    args = parser.parse_args()

    path = history(args.seed, args.days, args.leads_per_day)
    from leadclock.engine.columnar import fast_replay, write_fast_outputs
    from leadclock.policy import load_preset

    policy = load_preset(args.preset)
    size = path.stat().st_size
    print(f"history: {path} ({size / 2**20:,.0f} MiB); load average before: {loadavg()}")
    totals: list[float] = []
    cpus: list[float] = []
    phases: list[dict[str, float]] = []
    stats: dict = {}
    out = Path(tempfile.mkdtemp(prefix="lc_bench_out_"))
    for run in range(args.repeat):
        begun = time.perf_counter()
        cpu_begun = time.process_time()
        result = fast_replay(path, policy)
        written = time.perf_counter()
        write_fast_outputs(out, result)
        end = time.perf_counter()
        stats = result.stats
        times = {p: stats.get(f"time_{p}", 0.0) for p in PHASES[:-1]}
        times["write"] = end - written
        phases.append(times)
        totals.append(end - begun)
        cpus.append(time.process_time() - cpu_begun)
        events = stats["lines"]
        print(f"run {run + 1}: {end - begun:6.1f} s  {events / (end - begun):,.0f} events/s  "
              f"(CPU {cpus[-1]:.1f} s)  peak RSS so far {peak_rss_mb():,.0f} MiB; "
              f"load {loadavg()}", flush=True)
        del result
    events = stats["lines"]
    best = statistics.median(totals)
    print(f"\n{events:,} events, {stats['leads']:,} leads; median of {len(totals)} run(s)")
    for phase in PHASES:
        value = statistics.median(t[phase] for t in phases)
        print(f"  {phase:10s} {value:7.2f} s")
    print(f"  {'total':10s} {best:7.2f} s  ->  {events / best:,.0f} events/s end to end")
    # On a shared machine the wall time includes waits for a core: the CPU time does not.
    cpu = statistics.median(cpus)
    print(f"  {'CPU':10s} {cpu:7.2f} s  ->  {events / cpu:,.0f} events per CPU second")
    print(f"peak RSS: {peak_rss_mb():,.0f} MiB")
    simple = 1 - stats["complex_leads"] / max(1, stats["leads"])
    print(f"SIMPLE (columnar) leads: {simple:.4%}  ({stats['complex_leads']:,} complex leads, "
          f"{stats['complex_events']:,} events through the reference engine)")
    print(f"lines on the exact per-line parse path: {stats['slow_lines']:,}")

    # The reference engine on a sample of the same history, for the ratio.
    from leadclock.engine.core import apply, event_order
    from leadclock.engine.replay import read_events
    from leadclock.engine.replay import run as run_reference
    from leadclock.engine.rules import compile_rules

    rules = compile_rules(policy)
    with open(path, encoding="utf-8") as handle:
        begun = time.perf_counter()
        sample = [item for _, item in read_events(islice(handle, args.sample))]
        parse_s = time.perf_counter() - begun
    begun = time.perf_counter()
    run_reference(sample, rules)
    run_s = time.perf_counter() - begun
    ordered = sorted((e for e in sample if e.type != "rep.availability"), key=event_order)
    states: dict = {}
    begun = time.perf_counter()
    for event in ordered:
        states[event.lead], _ = apply(states.get(event.lead), event, rules)
    apply_s = time.perf_counter() - begun
    ref_rate = len(sample) / (parse_s + run_s)
    print(f"\nreference on the first {len(sample):,} events: parse {parse_s:.1f} s, "
          f"run {run_s:.1f} s -> {ref_rate:,.0f} events/s; "
          f"core.apply {apply_s / len(ordered) * 1e6:.1f} µs per event")
    print(f"columnar / reference: {events / best / ref_rate:,.1f}x")
    print(f"load average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
