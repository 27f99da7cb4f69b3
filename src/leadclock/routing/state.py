"""What the router remembers between decisions: plain data, keyed by rep ids and rule names.

Keys are the policy's own names (not indexes into a compiled policy), so the state survives a
policy edit: a rotation continues where it was after reps join or leave a pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["online", "offline", "away"]
STATUSES: frozenset[str] = frozenset({"online", "offline", "away"})


@dataclass(slots=True)
class RepState:
    """One rep's availability and counters. Days and weeks are the rep's local ones (ordinals)."""

    status: str = "online"  # reps count as online until the CRM says otherwise
    status_since: datetime | None = None
    open_leads: int = 0
    day: int = 0  # local day ordinal that `today` counts
    today: int = 0
    week: int = 0  # ordinal of the local Monday that `this_week` counts
    this_week: int = 0
    last_assigned_seq: int = 0  # RouterState.seq of the last lead given; 0 = never
    assigned_total: int = 0
    seen_day: int = 0  # last local day the router looked at this rep (finds leave in between)
    # Back from leave (offline, time off) or new to the roster: load balancing must not treat
    # their empty desk as room for a catch-up flood. Cleared once they carry a normal load.
    rejoining: bool = False


@dataclass(slots=True)
class QueuedLead:
    """A lead waiting for the next opening (F9), or a reassignment that came after hours."""

    seq: int
    lead: dict[str, Any]
    arrived_at: datetime
    exclude: dict[str, str] = field(default_factory=dict)  # rep -> why (reassignments)
    previous_owner: str | None = None


@dataclass(slots=True)
class RankedPool:
    """Members of a load-balanced or weighted rule, kept in the strategy's order, lazily.

    Scanning a pool of hundreds of reps per decision is too slow (bench: ~50 µs per decision),
    so members sit in a heap by the strategy's key and are examined from the top until one is
    eligible. The heap may hold stale entries (a rep's key changed since): an entry counts only
    if it equals the rep's current key. A rep found ineligible is parked: until a time at which
    it can change (`parked_until`: next opening, next local day or week) or until an event about
    it (`waiting`: a status change or a closed lead), so it is not examined again meanwhile.
    """

    version: str = ""  # the compiled policy the pool was built for; rebuilt when it changes
    # load-balanced: (open leads, last assigned seq, rep); weighted: reps whose turn has come
    # in virtual time, as (virtual finish, 0, rep)
    heap: list[tuple[float, int, str]] = field(default_factory=list)
    parked: list[tuple[datetime, str]] = field(default_factory=list)  # heap by wake time
    parked_until: dict[str, datetime] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)
    # weighted (WF2Q+): each rep's next turn starts and finishes in virtual time; a turn is
    # due once its start is not after the pool's virtual time, and reps not yet due wait in
    # `pending` by start
    starts: dict[str, float] = field(default_factory=dict)
    finishes: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    pending: list[tuple[float, int, str]] = field(default_factory=list)
    vtime: float = 0.0
    active_weight: float = 0.0  # weighted: the weights of members not parked
    last_at: datetime | None = None


@dataclass(slots=True)
class RouterState:
    reps: dict[str, RepState] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)  # rule -> last rep served (round robin)
    queue: list[QueuedLead] = field(default_factory=list)
    seq: int = 0  # decisions made so far: orders the queue and "least recently assigned"
    assigned: int = 0  # leads given to reps so far
    ranked: dict[str, RankedPool] = field(default_factory=dict)  # rule -> ordered members
    ranked_of: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # rep -> (rule, lb)
    version: str = ""  # the compiled policy `ranked_of` and the roster were synced with

    def rep(self, rep_id: str) -> RepState:
        found = self.reps.get(rep_id)
        if found is None:
            found = self.reps[rep_id] = RepState()
        return found
