"""The live view (F20): compliance today / this week / this month, in breach now, under an hour
left, per rep and per source, the 30-day trend; and each rep's running clocks with time left.

The compliance numbers are the `compliance` report's (the same builder the CLI and the digests
use), scoped to the user: a rep sees their own, a manager their team. The page polls a fragment
of itself every 15 s with htmx, so it stays live without a reload (and works, unrefreshed,
without JavaScript).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from leadclock.web import charts
from leadclock.web.deps import SignedPage, WebState, active_policy, principal_of, web_state
from leadclock.web.open_clocks import running_clocks
from leadclock.web.query import text
from leadclock.web.render import Page, render
from leadclock.web.reporting import Outcome, run_report, scope_for

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> Response:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui")
def ui_without_slash() -> Response:
    return RedirectResponse("/ui/", status_code=303)


def _compliance(request: Request, current: Page, state: WebState) -> Outcome:
    principal = principal_of(current)
    scope = scope_for(principal, state.context.store, text(request, "team"), text(request, "rep"))
    return run_report("compliance", current, active_policy(request), scope)


@router.get("/ui/")
def compliance_page(request: Request, current: SignedPage,
                    state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "compliance"
    outcome = _compliance(request, current, state)
    return render(current, "compliance.html", outcome=outcome, view=charts.compliance_view(outcome.report, current),
                  query=request.url.query)


@router.get("/ui/fragments/compliance")
def compliance_fragment(request: Request, current: SignedPage,
                        state: Annotated[WebState, Depends(web_state)]) -> Response:
    outcome = _compliance(request, current, state)
    return render(current, "_compliance.html", outcome=outcome, view=charts.compliance_view(outcome.report, current))


@router.get("/ui/reps")
def reps_page(request: Request, current: SignedPage,
              state: Annotated[WebState, Depends(web_state)]) -> Response:
    current.active = "reps"
    principal = principal_of(current)
    store = state.context.store
    rep = text(request, "rep")
    if rep is not None:
        scope_for(principal, store, None, rep)  # 403 / 404 outside the user's scope
    groups, cut = running_clocks(store, principal, current.now, rep=rep)
    return render(current, "reps.html", groups=groups, cut=cut, rep=rep)
