"""Running a registry report for a page: the user's scope, the request's instant, the active policy.

Pages render whatever `Report` the registry returns (tables of typed columns through
`format_value`), so a new report needs no page change.

Scope follows the API's roles: a rep's reports are about their own rep id whatever the query
says (asking for another rep is 403), a manager's about their team (a rep outside it is 404, as
if it did not exist), ops and admin choose freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.reports.output import Report, ReportError
from leadclock.reports.params import ReportRequest
from leadclock.reports.registry import run
from leadclock.web.deps import ActivePolicy, web_state
from leadclock.web.errors import bad_input, forbidden, not_found
from leadclock.web.render import Page


@dataclass(frozen=True)
class ReportScope:
    team: str | None
    rep: str | None
    forced: bool  # set by the user's role (not chosen): an unknown id means "no data yet"


@dataclass
class Outcome:
    name: str
    report: Report | None = None
    empty_scope: bool = False  # the user's own rep/team has no data in the store yet
    params: dict[str, Any] = field(default_factory=dict)


def scope_for(principal: Principal, store: Any, team: str | None, rep: str | None) -> ReportScope:
    if principal.role == "rep":
        if rep is not None and rep != principal.rep:
            raise forbidden("a rep sees only their own numbers")
        if team is not None:
            raise forbidden("a rep sees only their own numbers")
        return ReportScope(None, principal.rep, True)
    if principal.role == "manager":
        if team is not None and team != principal.team:
            raise forbidden("a manager sees only their own team")
        if rep is not None and queries.rep_team(store, rep) != principal.team:
            raise not_found(f"no rep {rep!r} in team {principal.team}")
        return ReportScope(principal.team, rep, rep is None)
    return ReportScope(team, rep, False)


def run_report(
    name: str, current: Page, active: ActivePolicy, scope: ReportScope, *,
    start: datetime | None = None, end: datetime | None = None, source: str | None = None,
    options: dict[str, Any] | None = None,
) -> Outcome:
    assert current.signed is not None
    store = web_state(current.request).context.store
    request = ReportRequest(
        store=store, policy=active.policy, now=current.now, lang=current.lang, start=start, end=end,
        team=scope.team, rep=scope.rep, source=source, options=dict(options or {}),
    )
    try:
        report = run(name, request)
    except ReportError as error:
        if scope.forced and error.field in ("rep", "team"):
            # The user's own rep id or team is not in the store yet: nothing to show, not an error.
            return Outcome(name, empty_scope=True)
        raise bad_input(error.field, error.reason) from None
    return Outcome(name, report=report)


__all__ = ["Outcome", "ReportScope", "run_report", "scope_for"]
