"""Simulation: the demo CRM history (and, later, backtest and capacity planning)."""

from leadclock.sim.demo import (
    LEAD_HORIZON_DAYS,
    UNKNOWN_REP,
    Rep,
    demo_roster,
    generate,
    write_jsonl,
)

__all__ = ["LEAD_HORIZON_DAYS", "UNKNOWN_REP", "Rep", "demo_roster", "generate", "write_jsonl"]
