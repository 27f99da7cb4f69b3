"""Routing section of the policy (F8, F9, F17): reps, pools, ordered rules, fallback.

Placeholder until the routing work lands; an empty section means leads are assigned by the CRM
(replay takes `lead.assigned` events as they come).
"""

from __future__ import annotations

from leadclock.policy.models import Model


class Routing(Model):
    pass
