"""`leadclock report scorecard --rep R --week W` and `team-scorecard --team T --week W` (F21).

The individual scorecard reads like 001's example (「個人およびチームスコアカード」), line for line,
in `report.lines`; the same numbers are in the tables. Definitions:

- Assigned leads: leads whose first-contact or cadence clock (both start at assignment) or, for
  an AE, acceptance clock (it starts at the handoff) owned by the rep started in the week (local
  Monday 00:00 to the next Monday 00:00).
- The week's card is as the week ended: the rep's clocks on those leads are taken as of the end of
  the week (or `now`, for the week in progress). A lead is within SLA when none of the rep's clocks
  on it had been breached by then (001: "42 of 47 within SLA"); a clock still open and not yet
  due counts against nobody, so a card read later says the same.
- Average response time: the mean counted business time of the rep's first contacts on those
  leads (late ones included; a clock ended by a reassignment measured no contact).
- Qualified / disqualified / in progress: each assigned lead by its status (as stored now):
  qualified and everything after it (handoff, acceptance, opportunity, won, lost); disqualified,
  nurture, recycled, garbage, unreachable; anything else is in progress. Percentages of assigned.
- Violations: each of the rep's breached clocks on those leads, with what happened and the target
  ("first contact 18 min (target 5 min)", "no decision after 48 h"; a business day is 24 h).
- Trend: the change in percentage points from the previous week's compliance, same definitions.

The team scorecard is one row per rep of the team (the roster's `team`; managers only when they
had leads), the team total (leads assigned to any member; within SLA when none of the members'
clocks on it was breached) and the ranking by compliance. Many cards are built from one read per
team (`week_cards`), never one per rep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import polars as pl
from sqlalchemy import and_, or_

from leadclock.policy.durations import Duration
from leadclock.policy.i18n import STAGES, format_duration, format_minutes, pick
from leadclock.reports.clock_frame import (
    DISQUALIFIED,
    QUALIFIED,
    as_of,
    load_clocks,
    load_reps,
    pct,
    responses,
    team_members,
)
from leadclock.reports.data import utc
from leadclock.reports.output import Column, Lang, Report, ReportError, Table
from leadclock.reports.params import Period, ReportRequest, parse_week
from leadclock.store.models import ClockRow

# A lead reaches an SDR with its first-contact / cadence clocks and an AE with the acceptance
# clock of the handoff (the AE owns it): either starting in the week makes the lead "assigned" to
# that rep, so an AE team's card is not empty.
ASSIGNED_STAGES = ("first_contact", "cadence", "acceptance")
# Such a clock started in a week falls due at most this long after the week ends (cadence windows
# and acceptance targets are up to 5 business days; Golden Week adds a few). Bounds the read.
SPILL = timedelta(days=14)

_TEXT: dict[str, dict[str, str]] = {
    "title": {"ja": "週次スコアカード:{name}({week})", "en": "Weekly scorecard: {name} ({week})"},
    "team_title": {"ja": "チームスコアカード:{team}({week})", "en": "Team scorecard: {team} ({week})"},
    "rep": {"ja": "担当者:{name}", "en": "Rep: {name}"},
    "team": {"ja": "チーム:{team}", "en": "Team: {team}"},
    "week": {"ja": "週:{dates}", "en": "Week: {dates}"},
    "assigned": {"ja": "割り当てリード:{n}", "en": "Assigned leads: {n}"},
    "compliance": {"ja": "SLAコンプライアンス:{rate}({n}中{within}がSLA内)", "en": "SLA compliance: {rate} ({within} of {n} within SLA)"},
    "response": {"ja": "平均レスポンスタイム:{value}", "en": "Average response time: {value}"},
    "qualified": {"ja": "適格化:{n}({rate})", "en": "Qualified: {n} ({rate})"},
    "disqualified": {"ja": "不適格化:{n}({rate})", "en": "Disqualified: {n} ({rate})"},
    "in_progress": {"ja": "進行中:{n}({rate})", "en": "In progress: {n} ({rate})"},
    "violations": {"ja": "違反:", "en": "Violations:"},
    "no_violations": {"ja": "違反:なし", "en": "Violations: none"},
    "violation": {"ja": "- リード#{lead}:{what}", "en": "- Lead #{lead}: {what}"},
    "up": {"ja": "傾向:↑ 改善中(先週比{change}%)", "en": "Trend: ↑ improving ({change}% vs last week)"},
    "down": {"ja": "傾向:↓ 低下中(先週比{change}%)", "en": "Trend: ↓ declining ({change}% vs last week)"},
    "flat": {"ja": "傾向:→ 横ばい(先週比±0%)", "en": "Trend: → steady (±0% vs last week)"},
    "no_trend": {"ja": "傾向:—(比較できる先週のデータなし)", "en": "Trend: — (no data for the week before)"},
    "total": {"ja": "チーム合計:{rate}({n}中{within}がSLA内)", "en": "Team total: {rate} ({within} of {n} within SLA)"},
    "ranking": {"ja": "ランキング:", "en": "Ranking:"},
    "rank_line": {"ja": "{rank}. {name} {rate}({n}中{within})", "en": "{rank}. {name} {rate} ({within} of {n})"},
    "no_leads": {"ja": "{name}に{week}に割り当てられたリードはありません。", "en": "No leads were assigned to {name} in {week}."},
    # violations
    "fc_late": {"ja": "最初のコンタクト{actual}(目標{target})", "en": "first contact {actual} (target {target})"},
    "fc_none": {"ja": "最初のコンタクトなし(目標{target})", "en": "no first contact (target {target})"},
    "qualification": {"ja": "{target}後も評価なし", "en": "no decision after {target}"},
    "cadence": {"ja": "コンタクト試行{attempts}回(目標{required}回)", "en": "{attempts} contact attempts (target {required})"},
    "handoff": {"ja": "{target}後も引き継ぎなし", "en": "not handed off after {target}"},
    "acceptance": {"ja": "{target}後も受け入れなし", "en": "not accepted after {target}"},
    "follow_up": {"ja": "{target}以上フォローアップなし", "en": "no follow-up for {target}"},
    "other": {"ja": "{stage}の期限超過(目標{target})", "en": "{stage} missed (target {target})"},
    # tables
    "t_summary": {"ja": "概要", "en": "Summary"}, "t_violations": {"ja": "違反", "en": "Violations"},
    "t_reps": {"ja": "担当者別", "en": "By rep"},
    "c_rep": {"ja": "担当者ID", "en": "Rep"}, "c_name": {"ja": "氏名", "en": "Name"},
    "c_rank": {"ja": "順位", "en": "Rank"}, "c_assigned": {"ja": "割り当て", "en": "Assigned"},
    "c_within": {"ja": "SLA内", "en": "Within SLA"}, "c_compliance": {"ja": "コンプライアンス", "en": "Compliance"},
    "c_response": {"ja": "平均レスポンス", "en": "Avg response"}, "c_qualified": {"ja": "適格化", "en": "Qualified"},
    "c_disqualified": {"ja": "不適格化", "en": "Disqualified"}, "c_in_progress": {"ja": "進行中", "en": "In progress"},
    "c_violations": {"ja": "違反", "en": "Violations"}, "c_previous": {"ja": "先週", "en": "Last week"},
    "c_change": {"ja": "先週比", "en": "Change"}, "c_lead": {"ja": "リード", "en": "Lead"},
    "c_stage": {"ja": "ステージ", "en": "Stage"}, "c_what": {"ja": "内容", "en": "What happened"},
    "c_actual": {"ja": "実績", "en": "Actual"}, "c_target": {"ja": "目標", "en": "Target"},
    "c_due": {"ja": "期限", "en": "Due"}, "team_row": {"ja": "チーム合計", "en": "Team total"},
    "c_pct_q": {"ja": "適格化率", "en": "Qualified %"}, "c_pct_d": {"ja": "不適格化率", "en": "Disqualified %"},
    "c_pct_p": {"ja": "進行中率", "en": "In progress %"},
}


def _t(key: str, lang: str, **values: Any) -> str:
    return _TEXT[key][lang].format(**values)


@dataclass
class Card:
    """One rep's (or one team's) week."""

    key: str
    assigned: int = 0
    within: int = 0
    response_seconds: float | None = None
    qualified: int = 0
    disqualified: int = 0
    in_progress: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)
    previous: float | None = None  # last week's compliance
    breaches: int = 0  # breached clocks (the rows of `violations`, counted even when not listed)

    @property
    def compliance(self) -> float | None:
        return pct(self.within, self.assigned)

    @property
    def change(self) -> float | None:
        if self.compliance is None or self.previous is None:
            return None
        return round(self.compliance - self.previous, 1)

    def as_row(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned, "within_sla": self.within, "compliance": self.compliance,
            "average_response_seconds": self.response_seconds, "qualified": self.qualified,
            "disqualified": self.disqualified, "in_progress": self.in_progress,
            "qualified_pct": pct(self.qualified, self.assigned),
            "disqualified_pct": pct(self.disqualified, self.assigned),
            "in_progress_pct": pct(self.in_progress, self.assigned),
            "violations": self.breaches, "previous_compliance": self.previous, "change": self.change,
        }


def weeks_clocks(request: ReportRequest, first: Period, last: Period, owners: list[str] | None,
                 reps: pl.DataFrame | None = None) -> pl.DataFrame:
    """The clocks the cards of the weeks `first` .. `last` need, with `team` and the lead's status.

    As of a week's end only clocks due before it can be late, so the read is the deadlines from
    `first`'s start to `last`'s end, plus the first-contact and cadence clocks started before that
    end and due up to `SPILL` after it (they say who was assigned, and the first contacts made).
    Statuses are looked up on the assigned clocks only, not on every clock read.
    """
    c = ClockRow.__table__.c
    wanted = or_(c.due_at < utc(last.end), and_(c.stage.in_(ASSIGNED_STAGES), c.started_at < utc(last.end)))
    assigned = and_(c.stage.in_(ASSIGNED_STAGES), c.started_at >= utc(first.start), c.started_at < utc(last.end))
    clocks = load_clocks(request.store, due_from=first.start, due_before=last.end + SPILL, owners=owners,
                         source=request.source, extra=[wanted], with_source=False, with_status=assigned)
    reps = reps if reps is not None else load_reps(request.store)
    clocks = clocks.join(reps.select(pl.col("rep").alias("owner"), "team"), on="owner", how="left")
    # The status is read on the assigned clocks only; every clock of a lead gets it.
    statuses = clocks.filter(pl.col("status").is_not_null()).select("lead", "status").unique(subset=["lead"])
    return clocks.drop("status").join(statuses, on="lead", how="left")


def cards_of_week(clocks: pl.DataFrame, week: Period, now: datetime, key: str, *,
                  listed: bool = True) -> dict[str, Card]:
    """Cards of one week grouped by `key` (owner or team) from `weeks_clocks`; `listed=False`
    leaves out the violation rows (the week before and a team total only need the counts, and
    turning a team's thousands of breaches into rows is most of the work)."""
    cutoff = min(utc(now), week.end)
    known = as_of(clocks, cutoff).filter(pl.col(key).is_not_null())
    assigned = known.filter(
        pl.col("stage").is_in(ASSIGNED_STAGES) & (pl.col("started_at") >= week.start)
        & (pl.col("started_at") < week.end) & (pl.col("state") != "none")
    ).select(key, "lead", "status").unique(subset=[key, "lead"])
    if assigned.height == 0:
        return {}
    theirs = known.join(assigned, on=[key, "lead"], how="semi")
    late = theirs.filter(pl.col("state") == "breached").sort(["due_at", "lead", "stage", "seq"])
    made = responses(theirs.filter(pl.col("state").is_in(["met", "breached"])), cutoff)
    counts = assigned.group_by(key).agg(
        pl.len().alias("assigned"), pl.col("status").is_in(QUALIFIED).sum().alias("qualified"),
        pl.col("status").is_in(DISQUALIFIED).sum().alias("disqualified"),
    )
    counts = counts.join(late.group_by(key).agg(pl.col("lead").n_unique().alias("late"), pl.len().alias("breaches")),
                         on=key, how="left")
    counts = counts.join(made.group_by(key).agg(pl.col("business_seconds").mean().alias("response")), on=key, how="left")
    violations = late.partition_by(key, as_dict=True) if late.height and listed else {}
    cards: dict[str, Card] = {}
    for row in counts.iter_rows(named=True):
        name, n = str(row[key]), int(row["assigned"])
        qualified, disqualified = int(row["qualified"]), int(row["disqualified"])
        mine = violations.get((name,))
        cards[name] = Card(
            key=name, assigned=n, within=n - int(row["late"] or 0),
            response_seconds=None if row["response"] is None else round(float(row["response"]), 1),
            qualified=qualified, disqualified=disqualified, in_progress=n - qualified - disqualified,
            violations=[] if mine is None else list(mine.iter_rows(named=True)), breaches=int(row["breaches"] or 0),
        )
    return cards


def week_cards(request: ReportRequest, week: Period, owners: list[str] | None, key: str = "owner",
               reps: pl.DataFrame | None = None) -> dict[str, Card]:
    """This week's cards keyed by rep or team, `previous` filled from the week before (one read)."""
    previous = week.previous(request.zone)
    clocks = weeks_clocks(request, previous, week, owners, reps)
    before = cards_of_week(clocks, previous, request.now, key, listed=False)
    cards = cards_of_week(clocks, week, request.now, key)
    for name, card in cards.items():
        card.previous = before[name].compliance if name in before else None
    return cards


# --------------------------------------------------------------------------- words


@cache  # a team's week has thousands of violations over a handful of targets
def target_text(target: str, lang: Lang) -> str:
    """A policy target as 001 writes it: "5分", "48時間" (a business day reads as 24 hours)."""
    try:
        duration = Duration.parse(target)
    except ValueError:
        return target
    if duration.kind == "business_days":
        duration = Duration("seconds", duration.amount * 86400)
    return format_duration(duration, lang)


@cache
def response_text(seconds: float | None, lang: Lang) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return format_minutes(round(seconds) / 60, lang)
    return format_minutes(round(seconds / 60), lang)


def violation_text(clock: dict[str, Any], cutoff: datetime, lang: Lang) -> str:
    stage, target = clock["stage"], target_text(clock["target"] or "", lang)
    if stage == "first_contact":
        contacted = (clock["stopped_at"] is not None and clock["stopped_at"] <= cutoff
                     and not (clock["reason"] or "").startswith("reassigned"))
        if contacted:
            return _t("fc_late", lang, actual=response_text(clock["business_seconds"], lang), target=target)
        return _t("fc_none", lang, target=target)
    if stage == "cadence":
        return _t("cadence", lang, attempts=clock["attempts"], required=clock["required"])
    if stage in ("qualification", "handoff", "acceptance", "follow_up"):
        return _t(stage, lang, target=target)
    return _t("other", lang, stage=pick(STAGES, stage, lang), target=target)


def week_dates(week: Period, request: ReportRequest) -> str:
    """"2026年7月6日-12日" / "6-12 July 2026": the week's Monday to Sunday."""
    first = week.start.astimezone(request.zone).date()
    last = (week.end - timedelta(microseconds=1)).astimezone(request.zone).date()
    if request.lang == "ja":
        if first.year != last.year:
            return f"{first.year}年{first.month}月{first.day}日-{last.year}年{last.month}月{last.day}日"
        if first.month != last.month:
            return f"{first.year}年{first.month}月{first.day}日-{last.month}月{last.day}日"
        return f"{first.year}年{first.month}月{first.day}日-{last.day}日"
    if first.year != last.year:
        return f"{first.day} {first:%B} {first.year} - {last.day} {last:%B} {last.year}"
    if first.month != last.month:
        return f"{first.day} {first:%B} - {last.day} {last:%B} {last.year}"
    return f"{first.day}-{last.day} {last:%B} {last.year}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{round(value)}%"


def trend_line(card: Card, lang: Lang) -> str:
    change = card.change
    if change is None:
        return _t("no_trend", lang)
    shown = round(change)
    if shown > 0:
        return _t("up", lang, change=f"+{shown}")
    if shown < 0:
        return _t("down", lang, change=f"{shown}")
    return _t("flat", lang)


def card_lines(card: Card, name: str, week: Period, request: ReportRequest, cutoff: datetime) -> list[str]:
    lang = request.lang
    lines = [
        _t("rep", lang, name=name), _t("week", lang, dates=week_dates(week, request)), "",
        _t("assigned", lang, n=card.assigned),
        _t("compliance", lang, rate=_rate(card.compliance), n=card.assigned, within=card.within),
        _t("response", lang, value=response_text(card.response_seconds, lang)),
        _t("qualified", lang, n=card.qualified, rate=_rate(pct(card.qualified, card.assigned))),
        _t("disqualified", lang, n=card.disqualified, rate=_rate(pct(card.disqualified, card.assigned))),
        _t("in_progress", lang, n=card.in_progress, rate=_rate(pct(card.in_progress, card.assigned))), "",
    ]
    if card.violations:
        lines.append(_t("violations", lang))
        lines += [_t("violation", lang, lead=v["lead"], what=violation_text(v, cutoff, lang)) for v in card.violations]
    else:
        lines.append(_t("no_violations", lang))
    lines += ["", trend_line(card, lang)]
    return lines


# --------------------------------------------------------------------------- reports


def _week(request: ReportRequest) -> Period:
    return parse_week(request.option("week"), request.zone, request.today)


def build(request: ReportRequest) -> Report:
    lang = request.lang
    if request.rep is None:
        raise ReportError("rep", "the scorecard is for one rep: give --rep")
    reps = load_reps(request.store)
    found = reps.filter(pl.col("rep") == request.rep)
    if found.height == 0:
        raise ReportError("rep", f"unknown rep {request.rep!r}")
    name = found["name"][0] or request.rep
    week = _week(request)
    cutoff = min(utc(request.now), week.end)
    cards = week_cards(request, week, [request.rep], reps=reps)
    card = cards.get(request.rep, Card(request.rep))
    report = Report(
        name="scorecard", title=_t("title", lang, name=name, week=week.label), lang=lang,
        params={"rep": request.rep, "week": week.label, "from": week.start, "to": week.end, "as_of": cutoff},
        lines=card_lines(card, name, week, request, cutoff),
    )
    report.tables.append(Table("summary", _t("t_summary", lang), _card_columns(lang),
                               [{"rep": request.rep, "name": name, **card.as_row()}]))
    report.tables.append(Table("violations", _t("t_violations", lang), [
        Column("lead", _t("c_lead", lang)), Column("stage", _t("c_stage", lang)),
        Column("what", _t("c_what", lang)), Column("actual_seconds", _t("c_actual", lang), "seconds"),
        Column("target", _t("c_target", lang)), Column("due_at", _t("c_due", lang), "datetime"),
    ], [
        {"lead": v["lead"], "stage": pick(STAGES, v["stage"], lang), "what": violation_text(v, cutoff, lang),
         "actual_seconds": v["business_seconds"], "target": target_text(v["target"] or "", lang),
         "due_at": v["due_at"].astimezone(request.zone)}
        for v in card.violations
    ]))
    if card.assigned == 0:
        report.notes.append(_t("no_leads", lang, name=name, week=week.label))
    return report


def _card_columns(lang: Lang, *, ranked: bool = False) -> list[Column]:
    columns = [Column("rank", _t("c_rank", lang), "int")] if ranked else []
    return [
        *columns, Column("rep", _t("c_rep", lang)), Column("name", _t("c_name", lang)),
        Column("assigned", _t("c_assigned", lang), "int"), Column("within_sla", _t("c_within", lang), "int"),
        Column("compliance", _t("c_compliance", lang), "percent"),
        Column("average_response_seconds", _t("c_response", lang), "seconds"),
        Column("qualified", _t("c_qualified", lang), "int"), Column("qualified_pct", _t("c_pct_q", lang), "percent"),
        Column("disqualified", _t("c_disqualified", lang), "int"),
        Column("disqualified_pct", _t("c_pct_d", lang), "percent"),
        Column("in_progress", _t("c_in_progress", lang), "int"),
        Column("in_progress_pct", _t("c_pct_p", lang), "percent"),
        Column("violations", _t("c_violations", lang), "int"),
        Column("previous_compliance", _t("c_previous", lang), "percent"),
        Column("change", _t("c_change", lang), "delta"),
    ]


def ranked(cards: list[tuple[str, str, Card]]) -> list[tuple[int, str, str, Card]]:
    """Best compliance first (reps without leads last), then more leads, then id. Ties share a rank."""
    ordered = sorted(cards, key=lambda item: (item[2].compliance is None, -(item[2].compliance or 0.0),
                                              -item[2].assigned, item[0]))
    out: list[tuple[int, str, str, Card]] = []
    for index, (rep, name, card) in enumerate(ordered, start=1):
        rank = index
        if out and card.compliance is not None and out[-1][3].compliance == card.compliance:
            rank = out[-1][0]
        out.append((rank, rep, name, card))
    return out


def build_team(request: ReportRequest) -> Report:
    lang = request.lang
    if request.team is None:
        raise ReportError("team", "the team scorecard is for one team: give --team")
    reps = load_reps(request.store)
    members = team_members(reps, request.team)
    if not members:
        raise ReportError("team", f"unknown team {request.team!r}")
    week = _week(request)
    cutoff = min(utc(request.now), week.end)
    previous = week.previous(request.zone)
    clocks = weeks_clocks(request, previous, week, members, reps)
    cards: dict[str, dict[str, Card]] = {}
    for key in ("owner", "team"):
        before = cards_of_week(clocks, previous, request.now, key, listed=False)
        now_cards = cards_of_week(clocks, week, request.now, key, listed=key == "owner")
        for name, card in now_cards.items():
            card.previous = before[name].compliance if name in before else None
        cards[key] = now_cards
    info = {row["rep"]: row for row in reps.iter_rows(named=True)}
    people = [
        (rep, info[rep]["name"] or rep, cards["owner"].get(rep, Card(rep)))
        for rep in members
        if info[rep]["role"] != "manager" or rep in cards["owner"]
    ]
    order = ranked(people)
    total = cards["team"].get(request.team, Card(request.team))
    report = Report(
        name="team-scorecard", title=_t("team_title", lang, team=request.team, week=week.label), lang=lang,
        params={"team": request.team, "week": week.label, "from": week.start, "to": week.end, "as_of": cutoff},
    )
    report.lines = [
        _t("team", lang, team=request.team), _t("week", lang, dates=week_dates(week, request)), "",
        _t("total", lang, rate=_rate(total.compliance), n=total.assigned, within=total.within),
        _t("response", lang, value=response_text(total.response_seconds, lang)),
        trend_line(total, lang), "", _t("ranking", lang),
        *(_t("rank_line", lang, rank=rank, name=name, rate=_rate(card.compliance), n=card.assigned, within=card.within)
          for rank, _rep, name, card in order),
    ]
    rows = [{"rank": rank, "rep": rep, "name": name, **card.as_row()} for rank, rep, name, card in order]
    rows.append({"rank": None, "rep": request.team, "name": _t("team_row", lang), **total.as_row()})
    report.tables.append(Table("reps", _t("t_reps", lang), _card_columns(lang, ranked=True), rows))
    # Every member's own card, from the same read: what the Monday job sends each rep (F21), so a
    # 50-rep team's cards cost one read, not fifty.
    report.data["cards"] = {rep: card_lines(card, name, week, request, cutoff) for _rank, rep, name, card in order}
    report.tables.append(Table("violations", _t("t_violations", lang), [
        Column("rep", _t("c_rep", lang)), Column("lead", _t("c_lead", lang)), Column("stage", _t("c_stage", lang)),
        Column("what", _t("c_what", lang)), Column("actual_seconds", _t("c_actual", lang), "seconds"),
        Column("target", _t("c_target", lang)), Column("due_at", _t("c_due", lang), "datetime"),
    ], [
        {"rep": rep, "lead": v["lead"], "stage": pick(STAGES, v["stage"], lang), "what": violation_text(v, cutoff, lang),
         "actual_seconds": v["business_seconds"], "target": target_text(v["target"] or "", lang),
         "due_at": v["due_at"].astimezone(request.zone)}
        for _rank, rep, _name, card in order for v in card.violations
    ]))
    if total.assigned == 0:
        report.notes.append(_t("no_leads", lang, name=request.team, week=week.label))
    return report
