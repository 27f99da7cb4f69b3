"""Events in over HTTP: validate each item, ingest the good ones, say what happened to every one.

Shared by POST /events, POST /events:batch and the webhooks. Each item ends as exactly one of:
accepted (stored now), duplicate (its id was stored before: nothing changes), rejected (with the
field and the reason; nothing of it stored), or ignored (a webhook item we do not map).

Ingest itself is `service.live.Live.ingest`, the same write path the worker uses, replaying each
lead with the engine `leadclock replay` runs (DESIGN principle 1): events about a lead already
stored are evaluated under the policy version that lead was started under (principle 7); only
new leads take the active policy. The effects of a delivery are the ones it stored for the first
time, so the caller sees the assignment and the clocks its event started, and a re-delivery sees
none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool

from leadclock.api import queries
from leadclock.api.context import AppContext, text_problem
from leadclock.api.errors import ApiError
from leadclock.engine.events import Event, EventError, parse_event
from leadclock.engine.state import Effect, LeadState
from leadclock.service.live import Ingested

Status = Literal["accepted", "duplicate", "rejected", "ignored"]

# Instants outside these bounds are typos (a year 1 or 9999 from a bad CRM default), and the
# engine's business calendars cannot count near the ends of datetime's range: such an event would
# be stored and then fail every recompute of its lead. Refused here, before anything is stored.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass
class ItemResult:
    index: int
    id: str | None
    status: Status
    lead: str | None = None
    type: str | None = None
    field: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.lead:
            out["lead"] = self.lead
        if self.type:
            out["type"] = self.type
        if self.status in ("rejected", "ignored"):
            out["field"] = self.field
            out["reason"] = self.reason
        return out


@dataclass
class Outcome:
    items: list[ItemResult]
    effects: list[Effect] = field(default_factory=list)
    leads: dict[str, LeadState] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int) and not isinstance(raw.get("id"), bool):
        return str(raw["id"])
    return None


def _check_instant(moment: datetime, name: str) -> None:
    if not EARLIEST <= moment < LATEST:
        raise EventError(name, f"{moment.isoformat()} is outside the accepted range "
                               f"({EARLIEST.year}-01-01 to {LATEST.year}-01-01)")


def parse_item(raw: Any) -> Event:
    """parse_event, plus what the database and the engine need beyond the event contract."""
    problem = text_problem(raw)
    if problem is not None:
        raise EventError(*problem)
    try:
        event = parse_event(raw)
    except OverflowError:
        # An offset that pushes the instant past datetime's range (e.g. 9999-12-31T23:00-05:00).
        raise EventError("at", "is outside the range of representable instants") from None
    _check_instant(event.at, "at")
    revisit = event.data.get("revisit")
    if isinstance(revisit, str):
        try:
            moment = datetime.fromisoformat(revisit if len(revisit) > 10 else revisit + "T00:00:00+00:00")
        except ValueError:
            raise EventError("revisit", f"{revisit!r} is not an ISO 8601 date") from None
        _check_instant(moment if moment.tzinfo else moment.replace(tzinfo=UTC), "revisit")
    return event


def require_policy(context: AppContext) -> None:
    """409 until a policy is stored. Stored policies are never deleted, so once one is seen this
    costs nothing more (the ingest itself reads which one is active, once per transaction)."""
    if context.policy_seen:
        return
    active = queries.active_version(context.store)
    if active is None or context.policy(active) is None:
        raise ApiError(409, "no_policy", "no policy uploaded yet: POST /policies first")
    context.policy_seen = True


def ingest(context: AppContext, raws: list[tuple[int, Any]], actor: str) -> Outcome:
    """Validate and ingest `raws` (index, decoded JSON) as of the app's clock, through the live
    service's one write path (`service.live.Live.ingest`): stored, routed, notified and
    scheduled in one transaction, which concurrent deliveries may share (group commit,
    `service.grouping`)."""
    require_policy(context)
    results, parsed = _parse(raws)
    # When every item was refused there is nothing to store: no transaction.
    done = context.ingests.submit([e for _, e in parsed], context.now, actor) if parsed else None
    return _outcome(context, raws, results, parsed, done)


async def ingest_async(context: AppContext, raws: list[tuple[int, Any]], actor: str) -> Outcome:
    """`ingest` for an async route: the request waits for its transaction without holding a
    thread of the pool (one thread hop less per request)."""
    if not context.policy_seen:
        await run_in_threadpool(require_policy, context)  # a database read, until one is seen
    results, parsed = _parse(raws)
    done = await context.ingests.submit_async([e for _, e in parsed], context.now, actor) if parsed else None
    return _outcome(context, raws, results, parsed, done)


def _parse(raws: list[tuple[int, Any]]) -> tuple[dict[int, ItemResult], list[tuple[int, Event]]]:
    results: dict[int, ItemResult] = {}
    parsed: list[tuple[int, Event]] = []
    for index, raw in raws:
        try:
            event = parse_item(raw)
        except EventError as exc:
            results[index] = ItemResult(index, _raw_id(raw), "rejected", field=exc.field, reason=exc.reason)
            continue
        parsed.append((index, event))
    return results, parsed


def _outcome(context: AppContext, raws: list[tuple[int, Any]], results: dict[int, ItemResult],
             parsed: list[tuple[int, Event]], done: Ingested | None) -> Outcome:
    outcome = Outcome([])
    if done is not None:
        rejected = {error.line: error for error in done.errors}
        stored = {event.id for event in done.stored}
        taken: set[str] = set()
        for position, (index, event) in enumerate(parsed, start=1):
            error = rejected.get(position)
            if error is not None:
                results[index] = ItemResult(index, event.id, "rejected", event.lead or None, event.type,
                                            error.field, error.reason)
            elif event.id in stored and event.id not in taken:
                taken.add(event.id)
                results[index] = ItemResult(index, event.id, "accepted", event.lead or None, event.type)
            else:
                results[index] = ItemResult(index, event.id, "duplicate", event.lead or None, event.type)
        outcome.leads = done.settled.leads
        outcome.effects = sorted(done.settled.effects, key=lambda e: (e.at, e.lead, e.kind))
    outcome.items = [results[index] for index, _ in raws]
    for status in ("accepted", "duplicate", "rejected"):
        context.count("events", status, outcome.count(status))  # type: ignore[arg-type]
    return outcome


def batch_answer(outcome: Outcome, extra: list[ItemResult] | None = None) -> dict[str, Any]:
    from leadclock.api import serialize

    items = sorted([*outcome.items, *(extra or [])], key=lambda item: item.index)
    effects: dict[str, list[dict[str, Any]]] = {}
    for effect in outcome.effects:
        effects.setdefault(effect.lead, []).append(serialize.effect(effect))
    return {
        "accepted": sum(1 for i in items if i.status == "accepted"),
        "duplicates": sum(1 for i in items if i.status == "duplicate"),
        "rejected": sum(1 for i in items if i.status == "rejected"),
        "ignored": sum(1 for i in items if i.status == "ignored"),
        "items": [item.as_json() for item in items],
        "leads": {lead: serialize.lead_state(state) for lead, state in sorted(outcome.leads.items())},
        "effects": effects,
    }


__all__ = ["EARLIEST", "LATEST", "ItemResult", "Outcome", "batch_answer", "ingest", "ingest_async", "parse_item", "require_policy"]
