"""`leadclock report consequences [--team T | --rep R] [--week W]` (F19, 001 「結果フレームワーク」
and 「パフォーマンスレビューへの統合」).

Each rep's weekly compliance (the scorecard's definition, `scorecard.py`) over the `LOOKBACK`
weeks ending with the selected week (default: last full week) gives the number of consecutive
weeks below the threshold, counted back from the selected week, and the ladder's stage:

    0 weeks: on track · 1: first occurrence (an automatic alert, no action) · 2-3: a pattern
    (manager 1:1, find the barrier, improvement plan) · 4-7: continuing (formal improvement plan,
    fewer leads, more coaching) · 8 and more: persistent (role-fit conversation).

Coaching comes first: the seed insists that most misses are systemic (territory, lead quality,
training, tools), so every stage before "persistent" is about diagnosis and support. A week in
which the rep had no leads (leave, holidays) is skipped: it neither extends nor breaks a streak.

Compensation hooks, on the selected week's compliance: the gate (full commission needs the
policy's individual target, 85% in 001), the multiplier (≥ 90% → 110%, below the alert line
(80%) → 90%, else 100%) and the team bonus (the team's compliance ≥ 95%). Thresholds come from
the policy where it has them (`compliance.rep_alert_below` for the 80% line,
`compliance.individual` for the gate); the 90% / 95% lines are the seed's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from leadclock.reports.clock_frame import load_reps, team_members
from leadclock.reports.output import Column, Report, ReportError, Table
from leadclock.reports.params import Period, ReportRequest, parse_week
from leadclock.reports.scorecard import Card, cards_of_week, weeks_clocks

LOOKBACK = 12  # weeks read: enough to tell "8 weeks and more" from less
MULTIPLIER_HIGH_AT = 90.0  # 001: 90%以上のコンプライアンス = 110%コミッション
TEAM_BONUS_AT = 95.0  # 001: チーム全体が95%を達成すれば全員がボーナス

STAGES = ("none", "first", "pattern", "continuing", "persistent")

_TEXT: dict[str, dict[str, str]] = {
    "title": {"ja": "SLA結果フレームワーク({week})", "en": "SLA consequences ({week})"},
    "coaching": {
        "ja": "結果に飛びつく前に、まずシステム的な理由(テリトリー、リード品質、トレーニング、ツール)を確認し修正する。",
        "en": "Fix the systemic causes first (territory, lead quality, training, tools) before any consequence.",
    },
    "thresholds": {
        "ja": "基準:{below}%未満の週が続くと段階が上がる/ゲート{gate}%/乗数 {high}%以上=110%、{below}%未満=90%/チームボーナス {bonus}%以上",
        "en": "Lines: consecutive weeks below {below}% raise the stage / gate {gate}% / multiplier ≥ {high}% = 110%, below {below}% = 90% / team bonus at {bonus}%",
    },
    "none": {"ja": "問題なし", "en": "On track"},
    "first": {"ja": "最初の発生", "en": "First occurrence"},
    "pattern": {"ja": "パターンの出現", "en": "Pattern emerging"},
    "continuing": {"ja": "継続的な問題", "en": "Continuing problem"},
    "persistent": {"ja": "持続的な失敗", "en": "Persistent failure"},
    "a_none": {"ja": "—", "en": "—"},
    "a_first": {"ja": "自動アラート、アクションは不要(偶然の可能性がある)", "en": "Automatic alert, no action needed (may be chance)"},
    "a_pattern": {"ja": "マネージャー1on1で問題を診断、障壁を特定(トレーニング、ツール、容量)、改善計画を設定",
                  "en": "Manager 1:1 to diagnose; find the barrier (training, tools, capacity); set an improvement plan"},
    "a_continuing": {"ja": "正式なパフォーマンス改善計画、リード割り当てを削減、コーチング頻度を増加",
                     "en": "Formal performance improvement plan; fewer leads assigned; more frequent coaching"},
    "a_persistent": {"ja": "役割適合性の会話、別の役割への再配置の可能性(極端なケースでは解雇)",
                     "en": "Role-fit conversation; possible move to another role (dismissal only in extreme cases)"},
    "t_ladder": {"ja": "結果の段階", "en": "Consequence ladder"},
    "t_compensation": {"ja": "報酬への連動", "en": "Compensation hooks"},
    "t_history": {"ja": "週次コンプライアンス", "en": "Weekly compliance"},
    "c_rep": {"ja": "担当者ID", "en": "Rep"}, "c_name": {"ja": "氏名", "en": "Name"},
    "c_team": {"ja": "チーム", "en": "Team"}, "c_weeks": {"ja": "連続週数", "en": "Weeks below"},
    "c_stage": {"ja": "段階", "en": "Stage"}, "c_action": {"ja": "推奨アクション", "en": "Recommended action"},
    "c_compliance": {"ja": "コンプライアンス", "en": "Compliance"}, "c_gate": {"ja": "ゲート達成", "en": "Gate met"},
    "c_multiplier": {"ja": "コミッション乗数", "en": "Commission multiplier"},
    "c_team_compliance": {"ja": "チームコンプライアンス", "en": "Team compliance"},
    "c_bonus": {"ja": "チームボーナス", "en": "Team bonus"}, "c_week": {"ja": "週", "en": "Week"},
    "c_assigned": {"ja": "割り当て", "en": "Assigned"}, "c_within": {"ja": "SLA内", "en": "Within SLA"},
    "c_below": {"ja": "基準未満", "en": "Below"},
    "yes": {"ja": "はい", "en": "yes"}, "no": {"ja": "いいえ", "en": "no"},
    "no_data": {"ja": "{week}までの{n}週間にリードの割り当てはありません。", "en": "No leads were assigned in the {n} weeks to {week}."},
}


def _t(key: str, lang: str, **values: Any) -> str:
    return _TEXT[key][lang].format(**values)


def stage_of(weeks_below: int) -> str:
    """001's ladder: 1 week first occurrence, 2 a pattern, 4 continuing, 8 persistent."""
    if weeks_below >= 8:
        return "persistent"
    if weeks_below >= 4:
        return "continuing"
    if weeks_below >= 2:
        return "pattern"
    if weeks_below == 1:
        return "first"
    return "none"


def streak(weekly: list[float | None], threshold: float) -> int:
    """Consecutive weeks below `threshold`, counted back from the last; weeks without data
    (None) are skipped."""
    count = 0
    for value in reversed(weekly):
        if value is None:
            continue
        if value >= threshold:
            break
        count += 1
    return count


def multiplier(compliance: float | None, low: float, high: float = MULTIPLIER_HIGH_AT) -> int | None:
    """Commission in percent: ≥ high → 110, below low → 90, else 100; None without data."""
    if compliance is None:
        return None
    if compliance >= high:
        return 110
    if compliance < low:
        return 90
    return 100


@dataclass(frozen=True)
class Lines:
    below: float
    gate: float
    high: float = MULTIPLIER_HIGH_AT
    bonus: float = TEAM_BONUS_AT


def build(request: ReportRequest) -> Report:
    lang, zone = request.lang, request.zone
    policy_lines = Lines(below=request.policy.compliance.rep_alert_below, gate=request.policy.compliance.individual)
    last = parse_week(request.option("week"), zone, request.today)
    weeks: list[Period] = [last]
    while len(weeks) < LOOKBACK:
        weeks.insert(0, weeks[0].previous(zone))
    reps = load_reps(request.store)
    if request.rep is not None:
        if reps.filter(pl.col("rep") == request.rep).height == 0:
            raise ReportError("rep", f"unknown rep {request.rep!r}")
        owners: list[str] | None = [request.rep]
    elif request.team is not None:
        owners = team_members(reps, request.team)
        if not owners:
            raise ReportError("team", f"unknown team {request.team!r}")
    else:
        owners = None
    clocks = weeks_clocks(request, weeks[0], last, owners, reps)
    per_rep: dict[str, list[Card | None]] = {}
    per_team: dict[str, Card] = {}
    for index, week in enumerate(weeks):
        cards = cards_of_week(clocks, week, request.now, "owner")
        for rep, card in cards.items():
            per_rep.setdefault(rep, [None] * len(weeks))[index] = card
        if week is last:
            per_team = cards_of_week(clocks, week, request.now, "team")
    info = {row["rep"]: row for row in reps.iter_rows(named=True)}
    report = Report(
        name="consequences", title=_t("title", lang, week=last.label), lang=lang,
        params={"week": last.label, "from": weeks[0].start, "to": last.end, "team": request.team, "rep": request.rep},
        lines=[_t("coaching", lang), _t("thresholds", lang, below=f"{policy_lines.below:g}", gate=f"{policy_lines.gate:g}",
                                        high=f"{policy_lines.high:g}", bonus=f"{policy_lines.bonus:g}")],
    )
    ladder, pay, history = [], [], []
    for rep in sorted(per_rep):
        weekly = [card.compliance if card is not None else None for card in per_rep[rep]]
        count = streak(weekly, policy_lines.below)
        stage = stage_of(count)
        person = info.get(rep, {})
        name, team = person.get("name") or rep, person.get("team")
        current = weekly[-1]
        ladder.append({"rep": rep, "name": name, "team": team, "weeks_below": count, "stage": stage,
                       "stage_label": _t(stage, lang), "action": _t(f"a_{stage}", lang), "compliance": current})
        team_card = per_team.get(team) if team else None
        team_rate = team_card.compliance if team_card is not None else None
        pay.append({"rep": rep, "name": name, "compliance": current,
                    "gate_met": None if current is None else _t("yes" if current >= policy_lines.gate else "no", lang),
                    "multiplier": multiplier(current, policy_lines.below, policy_lines.high),
                    "team": team, "team_compliance": team_rate,
                    "team_bonus": None if team_rate is None else _t("yes" if team_rate >= policy_lines.bonus else "no", lang)})
        for week, card in zip(weeks, per_rep[rep], strict=True):
            if card is not None:
                history.append({"rep": rep, "name": name, "week": week.label, "assigned": card.assigned,
                                "within_sla": card.within, "compliance": card.compliance,
                                "below": _t("yes" if (card.compliance or 0) < policy_lines.below else "no", lang)})
    ladder.sort(key=lambda r: (-r["weeks_below"], r["compliance"] if r["compliance"] is not None else 101, r["rep"]))
    report.tables.append(Table("ladder", _t("t_ladder", lang), [
        Column("rep", _t("c_rep", lang)), Column("name", _t("c_name", lang)), Column("team", _t("c_team", lang)),
        Column("compliance", _t("c_compliance", lang), "percent"), Column("weeks_below", _t("c_weeks", lang), "int"),
        Column("stage_label", _t("c_stage", lang)), Column("action", _t("c_action", lang)),
    ], ladder))
    report.tables.append(Table("compensation", _t("t_compensation", lang), [
        Column("rep", _t("c_rep", lang)), Column("name", _t("c_name", lang)),
        Column("compliance", _t("c_compliance", lang), "percent"), Column("gate_met", _t("c_gate", lang)),
        Column("multiplier", _t("c_multiplier", lang), "percent"), Column("team", _t("c_team", lang)),
        Column("team_compliance", _t("c_team_compliance", lang), "percent"), Column("team_bonus", _t("c_bonus", lang)),
    ], pay))
    report.tables.append(Table("history", _t("t_history", lang), [
        Column("rep", _t("c_rep", lang)), Column("name", _t("c_name", lang)), Column("week", _t("c_week", lang)),
        Column("assigned", _t("c_assigned", lang), "int"), Column("within_sla", _t("c_within", lang), "int"),
        Column("compliance", _t("c_compliance", lang), "percent"), Column("below", _t("c_below", lang)),
    ], history))
    if not per_rep:
        report.notes.append(_t("no_data", lang, week=last.label, n=LOOKBACK))
    report.data["weeks"] = [w.label for w in weeks]
    return report
