"""The lead lifecycle (F7): stages, the transition table, and what each move needs.

    Lead → MQL → SQL → Opportunity → Won / Lost
    exits from any open stage: Unqualified, Nurture (with a revisit date), Recycled, Garbage,
    Unreachable

Parked stages (nurture, recycled, unreachable) come back to Lead, or straight to MQL when the lead
now qualifies, when the lead engages again (`on_engagement`). Won and Garbage are final. Every move
is a `Transition` that keeps who, when and why; a move the table does not allow, or whose needs are
not met, raises `IllegalTransition` saying from, to and why not.

The rules are data (`TRANSITIONS`, `transition_table`) so the written agreement can print them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from leadclock.policy.models import Handoff, Policy
from leadclock.scoring.rules import CompiledScoring, ScoreCard, compile_scoring


class Stage(StrEnum):
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    UNQUALIFIED = "unqualified"
    NURTURE = "nurture"
    RECYCLED = "recycled"
    GARBAGE = "garbage"
    UNREACHABLE = "unreachable"


OPEN = (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY)
PARKED = (Stage.NURTURE, Stage.RECYCLED, Stage.UNREACHABLE)  # marketing's, may come back
EXITS = (Stage.UNQUALIFIED, Stage.NURTURE, Stage.RECYCLED, Stage.GARBAGE, Stage.UNREACHABLE)
FINAL = (Stage.WON, Stage.GARBAGE)
# Engagement actions that are not interest: they never wake a parked lead.
NOT_ENGAGING = frozenset({"unsubscribe", "bounce", "bounced", "spam_complaint"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed move. `needs`: "revisit" (a revisit date, or the policy's default),
    "contact" (the lead was contacted), "fields" (the SQL fields are filled),
    "direct_sql" (only when lifecycle.direct_sql is on)."""

    frm: Stage
    to: Stage
    needs: tuple[str, ...] = ()
    note: str = ""


_EXIT_NOTES = {
    Stage.UNQUALIFIED: "disqualified with a reason (competitor, academic address, …)",
    Stage.NURTURE: "not ready: marketing nurtures it until the revisit date",
    Stage.RECYCLED: "back to marketing",
    Stage.GARBAGE: "not a real lead, and never will be",
    Stage.UNREACHABLE: "sales could not reach it",
}


def _rules() -> tuple[Rule, ...]:
    rows = [
        Rule(Stage.LEAD, Stage.MQL, (), "score at or above the MQL threshold, or a trigger action"),
        Rule(Stage.MQL, Stage.SQL, ("contact", "fields"), "contacted and BANT confirmed"),
        Rule(Stage.LEAD, Stage.SQL, ("contact", "fields", "direct_sql"),
             "qualified by a rep without an MQL step"),
        Rule(Stage.SQL, Stage.MQL, (), "sent back by sales (handoff rejected)"),
        Rule(Stage.SQL, Stage.OPPORTUNITY, (), "opportunity created"),
        Rule(Stage.OPPORTUNITY, Stage.WON, (), "deal won"),
        Rule(Stage.OPPORTUNITY, Stage.LOST, (), "deal lost"),
    ]
    for frm in OPEN:
        for to in EXITS:
            rows.append(Rule(frm, to, ("revisit",) if to is Stage.NURTURE else (), _EXIT_NOTES[to]))
    for frm in PARKED:
        rows.append(Rule(frm, Stage.LEAD, (), "engaged again: re-evaluated"))
        rows.append(Rule(frm, Stage.MQL, (), "engaged again and qualifies"))
        for to in EXITS:
            if to is not frm:
                rows.append(
                    Rule(frm, to, ("revisit",) if to is Stage.NURTURE else (), _EXIT_NOTES[to])
                )
    rows += [
        Rule(Stage.UNQUALIFIED, Stage.LEAD, (), "reopened: disqualified by mistake"),
        Rule(Stage.UNQUALIFIED, Stage.GARBAGE, (), "clean-up"),
        Rule(Stage.LOST, Stage.NURTURE, ("revisit",), "closed-lost goes back to marketing"),
        Rule(Stage.LOST, Stage.RECYCLED, (), "closed-lost goes back to marketing"),
    ]
    return tuple(rows)


TRANSITIONS: tuple[Rule, ...] = _rules()
_BY_PAIR: dict[tuple[Stage, Stage], Rule] = {(r.frm, r.to): r for r in TRANSITIONS}


def transition_table(policy: Policy | None = None) -> list[Rule]:
    """The moves this policy allows, in table order (for the agreement and `explain`)."""
    direct = policy is not None and policy.lifecycle.direct_sql
    return [r for r in TRANSITIONS if "direct_sql" not in r.needs or direct]


@dataclass(frozen=True, slots=True)
class Transition:
    frm: Stage
    to: Stage
    at: datetime
    who: str
    why: str
    revisit: date | None = None

    @property
    def feedback(self) -> str | None:
        """The status marketing hears back (004, F26)."""
        return marketing_feedback(self.to)


class IllegalTransition(ValueError):
    """A move the lifecycle refuses; the message says from, to and why not."""

    def __init__(self, frm: Stage | str, to: Stage | str, reason: str) -> None:
        self.frm = frm
        self.to = to
        self.reason = reason
        super().__init__(f"cannot move a lead from {frm} to {to}: {reason}")


def _stage(value: Stage | str, other: Stage | str, is_from: bool) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        known = ", ".join(s.value for s in Stage)
        frm, to = (value, other) if is_from else (other, value)
        raise IllegalTransition(frm, to, f"unknown stage {value!r}; stages are {known}") from None


def _not_allowed(frm: Stage, to: Stage) -> str:
    """Why the table has no row frm → to, in the words of the rule that forbids it."""
    if frm in FINAL:
        return f"{frm} is final: nothing follows it"
    if to in (Stage.WON, Stage.LOST):
        return "a deal is won or lost only from opportunity"
    if to is Stage.OPPORTUNITY:
        return "an opportunity is created only from an SQL"
    if to is Stage.SQL and frm is Stage.LEAD:
        return ("a lead becomes an SQL through MQL (set lifecycle.direct_sql: true to let reps "
                "qualify leads directly)")
    if to is Stage.SQL:
        return "only an MQL becomes an SQL"
    if to is Stage.MQL:
        return "only a lead, a re-engaged parked lead or an SQL sent back by sales becomes an MQL"
    if to is Stage.LEAD:
        return ("only a parked lead (nurture, recycled, unreachable) that engages again or a "
                "reopened unqualified lead goes back to lead")
    if frm is Stage.LOST:
        return "a lost deal only goes back to marketing (nurture or recycled)"
    if frm is Stage.UNQUALIFIED:
        return "an unqualified lead is only reopened (lead) or thrown away (garbage)"
    return "the lifecycle has no such move"


def _local_date(at: datetime, policy: Policy | None) -> date:
    """The date of `at` where the organisation is (a revisit is a date on its calendar)."""
    zone = compile_scoring(policy).zone if policy is not None else at.tzinfo
    return at.astimezone(zone).date()


def _revisit_date(value: date | datetime | str, policy: Policy | None) -> date:
    if isinstance(value, datetime):
        return _local_date(value, policy) if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def transition(
    current: Stage | str,
    to: Stage | str,
    *,
    at: datetime,
    who: str,
    why: str,
    revisit: date | datetime | str | None = None,
    policy: Policy | None,
    contacted: bool = False,
    fields: Mapping[str, Any] | None = None,
) -> Transition:
    """Move a lead from `current` to `to`, or raise IllegalTransition saying why not.

    `contacted` and `fields` (the lead's qualification fields, e.g. BANT) are checked for SQL;
    `revisit` is required for nurture unless the policy has lifecycle.nurture_revisit.
    """
    frm = _stage(current, to, True)
    dest = _stage(to, current, False)
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (instants are UTC, DESIGN principle 3)")
    if frm is dest:
        raise IllegalTransition(frm, dest, f"the lead is already in {frm}")
    rule = _BY_PAIR.get((frm, dest))
    lifecycle = policy.lifecycle if policy is not None else None
    if rule is None or ("direct_sql" in rule.needs and not (lifecycle and lifecycle.direct_sql)):
        raise IllegalTransition(frm, dest, _not_allowed(frm, dest))
    if lifecycle is not None and frm in PARKED and dest in (Stage.LEAD, Stage.MQL) \
            and frm.value not in lifecycle.reengage_from:
        raise IllegalTransition(
            frm, dest, f"{frm} does not come back in this policy (lifecycle.reengage_from)"
        )
    # F27: every move explains itself; an exit without a reason is what 003 and 000 forbid.
    if not who or not who.strip():
        raise IllegalTransition(frm, dest, "say who made the move (a rep, a manager or 'system')")
    if not why or not why.strip():
        raise IllegalTransition(frm, dest, "give a reason (why) for the move")

    revisit_on: date | None = None
    if dest is Stage.NURTURE:
        today = _local_date(at, policy)
        if revisit is not None:
            try:
                revisit_on = _revisit_date(revisit, policy)
            except ValueError:
                raise IllegalTransition(
                    frm, dest, f"the revisit {revisit!r} is not a date (write YYYY-MM-DD)"
                ) from None
        elif lifecycle is not None and lifecycle.nurture_revisit is not None:
            revisit_on = today + timedelta(days=int(lifecycle.nurture_revisit.amount // 86400))
        else:
            raise IllegalTransition(
                frm, dest, "nurture needs a revisit date (or set lifecycle.nurture_revisit)"
            )
        if revisit_on <= today:
            raise IllegalTransition(
                frm, dest, f"the revisit date {revisit_on} is not after today ({today})"
            )
    elif revisit is not None:
        raise IllegalTransition(frm, dest, "a revisit date only applies to nurture")

    if "fields" in rule.needs:
        missing = []
        if "contact" in rule.needs and (lifecycle is None or lifecycle.sql_requires_contact) \
                and not contacted:
            missing.append("the lead has not been contacted")
        required = sql_fields(policy)
        empty = [f for f in required if not (fields or {}).get(f)]
        if empty:
            missing.append(f"missing {', '.join(empty)}")
        if missing:
            raise IllegalTransition(frm, dest, "an SQL needs contact and BANT: " + "; ".join(missing))
    return Transition(frm, dest, at, who, why, revisit_on)


def sql_fields(policy: Policy | None) -> list[str]:
    """Fields an SQL needs: lifecycle.sql_fields, else the handoff's required fields."""
    if policy is None:
        return list(Handoff().required_fields)
    if policy.lifecycle.sql_fields is not None:
        return list(policy.lifecycle.sql_fields)
    return list(policy.handoff.required_fields)


# --------------------------------------------------------------------------- decisions


def mql_check(
    card: ScoreCard, actions: Iterable[str], policy: Policy | CompiledScoring
) -> str | None:
    """Why the lead is an MQL (003: score ≥ threshold, or a trigger action), or None."""
    c = compile_scoring(policy)
    reasons = []
    if card.score >= c.mql_threshold:
        reasons.append(f"score {card.score} ≥ {c.mql_threshold}")
    triggered = [a for a in dict.fromkeys(actions) if a in c.mql_triggers]
    if triggered:
        reasons.append(f"trigger action {', '.join(triggered)}")
    return "; ".join(reasons) or None


def unqualified_check(card: ScoreCard, policy: Policy | CompiledScoring) -> str | None:
    """Why a new lead is unqualified (lifecycle.unqualified_when flags found on it), or None."""
    c = compile_scoring(policy)
    hits = [f"{flag}: {card.flags[flag]}" for flag in c.policy.lifecycle.unqualified_when
            if flag in card.flags]
    return "; ".join(hits) or None


def on_engagement(
    current: Stage | str,
    action: str,
    *,
    at: datetime,
    card: ScoreCard,
    actions: Iterable[str] = (),
    policy: Policy,
    who: str = "system",
) -> Transition | None:
    """What an engagement does to the stage, after its points are on `card`.

    A parked lead (lifecycle.reengage_from) is re-evaluated: to MQL when it now qualifies, else
    back to Lead. A Lead that now qualifies becomes an MQL. Anything else stays where it is.
    `actions` are the lead's earlier engagement actions (a trigger counts whenever it happened).
    """
    stage = Stage(current)
    if action in NOT_ENGAGING:
        return None
    reason = mql_check(card, [*actions, action], policy)
    if stage.value in policy.lifecycle.reengage_from:
        if reason:
            return transition(stage, Stage.MQL, at=at, who=who, policy=policy,
                              why=f"engaged again ({action}); MQL: {reason}")
        c = compile_scoring(policy)
        return transition(stage, Stage.LEAD, at=at, who=who, policy=policy,
                          why=f"engaged again ({action}); not an MQL yet: score "
                              f"{card.score} < {c.mql_threshold}")
    if stage is Stage.LEAD and reason:
        return transition(stage, Stage.MQL, at=at, who=who, policy=policy,
                          why=f"MQL: {reason} (after {action})")
    return None


# --------------------------------------------------------------------------- status feedback

# lead.status statuses (engine/events.py) and the stage each one moves the lead to;
# in_progress is a working note, not a move.
STATUS_STAGE: dict[str, Stage | None] = {
    "qualified": Stage.SQL,
    "disqualified": Stage.UNQUALIFIED,
    "nurture": Stage.NURTURE,
    "recycled": Stage.RECYCLED,
    "garbage": Stage.GARBAGE,
    "unreachable": Stage.UNREACHABLE,
    "in_progress": None,
}

# 004: sales tells marketing "qualified", "recycle", "garbage" or "could not reach".
_FEEDBACK: dict[Stage, str] = {
    Stage.SQL: "qualified",
    Stage.RECYCLED: "recycle",
    Stage.NURTURE: "recycle",  # marketing keeps working it until it is ready
    Stage.GARBAGE: "garbage",
    Stage.UNQUALIFIED: "garbage",  # not qualified and never will be
    Stage.UNREACHABLE: "unreachable",
}


def stage_for_status(status: str) -> Stage | None:
    """The stage a lead.status event asks for (None for in_progress)."""
    if status not in STATUS_STAGE:
        raise ValueError(f"unknown status {status!r}; known: {', '.join(STATUS_STAGE)}")
    return STATUS_STAGE[status]


def marketing_feedback(stage: Stage | str) -> str | None:
    """The closed-loop status marketing hears when a lead enters `stage`, or None."""
    return _FEEDBACK.get(Stage(stage))
