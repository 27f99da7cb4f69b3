"""Operations: /healthz (is it up, is the worker keeping up), /metrics (Prometheus), and the
notifications that failed for good (the outbox's dead letters)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from leadclock.api import queries
from leadclock.api.auth import Principal, authorize
from leadclock.api.context import AppContext, authenticated, get_context, require
from leadclock.api.errors import ApiError, not_found
from leadclock.api.serialize import instant
from leadclock.notify import list_dead, next_due, requeue
from leadclock.notify.outbox import get as get_row
from leadclock.store import AuditEntry, worker_store

router = APIRouter(tags=["operations"])


def _lag(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


@router.get("/healthz", summary="Database reachable, worker lag, oldest overdue unfired clock (no auth)")
def healthz(context: Annotated[AppContext, Depends(get_context)]) -> JSONResponse:
    now = context.now()
    try:
        with context.store._read() as connection:
            connection.execute(text("SELECT 1"))
        overdue = queries.oldest_overdue_clock(context.store, now)
        outbox_due = next_due(context.store)
        late_wakeups, oldest_wakeup = worker_store.overdue(context.store, now, timedelta(seconds=1))
        workers = worker_store.heartbeats(context.store)
    except SQLAlchemyError as exc:
        # Down means down: 503 takes this process out of a load balancer's rotation.
        return JSONResponse({"status": "unavailable", "database": {"ok": False, "error": exc.__class__.__name__},
                             "at": now.isoformat()}, status_code=503)
    lag = max(_lag(now, overdue.due_at if overdue else None), _lag(now, oldest_wakeup))
    outbox_lag = _lag(now, outbox_due)
    # A slow worker is "degraded", still 200: the API itself works, and pulling it from rotation
    # would not make the worker catch up. Monitors alert on the status field and on the lag.
    degraded = max(lag, outbox_lag) > context.settings.max_worker_lag_seconds
    return JSONResponse({
        "status": "degraded" if degraded else "ok",
        "at": now.isoformat(),
        "database": {"ok": True, "dialect": context.store.dialect},
        "worker_lag_seconds": lag,
        "oldest_overdue_clock": None if overdue is None else {
            "lead": overdue.lead, "stage": overdue.stage, "seq": overdue.seq, "due_at": instant(overdue.due_at),
        },
        "outbox_lag_seconds": outbox_lag,
        "wakeups_overdue": late_wakeups,
        "workers": [
            {"worker": w["worker"], "last_tick": instant(w["at"]), "lag_seconds": w["lag_seconds"],
             "fired": w["fired"]}
            for w in workers
        ],
    })


class _StoreCollector(Collector):
    """Reads the numbers at scrape time, so every API process reports the same database-wide
    totals and no counter is lost on restart (the per-process ones say so in their names)."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    def collect(self) -> Iterator[Metric]:
        context = self.context
        now = context.now()
        numbers = queries.counts(context.store)
        overdue = queries.oldest_overdue_clock(context.store, now)
        outbox_due = next_due(context.store)
        late_wakeups, oldest_wakeup = worker_store.overdue(context.store, now, timedelta(seconds=1))
        workers = worker_store.heartbeats(context.store)

        yield CounterMetricFamily("leadclock_events_stored", "Events in the store (all sources).",
                                  value=numbers["events"])
        api_events = CounterMetricFamily("leadclock_api_events", "Events received by this process, by outcome.",
                                         labels=["outcome"])
        webhooks = CounterMetricFamily("leadclock_webhook_deliveries", "Verified webhook deliveries (this process).",
                                       labels=["source"])
        with context.lock:
            counters = dict(context.counters)
        for outcome in ("accepted", "duplicate", "rejected"):
            api_events.add_metric([outcome], counters.get(("events", outcome), 0))
        for source in ("hubspot", "generic"):
            webhooks.add_metric([source], counters.get(("webhooks", source), 0))
        yield api_events
        yield webhooks
        grouped = context.ingests.stats  # group commit (service.grouping), this process
        yield CounterMetricFamily("leadclock_ingest_transactions", "Ingest transactions run by this process.",
                                  value=grouped.transactions)
        yield CounterMetricFamily("leadclock_ingest_deliveries",
                                  "Deliveries (requests) ingested by this process; over transactions, the mean "
                                  "group size.", value=grouped.deliveries)
        yield GaugeMetricFamily("leadclock_leads", "Leads in the store.", value=numbers["leads"])
        clocks = GaugeMetricFamily("leadclock_clocks_open", "Open SLA clocks, by stage.", labels=["stage"])
        for stage, n in sorted(numbers["open_clocks"].items()):
            clocks.add_metric([stage], n)
        yield clocks
        breaches = CounterMetricFamily("leadclock_breaches", "Breached clocks, by stage.", labels=["stage"])
        for stage, n in sorted(numbers["breaches"].items()):
            breaches.add_metric([stage], n)
        yield breaches
        outbox = GaugeMetricFamily("leadclock_outbox_messages", "Outbox rows, by channel type and status.",
                                   labels=["channel_type", "status"])
        sent = CounterMetricFamily("leadclock_notifications_sent", "Notifications delivered.", labels=["channel_type"])
        failed = CounterMetricFamily("leadclock_notifications_failed",
                                     "Notifications that failed for good (dead letters).", labels=["channel_type"])
        for (channel, status), n in sorted(numbers["outbox"].items()):
            outbox.add_metric([channel, status], n)
            if status == "sent":
                sent.add_metric([channel], n)
            elif status == "dead":
                failed.add_metric([channel], n)
        yield outbox
        yield sent
        yield failed
        yield GaugeMetricFamily("leadclock_worker_lag_seconds",
                                "Age of the oldest overdue clock or wake-up nobody has fired (0 when none).",
                                value=max(_lag(now, overdue.due_at if overdue else None), _lag(now, oldest_wakeup)))
        yield GaugeMetricFamily("leadclock_wakeups_overdue", "Wake-ups more than a second late.",
                                value=late_wakeups)
        ticks = GaugeMetricFamily("leadclock_worker_last_tick_timestamp_seconds",
                                  "When each worker last fired something (Unix time).", labels=["worker"])
        for beat in workers:
            ticks.add_metric([beat["worker"]], beat["at"].timestamp())
        yield ticks
        yield GaugeMetricFamily("leadclock_outbox_lag_seconds",
                                "How long the next due notification has waited (0 when none).",
                                value=_lag(now, outbox_due))


def registry_for(context: AppContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(context))
    return registry


@router.get("/metrics", summary="Prometheus metrics (admin/ops token unless metrics_public)",
            response_class=Response)
def metrics(request: Request, context: Annotated[AppContext, Depends(get_context)]) -> Response:
    if not context.settings.metrics_public:
        authorize(authenticated(request, context), "metrics:read")
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/notifications/dead", summary="Notifications that failed for good (dead letters)")
def dead_letters(
    principal: Annotated[Principal, Depends(require("notifications:read"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    rows = list_dead(context.store)
    return {"items": [{
        "id": r.id, "channel": r.channel, "channel_type": r.channel_type, "recipient": r.recipient,
        "subject": r.subject, "attempts": r.attempts, "last_error": r.last_error,
        "created_at": instant(r.created_at),
    } for r in rows]}


@router.post("/notifications/{row_id}/requeue",
             summary="Send a dead notification again, e.g. after fixing a channel's settings")
def requeue_notification(
    row_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: Annotated[Principal, Depends(require("notifications:write"))],
    context: Annotated[AppContext, Depends(get_context)],
) -> dict[str, Any]:
    if get_row(context.store, row_id) is None:
        raise not_found("notification", str(row_id), field="row_id")
    if not requeue(context.store, row_id, now=context.now()):
        raise ApiError(409, "not_requeueable", "row_id: only dead notifications can be requeued",
                       field="row_id")
    context.store.add_audit([AuditEntry(context.now(), principal.actor, "notification.requeued",
                                        reason=f"outbox row {row_id}", detail={"row": row_id})])
    return {"id": row_id, "status": "pending"}
