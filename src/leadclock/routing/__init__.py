"""Lead routing (F8, F9, F17, F27): pure functions of (state, lead, time, policy).

    state = RouterState()
    decision = route(state, lead, at, policy)      # rep, or the after-hours queue, with reasons
    open_queue(state, opening, policy)             # at the opening: queued leads in order
    reassign(state, lead, owner, history, at, policy)
"""

from leadclock.routing.checks import check_routing
from leadclock.routing.compiled import CompiledRouting, RoutingError, compile_routing
from leadclock.routing.decision import Candidate, Decision
from leadclock.routing.router import (
    AFTER_HOURS_QUEUE,
    ReassignmentRate,
    next_queue_flush,
    open_queue,
    reassign,
    reassignment_rate,
    release,
    route,
    set_status,
)
from leadclock.routing.state import QueuedLead, RepState, RouterState

__all__ = [
    "AFTER_HOURS_QUEUE", "Candidate", "CompiledRouting", "Decision", "QueuedLead",
    "ReassignmentRate", "RepState", "RouterState", "RoutingError", "check_routing",
    "compile_routing", "next_queue_flush", "open_queue", "reassign", "reassignment_rate",
    "release", "route", "set_status",
]
