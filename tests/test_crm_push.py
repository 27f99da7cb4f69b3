"""Assignments pushed back to the CRM: planning (`notify.crm`) and delivery through the outbox to a
real local HTTP server standing in for HubSpot's CRM API and for a signed-webhook receiver.

The fake HubSpot checks the documented request shape (PATCH /crm/v3/objects/contacts/{id}, a
bearer token, a JSON body of exactly {"properties": {"hubspot_owner_id": ...}}) and answers
unknown contacts and bad tokens the way HubSpot does (its JSON error document). Anything
unexpected is recorded as a problem and fails the test. Delivery tests run on SQLite and
PostgreSQL (the `store` fixture) with a frozen clock moved by hand.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leadclock.notify import NotifyError, Sender, build_channels, outbox
from leadclock.notify.channels import ChannelContext, build_channel, webhook
from leadclock.notify.channels.hubspot import HubSpotChannel
from leadclock.notify.crm import Assignment, assignment_messages
from leadclock.notify.outbox import OutboxMessage
from leadclock.policy import Policy, load_policy_text, load_preset
from leadclock.policy.models import NotificationChannel
from leadclock.store import Store

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SECRET = "crm-hook-secret"
OWNERS = {"sato": "101", "suzuki": "102"}
CONTACT_PATH = re.compile(r"^/crm/v3/objects/contacts/(\d+)$")
NOT_FOUND = {
    "status": "error", "message": "Object not found.  objectId are usually numeric.",
    "correlationId": "9c1f4d2e-0000-4000-8000-000000000404", "category": "OBJECT_NOT_FOUND",
}
UNAUTHORIZED = {
    "status": "error",
    "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
    "correlationId": "9c1f4d2e-0000-4000-8000-000000000401", "category": "INVALID_AUTHENTICATION",
}


class Clock:
    """The injected clock: frozen, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


# --------------------------------------------------------------------------- the fake CRM


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeCrm:
    """HubSpot's contact update (PATCH) and a signed-webhook receiver (POST /hook) on 127.0.0.1."""

    port: int = 0
    missing: set[str] = field(default_factory=set)  # contact ids HubSpot does not know
    owners: dict[str, str] = field(default_factory=dict)  # contact id -> owner id, as HubSpot has it
    updates: list[tuple[str, str]] = field(default_factory=list)  # accepted (contact, owner)
    hooks: list[Call] = field(default_factory=list)
    attempts: int = 0
    problems: list[str] = field(default_factory=list)
    fail: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # injected answers, in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = Call(self.command, self.path, dict(self.headers.items()), body)
                status, headers, document = crm.handle(call)
                reply = json.dumps(document).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_PATCH = _answer
            do_POST = _answer
            do_GET = _answer
            do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            self.attempts += 1
            if self.fail:
                status, headers = self.fail.pop(0)
                return status, headers, {"status": "error", "message": f"injected {status}",
                                         "correlationId": "injected", "category": "INJECTED"}
            if call.method == "POST" and call.path == "/hook":
                self.hooks.append(call)
                return 200, {}, {"received": True}
            return self._contact_update(call)

    def _contact_update(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        # Only the documented request shape is accepted.
        found = CONTACT_PATH.match(call.path)
        if call.method != "PATCH" or found is None:
            self.problems.append(f"unexpected {call.method} {call.path}")
            return 404, {}, {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}
        if call.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, UNAUTHORIZED
        if not call.headers.get("Content-Type", "").startswith("application/json"):
            self.problems.append(f"{call.path}: Content-Type {call.headers.get('Content-Type')!r}")
        try:
            document = json.loads(call.body)
        except ValueError:
            self.problems.append(f"{call.path}: body is not JSON: {call.body[:80]!r}")
            return 400, {}, {"status": "error", "message": "Invalid input JSON", "category": "VALIDATION_ERROR"}
        properties = document.get("properties") if isinstance(document, dict) else None
        if (list(document) != ["properties"] or not isinstance(properties, dict)
                or list(properties) != ["hubspot_owner_id"] or not isinstance(properties["hubspot_owner_id"], str)):
            self.problems.append(f"{call.path}: unexpected body {document!r}")
            return 400, {}, {"status": "error", "message": "Property values were not valid", "category": "VALIDATION_ERROR"}
        contact = found.group(1)
        if contact in self.missing:
            return 404, {}, NOT_FOUND
        owner = properties["hubspot_owner_id"]
        self.owners[contact] = owner
        self.updates.append((contact, owner))
        return 200, {}, {"id": contact, "properties": {"hubspot_owner_id": owner},
                         "createdAt": "2026-07-01T00:00:00Z", "updatedAt": "2026-07-08T01:00:00Z", "archived": False}


@pytest.fixture
def crm() -> Iterator[FakeCrm]:
    fake = FakeCrm()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.problems == []


# --------------------------------------------------------------------------- helpers


def policy_with(channels: dict[str, NotificationChannel], locale: str = "ja") -> Policy:
    base = load_preset("b2b-saas")
    return base.model_copy(update={"channels": channels, "org": base.org.model_copy(update={"locale": locale})})


def crm_policy(fake: FakeCrm, locale: str = "ja", **hubspot: str) -> Policy:
    return policy_with({
        "crm": NotificationChannel(type="hubspot", settings={"token_env": "HUBSPOT_TOKEN", "base_url": fake.base, **hubspot}),
        "hook": NotificationChannel(type="webhook", settings={"url": f"{fake.base}/hook", "secret": SECRET, "assignments": "true"}),
        "alerts": NotificationChannel(type="webhook", settings={"url": f"{fake.base}/alerts", "secret": SECRET}),
        "inapp": NotificationChannel(type="inapp"),
    }, locale)


def assign(lead: str = "hubspot-501", rep: str = "sato", at: datetime = T0, previous: str | None = None,
           **attributes: Any) -> Assignment:
    return Assignment(lead, rep, previous, at, "round robin: sato is next in team tokyo", attributes)


def sender_for(store: Store, policy: Policy, clock: Clock) -> Sender:
    channels = build_channels(policy, store=store, clock=clock, env={"HUBSPOT_TOKEN": TOKEN})
    return Sender(store, channels, "w1", clock)


def only_crm(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    return [m for m in messages if m.channel == "crm"]


# --------------------------------------------------------------------------- planning (pure)


def test_one_message_per_pushing_channel_with_the_ids_hubspot_needs() -> None:
    policy = crm_policy(FakeCrm(port=1))
    messages = assignment_messages(assign(previous="suzuki"), policy, OWNERS)
    assert [(m.channel, m.channel_type, m.recipient) for m in messages] == [("crm", "hubspot", "crm"), ("hook", "webhook", "crm")]
    hubspot, hook = messages
    common = {"type": "assignment", "lead": "hubspot-501", "rep": "sato", "previous": "suzuki",
              "at": "2026-07-08T01:00:00+00:00", "reason": "round robin: sato is next in team tokyo"}
    assert hubspot.payload == {**common, "contact_id": "501", "owner_id": "101"}
    assert hook.payload == common
    assert hubspot.dedupe_key == "assign|hubspot-501|sato|2026-07-08T01:00:00+00:00|crm"
    assert hook.dedupe_key == "assign|hubspot-501|sato|2026-07-08T01:00:00+00:00|hook"
    # The same instant written in Tokyo time is the same assignment, the same keys.
    tokyo = T0.astimezone(timezone(timedelta(hours=9)))
    assert [m.dedupe_key for m in assignment_messages(assign(at=tokyo), policy, OWNERS)] == [m.dedupe_key for m in messages]
    # Another rep or another moment is another push.
    assert only_crm(assignment_messages(assign(rep="suzuki"), policy, OWNERS))[0].payload["owner_id"] == "102"
    later = assignment_messages(assign(at=T0 + timedelta(minutes=1)), policy, OWNERS)
    assert {m.dedupe_key for m in later}.isdisjoint(m.dedupe_key for m in messages)


def test_the_contact_comes_from_the_attributes_else_from_the_lead_id() -> None:
    policy = crm_policy(FakeCrm(port=1))
    [stored] = only_crm(assignment_messages(assign(lead="L-1", hubspot_id=777), policy, OWNERS))
    assert stored.payload["contact_id"] == "777"
    [wins] = only_crm(assignment_messages(assign(lead="hubspot-501", hubspot_id="888"), policy, OWNERS))
    assert wins.payload["contact_id"] == "888"
    [prefixed] = only_crm(assignment_messages(assign(lead="hs:42"), policy, OWNERS, lead_prefix="hs:"))
    assert prefixed.payload["contact_id"] == "42"
    # Neither: the lead is not pushed to HubSpot, the webhook still hears of it.
    assert [m.channel for m in assignment_messages(assign(lead="L-1"), policy, OWNERS)] == ["hook"]
    assert [m.channel for m in assignment_messages(assign(lead="hubspot-"), policy, OWNERS)] == ["hook"]


def test_the_owner_comes_from_the_map_else_from_the_channel_setting() -> None:
    policy = crm_policy(FakeCrm(port=1), owners="sato=201, tanaka = 203")
    assert only_crm(assignment_messages(assign(), policy, OWNERS))[0].payload["owner_id"] == "101"
    assert only_crm(assignment_messages(assign(), policy, {}))[0].payload["owner_id"] == "201"
    assert only_crm(assignment_messages(assign(rep="tanaka"), policy, OWNERS))[0].payload["owner_id"] == "203"
    # A rep HubSpot has no owner for is not pushed.
    assert [m.channel for m in assignment_messages(assign(rep="yamada"), policy, OWNERS)] == ["hook"]


def test_no_pushing_channel_means_no_messages() -> None:
    policy = policy_with({"inapp": NotificationChannel(type="inapp"), "alerts": NotificationChannel(
        type="webhook", settings={"url": "http://127.0.0.1:9/alerts", "secret": SECRET, "assignments": "false"})})
    assert assignment_messages(assign(), policy, OWNERS) == []


def test_japanese_and_english_texts() -> None:
    ja = assignment_messages(assign(lead="L-1", hubspot_id="9"), crm_policy(FakeCrm(port=1), "ja"), OWNERS)
    en = assignment_messages(assign(lead="L-1", hubspot_id="9"), crm_policy(FakeCrm(port=1), "en"), OWNERS)
    assert {(m.locale, m.subject, m.body_text) for m in ja} == {("ja", "L-1 を sato に割り当てました", "L-1 を sato に割り当てました")}
    assert {(m.locale, m.subject, m.body_text) for m in en} == {("en", "L-1 assigned to sato", "L-1 assigned to sato")}
    assert assignment_messages(assign(lead="<b>&"), crm_policy(FakeCrm(port=1), "en"), OWNERS)[0].body_html \
        == "<p>&lt;b&gt;&amp; assigned to sato</p>"


def test_a_naive_time_is_refused_naming_the_lead() -> None:
    with pytest.raises(NotifyError, match="assignment of lead 'hubspot-501': naive datetime"):
        assignment_messages(assign(at=datetime(2026, 7, 8, 10, 0)), crm_policy(FakeCrm(port=1)), OWNERS)


# --------------------------------------------------------------------------- delivery


def test_each_assignment_is_one_patch_of_the_contact_owner(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    messages = [*assignment_messages(assign(), policy, OWNERS),
                *assignment_messages(assign(lead="hubspot-502", rep="suzuki"), policy, OWNERS)]
    assert outbox.enqueue(store, messages, now=T0) == 4
    report = sender_for(store, policy, clock).run_once(clock())
    assert (report.claimed, report.sent, report.errors) == (4, 4, [])
    assert sorted(crm.updates) == [("501", "101"), ("502", "102")]
    assert crm.owners == {"501": "101", "502": "102"}
    assert len(crm.hooks) == 2 and crm.attempts == 4
    assert {r.status for r in outbox.list_rows(store)} == {"sent"}


def test_planning_the_same_assignment_twice_pushes_it_once(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    sender = sender_for(store, policy, clock)
    assert outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0) == 1
    assert outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0) == 0
    assert sender.run_once(clock()).sent == 1
    # Planned again after it was sent (a replay, a retried worker tick): still nothing new.
    assert outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=clock.advance(hours=1)) == 0
    assert sender.run_once(clock.advance(days=1)).claimed == 0
    assert crm.updates == [("501", "101")] and crm.attempts == 1


def test_a_503_is_retried_after_the_back_off(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    sender = sender_for(store, policy, clock)
    outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0)
    crm.fail = [(503, {})]
    report = sender.run_once(clock())
    assert (report.retrying, report.sent) == (1, 0)
    assert "HTTP 503" in report.errors[0][1] and "contact 501" in report.errors[0][1]
    [row] = outbox.list_rows(store)
    assert row.status == "failed" and row.next_attempt_at is not None and row.next_attempt_at > T0
    clock.at = row.next_attempt_at - timedelta(seconds=1)
    assert sender.run_once(clock()).claimed == 0
    assert sender.run_once(clock.advance(seconds=1)).sent == 1
    [row] = outbox.list_rows(store)
    assert (row.status, row.attempts) == ("sent", 2)
    assert crm.updates == [("501", "101")] and crm.attempts == 2


def test_a_429_waits_as_long_as_hubspot_asks(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    sender = sender_for(store, policy, clock)
    outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0)
    crm.fail = [(429, {"Retry-After": "120"})]
    report = sender.run_once(clock())
    assert report.retrying == 1 and "HTTP 429" in report.errors[0][1]
    [row] = outbox.list_rows(store)
    assert row.next_attempt_at == T0 + timedelta(seconds=120)  # longer than the first back-off
    assert sender.run_once(clock.advance(seconds=119)).claimed == 0
    assert sender.run_once(clock.advance(seconds=1)).sent == 1
    assert crm.updates == [("501", "101")] and crm.attempts == 2


def test_hubspot_down_then_back_gets_the_push_once(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    sender = sender_for(store, policy, clock)
    outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0)
    crm.stop()  # connection refused
    report = sender.run_once(clock())
    assert report.retrying == 1 and "refused" in report.errors[0][1].lower()
    crm.start()  # same port
    assert sender.run_once(clock.advance(minutes=2)).sent == 1
    assert crm.updates == [("501", "101")]


def test_an_unknown_contact_is_a_dead_letter_with_hubspots_message(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    sender = sender_for(store, policy, clock)
    crm.missing = {"999"}
    outbox.enqueue(store, only_crm(assignment_messages(assign(lead="hubspot-999"), policy, OWNERS)
                                   + assignment_messages(assign(), policy, OWNERS)), now=T0)
    report = sender.run_once(clock())
    assert (report.dead, report.sent) == (1, 1)
    [dead] = outbox.list_dead(store)
    error = dead.last_error or ""
    assert dead.attempts == 1 and "hubspot crm (contact 999, owner 101): HTTP 404" in error
    assert "OBJECT_NOT_FOUND: Object not found." in error and NOT_FOUND["correlationId"] in error
    assert sender.run_once(clock.advance(days=1)).claimed == 0  # never retried by itself
    assert crm.updates == [("501", "101")] and crm.attempts == 2


def test_a_bad_token_is_a_dead_letter_that_does_not_show_the_token(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)
    channels = build_channels(policy, store=store, clock=clock, env={"HUBSPOT_TOKEN": "pat-na1-revoked"})
    outbox.enqueue(store, only_crm(assignment_messages(assign(), policy, OWNERS)), now=T0)
    assert Sender(store, channels, "w1", clock).run_once(clock()).dead == 1
    [dead] = outbox.list_dead(store)
    assert "HTTP 401 INVALID_AUTHENTICATION: Authentication credentials not found" in (dead.last_error or "")
    assert "revoked" not in (dead.last_error or "") and crm.updates == []


def test_a_row_without_the_ids_is_a_dead_letter_naming_the_field(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0)
    policy = crm_policy(crm)

    def row(key: str, payload: dict[str, Any]) -> OutboxMessage:
        return OutboxMessage(key, "crm", "hubspot", "crm", "ja", "s", "t", "<p>t</p>", payload)

    outbox.enqueue(store, [
        row("no-owner", {"type": "assignment", "contact_id": "501"}),
        row("no-contact", {"type": "assignment", "owner_id": "101"}),
        row("an-alert", {"type": "effect", "contact_id": "501", "owner_id": "101"}),
    ], now=T0)
    assert sender_for(store, policy, clock).run_once(clock()).dead == 3
    errors = {r.dedupe_key: r.last_error or "" for r in outbox.list_dead(store)}
    assert "has no 'owner_id' in its payload" in errors["no-owner"]
    assert "has no 'contact_id' in its payload" in errors["no-contact"]
    assert "of type 'effect'; only 'assignment' messages" in errors["an-alert"]
    assert crm.attempts == 0


def test_the_assignment_webhook_is_signed(store: Store, crm: FakeCrm) -> None:
    clock = Clock(T0 + timedelta(seconds=5))
    policy = crm_policy(crm, "en")
    [planned] = [m for m in assignment_messages(assign(previous="suzuki"), policy, OWNERS) if m.channel == "hook"]
    outbox.enqueue(store, [planned], now=T0)
    assert sender_for(store, policy, clock).run_once(clock()).sent == 1
    [call] = crm.hooks
    signature = call.headers["X-Leadclock-Signature"]
    assert webhook.verify(SECRET, call.body, signature)
    assert not webhook.verify("another secret", call.body, signature)
    assert call.headers["Idempotency-Key"] == planned.dedupe_key
    document = json.loads(call.body)
    assert document["id"] == planned.dedupe_key and document["type"] == "assignment"
    assert document["recipient"] == "crm" and document["text"] == "hubspot-501 assigned to sato"
    assert document["payload"] == {
        "type": "assignment", "lead": "hubspot-501", "rep": "sato", "previous": "suzuki",
        "at": "2026-07-08T01:00:00+00:00", "reason": "round robin: sato is next in team tokyo",
    }
    assert crm.updates == []


# --------------------------------------------------------------------------- settings & policy


def test_settings_errors_name_the_channel_and_the_field() -> None:
    def build(settings: dict[str, str], env: dict[str, str] | None = None) -> None:
        build_channels(policy_with({"crm": NotificationChannel(type="hubspot", settings=settings)}), env=env or {})

    with pytest.raises(NotifyError, match=r"channel 'crm': setting 'token' \(or token_env\) is required"):
        build({})
    with pytest.raises(NotifyError, match=r"channel 'crm': setting token_env names \$HUBSPOT_TOKEN, which is not set"):
        build({"token_env": "HUBSPOT_TOKEN"})
    with pytest.raises(NotifyError, match="channel 'crm': setting 'timeout' must be a number, got 'soon'"):
        build({"token": TOKEN, "timeout": "soon"})
    with pytest.raises(NotifyError, match="channel 'crm': setting 'timeout' must be more than 0"):
        build({"token": TOKEN, "timeout": "0"})
    with pytest.raises(NotifyError, match="channel 'crm': setting 'base_url' must be an http"):
        build({"token": TOKEN, "base_url": "api.hubapi.com"})
    with pytest.raises(NotifyError, match="channel 'crm': setting 'token' must be one printable ASCII word"):
        build({"token_env": "HUBSPOT_TOKEN"}, {"HUBSPOT_TOKEN": "pat\r\nX-Evil: 1"})
    with pytest.raises(NotifyError, match="channel 'crm': setting 'owners' must be rep=owner pairs"):
        assignment_messages(assign(), crm_policy(FakeCrm(port=1), owners="sato:101"), OWNERS)
    bad_flag = policy_with({"hook": NotificationChannel(
        type="webhook", settings={"url": "http://127.0.0.1:9/hook", "secret": SECRET, "assignments": "sometimes"})})
    with pytest.raises(NotifyError, match="channel 'hook': setting 'assignments' must be true or false"):
        assignment_messages(assign(), bad_flag, OWNERS)


def test_defaults_and_the_contact_path_is_quoted() -> None:
    [channel] = build_channels(policy_with({"crm": NotificationChannel(type="hubspot", settings={"token": TOKEN})}),
                               env={}).values()
    assert isinstance(channel, HubSpotChannel)
    assert (channel.base_url, channel.timeout) == ("https://api.hubapi.com", 10.0)
    assert channel.url_for("501") == "https://api.hubapi.com/crm/v3/objects/contacts/501"
    assert channel.url_for("../owners?x=1") == "https://api.hubapi.com/crm/v3/objects/contacts/..%2Fowners%3Fx%3D1"


def test_a_policy_with_a_hubspot_channel_loads() -> None:
    policy = load_policy_text(
        "extends: b2b-saas\nchannels:\n  crm: {type: hubspot, settings: {token_env: HUBSPOT_TOKEN}}\n", "p.yaml"
    )
    assert policy.channels["crm"] == NotificationChannel(type="hubspot", settings={"token_env": "HUBSPOT_TOKEN"})
    spec = policy.channels["crm"]
    channel = build_channel("crm", spec.type, spec.settings, ChannelContext(env={"HUBSPOT_TOKEN": TOKEN}))
    assert isinstance(channel, HubSpotChannel) and channel.token == TOKEN and channel.name == "crm"
