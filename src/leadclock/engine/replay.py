"""Replay: run the engine over a history of events, exactly as the live service would (F29).

Events are de-duplicated by id and applied in `event_order` (time, type rank, id), so the
result does not depend on the order the lines arrived in. Every lead is then advanced to
`as_of` (default: the last event's time): clocks still running then are open, not breached.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from leadclock.engine.core import advance, apply, event_order
from leadclock.engine.events import Event, EventError, parse_event
from leadclock.engine.rules import Rules
from leadclock.engine.state import Effect, LeadState


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    field: str
    reason: str
    event_id: str | None = None

    def __str__(self) -> str:
        ident = f" (event {self.event_id})" if self.event_id else ""
        return f"line {self.line}{ident}: {self.field}: {self.reason}"


@dataclass
class ReplayResult:
    leads: dict[str, LeadState]
    effects: list[Effect]
    as_of: datetime | None
    policy_version: str
    errors: list[LineError] = field(default_factory=list)
    duplicates: int = 0
    unknown_reps: list[str] = field(default_factory=list)
    rep_status: dict[str, str] = field(default_factory=dict)


def read_events(lines: Iterable[str]) -> Iterator[tuple[int, Event | LineError]]:
    """Parse JSON Lines; blank lines are skipped, each bad line becomes a LineError."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, LineError(number, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        try:
            yield number, parse_event(obj)
        except EventError as exc:
            ident = str(obj.get("id")) if isinstance(obj, dict) and obj.get("id") is not None else None
            yield number, LineError(number, exc.field, exc.reason, ident)


def load_event_file(path: str | Path) -> tuple[list[tuple[int, Event]], list[LineError]]:
    events: list[tuple[int, Event]] = []
    errors: list[LineError] = []
    with open(path, encoding="utf-8") as handle:
        for number, item in read_events(handle):
            if isinstance(item, LineError):
                errors.append(item)
            else:
                events.append((number, item))
    return events, errors


def run(
    numbered: Iterable[tuple[int, Event]] | Iterable[Event],
    rules: Rules,
    as_of: datetime | None = None,
    roster: set[str] | None = None,
    progress=None,  # type: ignore[no-untyped-def]  # callable(n) for a progress bar
    start: dict[str, LeadState] | None = None,
    reported: Iterable[str] = (),
) -> ReplayResult:
    """Replay `numbered` in time order as of `as_of` (default: the last event's instant).

    `start` continues leads from states an earlier run left as of the same `as_of` instead of
    from nothing; it equals replaying everything only when each new event sorts after all the
    lead's earlier ones (`continues`). Those states are updated in place. The result holds the
    leads this call touched."""
    items: list[tuple[int, Event]] = [
        item if isinstance(item, tuple) else (0, item) for item in numbered  # type: ignore[misc]
    ]
    seen: set[str] = set()
    unique: list[tuple[int, Event]] = []
    duplicates = 0
    for number, event in items:
        if event.id in seen:
            duplicates += 1  # a repeated id is ignored (idempotent delivery)
            continue
        seen.add(event.id)
        unique.append((number, event))
    unique.sort(key=lambda item: event_order(item[1]))

    leads: dict[str, LeadState] = {}
    earlier = start or {}
    effects: list[Effect] = []
    errors: list[LineError] = []
    already = set(reported)
    unknown: dict[str, None] = dict.fromkeys(already)
    rep_status: dict[str, str] = {}
    last: datetime | None = None
    for index, (number, event) in enumerate(unique):
        if progress is not None and index % 10000 == 0:
            progress(index)
        if as_of is not None and event.at > as_of:
            break  # sorted by time: nothing after as_of has happened yet
        last = event.at
        if event.type == "rep.availability":
            rep_status[event.data["rep"]] = event.data["status"]
            continue
        state = leads.get(event.lead) or earlier.get(event.lead)
        if state is None and event.type != "lead.created":
            errors.append(LineError(number, "lead", f"unknown lead {event.lead!r} (no lead.created at or before this event)", event.id))
            continue
        if roster is not None:
            for key in ("rep", "to", "from"):
                rep = event.data.get(key)
                if isinstance(rep, str) and rep not in roster and rep not in unknown:
                    unknown[rep] = None
                    effects.append(Effect("unknown_rep", event.at, event.lead, detail={"rep": rep, "event": event.id}))
        state, caused = apply(state, event, rules)
        leads[event.lead] = state
        effects.extend(caused)
    when = as_of or last
    if when is not None:
        for state in leads.values():
            effects.extend(advance(state, when, rules))
    effects.sort(key=lambda e: (e.at, e.lead, e.kind))
    new_unknown = [rep for rep in unknown if rep not in already]
    return ReplayResult(leads, effects, when, rules.version, errors, duplicates, new_unknown, rep_status)


def continues(earlier: Iterable[Event], later: Iterable[Event], as_of: datetime) -> bool:
    """Whether replaying `earlier` then continuing with `later` (both as of `as_of`) equals
    replaying them together: every later event happens by `as_of` and sorts after every earlier
    one that happened by then (the engine applies events in `event_order`)."""
    last = max((event_order(e) for e in earlier if e.at <= as_of), default=None)
    return all(e.at <= as_of and (last is None or event_order(e) > last) for e in later)
