"""Durations as written in a policy: "30s", "5m", "4h", "2d", "1w", "3bd", "immediate", "same_day".

A duration is an amount of *counted* time in the calendar its SLA names (Zendesk and Frappe count
SLA hours the same way: a 4-hour target on a 09:00-18:00 calendar is four business hours).
`bd` (business days) is a multiple of the calendar's business-day length, so "1bd" from Monday
10:00 on a 09:00-18:00 calendar ends Tuesday 10:00: the seed's "24時間" on weekdays, without
breaching over a weekend. "immediate" (即時) is a zero target that the author meant; a literal
"0s" is refused because it is almost always a typo. "same_day" (同日営業時間内) ends at the close
of the business day on which counting begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w|bd)\s*$")
_ALIASES = {
    "immediate": "immediate",
    "即時": "immediate",
    "same_day": "same_day",
    "同日": "same_day",
}

DurationKind = Literal["seconds", "business_days", "immediate", "same_day"]


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration; `amount` is seconds for kind "seconds" and days for "business_days"."""

    kind: DurationKind
    amount: float = 0.0

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        if isinstance(value, bool) or not isinstance(value, str):
            raise ValueError(
                f"expected a duration such as '30s', '5m', '4h', '2bd' or 'immediate', got {value!r}"
            )
        text = value.strip()
        if text in _ALIASES:
            return cls(_ALIASES[text])  # type: ignore[arg-type]
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(
                f"cannot read duration {value!r}: write a number and a unit "
                "(s, m, h, d, w, bd) such as '15m', or 'immediate' / 'same_day'"
            )
        number, unit = float(match.group(1)), match.group(2)
        if number <= 0:
            raise ValueError(
                f"duration {value!r} must be greater than zero (write 'immediate' for an instant target)"
            )
        if unit == "bd":
            return cls("business_days", number)
        return cls("seconds", number * _UNIT_SECONDS[unit])

    def seconds(self, business_day_seconds: float) -> float | None:
        """Counted seconds in a calendar whose business day lasts `business_day_seconds`.

        None for "same_day", which depends on where counting starts (see calendar.day_end).
        """
        if self.kind == "seconds":
            return self.amount
        if self.kind == "business_days":
            return self.amount * business_day_seconds
        if self.kind == "immediate":
            return 0.0
        return None

    def sort_key(self, business_day_seconds: float = 9 * 3600) -> float:
        """Order for comparisons (max ≥ target, the stricter of two SLAs); same_day sorts last."""
        value = self.seconds(business_day_seconds)
        return float("inf") if value is None else value

    def __str__(self) -> str:
        return _spelling(self.kind, self.amount)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def validate(value: Any) -> Duration:
            try:
                return cls.parse(value)
            except ValueError as exc:
                raise PydanticCustomError("duration", str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )


@lru_cache(maxsize=1024)
def _spelling(kind: str, amount: float) -> str:
    # Cached: every started clock writes its targets into its effects (a few per event), and a
    # policy has only a handful of distinct durations.
    if kind in ("immediate", "same_day"):
        return kind
    if kind == "business_days":
        return f"{_fmt(amount)}bd"
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if amount >= size and amount % size == 0:
            return f"{_fmt(amount / size)}{unit}"
    return f"{_fmt(amount)}s"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"
