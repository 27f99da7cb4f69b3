"""Benchmark leadclock.calendar against pandas CustomBusinessHour.

    python bench/calendar.py [--n 1000000] [--sample 20000] [--elapsed-sample 2000]

Calendar: Asia/Tokyo, 09:00-12:00 + 13:00-18:00 Mon-Fri, Japanese holidays. Starts are uniform over
2024-2028 (UTC, to the second); targets are uniform from 1 minute to 10 business days (80 h).

* ours: vectorised ``add`` and ``elapsed`` over all `--n` starts, median of `--repeat` runs after a
  warm-up call (which builds the interval table; its time is printed too).
* pandas add: ``local_start + CustomBusinessHour(n=h)`` in a per-element loop over the first
  `--sample` starts. pandas only adds whole hours, so the sample's targets are the full targets
  rounded up to whole hours (1..80); our answers for exactly those pairs must agree 100%.
* pandas elapsed: pandas has no business-time difference; the reference is
  ``len(pd.date_range(start, end, freq=CustomBusinessHour())) - 1`` whole business hours, run on
  (start, pandas deadline) pairs of the first `--elapsed-sample` starts (it steps one hour at a
  time, so it is slow). Our elapsed must equal it there, and must equal the target at every pandas
  deadline of the add sample.

Exits 1 if any answer disagrees.
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this file, named calendar.py,
# would shadow the standard library's calendar module that pandas and holidays import.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import holidays  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

try:
    from leadclock.calendar import BusinessCalendar
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(_HERE.parent / "src"))
    from leadclock.calendar import BusinessCalendar

TZ = "Asia/Tokyo"
SPANS = (("09:00", "12:00"), ("13:00", "18:00"))
DAY_HOURS = 8
MAX_TARGET = 10 * DAY_HOURS * 3600
SPAN = (np.datetime64("2024-01-01T00:00:00", "s"), np.datetime64("2029-01-01T00:00:00", "s"))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` runs (after the caller's warm-up) and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="deadlines computed by ours")
    parser.add_argument("--sample", type=int, default=20_000, help="pandas add sample")
    parser.add_argument("--elapsed-sample", type=int, default=2_000, help="pandas elapsed sample")
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours (median reported)")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    n, sample, e_sample = args.n, min(args.sample, args.n), min(args.elapsed_sample, args.sample)

    rng = np.random.default_rng(args.seed)
    lo, hi = (int(t.astype(np.int64)) for t in SPAN)
    starts = rng.integers(lo, hi, n).astype("datetime64[s]").astype("datetime64[us]")
    targets = rng.integers(60, MAX_TARGET + 1, n).astype(np.float64)

    cal = BusinessCalendar(
        TZ, {d: list(SPANS) for d in ("mon", "tue", "wed", "thu", "fri")}, ["JP"]
    )
    print(f"leadclock.calendar vs pandas {pd.__version__} CustomBusinessHour")
    print(f"calendar: {TZ}, {' + '.join('-'.join(s) for s in SPANS)} Mon-Fri, JP holidays")
    print(
        f"inputs:   {n:,} starts uniform over 2024-2028 (UTC, 1 s), targets 60 s .. {MAX_TARGET:,} s "
        "(1 min .. 10 business days)"
    )

    # --- ours -------------------------------------------------------------------------------
    t0 = time.perf_counter()
    cal.add(starts, targets)
    first_call = time.perf_counter() - t0
    t_add, due = timed(lambda: cal.add(starts, targets), args.repeat)
    t_elapsed, spent = timed(lambda: cal.elapsed(starts, due), args.repeat)
    self_check = int(np.count_nonzero(spent != targets))

    # --- pandas add ---------------------------------------------------------------------------
    hol = sorted(holidays.country_holidays("JP", years=range(2023, 2031)))
    offsets = {
        h: pd.offsets.CustomBusinessHour(
            n=h, start=[s for s, _ in SPANS], end=[e for _, e in SPANS], holidays=hol
        )
        for h in range(0, 10 * DAY_HOURS + 1)
    }
    hours = np.ceil(targets[:sample] / 3600).astype(np.int64)
    local = [
        ts.tz_localize(None)
        for ts in pd.DatetimeIndex(starts[:sample]).tz_localize("UTC").tz_convert(TZ)
    ]
    pairs = list(zip(local, hours.tolist(), strict=True))
    t0 = time.perf_counter()
    pandas_local = [ts + offsets[h] for ts, h in pairs]
    t_pd_add = time.perf_counter() - t0
    pandas_due = (
        pd.DatetimeIndex(pandas_local).tz_localize(TZ).tz_convert("UTC").tz_localize(None)
    ).to_numpy("datetime64[us]")
    ours_due = cal.add(starts[:sample], hours * 3600)
    add_mismatch = int(np.count_nonzero(ours_due != pandas_due))
    at_deadline = cal.elapsed(starts[:sample], pandas_due)
    elapsed_mismatch = int(np.count_nonzero(at_deadline != hours * 3600.0))

    # --- pandas elapsed -----------------------------------------------------------------------
    step = offsets[1]
    ends = pandas_local[:e_sample]
    t0 = time.perf_counter()
    pandas_hours = [
        len(pd.date_range(s, e, freq=step)) - 1 for (s, _), e in zip(pairs, ends, strict=False)
    ]
    t_pd_elapsed = time.perf_counter() - t0
    range_mismatch = int(
        np.count_nonzero(at_deadline[:e_sample] != np.asarray(pandas_hours) * 3600.0)
    )

    ours_add_rate, ours_el_rate = n / t_add, n / t_elapsed
    pd_add_rate, pd_el_rate = sample / t_pd_add, e_sample / t_pd_elapsed
    print()
    print(
        f"ours    add:     {t_add * 1e3:8.1f} ms median of {args.repeat} -> "
        f"{ours_add_rate:14,.0f} deadlines/s ({t_add / n * 1e9:.0f} ns each; first call with "
        f"table build {first_call * 1e3:.1f} ms)"
    )
    print(
        f"ours    elapsed: {t_elapsed * 1e3:8.1f} ms median of {args.repeat} -> "
        f"{ours_el_rate:14,.0f} durations/s ({t_elapsed / n * 1e9:.0f} ns each)"
    )
    print(
        f"pandas  add:     {t_pd_add:8.2f} s  for {sample:,}     -> {pd_add_rate:14,.0f} deadlines/s "
        f"({t_pd_add / sample * 1e6:.0f} µs each; whole-hour targets)"
    )
    print(
        f"pandas  elapsed: {t_pd_elapsed:8.2f} s  for {e_sample:,}      -> {pd_el_rate:14,.0f} "
        f"durations/s ({t_pd_elapsed / e_sample * 1e6:.0f} µs each; date_range hour count)"
    )
    print(f"ratio   add:     {ours_add_rate / pd_add_rate:10,.0f}x faster than pandas per deadline")
    print(f"ratio   elapsed: {ours_el_rate / pd_el_rate:10,.0f}x faster than pandas per duration")
    print()
    print(
        f"agreement add vs pandas:                  {sample - add_mismatch:,}/{sample:,} "
        f"(mismatches: {add_mismatch})"
    )
    print(
        f"agreement elapsed at pandas deadlines:    {sample - elapsed_mismatch:,}/{sample:,} "
        f"(mismatches: {elapsed_mismatch})"
    )
    print(
        f"agreement elapsed vs pandas date_range:   {e_sample - range_mismatch:,}/{e_sample:,} "
        f"(mismatches: {range_mismatch})"
    )
    print(
        f"self-check elapsed(add(s, x)) == x:       {n - self_check:,}/{n:,} "
        f"(mismatches: {self_check})"
    )
    if add_mismatch or elapsed_mismatch or range_mismatch or self_check:
        for i in np.flatnonzero(ours_due != pandas_due)[:5]:
            print(
                f"  add mismatch: start {starts[i]}Z + {hours[i]} h: ours {ours_due[i]}Z, "
                f"pandas {pandas_due[i]}Z"
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
