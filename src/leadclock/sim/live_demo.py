"""The live half of `leadclock demo`: new leads and the reps' work, as they happen.

`LivePlanner` is pure (DESIGN principle 2): seeded, it never reads the clock. The caller asks
`due(now)` for the events whose instant has come and tells it who owns a lead
(`observe_owner(lead, rep, now)`: the router's choice, or a reassignment the worker made after
an escalation); the planner then decides what that rep does and when. Leads arrive every
20-90 seconds with the demo history's source mix; a share of them is left untouched by their
owner, so warnings, breaches, escalations and reassignments happen while you watch.

`DemoFeeder` is the thin loop around it: it posts the due events through `Live.ingest` (the
service's one write path, as the API would), learns owners from the routing decisions and from
the `leads` table, and sleeps until the next planned instant.

`demo_policy` is the preset the demo runs under plus routing for the demo team, and, unless the
office hours are kept, a business calendar open around the clock so the clocks tick whenever the
demo runs (Tokyo's 09:00-18:00 on weekdays would leave them paused most of the day elsewhere).
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from leadclock.engine.events import parse_event
from leadclock.policy import Policy, load_policy_text, load_preset
from leadclock.policy.models import ClockSla
from leadclock.service.live import Live
from leadclock.sim.demo import (  # the history's own tables: live leads look like its leads
    _BANT,
    _COMPANY_KINDS,
    _COMPANY_STEMS,
    _DEFAULT_SDR,
    _DISQUALIFY,
    _GIVEN,
    _NEXT_STEPS,
    _SDR_HABITS,
    _SOURCE_MIX,
    _SURNAMES,
    _TITLES,
    SDR_TEAM,
    Rep,
    _hours_from_policy,
    _plans,
    generate,
)
from leadclock.store import Store
from leadclock.store.models import LeadRow

log = logging.getLogger("leadclock.demo")

__all__ = ["DemoFeeder", "LivePlanner", "demo_policy", "history_until"]

MINUTE = 60.0


# ---------------------------------------------------------------------------------------------
# The policy and the history


def demo_policy(preset: str, roster: Sequence[Rep], *, around_the_clock: bool = True) -> Policy:
    """`preset` with routing for `roster` (hot leads to the reps whose pool includes hot, the
    rest round robin over every SDR, the SDR manager as the fallback) and, when
    `around_the_clock`, a `business` calendar open 24/7 without holidays; a warning at half of
    each source's first-contact target."""
    sdrs = [r for r in roster if r.role == "sdr"]
    top = [r.id for r in sdrs if "hot" in r.tier_pool] or [r.id for r in sdrs]
    manager = next((r.id for r in roster if r.role == "manager" and r.team == SDR_TEAM), None)
    lines = [f"extends: {preset}"]
    # F15 made visible: a warning at half of every first-contact target the preset writes per
    # source (the presets warn per tier, and a source's own SLA replaces its tier's).
    base = load_preset(preset)
    warned = [name for name, source in base.sources.items()
              if isinstance(source.sla.first_contact, ClockSla) and source.sla.first_contact.warn is None]
    if warned:
        lines.append("sources:")
        for name in warned:
            lines.append(f"  {name}: {{sla: {{first_contact: {{warn: {{at_fraction: 0.5}}}}}}}}")
    if around_the_clock:
        lines += [
            "calendars:",
            "  business:",
            "    label: {ja: 営業時間（デモ：24時間）, en: 'Business hours (demo: around the clock)'}",
            "    always: true",
            "    weekly: null",
            "    holidays: null",
        ]
    lines += ["routing:", "  reps:"]
    for rep in roster:
        if rep.role in ("sdr", "manager") and rep.team == SDR_TEAM:
            lines.append(f"    {rep.id}: {{name: {rep.name}, role: {rep.role}, team: {rep.team}"
                         + (f", manager: {rep.manager}" if rep.manager else "") + "}")
    lines += [
        "  pools:",
        f"    top_performers: [{', '.join(top)}]",
        f"    sdrs: [{', '.join(r.id for r in sdrs)}]",
        "  rules:",
        "    - {name: hot leads, when: {tier: [hot]}, strategy: round_robin, pool: top_performers}",
        "    - {name: everyone else, strategy: round_robin, pool: sdrs}",
    ]
    if manager is not None:
        lines.append(f"  fallback: {{rep: {manager}}}")
    return load_policy_text("\n".join(lines) + "\n", f"demo:{preset}")


def history_until(now: datetime, *, days: int, seed: int, policy: Policy,
                  roster: Sequence[Rep] | None = None, leads_per_day: float = 40) -> list[dict[str, Any]]:
    """The demo history of the `days` local days ending with today, cut at `now`: an export
    taken at this instant, with the last leads still in flight."""
    zone = ZoneInfo(policy.org.timezone)
    today = now.astimezone(zone).date()
    start = today - timedelta(days=max(days, 1) - 1)
    events = generate(seed=seed, start=start, days=days, leads_per_day=leads_per_day, policy=policy,
                      timezone=policy.org.timezone, until=today + timedelta(days=1), roster=roster)
    return [e for e in events if datetime.fromisoformat(e["at"]) <= now]


# ---------------------------------------------------------------------------------------------
# The planner (pure)


@dataclass
class _Lead:
    id: str
    source: str
    target: float  # first-contact target in seconds (wall-clock seconds on a 24/7 calendar)
    created: datetime
    owner: str | None = None
    generation: int = 0  # bumped when the owner changes: the old owner's plans are void
    events: int = 0
    closed: bool = False


@dataclass(order=True)
class _Planned:
    at: datetime
    seq: int
    lead: str = field(compare=False)
    generation: int = field(compare=False)
    kind: str = field(compare=False)
    fields: dict[str, Any] = field(compare=False)
    closes: bool = field(default=False, compare=False)


class LivePlanner:
    """Decides the next leads and the reps' work; time is always an argument."""

    def __init__(self, policy: Policy, roster: Sequence[Rep], *, seed: int, start: datetime,
                 first_number: int = 1, gap: tuple[float, float] = (20.0, 90.0),
                 neglect: float = 0.18, first_gap: tuple[float, float] = (3.0, 10.0)) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware instant")
        self._rng = random.Random(seed)
        self._zone = ZoneInfo(policy.org.timezone)
        hours = _hours_from_policy(policy, start.year - 1, start.year + 1)
        self._plans = _plans(policy, hours.business_day_seconds)
        if not self._plans:
            raise ValueError(f"policy {policy.name!r} defines no lead sources")
        names = list(self._plans)
        weights = [_SOURCE_MIX.get(n, 0.1) for n in names]
        self._sources = names
        self._weights = weights
        self._aes = [r.id for r in roster if r.role == "ae"]
        self._managers = {r.id for r in roster if r.role == "manager"}
        self._gap = gap
        self._neglect = neglect
        self._next_number = first_number
        self._next_arrival = start + timedelta(seconds=self._rng.uniform(*first_gap))
        self._queue: list[_Planned] = []
        self._seq = 0
        self._leads: dict[str, _Lead] = {}
        self._ae_turn = 0

    # ------------------------------------------------------------------ what the caller sees

    def due(self, now: datetime) -> list[dict[str, Any]]:
        """Every event planned at or before `now`, in time order (new arrivals included)."""
        while self._next_arrival <= now:
            self._arrive(self._next_arrival)
            self._next_arrival += timedelta(seconds=self._rng.uniform(*self._gap))
        out = []
        while self._queue and self._queue[0].at <= now:
            item = heapq.heappop(self._queue)
            lead = self._leads[item.lead]
            if item.generation != lead.generation or lead.closed:
                continue  # planned by an owner who no longer has the lead
            lead.events += 1
            if item.closes:
                lead.closed = True
            out.append({"id": f"{lead.id}-{lead.events}", "type": item.kind, "lead": lead.id,
                        "at": item.at.astimezone(self._zone).isoformat(timespec="seconds"), **item.fields})
        return out

    def next_at(self) -> datetime:
        """The next instant something is planned (an arrival at the latest)."""
        return min(self._next_arrival, self._queue[0].at) if self._queue else self._next_arrival

    def open_leads(self, now: datetime, within: timedelta = timedelta(hours=6)) -> list[str]:
        """Leads still in play that arrived in the last `within` (older ones have long breached:
        watching their owners would cost a query per lead forever and change little)."""
        return [lead.id for lead in self._leads.values()
                if not lead.closed and lead.events and lead.created >= now - within]

    def observe_owner(self, lead_id: str, rep: str | None, now: datetime) -> None:
        """`rep` owns `lead_id` as of `now`; a new owner gets a plan of their own."""
        lead = self._leads.get(lead_id)
        if lead is None or lead.closed or rep is None or rep == lead.owner:
            return
        again = lead.owner is not None
        lead.owner = rep
        lead.generation += 1
        self._work(lead, rep, now, reassigned=again)

    # ------------------------------------------------------------------ planning

    def _plan(self, lead: _Lead, at: datetime, kind: str, fields: dict[str, Any], closes: bool = False) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Planned(at.replace(microsecond=0), self._seq, lead.id, lead.generation,
                                             kind, fields, closes))

    def _arrive(self, at: datetime) -> None:
        r = self._rng
        source = r.choices(self._sources, self._weights)[0]
        lead = _Lead(f"L-{self._next_number}", source, self._plans[source].contact, at)
        self._next_number += 1
        self._leads[lead.id] = lead
        self._plan(lead, at, "lead.created", {"source": source, **self._person()})
        if r.random() < 0.2:
            self._plan(lead, at + timedelta(minutes=r.uniform(2, 20)), "engagement",
                       {"action": r.choice(("download", "webinar", "pricing_visit"))})

    def _person(self) -> dict[str, Any]:
        r = self._rng
        stem, stem_ro = r.choice(_COMPANY_STEMS)
        kind, kind_ro, industry = r.choice(_COMPANY_KINDS)
        surname, sur_ro = r.choice(_SURNAMES)
        given, given_ro = r.choice(_GIVEN)
        title = r.choices([t for t, _ in _TITLES], [w for _, w in _TITLES])[0]
        employees = r.choice((30, 80, 250, 600, 1500, 5000))
        return {"name": surname + given, "company": f"株式会社{stem}{kind}",
                "email": f"{given_ro}.{sur_ro}@{stem_ro}-{kind_ro}.co.jp", "industry": industry,
                "employees": employees, "title": title, "country": "JP"}

    def _work(self, lead: _Lead, rep: str, now: datetime, *, reassigned: bool) -> None:
        """What `rep` does with the lead from `now`: nothing (a breach in the making), or a first
        attempt on time or late, a short cadence, and a decision once the lead is reached."""
        r = self._rng
        habits = _SDR_HABITS.get(rep, _DEFAULT_SDR)
        if rep in self._managers:
            on_time, neglect = 0.95, 0.0  # the manager took it over: they act
        elif reassigned:
            on_time, neglect = max(habits.on_time, 0.85), self._neglect / 3
        else:
            # A struggling rep leaves more leads alone (001: training or motivation).
            on_time, neglect = habits.on_time, self._neglect * (1.6 if habits.on_time < 0.7 else 1.0)
        if r.random() < neglect:
            return
        target = lead.target
        if r.random() < on_time:
            delay = target * (0.1 + 0.75 * r.random())
        else:
            delay = target * min(4.0, 1.05 + r.lognormvariate(-0.7, 0.6))
        t = now + timedelta(seconds=max(20.0, delay))
        connect = 0.45
        for attempt, channel in enumerate(("call", "email", "call", "call")):
            if channel == "call":
                reached = r.random() < connect
                connect *= 0.8
                outcome = "connected" if reached else r.choice(("voicemail", "no_answer"))
                fields: dict[str, Any] = {"rep": rep, "channel": "call", "outcome": outcome}
                if reached:
                    fields["next_step"] = r.choice(_NEXT_STEPS)
                self._plan(lead, t, "activity", fields)
                if reached:
                    self._decide(lead, rep, t + timedelta(minutes=r.uniform(3, 15)))
                    return
            else:
                self._plan(lead, t, "activity", {"rep": rep, "channel": "email", "outcome": "sent"})
            if attempt < 3:
                t += timedelta(minutes=r.uniform(2, 12))

    def _decide(self, lead: _Lead, rep: str, at: datetime) -> None:
        r = self._rng
        x = r.random()
        if x < 0.3:
            self._plan(lead, at, "lead.status", {"status": "qualified", "rep": rep})
            self._handoff(lead, rep, at + timedelta(minutes=r.uniform(5, 25)))
        elif x < 0.75:
            reason = r.choices([n for n, _ in _DISQUALIFY], [w for _, w in _DISQUALIFY])[0]
            self._plan(lead, at, "lead.status", {"status": "disqualified", "reason": reason, "rep": rep}, closes=True)
        else:
            revisit = (at.astimezone(self._zone).date() + timedelta(days=90)).isoformat()
            self._plan(lead, at, "lead.status", {"status": "nurture", "reason": "timing", "revisit": revisit,
                                                 "rep": rep}, closes=True)

    def _handoff(self, lead: _Lead, sdr: str, at: datetime) -> None:
        r = self._rng
        if not self._aes:
            return
        ae = self._aes[self._ae_turn % len(self._aes)]
        self._ae_turn += 1
        bant = {k: r.choice(v) for k, v in _BANT.items()}
        self._plan(lead, at, "handoff.requested", {"from": sdr, "to": ae, "fields": bant})
        answer = at + timedelta(minutes=r.uniform(5, 40))
        if r.random() < 0.08:
            self._plan(lead, answer, "handoff.rejected", {"rep": ae, "reason": "missing_info"})
            return
        self._plan(lead, answer, "handoff.accepted", {"rep": ae})
        self._plan(lead, answer + timedelta(minutes=r.uniform(5, 30)), "activity",
                   {"rep": ae, "channel": "call", "outcome": "connected", "next_step": "ディスカバリーミーティング"},
                   closes=True)  # the demo's story ends at the AE's first call


# ---------------------------------------------------------------------------------------------
# The loop (the edge: it is given a clock)


class DemoFeeder:
    """Posts the planner's events through the live write path at their time."""

    def __init__(self, live: Live, planner: LivePlanner, clock: Callable[[], datetime],
                 max_sleep: float = 1.0) -> None:
        self.live = live
        self.planner = planner
        self.clock = clock
        self.max_sleep = max_sleep
        self.posted = 0
        self._unsent: list[dict[str, Any]] = []  # a failed round's events, sent first next time

    def step(self, now: datetime) -> int:
        """Post what is due by `now`; learn owners. Returns the events posted."""
        raw = self._unsent + self.planner.due(now)
        self._unsent = []
        if raw:
            try:
                result = self.live.ingest([parse_event(e) for e in raw], now, actor="demo")
            except Exception:
                # The planner has handed these over once; keep them (a lost lead.created would
                # turn every later event of the lead into an "unknown lead" rejection).
                self._unsent = raw
                raise
            for error in result.errors:
                log.warning("demo event rejected: %s", error)
            self.posted += len(result.stored)
            for decision in result.settled.decisions:
                self.planner.observe_owner(decision.lead, decision.rep, now)
        # Reassignments the worker made after an escalation show in the leads table.
        for lead, owner in _owners(self.live.store, self.planner.open_leads(now)).items():
            self.planner.observe_owner(lead, owner, now)
        return len(raw)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step(self.clock())
                wait = (self.planner.next_at() - self.clock()).total_seconds()
            except Exception:
                log.exception("demo feeder: round failed")
                wait = 1.0
            stop.wait(min(self.max_sleep, max(0.01, wait)))


def _owners(store: Store, leads: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted(set(leads))
    table = LeadRow.__table__
    found: dict[str, str | None] = {}
    with store._read() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for row in connection.execute(select(table.c.id, table.c.owner).where(table.c.id.in_(chunk))):
                found[row.id] = row.owner
    return found

