"""F24 root causes: why were SLAs breached last month? (001 「違反の根本原因分析」)

`leadclock report root-causes --month 2026-07`

Every breach of the month (its `breaches.at`, the first instant after the deadline) gets one of
001's five categories. A manager's confirmed category (`POST /breaches/{lead}/{stage}/{seq}/review`)
wins; otherwise the automatic suggestion is used and marked "suggested"; a breach the data says
nothing about is "unclassified". Shares are of all the month's breaches (they sum to 100%), and
the top three categories (unclassified aside) come with 001's fix for each.

Automatic suggestions (`suggest`, pure; `suggest_for` gathers the facts from the store), the
first rule that applies wins:

1. an assignment-stage breach, or a clock with no owner (the lead was routed to nobody)
   → system_failure: routing did not deliver the lead to a rep;
2. a notification about the lead's warning, breach or escalation on that stage failed or went
   dead in the outbox → system_failure. A notification that never reached the rep is a system
   problem (the tool failed, not the rep), so "missed_notification" is kept for rule 6;
3. the owner was `away` / `offline` (latest rep.availability event, looked for up to 14 days
   before the clock started) at the clock's start or at its deadline → rep_unavailable;
4. the owner was off shift at the deadline: their working-hours calendar (routing.reps.<id>.hours,
   default "business") closed, or a day of their time off → rep_unavailable. Only the deadline
   counts: a clock that starts after hours waits for the next opening anyway;
5. the lead is in the policy's lowest tier (the last tier listed, "cold" in the presets)
   → deprioritised_low_quality;
6. a warning about the clock was delivered (outbox `sent`) before the deadline and the rep still
   missed it → missed_notification ("forgot / missed the notification": a tool or process issue).

"chose_not_to_comply" is never suggested: behaviour is a manager's call, not the data's.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import and_, or_, select

from leadclock.calendar import BusinessCalendar, CalendarError, from_policy
from leadclock.policy import Policy
from leadclock.policy.routing_models import time_off_days
from leadclock.reports.cohort import pct, scope_reps
from leadclock.reports.data import INSTANT, frame
from leadclock.reports.output import Column, Lang, Report, Table
from leadclock.reports.params import ReportRequest, parse_month
from leadclock.store import Store
from leadclock.store.models import BreachRow, ClockRow, EventRow, LeadRow
from leadclock.store.outbox_models import Outbox
from leadclock.store.records import Breach

CATEGORIES = ("rep_unavailable", "missed_notification", "deprioritised_low_quality", "system_failure",
              "chose_not_to_comply")
UNCLASSIFIED = "unclassified"

LABELS: dict[str, dict[str, str]] = {
    "rep_unavailable": {"ja": "担当者がオフライン/利用不可", "en": "Rep offline / unavailable"},
    "missed_notification": {"ja": "担当者が忘れた/通知を見逃した", "en": "Rep forgot / missed the notification"},
    "deprioritised_low_quality": {"ja": "低品質リードのため優先度を下げた", "en": "Low-quality lead deprioritised"},
    "system_failure": {"ja": "システム障害（ルーティング・通知）", "en": "System failure (routing, notification)"},
    "chose_not_to_comply": {"ja": "担当者がコンプライアンスしないことを選んだ", "en": "Rep chose not to comply"},
    UNCLASSIFIED: {"ja": "未分類", "en": "Unclassified"},
}
# 001's diagnosis for each category (容量/スケジュール, ツール/プロセス, 品質, システム, 行動).
FIXES: dict[str, dict[str, str]] = {
    "rep_unavailable": {"ja": "容量/スケジュールの問題: リード対応の時間を担当者のカレンダーで確保し、シフトと容量を見直す",
                        "en": "capacity / schedule: block reps' calendars for lead response, review shifts and capacity"},
    "missed_notification": {"ja": "ツール/プロセスの問題: 通知の経路と手順を見直す",
                            "en": "tool / process: review how and where reps are notified"},
    "deprioritised_low_quality": {"ja": "品質の問題: 上流でのフィルタリングを改善するか、別のSLAティアにする",
                                  "en": "quality: better filtering upstream, or a separate SLA tier"},
    "system_failure": {"ja": "システムの問題: ルーティング/CRM自動化/通知を直すITチケットを起票する",
                       "en": "system: open an IT ticket to fix routing / CRM automation / notifications"},
    "chose_not_to_comply": {"ja": "行動/モチベーションの問題: コーチングと1on1",
                            "en": "behaviour / motivation: coaching and 1:1s"},
}

_clocks = ClockRow.__table__
_leads = LeadRow.__table__
_events = EventRow.__table__
_breaches = BreachRow.__table__
_outbox = Outbox.__table__
NOTIFIED_KINDS = ("clock_warning", "clock_breached", "escalation")
AVAILABILITY_LOOKBACK = timedelta(days=14)


@dataclass(frozen=True)
class Suggestion:
    category: str
    reason: dict[str, str]  # {"ja": ..., "en": ...}

    def text(self, lang: Lang) -> str:
        return self.reason[lang]


@dataclass(frozen=True)
class BreachFacts:
    """What the data says about one breached clock (all optional: unknown is not evidence)."""

    stage: str
    owner: str | None
    started_at: datetime | None = None
    due_at: datetime | None = None
    tier: str | None = None
    # Latest rep.availability status of the owner at the clock's start and at its deadline.
    status_at_start: str | None = None
    status_at_due: str | None = None
    # Notifications about this clock that failed for good or are failing: "slack U123 (dead)".
    failed_notifications: tuple[str, ...] = ()
    # When a warning about this clock reached someone (outbox sent), if it did.
    warned_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _both(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


_CALENDARS: dict[tuple[str, str], BusinessCalendar | None] = {}


def _calendar(policy: Policy, name: str) -> BusinessCalendar | None:
    # Building a calendar (holidays, interval tables) costs far more than asking it: one per
    # (policy version, name) for the life of the process.
    key = (policy.version, name)
    if key not in _CALENDARS:
        try:
            _CALENDARS[key] = from_policy(policy, name)
        except CalendarError:
            _CALENDARS[key] = None
    return _CALENDARS[key]


def off_shift(policy: Policy, rep: str, at: datetime) -> str | None:
    """Why `rep` was not working at `at` (their hours calendar closed, or time off), else None."""
    config = policy.routing.reps.get(rep)
    name = config.hours if config is not None else "business"
    calendar = _calendar(policy, name)
    if calendar is None:
        return None
    zone = config.timezone if config is not None and config.timezone else calendar.timezone
    local_day = at.astimezone(_zone(zone)).date()
    if config is not None and config.time_off and local_day.toordinal() in time_off_days(config.time_off):
        return f"time off {local_day.isoformat()}"
    if not calendar.is_open(at):
        return f"outside the {name} hours"
    return None


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def suggest(facts: BreachFacts, policy: Policy) -> Suggestion | None:
    """The automatic root-cause category for one breach, with the reason in ja and en, or None.

    Pure: everything it needs is in `facts` (see `suggest_for` to build them from a store) and
    the policy (tiers, calendars, the reps' hours). The rules and their order are in the module
    docstring.
    """
    if facts.stage == "assignment":
        return Suggestion("system_failure", _both(
            "割り当ての違反: リードが時間内に担当者へルーティングされなかった",
            "assignment breach: routing did not give the lead to a rep in time"))
    if facts.owner is None:
        return Suggestion("system_failure", _both(
            "担当者のいないクロック: リードが誰にもルーティングされなかった",
            "no owner: the lead was routed to nobody"))
    if facts.failed_notifications:
        failed = ", ".join(facts.failed_notifications)
        return Suggestion("system_failure", _both(
            f"通知が届かなかった（{failed}）: 担当者ではなくシステムの問題",
            f"the notification never reached the rep ({failed}): a system problem, not the rep's"))
    for when, status in (("start", facts.status_at_start), ("deadline", facts.status_at_due)):
        if status in ("away", "offline"):
            when_ja = "開始時" if when == "start" else "期限時"
            return Suggestion("rep_unavailable", _both(
                f"{facts.owner}は{when_ja}に{status}だった",
                f"{facts.owner} was {status} at the clock's {when}"))
    if facts.due_at is not None:
        why = off_shift(policy, facts.owner, facts.due_at)
        if why is not None:
            due = facts.due_at.astimezone(_zone(policy.org.timezone)).strftime("%Y-%m-%d %H:%M")
            return Suggestion("rep_unavailable", _both(
                f"{facts.owner}は期限（{due}）に勤務時間外だった（{why}）",
                f"{facts.owner} was off shift at the deadline ({due}; {why})"))
    tiers = list(policy.tiers)
    if facts.tier is not None and len(tiers) > 1 and facts.tier == tiers[-1]:
        return Suggestion("deprioritised_low_quality", _both(
            f"最も低いティア（{facts.tier}）のリード: 優先度を下げられた可能性",
            f"a lead of the lowest tier ({facts.tier}): likely deprioritised"))
    if facts.warned_at is not None and (facts.due_at is None or facts.warned_at <= facts.due_at):
        at = facts.warned_at.astimezone(_zone(policy.org.timezone)).strftime("%Y-%m-%d %H:%M")
        return Suggestion("missed_notification", _both(
            f"{at}に警告が届いていたが期限を過ぎた",
            f"a warning was delivered at {at} and the deadline was still missed"))
    return None


# --------------------------------------------------------------------------- facts from a store

Key = tuple[str, str, int]


def _status_at(timeline: tuple[list[datetime], list[str]], at: datetime | None) -> str | None:
    times, statuses = timeline
    if at is None or not times:
        return None
    index = bisect_right(times, at)
    return statuses[index - 1] if index else None


@dataclass(frozen=True)
class ClockFacts:
    """The breached clock's own row: who owned it, when it started and was due, the lead's tier."""

    owner: str | None
    started_at: datetime | None
    due_at: datetime | None
    tier: str | None


def clock_facts(store: Store, keys: Sequence[Key]) -> dict[Key, ClockFacts]:
    """The clock rows of these breaches (by lead, 500 leads a query)."""
    wanted = set(keys)
    found: dict[Key, ClockFacts] = {}
    with store._read() as connection:
        for chunk in _chunks(sorted({k[0] for k in keys}), 500):
            tiers = dict(connection.execute(select(_leads.c.id, _leads.c.tier).where(_leads.c.id.in_(chunk))).all())
            for row in connection.execute(
                select(_clocks.c.lead, _clocks.c.stage, _clocks.c.seq, _clocks.c.owner, _clocks.c.started_at,
                       _clocks.c.due_at).where(_clocks.c.lead.in_(chunk))
            ):
                key = (row.lead, row.stage, row.seq)
                if key in wanted:
                    found[key] = ClockFacts(row.owner, row.started_at, row.due_at, tiers.get(row.lead))
    return found


def _effects_of(payload: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    if payload.get("type") == "effect" and isinstance(payload.get("effect"), Mapping):
        yield payload["effect"]
    for item in payload.get("items") or ():
        if isinstance(item, Mapping) and isinstance(item.get("effect"), Mapping):
            yield item["effect"]


def _as_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def gather_facts(store: Store, keys: Sequence[Key],
                 clocks: Mapping[Key, ClockFacts] | None = None) -> dict[Key, BreachFacts]:
    """The facts `suggest` needs for these breaches, in a handful of queries (`clocks` when the
    caller already read the clock rows)."""
    if not keys:
        return {}
    if clocks is None:
        clocks = clock_facts(store, keys)
    leads = sorted({k[0] for k in keys})
    with store._read() as connection:
        owners = {row.owner for row in clocks.values() if row.owner}
        events: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        instants = [t for row in clocks.values() for t in (row.started_at, row.due_at) if t is not None]
        if owners and instants:
            # Through the (at, seq) index: a status set more than AVAILABILITY_LOOKBACK before the
            # clock started is not looked for (unknown is not evidence).
            for row in connection.execute(
                select(_events.c.at, _events.c.data).where(
                    _events.c.at >= min(instants) - AVAILABILITY_LOOKBACK, _events.c.at <= max(instants),
                    _events.c.type == "rep.availability")
                .order_by(_events.c.at, _events.c.seq)
            ):
                data = row.data or {}
                if data.get("rep") in owners and isinstance(data.get("status"), str):
                    events[data["rep"]].append((row.at, data["status"]))
        timelines = {rep: ([t for t, _ in items], [v for _, v in items]) for rep, items in events.items()}
        starts = [row.started_at for row in clocks.values() if row.started_at is not None]
        failed: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        warned: dict[tuple[str, str | None], datetime] = {}
        if starts:
            window = and_(_outbox.c.created_at >= min(starts) - timedelta(days=1),
                          or_(_outbox.c.status.in_(("failed", "dead")),
                              and_(_outbox.c.status == "sent", _outbox.c.dedupe_key.like("clock_warning:%"))))
            lead_set = set(leads)
            for row in connection.execute(
                select(_outbox.c.status, _outbox.c.channel, _outbox.c.recipient, _outbox.c.payload,
                       _outbox.c.sent_at).where(window)
            ):
                for effect in _effects_of(row.payload or {}):
                    if effect.get("lead") not in lead_set or effect.get("kind") not in NOTIFIED_KINDS:
                        continue
                    where = (effect["lead"], effect.get("stage"))
                    if row.status in ("failed", "dead"):
                        failed[where].append(f"{row.channel} {row.recipient} ({row.status})")
                    elif effect.get("kind") == "clock_warning" and row.sent_at is not None \
                            and (where not in warned or row.sent_at < warned[where]):
                        warned[where] = row.sent_at
    out = {}
    for key in keys:
        lead, stage, _seq = key
        row = clocks.get(key)
        owner = row.owner if row is not None else None
        started = row.started_at if row is not None else None
        due = row.due_at if row is not None else None
        timeline = timelines.get(owner or "", ([], []))
        notes = tuple(sorted(set(failed.get((lead, stage), []) + failed.get((lead, None), []))))
        out[key] = BreachFacts(
            stage=stage, owner=owner, started_at=started, due_at=due, tier=row.tier if row is not None else None,
            status_at_start=_status_at(timeline, started), status_at_due=_status_at(timeline, due),
            failed_notifications=notes, warned_at=warned.get((lead, stage)),
        )
    return out


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


def suggest_for(store: Store, policy: Policy, breaches: Iterable[Breach | Key]) -> dict[Key, Suggestion | None]:
    """Suggestions for breaches (store records or (lead, stage, seq) keys), keyed by
    (lead, stage, seq). This is what the API's breach listing and the dashboard call."""
    keys = [b if isinstance(b, tuple) else (b.lead, b.stage, b.seq) for b in breaches]
    facts = gather_facts(store, keys)
    return {key: suggest(facts[key], policy) for key in keys}


# --------------------------------------------------------------------------- the report

_WORDS = {
    "ja": {
        "title": "SLA違反の根本原因", "month": "月: {label}", "categories": "カテゴリ別", "breaches": "違反一覧",
        "category": "カテゴリ", "confirmed": "確認済み", "suggested": "自動提案", "total": "合計", "share": "割合",
        "lead": "リード", "stage": "ステージ", "owner": "担当者", "at": "違反時刻", "basis": "根拠",
        "reason": "理由", "basis_confirmed": "マネージャー確認", "basis_suggested": "提案（未確認）",
        "basis_none": "—", "empty": "この月（{label}）にSLA違反はありません。",
        "top": "上位{rank}: {label} — {count}件（{share}%）。対策: {fix}",
        "summary": "違反{total}件: 確認済み{confirmed}件、自動提案{suggested}件、未分類{unclassified}件。",
    },
    "en": {
        "title": "SLA breach root causes", "month": "Month: {label}", "categories": "By category",
        "breaches": "Breaches", "category": "Category", "confirmed": "Confirmed", "suggested": "Suggested",
        "total": "Total", "share": "Share", "lead": "Lead", "stage": "Stage", "owner": "Rep", "at": "Breached at",
        "basis": "Basis", "reason": "Reason", "basis_confirmed": "confirmed by a manager",
        "basis_suggested": "suggested (not yet confirmed)", "basis_none": "—",
        "empty": "No SLA breaches in {label}.",
        "top": "Top {rank}: {label}: {count} breaches ({share}%). Fix: {fix}",
        "summary": "{total} breaches: {confirmed} confirmed, {suggested} suggested, {unclassified} unclassified.",
    },
}


def shares(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Each category's share of all breaches, in percent (unrounded: they sum to 100)."""
    total = sum(counts.values())
    return {key: (100.0 * value / total if total else None) for key, value in counts.items()}


def _month_breaches(request: ReportRequest, start: datetime, end: datetime) -> pl.DataFrame:
    statement = (
        select(_breaches.c.lead, _breaches.c.stage, _breaches.c.seq, _breaches.c.at, _breaches.c.owner,
               _breaches.c.category, _breaches.c.note, _breaches.c.reviewed_by, _clocks.c.owner,
               _clocks.c.started_at, _clocks.c.due_at, _leads.c.tier)
        .select_from(_breaches.join(_leads, _leads.c.id == _breaches.c.lead).outerjoin(_clocks, and_(
            _clocks.c.lead == _breaches.c.lead, _clocks.c.stage == _breaches.c.stage,
            _clocks.c.seq == _breaches.c.seq)))
        .where(_breaches.c.at >= start, _breaches.c.at < end)
    )
    reps = scope_reps(request)
    if reps is not None:
        statement = statement.where(_breaches.c.owner.in_(reps or [""]))
    if request.source is not None:
        statement = statement.where(_leads.c.source == request.source)
    return frame(request.store, statement, {
        "lead": pl.Utf8, "stage": pl.Utf8, "seq": pl.Int64, "at": INSTANT, "owner": pl.Utf8,
        "category": pl.Utf8, "note": pl.Utf8, "reviewed_by": pl.Utf8, "clock_owner": pl.Utf8,
        "started_at": INSTANT, "due_at": INSTANT, "tier": pl.Utf8}).sort("at", "lead", "stage", "seq")


def build(request: ReportRequest) -> Report:
    lang = request.lang
    words = _WORDS[lang]
    month = parse_month(request.option("month"), request.zone, request.today)
    report = Report("root-causes", words["title"], lang,
                    params={"month": month.label, "from": month.start, "to": month.end,
                            "team": request.team, "rep": request.rep, "source": request.source})
    report.lines.append(words["month"].format(label=month.label))
    found = _month_breaches(request, month.start, month.end)
    rows = found.to_dicts()
    # The clock rows came with the breaches (one join), so only availability and the outbox are read.
    known = {(r["lead"], r["stage"], r["seq"]): ClockFacts(r["clock_owner"] or r["owner"], r["started_at"], r["due_at"], r["tier"])
             for r in rows if r["category"] not in CATEGORIES}
    facts = gather_facts(request.store, list(known), known)
    suggestions = {key: suggest(value, request.policy) for key, value in facts.items()}
    confirmed: dict[str, int] = defaultdict(int)
    suggested: dict[str, int] = defaultdict(int)
    listing = []
    for row in rows:
        key = (row["lead"], row["stage"], row["seq"])
        if row["category"] in CATEGORIES:
            category, basis, reason = row["category"], "confirmed", row["note"] or ""
            confirmed[category] += 1
        elif suggestions.get(key) is not None:
            suggestion = suggestions[key]
            assert suggestion is not None
            category, basis, reason = suggestion.category, "suggested", suggestion.text(lang)
            suggested[category] += 1
        else:
            category, basis, reason = UNCLASSIFIED, "none", ""
        listing.append({"lead": row["lead"], "stage": row["stage"], "seq": row["seq"], "owner": row["owner"],
                        "at": row["at"].astimezone(request.zone), "category": LABELS[category][lang], "category_key": category,
                        "basis": words[f"basis_{basis}"], "reason": reason})
    totals = {c: confirmed[c] + suggested[c] for c in (*CATEGORIES, UNCLASSIFIED)}
    totals[UNCLASSIFIED] = sum(1 for item in listing if item["category_key"] == UNCLASSIFIED)
    share = shares(totals)
    order = sorted(CATEGORIES, key=lambda c: (-totals[c], CATEGORIES.index(c)))
    report.tables.append(Table("categories", words["categories"], [
        Column("category", words["category"]), Column("confirmed", words["confirmed"], "int"),
        Column("suggested", words["suggested"], "int"), Column("total", words["total"], "int"),
        Column("share", words["share"], "percent"),
    ], [{"category": LABELS[c][lang], "key": c, "confirmed": confirmed[c], "suggested": suggested[c],
         "total": totals[c], "share": None if share[c] is None else round(share[c], 1)}
        for c in (*order, UNCLASSIFIED)]))
    report.tables.append(Table("breaches", words["breaches"], [
        Column("lead", words["lead"]), Column("stage", words["stage"]), Column("owner", words["owner"]),
        Column("at", words["at"], "datetime"), Column("category", words["category"]),
        Column("basis", words["basis"]), Column("reason", words["reason"]),
    ], listing))
    report.data["counts"] = totals
    report.data["shares"] = {c: None if v is None else round(v, 3) for c, v in share.items()}
    if not rows:
        report.notes.append(words["empty"].format(label=month.label))
        return report
    report.notes.append(words["summary"].format(
        total=len(rows), confirmed=sum(confirmed.values()), suggested=sum(suggested.values()),
        unclassified=totals[UNCLASSIFIED]))
    top = [c for c in order if totals[c] > 0][:3]
    report.data["top"] = top
    for rank, category in enumerate(top, start=1):
        report.notes.append(words["top"].format(rank=rank, label=LABELS[category][lang], count=totals[category],
                                                share=pct(totals[category], len(rows)), fix=FIXES[category][lang]))
    return report


__all__ = ["CATEGORIES", "BreachFacts", "Suggestion", "build", "gather_facts", "off_shift", "suggest", "suggest_for"]
