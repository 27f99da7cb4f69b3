"""The automatic root cause of each breach (F24): `reports.root_causes.suggest_for`, the function
the API's breach listing uses too, so both doors show the same suggestion. Without that module
(an older install) no suggestion is shown and the review form still works."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadclock.policy import Policy
from leadclock.store import Breach, Store

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Suggested:
    category: str
    reason: str  # in the page's language: the evidence ("rep was offline at the deadline", ...)


def suggest_many(store: Store, policy: Policy, breaches: Sequence[Breach], lang: str) -> dict[Key, Suggested]:
    if not breaches:
        return {}
    try:
        from leadclock.reports.root_causes import suggest_for
    except ImportError:
        return {}
    found: dict[Key, Suggested] = {}
    for key, suggestion in suggest_for(store, policy, breaches).items():
        if suggestion is not None:
            found[(key[0], key[1], int(key[2]))] = Suggested(suggestion.category, suggestion.text(lang))  # type: ignore[arg-type]
    return found


__all__ = ["Suggested", "suggest_many"]
