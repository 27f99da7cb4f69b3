"""Lifecycle section of the policy (F7): stages, exits and how leads move between them.

Placeholder until the lifecycle work lands.
"""

from __future__ import annotations

from leadclock.policy.models import Model


class Lifecycle(Model):
    pass
