"""Rendering notifications: one Jinja2 template per effect kind and locale (ja, en).

Each template file (`ja/clock_breached.j2`, ...) writes the three parts of a message and is
rendered once per part with `part` set to "subject", "text" or "html": one file per kind keeps a
translator's subject, text and HTML side by side, and top-level `{% set %}` lines (the facts
table) are shared by all three. Subject and text are rendered by an environment without
escaping, HTML by one that autoescapes: the same file compiled twice, so a lead id or a CRM field
holding "<script>" is inert in the HTML whatever a template author writes.

Everything the templates see is prepared here from (effect, policy, locale): labels come from the
policy (source, escalation rule, role) and from `policy.i18n` (stage names, handoff fields), and
instants are shown in the org's time zone (DESIGN principle 3: stored UTC, shown local). Pure: no
clock reads, no I/O beyond loading the template files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound

from leadclock.engine.state import Effect
from leadclock.policy import Duration, Policy
from leadclock.policy.i18n import KEY_LABELS, STAGES, format_duration, join, pick

Locale = Literal["ja", "en"]
LOCALES: tuple[Locale, ...] = ("ja", "en")
TEMPLATE_DIR = Path(__file__).parent
# Kinds with a template of their own; any other kind renders with `default.j2`.
KINDS: tuple[str, ...] = (
    "clock_breached", "clock_warning", "clock_max_exceeded", "escalation",
    "reassignment_requested", "manager_queue", "handoff_refused", "handoff_rejected",
    "cadence_exhausted", "alert", "compliance_below",
)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class LocalTime:
    """An instant as a reader in the org's time zone sees it."""

    utc: datetime
    hm: str  # "10:05"
    date: str  # "2026-07-08" / "2026年7月8日"
    full: str  # "2026-07-08 10:05 JST" / "2026年7月8日 10:05 (JST)"
    tz: str  # "JST"

    def __str__(self) -> str:
        return self.full


def locale_of(value: str | None, policy: Policy) -> Locale:
    """A supported locale: the given one, else the org's. "en-US" counts as "en"."""
    if value:
        base = value.split("-")[0].split("_")[0].lower()
        for locale in LOCALES:
            if base == locale:
                return locale
    return policy.org.locale


def local_time(value: datetime, timezone: str, locale: Locale) -> LocalTime:
    local = value.astimezone(ZoneInfo(timezone))
    tz = local.tzname() or timezone
    hm = local.strftime("%H:%M")
    if locale == "ja":
        date = f"{local.year}年{local.month}月{local.day}日"
        return LocalTime(value.astimezone(UTC), hm, date, f"{date} {hm} ({tz})", tz)
    date = local.strftime("%Y-%m-%d")
    return LocalTime(value.astimezone(UTC), hm, date, f"{date} {hm} {tz}", tz)


# --------------------------------------------------------------------------- environments


def _field_list(values: Sequence[str], locale: Locale) -> str:
    return join([pick(KEY_LABELS, str(v), locale) for v in values], locale)


def _environment(autoescape: bool) -> Environment:
    # StrictUndefined: a typo in a template is an error in tests, not a blank in a message.
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["fieldlist"] = _field_list
    return env


_TEXT_ENV = _environment(autoescape=False)
_HTML_ENV = _environment(autoescape=True)


@cache
def _templates(locale: Locale, kind: str) -> tuple[Template, Template]:
    name = kind if kind in KINDS or kind == "digest" else "default"
    try:
        return (_TEXT_ENV.get_template(f"{locale}/{name}.j2"), _HTML_ENV.get_template(f"{locale}/{name}.j2"))
    except TemplateNotFound:
        return (_TEXT_ENV.get_template(f"{locale}/default.j2"), _HTML_ENV.get_template(f"{locale}/default.j2"))


_BLANK_LINES = re.compile(r"\n{3,}")


def _render(locale: Locale, kind: str, context: Mapping[str, Any]) -> Rendered:
    text_template, html_template = _templates(locale, kind)
    subject = " ".join(text_template.render(context, part="subject").split())
    text = _BLANK_LINES.sub("\n\n", text_template.render(context, part="text").strip()) + "\n"
    html = html_template.render(context, part="html").strip() + "\n"
    return Rendered(subject=subject, text=text, html=html)


# --------------------------------------------------------------------------- context


def _instant(value: Any) -> datetime | None:
    """Instants in effect details are datetimes fresh from the engine, ISO text once stored."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def _duration_text(value: Any, locale: Locale) -> str:
    if value is None or value == "":
        return ""
    try:
        return format_duration(Duration.parse(value if isinstance(value, Duration) else str(value)), locale)
    except ValueError:
        return str(value)  # e.g. a cadence's "6 in 2bd": shown as the policy wrote it


def effect_context(
    effect: Effect, recipient: str, locale: Locale, policy: Policy, *, source: str | None = None
) -> dict[str, Any]:
    """Everything a template may use, already localised."""
    tz = policy.org.timezone

    def when(value: Any) -> LocalTime | None:
        instant = _instant(value)
        return None if instant is None else local_time(instant, tz, locale)

    detail = dict(effect.detail or {})
    source = source or detail.get("source") or None
    source_label = ""
    if source:
        known = policy.sources.get(source)
        source_label = known.label.get(locale) if known is not None else pick(KEY_LABELS, source, locale)
    rule = policy.escalations.get(effect.rule) if effect.rule else None
    rule_label = rule.label.get(locale) if rule is not None else (effect.rule or "")
    roles = [
        policy.roles[name].label.get(locale) if name in policy.roles else name
        for name in effect.recipients
    ]
    # The deadline a message is about: a breach happens at due_at, a max at max_at; a warning
    # carries its due_at in the detail.
    due = when(detail.get("due_at")) if effect.kind == "clock_warning" else when(effect.at)
    return {
        "kind": effect.kind,
        "locale": locale,
        "org": policy.org.name,
        "lead": effect.lead,
        "source": source or "",
        "source_label": source_label,
        "stage": effect.stage or "",
        "stage_label": pick(STAGES, effect.stage, locale) if effect.stage else "",
        "owner": effect.owner or detail.get("owner") or "",
        "recipient": recipient,
        "at": when(effect.at),
        "due": due,
        "started": when(detail.get("started_at")),
        "target": _duration_text(detail.get("target"), locale),
        "rule": effect.rule or "",
        "rule_label": rule_label,
        "step": (effect.step + 1) if effect.step is not None else None,  # people count from 1
        "action": detail.get("action") or "notify",
        "roles": join(roles, locale) if roles else "",
        "reason": str(detail.get("reason") or ""),
        "missing": [str(m) for m in detail.get("missing") or []],
        "attempts": detail.get("attempts"),
        "required": detail.get("required"),
        "returned_to": detail.get("returned_to") or "",
        "detail": detail,
    }


def render(
    effect: Effect, recipient: str, locale: str | None, policy: Policy, *, source: str | None = None
) -> Rendered:
    """The message about one effect for one recipient, in `locale` (the org's if None).

    `source` is the lead's source id when the caller knows it (effects do not carry it); it is
    shown by its label, e.g. "Demo request".
    """
    loc = locale_of(locale, policy)
    return _render(loc, effect.kind, effect_context(effect, recipient, loc, policy, source=source))


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One effect inside a digest: its own rendered message and the facts the list shows."""

    effect: Effect
    rendered: Rendered


def render_digest(
    items: Sequence[DigestItem], recipient: str, locale: str | None, policy: Policy
) -> Rendered:
    """One message listing several (a burst for one recipient on one channel)."""
    loc = locale_of(locale, policy)
    tz = policy.org.timezone
    counts = Counter(item.effect.kind for item in items)
    context = {
        "locale": loc,
        "org": policy.org.name,
        "recipient": recipient,
        "count": len(items),
        # Most frequent kinds first, so the subject leads with what the burst is mostly about.
        "counts": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
        "items": [
            {
                "kind": item.effect.kind,
                "lead": item.effect.lead,
                "at": local_time(item.effect.at, tz, loc),
                "subject": item.rendered.subject,
                "text": item.rendered.text,
            }
            for item in items
        ],
        "first": local_time(min(item.effect.at for item in items), tz, loc),
        "last": local_time(max(item.effect.at for item in items), tz, loc),
    }
    return _render(loc, "digest", context)


__all__ = [
    "KINDS", "LOCALES", "DigestItem", "LocalTime", "Locale", "Rendered", "effect_context",
    "local_time", "locale_of", "render", "render_digest",
]
