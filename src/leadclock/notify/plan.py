"""From engine effects to outbox messages: who is told, on which channel, and in how many messages.

Pure (principle 2): the roster lookup is a callable the caller passes in, the bundling window is a
parameter, and `now` is an argument. Steps:

1. `roles_for(effect)`: the roles an effect concerns. Escalations name theirs (the policy's
   `notify:` list); the rest have defaults (`DEFAULT_ROLES`): the rep for their own clocks, sales
   ops for data alerts. `reassignment_requested` and `manager_queue` are silent by default: the
   engine emits them together with an `escalation` effect for the same rule and step, which
   already tells the same people (its message says "reassigned" / "moved to the queue").
2. `resolve_recipients(role, effect)` → [(recipient, channel name, locale)], from the caller's
   roster. "rep" means `rep_of(effect)`: the effect's owner, or for a rejected handoff the SDR
   it went back to. An escalation step that lists channels keeps only those.
3. One item per (effect, recipient, channel); the same person reached through two roles is one
   item (de-duplication).
4. Items for the same recipient and channel whose times fall in the same bundling window become
   one digest message (no floods: twenty breaches at 10:00 are one message to the manager).
   Windows are anchored at the first item's time. With `now`, an item older than one window
   counts as happening at `now - window`: a backlog that the worker catches up on after an outage
   arrives as one digest instead of one message per minute of outage.

Keys: a single message's dedupe key is "<effect key>|<recipient>|<channel>" (DESIGN principle 4:
lead, clock, step, recipient, channel); a digest's is made from its members' keys, so planning the
same burst again yields the same key and `enqueue` stores it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadclock.engine.state import Effect
from leadclock.notify.outbox import OutboxMessage
from leadclock.notify.templates import DigestItem, Rendered, locale_of, render, render_digest
from leadclock.policy import Policy
from leadclock.store.repository import dumps

# (recipient id, channel name, locale or None for the org's)
Recipient = tuple[str, str, str | None]
Resolver = Callable[[str, Effect], Iterable[Recipient]]
SourceOf = Callable[[str], str | None]

DEFAULT_WINDOW = timedelta(seconds=60)
DEFAULT_ROLES: Mapping[str, tuple[str, ...]] = {
    "clock_breached": ("rep",),
    "clock_warning": ("rep",),
    "clock_max_exceeded": ("rep",),
    "handoff_refused": ("rep",),
    "handoff_rejected": ("rep",),
    "cadence_exhausted": ("rep",),
    "alert": ("sales_ops",),
    "compliance_below": ("manager",),  # the escalation rule's `notify` list when it has one
    # Told through the escalation effect emitted with them (see the module doc).
    "reassignment_requested": (),
    "manager_queue": (),
    # Bookkeeping, not news.
    "clock_started": (),
    "clock_stopped": (),
    "reassigned": (),
    "unknown_rep": (),
}
# Alerts about a rep's own lead go to the rep; the rest (bad data, out-of-order events) to ops.
ALERT_ROLES: Mapping[str, tuple[str, ...]] = {
    "re_engaged": ("rep",),
    "cadence_unfinished": ("rep",),
}


def rep_of(effect: Effect) -> str | None:
    """Who "rep" means for this effect: the owner, except that a rejected handoff goes back to
    the SDR who handed it off (the effect's owner is the AE who rejected it)."""
    detail = effect.detail or {}
    if effect.kind == "handoff_rejected" and detail.get("returned_to"):
        return str(detail["returned_to"])
    owner = effect.owner or detail.get("owner")
    return str(owner) if owner else None


def roles_for(effect: Effect, roles: Mapping[str, Sequence[str]] | None = None) -> tuple[str, ...]:
    """The roles to notify of `effect`; `roles` overrides the defaults per kind (() silences one).

    A kind this module does not know is told to the roles it names and is otherwise silent: a
    new bookkeeping effect in the engine must not start messaging every rep.
    """
    if roles is not None and effect.kind in roles:
        return tuple(roles[effect.kind])
    default = DEFAULT_ROLES.get(effect.kind)
    if default == ():
        return ()
    if effect.recipients:
        return tuple(effect.recipients)
    if effect.kind == "alert":
        return ALERT_ROLES.get(str((effect.detail or {}).get("reason") or ""), default or ())
    return default or ()


def item_key(effect_key: str, recipient: str, channel: str) -> str:
    return f"{effect_key}|{recipient}|{channel}"


def _effect_key(effect: Effect) -> str:
    # From the UTC instant, as the store computes it: the same fact given with another offset is
    # the same fact.
    return effect.key_at(effect.at.astimezone(UTC))


def effect_json(effect: Effect) -> dict[str, Any]:
    """The effect as plain JSON (instants and durations in the store's spelling)."""
    value = {
        "dedupe_key": _effect_key(effect), "kind": effect.kind, "at": effect.at, "lead": effect.lead,
        "stage": effect.stage, "rule": effect.rule, "step": effect.step,
        "recipients": list(effect.recipients), "owner": effect.owner, "detail": effect.detail or {},
    }
    loaded: dict[str, Any] = json.loads(dumps(value))
    return loaded


@dataclass(slots=True)
class _Item:
    key: str
    effect: Effect
    recipient: str
    channel: str
    locale: str
    at: datetime  # the effect's instant, or the backlog floor (see `_bundles`)
    roles: list[str] = field(default_factory=list)


def _step_channels(effect: Effect, policy: Policy) -> list[str]:
    """Channels an escalation step asks for; empty means the recipients' own defaults."""
    if effect.rule is None or effect.step is None:
        return []
    rule = policy.escalations.get(effect.rule)
    if rule is None or not 0 <= effect.step < len(rule.steps):
        return []
    return list(rule.steps[effect.step].channels)


def _items(
    effects: Iterable[Effect],
    policy: Policy,
    resolve_recipients: Resolver,
    roles: Mapping[str, Sequence[str]] | None,
) -> list[_Item]:
    items: dict[str, _Item] = {}
    for effect in effects:
        if effect.at.tzinfo is None:
            raise ValueError(f"effect {effect.kind} of lead {effect.lead!r}: naive datetime {effect.at}")
        at = effect.at.astimezone(UTC)
        if at is not effect.at:  # astimezone returns the instant itself when it is UTC already
            effect = replace(effect, at=at)
        key = effect.key_at(at)
        wanted = _step_channels(effect, policy)
        for role in roles_for(effect, roles):
            resolved = [(str(r), str(c), loc) for r, c, loc in resolve_recipients(role, effect)]
            chosen = [x for x in resolved if x[1] in wanted] if wanted else resolved
            if wanted and not chosen:
                # The step asked for a channel this recipient has no address on: tell them on
                # the channels they do have rather than not at all.
                chosen = resolved
            for recipient, channel, locale in chosen:
                k = item_key(key, recipient, channel)
                item = items.get(k)
                if item is None:
                    item = items[k] = _Item(k, effect, recipient, channel, locale_of(locale, policy), effect.at)
                if role not in item.roles:
                    item.roles.append(role)
    return list(items.values())


def _bundles(items: list[_Item], window: timedelta, now: datetime | None) -> list[tuple[datetime, list[_Item]]]:
    groups: dict[tuple[str, str], list[_Item]] = {}
    for item in items:
        groups.setdefault((item.recipient, item.channel), []).append(item)
    floor = None if now is None else now.astimezone(UTC) - window
    bundles: list[tuple[datetime, list[_Item]]] = []
    for group in groups.values():
        for item in group:
            if floor is not None and item.at < floor:
                item.at = floor  # a caught-up backlog: see the module doc
        group.sort(key=lambda i: (i.at, i.key))
        start: datetime | None = None
        current: list[_Item] = []
        for item in group:
            if start is not None and window > timedelta(0) and item.at < start + window:
                current.append(item)
                continue
            if current:
                assert start is not None
                bundles.append((start, current))
            start, current = item.at, [item]
        if current:
            assert start is not None
            bundles.append((start, current))
    bundles.sort(key=lambda b: (b[0], b[1][0].recipient, b[1][0].channel, b[1][0].key))
    return bundles


def plan_messages(
    effects: Iterable[Effect],
    policy: Policy,
    resolve_recipients: Resolver,
    *,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime | None = None,
    source_of: SourceOf | None = None,
    roles: Mapping[str, Sequence[str]] | None = None,
) -> list[OutboxMessage]:
    """The messages to enqueue for `effects`: one per (recipient, channel) per effect, bursts
    bundled into digests (see the module doc). `source_of(lead)` gives a lead's source id for the
    message ("Demo request"); `window=timedelta(0)` turns bundling off."""
    messages: list[OutboxMessage] = []
    for start, bundle in _bundles(_items(effects, policy, resolve_recipients, roles), window, now):
        first = bundle[0]
        channel = policy.channels.get(first.channel)
        # An unknown channel name still gets its row: the sender dead-letters it with a clear
        # error, where it is visible and can be requeued once the policy names the channel.
        channel_type = channel.type if channel is not None else ""
        rendered = [
            render(item.effect, item.recipient, first.locale, policy,
                   source=source_of(item.effect.lead) if source_of else None)
            for item in bundle
        ]
        if len(bundle) == 1:
            messages.append(_message(
                first, first.key, channel_type, rendered[0],
                {"type": "effect", "effect": effect_json(first.effect), "roles": first.roles,
                 "key": first.key},
                None,
            ))
            continue
        keys = sorted(item.key for item in bundle)
        digest_hash = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
        digest = render_digest(
            [DigestItem(item.effect, r) for item, r in zip(bundle, rendered, strict=True)],
            first.recipient, first.locale, policy,
        )
        payload = {
            "type": "digest",
            "window_start": start.isoformat(),
            "items": [
                {"key": item.key, "effect": effect_json(item.effect), "roles": item.roles,
                 "subject": r.subject}
                for item, r in zip(bundle, rendered, strict=True)
            ],
        }
        messages.append(_message(
            first, f"digest|{first.recipient}|{first.channel}|{digest_hash}", channel_type, digest,
            payload, f"{first.recipient}|{first.channel}|{start.isoformat()}",
        ))
    return messages


def _message(
    item: _Item, key: str, channel_type: str, rendered: Rendered, payload: dict[str, Any],
    bundle_key: str | None,
) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=key, channel=item.channel, channel_type=channel_type, recipient=item.recipient,
        locale=item.locale, subject=rendered.subject, body_text=rendered.text,
        body_html=rendered.html, payload=payload, bundle_key=bundle_key,
    )


__all__ = [
    "ALERT_ROLES", "DEFAULT_ROLES", "DEFAULT_WINDOW", "Recipient", "Resolver", "effect_json",
    "item_key", "plan_messages", "rep_of", "roles_for",
]
