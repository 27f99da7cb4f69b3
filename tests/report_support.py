"""A small history whose 2026-W28 scorecard for 山田花子 is 001's example, built through the
real engine (events -> ingest -> leads/clocks), shared by the report tests.

Policy: the base preset with two sources: demo requests (first contact 5 min, decision 2 business
days = "48 h") and webinars (first contact 15 min, decision 2 business days); no other stage is
measured and no escalation acts, so every figure below is counted by hand.

Week 2026-W28 (Mon 6 - Sun 12 July, Asia/Tokyo), sdr-yamada, 47 leads:
- 12345 demo Mon 10:00, called 10:18 (18 min late of 5), qualified;
- 12389 demo Mon 11:00, called 11:45 (45 min of 5), disqualified;
- 12401 demo Mon 12:00, called 12:04, never decided: decision due Wed 12:04 -> breached;
- 12423 webinar Wed 14:00, called 14:22 (22 min of 15), qualified;
- 12456 demo Tue 15:00, called 15:04, never decided: due Thu 15:04 -> breached;
- 4 demo leads on Friday, called after 4 min, not decided (due Tuesday: open, not late);
- 38 more Mon-Thu: 15 webinars called after 12 min, 23 demos after 4 min; 16 qualified and
  22 disqualified the same day.
=> 42 of 47 within SLA (89%); first contacts 85 + 6 x 4 + 15 x 12 + 23 x 4 = 381 min / 47 = 8.1
-> 8 min; qualified 18 (38%), disqualified 23 (49%), in progress 6 (13%).
Week W27: 40 leads, 6 first contacts at 10 min (of 5), all decided: 34 of 40 = 85% -> +4 (89.4 - 85).
sdr-sato (same team) has 10 leads in W28, all in time: the team is 52 of 57 (91%), 85% the week
before (+6).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadclock.engine.events import parse_event
from leadclock.policy import Policy, load_policy_text
from leadclock.service.ingest import ingest_into
from leadclock.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
# Monday 13 July 2026, 09:00 in Tokyo: the Monday-morning scorecard of W28.
NOW = datetime(2026, 7, 13, 9, 0, tzinfo=TOKYO).astimezone(UTC)

POLICY_YAML = """
extends: base
name: scorecard-example
defaults:
  follow_up: null
escalations:
  hot_not_contacted: null
  warm_not_contacted: null
  hot_cadence_exhausted: null
  qualified_idle: null
  rep_compliance_low: null
  reassign_requested: null
  unassigned: null
  not_handed_off: null
  no_activity_reassign: null
  handoff_not_accepted: null
  after_hours_not_worked: null
sources:
  demo_request:
    label: {ja: デモリクエスト, en: Demo request}
    priority: hot
    sla: {assignment: none, first_contact: {target: 5m}, cadence: none, qualification: {target: 2bd}, handoff: none, acceptance: none}
  webinar:
    label: {ja: ウェビナー参加者, en: Webinar attendee}
    priority: warm
    sla: {assignment: none, first_contact: {target: 15m}, cadence: none, qualification: {target: 2bd}, handoff: none, acceptance: none}
"""

SEED_LINES_JA = [
    "担当者:山田花子",
    "週:2026年7月6日-12日",  # the seed writes 7月8日-12日; a week here runs Monday to Sunday
    "",
    "割り当てリード:47",
    "SLAコンプライアンス:89%(47中42がSLA内)",
    "平均レスポンスタイム:8分",
    "適格化:18(38%)",
    "不適格化:23(49%)",
    "進行中:6(13%)",
    "",
    "違反:",
    "- リード#12345:最初のコンタクト18分(目標5分)",
    "- リード#12389:最初のコンタクト45分(目標5分)",
    "- リード#12401:48時間後も評価なし",
    "- リード#12423:最初のコンタクト22分(目標15分)",
    "- リード#12456:48時間後も評価なし",
    "",
    "傾向:↑ 改善中(先週比+4%)",
]
SEED_LINES_EN = [
    "Rep: 山田花子",
    "Week: 6-12 July 2026",
    "",
    "Assigned leads: 47",
    "SLA compliance: 89% (42 of 47 within SLA)",
    "Average response time: 8 min",
    "Qualified: 18 (38%)",
    "Disqualified: 23 (49%)",
    "In progress: 6 (13%)",
    "",
    "Violations:",
    "- Lead #12345: first contact 18 min (target 5 min)",
    "- Lead #12389: first contact 45 min (target 5 min)",
    "- Lead #12401: no decision after 48 h",
    "- Lead #12423: first contact 22 min (target 15 min)",
    "- Lead #12456: no decision after 48 h",
    "",
    "Trend: ↑ improving (+4% vs last week)",
]


def policy() -> Policy:
    return load_policy_text(POLICY_YAML, "scorecard-example")


def local(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


class History:
    """Events for leads: created and assigned at `at`, called after `contact` minutes, then a
    decision 30 minutes after the call (or none)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def lead(self, lead: str, source: str, at: datetime, contact: float | None, decision: str | None,
             rep: str = "sdr-yamada") -> None:
        def event(kind: str, when: datetime, **fields: Any) -> None:
            self.events.append({"id": f"{lead}-{kind}-{len(self.events)}", "type": kind,
                                "at": when.isoformat(), "lead": lead, **fields})

        event("lead.created", at, source=source)
        event("lead.assigned", at, rep=rep)
        if contact is not None:
            called = at + timedelta(minutes=contact)
            event("activity", called, rep=rep, channel="call", outcome="connected")
            if decision == "qualified":
                event("lead.status", called + timedelta(minutes=30), status="qualified")
            elif decision == "disqualified":
                event("lead.status", called + timedelta(minutes=30), status="disqualified", reason="no_budget")


def scorecard_history() -> list[dict[str, Any]]:
    history = History()
    # W28, the five violations
    history.lead("12345", "demo_request", local(6, 10), 18, "qualified")
    history.lead("12389", "demo_request", local(6, 11), 45, "disqualified")
    history.lead("12401", "demo_request", local(6, 12), 4, None)
    history.lead("12423", "webinar", local(8, 14), 22, "qualified")
    history.lead("12456", "demo_request", local(7, 15), 4, None)
    # W28, four Friday leads still in progress (decision due Tuesday)
    for index, hour in enumerate((10, 11, 13, 14)):
        history.lead(f"2801{index}", "demo_request", local(10, hour), 4, None)
    # W28, 38 decided in time: 15 webinars (12 min), 23 demos (4 min); 16 qualified, 22 not
    for index in range(38):
        at = local(6 + index % 4, 10) + timedelta(minutes=30 * (index // 4))
        webinar = index < 15
        history.lead(f"2802{index:02d}", "webinar" if webinar else "demo_request", at, 12 if webinar else 4,
                     "qualified" if index % 38 < 16 else "disqualified")
    # W27 (29 June - 3 July): 40 leads, 6 first contacts at 10 minutes, all decided
    for index in range(40):
        day = (29, 30, 1, 2, 3)[index % 5]
        month = 6 if day > 20 else 7
        at = local(day, 10, month=month) + timedelta(minutes=30 * (index // 5))
        history.lead(f"2701{index:02d}", "demo_request", at, 10 if index < 6 else 3, "qualified")
    # sdr-sato, same team: 10 leads in W28, all in time
    for index in range(10):
        history.lead(f"2803{index}", "demo_request", local(7, 10) + timedelta(minutes=30 * index), 2,
                     "disqualified", rep="sdr-sato")
    return history.events


def fill(store: Store, events: list[dict[str, Any]], chosen: Policy, now: datetime = NOW) -> None:
    """Roster, policy and events through the same ingest the CLI uses, evaluated at `now`."""
    store.upsert_rep("mgr-matsumoto", name="松本恵", team="inside-sales", role="manager")
    store.upsert_rep("sdr-yamada", name="山田花子", team="inside-sales", role="sdr", manager="mgr-matsumoto")
    store.upsert_rep("sdr-sato", name="佐藤健太", team="inside-sales", role="sdr", manager="mgr-matsumoto")
    store.upsert_rep("ae-tanaka", name="田中誠", team="sales", role="ae")
    store.save_policy(chosen, POLICY_YAML)
    ingest_into(store, [parse_event(e) for e in events], [], chosen, as_of=now, now=now)
