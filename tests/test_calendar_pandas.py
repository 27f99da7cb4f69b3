"""leadclock.calendar against references: pandas CustomBusinessHour and a brute-force minute walk.

How the references are computed:

* pandas deadline: the UTC start is converted to the calendar's local wall clock (naive), then
  ``ts + CustomBusinessHour(n=h, start=[...], end=[...], weekmask=..., holidays=[...])`` and the
  result is localised back and converted to UTC. ``n`` must be a whole number of hours (pandas
  has no way to add minutes of business time), so pandas is compared on whole-hour targets from
  arbitrary starts (to the second, many of them exactly on openings, closings and holidays).
  The calendars' business hours avoid DST transitions, so pandas' wall-clock arithmetic is real
  time there.
* minute targets: checked against the brute-force walk below, and tied to pandas through
  composition: ``add(s, h hours + m minutes) == pandas(add(s, m minutes), h)``.
* elapsed: pandas has no elapsed function. Two pandas-derived checks: ``elapsed(s, pandas
  deadline for h hours) == h hours`` (the deadline is where the elapsed time reaches the target),
  and ``len(pd.date_range(s, e, freq=CustomBusinessHour())) - 1`` (the number of whole business
  hours pandas steps through) on a smaller sample. Arbitrary [start, end) ranges are compared
  with the minute walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadclock.calendar import BusinessCalendar

HOUR = 3600
YEARS = range(2023, 2031)
PANDAS_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Spec:
    """One calendar, expressed both for leadclock and for pandas."""

    tz: str
    spans: tuple[tuple[str, str], ...]
    country: str
    days: int = 5  # Monday..(days)
    _offsets: dict[int, pd.offsets.CustomBusinessHour] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @cached_property
    def holiday_dates(self) -> list[date]:
        return sorted(holidays.country_holidays(self.country, years=YEARS))

    @cached_property
    def calendar(self) -> BusinessCalendar:
        weekly = {d.lower(): list(self.spans) for d in PANDAS_DAYS[: self.days]}
        return BusinessCalendar(self.tz, weekly, [self.country])

    def offset(self, hours: int) -> pd.offsets.CustomBusinessHour:
        if hours not in self._offsets:
            self._offsets[hours] = pd.offsets.CustomBusinessHour(
                n=hours,
                start=[s for s, _ in self.spans],
                end=[e for _, e in self.spans],
                weekmask=" ".join(PANDAS_DAYS[: self.days]),
                holidays=self.holiday_dates,
            )
        return self._offsets[hours]

    def to_local(self, t: datetime) -> pd.Timestamp:
        return pd.Timestamp(t.astimezone(self.zone).replace(tzinfo=None))

    def to_utc(self, ts: pd.Timestamp) -> datetime:
        return ts.tz_localize(self.zone).tz_convert(UTC).to_pydatetime()

    def pandas_add(self, start: datetime, hours: int) -> datetime:
        return self.to_utc(self.to_local(start) + self.offset(hours))

    # Brute force: decide each minute from its local wall clock, nothing shared with the module.
    def open_minute(self, t: datetime) -> bool:
        loc = t.astimezone(self.zone)
        if loc.weekday() >= self.days or loc.date() in self.holiday_set:
            return False
        minute = loc.hour * 60 + loc.minute
        return any(_minutes(s) <= minute < _minutes(e) for s, e in self.spans)

    @cached_property
    def holiday_set(self) -> frozenset[date]:
        return frozenset(self.holiday_dates)

    def brute_add(self, start: datetime, minutes: int) -> datetime:
        t, counted = start, 0
        while counted < minutes:
            counted += self.open_minute(t)
            t += timedelta(minutes=1)
        while not self.open_minute(t):  # reached at a close (or never opened): next opening
            t += timedelta(minutes=1)
        return t

    def brute_elapsed(self, start: datetime, end: datetime) -> float:
        n = int((end - start).total_seconds() // 60)
        return 60.0 * sum(self.open_minute(start + timedelta(minutes=i)) for i in range(n))


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


TOKYO_LUNCH = Spec("Asia/Tokyo", (("09:00", "12:00"), ("13:00", "18:00")), "JP")
SPECS = [
    TOKYO_LUNCH,
    Spec("Asia/Tokyo", (("08:45", "12:15"), ("13:05", "17:50")), "JP", days=6),
    Spec("America/New_York", (("08:30", "12:00"), ("12:45", "17:15")), "US"),
    Spec("Europe/London", (("09:00", "17:30"),), "GB"),
]

SPAN_START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
SPAN_END = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
QUARTER = 900


def _holiday_neighbourhood() -> list[int]:
    # Starts near holidays (and New Year, Golden Week, Christmas) in all the specs' countries.
    out = []
    for spec in SPECS:
        for d in spec.holiday_dates:
            if 2024 <= d.year <= 2028:
                out.append(int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()))
    return sorted(set(out))


NEAR_HOLIDAYS = _holiday_neighbourhood()

starts = st.one_of(
    st.integers(SPAN_START, SPAN_END),
    # On a quarter hour (every opening and closing above), or a second either side.
    st.builds(
        lambda k, d: k * QUARTER + d,
        st.integers(SPAN_START // QUARTER, SPAN_END // QUARTER),
        st.sampled_from([-1, 0, 0, 0, 1]),
    ),
    st.builds(
        lambda base, k: base + k * QUARTER,
        st.sampled_from(NEAR_HOLIDAYS),
        st.integers(-3 * 96, 2 * 96),
    ),
).map(lambda s: datetime.fromtimestamp(s, UTC))
minute_starts = starts.map(lambda t: t.replace(second=0))
specs = st.sampled_from(SPECS)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs, starts, st.integers(0, 120))
def test_add_whole_hours_equals_pandas(spec: Spec, start: datetime, hours: int) -> None:
    expected = spec.pandas_add(start, hours)
    due = spec.calendar.add(start, hours * HOUR)
    assert due == expected, (spec.tz, spec.to_local(start), hours)
    # The pandas deadline is where elapsed business time reaches the target.
    assert spec.calendar.elapsed(start, expected) == hours * HOUR


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs, minute_starts, st.integers(0, 2 * 9 * 60), st.integers(0, 40))
def test_add_minutes_equals_brute_force_and_composes_with_pandas(
    spec: Spec, start: datetime, minutes: int, hours: int
) -> None:
    cal = spec.calendar
    assert cal.add(start, minutes * 60) == spec.brute_add(start, minutes)
    combined = cal.add(start, hours * HOUR + minutes * 60)
    assert combined == spec.pandas_add(cal.add(start, minutes * 60), hours)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs, minute_starts, st.integers(-600, 4 * 1440))
def test_elapsed_equals_brute_force(spec: Spec, start: datetime, minutes: int) -> None:
    end = start + timedelta(minutes=minutes)
    expected = spec.brute_elapsed(start, end) if minutes > 0 else 0.0
    assert spec.calendar.elapsed(start, end) == expected


def _sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    secs = rng.integers(SPAN_START, SPAN_END, n)
    secs[: n // 4] = secs[: n // 4] // QUARTER * QUARTER
    hours = rng.integers(0, 10 * 8 + 1, n)  # up to 10 business days of 8 h
    return secs, hours


@pytest.mark.parametrize("spec", SPECS[:2], ids=["tokyo-lunch", "tokyo-6days"])
def test_large_deterministic_sample_matches_pandas(spec: Spec) -> None:
    secs, hours = _sample(2000, seed=20260101)
    ours = spec.calendar.add(secs.astype("datetime64[s]"), hours * HOUR)
    expected = np.array(
        [
            np.datetime64(
                spec.pandas_add(datetime.fromtimestamp(int(s), UTC), int(h)).replace(tzinfo=None),
                "us",
            )
            for s, h in zip(secs, hours, strict=True)
        ]
    )
    mismatches = np.flatnonzero(ours != expected)
    assert mismatches.size == 0, [
        (str(secs[i].astype("datetime64[s]")), int(hours[i]), ours[i], expected[i])
        for i in mismatches[:5]
    ]
    spent = spec.calendar.elapsed(secs.astype("datetime64[s]"), expected)
    np.testing.assert_array_equal(spent, hours * float(HOUR))


def test_elapsed_equals_pandas_date_range_count() -> None:
    spec = TOKYO_LUNCH
    secs, hours = _sample(150, seed=7)
    step = spec.offset(1)
    for s, h in zip(secs, hours, strict=True):
        start = datetime.fromtimestamp(int(s), UTC)
        end = spec.pandas_add(start, int(h))
        # pandas steps one business hour at a time from the rolled-forward start up to `end`.
        counted = len(pd.date_range(spec.to_local(start), spec.to_local(end), freq=step)) - 1
        assert spec.calendar.elapsed(start, end) == counted * HOUR
