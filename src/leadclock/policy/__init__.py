"""The SLA policy: models, loading with line-numbered errors, presets, checks."""

from leadclock.policy.durations import Duration
from leadclock.policy.loader import (
    PolicyError,
    Problem,
    load_policy,
    load_policy_text,
    load_preset,
    preset_names,
    preset_text,
)
from leadclock.policy.models import Policy

__all__ = [
    "Duration", "Policy", "PolicyError", "Problem", "load_policy", "load_policy_text",
    "load_preset", "preset_names", "preset_text",
]
