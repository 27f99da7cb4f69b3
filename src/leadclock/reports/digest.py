"""`leadclock report digest --kind daily|manager|weekly|alerts`: the F18 digests on demand.

The contents are exactly the scheduled ones (`reports/scheduled.py`): the same figures (its
`_Facts` / `_Builder`, one definition of what a digest says), the same ja/en templates for the
text, which becomes `report.lines`; the message's payload becomes the tables. Only the window is
chosen here, as of `request.now`:

- daily (end-of-day digest) and manager (manager daily digest): since the previous business day's
  run of that digest (yesterday 18:00 for an 18:00 digest) up to now, as the scheduled run at this
  instant would cover it; "at risk" = open clocks due before the next business day's close;
- weekly (Monday summary): the selected week (`--week`, default the last full week; a week in
  progress up to now) against the week before;
- alerts (exception alerts): today from local midnight up to now; an empty report when all is well.

`--from/--to` replace the window. Scope: `--rep` (that rep's own digest), `--team` (the team's
members, a manager's view), else the whole organisation. The digest's definition comes from the
policy's `reports:` entry of that kind when there is one (its label and time), else the default.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from leadclock.engine.state import Clock
from leadclock.notify.directory import Directory, people_of
from leadclock.policy.models import Report as PolicyReport
from leadclock.reports.data import utc
from leadclock.reports.output import Column, Kind, Report, ReportError, Table
from leadclock.reports.params import ReportRequest, parse_week
from leadclock.reports.scheduled import (
    ReportData,
    ReportRun,
    _Audience,
    _Builder,
    _common,
    _Facts,
    _Schedule,
    render_report,
)
from leadclock.store import Breach, LeadSummary, Store
from leadclock.store.models import BreachRow, ClockRow, LeadRow
from leadclock.store.repository import CLOCK_FIELDS

KINDS = {
    "daily": "end_of_day_digest",
    "manager": "manager_daily_digest",
    "weekly": "weekly_summary",
    "alerts": "exception_alerts",
}
_AUDIENCE = {"end_of_day_digest": ["rep"], "manager_daily_digest": ["manager"], "weekly_summary": ["rep", "manager"],
             "exception_alerts": ["manager"]}

_LABELS: dict[str, dict[str, str]] = {
    "summary": {"ja": "概要", "en": "Summary"}, "rows": {"ja": "明細", "en": "Rows"},
    "by_rep": {"ja": "担当者別", "en": "By rep"}, "by_stage": {"ja": "ステージ別", "en": "By stage"},
    "by_source": {"ja": "ソース別", "en": "By source"}, "breaches": {"ja": "違反", "en": "Breaches"},
    "at_risk": {"ja": "期限間近", "en": "At risk"}, "team": {"ja": "チーム", "en": "Team"},
    "total": {"ja": "合計", "en": "Total"},
    "nothing": {"ja": "この範囲で報告することはありません。", "en": "Nothing to report in this window."},
}


def _label(key: str, lang: str) -> str:
    found = _LABELS.get(key)
    return found[lang] if found else key


def _kind_of(name: str) -> Kind:
    if name in ("compliance", "target", "previous_compliance", "threshold"):
        return "percent"
    if name == "change":
        return "delta"
    if name.endswith("_seconds"):
        return "seconds"
    return "text"


def _table(key: str, rows: list[dict[str, Any]], lang: str) -> Table:
    names: list[str] = []
    for row in rows:
        names += [name for name in row if name not in names and not isinstance(row[name], dict | list)]
    kinds = {name: _kind_of(name) for name in names}
    for name in names:
        if kinds[name] == "text" and all(isinstance(r.get(name), int) and not isinstance(r.get(name), bool)
                                         for r in rows if r.get(name) is not None) and any(r.get(name) is not None for r in rows):
            kinds[name] = "int"
    return Table(key, _label(key, lang), [Column(name, name, kinds[name]) for name in names],
                 [{name: row.get(name) for name in names} for row in rows])


def payload_tables(payload: dict[str, Any], lang: str) -> list[Table]:
    """The message payload as tables: its scalars in one summary row, each list of rows and each
    nested record as a table of its own."""
    tables: list[Table] = []
    scalars = {k: v for k, v in payload.items() if not isinstance(v, dict | list)}
    if scalars:
        tables.append(_table("summary", [scalars], lang))
    for key, value in payload.items():
        if isinstance(value, dict):
            tables.append(_table(key, [value], lang))
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            tables.append(_table(key, value, lang))
    return tables


def snapshot(store: Store, lower: datetime, end: datetime, owners: list[str] | None = None) -> ReportData:
    """What the digest builder reads, limited to what a window from `lower` can involve: clocks
    due from `lower` on (a clock met or breached in a window is due in or after it; an open one
    at risk is due after it) or without a deadline, their leads, and the breaches up to `end`
    not reviewed before it; with `owners`, only theirs (every figure of a scoped digest is made
    of its reps' clocks). The scheduled job hands the whole store over; on a large store an
    on-demand digest must not."""
    clocks_table, leads_table, breaches_table = ClockRow.__table__, LeadRow.__table__, BreachRow.__table__
    c = clocks_table.c
    wanted = or_(c.due_at >= lower, c.due_at.is_(None))
    if owners is not None:
        wanted = and_(wanted, c.owner.in_(owners))
    columns = [c[name] for name in CLOCK_FIELDS]
    b = breaches_table.c
    with store._read() as connection:
        clocks = [Clock(**dict(zip(CLOCK_FIELDS, row, strict=True)))
                  for row in connection.execute(select(*columns).where(wanted))]
        leads = connection.execute(select(leads_table).where(
            leads_table.c.id.in_(select(c.lead).where(wanted).scalar_subquery()))).all()
        unreviewed = [b.at < end, or_(b.reviewed_at.is_(None), b.reviewed_at >= end)]
        if owners is not None:
            unreviewed.append(b.owner.in_(owners))
        breaches = connection.execute(select(breaches_table).where(*unreviewed)).all()
    summaries = [LeadSummary(**{f.name: getattr(row, f.name) for f in fields(LeadSummary)}) for row in leads]
    for summary in summaries:
        summary.owners = list(summary.owners or [])
        summary.attributes = summary.attributes or {}
    found = [Breach(lead=r.lead, stage=r.stage, seq=r.seq, at=r.at, owner=r.owner, category=r.category,
                    note=r.note, reviewed_by=r.reviewed_by, reviewed_at=r.reviewed_at) for r in breaches]
    return ReportData(summaries, clocks, found)


def _policy_report(request: ReportRequest, kind: str) -> tuple[str, PolicyReport]:
    for key, report in request.policy.reports.items():
        if report.kind == kind and report.enabled:
            return key, report
    return kind, PolicyReport(kind=kind, to=_AUDIENCE[kind])  # type: ignore[arg-type]


def build(request: ReportRequest) -> Report:
    lang, now = request.lang, utc(request.now)
    chosen = request.option("kind")
    if chosen not in KINDS:
        raise ReportError("kind", f"{chosen!r} is not a digest: give one of {', '.join(KINDS)}")
    kind = KINDS[chosen]
    key, definition = _policy_report(request, kind)
    schedule = _Schedule(request.policy)
    today = schedule.local_date(now)
    if kind == "weekly_summary":
        week = parse_week(request.option("week"), request.zone, request.today)
        # A week still in progress is the week so far: the scheduled run counts an open clock due
        # before its end as breached, which is only true once that deadline has passed.
        start, end, period = week.start, min(week.end, now), week.label
    elif kind == "exception_alerts":
        start, end, period = schedule.wall(today), now, today.isoformat()
    else:
        start = schedule.previous_daily_due(definition, today) or schedule.wall(today)
        end, period = now, today.isoformat()
    start, end = request.start or start, request.end or end
    if start >= end:
        raise ReportError("from", f"{start.isoformat()} is not before {end.isoformat()}")
    run = ReportRun(key, kind, period, now, start, end)

    store = request.store
    reps = store.reps()
    directory = Directory(people_of(reps), request.policy)
    if request.rep is not None:
        audience = _Audience(request.rep, frozenset({request.rep}), "rep")
    elif request.team is not None:
        members = frozenset(r.id for r in reps if r.team == request.team)
        if not members:
            raise ReportError("team", f"unknown team {request.team!r}")
        audience = _Audience(request.team, members, "team")
    else:
        audience = _Audience(request.policy.org.name, None, "org")
    # The window before this one is compared with it: the previous business day's (manager
    # digest), the week before (weekly summary).
    lower = start
    if kind == "weekly_summary":
        lower = schedule.wall(schedule.local_date(start) - timedelta(days=7))
    elif kind == "manager_daily_digest":
        lower = schedule.previous_daily_due(definition, schedule.local_date(start - timedelta(microseconds=1))) or start
    lower = min(lower, start)
    scope = None if audience.scope is None else sorted(audience.scope)
    facts = _Facts(snapshot(store, lower, end, scope), request.policy, directory)
    builder = _Builder(run, definition, facts, schedule)
    context = getattr(builder, kind)(audience, lang)
    report = Report(name="digest", title=kind, lang=lang,
                    params={"kind": chosen, "period": period, "from": start, "to": end, "as_of": now,
                            "rep": request.rep, "team": request.team})
    if context is None:
        report.notes.append(_LABELS["nothing"][lang])
        return report
    subject, text, _html = render_report(kind, lang, _common(run, definition, audience, lang, builder) | context.render)
    report.title = subject
    report.lines = text.rstrip("\n").splitlines()
    report.tables = payload_tables(context.payload, lang)
    report.data["payload"] = context.payload
    return report
