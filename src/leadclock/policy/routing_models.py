"""Routing section of the policy (F8, F9, F17): reps, pools, ordered rules, fallback.

```yaml
routing:
  reps:
    yamada: {name: 山田花子, role: sdr, team: east, manager: mgr-sato, timezone: Asia/Tokyo,
             hours: business, weight: 2, time_off: ["2026-07-20", "2026-08-10..2026-08-14"],
             capacity: {per_day: 30, per_week: 120, max_open: 40}, accounts: [Acme]}
  pools: {top_performers: [yamada, suzuki], juniors: [tanaka]}
  rules:                                   # first match wins
    - {name: named accounts, when: {account_known: true}, strategy: account_owner}
    - {name: hot leads, when: {tier: [hot]}, strategy: round_robin, pool: top_performers}
    - {name: big west, when: {country: [US, CA], employees: ">=1000"}, strategy: weighted,
       reps: [yamada, suzuki]}
    - {name: cold, when: {tier: [cold]}, strategy: load_balanced, pool: juniors}
  fallback: {queue: manual}                # or {rep: mgr-sato}
  after_hours: {queue: true, order: arrival}   # or hottest_first
  reassignment: {exclude_recent: 2, fallback: manager_queue}
```

Condition grammar (`when`): every key must hold (AND); a list means any of its values (OR).
Text fields (source, tier, country, industry, title, team, account, company, email) and
`attributes.<name>` compare as text, case-insensitively. Number fields (employees, value, score)
take ranges: ">=1000", ">80", "<50", "<=10", "100-999" (inclusive) or a plain number. A lead that
lacks the field does not match. `account_known: true` matches leads whose `account` is owned by a
rep (`accounts:`). An empty `when` matches every lead.

Syntax lives here (unknown condition fields, weights <= 0, contradictory caps, bad dates are
errors of the model, with their key path); references between parts of the policy (unknown reps,
pools, calendars, tiers; pools that can never be eligible) are checked by
`leadclock.routing.checks.check_routing`.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from leadclock.policy.models import Model, Text, TextModel

# Fields of a lead (the `lead.created` event) that rules may test.
TEXT_FIELDS: tuple[str, ...] = (
    "source", "tier", "country", "industry", "title", "team", "account", "company", "email",
)
NUMBER_FIELDS: tuple[str, ...] = ("employees", "value", "score")
ATTRIBUTE_PREFIX = "attributes."
Strategy = Literal["round_robin", "weighted", "load_balanced", "account_owner", "single_contact"]
STRATEGIES_WITH_MEMBERS = ("round_robin", "weighted", "load_balanced")

_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(
    rf"^\s*(?:(?P<op>>=|<=|>|<)\s*(?P<bound>{_NUMBER})|(?P<lo>{_NUMBER})\s*-\s*(?P<hi>{_NUMBER})"
    rf"|(?P<exact>{_NUMBER}))\s*$"
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

NumberRange = tuple[float, bool, float, bool]  # low, low inclusive, high, high inclusive


def parse_range(text: str) -> NumberRange:
    """'>=1000' -> (1000, True, inf, False); '100-999' -> (100, True, 999, True); '5' is exact."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(
            f"range {text!r} must look like '>=1000', '>80', '<50', '<=10', '100-999' or a number"
        )
    if match["op"]:
        bound = float(match["bound"])
        return {
            ">=": (bound, True, math.inf, False),
            ">": (bound, False, math.inf, False),
            "<=": (-math.inf, False, bound, True),
            "<": (-math.inf, False, bound, False),
        }[match["op"]]
    if match["lo"] is not None:
        lo, hi = float(match["lo"]), float(match["hi"])
        if hi < lo:
            raise ValueError(f"range {text!r} ends below where it starts")
        return (lo, True, hi, True)
    exact = float(match["exact"])
    return (exact, True, exact, True)


def _text_item(value: object) -> str:
    if isinstance(value, bool):  # YAML true/false as an attribute value means the words
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"expected text or a number, got {type(value).__name__}")


def _as_text_list(value: object) -> object:
    items = value if isinstance(value, list) else [value]
    return [_text_item(item) for item in items]


def _as_range_list(value: object) -> object:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ValueError(f"expected a range such as '>=1000', got {item!r}")
        text = str(item)
        parse_range(text)
        out.append(text)
    return out


# A condition never matches anything with an empty list: that is a mistake, not a rule.
TextValues = Annotated[list[str], BeforeValidator(_as_text_list), Field(min_length=1)]
RangeValues = Annotated[list[str], BeforeValidator(_as_range_list), Field(min_length=1)]
Weight = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class When(Model):
    """Field conditions of a rule; see the module docstring for the grammar."""

    source: TextValues | None = None
    tier: TextValues | None = None
    country: TextValues | None = None
    industry: TextValues | None = None
    title: TextValues | None = None
    team: TextValues | None = None
    account: TextValues | None = None
    company: TextValues | None = None
    email: TextValues | None = None
    employees: RangeValues | None = None
    value: RangeValues | None = None
    score: RangeValues | None = None
    account_known: bool | None = None
    attributes: dict[str, TextValues] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _dotted_attributes(cls, data: Any) -> Any:
        """`attributes.region: [kanto]` is the same as `attributes: {region: [kanto]}`."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        attributes = dict(data.get("attributes") or {})
        unknown = []
        for key, value in data.items():
            if key == "attributes":
                continue
            if isinstance(key, str) and key.startswith(ATTRIBUTE_PREFIX):
                name = key[len(ATTRIBUTE_PREFIX):]
                if not name:
                    raise ValueError("'attributes.' needs the attribute's name after the dot")
                attributes[name] = value
            elif key in cls.model_fields:
                out[key] = value
            else:
                unknown.append(str(key))
        if unknown:
            # Named here rather than left to extra="forbid" so the message can list the fields.
            known = ", ".join((*TEXT_FIELDS, *NUMBER_FIELDS, "account_known"))
            raise ValueError(
                f"unknown lead field {', '.join(map(repr, unknown))} in a rule condition; "
                f"known: {known}, or attributes.<name>"
            )
        if attributes:
            out["attributes"] = attributes
        return out

    def is_empty(self) -> bool:
        return not any(
            getattr(self, name) is not None for name in (*TEXT_FIELDS, *NUMBER_FIELDS)
        ) and self.account_known is None and not self.attributes


class Capacity(Model):
    """Caps on what one rep receives; None is no cap. Days and weeks are the rep's local ones."""

    per_day: int | None = Field(default=None, ge=1)
    per_week: int | None = Field(default=None, ge=1)
    max_open: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _day_fits_in_week(self) -> Capacity:
        # A daily cap above the weekly cap can never bind: the admin meant something else.
        if self.per_day is not None and self.per_week is not None and self.per_day > self.per_week:
            raise ValueError(
                f"per_day ({self.per_day}) is larger than per_week ({self.per_week}): "
                "the daily cap could never be reached"
            )
        return self


def _day_or_span(value: object) -> str:
    if isinstance(value, date):  # YAML reads an unquoted 2026-07-20 as a date
        return value.isoformat()
    text = str(value).strip()
    parts = [p.strip() for p in text.split("..")]
    if len(parts) not in (1, 2) or not all(_DAY.match(p) for p in parts):
        raise ValueError(f"time off {text!r} must be YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
    try:
        days = [date.fromisoformat(p) for p in parts]
    except ValueError:
        raise ValueError(f"time off {text!r} is not a calendar date") from None
    if days[-1] < days[0]:
        raise ValueError(f"time off {text!r} ends before it starts")
    return text


def time_off_days(spans: list[str]) -> list[int]:
    """Proleptic ordinals of every day off, sorted (spans include both ends)."""
    days: set[int] = set()
    for span in spans:
        parts = span.split("..")
        first = date.fromisoformat(parts[0].strip()).toordinal()
        last = date.fromisoformat(parts[-1].strip()).toordinal()
        days.update(range(first, last + 1))
    return sorted(days)


class Rep(TextModel):
    name: Text | None = None
    role: str | None = None  # free text (sdr, ae, junior, ...); pools decide who gets what
    team: str | None = None  # reassignment rates are reported per team
    manager: str | None = None  # a rep id: receives the manager queue on reassignment
    timezone: str | None = None  # defaults to the zone of the `hours` calendar
    hours: str = "business"  # a calendar of the policy: the rep's working hours
    weight: Weight = 1.0  # share under the weighted strategy
    time_off: list[Annotated[str, BeforeValidator(_day_or_span)]] = Field(default_factory=list)
    capacity: Capacity = Field(default_factory=Capacity)
    accounts: list[str] = Field(default_factory=list)  # accounts this rep owns (account_owner strategy)


class Rule(TextModel):
    name: str = Field(min_length=1)
    label: Text | None = None
    when: When = Field(default_factory=When)
    strategy: Strategy
    pool: str | None = None
    reps: list[str] = Field(default_factory=list)
    rep: str | None = None  # single_contact: the one dispatcher
    weights: dict[str, Weight] = Field(default_factory=dict)  # weighted: per-rule weights instead of the reps' own
    # A matching rule that finds nobody eligible sends the lead to the fallback (with an alert);
    # `next` lets the following rules try first (e.g. an account owner on leave).
    overflow: Literal["fallback", "next"] = "fallback"

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("rule names must not start or end with spaces")
        return value


class Fallback(Model):
    """Where a lead goes when no rule can place it: a queue for manual routing, or one rep."""

    queue: str | None = "manual"
    rep: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _rep_replaces_default_queue(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("rep") is not None and "queue" not in data:
            return {**data, "queue": None}
        return data

    @model_validator(mode="after")
    def _one_target(self) -> Fallback:
        if self.queue is not None and self.rep is not None:
            raise ValueError("give either 'queue' or 'rep' as the fallback, not both")
        if self.queue is None and self.rep is None:
            raise ValueError("the fallback needs a 'queue' or a 'rep'")
        return self


class AfterHours(Model):
    """F9: leads arriving while `calendar` is closed wait and are assigned at its next opening."""

    queue: bool = True
    order: Literal["arrival", "hottest_first"] = "arrival"
    calendar: str = "business"


class Reassignment(Model):
    """F17: who gets a lead taken away after a breach, and when the rate is a problem."""

    exclude_recent: int = Field(default=1, ge=0)  # previous owners (besides the current) left out
    # Nobody else eligible: the current owner's manager routes by hand (manager_queue), the
    # manager takes it (manager), or the routing fallback does (fallback).
    fallback: Literal["manager_queue", "manager", "fallback"] = "manager_queue"
    flag_above: float = Field(default=0.10, gt=0, lt=1)  # 001: over 10% is a system problem


class Routing(Model):
    reps: dict[str, Rep] = Field(default_factory=dict)
    pools: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    fallback: Fallback = Field(default_factory=Fallback)
    after_hours: AfterHours = Field(default_factory=AfterHours)
    reassignment: Reassignment = Field(default_factory=Reassignment)
