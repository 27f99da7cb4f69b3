"""Notifications end to end: rendering, planning and bundling, and delivery through real local
receivers (DESIGN principle 5) — an SMTP server (aiosmtpd) and an HTTP server standing in for a
Slack incoming webhook, the Slack Web API and a generic webhook receiver.

The receivers fail the test on anything unexpected: a duplicate delivery (same Slack block_id,
Idempotency-Key or Message-ID), an unknown path, a bad token or signature. Delivery tests run on
SQLite and PostgreSQL through the `store` fixture, with a frozen clock moved by hand.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from leadclock.engine.state import Effect
from leadclock.notify import Sender, build_channels, outbox, plan_messages, render, rep_of
from leadclock.notify.channels import email as email_channel
from leadclock.notify.channels import inapp, slack, webhook
from leadclock.notify.outbox import OutboxMessage, RetryPolicy
from leadclock.notify.templates import KINDS
from leadclock.policy import Policy, load_preset
from leadclock.policy.models import NotificationChannel
from leadclock.store import Store

# The loopback SMTP server takes AUTH without TLS on purpose (see the `smtp` fixture).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

T0 = datetime(2026, 7, 8, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
SECRET = "s3cret-for-tests"
BOT_TOKEN = "xoxb-test-token"
SMTP_USER, SMTP_PASSWORD = "leadclock", "smtp-pass"


class Clock:
    """The injected clock: frozen, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- HTTP receiver


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    document: dict[str, Any]


@dataclass
class HttpReceiver:
    """Slack incoming webhook (/slack/webhook), Slack Web API (/api/chat.postMessage) and a
    signed-webhook receiver (/hook) in one real HTTP server on 127.0.0.1."""

    port: int = 0
    delivered: dict[str, Delivery] = field(default_factory=dict)  # by dedupe evidence
    attempts: int = 0
    problems: list[str] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reply, content_type = receiver.handle(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in (receiver.fail_headers if status >= 400 else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        """Down: nothing listens on the port any more (connections are refused)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        with self.lock:
            self.attempts += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, b'{"error":"injected failure"}', "application/json"
            try:
                document = json.loads(body)
            except ValueError:
                self.problems.append(f"{path}: body is not JSON: {body[:80]!r}")
                return 400, b"invalid_payload", "text/plain"
            if path == "/slack/webhook":
                key = self._block_id(path, document)
                reply, content_type = b"ok", "text/plain"
            elif path == "/api/chat.postMessage":
                if headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
                    self.problems.append(f"{path}: bad Authorization {headers.get('Authorization')!r}")
                    return 200, b'{"ok":false,"error":"invalid_auth"}', "application/json"
                key = self._block_id(path, document)
                reply = json.dumps({"ok": True, "channel": document.get("channel"), "ts": "1.000"}).encode()
                content_type = "application/json"
            elif path == "/hook":
                key = headers.get("Idempotency-Key", "")
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(headers.get("X-Leadclock-Signature", ""), expected):
                    self.problems.append(f"{path}: bad signature for {key!r}")
                if headers.get("X-Leadclock-Timestamp") != str(document.get("timestamp")):
                    self.problems.append(f"{path}: timestamp header and body differ for {key!r}")
                if not key or key != document.get("id"):
                    self.problems.append(f"{path}: Idempotency-Key {key!r} is not the message id")
                reply, content_type = b'{"received":true}', "application/json"
            else:
                self.problems.append(f"unexpected request to {path}")
                return 404, b"not found", "text/plain"
            if key in self.delivered:
                # An idempotent receiver acknowledges a repeat; the test still fails on it.
                self.problems.append(f"{path}: duplicate delivery of {key!r}")
            else:
                self.delivered[key] = Delivery(path, headers, body, document)
            return 200, reply, content_type

    def _block_id(self, path: str, document: dict[str, Any]) -> str:
        blocks = document.get("blocks") or []
        if isinstance(blocks, str):  # form-encoded Web API calls send blocks as JSON text
            blocks = json.loads(blocks)
        key = blocks[0].get("block_id", "") if blocks else ""
        if not key.startswith("lc-"):
            self.problems.append(f"{path}: message without a leadclock block_id")
        return str(key)

    def on(self, path: str) -> list[Delivery]:
        return [d for d in self.delivered.values() if d.path == path]


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
    assert receiver.problems == []


# --------------------------------------------------------------------------- SMTP receiver


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: keeps every message, fails the test on a repeated Message-ID."""

    messages: dict[str, EmailMessage] = field(default_factory=dict)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reply: str | None = None  # e.g. "451 4.3.0 try later" / "550 5.1.1 no such user"
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply is not None:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        key = str(message["Message-ID"])
        if key in self.messages:
            self.problems.append(f"duplicate Message-ID {key}")
        self.messages[key] = message
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    # Authentication over plain SMTP is allowed here (auth_require_tls=False) because it is a
    # loopback test server; the channel itself refuses it unless told allow_plain_auth.
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=recorder.authenticate,
        auth_require_tls=False, auth_required=True,
    )
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()
    assert recorder.problems == []


# --------------------------------------------------------------------------- policy & roster


def policy_for(http: HttpReceiver | None = None, smtp_port: int | None = None, **extra: dict[str, str]) -> Policy:
    base = load_preset("b2b-saas")
    channels = {"inapp": NotificationChannel(type="inapp")}
    if http is not None:
        channels["slack"] = NotificationChannel(type="slack", settings={"webhook_url": f"{http.base}/slack/webhook"})
        channels["slack-bot"] = NotificationChannel(
            type="slack", settings={"token": BOT_TOKEN, "base_url": f"{http.base}/api/"}
        )
        channels["hook"] = NotificationChannel(type="webhook", settings={"url": f"{http.base}/hook", "secret": SECRET})
    if smtp_port is not None:
        channels["mail"] = NotificationChannel(type="email", settings={
            "host": "127.0.0.1", "port": str(smtp_port), "from": "leadclock@example.co.jp",
            "username": SMTP_USER, "password": SMTP_PASSWORD, "allow_plain_auth": "true", **extra.get("mail", {}),
        })
    return base.model_copy(update={"channels": channels})


# Who has which address on which channel; "rep" is the effect's owner (`rep_of`).
ROSTER: dict[str, list[tuple[str, str, str | None]]] = {
    "sato": [("U-SATO", "slack-bot", "ja"), ("sato@example.co.jp", "mail", "ja")],
    "smith": [("U-SMITH", "slack-bot", "en")],
    "manager": [("#sales-managers", "slack", None), ("tanaka", "inapp", None)],
    "sales_ops": [("ops", "hook", "en")],
}


def resolve(role: str, effect: Effect) -> list[tuple[str, str, str | None]]:
    who = rep_of(effect) if role == "rep" else role
    return list(ROSTER.get(who or "", []))


def plan(effects: list[Effect], policy: Policy, **options: Any) -> list[OutboxMessage]:
    """plan_messages with the roster above, limited to the channels the policy has."""

    def resolver(role: str, effect: Effect) -> list[tuple[str, str, str | None]]:
        return [r for r in resolve(role, effect) if r[1] in policy.channels]

    return plan_messages(effects, policy, resolver, **options)


def breach(lead: str = "L-123", at: datetime = T0 + timedelta(minutes=5), owner: str = "sato") -> Effect:
    return Effect("clock_breached", at, lead, "first_contact", owner=owner,
                  detail={"target": "5m", "started_at": at - timedelta(minutes=5)})


def escalation(lead: str, at: datetime, owner: str = "sato") -> Effect:
    return Effect("escalation", at, lead, rule="demo_pricing_not_contacted", step=0,
                  recipients=("manager",), owner=owner, detail={"action": "notify", "owner": owner})


def only(policy: Policy, *names: str) -> Policy:
    return policy.model_copy(update={"channels": {n: c for n, c in policy.channels.items() if n in names}})


def message(key: str, channel: str, recipient: str = "U-SATO", **fields: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "dedupe_key": key, "channel": channel, "channel_type": "", "recipient": recipient,
        "locale": "ja", "subject": f"件名 {key}", "body_text": f"本文 {key}\n",
        "body_html": f"<p>本文 {key}</p>", "payload": {"type": "effect", "key": key},
    }
    values.update(fields)
    return OutboxMessage(**values)


def sender_for(store: Store, policy: Policy, clock: Clock, worker: str = "w1", **options: Any) -> Sender:
    return Sender(store, build_channels(policy, store=store, clock=clock, env={}), worker, clock, **options)


# --------------------------------------------------------------------------- rendering


def test_breach_in_japanese() -> None:
    rendered = render(breach(), "sato", "ja", load_preset("b2b-saas"), source="demo_request")
    assert rendered.subject == "【SLA違反】リード L-123（デモリクエスト）の初回コンタクト期限 10:05 を超過しました"
    assert "期限: 2026年7月8日 10:05 (JST)" in rendered.text
    assert "目標: 5分" in rendered.text
    assert '<html lang="ja">' in rendered.html and "初回コンタクト" in rendered.html


def test_breach_in_english() -> None:
    rendered = render(breach(), "sato", "en", load_preset("b2b-saas"), source="demo_request")
    assert rendered.subject == "[SLA breach] Lead L-123 (Demo request): first contact was due 10:05 JST"
    assert "Due: 2026-07-08 10:05 JST" in rendered.text
    assert "Target: 5 min" in rendered.text


def test_times_follow_the_org_time_zone_and_locale_falls_back_to_the_org() -> None:
    base = load_preset("b2b-saas")
    policy = base.model_copy(update={"org": base.org.model_copy(update={"timezone": "America/New_York", "locale": "en"})})
    rendered = render(breach(), "sato", None, policy)
    assert rendered.subject == "[SLA breach] Lead L-123: first contact was due 21:05 EDT"  # the day before
    assert render(breach(), "sato", "ja-JP", policy).subject.startswith("【SLA違反】")


def test_every_kind_renders_in_both_languages_and_html_is_escaped() -> None:
    policy = load_preset("b2b-saas")
    hostile = "<script>alert(1)</script>"
    for kind in (*KINDS, "something_new"):
        effect = Effect(kind, T0, hostile, "handoff", rule="demo_pricing_not_contacted", step=0,
                        recipients=("manager",), owner="sato",
                        detail={"due_at": T0.isoformat(), "missing": ["budget"], "reason": "wrong_icp",
                                "attempts": 6, "required": 6, "action": "manager_queue"})
        for locale in ("ja", "en"):
            rendered = render(effect, "tanaka", locale, policy)
            assert rendered.subject and hostile in rendered.subject, (kind, locale)
            assert hostile in rendered.text  # plain text is not HTML
            assert hostile not in rendered.html and "&lt;script&gt;" in rendered.html
    refused = Effect("handoff_refused", T0, "L-1", "handoff", owner="sato", detail={"missing": ["budget", "timeline"]})
    assert render(refused, "sato", "ja", policy).subject == "【引き継ぎ不可】リード L-1: 必須項目が未入力です（予算の確認、導入時期）"
    assert render(escalation("L-1", T0), "m", "en", policy).subject == (
        "[Escalation] Lead L-1: Demo / pricing lead not contacted within 15 minutes: alert the manager"
    )


# --------------------------------------------------------------------------- planning


def test_one_message_per_recipient_and_channel_per_effect() -> None:
    policy = policy_for(HttpReceiver(port=1), smtp_port=25)
    effect = Effect("escalation", T0, "L-9", rule="demo_pricing_not_contacted", step=0,
                    recipients=("rep", "manager"), owner="sato", detail={"owner": "sato"})
    messages = plan([effect, breach("L-9", owner="smith")], policy)
    got = sorted((m.recipient, m.channel, m.channel_type, m.locale) for m in messages)
    assert got == [
        ("#sales-managers", "slack", "slack", "ja"),  # no locale in the roster: the org's
        ("U-SATO", "slack-bot", "slack", "ja"),
        ("U-SMITH", "slack-bot", "slack", "en"),
        ("sato@example.co.jp", "mail", "email", "ja"),
        ("tanaka", "inapp", "inapp", "ja"),
    ]
    keys = {m.dedupe_key for m in messages}
    assert f"{effect.dedupe_key}|U-SATO|slack-bot" in keys
    assert all(m.bundle_key is None for m in messages)
    # Planning again gives the same keys: enqueue will store nothing new.
    assert {m.dedupe_key for m in plan([effect, breach("L-9", owner="smith")], policy)} == keys


def test_the_same_person_through_two_roles_is_told_once() -> None:
    def everyone_is_sato(role: str, effect: Effect) -> list[tuple[str, str, str | None]]:
        return [("U-SATO", "slack-bot", "ja")]

    effect = Effect("escalation", T0, "L-9", rule="demo_pricing_not_contacted", step=0,
                    recipients=("rep", "manager"), owner="sato")
    [single] = plan_messages([effect], policy_for(HttpReceiver(port=1)), everyone_is_sato)
    assert single.payload["roles"] == ["rep", "manager"]


def test_escalation_step_channels_choose_among_the_recipients_channels() -> None:
    policy = policy_for(HttpReceiver(port=1))
    rule = policy.escalations["demo_pricing_not_contacted"]
    step = rule.steps[0].model_copy(update={"channels": ["inapp"]})
    policy = policy.model_copy(update={"escalations": {
        **policy.escalations, "demo_pricing_not_contacted": rule.model_copy(update={"steps": [step]}),
    }})
    [told] = plan([escalation("L-1", T0)], policy)
    assert (told.recipient, told.channel) == ("tanaka", "inapp")


def test_reassignment_and_queue_effects_ride_on_their_escalation() -> None:
    policy = policy_for(HttpReceiver(port=1))
    effects = [
        Effect("escalation", T0, "L-1", rule="reassign_requested", step=0, recipients=("manager",),
               owner="sato", detail={"action": "manager_queue"}),
        Effect("manager_queue", T0, "L-1", rule="reassign_requested", step=0, recipients=("manager",), owner="sato"),
        Effect("reassignment_requested", T0, "L-1", rule="x", step=0, owner="sato"),
        Effect("clock_started", T0, "L-1", "first_contact", owner="sato"),
    ]
    messages = plan(effects, policy)
    assert {m.payload["effect"]["kind"] for m in messages} == {"escalation"}
    assert len(messages) == 2  # the manager's slack and in-app inbox


def test_a_burst_for_one_manager_is_one_digest() -> None:
    policy = only(policy_for(HttpReceiver(port=1)), "slack")
    burst = [escalation(f"L-{i:03d}", T0 + timedelta(seconds=2 * i)) for i in range(20)]
    [digest] = plan(burst, policy)
    assert digest.recipient == "#sales-managers" and digest.channel == "slack"
    assert digest.subject == "【SLA通知まとめ】20件（エスカレーション 20件）"
    assert all(f"L-{i:03d}" in digest.body_text for i in range(20))
    assert [item["effect"]["lead"] for item in digest.payload["items"]] == [f"L-{i:03d}" for i in range(20)]
    assert digest.bundle_key == f"#sales-managers|slack|{T0.isoformat()}"
    # The same burst planned again (e.g. after a rolled-back transaction) is the same message.
    assert plan(list(reversed(burst + burst)), policy)[0].dedupe_key == digest.dedupe_key
    # A burst split by the window: the 61st second starts a new message.
    assert len(plan([*burst, escalation("L-late", T0 + timedelta(seconds=61))], policy)) == 2
    assert len(plan(burst, policy, window=timedelta(0))) == 20


def test_a_caught_up_backlog_is_one_digest_per_recipient() -> None:
    policy = only(policy_for(HttpReceiver(port=1)), "slack")
    backlog = [escalation(f"L-{i}", T0 + timedelta(minutes=5 * i)) for i in range(12)]  # an hour
    assert len(plan(backlog, policy)) == 12
    [digest] = plan(backlog, policy, now=T0 + timedelta(hours=1, minutes=1))
    assert len(digest.payload["items"]) == 12


# --------------------------------------------------------------------------- delivery


def test_slack_webhook_delivers_a_burst_as_one_message_once(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0 + timedelta(minutes=1))
    policy = only(policy_for(http), "slack")
    burst = [escalation(f"L-{i:03d}", T0 + timedelta(seconds=i)) for i in range(20)]
    planned = plan(burst, policy)
    assert outbox.enqueue(store, planned, now=clock()) == 1
    assert outbox.enqueue(store, plan(burst, policy), now=clock()) == 0  # enqueue twice: one row

    sender = sender_for(store, policy, clock)
    report = sender.run_once(clock())
    assert (report.claimed, report.sent, report.errors) == (1, 1, [])
    assert sender.run_once(clock.advance(minutes=5)).claimed == 0
    [received] = http.on("/slack/webhook")
    assert received.document["blocks"][0]["block_id"] == slack.block_id(planned[0].dedupe_key)
    assert received.document["text"].startswith("【SLA通知まとめ】20件")
    assert all(f"L-{i:03d}" in received.document["blocks"][0]["text"]["text"] for i in range(20))
    [row] = outbox.list_rows(store)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, clock.at - timedelta(minutes=5))


def test_slack_bot_token_posts_to_the_recipient(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    policy = policy_for(http)
    effect = breach("L-<!channel>")
    outbox.enqueue(store, [m for m in plan([effect], policy) if m.channel == "slack-bot"], now=T0)
    assert sender_for(store, policy, clock).run_once(T0).sent == 1
    [received] = http.on("/api/chat.postMessage")
    assert received.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert received.document["channel"] == "U-SATO"
    text = received.document["blocks"][0]["text"]["text"]
    assert text.startswith("*【SLA違反】リード L-&lt;!channel&gt;の初回コンタクト期限 10:05 を超過しました*")


def test_webhooks_are_signed_and_carry_the_idempotency_key(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0 + timedelta(seconds=30))
    policy = policy_for(http)
    alert = Effect("alert", T0, "L-7", detail={"reason": "unknown_source", "source": "fax"})
    [planned] = plan([alert], policy)
    assert planned.channel == "hook"
    outbox.enqueue(store, [planned], now=T0)
    assert sender_for(store, policy, clock).run_once(clock()).sent == 1

    [received] = http.on("/hook")
    signature = received.headers["X-Leadclock-Signature"]
    assert signature == "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert webhook.verify(SECRET, received.body, signature)
    assert not webhook.verify("wrong secret", received.body, signature)
    assert not webhook.verify(SECRET, received.body.replace(b"L-7", b"L-8"), signature)
    assert received.headers["Idempotency-Key"] == planned.dedupe_key
    assert received.headers["X-Leadclock-Timestamp"] == str(int(clock().timestamp()))
    document = received.document
    assert document["id"] == planned.dedupe_key and document["payload"]["effect"]["lead"] == "L-7"
    assert document["subject"] == '[Alert] Lead L-7 (fax): source "fax" is not in the policy'


def test_retries_back_off_then_succeed_once(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    policy = policy_for(http)
    retry = RetryPolicy(max_attempts=5, base=timedelta(seconds=30))
    sender = sender_for(store, policy, clock, retry=retry)
    outbox.enqueue(store, [message("k1", "hook")], now=T0)
    http.fail_next = 2

    for attempt in (1, 2):
        report = sender.run_once(clock())
        assert (report.claimed, report.retrying, report.sent) == (1, 1, 0)
        assert "HTTP 500" in report.errors[0][1]
        [row] = outbox.list_rows(store)
        assert row.status == "failed" and row.attempts == attempt
        assert row.next_attempt_at == clock() + retry.delay(row.id, attempt)
        # Nothing is tried before the back-off has passed.
        clock.at = row.next_attempt_at - timedelta(seconds=1)
        assert sender.run_once(clock()).claimed == 0
        clock.advance(seconds=1)
    assert sender.run_once(clock()).sent == 1
    [row] = outbox.list_rows(store)
    assert (row.status, row.attempts) == ("sent", 3)
    assert http.attempts == 3 and list(http.delivered) == ["k1"]


def test_a_receiver_down_then_back_gets_everything_once(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    policy = policy_for(http)
    sender = sender_for(store, policy, clock)
    keys = [f"down-{i}" for i in range(4)]
    outbox.enqueue(store, [message(k, "hook") for k in keys] + [message("s-1", "slack")], now=T0)

    http.stop()  # connection refused from now on
    report = sender.run_once(clock())
    assert (report.claimed, report.retrying, report.sent) == (5, 5, 0)
    assert all("refused" in error.lower() for _, error in report.errors)

    http.start()  # same port
    clock.advance(minutes=2)  # past every first back-off (at most 30 s)
    report = sender.run_once(clock())
    assert (report.claimed, report.sent) == (5, 5)
    assert sorted(d.document["id"] for d in http.on("/hook")) == keys
    assert len(http.on("/slack/webhook")) == 1
    assert sender.run_once(clock.advance(hours=1)).claimed == 0
    assert {r.status for r in outbox.list_rows(store)} == {"sent"}


def test_a_refused_message_is_a_dead_letter_until_requeued(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    policy = policy_for(http)
    sender = sender_for(store, policy, clock)
    outbox.enqueue(store, [message("bad", "hook"), message("fine", "hook")], now=T0)
    http.fail_next, http.fail_status = 1, 400

    report = sender.run_once(clock())
    assert (report.dead, report.sent) == (1, 1)
    [dead] = outbox.list_dead(store)
    assert dead.dedupe_key == "bad" and dead.attempts == 1 and "HTTP 400" in (dead.last_error or "")
    assert sender.run_once(clock.advance(days=1)).claimed == 0  # never retried by itself

    assert outbox.requeue(store, dead.id, now=clock())
    assert sender.run_once(clock()).sent == 1
    assert outbox.list_dead(store) == []
    assert sorted(http.delivered) == ["bad", "fine"]


def test_too_many_requests_waits_as_long_as_the_receiver_asks(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    sender = sender_for(store, policy_for(http), clock)
    outbox.enqueue(store, [message("slow", "hook")], now=T0)
    http.fail_next, http.fail_status, http.fail_headers = 1, 429, {"Retry-After": "300"}
    assert sender.run_once(clock()).retrying == 1
    [row] = outbox.list_rows(store)
    assert row.next_attempt_at == T0 + timedelta(seconds=300)
    assert sender.run_once(clock.advance(seconds=299)).claimed == 0
    assert sender.run_once(clock.advance(seconds=1)).sent == 1


def test_a_crashed_sender_loses_nothing_and_nothing_is_sent_twice(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    policy = policy_for(http)
    outbox.enqueue(store, [message(f"lease-{i}", "hook") for i in range(3)], now=T0)
    # Worker A claims and dies before sending anything.
    crashed = outbox.claim(store, "A", clock(), 10, lease_seconds=60)
    assert len(crashed) == 3
    b = sender_for(store, policy, clock, "B", lease_seconds=60)
    assert b.run_once(clock.advance(seconds=59)).claimed == 0  # A's lease still runs
    report = b.run_once(clock.advance(seconds=1))
    assert (report.claimed, report.sent) == (3, 3)
    assert sorted(http.delivered) == ["lease-0", "lease-1", "lease-2"]
    assert http.attempts == 3
    # A wakes up and reports a failure: it no longer holds the lease, nothing changes.
    assert outbox.mark_failed(store, crashed[0], "late", clock()) is None
    assert b.run_once(clock.advance(hours=2)).claimed == 0
    assert {(r.status, r.lease_owner, r.attempts) for r in outbox.list_rows(store)} == {("sent", "B", 2)}


def test_rows_whose_lease_runs_out_mid_batch_are_left_for_the_next_claim(store: Store, http: HttpReceiver) -> None:
    clock = Clock(T0)
    outbox.enqueue(store, [message("slow-batch", "hook")], now=T0)

    class SlowClock(Clock):
        # The batch took long: by the time the row's turn comes, its lease is nearly over.
        def __call__(self) -> datetime:
            return self.at + timedelta(seconds=50)

    sender = Sender(store, build_channels(policy_for(http), store=store, env={}), "w1",
                    SlowClock(T0), lease_seconds=60)
    report = sender.run_once(clock())
    assert (report.claimed, report.skipped, report.sent) == (1, 1, 0)
    assert http.attempts == 0
    assert sender_for(store, policy_for(http), clock).run_once(clock.advance(seconds=60)).sent == 1


def test_email_is_multipart_with_a_stable_message_id(store: Store, smtp: tuple[SmtpRecorder, int]) -> None:
    recorder, port = smtp
    clock = Clock(T0 + timedelta(minutes=6))
    policy = only(policy_for(smtp_port=port), "mail")
    [planned] = plan([breach()], policy, source_of=lambda lead: "demo_request")
    outbox.enqueue(store, [planned], now=clock())
    assert sender_for(store, policy, clock).run_once(clock()).sent == 1

    [received] = recorder.messages.values()
    assert recorder.logins == [SMTP_USER]
    assert recorder.envelopes == [("leadclock@example.co.jp", ["sato@example.co.jp"])]
    assert received["Subject"] == "【SLA違反】リード L-123（デモリクエスト）の初回コンタクト期限 10:05 を超過しました"
    assert received["To"] == "sato@example.co.jp"
    assert received["Message-ID"] == email_channel.message_id(planned.dedupe_key, "example.co.jp")
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None and "期限: 2026年7月8日 10:05 (JST)" in plain.get_content()
    assert html is not None and "<table" in html.get_content()


def test_smtp_answers_decide_between_retry_and_dead_letter(store: Store, smtp: tuple[SmtpRecorder, int]) -> None:
    recorder, port = smtp
    clock = Clock(T0)
    policy = only(policy_for(smtp_port=port), "mail")
    sender = sender_for(store, policy, clock)
    outbox.enqueue(store, [message("m1", "mail", "sato@example.co.jp")], now=T0)
    recorder.reply = "451 4.3.0 mailbox busy, try later"
    assert sender.run_once(clock()).retrying == 1
    recorder.reply = "550 5.1.1 no such user"
    assert sender.run_once(clock.advance(minutes=1)).dead == 1
    assert "550" in (outbox.list_dead(store)[0].last_error or "")
    recorder.reply = None
    outbox.enqueue(store, [message("m2", "mail", "not-an-address")], now=clock())
    assert sender.run_once(clock()).dead == 1
    [refused] = [row for row in outbox.list_dead(store) if row.dedupe_key == "m2"]
    assert "'not-an-address' is not an e-mail address" in (refused.last_error or "")
    assert recorder.messages == {}


def test_email_with_starttls(store: Store, tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = SmtpRecorder()
    port = free_port()
    # The server insists on STARTTLS before anything else, and on authentication (over TLS).
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=recorder.authenticate, auth_required=True)
    controller.start()
    try:
        clock = Clock(T0)
        settings = {"starttls": "true", "ca_file": str(cert), "allow_plain_auth": "false"}
        policy = only(policy_for(smtp_port=port, mail=settings), "mail")
        outbox.enqueue(store, [message("tls-1", "mail", "sato@example.co.jp")], now=T0)
        report = sender_for(store, policy, clock).run_once(clock())
        assert (report.sent, report.errors) == (1, [])
        assert list(recorder.messages) == [email_channel.message_id("tls-1", "example.co.jp")]
        assert recorder.logins == [SMTP_USER]
    finally:
        controller.stop()
    assert recorder.problems == []


def test_in_app_notifications_land_in_the_inbox_once(store: Store) -> None:
    clock = Clock(T0)
    policy = only(policy_for(), "inapp")
    planned = plan([escalation("L-1", T0), escalation("L-2", T0 + timedelta(minutes=5))], policy)
    assert [m.recipient for m in planned] == ["tanaka", "tanaka"]
    outbox.enqueue(store, planned, now=T0)
    sender = sender_for(store, policy, clock)
    assert sender.run_once(clock()).sent == 2
    # A re-delivery (a sender that died before mark_sent) adds nothing.
    sender.channels["inapp"].send(outbox.list_rows(store)[0])
    messages = inapp.inbox(store, "tanaka")
    assert len(messages) == 2 and inapp.unread_count(store, "tanaka") == 2
    assert messages[0].subject.startswith("【エスカレーション】リード L-2")
    assert inapp.mark_read(store, messages[0].id, clock())
    assert not inapp.mark_read(store, messages[0].id, clock())
    assert [m.id for m in inapp.inbox(store, "tanaka", unread_only=True)] == [messages[1].id]


def test_a_channel_the_policy_does_not_name_is_a_dead_letter(store: Store) -> None:
    clock = Clock(T0)
    outbox.enqueue(store, [message("lost", "pager")], now=T0)
    report = sender_for(store, only(policy_for(), "inapp"), clock).run_once(clock())
    assert report.dead == 1
    assert "no channel named 'pager'" in (outbox.list_dead(store)[0].last_error or "")


def test_the_sender_loop_delivers_and_stops(store: Store, http: HttpReceiver) -> None:
    policy = policy_for(http)
    sender = Sender(store, build_channels(policy, store=store, env={}), "loop", max_sleep=0.1)
    outbox.enqueue(store, [message(f"loop-{i}", "hook") for i in range(3)])
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(http.delivered) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        outbox.enqueue(store, [message("loop-late", "hook")])  # picked up within max_sleep
        while len(http.delivered) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert sorted(http.delivered) == ["loop-0", "loop-1", "loop-2", "loop-late"]


def test_channel_settings_are_checked_with_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadclock.notify import NotifyError

    base = load_preset("b2b-saas")
    policy = base.model_copy(update={"channels": {
        "hook": NotificationChannel(type="webhook", settings={"url": "http://127.0.0.1:9/hook"}),
        "both": NotificationChannel(type="slack", settings={"webhook_url": "http://x", "token": "xoxb-1"}),
        "mail": NotificationChannel(type="email", settings={"from": "a@b.c", "username": "u", "password": "p"}),
    }})
    with pytest.raises(NotifyError) as error:
        build_channels(policy, env={})
    text = str(error.value)
    assert "'hook': setting 'secret' (or secret_env) is required" in text
    assert "'both': give either webhook_url" in text
    assert "'mail': refusing to send a password unencrypted" in text
    # Secrets from the environment instead of the policy.
    hook = base.model_copy(update={"channels": {"hook": NotificationChannel(
        type="webhook", settings={"url": "http://127.0.0.1:9/hook", "secret_env": "HOOK_SECRET"})}})
    with pytest.raises(NotifyError, match=r"\$HOOK_SECRET, which is not set"):
        build_channels(hook, env={})
    assert build_channels(hook, env={"HOOK_SECRET": "x"})["hook"].secret == "x"  # type: ignore[attr-defined]
