"""The pure SLA clock engine: events in, clocks and effects out."""

from leadclock.engine.core import advance, apply, event_order
from leadclock.engine.events import Event, EventError, parse_event
from leadclock.engine.rules import Rules, compile_rules
from leadclock.engine.state import Clock, Effect, LeadState, Timer

__all__ = [
    "Clock", "Effect", "Event", "EventError", "LeadState", "Rules", "Timer", "advance", "apply",
    "compile_rules", "event_order", "parse_event",
]
