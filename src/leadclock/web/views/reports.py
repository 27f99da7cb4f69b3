"""Scorecards (F21), trends (F22), funnel (F26) and every other registry report, as pages.

Each page runs the registry's builder for the user's scope and renders the `Report` it returns
(tables through `format_value`, notes, lines), plus charts drawn from `report.data` where the
report has series (`web/charts.py`). Period parameters are checked before the report runs: a
bad `week` is a 400 naming it, whatever the report.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from leadclock.api import queries
from leadclock.reports.output import ReportError
from leadclock.reports.params import parse_month, parse_quarter, parse_week
from leadclock.reports.registry import REPORTS
from leadclock.web import charts
from leadclock.web.deps import SignedPage, WebState, active_policy, principal_of, web_state
from leadclock.web.errors import bad_input, not_found
from leadclock.web.query import YEARS, choice, instant, text
from leadclock.web.render import Page, render
from leadclock.web.reporting import run_report, scope_for

router = APIRouter(include_in_schema=False)

# Pages of their own; the rest are listed under "more reports".
OWN_PAGES = {"compliance": "/ui/", "scorecard": "/ui/scorecards", "team-scorecard": "/ui/scorecards",
             "trends": "/ui/trends", "funnel": "/ui/funnel"}
DIGEST_KINDS = ("daily", "manager", "weekly")


def _periods(request: Request, current: Page) -> dict[str, Any]:
    """week / month / quarter as typed, after checking they parse (400 naming the one at fault)."""
    zone = current.zone
    today = current.now.astimezone(zone).date()
    options: dict[str, Any] = {}
    for name, parse in (("week", parse_week), ("month", parse_month), ("quarter", parse_quarter)):
        value = text(request, name, 40)
        if value is not None:
            try:
                period = parse(value, zone, today, name)
            except ReportError as error:
                raise bad_input(error.field, error.reason) from None
            except (OverflowError, ValueError):
                raise bad_input(name, f"{value!r} is out of range") from None
            if period.start.year not in YEARS:
                raise bad_input(name, f"{value!r}: the year must be from {YEARS.start} to {YEARS.stop - 1}")
            options[name] = value
    kind = choice(request, "kind", DIGEST_KINDS)
    if kind is not None:
        options["kind"] = kind
    return options


def _report_page(request: Request, current: Page, state: WebState, name: str, template: str, *,
                 team: str | None = None, rep: str | None = None, **extra: Any) -> Response:
    principal = principal_of(current)
    scope = scope_for(principal, state.context.store, team, rep)
    options = _periods(request, current)
    start = instant(request, "from", current.zone)
    end = instant(request, "to", current.zone, end=True)
    outcome = run_report(name, current, active_policy(request), scope, start=start, end=end, options=options)
    return render(current, template, outcome=outcome, chart_list=charts.charts_of(outcome.report, current),
                  heatmap=charts.heatmap_of(outcome.report), bars=charts.funnel_bars(outcome.report),
                  query=dict(request.query_params), name=name, **extra)


@router.get("/ui/scorecards")
def scorecards(request: Request, current: SignedPage,
               state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "scorecards"
    principal = principal_of(current)
    store = state.context.store
    rep = text(request, "rep")
    team = text(request, "team")
    name = "scorecard" if principal.role == "rep" or rep is not None else "team-scorecard"
    reps = queries.rep_rows(store, team=principal.team if principal.role == "manager" else team)
    teams = sorted({r.team for r in queries.rep_rows(store) if r.team}) if principal.sees_everything else []
    if name == "team-scorecard" and team is None and principal.sees_everything and teams:
        team = teams[0]  # ops / admin without a choice: the first team, so a scorecard shows at once
    return _report_page(request, current, state, name, "scorecards.html", team=team, rep=rep,
                        reps=[r for r in reps if r.role != "manager"], teams=teams)


@router.get("/ui/trends")
def trends(request: Request, current: SignedPage, state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "trends"
    return _report_page(request, current, state, "trends", "report.html", team=text(request, "team"),
                        rep=text(request, "rep"))


@router.get("/ui/funnel")
def funnel(request: Request, current: SignedPage, state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "funnel"
    return _report_page(request, current, state, "funnel", "report.html", team=text(request, "team"),
                        rep=text(request, "rep"))


@router.get("/ui/reports")
def report_index(current: SignedPage) -> Response:
    current.active = "reports"
    listed = [(name, OWN_PAGES.get(name, f"/ui/reports/{name}")) for name in REPORTS]
    return render(current, "reports.html", listed=listed)


@router.get("/ui/reports/{name}")
def any_report(name: str, request: Request, current: SignedPage,
               state: Annotated[WebState, Depends(web_state)]) -> Response:
    if name not in REPORTS:
        raise not_found(f"no report {name!r}")
    current.active = "reports"
    return _report_page(request, current, state, name, "report.html", team=text(request, "team"),
                        rep=text(request, "rep"))
