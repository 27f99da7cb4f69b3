"""HubSpot: push an assignment back to the CRM by setting the contact's owner.

Why a channel and not a direct call from the router: the router decides inside a transaction and
must not wait on HubSpot, and a push that fails (HubSpot down, rate limit) must be retried, not
lost. So an assignment becomes an outbox row (`notify.crm.assignment_messages`) and this channel
delivers it with the sender's leases, back-off and dead letters, like any notification.

The request (HubSpot CRM API v3, "Update a contact"):

    PATCH {base_url}/crm/v3/objects/contacts/{contact_id}
    Authorization: Bearer <private app token>
    Content-Type: application/json

    {"properties": {"hubspot_owner_id": "<owner id>"}}

Setting a property to the value it already has is harmless, so the at-least-once delivery of the
outbox needs no idempotency key here: a repeat writes the same owner again.

Answers: 2xx sent; 429 (HubSpot's rate limit, with Retry-After), 408, 5xx and connection
problems are retried; 400/401/403/404 and other 4xx are dead letters at once, with HubSpot's own
`message` (and `category`, `correlationId` for its support) in the error. A redirect is an error
too: following it would send the token somewhere else.

Settings: `token` or `token_env` (a private app token with the `crm.objects.contacts.write`
scope; required), `base_url` (default https://api.hubapi.com), `timeout` seconds (default 10).

Rows carry `{"type": "assignment", "contact_id": ..., "owner_id": ...}` in their payload; any
other row (say an alert an escalation step routed here by mistake) is refused as permanent,
naming what is missing.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from leadclock import __version__
from leadclock.notify.channels import ChannelContext, Settings, register
from leadclock.notify.channels.http import check_status
from leadclock.notify.errors import NotifyError, PermanentError, TransientError
from leadclock.notify.outbox import OutboxRow

DEFAULT_BASE_URL = "https://api.hubapi.com"
CONTACTS_PATH = "/crm/v3/objects/contacts/"
OWNER_PROPERTY = "hubspot_owner_id"
PAYLOAD_TYPE = "assignment"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The request carries the bearer token: a redirect must surface as an error (3xx, permanent),
    # never be followed to another host.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _field(row: OutboxRow, key: str, what: str) -> str:
    value = row.payload.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise PermanentError(f"{what}: outbox row {row.id} has no {key!r} in its payload")
    return str(value).strip()


def hubspot_error(text: str) -> str:
    """HubSpot's error document in one line: "CATEGORY: message (correlationId ...)".

    Every field of it is optional (HubSpot says so), and a proxy in between may answer HTML:
    anything that is not HubSpot's JSON is returned as it came."""
    try:
        document: Any = json.loads(text)
    except ValueError:
        return text
    if not isinstance(document, dict) or not isinstance(document.get("message"), str):
        return text
    line = str(document["message"])
    category = document.get("category")
    if isinstance(category, str) and category:
        line = f"{category}: {line}"
    correlation = document.get("correlationId")
    if isinstance(correlation, str) and correlation:
        line += f" (correlationId {correlation})"
    return line


def request_body(owner_id: str) -> bytes:
    return json.dumps({"properties": {OWNER_PROPERTY: owner_id}}, separators=(",", ":")).encode()


@register("hubspot")
class HubSpotChannel:
    type = "hubspot"

    def __init__(self, name: str, settings: Settings, context: ChannelContext) -> None:
        self.name = name
        self.token = settings.require("token")
        if not self.token.isascii() or not self.token.isprintable() or any(c.isspace() for c in self.token):
            # A newline would be a header injection, and http.client refuses it at send time
            # (which would look like a bug to retry, not a setting to fix).
            raise NotifyError(f"channel {name!r}: setting 'token' must be one printable ASCII word")
        base_url = settings.get("base_url", DEFAULT_BASE_URL) or DEFAULT_BASE_URL
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise NotifyError(f"channel {name!r}: setting 'base_url' must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = settings.number("timeout", 10.0)
        if self.timeout <= 0:
            raise NotifyError(f"channel {name!r}: setting 'timeout' must be more than 0 seconds")

    def url_for(self, contact_id: str) -> str:
        # Quoted whole: an id from a lead's attributes must not be able to change the path.
        return self.base_url + CONTACTS_PATH + urllib.parse.quote(contact_id, safe="")

    def send(self, row: OutboxRow) -> None:
        what = f"hubspot {self.name}"
        kind = row.payload.get("type")
        if kind != PAYLOAD_TYPE:
            raise PermanentError(
                f"{what}: outbox row {row.id} is of type {kind!r}; only {PAYLOAD_TYPE!r} messages can be pushed to HubSpot"
            )
        contact_id = _field(row, "contact_id", what)
        owner_id = _field(row, "owner_id", what)
        what = f"{what} (contact {contact_id}, owner {owner_id})"
        request = urllib.request.Request(
            self.url_for(contact_id),
            data=request_body(owner_id),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"leadclock/{__version__}",
            },
            method="PATCH",
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read()
                return
        except urllib.error.HTTPError as error:
            try:
                text = error.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            headers = dict(error.headers.items()) if error.headers else {}
            check_status(error.code, headers, hubspot_error(text), what)
            # check_status returns only for 2xx, which urllib does not raise for.
            raise PermanentError(f"{what}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TransientError(f"{what}: {reason}") from error


__all__ = ["DEFAULT_BASE_URL", "HubSpotChannel", "hubspot_error", "request_body"]
