"""What a report is asked for: the period, the scope (team, rep, source) and the language.

Periods are local to the policy's time zone (a "week" in Tokyo starts Monday 00:00 JST), parsed
from what people type: `2026-W28` or any date in the week, `2026-07`, `2026Q3` / `2026-Q3`.
Every bad value raises `ReportError` naming the parameter, so the CLI exits 2 and the API answers
422 with the field. `now` is an argument: nothing here reads the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadclock.policy import Policy
from leadclock.reports.output import Lang, ReportError
from leadclock.store import Store


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with the local label people read ("2026-W28", "2026-07", "2026Q3")."""

    start: datetime
    end: datetime
    label: str

    def previous(self, zone: ZoneInfo) -> Period:
        """The period of the same kind just before this one (last week, last month, last quarter)."""
        kind = period_kind(self.label)
        local_start = self.start.astimezone(zone).date()
        if kind == "week":
            return week_period(local_start - timedelta(days=7), zone)
        if kind == "month":
            return month_period(_add_months(local_start, -1), zone)
        if kind == "quarter":
            return quarter_period(_add_months(local_start, -3), zone)
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}")


@dataclass(frozen=True)
class ReportRequest:
    store: Store
    policy: Policy
    now: datetime  # aware; the instant the report describes ("today" is its local date)
    lang: Lang = "ja"
    start: datetime | None = None  # --from / --to, aware
    end: datetime | None = None
    team: str | None = None
    rep: str | None = None
    source: str | None = None
    # Report-specific values as typed (week, month, quarter, kind, spend, target, ...).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return local_zone(self.policy)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value is None else value


def local_zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.org.timezone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_period(day: date, zone: ZoneInfo) -> Period:
    return Period(local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone), day.isoformat())


def week_period(day: date, zone: ZoneInfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period(local_midnight(monday, zone), local_midnight(monday + timedelta(days=7), zone), f"{year}-W{week:02d}")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(day: date, zone: ZoneInfo) -> Period:
    first = day.replace(day=1)
    return Period(local_midnight(first, zone), local_midnight(_add_months(first, 1), zone), f"{first:%Y-%m}")


def quarter_period(day: date, zone: ZoneInfo) -> Period:
    first = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return Period(local_midnight(first, zone), local_midnight(_add_months(first, 3), zone),
                  f"{first.year}Q{(first.month - 1) // 3 + 1}")


def period_kind(label: str) -> str:
    if re.fullmatch(r"\d{4}-W\d{2}", label):
        return "week"
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return "month"
    if re.fullmatch(r"\d{4}Q[1-4]", label):
        return "quarter"
    return "range"


def _parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse_week(text: str | None, zone: ZoneInfo, today: date, name: str = "week") -> Period:
    """`2026-W28`, a date in the week, `this` / `last`; missing means last full week (Monday's
    scorecard describes the week that just ended)."""
    if text is None or text == "last":
        return week_period(today - timedelta(days=7), zone)
    if text == "this":
        return week_period(today, zone)
    found = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), flags=re.IGNORECASE)
    if found:
        year, week = int(found.group(1)), int(found.group(2))
        try:
            return week_period(date.fromisocalendar(year, week, 1), zone)
        except ValueError:
            raise ReportError(name, f"{text!r}: {year} has no ISO week {week}") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return week_period(_parse_date(text.strip(), name), zone)
    raise ReportError(name, f"{text!r} is not a week: give 2026-W28, a date in the week, 'this' or 'last'")


def parse_month(text: str | None, zone: ZoneInfo, today: date, name: str = "month") -> Period:
    """`2026-07`, `this` / `last`; missing means last full month."""
    if text is None or text == "last":
        return month_period(_add_months(today.replace(day=1), -1), zone)
    if text == "this":
        return month_period(today, zone)
    found = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if found and 1 <= int(found.group(2)) <= 12 and int(found.group(1)) >= 1:
        return month_period(date(int(found.group(1)), int(found.group(2)), 1), zone)
    raise ReportError(name, f"{text!r} is not a month: give 2026-07, 'this' or 'last'")


def parse_quarter(text: str | None, zone: ZoneInfo, today: date, name: str = "quarter") -> Period:
    """`2026Q3`, `2026-Q3`, `this` / `last`; missing means last full quarter."""
    if text is None or text == "last":
        return quarter_period(_add_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), -3), zone)
    if text == "this":
        return quarter_period(today, zone)
    found = re.fullmatch(r"(\d{4})-?Q([1-4])", text.strip(), flags=re.IGNORECASE)
    if found and int(found.group(1)) >= 1:
        return quarter_period(date(int(found.group(1)), (int(found.group(2)) - 1) * 3 + 1, 1), zone)
    raise ReportError(name, f"{text!r} is not a quarter: give 2026Q3, 'this' or 'last'")


def parse_instant(text: str | None, zone: ZoneInfo, name: str, *, end: bool = False) -> datetime | None:
    """`--from` / `--to`: a local date (the whole day: `--to 2026-07-12` includes the 12th) or an
    ISO 8601 instant with an offset."""
    if text is None:
        return None
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = _parse_date(text, name)
        return local_midnight(day + timedelta(days=1) if end else day, zone)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(name, f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise ReportError(name, f"{text!r} has no UTC offset (add +09:00 or Z)")
    return value.astimezone(UTC)


def range_period(request: ReportRequest, default_days: int) -> Period:
    """`--from/--to` when given, else the `default_days` local days ending today (inclusive)."""
    zone = request.zone
    end = request.end or local_midnight(request.today + timedelta(days=1), zone)
    start = request.start or local_midnight(request.today - timedelta(days=default_days - 1), zone)
    if start >= end:
        raise ReportError("from", f"{start.isoformat()} is not before --to {end.isoformat()}")
    label = f"{start.astimezone(zone).date()}..{(end - timedelta(microseconds=1)).astimezone(zone).date()}"
    return Period(start, end, label)


def check_scope(request: ReportRequest) -> None:
    """Unknown rep, team or source is an error naming it (a typo must not print an empty report)."""
    from leadclock.reports.data import known_scope

    reps, teams, sources = known_scope(request.store)
    for name, value, known in (("rep", request.rep, reps), ("team", request.team, teams),
                               ("source", request.source, sources)):
        if value is not None and value not in known:
            shown = ", ".join(sorted(known)[:20]) or "none"
            raise ReportError(name, f"unknown {name} {value!r}; known: {shown}")
