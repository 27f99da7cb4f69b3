"""The written SLA agreement (F3), rendered from the policy as Markdown, HTML and PDF.

The policy is first turned into one list of blocks (headings, paragraphs, lists, tables) and
each format only lays those blocks out. So the three formats cannot disagree with each other,
and none of them can disagree with the automation: every figure is read from the policy here,
never written into a template or a phrase (see i18n.py).

Section order follows the 003 template: goals (company, marketing, sales / inside sales), ideal
customer profile, qualification process, handoff process; then the enforcement that backs the
handoffs (escalation, compliance targets); then communication, reporting and review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode, XPos, YPos
from jinja2 import Environment, PackageLoader

from leadclock.policy.durations import Duration
from leadclock.policy.i18n import (
    CHANNEL_TYPES,
    CONTACT_CHANNELS,
    ESCALATION_ACTIONS,
    ESCALATION_NO_ROLES,
    FOLLOW_UP_KINDS,
    KEY_LABELS,
    ON_EXHAUSTED,
    REPORT_KINDS,
    REPORT_WHEN,
    SECTIONS,
    STAGES,
    TRIGGER_PARTS,
    TRIGGERS,
    WEEKDAYS,
    Lang,
    format_duration,
    join,
    number,
    percent,
    pick,
    points,
    t,
)
from leadclock.policy.models import (
    CadenceSla,
    CadenceStep,
    ClockSla,
    EscalationRule,
    FollowUpRule,
    Policy,
    Text,
)

__all__ = [
    "Document", "build_document", "format_duration", "render_html", "render_markdown",
    "render_pdf",
]

# --------------------------------------------------------------------------- document blocks


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 2 = section of the 003 template, 3 = part of a section
    key: str | None = None  # section key (i18n.SECTIONS) for level-2 headings


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Terms:
    """Term / description pairs (the definitions, the header fields)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # relative column widths, used by the PDF layout

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.header) or any(len(r) != len(self.header) for r in self.rows):
            raise ValueError("every table row needs one cell per column")


Block = Heading | Paragraph | Items | Terms | Table


@dataclass(frozen=True)
class Document:
    lang: Lang
    title: str
    meta: Terms
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def section_titles(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Heading) and b.level == 2]


# --------------------------------------------------------------------------- building


def _check_lang(lang: str) -> Lang:
    if lang not in ("ja", "en"):
        raise ValueError(f"lang must be 'ja' or 'en', got {lang!r}")
    return lang  # type: ignore[return-value]


class _Builder:
    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.p = policy
        self.lang = lang
        self.blocks: list[Block] = []

    # ---- small helpers

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def text(self, value: Text | None) -> str | None:
        return value.get(self.lang) if value is not None else None

    def join(self, items: Iterable[str]) -> str:
        return join(list(items), self.lang)

    def dur(self, value: Duration | None) -> str:
        return format_duration(value, self.lang) if value is not None else self.na

    @property
    def na(self) -> str:
        return self.t("not_measured")

    @property
    def none(self) -> str:
        return self.t("none")

    def source_label(self, name: str) -> str:
        source = self.p.sources.get(name)
        return source.label.get(self.lang) if source else pick(KEY_LABELS, name, self.lang)

    def tier_label(self, name: str) -> str:
        tier = self.p.tiers.get(name)
        return tier.label.get(self.lang) if tier else name

    def role_label(self, name: str) -> str:
        role = self.p.roles.get(name)
        return role.label.get(self.lang) if role else name

    def key_label(self, name: str) -> str:
        """Signals and MQL triggers are often lead sources: prefer the policy's own label."""
        if name in KEY_LABELS:
            return KEY_LABELS[name][self.lang]
        return self.source_label(name)

    def clock(self, value: object, with_max: bool = True) -> str:
        """A stage SLA (as resolved by Policy.stage_sla) in a table cell; None is not measured."""
        if not isinstance(value, ClockSla):
            return self.na
        target = self.dur(value.target)
        if with_max and value.max is not None:
            return self.t("with_max", target=target, max=self.dur(value.max))
        return target

    def heading(self, key: str, level: int = 3) -> None:
        if level == 2:
            number_ = sum(1 for b in self.blocks if isinstance(b, Heading) and b.level == 2) + 1
            self.blocks.append(Heading(f"{number_}. {self.t(key)}", 2, key))
        else:
            self.blocks.append(Heading(self.t(key), level))

    def paragraph(self, text: str | None) -> None:
        self.blocks.append(Paragraph(text if text else self.none))

    def items(self, items: Iterable[str], ordered: bool = False) -> None:
        listed = tuple(items)
        if listed:
            self.blocks.append(Items(listed, ordered))
        else:
            self.paragraph(None)

    # ---- the document

    def build(self) -> Document:
        for key in SECTIONS:
            self.heading(key, 2)
            getattr(self, f"_{key}")()
        agreement = self.p.agreement
        title = self.text(agreement.title) or self.t("default_title")
        meta = [
            (self.t("org"), self.p.org.name),
            (self.t("period"), agreement.period or self.na),
            (self.t("updated"), agreement.updated or self.na),
            (self.t("policy"), self.t("policy_value", name=self.p.name, version=self.p.version)),
        ]
        scope = []
        if self.p.scope.teams:
            scope.append(self.t("scope_teams", items=self.join(self.p.scope.teams)))
        if self.p.scope.sources:
            scope.append(self.t("scope_sources", items=self.join(
                self.source_label(s) for s in self.p.scope.sources)))
        if scope:
            meta.append((self.t("scope"), self.join(scope)))
        return Document(self.lang, title, Terms(tuple(meta)), tuple(self.blocks))

    def _goals(self, goals: list[Text]) -> None:
        self.items((g.get(self.lang) for g in goals), ordered=True)

    def _company_goals(self) -> None:
        self._goals(self.p.agreement.goals.company)

    def _marketing_goals(self) -> None:
        self._goals(self.p.agreement.goals.marketing)

    def _sales_goals(self) -> None:
        self._goals(self.p.agreement.goals.sales)

    def _icp(self) -> None:
        if not self.p.icp:
            self.paragraph(None)
            return
        self.paragraph(self.t("icp_intro"))
        pts = self.p.scoring.icp_points
        header = (self.t("attribute"), *(
            self.t("level_points", level=level.upper(), points=points(pts.get(level, 0)))
            for level in ("high", "mid", "low")
        ))
        rows = tuple(
            (
                self.text(attribute.label) or name,
                self.join(attribute.high) or self.na,
                self.join(attribute.mid) or self.na,
                self.join(attribute.low) or self.na,
            )
            for name, attribute in self.p.icp.items()
        )
        self.blocks.append(Table(header, rows, (1.2, 1.6, 1.6, 1.6)))

    def _qualification(self) -> None:
        scoring = self.p.scoring
        self.heading("scoring_rules")
        rules = [
            self.t("points_item", label=self.t("icp_points"), points=self.join(
                f"{level.upper()} {points(value)}" for level, value in scoring.icp_points.items()
            ))
        ]
        if scoring.negative:
            rules.append(self.t("points_item", label=self.t("negative_points"), points=self.join(
                f"{self.key_label(k)} {points(v)}" for k, v in scoring.negative.items()
            )))
        plus = {k: v for k, v in scoring.behaviour.items() if v >= 0}
        minus = [
            f"{self.key_label(k)} {points(v)}" for k, v in scoring.behaviour.items() if v < 0
        ]
        if plus:
            rules.append(self.t("points_item", label=self.t("behaviour_points"), points=self.join(
                f"{self.key_label(k)} {points(v)}" for k, v in plus.items()
            )))
        if scoring.decay_after is not None and scoring.decay_points:
            minus.append(self.t(
                "decay", after=self.dur(scoring.decay_after), points=points(scoring.decay_points)
            ))
        if scoring.unsubscribe:
            minus.append(self.t("unsubscribe", points=points(scoring.unsubscribe)))
        if minus:
            rules.append(self.t("points_item", label=self.t("behaviour_minus"),
                                points=self.join(minus)))
        rules.append(self.t("mql_threshold", threshold=number(scoring.mql_threshold)))
        self.items(rules)

        self.heading("definitions")
        defs = self.p.agreement.definitions
        if scoring.mql_triggers:
            mql = self.t("mql_generated", threshold=number(scoring.mql_threshold),
                         actions=self.join(self.key_label(a) for a in scoring.mql_triggers))
        else:
            mql = self.t("mql_generated_no_actions", threshold=number(scoring.mql_threshold))
        unqualified = self.text(defs.unqualified)
        if unqualified is None and scoring.negative:
            unqualified = self.t("unqualified_generated", items=self.join(
                self.key_label(k) for k in scoring.negative))
        self.blocks.append(Terms((
            (self.t("def_lead"), self.text(defs.lead) or self.t("lead_generated")),
            (self.t("def_mql"), self.text(defs.mql) or mql),
            (self.t("def_sql"), self.text(defs.sql) or self.t("sql_generated")),
            (self.t("def_unqualified"), unqualified or self.none),
        )))

    # ---- handoff

    def _handoff(self) -> None:
        p = self.p
        self.heading("sources_table")
        if p.sources:
            self.paragraph(self.t("sources_intro"))
            rows = []
            notes = []
            for name, source in p.sources.items():
                tier = source.priority
                label = source.label.get(self.lang)
                if source.handling is not None:
                    label = self.t("paren", text=label, detail=source.handling.get(self.lang))
                first = p.stage_sla("first_contact", name, tier)
                cadence = p.stage_sla("cadence", name, tier)
                rows.append((
                    label,
                    self.tier_label(tier),
                    self.clock(p.stage_sla("assignment", name, tier)),
                    self.clock(first, with_max=False),
                    self.dur(first.max) if isinstance(first, ClockSla) and first.max else self.na,
                    self.t("attempts", count=cadence.min_attempts, window=self.dur(cadence.window))
                    if isinstance(cadence, CadenceSla) else self.na,
                    self.clock(p.stage_sla("qualification", name, tier)),
                    self.clock(p.stage_sla("handoff", name, tier)),
                    self.clock(p.stage_sla("acceptance", name, tier)),
                ))
                if source.sla.note is not None:
                    notes.append(f"{label}: {source.sla.note.get(self.lang)}")
            header = tuple(self.t(k) for k in (
                "col_source", "col_priority", "col_assignment", "col_first_target", "col_first_max",
                "col_attempts", "col_qualification", "col_handoff", "col_acceptance",
            ))
            self.blocks.append(Table(header, tuple(rows), (1.7, 0.85, 1.2, 1.15, 1.15, 1.25, 1.35, 1.0, 1.25)))
            if notes:
                self.items(notes)
        else:
            self.paragraph(None)

        self.heading("tiers_table")
        if p.tiers:
            rows = [
                (
                    tier.label.get(self.lang),
                    tier.score or self.na,
                    self.join(self.key_label(s) for s in tier.signals) or self.na,
                    self.text(tier.pool) or self.na,
                    self.clock(p.stage_sla("assignment", None, name)),
                    self.clock(p.stage_sla("first_contact", None, name)),
                    self.clock(p.stage_sla("qualification", None, name)),
                )
                for name, tier in p.tiers.items()
            ]
            header = tuple(self.t(k) for k in (
                "col_tier", "col_score", "col_signals", "col_pool", "col_assignment",
                "col_first_contact", "col_qualification",
            ))
            self.blocks.append(Table(header, tuple(rows), (0.9, 0.8, 2, 1.6, 1, 1.1, 1.1)))
        else:
            self.paragraph(None)

        self.heading("cadence")
        cadences = [(self.tier_label(n), p.stage_sla("cadence", None, n)) for n in p.tiers]
        cadences += [
            (s.label.get(self.lang), s.sla.cadence) for s in p.sources.values()
            if isinstance(s.sla.cadence, CadenceSla) and s.sla.cadence.steps
        ]
        written = False
        for label, cadence in cadences:
            if not isinstance(cadence, CadenceSla):
                continue
            written = True
            self.paragraph(self.t(
                "cadence_head", tier=label, window=self.dur(cadence.window),
                count=cadence.min_attempts, exhausted=pick(ON_EXHAUSTED, cadence.on_exhausted,
                                                          self.lang),
            ))
            if cadence.steps:
                self.items((self._step(i, step) for i, step in enumerate(cadence.steps)))
        if not written:
            self.paragraph(None)

        self.heading("follow_up")
        self._follow_up_table()

        self.heading("m2is")
        lines = []
        assignment = p.stage_sla("assignment", None, None)
        if isinstance(assignment, ClockSla):
            lines.append(self.t("m2is_assign", assignment=self.clock(assignment)))
        for name in p.tiers:
            first = p.stage_sla("first_contact", None, name)
            cadence = p.stage_sla("cadence", None, name)
            values = {
                "tier": self.tier_label(name), "first": self.clock(first),
                "qualification": self.clock(p.stage_sla("qualification", None, name)),
            }
            if isinstance(cadence, CadenceSla):
                lines.append(self.t("m2is_tier", count=cadence.min_attempts,
                                    window=self.dur(cadence.window), **values))
            else:
                lines.append(self.t("m2is_tier_short", **values))
        self.items([*lines, *self._notes("marketing_to_is")])

        self.heading("is2s")
        lines = []
        handoff = p.stage_sla("handoff", None, None)
        if isinstance(handoff, ClockSla):
            lines.append(self.t("is2s_handoff", handoff=self.clock(handoff)))
        acceptance = p.stage_sla("acceptance", None, None)
        if isinstance(acceptance, ClockSla):
            lines.append(self.t("is2s_acceptance", acceptance=self.clock(acceptance)))
        if p.handoff.required_fields:
            lines.append(self.t("required_fields", items=self.join(
                self.key_label(f) for f in p.handoff.required_fields)))
        if p.handoff.rejection_reasons:
            lines.append(self.t("rejection_reasons", items=self.join(
                self.key_label(r) for r in p.handoff.rejection_reasons)))
        self.items([*lines, *self._notes("is_to_sales")])

        self.heading("m2s")
        lines = [self.t("m2s_return")]
        for name in p.tiers:
            cadence = p.stage_sla("cadence", None, name)
            if isinstance(cadence, CadenceSla):
                lines.append(self.t("m2s_exhausted", tier=self.tier_label(name),
                                    exhausted=pick(ON_EXHAUSTED, cadence.on_exhausted, self.lang)))
        nurture = (p.stage_sla("follow_up", None, None) or {}).get("nurture")  # type: ignore[attr-defined]
        if isinstance(nurture, FollowUpRule):
            lines.append(self.t("m2s_nurture", every=self._every(nurture)))
        self.items([*lines, *self._notes("marketing_to_sales")])

    def _notes(self, key: str) -> list[str]:
        notes = self.p.agreement.handoff_notes.get(key, [])  # type: ignore[call-overload]
        return [n.get(self.lang) for n in notes]

    def _step(self, index: int, step: CadenceStep) -> str:
        if step.day is not None:
            when = self.t("step_day", day=step.day)
        elif step.after is not None:
            when = self.t("step_after", after=self.dur(step.after))
        else:
            when = self.t("step_start" if index == 0 else "step_next")
        channels = self.join(pick(CONTACT_CHANNELS, c, self.lang) for c in step.channels)
        return self.t("cadence_step", n=index + 1, channels=channels, when=when)

    def _every(self, rule: FollowUpRule) -> str:
        if rule.every_max is not None:
            return self.t("every_range", low=self.dur(rule.every), high=self.dur(rule.every_max))
        return self.t("every_one", low=self.dur(rule.every))

    def _follow_up_table(self) -> None:
        groups: list[tuple[str | None, dict[str, FollowUpRule]]] = []
        defaults = self.p.stage_sla("follow_up", None, None)
        if isinstance(defaults, dict):
            groups.append((None, defaults))
        for tier in self.p.tiers.values():
            if tier.sla.follow_up:
                groups.append((tier.label.get(self.lang), tier.sla.follow_up))
        for source in self.p.sources.values():
            if source.sla.follow_up:
                groups.append((source.label.get(self.lang), source.sla.follow_up))
        rows = []
        for scope, rules in groups:
            for kind, rule in rules.items():
                applies = pick(FOLLOW_UP_KINDS, kind, self.lang)
                if scope is not None:
                    applies = self.t("follow_up_scoped", scope=scope, kind=applies)
                rows.append((
                    applies, self._every(rule), self.dur(rule.max_idle),
                    self.text(rule.until) or self.na,
                ))
        if not rows:
            self.paragraph(None)
            return
        header = tuple(self.t(k) for k in ("col_applies", "col_every", "col_max_idle", "col_until"))
        self.blocks.append(Table(header, tuple(rows), (1.4, 1.6, 1.2, 1.8)))

    # ---- enforcement

    def _escalation(self) -> None:
        if not self.p.escalations:
            self.paragraph(None)
            return
        self.paragraph(self.t("escalation_intro"))
        rows = tuple(
            (rule.label.get(self.lang), self._condition(rule), self._steps(rule))
            for rule in self.p.escalations.values()
        )
        header = (self.t("col_rule"), self.t("col_condition"), self.t("col_steps"))
        self.blocks.append(Table(header, rows, (2.2, 1.9, 1.9)))

    def _condition(self, rule: EscalationRule) -> str:
        lang, tr = self.lang, rule.trigger
        values = {
            "after": self.dur(tr.after),
            "clock": pick(STAGES, tr.clock, lang) if tr.clock else self.na,
            "bound": pick(TRIGGER_PARTS, f"bound_{tr.on}", lang),
            "threshold": percent(tr.threshold) if tr.threshold is not None else self.na,
            "period": self.dur(tr.period) if tr.period else pick(TRIGGER_PARTS, "any_period", lang),
        }
        text = pick(TRIGGERS, tr.kind, lang).format(**values)
        details = []
        if tr.tiers:
            details.append(pick(TRIGGER_PARTS, "tiers", lang).format(
                items=self.join(self.tier_label(x) for x in tr.tiers)))
        if tr.sources:
            details.append(pick(TRIGGER_PARTS, "sources", lang).format(
                items=self.join(self.source_label(x) for x in tr.sources)))
        if tr.arrived_after_hours:
            details.append(pick(TRIGGER_PARTS, "after_hours", lang))
        if tr.value_above is not None:
            currency = tr.currency or self.p.org.currency
            details.append(pick(TRIGGER_PARTS, "value_above", lang).format(
                value=f"{number(tr.value_above)} {currency}"))
        if tr.accounts is not None:
            details.append(pick(TRIGGER_PARTS, "accounts", lang).format(
                accounts=tr.accounts.get(lang)))
        if details:
            text = self.t("paren", text=text, detail=self.join(details))
        return text

    def _steps(self, rule: EscalationRule) -> str:
        lines = []
        for index, step in enumerate(rule.steps, start=1):
            when = (self.t("step_immediate") if step.after.kind == "immediate"
                    else self.t("step_delay", after=self.dur(step.after)))
            roles = self.join(self.role_label(r) for r in step.notify)
            table = ESCALATION_ACTIONS if roles else ESCALATION_NO_ROLES
            action = pick(table, step.action, self.lang).format(roles=roles)
            if step.channels:
                action = self.t("via", text=action, channels=self.join(
                    self._channel_label(c) for c in step.channels))
            lines.append(self.t("step_line", n=index, when=when, action=action))
        return "\n".join(lines)

    def _channel_label(self, name: str) -> str:
        channel = self.p.channels.get(name)
        return pick(CHANNEL_TYPES, channel.type if channel else name, self.lang)

    def _compliance(self) -> None:
        c = self.p.compliance
        self.items([
            self.t("team_target", percent=percent(c.team)),
            self.t("individual_target", percent=percent(c.individual)),
            self.t("rep_alert", percent=percent(c.rep_alert_below)),
            self.t("team_alert", percent=percent(c.team_alert_below)),
        ])
        if c.sources or c.default_source is not None:
            self.heading("source_targets")
            lines = [self.t("source_target", source=self.source_label(s), percent=percent(v))
                     for s, v in c.sources.items()]
            if c.default_source is not None:
                lines.append(self.t("default_source_target", percent=percent(c.default_source)))
            self.items(lines)

    # ---- communication, reporting, review

    def _communication(self) -> None:
        self.paragraph(self.text(self.p.agreement.communication))
        if self.p.channels:
            self.paragraph(self.t("channels", items=self.join(
                self._channel_label(name) for name in self.p.channels)))

    def _reporting(self) -> None:
        self.heading("tools")
        self.items(x.get(self.lang) for x in self.p.agreement.tools)
        self.heading("kpis")
        self.items(x.get(self.lang) for x in self.p.agreement.kpis)
        self.heading("reports")
        if not self.p.reports:
            self.paragraph(None)
            return
        rows = []
        for report in self.p.reports.values():
            label = self.text(report.label) or pick(REPORT_KINDS, report.kind, self.lang)
            if not report.enabled:
                label = self.t("disabled", text=label)
            day = pick(WEEKDAYS, report.day, self.lang) if report.day else None
            if day and report.at:
                when = self.t("weekly_at", day=day, at=report.at)
            elif day:
                when = self.t("weekly", day=day)
            elif report.at:
                when = self.t("daily_at", at=report.at)
            else:
                when = pick(REPORT_WHEN, report.kind, self.lang)
            to = self.join(self.role_label(r) for r in report.to) or self.na
            rows.append((label, when, to))
        header = (self.t("col_report"), self.t("col_when"), self.t("col_to"))
        self.blocks.append(Table(header, tuple(rows), (2.2, 1.6, 1.6)))

    def _review(self) -> None:
        self.paragraph(self.text(self.p.agreement.review))
        self.paragraph(self.t("generated"))


def build_document(policy: Policy, lang: Lang) -> Document:
    """The agreement as format-neutral blocks, in the 003 template's section order."""
    return _Builder(policy, _check_lang(lang)).build()


# --------------------------------------------------------------------------- Markdown

# Backslash-escaping ASCII punctuation is always literal in CommonMark, so text from the policy
# cannot turn into emphasis, links, raw HTML or extra table columns.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_MD_LINE_START = re.compile(r"^([#+\-=]|\d+[.)])")


def _md(text: str, block_start: bool = False) -> str:
    """Escape policy text; `block_start` for text that opens a paragraph or a list item, where
    a leading "#", "-" or "1." would start a heading or a nested list."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    if not block_start:
        return escaped
    return _MD_LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], escaped)


def _md_cell(text: str) -> str:
    # Tables cannot hold line breaks; <br> is the GFM way (it is ours, so it is not escaped).
    return "<br>".join(_md(line) for line in text.split("\n"))


def render_markdown(policy: Policy, lang: Lang) -> str:
    doc = build_document(policy, lang)
    out = [f"# {_md(doc.title)}", ""]
    out += [f"- **{_md(k)}**: {_md(v)}" for k, v in doc.meta.items]
    out.append("")
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            out += [_md(block.text, block_start=True), ""]
        elif isinstance(block, Items):
            out += [
                (f"{i}. " if block.ordered else "- ") + _md(item, block_start=True)
                for i, item in enumerate(block.items, start=1)
            ]
            out.append("")
        elif isinstance(block, Terms):
            out += [f"- **{_md(k)}**: {_md(v)}" for k, v in block.items]
            out.append("")
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md_cell(c) for c in block.header) + " |")
            out.append("|" + "---|" * len(block.header))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- HTML


@cache
def _jinja() -> Environment:
    # autoescape=True outright: select_autoescape() would not recognise the .html.j2 suffix.
    env = Environment(
        loader=PackageLoader("leadclock.policy", "templates"), autoescape=True,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.tests["heading"] = lambda b: isinstance(b, Heading)
    env.tests["paragraph"] = lambda b: isinstance(b, Paragraph)
    env.tests["items"] = lambda b: isinstance(b, Items)
    env.tests["terms"] = lambda b: isinstance(b, Terms)
    env.tests["table"] = lambda b: isinstance(b, Table)
    return env


def render_html(policy: Policy, lang: Lang) -> str:
    """A complete standalone page: inline CSS, no scripts, fonts or images from elsewhere."""
    doc = build_document(policy, lang)
    return _jinja().get_template("agreement.html.j2").render(doc=doc)


# --------------------------------------------------------------------------- PDF

FONT_FAMILY = "IPAexGothic"
FONT_FILE = "ipaexg.ttf"


def font_path() -> str:
    """The bundled IPAex Gothic (IPA Font License v1.0, see fonts/ next to it)."""
    path = resources.files("leadclock.fonts").joinpath(FONT_FILE)
    if not path.is_file():
        raise RuntimeError(f"the PDF font {FONT_FILE} is missing from the leadclock package")
    return str(path)


class _AgreementPdf(FPDF):
    """A4 layout of the blocks; the page footer numbers the pages."""

    def __init__(self, doc: Document, org: str) -> None:
        super().__init__(format="A4")
        self.doc = doc
        # Japanese has no spaces to break at: wrap by character, or a long sentence would be
        # cut only where an English word happens to sit.
        self.wrap = WrapMode.CHAR if doc.lang == "ja" else WrapMode.WORD
        self.bullet = "・" if doc.lang == "ja" else "•"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=16)
        path = font_path()
        # IPAex has no bold face, and registering the file again as bold would parse 6 MB twice:
        # headings stand out by size and colour instead.
        self.add_font(FONT_FAMILY, "", path)
        self.set_lang(doc.lang)
        self.set_title(doc.title)
        self.set_author(org)
        self.set_creator("leadclock")
        self.set_draw_color(170, 178, 190)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, size=7.5)
        self.set_text_color(120, 120, 120)
        self.cell(0, 5, t("page", self.doc.lang, page=self.page_no(), pages=self.str_alias_nb_pages),
                  align="C")

    def _lines(self, text: str, size: float, height: float, indent: float = 0,
               color: tuple[int, int, int] = (30, 30, 30), fill: bool = False) -> None:
        self.set_font(FONT_FAMILY, size=size)
        self.set_text_color(*color)
        self.set_x(self.l_margin + indent)
        self.multi_cell(self.epw - indent, height, text, align="L", fill=fill, wrapmode=self.wrap,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _keep_with_next(self, needed: float) -> None:
        # A heading alone at the bottom of a page reads as if its section were empty.
        if self.get_y() + needed > self.page_break_trigger:
            self.add_page()

    def write_document(self) -> bytes:
        doc = self.doc
        self.add_page()
        self._lines(doc.title, 15, 7.5, color=(20, 40, 80))
        self.ln(2)
        for key, value in doc.meta.items:
            self._lines(f"{key}: {value}", 9, 5, color=(70, 70, 70))
        self.ln(2)
        for block in doc.blocks:
            self._block(block)
        return bytes(self.output())

    def _block(self, block: Block) -> None:
        if isinstance(block, Heading) and block.level == 2:
            self.ln(3)
            self._keep_with_next(30)
            self.set_fill_color(228, 235, 245)
            self._lines(block.text, 12.5, 7.5, color=(20, 40, 80), fill=True)
            self.ln(1.5)
        elif isinstance(block, Heading):
            self.ln(1.5)
            self._keep_with_next(22)
            self._lines(block.text, 10.5, 6, color=(30, 60, 110))
            self.ln(0.5)
        elif isinstance(block, Paragraph):
            self._lines(block.text, 9.3, 5)
            self.ln(1)
        elif isinstance(block, Items):
            for index, item in enumerate(block.items, start=1):
                self.set_font(FONT_FAMILY, size=9.3)
                self.set_text_color(30, 30, 30)
                self.set_x(self.l_margin + 2)
                self.cell(6, 5, f"{index}." if block.ordered else self.bullet)
                self.multi_cell(self.epw - 8, 5, item, align="L", wrapmode=self.wrap,
                                new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(1)
        elif isinstance(block, Terms):
            for term, text in block.items:
                self._lines(term, 9.5, 5.5, color=(30, 60, 110))
                self._lines(text, 9.3, 5, indent=5)
            self.ln(1)
        elif isinstance(block, Table):
            self._table(block)

    def _table(self, block: Table) -> None:
        self.set_font(FONT_FAMILY, size=7.6)
        self.set_text_color(30, 30, 30)
        heading = FontFace(family=FONT_FAMILY, emphasis="", fill_color=(228, 235, 245),
                           color=(20, 40, 80))
        with self.table(
            col_widths=block.widths, text_align="LEFT", v_align="TOP", line_height=4,
            padding=(1, 1.2, 1, 1.2), wrapmode=self.wrap, headings_style=heading,
        ) as table:
            for cells in (block.header, *block.rows):
                row = table.row()
                for cell in cells:
                    row.cell(cell)
        self.ln(3)


def render_pdf(policy: Policy, lang: Lang) -> bytes:
    """The agreement as PDF with fpdf2 (no browser); Japanese text uses the bundled font."""
    doc = build_document(policy, lang)
    return _AgreementPdf(doc, policy.org.name).write_document()
