"""Plain HTTP POST for the webhook channel, and the rule that sorts HTTP answers into
retry / give up, shared with the Slack channel."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

from leadclock.notify.errors import PermanentError, TransientError

# Worth another try: the receiver timed out waiting for us, or asks us to slow down.
RETRYABLE_4XX = frozenset({408, 425, 429})
BODY_EXCERPT = 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect of a signed POST is a misconfigured URL: following it would re-send the body
    # somewhere else (urllib even turns it into a GET). Surface it instead.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds. The HTTP-date form is ignored: turning it into a delay needs the
    current time, and the back-off applies anyway."""
    if not value:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        return None


def check_status(status: int, headers: Mapping[str, str], body: str, what: str) -> None:
    """Return for 2xx; raise TransientError for 408/425/429/5xx, PermanentError otherwise."""
    if 200 <= status < 300:
        return
    excerpt = " ".join(body.split())[:BODY_EXCERPT]
    message = f"{what}: HTTP {status}" + (f" {excerpt}" if excerpt else "")
    if status in RETRYABLE_4XX or status >= 500:
        retry = headers.get("Retry-After") or headers.get("retry-after")
        raise TransientError(message, retry_after=retry_after_seconds(retry))
    raise PermanentError(message)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, what: str) -> None:
    """POST `body`; classify the answer as above. Connection problems are transient."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return
    except urllib.error.HTTPError as error:
        try:
            text = error.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        check_status(error.code, dict(error.headers.items()) if error.headers else {}, text, what)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TransientError(f"{what}: {reason}") from error
