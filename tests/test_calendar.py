"""Worked examples and properties of leadclock.calendar (pandas comparisons live in
test_calendar_pandas.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadclock.calendar import BusinessCalendar, CalendarError

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOUR = 3600
MINUTE = 60


def weekdays(*spans: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {day: list(spans) for day in WEEKDAYS}


def tokyo(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TOKYO)  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(t: datetime, tz: ZoneInfo = TOKYO) -> datetime:
    return t.astimezone(tz)


# Built once: calendars are immutable and their tables are caches, so sharing them across tests
# only makes the suite faster.
JP_918 = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "18:00")), ["JP"])
JP_LUNCH = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "12:00"), ("13:00", "18:00")), ["JP"])
PLAIN_918 = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "18:00")))


# ---------------------------------------------------------------------------------------------
# Worked examples


def test_target_reached_at_closing_moves_to_next_opening() -> None:
    # Fri 17:55 + 5 min reaches the target exactly at the 18:00 close: due Mon 09:00.
    due = JP_918.add(tokyo(2026, 1, 16, 17, 55), 5 * MINUTE)
    assert due == tokyo(2026, 1, 19, 9, 0)
    assert due.tzinfo is UTC
    # The pandas docs' example: Fri 17:00 + 1 h on 09:00-18:00 is Mon 09:00, not Fri 18:00.
    assert JP_918.add(tokyo(2026, 1, 16, 17, 0), HOUR) == tokyo(2026, 1, 19, 9, 0)
    # One second short of the close stays on Friday.
    assert JP_918.add(tokyo(2026, 1, 16, 17, 55), 299) == tokyo(2026, 1, 16, 17, 59, 59)


def test_clock_started_while_closed_counts_from_next_opening() -> None:
    assert JP_918.add(tokyo(2026, 1, 17, 10, 0), 5 * MINUTE) == tokyo(2026, 1, 19, 9, 5)  # Sat
    assert JP_918.add(tokyo(2026, 1, 19, 7, 30), 5 * MINUTE) == tokyo(2026, 1, 19, 9, 5)
    assert JP_918.add(tokyo(2026, 1, 19, 18, 0), 5 * MINUTE) == tokyo(2026, 1, 20, 9, 5)


def test_zero_target_is_next_opening() -> None:
    assert JP_918.add(tokyo(2026, 1, 20, 10, 0), 0) == tokyo(2026, 1, 20, 10, 0)
    assert JP_918.add(tokyo(2026, 1, 20, 18, 0), 0) == tokyo(2026, 1, 21, 9, 0)
    assert JP_918.next_opening(tokyo(2026, 1, 20, 18, 0)) == tokyo(2026, 1, 21, 9, 0)
    assert JP_918.next_opening(tokyo(2026, 1, 20, 9, 0)) == tokyo(2026, 1, 20, 9, 0)


def test_lunch_break() -> None:
    cal = JP_LUNCH
    assert cal.add(tokyo(2026, 1, 20, 11, 30), HOUR) == tokyo(2026, 1, 20, 13, 30)
    # Reached exactly at the 12:00 close: due when the afternoon opens.
    assert cal.add(tokyo(2026, 1, 20, 11, 30), 30 * MINUTE) == tokyo(2026, 1, 20, 13, 0)
    assert cal.add(tokyo(2026, 1, 20, 12, 15), 10 * MINUTE) == tokyo(2026, 1, 20, 13, 10)
    assert cal.elapsed(tokyo(2026, 1, 20, 11, 0), tokyo(2026, 1, 20, 14, 0)) == 2 * HOUR
    assert not cal.is_open(tokyo(2026, 1, 20, 12, 0))
    assert cal.is_open(tokyo(2026, 1, 20, 11, 59, 59))
    assert cal.is_open(tokyo(2026, 1, 20, 13, 0))
    assert cal.business_day_seconds == 8 * HOUR


def test_japanese_holiday_coming_of_age_day() -> None:
    # Mon 2026-01-12 is Coming of Age Day: Fri 17:00 + 2 h is due Tue 10:00.
    assert JP_918.add(tokyo(2026, 1, 9, 17, 0), 2 * HOUR) == tokyo(2026, 1, 13, 10, 0)
    assert not JP_918.is_open(tokyo(2026, 1, 12, 10, 0))
    assert PLAIN_918.is_open(tokyo(2026, 1, 12, 10, 0))
    assert JP_918.elapsed(tokyo(2026, 1, 9, 17, 0), tokyo(2026, 1, 13, 10, 0)) == 2 * HOUR


def test_year_end() -> None:
    # Thu 2026-12-31 is a working day; 2027-01-01 is New Year's Day (the package's only holiday
    # of those days) and Jan 2-3 are a weekend: 17:00 + 2 h is due Mon 2027-01-04 10:00.
    assert JP_918.add(tokyo(2026, 12, 31, 17, 0), 2 * HOUR) == tokyo(2027, 1, 4, 10, 0)
    assert JP_918.day_end(tokyo(2026, 12, 31, 20, 0)) == tokyo(2027, 1, 4, 18, 0)


def test_golden_week_and_targets_longer_than_ten_business_days() -> None:
    # 12 business days from Mon 2026-04-20 10:00 skip Showa Day (Apr 29) and May 3-6.
    due = JP_918.add(tokyo(2026, 4, 20, 10, 0), 12 * 9 * HOUR)
    assert due == tokyo(2026, 5, 12, 10, 0)
    assert JP_918.elapsed(tokyo(2026, 4, 20, 10, 0), due) == 12 * 9 * HOUR
    # 30 business days = six plain weeks without holidays.
    assert PLAIN_918.add(tokyo(2026, 6, 1, 9, 0), 30 * 9 * HOUR) == tokyo(2026, 7, 13, 9, 0)


def test_leap_year() -> None:
    assert PLAIN_918.add(tokyo(2024, 2, 28, 17, 0), 2 * HOUR) == tokyo(2024, 2, 29, 10, 0)
    # February 2024 has 21 weekdays.
    assert PLAIN_918.elapsed(tokyo(2024, 2, 1), tokyo(2024, 3, 1)) == 21 * 9 * HOUR
    assert PLAIN_918.elapsed(tokyo(2025, 2, 1), tokyo(2025, 3, 1)) == 20 * 9 * HOUR


def test_explicit_holidays_and_subdivision() -> None:
    cal = BusinessCalendar(
        "America/Los_Angeles",
        weekdays(("09:00", "17:00")),
        ["US", "2026-06-15", date(2026, 6, 16)],
        subdivision="CA",
    )
    la = ZoneInfo("America/Los_Angeles")
    # Fri 2026-06-12 16:00 + 2 h: Mon 15 and Tue 16 are closed explicitly.
    assert cal.add(datetime(2026, 6, 12, 16, tzinfo=la), 2 * HOUR) == datetime(
        2026, 6, 17, 10, tzinfo=la
    )
    # 2026-03-31 is Cesar Chavez Day, a California holiday.
    assert not cal.is_open(datetime(2026, 3, 31, 10, tzinfo=la))
    assert cal.is_open(datetime(2026, 3, 30, 10, tzinfo=la))


def test_day_end() -> None:
    assert JP_LUNCH.day_end(tokyo(2026, 1, 20, 10, 0)) == tokyo(2026, 1, 20, 18, 0)
    assert JP_LUNCH.day_end(tokyo(2026, 1, 20, 12, 30)) == tokyo(2026, 1, 20, 18, 0)
    # After the close (or at it) counting begins on the next business day.
    assert JP_LUNCH.day_end(tokyo(2026, 1, 20, 18, 0)) == tokyo(2026, 1, 21, 18, 0)
    assert JP_LUNCH.day_end(tokyo(2026, 1, 9, 19, 0)) == tokyo(2026, 1, 13, 18, 0)
    assert JP_LUNCH.day_end(tokyo(2026, 1, 10, 10, 0)) == tokyo(2026, 1, 13, 18, 0)


def test_business_day_seconds_mean_over_open_weekdays() -> None:
    assert JP_918.business_day_seconds == 32400
    cal = BusinessCalendar(
        "UTC", {"mon": [("09:00", "17:00")], "sat": [("10:00", "12:00"), ("13:00", "15:00")]}
    )
    assert cal.business_day_seconds == (8 + 4) * HOUR / 2


def test_always_is_plain_arithmetic() -> None:
    cal = BusinessCalendar.always()
    start = utc(2026, 3, 8, 6, 30)
    assert cal.add(start, 12345.5) == start + timedelta(seconds=12345.5)
    assert cal.add(start, 0) == start
    assert cal.elapsed(start, start + timedelta(days=400)) == 400 * 86400
    assert cal.elapsed(start, start - timedelta(hours=1)) == 0
    assert cal.is_open(start)
    assert cal.next_opening(start) == start
    assert cal.day_end(start) == utc(2026, 3, 9)
    assert cal.business_day_seconds == 86400
    arr = np.array(["2026-01-01T00:00", "2027-06-30T12:34:56.789"], dtype="datetime64[ms]")
    np.testing.assert_array_equal(
        cal.add(arr, 90.0), arr.astype("datetime64[us]") + np.timedelta64(90, "s")
    )


def test_non_utc_zone_results_are_utc() -> None:
    due = JP_918.add(utc(2026, 1, 20, 0, 0), HOUR)  # 09:00 Tokyo
    assert due == utc(2026, 1, 20, 1, 0)
    assert due.tzinfo is UTC
    assert due.utcoffset() == timedelta(0)


# ---------------------------------------------------------------------------------------------
# Daylight saving time


def sundays_24h(tz: str) -> BusinessCalendar:
    return BusinessCalendar(tz, {"sun": [("00:00", "24:00")]})


def test_dst_local_days_are_23_and_25_hours() -> None:
    ny = sundays_24h("America/New_York")
    assert ny.elapsed(
        datetime(2026, 3, 8, tzinfo=NEW_YORK), datetime(2026, 3, 9, tzinfo=NEW_YORK)
    ) == (23 * HOUR)
    assert ny.elapsed(
        datetime(2026, 11, 1, tzinfo=NEW_YORK), datetime(2026, 11, 2, tzinfo=NEW_YORK)
    ) == (25 * HOUR)
    ldn = sundays_24h("Europe/London")
    assert ldn.elapsed(
        datetime(2026, 3, 29, tzinfo=LONDON), datetime(2026, 3, 30, tzinfo=LONDON)
    ) == (23 * HOUR)
    assert (
        ldn.elapsed(datetime(2026, 10, 25, tzinfo=LONDON), datetime(2026, 10, 26, tzinfo=LONDON))
        == 25 * HOUR
    )
    # The whole short day is used up by 23 h, so the deadline is the next Sunday's opening.
    assert ny.add(datetime(2026, 3, 8, tzinfo=NEW_YORK), 23 * HOUR) == datetime(
        2026, 3, 15, tzinfo=NEW_YORK
    )
    assert ny.add(datetime(2026, 3, 8, tzinfo=NEW_YORK), 3 * HOUR) == datetime(
        2026, 3, 8, 4, tzinfo=NEW_YORK
    )
    assert ny.day_end(datetime(2026, 3, 7, 12, tzinfo=NEW_YORK)) == datetime(
        2026, 3, 9, tzinfo=NEW_YORK
    )


def test_dst_24h_calendar_with_table_is_real_elapsed_time() -> None:
    # A far-away holiday turns off the 24/7 shortcut, so the interval table itself is tested.
    cal = BusinessCalendar(
        "America/New_York",
        {d: [("00:00", "24:00")] for d in (*WEEKDAYS, "sat", "sun")},
        ["1999-01-01"],
    )
    start = datetime(2026, 3, 7, 12, tzinfo=NEW_YORK)
    assert cal.add(start, 24 * HOUR) == datetime(2026, 3, 8, 13, tzinfo=NEW_YORK)
    fall = datetime(2026, 10, 31, 12, tzinfo=NEW_YORK)
    assert cal.add(fall, 24 * HOUR) == datetime(2026, 11, 1, 11, tzinfo=NEW_YORK)
    assert cal.elapsed(start, start + timedelta(days=300)) == 300 * 86400


def test_overnight_hours_across_dst() -> None:
    cal = BusinessCalendar(
        "Europe/London", {"sat": [("22:00", "24:00")], "sun": [("00:00", "04:00")]}
    )
    # Sat 22:00 GMT .. Sun 04:00 BST is only 5 real hours (01:00 jumps to 02:00).
    sat = datetime(2026, 3, 28, 22, tzinfo=LONDON)
    assert cal.elapsed(sat, datetime(2026, 3, 29, 12, tzinfo=LONDON)) == 5 * HOUR
    assert cal.add(sat, 5 * HOUR) == datetime(2026, 4, 4, 22, tzinfo=LONDON)
    assert cal.add(sat, 3 * HOUR) == datetime(2026, 3, 29, 2, tzinfo=LONDON)  # 01:00Z
    # ... and 7 in autumn, when 02:00 BST falls back to 01:00 GMT.
    sat = datetime(2026, 10, 24, 22, tzinfo=LONDON)
    assert cal.elapsed(sat, datetime(2026, 10, 25, 12, tzinfo=LONDON)) == 7 * HOUR
    # Midnight between the two intervals is not a close: counting runs straight through it.
    assert cal.add(sat, 2 * HOUR) == datetime(2026, 10, 25, 0, tzinfo=LONDON)
    assert cal.is_open(datetime(2026, 10, 25, 0, tzinfo=LONDON))


def test_boundaries_inside_the_spring_gap() -> None:
    # On 2026-03-08 New York clocks jump from 02:00 EST (07:00Z) to 03:00 EDT.
    opens_in_gap = BusinessCalendar("America/New_York", {"sun": [("02:30", "04:00")]})
    assert opens_in_gap.next_opening(utc(2026, 3, 8, 5)) == utc(2026, 3, 8, 7)  # the jump
    assert not opens_in_gap.is_open(utc(2026, 3, 8, 6, 59, 59))
    assert opens_in_gap.elapsed(utc(2026, 3, 8), utc(2026, 3, 9)) == HOUR
    spans_gap = BusinessCalendar("America/New_York", {"sun": [("01:30", "03:30")]})
    assert spans_gap.elapsed(utc(2026, 3, 8), utc(2026, 3, 9)) == HOUR
    assert spans_gap.next_opening(utc(2026, 3, 8)) == utc(2026, 3, 8, 6, 30)
    assert spans_gap.elapsed(utc(2026, 3, 1), utc(2026, 3, 2)) == 2 * HOUR  # a normal Sunday
    # An interval wholly inside the skipped hour never opens that day.
    in_gap = BusinessCalendar("America/New_York", {"sun": [("02:00", "02:45")]})
    assert in_gap.next_opening(utc(2026, 3, 8)) == datetime(2026, 3, 15, 2, tzinfo=NEW_YORK)
    assert in_gap.elapsed(utc(2026, 3, 8), utc(2026, 3, 9)) == 0


def test_boundaries_in_the_repeated_autumn_hour_use_first_occurrence() -> None:
    # On 2026-11-01 New York repeats 01:00-02:00 (EDT, then EST).
    cal = BusinessCalendar("America/New_York", {"sun": [("01:00", "02:00")]})
    assert cal.elapsed(utc(2026, 11, 1), utc(2026, 11, 2)) == 2 * HOUR  # 05:00Z..07:00Z
    early = BusinessCalendar("America/New_York", {"sun": [("00:00", "01:30")]})
    assert early.elapsed(utc(2026, 11, 1), utc(2026, 11, 2)) == 1.5 * HOUR  # closes 05:30Z
    assert not early.is_open(utc(2026, 11, 1, 6, 15))  # 01:15 EST, after the first 01:30


# ---------------------------------------------------------------------------------------------
# Errors


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 20, 10)
    with pytest.raises(CalendarError, match="start must be timezone-aware"):
        JP_918.add(naive, 60)
    with pytest.raises(CalendarError, match="end must be timezone-aware"):
        JP_918.elapsed(tokyo(2026, 1, 20), naive)
    with pytest.raises(CalendarError, match="t must be timezone-aware"):
        JP_918.is_open(naive)
    with pytest.raises(CalendarError, match="t must be timezone-aware"):
        JP_918.next_opening(naive)
    with pytest.raises(CalendarError, match="start must be timezone-aware"):
        JP_918.day_end(naive)
    with pytest.raises(CalendarError, match="start must be timezone-aware"):
        BusinessCalendar.always().add(naive, 60)


def test_bad_durations_and_inputs_are_rejected() -> None:
    start = tokyo(2026, 1, 20, 10)
    with pytest.raises(CalendarError, match=">= 0"):
        JP_918.add(start, -1)
    with pytest.raises(CalendarError, match="finite"):
        JP_918.add(start, float("nan"))
    with pytest.raises(CalendarError, match="index 1"):
        JP_918.add(np.array(["2026-01-20", "2026-01-21"], dtype="datetime64[s]"), np.array([1, -5]))
    with pytest.raises(CalendarError, match="datetime64"):
        JP_918.add(["2026-01-20"], 60)
    with pytest.raises(CalendarError, match="supported years"):
        JP_918.add(np.array(["9999-06-01"], dtype="datetime64[s]"), 60)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekly": {"mon": [("18:00", "09:00")]}}, r"weekly\['mon'\]\[0\].*reversed"),
        ({"weekly": {"mon": [("09:00", "09:00")]}}, r"weekly\['mon'\]\[0\].*reversed or empty"),
        (
            {"weekly": {"tue": [("09:00", "12:00"), ("11:00", "13:00")]}},
            r"weekly\['tue'\].*overlap",
        ),
        ({"weekly": {"monday": [("09:00", "18:00")]}}, r"unknown day key 'monday'"),
        ({"weekly": {"mon": [("9:00", "18:00")]}}, r"weekly\['mon'\]\[0\] start.*'HH:MM'"),
        ({"weekly": {"mon": [("09:00", "24:30")]}}, r"weekly\['mon'\]\[0\] end.*out of range"),
        ({"weekly": {"mon": [("24:00", "24:00")]}}, r"weekly\['mon'\]\[0\] start.*out of range"),
        ({"weekly": {"mon": ["09:00-18:00"]}}, r"weekly\['mon'\]\[0\].*pair"),
        ({"weekly": {"mon": [], "Mon": []}}, r"given twice"),
        ({"weekly": {}}, r"no day has opening hours"),
        ({"timezone": "Mars/Olympus_Mons"}, r"timezone: unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "../etc/passwd"}, r"timezone: unknown time zone"),
        ({"holidays": ["XX"]}, r"holidays:.*XX"),
        ({"holidays": ["2026-02-30"]}, r"holidays: '2026-02-30' is not a valid date"),
        ({"holidays": ["next tuesday"]}, r"holidays: 'next tuesday' is neither"),
        ({"holidays": [datetime(2026, 1, 1)]}, r"holidays:.*datetime"),
        ({"holidays": ["JP"], "subdivision": "ZZ"}, r"subdivision:.*ZZ"),
        ({"subdivision": "CA"}, r"subdivision: 'CA' given but holidays names no country"),
    ],
)
def test_bad_construction(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"timezone": "Asia/Tokyo", "weekly": weekdays(("09:00", "18:00"))}
    args.update(kwargs)
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar(**args)  # type: ignore[arg-type]


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)


def test_touching_intervals_and_a_bare_country_string_are_accepted() -> None:
    cal = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "12:00"), ("12:00", "18:00")), "JP")
    # 12:00 is not a close when the next interval opens at the same instant.
    assert cal.add(tokyo(2026, 1, 20, 11, 0), HOUR) == tokyo(2026, 1, 20, 12, 0)
    assert cal.is_open(tokyo(2026, 1, 20, 12, 0))
    assert not cal.is_open(tokyo(2026, 1, 12, 10, 0))  # JP was read as one country


# ---------------------------------------------------------------------------------------------
# Arrays


def test_arrays_equal_scalars() -> None:
    rng = np.random.default_rng(7)
    lo, hi = utc(2025, 12, 1).timestamp(), utc(2027, 2, 1).timestamp()
    secs = rng.integers(int(lo), int(hi), 400)
    secs[:100] = secs[:100] // 1800 * 1800  # many starts on openings, closings and midnights
    targets = rng.integers(0, 12 * 9 * HOUR, 400)
    targets[:50] = targets[:50] // HOUR * HOUR
    starts = secs.astype("datetime64[s]")
    cal = JP_LUNCH
    due = cal.add(starts, targets)
    assert due.dtype == np.dtype("datetime64[us]")
    lengths = rng.integers(-86400, 20 * 86400, 400)
    ends = starts + lengths.astype("timedelta64[s]")
    spent = cal.elapsed(starts, ends)
    assert spent.dtype == np.float64
    opens = cal.is_open(starts)
    nxt = cal.next_opening(starts)
    day_end = cal.day_end(starts)
    for i in range(400):
        s = datetime.fromtimestamp(int(secs[i]), UTC)
        e = s + timedelta(seconds=int(lengths[i]))
        assert cal.add(s, int(targets[i])) == due[i].astype(datetime).replace(tzinfo=UTC)
        assert cal.elapsed(s, e) == spent[i]
        assert cal.is_open(s) == opens[i]
        assert cal.next_opening(s) == nxt[i].astype(datetime).replace(tzinfo=UTC)
        assert cal.day_end(s) == day_end[i].astype(datetime).replace(tzinfo=UTC)


def test_array_units_broadcasting_nat_and_nan() -> None:
    cal = JP_918
    start = np.array(["2026-01-16T08:55", "NaT", "2026-01-17T01:00"], dtype="datetime64[m]")
    out = cal.add(start, 5 * MINUTE)  # 17:55 Tokyo, NaT, Sat 10:00 Tokyo
    expected = np.array(["2026-01-19T00:00", "NaT", "2026-01-19T00:05"], dtype="datetime64[us]")
    np.testing.assert_array_equal(out, expected)
    out = cal.add(start[0], np.array([0.0, np.nan, 5 * MINUTE, 60.5]))
    np.testing.assert_array_equal(
        out,
        np.array(
            ["2026-01-16T08:55", "NaT", "2026-01-19T00:00", "2026-01-16T08:56:00.5"],
            dtype="datetime64[us]",
        ),
    )
    np.testing.assert_array_equal(
        cal.add(start[:1], np.array([5], dtype="timedelta64[m]")),
        np.array(["2026-01-19T00:00"], dtype="datetime64[us]"),
    )
    spent = cal.elapsed(start, np.datetime64("2026-01-19T00:30", "s"))
    np.testing.assert_array_equal(spent, [5 * MINUTE + 30 * MINUTE, np.nan, 30 * MINUTE])
    np.testing.assert_array_equal(cal.is_open(start), [True, False, False])
    # A tz-aware datetime may be mixed with arrays; ns input is read as UTC.
    ns = np.array(["2026-01-16T08:55:00.000000999"], dtype="datetime64[ns]")
    np.testing.assert_array_equal(
        cal.add(ns, 60), np.array(["2026-01-16T08:56"], dtype="datetime64[us]")
    )
    np.testing.assert_array_equal(
        cal.elapsed(tokyo(2026, 1, 16, 17, 0), ns), np.array([55 * MINUTE], dtype=np.float64)
    )
    assert cal.add(np.array([], dtype="datetime64[s]"), 60).shape == (0,)
    assert cal.add(np.datetime64("2026-01-16T08:55"), 60) == np.datetime64("2026-01-16T08:56")


def test_table_grows_in_both_directions_and_far_ahead() -> None:
    cal = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "18:00")), ["JP"])
    late = cal.add(tokyo(2030, 6, 3, 9), HOUR)
    early = cal.add(tokyo(2020, 6, 1, 9), HOUR)
    assert (early, late) == (tokyo(2020, 6, 1, 10), tokyo(2030, 6, 3, 10))
    # About 20 years of business time in one call.
    far = cal.add(tokyo(2026, 1, 5, 9), 20 * 245 * 9 * HOUR)
    assert tokyo(2045, 1, 1) < far < tokyo(2047, 1, 1)
    assert cal.elapsed(tokyo(2026, 1, 5, 9), far) == 20 * 245 * 9 * HOUR
    fresh = BusinessCalendar("Asia/Tokyo", weekdays(("09:00", "18:00")), ["JP"])
    assert fresh.add(tokyo(2020, 6, 1, 9), HOUR) == early


def test_scalar_call_is_fast() -> None:
    import time

    start = tokyo(2026, 1, 16, 17, 55)
    JP_LUNCH.add(start, 300)
    t0 = time.perf_counter()
    for _ in range(2000):
        JP_LUNCH.add(start, 300)
        JP_LUNCH.elapsed(start, start + timedelta(days=3))
    per_call = (time.perf_counter() - t0) / 4000
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per call"


# ---------------------------------------------------------------------------------------------
# Properties

SPAN_START = int(utc(2024, 1, 1).timestamp())
SPAN_END = int(utc(2029, 1, 1).timestamp())

# Instants biased towards the places where business time changes: on the half hour (all
# openings, closings, midnights and DST jumps of the calendars below), give or take a second.
instants = st.one_of(
    st.integers(SPAN_START, SPAN_END),
    st.builds(
        lambda k, d: k * 1800 + d,
        st.integers(SPAN_START // 1800, SPAN_END // 1800),
        st.sampled_from([-1, 0, 0, 0, 1]),
    ),
).map(lambda s: datetime.fromtimestamp(s, UTC))
durations = st.one_of(
    st.integers(0, 15 * 9 * HOUR),
    st.integers(0, 15 * 9).map(lambda h: h * HOUR),  # whole hours hit closings exactly
    st.integers(0, 10**12).map(lambda us: timedelta(microseconds=us)),
)

CALENDARS = [
    JP_LUNCH,
    JP_918,
    BusinessCalendar(
        "America/New_York",
        {
            "mon": [("00:00", "01:30"), ("02:30", "24:00")],
            "sat": [("20:00", "24:00")],
            "sun": [("00:00", "02:30"), ("03:00", "24:00")],
        },
        ["US"],
    ),
    BusinessCalendar(
        "Europe/London",
        {"sat": [("22:00", "24:00")], "sun": [("00:00", "01:30"), ("01:45", "04:00")]},
        ["GB"],
    ),
]
calendars = st.sampled_from(CALENDARS)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seconds_of(x: int | timedelta) -> float:
    return x.total_seconds() if isinstance(x, timedelta) else float(x)


def as_timedelta(x: int | timedelta) -> timedelta:
    return x if isinstance(x, timedelta) else timedelta(seconds=x)


@PROPERTY
@given(calendars, instants, durations)
def test_elapsed_inverts_add(cal: BusinessCalendar, start: datetime, x: int | timedelta) -> None:
    due = cal.add(start, x)
    assert cal.elapsed(start, due) == pytest.approx(seconds_of(x), abs=1e-6)
    assert cal.is_open(due)
    assert due >= cal.next_opening(start) >= start
    # The deadline is the *last* instant at the target: a microsecond later is a breach.
    assert cal.elapsed(start, due + timedelta(microseconds=1)) > seconds_of(x)


@PROPERTY
@given(calendars, instants, st.integers(0, 10**6), st.integers(0, 10**6))
def test_add_is_monotone_in_seconds(cal: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add(start, a) <= cal.add(start, b)
    if a < b:
        assert cal.add(start, a) < cal.add(start, b)


@PROPERTY
@given(calendars, instants, durations, durations)
def test_add_composes(
    cal: BusinessCalendar, start: datetime, a: int | timedelta, b: int | timedelta
) -> None:
    # add never returns a closing instant (a target reached at a close moves to the next
    # opening), so the clock can always be continued from an intermediate deadline.
    first = cal.add(start, a)
    assert cal.add(start, as_timedelta(a) + as_timedelta(b)) == cal.add(first, b)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_elapsed_is_additive(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)
    assert cal.elapsed(c, a) == 0


@PROPERTY
@given(calendars, instants)
def test_open_next_opening_and_day_end_agree(cal: BusinessCalendar, t: datetime) -> None:
    nxt = cal.next_opening(t)
    assert cal.is_open(t) == (nxt == t)
    assert cal.elapsed(t, nxt) == 0
    assert cal.is_open(nxt)
    end = cal.day_end(t)
    assert end > nxt
    assert cal.is_open(end - timedelta(microseconds=1))
    tz = ZoneInfo(cal.timezone)
    # The close lies on the local date of the opening (or is its 24:00).
    assert end.astimezone(tz).date() in {
        nxt.astimezone(tz).date(),
        nxt.astimezone(tz).date() + timedelta(days=1),
    }


@settings(max_examples=100, deadline=None)
@given(instants, st.integers(0, 400 * 86400))
def test_24h_table_equals_plain_arithmetic_across_dst(start: datetime, x: int) -> None:
    # Touching 00:00-24:00 intervals in a DST zone must tile time with no gaps or overlaps.
    cal = CAL_24H_NY
    assert cal.add(start, x) == start + timedelta(seconds=x)
    assert cal.elapsed(start, start + timedelta(seconds=x)) == x


CAL_24H_NY = BusinessCalendar(
    "America/New_York",
    {d: [("00:00", "24:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    ["1990-01-01"],  # disables the 24/7 shortcut so the table is what is tested
)


def test_from_policy_builds_the_named_calendars():
    from leadclock.calendar import from_policy
    from leadclock.policy import load_policy_text, load_preset

    business = from_policy(load_preset("b2b-saas"), "business")
    assert business.timezone == "Asia/Tokyo"
    assert business.business_day_seconds == 9 * 3600
    start = datetime(2026, 1, 9, 8, 55, tzinfo=UTC)  # Fri 17:55 JST; Mon 2026-01-12 is 成人の日
    assert business.add(start, 600) == datetime(2026, 1, 13, 0, 5, tzinfo=UTC)  # Tue 09:05 JST
    always = from_policy(load_preset("b2b-saas"), "always")
    assert always.add(start, 600) == start + timedelta(minutes=10)
    custom = load_policy_text("extends: smb\ncalendars:\n  business:\n    timezone: Europe/London\n    holidays: {countries: [GB]}\n")
    assert from_policy(custom, "business").timezone == "Europe/London"
    with pytest.raises(CalendarError, match="no calendar named 'night'"):
        from_policy(custom, "night")
