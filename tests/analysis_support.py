"""Small histories for the analysis reports (F22-F26), stored through the real ingest path.

The policy is tiny on purpose, so every figure in the tests can be worked out by hand: leads
get an assignment clock (5 min) and a first-contact clock (10 min), both on the 24/7 calendar
(business time = wall time); reps work 09:00-18:00 Mon-Fri (the `business` calendar). Times are
written in Tokyo time.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadclock.engine.events import parse_event
from leadclock.policy import Policy
from leadclock.policy.loader import load_policy_text
from leadclock.reports.params import ReportRequest
from leadclock.service.ingest import ingest_into
from leadclock.store import Store

POLICY_TEXT = """
name: analysis-test
org: {name: Test, timezone: Asia/Tokyo, locale: ja, currency: JPY}
calendars:
  business:
    weekly:
      mon: [["09:00", "18:00"]]
      tue: [["09:00", "18:00"]]
      wed: [["09:00", "18:00"]]
      thu: [["09:00", "18:00"]]
      fri: [["09:00", "18:00"]]
  always: {always: true}
tiers:
  hot: {label: {ja: ホット, en: Hot}, score: ">80"}
  warm: {label: {ja: ウォーム, en: Warm}, score: "50-80"}
  cold: {label: {ja: コールド, en: Cold}, score: "<50"}
sources:
  web: {label: {ja: ウェブ, en: Web}, priority: warm}
  event: {label: {ja: イベント, en: Event}, priority: cold}
defaults:
  assignment: {target: 5m, calendar: always}
  first_contact: {target: 10m, calendar: always}
"""
POLICY: Policy = load_policy_text(POLICY_TEXT, "analysis-test")
TEAMS = {"ann": "A", "bob": "B", "cid": "B", "dan": "A"}
_ids = itertools.count()
_TOKYO = ZoneInfo("Asia/Tokyo")


def jst(text: str) -> datetime:
    """'2026-07-03 10:00' in Tokyo, as an aware UTC instant."""
    return datetime.fromisoformat(text.replace(" ", "T") + "+09:00").astimezone(UTC)


def event(kind: str, at: str, lead: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": f"t{next(_ids)}", "type": kind, "at": jst(at).isoformat(), **fields}
    if lead is not None:
        body["lead"] = lead
    return body


def lead(lead_id: str, at: str, *, rep: str | None, contact_after: float | None, source: str = "web",
         assign_after: float = 0, **attributes: Any) -> list[dict[str, Any]]:
    """A lead created at `at`, assigned `assign_after` minutes later (unless rep is None) and
    contacted `contact_after` minutes after the assignment (never when None)."""
    events = [event("lead.created", at, lead_id, source=source, **attributes)]
    if rep is None:
        return events
    assigned = jst(at) + timedelta(minutes=assign_after)
    events.append(event("lead.assigned", _local(assigned), lead_id, rep=rep))
    if contact_after is not None:
        contacted = assigned + timedelta(minutes=contact_after)
        events.append(event("activity", _local(contacted), lead_id, rep=rep, channel="call", outcome="connected"))
    return events


def _local(instant: datetime) -> str:
    return instant.astimezone(_TOKYO).strftime("%Y-%m-%d %H:%M:%S")


def won(lead_id: str, qualified_at: str, won_at: str, amount: float, rep: str, *, win: bool = True) -> list[dict[str, Any]]:
    """Qualified with a complete handoff, an opportunity, then the deal closed (won or lost)."""
    fields = {"budget": "yes", "authority": "cto", "need": "crm", "timeline": "q3", "next_step": "demo"}
    return [
        event("handoff.requested", qualified_at, lead_id, **{"from": rep}, fields=fields),
        event("opportunity.created", qualified_at, lead_id, amount=amount, rep=rep),
        event("deal.closed", won_at, lead_id, won=win, amount=amount, rep=rep),
    ]


def ingest(store: Store, events: list[dict[str, Any]], as_of: str, policy: Policy = POLICY) -> None:
    """Store the roster, the policy and the events, evaluated as of `as_of` (Tokyo time)."""
    for rep, team in TEAMS.items():
        store.upsert_rep(rep, name=rep.title(), team=team, role="sdr")
    store.save_policy(policy, POLICY_TEXT)
    parsed = [parse_event(e) for e in events]
    report = ingest_into(store, parsed, [], policy, as_of=jst(as_of), now=jst(as_of))
    assert report.accepted == len(events), report


def request(store: Store, now: str, **kwargs: Any) -> ReportRequest:
    options = kwargs.pop("options", {})
    return ReportRequest(store=store, policy=POLICY, now=jst(now), lang=kwargs.pop("lang", "en"),
                         options=options, **kwargs)


def rows(report: Any, table: str) -> list[dict[str, Any]]:
    return report.table(table).rows
