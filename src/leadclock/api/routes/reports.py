"""`GET /reports/{name}`: every measurement report (F18-F26) over HTTP, as `leadclock report` gives it.

Query parameters mirror the CLI's options. `format=json` (the default) answers the `Report` itself
(title, lines, tables with typed columns, notes, data); csv, md and html are the renderings.

Scope follows the caller's token: a rep sees only their own figures (no `rep` given means
themselves; another rep or a team is 403), a manager only their team (forced to it; a rep of
another team is 403), ops and admin everything. Bad input (unknown rep, week, kind, ...) is a 422
naming the parameter, as the CLI exits 2 naming the option.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from leadclock.api import queries
from leadclock.api.auth import Principal
from leadclock.api.context import AppContext, get_context, require
from leadclock.api.errors import ApiError
from leadclock.policy import Policy, load_preset
from leadclock.reports.output import ReportError, render
from leadclock.reports.params import ReportRequest, local_zone, parse_instant
from leadclock.reports.registry import REPORTS, run

router = APIRouter(tags=["reports"])

MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
         "html": "text/html; charset=utf-8"}
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


def _policy(context: AppContext) -> Policy:
    """The active policy (its zone makes the periods), else the base preset (a bare store)."""
    version = queries.active_version(context.store)
    found = context.policy(version) if version else None
    return found if found is not None else load_preset("base")


def _forbidden(message: str, field: str) -> ApiError:
    return ApiError(403, "forbidden", message, field=field)


def scoped(principal: Principal, context: AppContext, rep: str | None, team: str | None) -> tuple[str | None, str | None]:
    """(rep, team) the caller may ask for, forced to their own scope when they gave none."""
    if principal.sees_everything:
        return rep, team
    if principal.role == "rep":
        if team is not None:
            raise _forbidden("a rep token sees its own figures only, not a team's", "team")
        if rep is not None and rep != principal.rep:
            raise _forbidden("a rep token sees its own figures only", "rep")
        return principal.rep, None
    if principal.role == "manager":
        if team is not None and team != principal.team:
            raise _forbidden("a manager token sees its own team only", "team")
        if rep is not None:
            teams = {r.id: r.team for r in queries.rep_rows(context.store, rep=rep)}
            if teams.get(rep) != principal.team:
                raise _forbidden("a manager token sees the reps of its own team only", "rep")
            return rep, None
        return None, principal.team
    raise _forbidden(f"a {principal.role} token may not read reports", "Authorization")


@router.get("/reports/{name}", summary="A measurement report (compliance, scorecards, digests, consequences, ...)",
            responses={200: {"content": {media: {} for media in MEDIA.values()},
                             "description": "The report (JSON by default)"}})
def get_report(
    name: Annotated[str, Path(min_length=1, max_length=100, description=", ".join(REPORTS))],
    principal: Annotated[Principal, Depends(require("reports:read"))],
    context: Annotated[AppContext, Depends(get_context)],
    format: Literal["json", "csv", "md", "html"] = "json",  # the CLI's --format
    lang: Literal["ja", "en"] = "ja",
    start: Annotated[str | None, Query(alias="from", min_length=1, max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", min_length=1, max_length=40)] = None,
    team: Text = None,
    rep: Text = None,
    source: Text = None,
    week: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    month: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    quarter: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    spend: Annotated[float | None, Query(ge=0, le=1e15)] = None,
    revenue_target: Annotated[float | None, Query(ge=0, le=1e15)] = None,
    as_of: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> Response:
    if name not in REPORTS:
        raise ApiError(404, "not_found", f"no report {name!r}; known: {', '.join(REPORTS)}", field="name")
    rep, team = scoped(principal, context, rep, team)
    policy = _policy(context)
    zone = local_zone(policy)
    try:
        now = parse_instant(as_of, ZoneInfo("UTC"), "as_of") or context.now()
        request = ReportRequest(
            store=context.store, policy=policy, now=now, lang=lang,
            start=parse_instant(start, zone, "from"), end=parse_instant(end, zone, "to", end=True),
            team=team, rep=rep, source=source,
            options={"week": week, "month": month, "quarter": quarter, "kind": kind, "spend": spend,
                     "revenue_target": revenue_target},
        )
        report = run(name, request)
    except ReportError as error:
        raise ApiError(422, "invalid_request", f"{error.field}: {error.reason}", field=error.field) from None
    return Response(render(report, format), media_type=MEDIA[format])
