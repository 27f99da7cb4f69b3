"""Who may call what: every route of the app x every role (and no token, a bad token, a revoked
token), then what each role sees of the data (a rep their own leads, a manager their team's), and
how soon the in-process token cache lets a revocation bite.

The matrix is keyed by (method, path) and checked against the app's own route table, so a route
added without deciding who may call it fails here before it ships.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadclock.api import (
    ApiSettings,
    create_app,
    create_token,
    list_tokens,
    revoke_token,
    route_table,
)
from leadclock.api.auth import PERMISSIONS
from leadclock.api.tokencache import TokenCache
from leadclock.policy import preset_text
from leadclock.store import Store

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)
ROLES = ("admin", "ops", "manager", "rep", "integration")
HUMAN = {"admin", "ops", "manager", "rep"}
PUBLIC = "public"  # no token needed (docs, health)
SIGNED = "signed"  # webhooks: the signature is the credential; a bearer token neither helps nor hurts

# (method, path) -> roles allowed, or PUBLIC / SIGNED. The one place access is decided for tests.
MATRIX: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/webhooks/hubspot"): SIGNED,
    ("POST", "/webhooks/generic"): SIGNED,
    ("POST", "/events"): {"admin", "integration"},
    ("POST", "/events:batch"): {"admin", "integration"},
    ("GET", "/leads"): HUMAN,
    ("GET", "/leads/{lead_id}"): HUMAN,
    ("POST", "/leads/{lead_id}/escalate"): {"admin", "ops", "manager"},
    ("POST", "/leads/{lead_id}/reassign-request"): {"admin", "manager", "rep"},
    ("GET", "/clocks"): HUMAN,
    ("GET", "/breaches"): HUMAN,
    ("POST", "/breaches/{lead}/{stage}/{seq}/review"): {"admin", "manager"},
    ("GET", "/audit"): HUMAN,
    ("GET", "/reps"): HUMAN,
    ("GET", "/reps/{rep_id}"): HUMAN,
    ("PUT", "/reps/{rep_id}"): {"admin", "ops"},
    ("GET", "/policies"): HUMAN,
    ("GET", "/policies/{version}"): HUMAN,
    ("POST", "/policies"): {"admin", "ops"},
    ("GET", "/inbox"): HUMAN,
    ("POST", "/inbox/{message_id}/read"): HUMAN,
    ("GET", "/notifications/dead"): {"admin", "ops"},
    ("POST", "/notifications/{row_id}/requeue"): {"admin", "ops"},
    ("GET", "/metrics"): {"admin", "ops"},
    ("GET", "/reports/{name}"): HUMAN,
    ("GET", "/tokens"): {"admin"},
    ("POST", "/tokens"): {"admin"},
    ("DELETE", "/tokens/{token_id}"): {"admin"},
}
PARAMS = {"lead_id": "L-east", "lead": "L-east", "stage": "first_contact", "seq": "0", "rep_id": "sato",
          "version": "none", "message_id": "1", "row_id": "1", "name": "compliance"}


@dataclass
class World:
    client: TestClient
    store: Store
    tokens: dict[str, str]  # role or name -> plaintext

    def call(self, method: str, path: str, who: str | None, body: Any = None) -> Any:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens.get(who, who)}"}
        return self.client.request(method, path, headers=headers, json=body)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _seed(client: TestClient, admin: str) -> None:
    headers = {"Authorization": f"Bearer {admin}"}
    assert client.post("/policies", content=preset_text("b2b-saas"),
                       headers={**headers, "Content-Type": "text/yaml"}).status_code == 201
    for rep, team in (("sato", "east"), ("suzuki", "east"), ("tanaka", "west")):
        assert client.put(f"/reps/{rep}", json={"team": team}, headers=headers).status_code == 200
    events: list[dict[str, Any]] = []
    for lead, rep in (("L-east", "sato"), ("L-east-2", "suzuki"), ("L-west", "tanaka"), ("L-moved", "sato")):
        events += [{"id": f"{lead}-c", "type": "lead.created", "at": at(0), "lead": lead, "source": "demo_request"},
                   {"id": f"{lead}-a", "type": "lead.assigned", "at": at(1), "lead": lead, "rep": rep}]
    # L-moved went from sato (east) to tanaka (west); L-team names its team before anyone owns it.
    events += [{"id": "L-moved-r", "type": "lead.assigned", "at": at(2), "lead": "L-moved", "rep": "tanaka"},
               {"id": "L-team-c", "type": "lead.created", "at": at(0), "lead": "L-team", "source": "webinar",
                "team": "east"}]
    response = client.post("/events:batch", json=events, headers=headers)
    assert response.status_code == 200 and response.json()["accepted"] == len(events), response.text


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    app = create_app(db_url, clock=lambda: T0 + timedelta(hours=1),
                     settings=ApiSettings(hubspot_client_secret="s", generic_webhook_secret="s",
                                          rate_limit_per_second=1000, rate_limit_burst=1000))
    store = app.state.leadclock.store
    tokens = {
        "admin": create_token(store, "admin", name="root"),
        "ops": create_token(store, "ops", name="ops"),
        "manager": create_token(store, "manager", team="east", rep="mgr-east", name="east"),
        "manager-west": create_token(store, "manager", team="west", name="west"),
        "rep": create_token(store, "rep", rep="sato", name="sato"),
        "integration": create_token(store, "integration", name="hubspot-sync"),
        "revoked": create_token(store, "admin", name="old"),
    }
    revoke_token(store, int(tokens["revoked"].split("_")[1]))
    with TestClient(app) as client:
        _seed(client, tokens["admin"])
        yield World(client, store, tokens)


def _concrete(world: World, method: str, path: str) -> str:
    params = dict(PARAMS)
    if (method, path) == ("DELETE", "/tokens/{token_id}"):
        # Each call may revoke what it names: give it a token nobody else uses.
        params["token_id"] = create_token(world.store, "ops", name="victim").split("_")[1]
    return path.format(**params)


def test_every_route_has_a_matrix_entry() -> None:
    app = create_app("sqlite://")
    routes = set(route_table(app))
    assert routes == set(MATRIX), f"unlisted: {sorted(routes - set(MATRIX))}; stale: {sorted(set(MATRIX) - routes)}"
    # The route table must not miss what the OpenAPI document lists (a second, independent view).
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= routes
    # Every permission a route can ask for is granted to somebody and known to the matrix's roles.
    assert all(roles and roles <= set(ROLES) for roles in PERMISSIONS.values())


def test_authorization_matrix(world: World) -> None:
    failures = []
    for (method, path), allowed in sorted(MATRIX.items(), key=lambda item: (item[0][1], item[0][0])):
        for who in (None, "not-a-token", "lc_1_wrong", "revoked", *ROLES):
            url = _concrete(world, method, path)
            body = None if method in ("GET", "DELETE") else {}
            response = world.call(method, url, who, body)
            status = response.status_code
            if allowed == PUBLIC:
                ok = status < 400
            elif allowed == SIGNED:
                ok = status == 401 and response.json()["error"]["code"] == "invalid_signature"
            elif who not in ROLES:
                ok = status == 401 and "Bearer" in response.headers.get("WWW-Authenticate", "")
            elif who in allowed:
                ok = status not in (401, 403) and status < 500
            else:
                ok = status == 403 and response.json()["error"]["code"] == "forbidden"
            if not ok:
                failures.append(f"{method} {path} as {who}: {status} {response.text[:120]}")
    assert not failures, "\n".join(failures)


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item.get("id") or item.get("lead") for item in response.json()["items"]}


def test_a_rep_sees_only_the_leads_they_own_or_owned(world: World) -> None:
    assert _ids(world.call("GET", "/leads", "rep")) == {"L-east", "L-moved"}
    assert world.call("GET", "/leads/L-east", "rep").status_code == 200
    assert world.call("GET", "/leads/L-moved", "rep").status_code == 200  # owned it once
    for other in ("L-east-2", "L-west", "L-team", "L-nonexistent"):
        response = world.call("GET", f"/leads/{other}", "rep")
        assert response.status_code == 404, other  # the same answer whether or not it exists
    clocks = world.call("GET", "/clocks", "rep").json()["items"]
    assert clocks and {c["lead"] for c in clocks} <= {"L-east", "L-moved"}
    assert _ids(world.call("GET", "/breaches", "rep")) <= {"L-east", "L-moved"}
    audit = world.call("GET", "/audit", "rep").json()["items"]
    assert {a["lead"] for a in audit} <= {"L-east", "L-moved"}
    assert world.call("GET", "/audit?lead=L-west", "rep").status_code == 404
    assert _ids(world.call("GET", "/reps", "rep")) == {"sato"}
    assert world.call("GET", "/reps/tanaka", "rep").status_code == 404
    # A rep may hand back a lead they own now, not one they used to own.
    assert world.call("POST", "/leads/L-east/reassign-request", "rep", {"reason": "swamped"}).status_code == 201
    moved = world.call("POST", "/leads/L-moved/reassign-request", "rep", {"reason": "mine?"})
    assert moved.status_code == 403
    assert world.call("POST", "/leads/L-west/reassign-request", "rep", {"reason": "x"}).status_code == 404


def test_a_manager_sees_only_their_team(world: World) -> None:
    east = _ids(world.call("GET", "/leads", "manager"))
    assert east == {"L-east", "L-east-2", "L-team"}  # L-moved now belongs to tanaka (west)
    assert _ids(world.call("GET", "/leads", "manager-west")) == {"L-west", "L-moved"}
    assert world.call("GET", "/leads/L-west", "manager").status_code == 404
    breached = _ids(world.call("GET", "/breaches", "manager"))
    assert breached and breached <= {"L-east", "L-east-2", "L-team"}
    review = {"category": "rep_unavailable", "note": "sick"}
    assert world.call("POST", "/breaches/L-east-2/first_contact/0/review", "manager", review).status_code == 200
    assert world.call("POST", "/breaches/L-west/first_contact/0/review", "manager", review).status_code == 404
    assert world.call("POST", "/leads/L-west/escalate", "manager", {"reason": "x"}).status_code == 404
    assert world.call("POST", "/leads/L-east/escalate", "manager", {"reason": "VIP"}).status_code == 201
    assert _ids(world.call("GET", "/reps", "manager")) == {"sato", "suzuki"}
    # Admin and ops see everything.
    everything = {"L-east", "L-east-2", "L-west", "L-moved", "L-team"}
    assert _ids(world.call("GET", "/leads", "ops")) == everything == _ids(world.call("GET", "/leads", "admin"))


def test_the_inbox_is_the_callers_own(world: World) -> None:
    from leadclock.notify.channels.inapp import InAppChannel
    from leadclock.notify.outbox import OutboxRow

    channel = InAppChannel.__new__(InAppChannel)
    channel.store, channel.clock, channel.name = world.store, lambda: T0, "inapp"
    for key, who in (("k1", "sato"), ("k2", "mgr-east")):
        channel.send(OutboxRow(0, key, "inapp", "inapp", who, "en", f"to {who}", "", "", {}, "pending", 0,
                               None, None, None, None, T0, None, None))
    rep = world.call("GET", "/inbox", "rep").json()
    manager = world.call("GET", "/inbox", "manager").json()
    assert [m["subject"] for m in rep["items"]] == ["to sato"]
    assert [m["subject"] for m in manager["items"]] == ["to mgr-east"]
    theirs = manager["items"][0]["id"]
    assert world.call("POST", f"/inbox/{theirs}/read", "rep").status_code == 404


# --------------------------------------------------------------------------- the token cache


@dataclass
class Ticks:
    """A monotonic clock the test moves by hand (the token cache's, not the app's)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Cached:
    client: TestClient
    store: Store
    ticks: Ticks
    moment: list[datetime]  # the app's clock, settable

    def get(self, token: str) -> int:
        return self.client.get("/tokens", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def cached(db_url: str) -> Iterator[Cached]:
    moment = [T0]
    app = create_app(db_url, clock=lambda: moment[0],
                     settings=ApiSettings(rate_limit_per_second=1000, rate_limit_burst=1000,
                                          token_cache_seconds=5))
    ticks = Ticks()
    context = app.state.leadclock
    context.tokens = TokenCache(context.settings.token_cache_seconds, now=ticks)
    with TestClient(app) as client:
        yield Cached(client, context.store, ticks, moment)


def _id(token: str) -> int:
    return int(token.split("_")[1])


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_expires(cached: Cached) -> None:
    token = create_token(cached.store, "admin", name="cli-revoked")
    assert cached.get(token) == 200
    revoke_token(cached.store, _id(token))  # as another API process would
    cached.ticks.now += 4.9
    assert cached.get(token) == 200  # within token_cache_seconds: the documented grace
    cached.ticks.now += 0.1
    assert cached.get(token) == 401


def test_a_token_revoked_through_this_process_is_refused_at_once(cached: Cached) -> None:
    admin, victim = create_token(cached.store, "admin", name="root"), create_token(cached.store, "admin", name="v")
    assert cached.get(victim) == 200
    deleted = cached.client.delete(f"/tokens/{_id(victim)}", headers={"Authorization": f"Bearer {admin}"})
    assert deleted.status_code == 200
    assert cached.get(victim) == 401


def test_a_cached_token_id_with_another_secret_is_refused(cached: Cached) -> None:
    token = create_token(cached.store, "admin", name="root")
    assert cached.get(token) == 200
    assert cached.get(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")) == 401
    assert cached.get(token) == 200


def test_last_use_is_still_recorded_every_minute_with_the_cache(cached: Cached) -> None:
    token = create_token(cached.store, "admin", name="root")

    def last_used() -> datetime | None:
        return next(t.last_used_at for t in list_tokens(cached.store) if t.id == _id(token))

    assert cached.get(token) == 200 and last_used() == T0
    cached.moment[0] = T0 + timedelta(seconds=30)
    assert cached.get(token) == 200 and last_used() == T0  # a cache hit, and not due yet
    cached.moment[0] = T0 + timedelta(minutes=1)
    assert cached.get(token) == 200 and last_used() == T0 + timedelta(minutes=1)


def test_without_the_cache_a_revocation_bites_at_once(db_url: str) -> None:
    app = create_app(db_url, settings=ApiSettings(token_cache_seconds=0))
    store = app.state.leadclock.store
    token = create_token(store, "admin", name="root")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/tokens", headers=headers).status_code == 200
        revoke_token(store, _id(token))
        assert client.get("/tokens", headers=headers).status_code == 401


def test_a_verification_that_raced_a_revocation_is_not_kept() -> None:
    from leadclock.api.auth import Principal

    cache = TokenCache(5, now=Ticks())
    principal = Principal(7, "x", "admin")
    generation = cache.generation  # a request reads token 7's row (still valid) ...
    cache.forget(7)  # ... this process revokes it meanwhile ...
    cache.put(principal, "h" * 64, T0, generation)  # ... and what the request read is dropped
    assert cache.get(7, "h" * 64) is None
    cache.put(principal, "h" * 64, T0, cache.generation)
    entry = cache.get(7, "h" * 64)
    assert entry is not None and entry.principal == principal
    assert cache.get(7, "g" * 64) is None
