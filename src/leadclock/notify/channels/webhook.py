"""Signed webhooks: POST the message as JSON, signed with the channel's secret.

Headers (what a receiver checks):
- `X-Leadclock-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`;
- `X-Leadclock-Timestamp: <unix seconds>`, also inside the body as `timestamp`, so the signature
  covers it and a receiver can refuse old replays;
- `Idempotency-Key: <dedupe key>`: the same on every retry of the same message, so a receiver
  that saw it already answers 2xx and does nothing (delivery is at least once).

Settings: `url` (required), `secret` or `secret_env` (required: an unsigned webhook cannot be
told apart from a forged one), `timeout` seconds (default 10).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from leadclock import __version__
from leadclock.notify.channels import ChannelContext, Settings, register
from leadclock.notify.channels.http import post
from leadclock.notify.outbox import OutboxRow

SIGNATURE_HEADER = "X-Leadclock-Signature"
TIMESTAMP_HEADER = "X-Leadclock-Timestamp"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """For receivers: does `signature` (the header's value) match `body`? Constant-time."""
    return hmac.compare_digest(sign(secret, body), signature.strip())


def body_of(row: OutboxRow, timestamp: int) -> bytes:
    """The JSON a receiver gets. Keys sorted so the same message always signs the same way."""
    document: dict[str, Any] = {
        "id": row.dedupe_key,
        "type": row.payload.get("type", "effect"),
        "channel": row.channel,
        "recipient": row.recipient,
        "locale": row.locale,
        "subject": row.subject,
        "text": row.body_text,
        "html": row.body_html,
        "payload": row.payload,
        "created_at": row.created_at.astimezone(UTC).isoformat(),
        "attempt": row.attempts,
        "timestamp": timestamp,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@register("webhook")
class WebhookChannel:
    type = "webhook"

    def __init__(self, name: str, settings: Settings, context: ChannelContext) -> None:
        self.name = name
        self.url = settings.require("url")
        self.secret = settings.require("secret")
        self.timeout = settings.number("timeout", 10.0)
        self.clock = context.clock or (lambda: datetime.now(UTC))

    def send(self, row: OutboxRow) -> None:
        timestamp = int(self.clock().timestamp())
        body = body_of(row, timestamp)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"leadclock/{__version__}",
            SIGNATURE_HEADER: sign(self.secret, body),
            TIMESTAMP_HEADER: str(timestamp),
            "Idempotency-Key": row.idempotency_key,
        }
        post(self.url, body, headers, self.timeout, f"webhook {self.name}")


__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookChannel", "body_of", "sign", "verify"]
