"""The dashboard as an ASGI app in front of the JSON API: `/` and `/ui/...` go to it, the rest to
the API.

Why a dispatcher rather than `app.include_router`: the API's route table is its security
contract (tests/test_api_auth.py holds every route to a role matrix of bearer tokens, and the
OpenAPI document feeds the schemathesis fuzz test). Cookie-authenticated HTML pages belong to
neither, so they live in their own app with their own error pages (HTML, not the API's JSON
shape) and never appear in `app.routes` or `/openapi.json`. The same store, clock, settings and
policy cache (`AppContext`) serve both, and the API's request limits (body size, NUL in the URL)
wrap the dashboard too.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from leadclock.api.context import AppContext
from leadclock.api.middleware import RequestLimits
from leadclock.web.deps import WebState
from leadclock.web.errors import install_handlers
from leadclock.web.views import assets, breaches, leads, live, policy, reports, signin

PREFIX = "/ui"


def build_dashboard(context: AppContext) -> ASGIApp:
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.state.web = WebState(context)
    install_handlers(web)
    for module in (signin, live, leads, breaches, reports, policy, assets):
        web.include_router(module.router)
    web.mount(f"{PREFIX}/static", StaticFiles(packages=[("leadclock.web", "static")]), name="static")
    return RequestLimits(web, context.settings)


def is_dashboard_path(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


class DashboardDispatch:
    """Pure ASGI: hand `/` and `/ui/...` to the dashboard, everything else to the API."""

    def __init__(self, app: ASGIApp, dashboard: ASGIApp) -> None:
        self.app = app
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_dashboard_path(scope.get("path", "")):
            await self.dashboard(scope, receive, send)
            return
        await self.app(scope, receive, send)


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard from `app` (called by `api.app.create_app`)."""
    context: AppContext = app.state.leadclock
    app.add_middleware(DashboardDispatch, dashboard=build_dashboard(context))


__all__ = ["PREFIX", "DashboardDispatch", "build_dashboard", "is_dashboard_path", "mount_dashboard"]
