"""Every report by the name people type (`leadclock report NAME`, `GET /reports/NAME`).

Each entry points at a builder `build(request: ReportRequest) -> Report`, imported on first use
so the CLI starts fast and one report's dependencies (matplotlib for charts) load only when asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from leadclock.reports.output import Report, ReportError
from leadclock.reports.params import ReportRequest

Builder = Callable[[ReportRequest], Report]

REPORTS: dict[str, str] = {
    "compliance": "leadclock.reports.live_compliance:build",  # F20
    "scorecard": "leadclock.reports.scorecard:build",  # F21, one rep
    "team-scorecard": "leadclock.reports.scorecard:build_team",  # F21, a team
    "digest": "leadclock.reports.digest:build",  # F18 contents: daily | manager | weekly
    "consequences": "leadclock.reports.consequences:build",  # F19
    "trends": "leadclock.reports.trends:build",  # F22
    "correlation": "leadclock.reports.correlation:build",  # F23
    "root-causes": "leadclock.reports.root_causes:build",  # F24
    "target-review": "leadclock.reports.target_review:build",  # F25
    "funnel": "leadclock.reports.funnel:build",  # F26
}


def builder(name: str) -> Builder:
    target = REPORTS.get(name)
    if target is None:
        raise ReportError("report", f"unknown report {name!r}; known: {', '.join(REPORTS)}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute)  # type: ignore[no-any-return]


def run(name: str, request: ReportRequest) -> Report:
    """Validate the scope (unknown rep / team / source is an error naming it), then build."""
    from leadclock.reports.params import check_scope

    build = builder(name)
    check_scope(request)
    return build(request)
