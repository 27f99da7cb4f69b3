"""The HTTP API against a real store (SQLite and PostgreSQL): ingest, idempotency, effects, late
events, policies, reviews, escalations, webhooks, limits, health, metrics, and bad input that
never becomes a 500 nor costs stored data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadclock.api import ApiSettings, create_app, create_token
from leadclock.notify.channels.inapp import InAppChannel
from leadclock.notify.outbox import OutboxRow
from leadclock.policy import preset_text
from leadclock.store import Store

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # Wed 10:00 JST, inside b2b-saas business hours
HUBSPOT_SECRET = "hs-client-secret"
GENERIC_SECRET = "generic-secret"
# The same policy with a slower first-contact target: a second version.
SLOWER = "extends: b2b-saas\nsources:\n  demo_request:\n    sla:\n      first_contact: {target: 10m}\n"


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Api:
    client: TestClient
    store: Store
    clock: FrozenClock
    headers: dict[str, str]

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(path, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kwargs)


def _settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "hubspot_client_secret": HUBSPOT_SECRET, "generic_webhook_secret": GENERIC_SECRET,
        "rate_limit_per_second": 1000.0, "rate_limit_burst": 1000,
    }
    return ApiSettings(**{**values, **overrides})


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    clock = FrozenClock(T0 + timedelta(minutes=30))
    app = create_app(db_url, clock=clock, settings=_settings())
    store = app.state.leadclock.store
    token = create_token(store, "admin", name="root")
    with TestClient(app) as client:
        yield Api(client, store, clock, {"Authorization": f"Bearer {token}"})


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def created(event_id: str, lead: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "type": "lead.created", "at": at(minutes), "lead": lead, "source": "demo_request", **fields}


def assigned(event_id: str, lead: str, rep: str, minutes: float = 0.5) -> dict[str, Any]:
    return {"id": event_id, "type": "lead.assigned", "at": at(minutes), "lead": lead, "rep": rep}


def call(event_id: str, lead: str, rep: str, minutes: float) -> dict[str, Any]:
    return {"id": event_id, "type": "activity", "at": at(minutes), "lead": lead, "rep": rep,
            "channel": "call", "outcome": "connected"}


def upload(api: Api, text: str | None = None) -> dict[str, Any]:
    response = api.client.post("/policies", content=text or preset_text("b2b-saas"),
                               headers={**api.headers, "Content-Type": "text/yaml"})
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "field", "details"} <= set(body["error"]), body
    return body["error"]


# --------------------------------------------------------------------------- events


def test_ingest_one_returns_its_effects_and_is_idempotent(api: Api) -> None:
    refused = api.post("/events", created("e1", "L-1"))
    assert refused.status_code == 409 and error_of(refused)["code"] == "no_policy"
    assert api.store.event_count() == 0
    upload(api)

    first = api.post("/events", created("e1", "L-1"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "accepted" and body["lead"]["id"] == "L-1"
    assert [e["stage"] for e in body["clocks_started"]] == ["assignment"]

    assignment = api.post("/events", assigned("e2", "L-1", "yamada")).json()
    assert assignment["assignment"] == {"owner": "yamada", "status": "assigned"}
    assert {e["stage"] for e in assignment["clocks_started"]} >= {"first_contact"}
    kinds = {(e["kind"], e["stage"]) for e in assignment["effects"]}
    assert ("clock_stopped", "assignment") in kinds and ("clock_breached", "first_contact") in kinds

    again = api.post("/events", assigned("e2", "L-1", "someone-else"))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate" and again.json()["effects"] == []
    assert api.store.event_count() == 2
    assert api.store.lead("L-1").owner == "yamada"  # the first copy of an id wins


def test_batch_reports_every_item_and_stores_only_the_good_ones(api: Api) -> None:
    upload(api)
    api.post("/events", created("e0", "L-0"))
    items = [
        created("e1", "L-1"),
        assigned("e2", "L-1", "yamada"),
        created("e0", "L-0"),  # stored before: duplicate
        assigned("e2", "L-1", "yamada"),  # repeated within the batch: duplicate
        {"id": "e3", "type": "lead.teleported", "at": at(1), "lead": "L-1"},
        {"id": "e4", "type": "activity", "at": "yesterday", "lead": "L-1"},
        {"id": "e5", "type": "lead.created", "at": at(1), "lead": "L-5"},  # no source
        call("e6", "L-404", "yamada", 3),  # no such lead
        {"id": "e7", "type": "lead.created", "at": at(1), "lead": "L-7", "source": "x\u0000y"},
        "not an object",
        {"id": "e9", "type": "lead.created", "at": "0001-01-01T00:00:00+00:00", "lead": "L-9", "source": "web"},
    ]
    response = api.post("/events:batch", {"events": items})
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [(i["index"], i["status"], i.get("field")) for i in body["items"]]
    assert statuses == [
        (0, "accepted", None), (1, "accepted", None), (2, "duplicate", None), (3, "duplicate", None),
        (4, "rejected", "type"), (5, "rejected", "at"), (6, "rejected", "source"), (7, "rejected", "lead"),
        (8, "rejected", "source"), (9, "rejected", "(event)"), (10, "rejected", "at"),
    ]
    reasons = {i["index"]: i["reason"] for i in body["items"] if i["status"] == "rejected"}
    assert "unknown event type 'lead.teleported'" in reasons[4]
    assert "unknown lead 'L-404'" in reasons[7] and "NUL" in reasons[8]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 2, 7)
    assert body["leads"]["L-1"]["owner"] == "yamada"
    assert any(e["kind"] == "clock_started" for e in body["effects"]["L-1"])
    assert api.store.event_count() == 3  # e0, e1, e2: nothing of a rejected item was stored
    assert {lead.id for lead in api.store.leads()} == {"L-0", "L-1"}


def test_batch_limits(api: Api) -> None:
    upload(api)
    too_many = api.post("/events:batch", [created(f"e{i}", f"L-{i}") for i in range(1001)])
    assert too_many.status_code == 422 and error_of(too_many)["field"] == "events"
    assert api.post("/events:batch", []).status_code == 422
    assert api.store.event_count() == 0


def test_late_event_is_applied_at_its_time_and_audited(api: Api) -> None:
    upload(api)
    api.post("/events:batch", [created("e1", "L-1"), assigned("e2", "L-1", "yamada")])
    first_contact = next(c for c in api.store.lead("L-1").clocks if c.stage == "first_contact")
    assert first_contact.outcome == "breached"  # 30 minutes on, no contact logged yet
    assert [b.stage for b in api.store.breaches("L-1")] == ["first_contact"]

    late = api.post("/events", call("e3", "L-1", "yamada", 3))  # the call was at 10:03, sent late
    assert late.status_code == 201
    stopped = [e for e in late.json()["effects"] if e["kind"] == "clock_stopped" and e["stage"] == "first_contact"]
    assert stopped and stopped[0]["detail"]["outcome"] == "met"
    record = api.store.lead("L-1")
    assert next(c for c in record.clocks if c.stage == "first_contact").outcome == "met"
    assert record.within_sla and api.store.breaches("L-1") == []
    audit = api.get("/audit", params={"lead": "L-1", "action": "clock.changed"}).json()["items"]
    assert any("first_contact breached -> met" in a["reason"] for a in audit)


# --------------------------------------------------------------------------- policies


def test_policy_upload_validates_versions_and_freezes_running_leads(api: Api) -> None:
    broken = api.client.post("/policies", content="extends: b2b-saas\norg:\n  timezone: Mars/Olympus\nbogus: 1\n",
                             headers={**api.headers, "Content-Type": "text/yaml"})
    assert broken.status_code == 422
    error = error_of(broken)
    assert error["code"] == "invalid_policy"
    assert {(d["field"], d["line"]) for d in error["details"]} == {("org.timezone", 3), ("bogus", 4)}
    assert all(d["reason"] for d in error["details"])
    syntax = api.post("/policies", {"yaml": "name: [unclosed\n", "name": "draft.yaml"})
    assert syntax.status_code == 422 and error_of(syntax)["details"][0]["line"] == 2
    assert api.client.post("/policies", content=b"x", headers={**api.headers, "Content-Type": "image/png"}
                           ).status_code == 415
    assert api.get("/policies").json() == {"active": None, "items": []}

    v1 = upload(api)["version"]
    api.post("/events:batch", [created("e1", "L-old"), assigned("e2", "L-old", "yamada")])
    v2 = api.post("/policies", {"yaml": SLOWER})
    assert v2.status_code == 201 and v2.json()["new_version"] and v2.json()["previous"] == v1
    v2 = v2.json()["version"]
    assert v2 != v1 and api.get("/policies").json()["active"] == v2

    # A new event on the old lead keeps its version; a new lead takes the new one.
    api.post("/events:batch", [call("e3", "L-old", "yamada", 20), created("e4", "L-new", 1),
                               assigned("e5", "L-new", "yamada", 1)])
    old, new = api.store.lead("L-old"), api.store.lead("L-new")
    assert old.policy_version == v1 and {c.policy_version for c in old.clocks} == {v1}
    assert new.policy_version == v2
    assert next(c for c in new.clocks if c.stage == "first_contact").target == "10m"

    # Uploading v1's text again makes it active again (a rollback), without a new version.
    again = upload(api)
    assert again["version"] == v1 and not again["new_version"] and again["active"]
    listed = api.get("/policies").json()
    assert listed["active"] == v1 and len(listed["items"]) == 2
    assert "first_contact: {target: 10m}" in api.get(f"/policies/{v2}").json()["yaml"]
    assert api.get("/policies/nope").status_code == 404


# --------------------------------------------------------------------------- people's actions


def test_breach_review_escalation_and_reassignment_request(api: Api) -> None:
    upload(api)
    api.post("/events:batch", [created("e1", "L-1"), assigned("e2", "L-1", "yamada")])
    path = "/breaches/L-1/first_contact/0/review"
    wrong = api.post(path, {"category": "bad_luck"})
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "category"
    assert api.store.breaches("L-1")[0].reviewed_by is None
    reviewed = api.post(path, {"category": "rep_unavailable", "note": "on a customer call"})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["category"] == "rep_unavailable" and reviewed.json()["reviewed_by"] == "admin:root"
    stored = api.store.breaches("L-1")[0]
    assert (stored.category, stored.note) == ("rep_unavailable", "on a customer call")
    assert api.post("/breaches/L-1/first_contact/7/review", {"category": "system_failure"}).status_code == 404
    assert api.post("/breaches/L-1/first_contact/-1/review", {"category": "system_failure"}).status_code == 422
    assert any(a.action == "breach.reviewed" for a in api.store.audit("L-1"))

    escalated = api.post("/leads/L-1/escalate", {"reason": "named account, $250k", "value": 250000})
    assert escalated.status_code == 201, escalated.text
    effect = escalated.json()["effects"][0]
    assert (effect["kind"], effect["rule"], effect["step"]) == ("escalation", "manual", 0)
    assert effect["recipients"] == ["rep", "manager"] and effect["owner"] == "yamada"
    second = api.post("/leads/L-1/escalate", {"reason": "still nothing", "notify": ["sales_ops"]}).json()
    assert second["effects"][0]["step"] == 1
    assert api.post("/leads/L-1/escalate", {}).status_code == 422
    assert api.post("/leads/L-404/escalate", {"reason": "x"}).status_code == 404

    requested = api.post("/leads/L-1/reassign-request", {"reason": "out sick"})
    assert requested.status_code == 201
    assert {e["kind"] for e in requested.json()["effects"]} == {"reassignment_requested", "escalation"}
    manual = [e for e in api.store.effects("L-1") if e.rule == "manual"]
    assert sorted(e.kind for e in manual) == ["escalation", "escalation", "escalation", "reassignment_requested"]
    actions = [a.action for a in api.store.audit("L-1")]
    assert actions.count("lead.escalated") == 2 and "lead.reassignment_requested" in actions
    lead = api.get("/leads/L-1").json()
    assert {e["rule"] for e in lead["effects"]} >= {"manual"} and lead["breaches"][0]["category"]


def test_roster_inbox_and_lists(api: Api) -> None:
    upload(api)
    api.post("/events:batch", [created("e1", "L-1"), assigned("e2", "L-1", "yamada"), created("e3", "L-2")])
    put = api.client.put("/reps/yamada", json={"name": "山田花子", "team": "east", "status": "away"},
                         headers=api.headers)
    assert put.status_code == 200, put.text
    assert put.json().items() >= {"team": "east", "status": "away", "known": True, "name": "山田花子"}.items()
    refused = api.client.put("/reps/yamada", json={"hours": "weekends"}, headers=api.headers)
    assert refused.status_code == 422 and error_of(refused)["field"] == "hours"
    assert api.get("/reps/yamada").json()["status"] == "away"
    assert api.get("/reps/nobody").status_code == 404
    assert [r["id"] for r in api.get("/reps").json()["items"]] == ["yamada"]

    assert {lead["id"] for lead in api.get("/leads").json()["items"]} == {"L-1", "L-2"}
    assert [lead["id"] for lead in api.get("/leads", params={"owner": "yamada"}).json()["items"]] == ["L-1"]
    assert [lead["id"] for lead in api.get("/leads", params={"breached": "true", "limit": 1}).json()["items"]]
    open_clocks = api.get("/clocks", params={"open": "true"}).json()["items"]
    assert open_clocks and all(c["outcome"] == "open" for c in open_clocks)
    due = api.get("/clocks", params={"due_before": at(1)}).json()["items"]
    assert {c["stage"] for c in due} == {"assignment"}
    assert api.get("/clocks", params={"due_before": "2026-07-08T10:00:00"}).status_code == 422  # no offset
    assert api.get("/leads/L-404").status_code == 404

    channel = InAppChannel.__new__(InAppChannel)
    channel.store, channel.clock, channel.name = api.store, api.clock, "inapp"
    for key, who in (("k1", "root"), ("k2", "someone-else")):
        channel.send(OutboxRow(0, key, "inapp", "inapp", who, "en", f"hello {who}", "body", "", {}, "pending",
                               0, None, None, None, None, T0, None, None))
    inbox = api.get("/inbox").json()
    assert inbox["recipient"] == "root" and inbox["unread"] == 1 and len(inbox["items"]) == 1
    mine, theirs = inbox["items"][0]["id"], inbox["items"][0]["id"] + 1
    assert api.post(f"/inbox/{mine}/read").json()["read_at"] == api.clock().isoformat()
    assert api.post(f"/inbox/{mine}/read").status_code == 200  # idempotent
    assert api.post(f"/inbox/{theirs}/read").status_code == 404  # someone else's
    assert api.get("/inbox", params={"unread": "true"}).json()["items"] == []


# --------------------------------------------------------------------------- webhooks


def _hubspot(api: Api, payload: Any, *, timestamp: datetime | None = None, secret: str = HUBSPOT_SECRET,
             tamper: bool = False) -> Any:
    body = json.dumps(payload).encode()
    stamp = str(int((timestamp or api.clock()).timestamp() * 1000))
    uri = "http://testserver/webhooks/hubspot"
    signed = hmac.new(secret.encode(), b"POST" + uri.encode() + body + stamp.encode(), hashlib.sha256).digest()
    headers = {"X-HubSpot-Signature-v3": base64.b64encode(signed).decode(), "X-HubSpot-Request-Timestamp": stamp,
               "Content-Type": "application/json"}
    return api.client.post("/webhooks/hubspot", content=body + (b" " if tamper else b""), headers=headers)


def test_hubspot_webhook_verifies_v3_signatures_and_maps_contact_events(api: Api) -> None:
    upload(api)
    ms = int((T0 + timedelta(minutes=2)).timestamp() * 1000)
    payload = [
        {"eventId": 101, "subscriptionId": 9, "portalId": 42, "occurredAt": ms, "subscriptionType": "contact.creation",
         "objectId": 555, "properties": {"hs_analytics_source": {"value": "demo_request"}, "email": "a@example.com"}},
        {"eventId": 102, "portalId": 42, "occurredAt": ms + 1000, "subscriptionType": "contact.propertyChange",
         "objectId": 555, "propertyName": "hubspot_owner_id", "propertyValue": "7001"},
        {"eventId": 103, "portalId": 42, "occurredAt": ms + 2000, "subscriptionType": "contact.propertyChange",
         "objectId": 555, "propertyName": "hs_lead_status", "propertyValue": "IN_PROGRESS"},
        {"eventId": 104, "portalId": 42, "occurredAt": ms, "subscriptionType": "deal.creation", "objectId": 1},
        {"eventId": 105, "portalId": 42, "occurredAt": "soon", "subscriptionType": "contact.creation", "objectId": 2},
    ]
    assert _hubspot(api, payload, tamper=True).status_code == 401
    assert _hubspot(api, payload, secret="wrong").status_code == 401
    expired = _hubspot(api, payload, timestamp=api.clock() - timedelta(minutes=6))
    assert expired.status_code == 401 and error_of(expired)["field"] == "X-HubSpot-Request-Timestamp"
    assert api.client.post("/webhooks/hubspot", json=payload).status_code == 401
    assert api.store.event_count() == 0

    delivered = _hubspot(api, payload)
    assert delivered.status_code == 200, delivered.text
    body = delivered.json()
    assert [i["status"] for i in body["items"]] == ["accepted", "accepted", "accepted", "ignored", "rejected"]
    assert body["items"][4]["field"] == "occurredAt"
    lead = api.store.lead("hubspot-555")
    assert (lead.source, lead.owner, lead.status) == ("demo_request", "7001", "working")
    assert lead.attributes.get("email") == "a@example.com"
    # HubSpot retries a delivery it thinks failed: the same events change nothing.
    redelivered = _hubspot(api, payload).json()
    assert [i["status"] for i in redelivered["items"][:3]] == ["duplicate"] * 3
    assert api.store.event_count() == 3


def test_hubspot_owner_ids_map_to_reps_through_the_roster(api: Api) -> None:
    # The same mapping the owner push-back uses: our own update echoing back is the same rep.
    upload(api)
    api.store.upsert_rep("sato", team="east", contact={"hubspot_owner_id": "7001"})
    ms = int((T0 + timedelta(minutes=2)).timestamp() * 1000)
    delivered = _hubspot(api, [
        {"eventId": 201, "portalId": 42, "occurredAt": ms, "subscriptionType": "contact.creation",
         "objectId": 556, "properties": {"hs_analytics_source": {"value": "demo_request"}}},
        {"eventId": 202, "portalId": 42, "occurredAt": ms + 1000, "subscriptionType": "contact.propertyChange",
         "objectId": 556, "propertyName": "hubspot_owner_id", "propertyValue": "7001"},
    ])
    assert delivered.status_code == 200, delivered.text
    assert api.store.lead("hubspot-556").owner == "sato"  # type: ignore[union-attr]


def test_generic_webhook_checks_its_hmac(api: Api) -> None:
    upload(api)
    body = json.dumps([created("g1", "L-g"), assigned("g2", "L-g", "sato")]).encode()
    good = "sha256=" + hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    bad = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    assert api.client.post("/webhooks/generic", content=body, headers={"X-Leadclock-Signature": bad}).status_code == 401
    assert api.client.post("/webhooks/generic", content=body).status_code == 401
    assert api.store.event_count() == 0
    response = api.client.post("/webhooks/generic", content=body, headers={"X-Leadclock-Signature": good})
    assert response.status_code == 200 and response.json()["accepted"] == 2
    assert api.store.lead("L-g").owner == "sato"


def test_webhooks_are_off_until_configured(db_url: str) -> None:
    app = create_app(db_url, settings=ApiSettings())
    with TestClient(app) as client:
        assert client.post("/webhooks/hubspot", content=b"[]").status_code == 404
        assert client.post("/webhooks/generic", content=b"[]").status_code == 404


# --------------------------------------------------------------------------- limits


def test_body_too_large_is_413_before_parsing(db_url: str) -> None:
    app = create_app(db_url, settings=_settings(max_body_bytes=1000, max_batch_body_bytes=4000))
    token = create_token(app.state.leadclock.store, "admin", name="root")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        declared = client.post("/events", content=b"{" + b" " * 2000 + b"}", headers=headers)
        assert declared.status_code == 413 and error_of(declared)["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield from (b" " * 500 for _ in range(5))

        streamed = client.post("/events", content=chunks(), headers=headers)
        assert streamed.status_code == 413 and error_of(streamed)["code"] == "payload_too_large"
        # Batches get the larger limit: 2,000 bytes is fine there (and then simply bad JSON).
        assert client.post("/events:batch", content=b"[" + b" " * 2000, headers=headers).status_code == 400
        assert client.post("/events:batch", content=b" " * 5000, headers=headers).status_code == 413


def test_rate_limit_answers_429_with_retry_after(db_url: str) -> None:
    app = create_app(db_url, settings=_settings(rate_limit_per_second=0.01, rate_limit_burst=3))
    store = app.state.leadclock.store
    first, second = create_token(store, "ops", name="a"), create_token(store, "ops", name="b")
    with TestClient(app) as client:
        statuses = [client.get("/leads", headers={"Authorization": f"Bearer {first}"}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/leads", headers={"Authorization": f"Bearer {first}"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert error_of(limited)["code"] == "rate_limited"
        # Buckets are per token.
        assert client.get("/leads", headers={"Authorization": f"Bearer {second}"}).status_code == 200


# --------------------------------------------------------------------------- health and metrics


def test_healthz_reports_lag_and_metrics_count(api: Api) -> None:
    upload(api)
    api.clock.at = T0 + timedelta(seconds=10)  # before the assignment deadline (30 s)
    api.post("/events", created("e1", "L-1"))
    health = api.client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["oldest_overdue_clock"] is None

    api.clock.at = T0 + timedelta(minutes=20)  # nobody fired the assignment clock since
    health = api.client.get("/healthz").json()
    assert health["status"] == "degraded" and health["database"]["ok"]
    assert health["oldest_overdue_clock"]["stage"] == "assignment"
    assert health["worker_lag_seconds"] == pytest.approx(20 * 60 - 30)

    metrics = api.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for line in ("leadclock_events_stored_total 1.0", 'leadclock_clocks_open{stage="assignment"} 1.0',
                 'leadclock_api_events_total{outcome="accepted"} 1.0', "leadclock_worker_lag_seconds 1170.0"):
        assert line in text
    for name in ("leadclock_breaches_total", "leadclock_notifications_sent_total",
                 "leadclock_notifications_failed_total", "leadclock_outbox_lag_seconds"):
        assert f"# TYPE {name}" in text
    assert api.client.get("/metrics").status_code == 401


# --------------------------------------------------------------------------- bad input


MALFORMED: list[tuple[str, str, Any, int]] = [
    # (method, path, body: bytes are sent as is, anything else as JSON, expected status)
    ("POST", "/events", b"{not json", 400),
    ("POST", "/events", b"", 400),
    ("POST", "/events", b"\xff\xfe\x00garbage", 400),
    ("POST", "/events", b'{"id": "n", "type": "lead.created", "at": NaN}', 400),
    ("POST", "/events", b"[" * 100_000, 400),
    ("POST", "/events", b'{"id": 1' + b"0" * 5000 + b"}", 400),
    ("POST", "/events", [], 422),
    ("POST", "/events", 42, 422),
    ("POST", "/events", {}, 422),
    ("POST", "/events", {"id": True, "type": "lead.created", "at": at(0), "lead": "L", "source": "x"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": at(0), "lead": 7, "source": "x"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": at(0), "lead": "L", "source": "x",
                         "employees": 10**30}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": at(0), "lead": "L", "source": "x",
                         "employees": 1e308}, 422),
    ("POST", "/events", {"id": "x", "type": "opportunity.created", "at": at(0), "lead": "L", "amount": -1}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.exploded", "at": at(0), "lead": "L"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": "2026-02-30T10:00:00+09:00", "lead": "L",
                         "source": "x"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": "2026-07-08T10:00:00", "lead": "L",
                         "source": "x"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": "9999-12-31T23:59:59-05:00", "lead": "L",
                         "source": "x"}, 422),
    ("POST", "/events", {"id": "x", "type": "lead.created", "at": 1720000000, "lead": "L", "source": "x"}, 422),
    # A lone surrogate, escaped in the JSON text as a client would send it.
    ("POST", "/events", json.dumps({"id": "x", "type": "lead.updated", "at": at(0), "lead": "L",
                                    "note": "\ud800"}).encode(), 422),
    ("POST", "/events", {"id": "x", "type": "lead.status", "at": at(0), "lead": "L", "status": "nurture",
                         "revisit": "0001-01-01"}, 422),
    ("POST", "/events", {"id": "x", "type": "activity", "at": at(0), "lead": "L", "rep": "r", "channel": "fax",
                         "outcome": "sent"}, 422),
    ("POST", "/events:batch", {"events": "all of them"}, 422),
    ("POST", "/events:batch", {"events": [None, 1, "x"]}, 200),
    ("GET", "/leads?limit=0", None, 422),
    ("GET", "/leads?limit=99999999999999999999999", None, 422),
    ("GET", "/leads?breached=perhaps", None, 422),
    ("GET", "/leads/%00", None, 400),
    ("GET", "/leads?owner=%00", None, 400),
    ("GET", "/clocks?due_before=tomorrow", None, 422),
    ("GET", "/clocks?due_before=9999-12-31T23:59:59-05:00", None, 422),
    ("GET", "/leads/" + "x" * 5000, None, 404),
    ("POST", "/breaches/L/first_contact/99999999999999999999/review", {"category": "system_failure"}, 422),
    ("POST", "/breaches/L/first_contact/zero/review", {"category": "system_failure"}, 422),
    ("POST", "/breaches/L/first_contact/0/review", {"category": ["system_failure"]}, 422),
    ("POST", "/breaches/L/first_contact/0/review", b"null", 422),
    ("POST", "/leads/L/escalate", {"reason": "x", "value": "a lot"}, 422),
    ("POST", "/leads/L/escalate", {"reason": "x", "surprise": 1}, 422),
    ("POST", "/inbox/0/read", None, 422),
    ("POST", "/inbox/99999999999999999999999/read", None, 422),
    ("PUT", "/reps/yamada", {"team": 5}, 422),
    ("PUT", "/reps/yamada", {"status": "asleep"}, 422),
    ("PUT", "/reps/%20yamada", {"team": "east"}, 422),
    ("POST", "/policies", {"yaml": 5}, 422),
    ("POST", "/policies", {"yaml": "a: b\x00"}, 422),
    ("POST", "/policies", b'{"yaml": "sources: [1, 2"}', 422),
    ("POST", "/policies", {"yaml": "extends: no-such-preset\n"}, 422),
    ("POST", "/policies", {"yaml": "- just\n- a list\n"}, 422),
    ("POST", "/policies", {"yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))}, 422),
    ("POST", "/tokens", {"role": "emperor", "name": "x"}, 422),
    ("POST", "/tokens", {"role": "manager", "name": "x"}, 422),
    ("DELETE", "/tokens/-5", None, 422),
    ("PATCH", "/leads", None, 405),
    ("GET", "/no/such/route", None, 404),
]


def test_no_malformed_request_is_a_500_nor_stored(api: Api) -> None:
    upload(api)
    api.post("/events", created("e1", "L"))
    before = (api.store.event_count(), len(api.store.leads()), len(api.store.policy_versions()))
    for method, path, body, expected in MALFORMED:
        kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else (
            {} if body is None else {"json": body})
        response = api.client.request(method, path, headers=api.headers, **kwargs)
        assert response.status_code == expected, (method, path, body if not isinstance(body, bytes) else body[:40],
                                                  response.text[:300])
        if expected >= 400:
            error = error_of(response)
            assert error["message"] and "Traceback" not in response.text
    assert (api.store.event_count(), len(api.store.leads()), len(api.store.policy_versions())) == before


def test_an_unexpected_error_is_a_500_without_a_trace(db_url: str) -> None:
    app = create_app(db_url, settings=_settings())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error" and "reference" in error["message"]
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_tokens_are_made_listed_and_revoked_through_the_api(api: Api) -> None:
    made = api.post("/tokens", {"role": "rep", "name": "yamada's laptop", "rep": "yamada"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith(f"lc_{made.json()['id']}_")
    listed = api.get("/tokens").json()["items"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    rep_headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/leads", headers=rep_headers).status_code == 200
    assert api.client.delete(f"/tokens/{made.json()['id']}", headers=api.headers).json()["revoked_at"]
    revoked = api.client.get("/leads", headers=rep_headers)
    assert revoked.status_code == 401 and revoked.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.client.delete("/tokens/999999", headers=api.headers).status_code == 404


def test_rep_contact_and_locale_are_kept_and_checked(api: Api) -> None:
    upload(api)
    put = api.client.put("/reps/sato", json={"team": "east", "locale": "en",
                                              "contact": {"email": "sato@example.co.jp", "channels": ["inapp"]}},
                         headers=api.headers)
    assert put.status_code == 200, put.text
    assert put.json()["locale"] == "en"
    assert put.json()["contact"] == {"email": "sato@example.co.jp", "channels": ["inapp"]}
    rep = next(r for r in api.store.reps() if r.id == "sato")
    assert rep.locale == "en" and rep.contact == {"email": "sato@example.co.jp", "channels": ["inapp"]}
    for body, field in (({"contact": {"email": "not-an-address"}}, "contact.email"),
                        ({"locale": "fr"}, "locale"),
                        ({"contact": {"pager": "123"}}, "contact.pager")):
        refused = api.client.put("/reps/sato", json=body, headers=api.headers)
        assert refused.status_code == 422 and error_of(refused)["field"] == field, refused.text
    # A refused update changed nothing.
    assert next(r for r in api.store.reps() if r.id == "sato").contact == {"email": "sato@example.co.jp", "channels": ["inapp"]}


def test_a_dead_notification_is_requeued_once(api: Api) -> None:
    from leadclock.notify import outbox

    outbox.enqueue(api.store, [outbox.OutboxMessage(
        dedupe_key="k1", channel="nowhere", channel_type="", recipient="sato", locale="ja",
        subject="s", body_text="t", body_html="h", payload={})])
    row = outbox.list_rows(api.store)[0]
    missing = api.post("/notifications/999/requeue")
    assert missing.status_code == 404 and error_of(missing)["field"] == "row_id"
    early = api.post(f"/notifications/{row.id}/requeue")
    assert early.status_code == 409 and error_of(early)["field"] == "row_id"  # not dead yet
    claimed = outbox.claim(api.store, "w", api.clock())
    outbox.mark_dead(api.store, claimed[0], "no such channel", api.clock())
    assert [r.id for r in outbox.list_dead(api.store)] == [row.id]
    done = api.post(f"/notifications/{row.id}/requeue")
    assert done.status_code == 200 and done.json() == {"id": row.id, "status": "pending"}
    assert outbox.list_dead(api.store) == [] and outbox.get(api.store, row.id).status == "pending"  # type: ignore[union-attr]


def test_a_reassignment_request_is_carried_out_and_notified(api: Api) -> None:
    # base preset: `reassign_requested` → the manager is told and takes the lead (manager_queue).
    upload(api)
    assert api.client.put("/reps/yamada", json={"team": "east", "manager": "kato"}, headers=api.headers).status_code == 200
    # Assigned 4.5 minutes before "now": no escalation of its own has fired yet.
    api.post("/events:batch", [created("e1", "L-1", 25), assigned("e2", "L-1", "yamada", 25.5)])
    requested = api.post("/leads/L-1/reassign-request", {"reason": "out sick"})
    assert requested.status_code == 201, requested.text
    assert requested.json()["owner"] == "kato"
    assert api.store.lead("L-1").owner == "kato"  # type: ignore[union-attr]
    moved = [e for e in api.store.events("L-1") if e.type == "lead.assigned"]
    assert [e.data["rep"] for e in moved] == ["yamada", "kato"] and moved[1].data["by"] == "escalation:manual"
    # The manager hears of it in the in-app inbox (the preset's channel), once.
    from leadclock.notify import outbox

    told = [r for r in outbox.list_rows(api.store) if r.recipient == "kato" and "escalation" in r.dedupe_key]
    assert len(told) == 1
    again = api.post("/leads/L-1/reassign-request", {"reason": "again"})
    assert again.status_code == 403 or again.json()["owner"] == "kato"
