"""`create_app`: the FastAPI application over one store.

    app = create_app("sqlite:///leadclock.db", settings=ApiSettings(hubspot_client_secret=...))

The clock is injectable (DESIGN principle 2 at the edge): everything time-dependent in a request
(ingest's as-of, token use, webhook timestamp windows, health lag) reads `clock()`, so tests
freeze it. Rate-limit buckets alone use a monotonic clock (see `ratelimit.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from starlette.routing import BaseRoute

import leadclock
from leadclock.api.context import AppContext
from leadclock.api.errors import install_handlers
from leadclock.api.middleware import RequestLimits
from leadclock.api.ratelimit import RateLimiter
from leadclock.api.routes import (
    events,
    inbox,
    leads,
    ops,
    policies,
    reports,
    reps,
    tokens,
    tracking,
    webhooks,
)
from leadclock.api.settings import ApiSettings
from leadclock.store import Store

DESCRIPTION = """Lead-handling SLAs over HTTP: events in (REST and signed webhooks), leads, clocks,
breaches, the roster, policies, the audit trail and the in-app inbox out.

Authenticate with `Authorization: Bearer lc_<id>_<secret>`. Errors always have the shape
`{"error": {"code", "message", "field", "details"}}`."""


def create_app(
    db_url: str,
    *,
    clock: Callable[[], datetime] | None = None,
    settings: ApiSettings | None = None,
) -> FastAPI:
    settings = settings or ApiSettings()
    now = clock or (lambda: datetime.now(UTC))
    store = Store(db_url, now=now)
    # Migrating at start-up is safe with several processes: the store serialises upgrades (an
    # advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite) and an up-to-date schema is a no-op.
    store.upgrade()
    context = AppContext(
        store=store, clock=now, settings=settings,
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="leadclock", version=leadclock.__version__,
                  description=DESCRIPTION, lifespan=lifespan)
    app.state.leadclock = context
    app.state.metrics_registry = ops.registry_for(context)
    install_handlers(app)
    app.add_middleware(RequestLimits, settings=settings)
    for module in (events, leads, tracking, reps, policies, inbox, webhooks, ops, tokens, reports):
        app.include_router(module.router)
    # The dashboard (/ and /ui/...): its own pages and sign-in, outside the API's route table.
    from leadclock.web import mount_dashboard

    mount_dashboard(app)
    return app


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside, sorted.

    Recent FastAPI versions keep an included router as one entry of `app.routes` (holding the
    router's own routes, with the include's prefix); older ones copy the routes in. Both are
    flattened here, so the authorization-matrix test can hold every route to an entry.
    """
    found: set[tuple[str, str]] = set()

    def walk(routes: Sequence[BaseRoute], prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
                continue
            path = getattr(route, "path", None)
            if path is None:
                continue
            for method in getattr(route, "methods", None) or {"GET"}:
                if method != "HEAD":
                    found.add((method, prefix + path))

    walk(app.routes, "")
    return sorted(found, key=lambda item: (item[1], item[0]))


__all__ = ["create_app", "route_table"]
