"""Scheduled reports (F18): when each digest is due, and the messages it sends.

Pure functions the worker calls; time is always an argument and the only I/O is loading the
Jinja2 templates (`notify/templates/{ja,en}/report_<kind>.j2`).

- `due_runs(policy, since, now)`: the runs due in (since, now], oldest first;
- `next_due_at(policy, after)`: when the worker should wake up for the next one;
- `build_messages(run, data, policy, directory)`: the outbox messages of one run, from a plain
  snapshot of the store (`ReportData`).

Schedule (the policy's `reports:`; times are wall-clock times in the zone of the "business"
calendar, which is the org's zone unless that calendar names its own):

- Only the kinds built here are scheduled (`KINDS`: end_of_day_digest, manager_daily_digest,
  weekly_summary, exception_alerts); other kinds (scorecards, monthly reviews, ...) and reports
  with `enabled: false` are left to their own jobs.
- Daily digests run at `at` on business days of the "business" calendar only: a weekend or a
  JP holiday gets no digest. Without `at` they run at that day's close of business. `day:`, when
  given, further limits them to that weekday.
- A daily digest covers the time since the previous business day's run (yesterday 18:00 →
  today 18:00; Friday 18:00 → Monday 18:00 over a weekend), so that nothing done in the evening,
  on a weekend or a holiday falls between two digests. The first business day of a long closure
  still looks back at most `LOOKBACK_DAYS`; with no earlier business day it covers the day from
  local midnight.
- The weekly summary runs on `day` (Monday when unset) at `at` (09:00 when unset) even when that
  day is a holiday (Japan moves many holidays to Mondays; the summary of a finished week is still
  worth reading the day it is ready, and the period it covers does not depend on holidays). It
  covers the last full ISO week, Monday 00:00 → Monday 00:00 local, and its `period` names that
  week: the run of Monday 2026-11-23 has period "2026-W47".
- Exception alerts are checked on business days only: at `at` when given, otherwise every whole
  hour after the day's opening up to and including its close (09:00-18:00 → 10:00 ... 18:00). Each
  check covers the day so far (local midnight → the check). All the checks of a day share the
  period (the date), hence the dedupe key: a recipient gets at most one exception alert per day and
  channel, the first time something is wrong, however many checks follow.
- Cap: `due_runs` never returns runs due more than `CAP` (7 days) before `now`: a worker down
  for a month sends one week of digests, not thirty.

Figures (each run is computed as of its `end`, so a worker that reads the store late reports the
same numbers):

- A clock is met in a window when it stopped met inside it; breached when its deadline passed
  inside it (a clock still open past its deadline counts as breached, as the engine will mark
  it). Compliance % = met / (met + breached); open clocks not yet due and cancelled clocks do
  not count. Windows are half-open [start, end).
- A rep's figures count the clocks that rep owned (an AE's late acceptance does not mark the SDR
  down); a lead is within SLA when none of its clocks is breached.
- Leads assigned = leads whose first-contact or cadence clock (both start at assignment) started
  in the window. First contacts = first-contact clocks stopped by a contact in the window
  (reassigned-away and cancelled ones left out); their median counted business time is shown.
- At risk (end-of-day digest) = clocks still open at the run whose deadline falls before the close
  of the next business day (001: 「明日SLA期限に近づいているすべてのリード」).
- Unreviewed breaches (manager digest) = breaches up to the run not yet reviewed (F24).

Recipients (`Report.to`): `rep` → every rep who owned a clock active in the period, with their own
figures only; `manager` → each person named as some roster person's `manager`, with the figures of
their direct reports (and only when their team has something to report); any other role → its
holders (`Directory.people_with`), org-wide. A person reached through several roles gets one
message scoped to the union. Locale: the person's, else the org's. Dedupe key:
``report|<report>|<period>|<recipient>|<channel>``.
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from leadclock.calendar import BusinessCalendar, CalendarError, from_policy
from leadclock.engine.state import Clock
from leadclock.notify.directory import Directory
from leadclock.notify.outbox import OutboxMessage
from leadclock.notify.templates import TEMPLATE_DIR, Locale, LocalTime, local_time, locale_of
from leadclock.policy import Policy
from leadclock.policy.i18n import KEY_LABELS, STAGES, format_minutes, number, pick
from leadclock.policy.models import Report
from leadclock.store.records import Breach, LeadSummary

__all__ = [
    "CAP",
    "KINDS",
    "LOOKBACK_DAYS",
    "ReportData",
    "ReportRun",
    "build_messages",
    "due_runs",
    "next_due_at",
]

DAILY_KINDS: tuple[str, ...] = ("end_of_day_digest", "manager_daily_digest")
WEEKLY_KINDS: tuple[str, ...] = ("weekly_summary",)
ALERT_KINDS: tuple[str, ...] = ("exception_alerts",)
KINDS: tuple[str, ...] = DAILY_KINDS + WEEKLY_KINDS + ALERT_KINDS
CAP = timedelta(days=7)
LOOKBACK_DAYS = 31  # how far back a daily digest looks for the previous business day
WEEKLY_DEFAULT_AT = "09:00"
SEARCH_DAYS = 400  # next_due_at gives up (None) after this many local days without a run
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ASSIGNED_STAGES = ("first_contact", "cadence")
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_DAY = timedelta(days=1)
_EPOCH = datetime.min.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True, slots=True)
class ReportRun:
    """One due run of one report: what it covers and when it is due (all instants UTC)."""

    report: str  # the policy's key, e.g. "end_of_day_digest"
    kind: str  # Report.kind
    period: str  # "2026-11-24" (daily kinds, exception alerts), "2026-W47" (the week covered)
    due_at: datetime  # the instant the run is due
    start: datetime  # start of the covered period (inclusive)
    end: datetime  # end of the covered period (exclusive); = due_at except for weekly kinds


@dataclass(frozen=True, slots=True)
class ReportData:
    """A plain snapshot the worker reads from the store (`Store.leads/clocks/breaches`)."""

    leads: Sequence[LeadSummary] = ()
    clocks: Sequence[Clock] = ()
    breaches: Sequence[Breach] = ()


# --------------------------------------------------------------------------- schedule


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _minutes(text: str) -> int:
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day written HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


_CALENDARS: dict[tuple[str, str, str], BusinessCalendar] = {}


def _calendar(policy: Policy, name: str) -> BusinessCalendar:
    """`from_policy`, memoised on the calendar's definition (its tables are built lazily)."""
    definition = policy.calendars.get(name)
    key = (name, policy.org.timezone, definition.model_dump_json() if definition else "")
    found = _CALENDARS.get(key)
    if found is None:
        found = from_policy(policy, name)
        if len(_CALENDARS) >= 64:
            _CALENDARS.clear()
        _CALENDARS[key] = found
    return found


class _Schedule:
    """The report schedule of one policy: local dates, business days and the runs of each date."""

    def __init__(self, policy: Policy) -> None:
        definition = policy.calendars.get("business")
        self.calendar: BusinessCalendar | None = None
        if definition is None:  # no business calendar: every day is a business day
            zone = policy.org.timezone
        else:
            zone = definition.timezone or policy.org.timezone
            if not definition.always:
                self.calendar = _calendar(policy, "business")
        self.tz = ZoneInfo(zone)
        self.reports: list[tuple[str, Report]] = [
            (key, report)
            for key, report in policy.reports.items()
            if report.enabled and report.kind in KINDS
        ]
        self._hours: dict[date, tuple[datetime, datetime] | None] = {}

    # ------------------------------------------------------------------ local time

    def wall(self, day: date, minutes: int = 0) -> datetime:
        """The UTC instant of local `day` + `minutes`; a time skipped by a forward clock change
        is the change itself (the first instant the wall clock reads that time or later)."""
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)
        utc = local.replace(tzinfo=self.tz).astimezone(UTC)
        if utc.astimezone(self.tz).replace(tzinfo=None) == local:
            return utc  # fold=0: the first of a repeated time
        hi = int(utc.timestamp())
        lo = int(local.replace(tzinfo=self.tz, fold=1).astimezone(UTC).timestamp())
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.tz).replace(tzinfo=None) >= local:
                hi = mid
            else:
                lo = mid
        return datetime.fromtimestamp(hi, UTC)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def hours(self, day: date) -> tuple[datetime, datetime] | None:
        """(first opening, last close) of a business day; None when the day is closed."""
        if day in self._hours:
            return self._hours[day]
        midnight, next_midnight = self.wall(day), self.wall(day + _DAY)
        found: tuple[datetime, datetime] | None
        if self.calendar is None:
            found = (midnight, next_midnight)
        else:
            opening = self.calendar.next_opening(midnight)
            found = None if opening >= next_midnight else (opening, self.calendar.day_end(opening))
        self._hours[day] = found
        return found

    def next_business_close(self, day: date) -> datetime | None:
        """Close of the first business day after `day`."""
        for offset in range(1, LOOKBACK_DAYS + 1):
            hours = self.hours(day + offset * _DAY)
            if hours is not None:
                return hours[1]
        return None

    # ------------------------------------------------------------------ runs

    @staticmethod
    def _on_day(report: Report, day: date) -> bool:
        return report.day is None or _WEEKDAYS[day.weekday()] == report.day

    def daily_due(self, report: Report, day: date) -> datetime | None:
        """When a daily report runs on `day`; None when it does not run that day."""
        if not self._on_day(report, day):
            return None
        hours = self.hours(day)
        if hours is None:
            return None
        return self.wall(day, _minutes(report.at)) if report.at else hours[1]

    def previous_daily_due(self, report: Report, day: date) -> datetime | None:
        """The run of a daily report on the last business day before `day`."""
        for offset in range(1, LOOKBACK_DAYS + 1):
            due = self.daily_due(report, day - offset * _DAY)
            if due is not None:
                return due
        return None

    def runs_on(self, day: date) -> Iterator[ReportRun]:
        """Every run scheduled on local date `day` (not sorted)."""
        for key, report in self.reports:
            kind = report.kind
            if kind in DAILY_KINDS:
                due = self.daily_due(report, day)
                if due is not None:
                    start = self.previous_daily_due(report, day) or self.wall(day)
                    yield ReportRun(key, kind, day.isoformat(), due, start, due)
            elif kind in WEEKLY_KINDS:
                if _WEEKDAYS[day.weekday()] != (report.day or "mon"):
                    continue
                due = self.wall(day, _minutes(report.at or WEEKLY_DEFAULT_AT))
                this_monday = day - day.weekday() * _DAY
                last_monday = this_monday - 7 * _DAY
                iso = last_monday.isocalendar()
                period = f"{iso.year}-W{iso.week:02d}"
                yield ReportRun(
                    key, kind, period, due, self.wall(last_monday), self.wall(this_monday)
                )
            elif kind in ALERT_KINDS:
                hours = self.hours(day) if self._on_day(report, day) else None
                if hours is None:
                    continue
                if report.at:
                    checks = [self.wall(day, _minutes(report.at))]
                else:
                    checks = sorted(
                        {
                            check
                            for hour in range(1, 25)
                            if hours[0] < (check := self.wall(day, hour * 60)) <= hours[1]
                        }
                    )
                midnight = self.wall(day)
                for check in checks:
                    yield ReportRun(key, kind, day.isoformat(), check, midnight, check)


def due_runs(policy: Policy, since: datetime, now: datetime) -> list[ReportRun]:
    """Every enabled scheduled run with since < due_at <= now (at most `CAP` back from now),
    sorted by due_at (then report key)."""
    since, now = _aware(since, "since"), _aware(now, "now")
    lower = max(since, now - CAP)
    if now <= lower:
        return []
    schedule = _Schedule(policy)
    if not schedule.reports:
        return []
    runs: list[ReportRun] = []
    day, last = schedule.local_date(lower) - _DAY, schedule.local_date(now)
    while day <= last:  # a run on date d lies in [d 00:00, d+1 00:00] local ("24:00" allowed)
        runs.extend(run for run in schedule.runs_on(day) if lower < run.due_at <= now)
        day += _DAY
    runs.sort(key=lambda run: (run.due_at, run.report))
    return runs


def next_due_at(policy: Policy, after: datetime) -> datetime | None:
    """The first due_at strictly after `after`; None when nothing is scheduled (within
    `SEARCH_DAYS` local days)."""
    after = _aware(after, "after")
    schedule = _Schedule(policy)
    if not schedule.reports:
        return None
    day = schedule.local_date(after) - _DAY
    for _ in range(SEARCH_DAYS):
        # Runs of a date all come before those of any later date, so the first date with a run
        # after `after` holds the answer.
        found = [run.due_at for run in schedule.runs_on(day) if run.due_at > after]
        if found:
            return min(found)
        day += _DAY
    return None


# --------------------------------------------------------------------------- figures


def _breach_instant(clock: Clock) -> datetime | None:
    """When a clock is (or will be, if still open) breached: its deadline."""
    if clock.outcome == "breached":
        return clock.breached_at or clock.due_at
    if clock.outcome == "open":
        return clock.due_at
    return None


def _within(instant: datetime | None, start: datetime, end: datetime) -> bool:
    return instant is not None and start <= instant < end


def _met_in(clock: Clock, start: datetime, end: datetime) -> bool:
    return clock.outcome == "met" and _within(clock.stopped_at, start, end)


def _breached_in(clock: Clock, start: datetime, end: datetime) -> bool:
    return _within(_breach_instant(clock), start, end)


def _open_at(clock: Clock, at: datetime) -> bool:
    """Running at `at` (started before it, not stopped before it) and not yet past its deadline."""
    if clock.started_at >= at or (clock.stopped_at is not None and clock.stopped_at < at):
        return False
    breach = _breach_instant(clock)
    return breach is None or breach >= at


@dataclass(slots=True)
class _Tally:
    met: int = 0
    breached: int = 0

    @property
    def compliance(self) -> float | None:
        total = self.met + self.breached
        return round(100.0 * self.met / total, 1) if total else None

    def as_dict(self) -> dict[str, Any]:
        return {"met": self.met, "breached": self.breached, "compliance": self.compliance}


def _tally(clocks: Iterable[Clock], start: datetime, end: datetime) -> _Tally:
    tally = _Tally()
    for clock in clocks:
        if _met_in(clock, start, end):
            tally.met += 1
        elif _breached_in(clock, start, end):
            tally.breached += 1
    return tally


def _change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None:
        return None
    return round(current - previous, 1)


Scope = frozenset[str] | None  # rep ids; None = the whole org


@dataclass(slots=True)
class _Audience:
    person: str
    scope: Scope
    view: str  # "rep", "team" or "org"


_VIEW_RANK = {"rep": 0, "team": 1, "org": 2}


class _Facts:
    """Indexes over one snapshot, and the figures every kind is made of."""

    def __init__(self, data: ReportData, policy: Policy, directory: Directory) -> None:
        self.policy = policy
        self.directory = directory
        self.leads: dict[str, LeadSummary] = {lead.id: lead for lead in data.leads}
        self.clocks: list[Clock] = list(data.clocks)
        self.breaches: list[Breach] = list(data.breaches)

    def owned(self, scope: Scope) -> list[Clock]:
        if scope is None:
            return self.clocks
        return [clock for clock in self.clocks if clock.owner in scope]

    def source_of(self, clock: Clock) -> str:
        lead = self.leads.get(clock.lead)
        return lead.source if lead is not None else ""

    def active(self, start: datetime, end: datetime, horizon: datetime | None = None) -> set[str]:
        """Reps with something in [start, end): a clock started, met or breached, a breach
        recorded; with `horizon`, also a clock open at `end` and due before `horizon`."""
        found: set[str] = set()
        for clock in self.clocks:
            if clock.owner is None:
                continue
            if (
                _within(clock.started_at, start, end)
                or _met_in(clock, start, end)
                or _breached_in(clock, start, end)
                or (horizon is not None and self.at_risk(clock, end, horizon))
            ):
                found.add(clock.owner)
        for breach in self.breaches:
            if breach.owner and _within(breach.at, start, end):
                found.add(breach.owner)
        return found

    @staticmethod
    def at_risk(clock: Clock, end: datetime, horizon: datetime) -> bool:
        return _open_at(clock, end) and clock.due_at is not None and clock.due_at < horizon

    def assigned(self, clocks: Iterable[Clock], start: datetime, end: datetime) -> set[str]:
        return {
            clock.lead
            for clock in clocks
            if clock.stage in _ASSIGNED_STAGES and _within(clock.started_at, start, end)
        }

    def first_contacts(self, clocks: Iterable[Clock], start: datetime, end: datetime) -> list[Clock]:
        """First-contact clocks stopped by the contact itself inside the window."""
        found = []
        for clock in clocks:
            if clock.stage != "first_contact" or clock.outcome not in ("met", "breached"):
                continue
            if not _within(clock.stopped_at, start, end):
                continue
            lead = self.leads.get(clock.lead)
            if lead is not None and lead.first_contact_at != clock.stopped_at:
                continue  # stopped by a reassignment or a decision, not by a contact
            found.append(clock)
        return found

    def unreviewed(self, scope: Scope, end: datetime) -> list[Breach]:
        return [
            breach
            for breach in self.breaches
            if breach.at < end
            and (breach.reviewed_at is None or breach.reviewed_at >= end)
            and (scope is None or breach.owner in scope)
        ]

    def late_seconds(self, clock: Clock, end: datetime) -> float:
        """Counted time from the deadline to the stop (or to `end`), in the clock's calendar."""
        assert clock.due_at is not None
        until = min(clock.stopped_at or end, end)
        if until <= clock.due_at:
            return 0.0
        try:
            return float(_calendar(self.policy, clock.calendar).elapsed(clock.due_at, until))
        except CalendarError:
            return (until - clock.due_at).total_seconds()

    # ------------------------------------------------------------------ audiences

    def managers(self) -> dict[str, frozenset[str]]:
        teams: dict[str, set[str]] = {}
        for person in self.directory.people.values():
            if person.manager:
                teams.setdefault(person.manager, set()).add(person.id)
        return {manager: frozenset(team) for manager, team in sorted(teams.items())}

    def audiences(self, report: Report, reps: Iterable[str]) -> list[_Audience]:
        """Who gets this report and with which scope (merged per person, in `to` order)."""
        found: dict[str, _Audience] = {}

        def add(person: str, scope: Scope, view: str) -> None:
            known = found.get(person)
            if known is None:
                found[person] = _Audience(person, scope, view)
                return
            known.scope = None if known.scope is None or scope is None else known.scope | scope
            if _VIEW_RANK[view] > _VIEW_RANK[known.view]:
                known.view = view

        for role in report.to:
            if role == "rep":
                for rep in sorted(reps):
                    add(rep, frozenset({rep}), "rep")
            elif role == "manager":
                for manager, team in self.managers().items():
                    add(manager, team, "team")
            else:
                for person in self.directory.people_with(role):
                    add(person, None, "org")
        return list(found.values())

    def name(self, person: str | None) -> str:
        if not person:
            return ""
        known = self.directory.people.get(person)
        return known.name if known is not None and known.name else person


# --------------------------------------------------------------------------- rendering


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


_TEXT_ENV = _environment(autoescape=False)
_HTML_ENV = _environment(autoescape=True)
_BLANK_LINES = re.compile(r"\n{3,}")


@functools.cache
def _templates(locale: Locale, kind: str) -> tuple[Template, Template]:
    name = f"{locale}/report_{kind}.j2"
    return _TEXT_ENV.get_template(name), _HTML_ENV.get_template(name)


def render_report(kind: str, locale: Locale, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a report; the HTML is autoescaped whatever the data holds."""
    text_template, html_template = _templates(locale, kind)
    subject = " ".join(text_template.render(context, part="subject").split())
    text = _BLANK_LINES.sub("\n\n", text_template.render(context, part="text").strip()) + "\n"
    html = html_template.render(context, part="html").strip() + "\n"
    return subject, text, html


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{number(value)}%"


def _points(value: float | None) -> str:
    if value is None:
        return ""
    return "±0pt" if value == 0 else f"{value:+g}pt"


def _business_time(seconds: float | None, locale: Locale) -> str:
    if seconds is None:
        return "—"
    return format_minutes(round(seconds) / 60, locale)


@dataclass(slots=True)
class _Context:
    """What one message of one kind says, before localisation: rows and lists of plain values."""

    payload: dict[str, Any]
    render: dict[str, Any] = field(default_factory=dict)


class _Builder:
    def __init__(
        self, run: ReportRun, report: Report, facts: _Facts, schedule: _Schedule
    ) -> None:
        self.run = run
        self.report = report
        self.facts = facts
        self.policy = facts.policy
        self.schedule = schedule
        self.tz = schedule.tz.key

    # ------------------------------------------------------------------ shared pieces

    def stage_label(self, stage: str, locale: Locale) -> str:
        return pick(STAGES, stage, locale)

    def source_label(self, source: str, locale: Locale) -> str:
        known = self.policy.sources.get(source)
        if known is not None:
            return known.label.get(locale)
        return pick(KEY_LABELS, source, locale) if source else "—"

    def when(self, instant: datetime, locale: Locale) -> LocalTime:
        return local_time(instant, self.tz, locale)

    def clock_items(
        self, clocks: Iterable[Clock], *, breached: bool, locale: Locale
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(payload items, display items) for a list of breached or at-risk clocks."""
        end = self.run.end
        payload: list[dict[str, Any]] = []
        shown: list[dict[str, Any]] = []
        for clock in clocks:
            assert clock.due_at is not None
            item: dict[str, Any] = {
                "lead": clock.lead,
                "stage": clock.stage,
                "seq": clock.seq,
                "owner": clock.owner,
                "source": self.facts.source_of(clock),
                "due_at": clock.due_at.astimezone(UTC).isoformat(),
            }
            late = self.facts.late_seconds(clock, end) if breached else None
            if breached:
                item["late_seconds"] = late
            payload.append(item)
            shown.append(
                {
                    "lead": clock.lead,
                    "stage": self.stage_label(clock.stage, locale),
                    "owner": self.facts.name(clock.owner),
                    "source": self.source_label(item["source"], locale),
                    "due": self.when(clock.due_at, locale),
                    "late": _business_time(late, locale) if breached else "",
                }
            )
        return payload, shown

    def breached_clocks(self, clocks: Iterable[Clock], start: datetime, end: datetime) -> list[Clock]:
        found = [clock for clock in clocks if _breached_in(clock, start, end)]
        found.sort(key=lambda c: (_breach_instant(c) or end, c.lead, c.stage, c.seq))
        return found

    def risky_clocks(self, clocks: Iterable[Clock], horizon: datetime | None) -> list[Clock]:
        if horizon is None:
            return []
        found = [clock for clock in clocks if self.facts.at_risk(clock, self.run.end, horizon)]
        found.sort(key=lambda c: (c.due_at, c.lead, c.stage, c.seq))
        return found

    def horizon(self) -> datetime | None:
        return self.schedule.next_business_close(self.schedule.local_date(self.run.due_at))

    def target_for(self, view: str) -> float:
        return self.policy.compliance.individual if view == "rep" else self.policy.compliance.team

    def rep_row(
        self, rep: str, start: datetime, end: datetime, horizon: datetime | None
    ) -> dict[str, Any]:
        clocks = self.facts.owned(frozenset({rep}))
        tally = _tally(clocks, start, end)
        leads = self.facts.assigned(clocks, start, end)
        breached_leads = {c.lead for c in clocks if _breached_in(c, _EPOCH, end)}
        return {
            "rep": rep,
            "leads": len(leads),
            "leads_within_sla": len(leads - breached_leads),
            **tally.as_dict(),
            "unreviewed": len(self.facts.unreviewed(frozenset({rep}), end)),
            "at_risk": len(self.risky_clocks(clocks, horizon)),
        }

    # ------------------------------------------------------------------ kinds

    def end_of_day_digest(self, audience: _Audience, locale: Locale) -> _Context | None:
        run, facts = self.run, self.facts
        clocks = facts.owned(audience.scope)
        horizon = self.horizon()
        tally = _tally(clocks, run.start, run.end)
        assigned = facts.assigned(clocks, run.start, run.end)
        contacts = facts.first_contacts(clocks, run.start, run.end)
        seconds = [c.business_seconds for c in contacts if c.business_seconds is not None]
        median = round(statistics.median(seconds), 1) if seconds else None
        breached = self.breached_clocks(clocks, run.start, run.end)
        risky = self.risky_clocks(clocks, horizon)
        if not (assigned or contacts or breached or risky or tally.met):
            return None
        target = self.target_for(audience.view)
        breach_payload, breach_shown = self.clock_items(breached, breached=True, locale=locale)
        risk_payload, risk_shown = self.clock_items(risky, breached=False, locale=locale)
        payload = {
            "assigned": len(assigned),
            "first_contacts": len(contacts),
            "median_first_contact_seconds": median,
            **tally.as_dict(),
            "target": target,
            "at_risk_until": horizon.isoformat() if horizon else None,
            "rows": [
                {"section": "breached", **item} for item in breach_payload
            ] + [{"section": "at_risk", **item} for item in risk_payload],
        }
        shown = {
            "assigned": len(assigned),
            "contacts": len(contacts),
            "median": _business_time(median, locale),
            "met": tally.met,
            "breached_count": tally.breached,
            "compliance": _percent(tally.compliance),
            "target": _percent(target),
            "below_target": tally.compliance is not None and tally.compliance < target,
            "breaches": breach_shown,
            "at_risk": risk_shown,
            "horizon": self.when(horizon, locale) if horizon else None,
        }
        return _Context(payload, shown)

    def manager_daily_digest(self, audience: _Audience, locale: Locale) -> _Context | None:
        run, facts = self.run, self.facts
        clocks = facts.owned(audience.scope)
        horizon = self.horizon()
        reps = facts.active(run.start, run.end, horizon) | {
            b.owner for b in facts.unreviewed(audience.scope, run.end) if b.owner
        }
        if audience.scope is not None:
            reps &= audience.scope
        if not reps:
            return None
        rows = [self.rep_row(rep, run.start, run.end, horizon) for rep in reps]
        rows.sort(
            key=lambda r: (
                r["compliance"] is None,
                r["compliance"] if r["compliance"] is not None else 0.0,
                -r["breached"],
                -r["unreviewed"],
                r["rep"],
            )
        )
        team = _tally(clocks, run.start, run.end)
        previous_compliance = None
        previous_start = self.schedule.previous_daily_due(
            self.report, self.schedule.local_date(run.start - timedelta(microseconds=1))
        )
        if previous_start is not None and previous_start < run.start:
            previous_compliance = _tally(clocks, previous_start, run.start).compliance
        target = self.policy.compliance.team
        breached = self.breached_clocks(clocks, run.start, run.end)
        risky = self.risky_clocks(clocks, horizon)
        breach_payload, breach_shown = self.clock_items(breached, breached=True, locale=locale)
        risk_payload, risk_shown = self.clock_items(risky, breached=False, locale=locale)
        payload = {
            "rows": rows,
            "team": {
                **team.as_dict(),
                "target": target,
                "previous_compliance": previous_compliance,
                "change": _change(team.compliance, previous_compliance),
            },
            "breaches": breach_payload,
            "at_risk": risk_payload,
        }
        individual = self.policy.compliance.individual
        shown = {
            "rows": [
                {
                    "name": facts.name(r["rep"]),
                    "leads": r["leads"],
                    "met": r["met"],
                    "breached": r["breached"],
                    "compliance": _percent(r["compliance"]),
                    "below": r["compliance"] is not None and r["compliance"] < individual,
                    "unreviewed": r["unreviewed"],
                    "at_risk": r["at_risk"],
                }
                for r in rows
            ],
            "team_compliance": _percent(team.compliance),
            "team_met": team.met,
            "team_breached": team.breached,
            "target": _percent(target),
            "below_target": team.compliance is not None and team.compliance < target,
            "previous": _percent(previous_compliance) if previous_compliance is not None else "",
            "change": _points(_change(team.compliance, previous_compliance)),
            "breaches": breach_shown,
            "at_risk": risk_shown,
        }
        return _Context(payload, shown)

    def weekly_summary(self, audience: _Audience, locale: Locale) -> _Context | None:
        run, facts, policy = self.run, self.facts, self.policy
        clocks = facts.owned(audience.scope)
        start, end = run.start, run.end
        previous = self.schedule.wall(self.schedule.local_date(start) - 7 * _DAY)
        reps = facts.active(start, end)
        if audience.scope is not None:
            reps &= audience.scope
        total_now = _tally(clocks, start, end)
        if not reps and not total_now.met + total_now.breached:
            return None

        def row(key: str, selected: list[Clock], target: float) -> dict[str, Any]:
            current = _tally(selected, start, end)
            before = _tally(selected, previous, start)
            return {
                "key": key,
                **current.as_dict(),
                "target": target,
                "previous_compliance": before.compliance,
                "change": _change(current.compliance, before.compliance),
            }

        individual, team_target = policy.compliance.individual, policy.compliance.team
        by_rep = [
            row(rep, [c for c in clocks if c.owner == rep], individual) for rep in sorted(reps)
        ]
        by_rep.sort(
            key=lambda r: (
                r["compliance"] is None,
                r["compliance"] if r["compliance"] is not None else 0.0,
                r["key"],
            )
        )
        stages = [s for s in STAGES if any(c.stage == s for c in clocks)]
        stages += sorted({c.stage for c in clocks} - set(stages))
        by_stage = [row(s, [c for c in clocks if c.stage == s], team_target) for s in stages]
        sources = sorted({facts.source_of(c) for c in clocks})

        def source_target(source: str) -> float:
            found = policy.compliance.sources.get(source)
            if found is not None:
                return found
            return policy.compliance.default_source or team_target

        by_source = [
            row(s, [c for c in clocks if facts.source_of(c) == s], source_target(s))
            for s in sources
        ]
        # Rows with nothing counted this week nor the week before say nothing.
        by_stage = [r for r in by_stage if r["met"] + r["breached"] or r["previous_compliance"] is not None]
        by_source = [r for r in by_source if r["met"] + r["breached"] or r["previous_compliance"] is not None]
        total = row("total", clocks, self.target_for(audience.view))
        payload = {
            "total": total,
            "by_rep": by_rep,
            "by_stage": by_stage,
            "by_source": by_source,
            "rows": [{"group": "rep", **r} for r in by_rep]
            + [{"group": "stage", **r} for r in by_stage]
            + [{"group": "source", **r} for r in by_source],
        }

        def shown_row(r: dict[str, Any], label: str) -> dict[str, Any]:
            return {
                "label": label,
                "met": r["met"],
                "breached": r["breached"],
                "compliance": _percent(r["compliance"]),
                "target": _percent(r["target"]),
                "below": r["compliance"] is not None and r["compliance"] < r["target"],
                "change": _points(r["change"]),
            }

        shown = {
            "total": shown_row(total, ""),
            # A rep's own summary has one rep: the total already says it.
            "by_rep": []
            if audience.view == "rep"
            else [shown_row(r, facts.name(r["key"])) for r in by_rep],
            "by_stage": [shown_row(r, self.stage_label(r["key"], locale)) for r in by_stage],
            "by_source": [shown_row(r, self.source_label(r["key"], locale)) for r in by_source],
            "week_start": self.when(start, locale),
            "week_last": self.when(end - timedelta(microseconds=1), locale),
        }
        return _Context(payload, shown)

    def exception_alerts(self, audience: _Audience, locale: Locale) -> _Context | None:
        run, facts, policy = self.run, self.facts, self.policy
        clocks = facts.owned(audience.scope)
        reps = facts.active(run.start, run.end)
        if audience.scope is not None:
            reps &= audience.scope
        rep_limit, team_limit = policy.compliance.rep_alert_below, policy.compliance.team_alert_below
        problems = []
        for rep in sorted(reps):
            tally = _tally([c for c in clocks if c.owner == rep], run.start, run.end)
            if tally.compliance is not None and tally.compliance < rep_limit:
                problems.append({"rep": rep, **tally.as_dict(), "threshold": rep_limit})
        problems.sort(key=lambda p: (p["compliance"], -p["breached"], p["rep"]))
        team_problem = None
        if audience.view != "rep":
            team = _tally(clocks, run.start, run.end)
            if team.compliance is not None and team.compliance < team_limit:
                team_problem = {**team.as_dict(), "threshold": team_limit}
        if not problems and team_problem is None:
            return None
        payload = {
            "rows": problems,
            "team": team_problem,
        }
        shown = {
            "problems": [
                {
                    "name": facts.name(p["rep"]),
                    "met": p["met"],
                    "breached": p["breached"],
                    "compliance": _percent(p["compliance"]),
                }
                for p in problems
            ],
            "rep_threshold": _percent(rep_limit),
            "team": None
            if team_problem is None
            else {
                "met": team_problem["met"],
                "breached": team_problem["breached"],
                "compliance": _percent(team_problem["compliance"]),
            },
            "team_threshold": _percent(team_limit),
        }
        return _Context(payload, shown)


def build_messages(
    run: ReportRun, data: ReportData, policy: Policy, directory: Directory
) -> list[OutboxMessage]:
    """The outbox messages of one run: one per recipient and channel, in the recipient's locale.

    Nothing is built for a report the policy no longer has, for a kind this module does not know,
    or for an audience with nothing to report (exception alerts: nothing wrong).
    """
    report = policy.reports.get(run.report)
    if report is None or run.kind not in KINDS or report.kind != run.kind:
        return []
    schedule = _Schedule(policy)
    facts = _Facts(data, policy, directory)
    builder = _Builder(run, report, facts, schedule)
    # Daily digests also reach reps whose only news is a deadline coming up.
    horizon = builder.horizon() if run.kind in DAILY_KINDS else None
    reps = facts.active(run.start, run.end, horizon)
    make = getattr(builder, run.kind)
    messages: dict[str, OutboxMessage] = {}
    for audience in facts.audiences(report, reps):
        addresses = directory.addresses(audience.person)
        contexts: dict[Locale, _Context | None] = {}
        for recipient, channel, wanted in addresses:
            if channel not in policy.channels:
                continue
            key = f"report|{run.report}|{run.period}|{recipient}|{channel}"
            if key in messages:
                continue
            locale = locale_of(wanted, policy)
            if locale not in contexts:
                contexts[locale] = make(audience, locale)
            context = contexts[locale]
            if context is None:
                break  # nothing to report to this person
            subject, text, html = render_report(
                run.kind, locale, _common(run, report, audience, locale, builder) | context.render
            )
            payload = {
                "type": "report",
                "report": run.report,
                "kind": run.kind,
                "period": run.period,
                "start": run.start.astimezone(UTC).isoformat(),
                "end": run.end.astimezone(UTC).isoformat(),
                "view": audience.view,
                "person": audience.person,
                "scope": None if audience.scope is None else sorted(audience.scope),
                **context.payload,
            }
            messages[key] = OutboxMessage(
                dedupe_key=key,
                channel=channel,
                channel_type=policy.channels[channel].type,
                recipient=recipient,
                locale=locale,
                subject=subject,
                body_text=text,
                body_html=html,
                payload=payload,
            )
    return list(messages.values())


def _common(
    run: ReportRun, report: Report, audience: _Audience, locale: Locale, builder: _Builder
) -> dict[str, Any]:
    day = builder.schedule.local_date(run.due_at)
    return {
        "locale": locale,
        "org": builder.policy.org.name,
        "label": report.label.get(locale) if report.label is not None else "",
        "view": audience.view,
        "person": builder.facts.name(audience.person),
        "period": run.period,
        "day": builder.when(builder.schedule.wall(day), locale).date,
        "start": builder.when(run.start, locale),
        "end": builder.when(run.end, locale),
    }
