"""How a channel says a delivery failed, so the sender knows whether to try again."""

from __future__ import annotations


class NotifyError(Exception):
    """A notification could not be planned or a channel could not be set up; the message names
    the culprit (DESIGN principle 10)."""


class DeliveryError(Exception):
    """A delivery attempt failed."""


class TransientError(DeliveryError):
    """Worth retrying: the receiver is down, slow, overloaded or rate-limiting (5xx, 408, 429,
    refused or dropped connections). `retry_after` (seconds) is the receiver's own hint."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying cannot help: the receiver refused the message itself (4xx other than 408/429,
    SMTP 5xx, an unknown channel). The row goes to the dead letters at once."""


__all__ = ["DeliveryError", "NotifyError", "PermanentError", "TransientError"]
