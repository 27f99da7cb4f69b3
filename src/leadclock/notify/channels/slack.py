"""Slack, through slack_sdk: an incoming webhook, or a bot token and chat.postMessage.

Settings:
- `webhook_url` (or `webhook_url_env`): incoming-webhook mode; posts to the webhook's channel.
- `token` (or `token_env`, an `xoxb-...` bot token): Web API mode; posts to `channel` when set
  (a shared channel such as `#sales-alerts`), else to the recipient (a member or channel id
  from the roster: a direct message).
- `base_url`: the Web API's base (default Slack's own); `timeout` seconds (default 10).

Every message carries `block_id = "lc-<hash of the dedupe key>"` on its first block: invisible to
readers, the same on every retry, so a duplicate delivery can be recognised (tests do).
slack_sdk's own retry handlers are turned off: the outbox owns retries, with back-off and dead
letters, and a hidden in-process retry would be a second, untracked delivery.
"""

from __future__ import annotations

import hashlib
import urllib.error
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackClientError

from leadclock.notify.channels import ChannelContext, Settings, register
from leadclock.notify.channels.http import check_status, retry_after_seconds
from leadclock.notify.errors import NotifyError, PermanentError, TransientError
from leadclock.notify.outbox import OutboxRow

SECTION_LIMIT = 3000  # Slack's maximum for a section block's text
FALLBACK_LIMIT = 4000  # keep `text` (notifications, screen readers) well under Slack's 40k
# Web API errors worth retrying; any other `error` (channel_not_found, invalid_auth, ...) will
# fail the same way next time.
TRANSIENT_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout", "team_added_to_org",
})


def escape(text: str) -> str:
    """Slack mrkdwn control characters (a lead id "<!channel>" must not ping everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def block_id(dedupe_key: str) -> str:
    return "lc-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]


def message(row: OutboxRow) -> dict[str, Any]:
    """`text` (the notification preview) and `blocks` (what the client shows)."""
    subject, body = escape(row.subject), escape(row.body_text.strip())
    return {
        "text": _clip(f"{subject}\n{body}", FALLBACK_LIMIT),
        "blocks": [
            {
                "type": "section",
                "block_id": block_id(row.dedupe_key),
                "text": {"type": "mrkdwn", "text": _clip(f"*{subject}*\n{body}", SECTION_LIMIT)},
            }
        ],
    }


@register("slack")
class SlackChannel:
    type = "slack"

    def __init__(self, name: str, settings: Settings, context: ChannelContext) -> None:
        self.name = name
        timeout = int(settings.number("timeout", 10.0))
        webhook_url = settings.get("webhook_url")
        token = settings.get("token")
        if bool(webhook_url) == bool(token):
            raise NotifyError(
                f"channel {name!r}: give either webhook_url (incoming webhook) or token "
                "(bot token, chat.postMessage), not both or neither"
            )
        self.channel = settings.get("channel")
        self.webhook: WebhookClient | None = None
        self.client: WebClient | None = None
        if webhook_url:
            self.webhook = WebhookClient(webhook_url, timeout=timeout, retry_handlers=[])
        else:
            base_url = settings.get("base_url", WebClient.BASE_URL) or WebClient.BASE_URL
            self.client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

    def send(self, row: OutboxRow) -> None:
        what = f"slack {self.name}"
        content = message(row)
        try:
            if self.webhook is not None:
                response = self.webhook.send(text=content["text"], blocks=content["blocks"])
                check_status(response.status_code, response.headers or {}, response.body or "", what)
                return
            assert self.client is not None
            self.client.chat_postMessage(
                channel=self.channel or row.recipient, text=content["text"], blocks=content["blocks"],
                unfurl_links=False, unfurl_media=False,
            )
        except SlackApiError as error:
            response = error.response
            code = response.get("error") if isinstance(response.data, dict) else None
            status = response.status_code
            text = f"{what}: HTTP {status}" + (f" {code}" if code else "")
            if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
                retry = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
                raise TransientError(text, retry_after=retry_after_seconds(retry)) from error
            raise PermanentError(text) from error
        except (urllib.error.URLError, OSError, SlackClientError) as error:
            # Refused or dropped connections, timeouts: the receiver may be back soon.
            raise TransientError(f"{what}: {getattr(error, 'reason', error)}") from error


__all__ = ["SlackChannel", "block_id", "escape", "message"]
