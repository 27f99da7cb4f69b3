"""What a signed-in person may see: the API's scope, widened to the clocks they own.

The API scopes by lead (`api.queries.Scope`): a manager sees the leads whose *current* owner is
on their team. A lead an SDR handed to an AE keeps the SDR as owner until the AE accepts it, yet
the AE's acceptance clock — and its breach — is the AE's, and the compliance report counts it in
the AE's numbers. So the dashboard also shows a lead (and lists a breach or running clock) when
the clock's owner, or the lead's pending handoff target, is the rep or on the manager's team:
every number on a page can then be opened, and still nothing of another team's people shows.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, false, or_, select, true

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.store import LeadSummary, Store
from leadclock.store.models import BreachRow, ClockRow, RepRow

_reps: Table = RepRow.__table__  # type: ignore[assignment]
_clocks: Table = ClockRow.__table__  # type: ignore[assignment]
_breaches: Table = BreachRow.__table__  # type: ignore[assignment]


def owner_condition(column: ColumnElement[str], principal: Principal) -> ColumnElement[bool]:
    """`column` (a rep id) names someone in the principal's scope."""
    if principal.sees_everything:
        return true()
    if principal.role == "manager" and principal.team:
        return column.in_(select(_reps.c.id).where(_reps.c.team == principal.team))
    if principal.role == "rep" and principal.rep:
        return column == principal.rep
    return false()


def clock_condition(principal: Principal) -> ColumnElement[bool]:
    """Clocks the principal may see: on a lead in the API's scope, or owned by someone in it."""
    scope = queries.scope_of(principal)
    if scope.everything:
        return true()
    return or_(_clocks.c.lead.in_(scope.lead_ids()), owner_condition(_clocks.c.owner, principal))


def breach_condition(principal: Principal) -> ColumnElement[bool]:
    scope = queries.scope_of(principal)
    if scope.everything:
        return true()
    return or_(_breaches.c.lead.in_(scope.lead_ids()), owner_condition(_breaches.c.owner, principal))


def sees_lead(store: Store, principal: Principal, lead: LeadSummary, clock_owners: set[str]) -> bool:
    if queries.sees_lead(store, queries.scope_of(principal), lead):
        return True
    people = set(clock_owners) | ({lead.handoff_to} if lead.handoff_to else set())
    if principal.role == "rep":
        return principal.rep in people
    if principal.role == "manager" and principal.team:
        return any(queries.rep_team(store, person) == principal.team for person in sorted(people))
    return False


__all__ = ["breach_condition", "clock_condition", "owner_condition", "sees_lead"]
