"""Notification channels as plugins: a registry from the policy's channel `type` to a class.

The policy names channels (`channels: {sales-slack: {type: slack, settings: {...}}}`);
`build_channels` makes one instance per name. A channel only has to `send(row)` and raise
`TransientError` or `PermanentError`; the sender does the rest (lease, retries, dead letters).
Another type is added with `@register("sms")` on a class with the same constructor.

Secrets do not belong in the policy, which is hashed, stored in the database and rendered into
the agreement: any setting `X` may be given as `X_env: VARIABLE` instead, read from the
environment when the channels are built (e.g. `token_env: SLACK_BOT_TOKEN`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from leadclock.notify.errors import NotifyError
from leadclock.notify.outbox import OutboxRow
from leadclock.policy import Policy
from leadclock.store import Store

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What channels may need besides their settings."""

    store: Store | None = None  # the in-app channel writes to the inbox table
    clock: Clock | None = None  # webhook timestamps, inbox created_at
    env: Mapping[str, str] = field(default_factory=dict)  # for `X_env` settings


class Channel(Protocol):
    type: ClassVar[str]
    name: str

    def send(self, row: OutboxRow) -> None:
        """Deliver one message; raise TransientError / PermanentError when it was not."""


class Settings:
    """A channel's settings, with `X_env` indirection and errors that name the channel."""

    def __init__(self, channel: str, values: Mapping[str, str], env: Mapping[str, str]) -> None:
        self.channel = channel
        self.values = dict(values)
        self.env = env

    def get(self, key: str, default: str | None = None) -> str | None:
        if self.values.get(key):
            return self.values[key]
        variable = self.values.get(f"{key}_env")
        if variable:
            value = self.env.get(variable)
            if not value:
                raise NotifyError(
                    f"channel {self.channel!r}: setting {key}_env names ${variable}, which is not set"
                )
            return value
        return default

    def require(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise NotifyError(f"channel {self.channel!r}: setting {key!r} (or {key}_env) is required")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        text = value.strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0", ""):
            return False
        raise NotifyError(f"channel {self.channel!r}: setting {key!r} must be true or false, got {value!r}")

    def number(self, key: str, default: float) -> float:
        value = self.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise NotifyError(f"channel {self.channel!r}: setting {key!r} must be a number, got {value!r}") from None


ChannelFactory = Callable[[str, Settings, ChannelContext], Channel]
REGISTRY: dict[str, ChannelFactory] = {}


def register(type_name: str) -> Callable[[type], type]:
    """Class decorator: make `type_name` usable in a policy's `channels` section."""

    def decorate(cls: type) -> type:
        REGISTRY[type_name] = cls
        cls.type = type_name  # type: ignore[attr-defined]
        return cls

    return decorate


def build_channel(name: str, type_name: str, settings: Mapping[str, str], context: ChannelContext) -> Channel:
    factory = REGISTRY.get(type_name)
    if factory is None:
        raise NotifyError(f"channel {name!r}: unknown type {type_name!r} (known: {', '.join(sorted(REGISTRY))})")
    return factory(name, Settings(name, settings, context.env), context)


def build_channels(
    policy: Policy,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Channel]:
    """One channel per name in `policy.channels`. Every problem is reported at once, each naming
    its channel, rather than the first one only."""
    context = ChannelContext(store=store, clock=clock, env=os.environ if env is None else env)
    channels: dict[str, Channel] = {}
    problems: list[str] = []
    for name, spec in policy.channels.items():
        try:
            channels[name] = build_channel(name, spec.type, spec.settings, context)
        except NotifyError as error:
            problems.append(str(error))
    if problems:
        raise NotifyError("; ".join(problems))
    return channels


# The built-in types register themselves on import.
from leadclock.notify.channels import email, hubspot, inapp, slack, webhook  # noqa: E402, F401

__all__ = [
    "REGISTRY", "Channel", "ChannelContext", "Settings", "build_channel", "build_channels",
    "email", "inapp", "register", "slack", "webhook",
]
