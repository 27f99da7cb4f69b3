"""`leadclock explain LEAD`: the lead's timeline, each clock with its deadline in local business
time, and why it ended as it did (F27)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from leadclock.store import Store, database_url

_WORDS = {
    "en": {"timeline": "Timeline", "clocks": "Clocks", "due": "due", "max": "max", "stopped": "stopped",
           "running": "still running", "because": "because", "effects": "Escalations and alerts",
           "lead": "Lead", "source": "source", "tier": "tier", "owner": "owner", "status": "status",
           "within": "within SLA", "breached": "SLA breached", "audit": "Audit trail",
           "met": "met", "open": "open", "cancelled": "cancelled", "score": "Score",
           "stages": "Lifecycle"},
    "ja": {"timeline": "タイムライン", "clocks": "SLAクロック", "due": "期限", "max": "許容最大", "stopped": "停止",
           "running": "計測中", "because": "理由", "effects": "エスカレーション・アラート",
           "lead": "リード", "source": "ソース", "tier": "ティア", "owner": "担当者", "status": "ステータス",
           "within": "SLA内", "breached": "SLA違反", "audit": "監査ログ",
           "met": "達成", "open": "計測中", "cancelled": "取消", "score": "リードスコア",
           "stages": "ライフサイクル"},
}


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %a %H:%M:%S %Z") if moment else "—"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def explain_lead(lead_id: str, db: str | None, lang: str = "en") -> str | None:
    words = _WORDS.get(lang, _WORDS["en"])
    store = Store(database_url(db))
    try:
        store.upgrade()
        record = store.lead(lead_id)
        if record is None:
            return None
        versions = store.policy_versions()
        timezone = "Asia/Tokyo"
        if versions:
            latest = max(versions, key=lambda v: v.created_at)
            timezone = latest.document.get("org", {}).get("timezone", timezone)
    finally:
        store.close()
    zone = ZoneInfo(timezone)
    lead = record.summary
    verdict = words["within"] if lead.within_sla else words["breached"]
    lines = [
        f"{words['lead']} {lead.id}  {words['source']}={lead.source}  {words['tier']}={lead.tier or '—'}  "
        f"{words['owner']}={lead.owner or '—'}  {words['status']}={lead.status}  → {verdict}",
        "",
        f"{words['timeline']} ({timezone})",
    ]
    for event in record.events:
        fields = ", ".join(f"{k}={v}" for k, v in event.data.items() if k != "fields")
        lines.append(f"  {_local(event.at, zone)}  {event.type:<20} {fields}")
    card = (lead.attributes or {}).get("score_card")
    if card:
        lines += ["", f"{words['score']} {card.get('score')}"]
        for change in card.get("history", []):
            lines.append(f"  {_local(datetime.fromisoformat(change['at']), zone)}  {change['reason']}")
    transitions = (lead.attributes or {}).get("transitions") or []
    if transitions:
        lines += ["", words["stages"]]
        for move in transitions:
            revisit = f" (revisit {move['revisit']})" if move.get("revisit") else ""
            lines.append(f"  {_local(datetime.fromisoformat(move['at']), zone)}  {move['from']} → {move['to']}  by {move['who']}: {move['why']}{revisit}")
    lines += ["", words["clocks"]]
    order = {stage: i for i, stage in enumerate(
        ("assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance", "follow_up"))}
    for clock in sorted(record.clocks, key=lambda c: (c.started_at, order.get(c.stage, 9), c.seq)):
        outcome = words.get(clock.outcome, clock.outcome).upper() if clock.outcome == "breached" else words.get(clock.outcome, clock.outcome)
        lines.append(
            f"  {clock.stage}#{clock.seq} [{clock.owner or '—'}] target {clock.target} ({clock.calendar} calendar, policy {clock.policy_version[:8]}): {outcome}"
        )
        lines.append(f"      started {_local(clock.started_at, zone)}; {words['due']} {_local(clock.due_at, zone)}"
                     + (f"; {words['max']} {_local(clock.max_at, zone)}" if clock.max_at else ""))
        if clock.stopped_at is not None:
            lines.append(f"      {words['stopped']} {_local(clock.stopped_at, zone)} after {_span(clock.business_seconds)} of business time — {words['because']}: {clock.reason}")
        else:
            lines.append(f"      {words['running']}" + (f" — past its deadline since {_local(clock.breached_at, zone)}" if clock.outcome == "breached" else ""))
        if clock.stage == "cadence":
            lines.append(f"      attempts {clock.attempts} of {clock.required} required")
    interesting = [e for e in record.effects if e.kind in (
        "escalation", "reassignment_requested", "manager_queue", "handoff_refused", "handoff_rejected",
        "cadence_exhausted", "clock_warning", "alert", "unknown_rep")]
    if interesting:
        lines += ["", words["effects"]]
        for effect in interesting:
            who = f" → {', '.join(effect.recipients)}" if effect.recipients else ""
            what = effect.rule or effect.detail.get("reason") or ""
            extra = effect.detail.get("missing") or effect.detail.get("action") or ""
            lines.append(f"  {_local(effect.at, zone)}  {effect.kind} {what}{who} {extra}".rstrip())
    if record.audit:
        lines += ["", words["audit"]]
        for entry in record.audit:
            lines.append(f"  {_local(entry.at, zone)}  {entry.actor}: {entry.action} {entry.reason}".rstrip())
    return "\n".join(lines)
