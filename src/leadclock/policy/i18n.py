"""Fixed words of the written agreement in Japanese and English, and value formatting.

Nothing here may contain a number that belongs to the SLA: every figure in the document is
filled in from the policy through a `{placeholder}`, so the document cannot drift from the
automation (tests/test_agreement.py checks that these phrases hold no digits).
"""

from __future__ import annotations

import math
from typing import Literal

from leadclock.policy.durations import Duration

Lang = Literal["ja", "en"]

# The headings of the 003 template, in its order (escalation and compliance sit between the
# handoff process and communication: they are the enforcement side of the handoff rules).
SECTIONS: tuple[str, ...] = (
    "company_goals", "marketing_goals", "sales_goals", "icp", "qualification", "handoff",
    "escalation", "compliance", "communication", "reporting", "review",
)

PHRASES: dict[str, dict[str, str]] = {
    # section headings (003)
    "company_goals": {"ja": "会社全体の目標", "en": "Company goals"},
    "marketing_goals": {"ja": "マーケティングチームの目標", "en": "Marketing team goals"},
    "sales_goals": {
        "ja": "営業・インサイドセールスチームの目標", "en": "Sales and inside-sales team goals",
    },
    "icp": {"ja": "理想とする顧客像", "en": "Ideal customer profile"},
    "qualification": {"ja": "リードクオリフィケーションプロセス", "en": "Lead qualification process"},
    "handoff": {"ja": "リードハンドオフプロセス", "en": "Lead handoff process"},
    "escalation": {"ja": "エスカレーション", "en": "Escalation"},
    "compliance": {"ja": "コンプライアンス目標", "en": "Compliance targets"},
    "communication": {"ja": "コミュニケーション", "en": "Communication"},
    "reporting": {"ja": "レポーティング", "en": "Reporting"},
    "review": {"ja": "SLAの見直し", "en": "SLA review"},
    # header
    "default_title": {
        "ja": "マーケティング・インサイドセールス・営業チームのサービスレベルアグリーメント（SLA）",
        "en": "Service-level agreement between marketing, inside sales and sales",
    },
    "org": {"ja": "会社名", "en": "Organisation"},
    "period": {"ja": "適用期間", "en": "Period"},
    "updated": {"ja": "最終更新", "en": "Last updated"},
    "policy": {"ja": "ポリシー", "en": "Policy"},
    "policy_value": {"ja": "{name}（バージョン {version}）", "en": "{name} (version {version})"},
    "scope": {"ja": "適用範囲", "en": "Scope"},
    "scope_teams": {"ja": "チーム: {items}", "en": "teams: {items}"},
    "scope_sources": {"ja": "リードソース: {items}", "en": "lead sources: {items}"},
    "generated": {
        "ja": "この文書はSLAポリシーから自動生成されています。数値を変更する場合はポリシーを更新してください。",
        "en": "This document is generated from the SLA policy; change the policy to change a number.",
    },
    "none": {"ja": "（未設定）", "en": "(not set)"},
    "page": {"ja": "{page} / {pages} ページ", "en": "Page {page} of {pages}"},
    # ICP and scoring
    "icp_intro": {
        "ja": "属性ごとの重要度（HIGH / MID / LOW）と、その加点は次のとおりです。",
        "en": "Importance per attribute (HIGH / MID / LOW) and the points each earns:",
    },
    "attribute": {"ja": "属性", "en": "Attribute"},
    "level_points": {"ja": "{level}（{points}点）", "en": "{level} ({points} pts)"},
    "scoring_rules": {"ja": "リードスコアリングルール", "en": "Lead scoring rules"},
    "icp_points": {"ja": "属性加点", "en": "Attribute points"},
    "negative_points": {"ja": "属性減点", "en": "Negative attributes"},
    "behaviour_points": {"ja": "行動加点", "en": "Behaviour points"},
    "behaviour_minus": {"ja": "行動減点", "en": "Behaviour deductions"},
    "decay": {
        "ja": "{after}以上エンゲージメントなし {points}",
        "en": "No engagement for {after} or more {points}",
    },
    "unsubscribe": {"ja": "配信停止 {points}", "en": "Unsubscribe {points}"},
    "mql_threshold": {"ja": "MQLの閾値: {threshold}点", "en": "MQL threshold: {threshold} points"},
    "points_item": {"ja": "{label}: {points}", "en": "{label}: {points}"},
    "definitions": {"ja": "リードの定義", "en": "Lead definitions"},
    "def_lead": {"ja": "リード", "en": "Lead"},
    "def_mql": {"ja": "MQL", "en": "MQL"},
    "def_sql": {"ja": "SQL", "en": "SQL"},
    "def_unqualified": {"ja": "アンクオリファイドリード", "en": "Unqualified lead"},
    "mql_generated": {
        "ja": "リードスコアが{threshold}点以上、または次のいずれかのアクション: {actions}",
        "en": "Lead score of {threshold} or more, or one of these actions: {actions}",
    },
    "mql_generated_no_actions": {
        "ja": "リードスコアが{threshold}点以上", "en": "Lead score of {threshold} or more",
    },
    "unqualified_generated": {
        "ja": "次のいずれかに該当するリード: {items}", "en": "A lead that is any of: {items}",
    },
    "lead_generated": {
        "ja": "MQLの定義にもアンクオリファイドリードの定義にも当てはまらない、ビジネス対象になる全リード",
        "en": "Every lead we can do business with that is neither an MQL nor unqualified",
    },
    "sql_generated": {
        "ja": "MQLのうち、直接コンタクトでき、BANTにマッチがあり、商談化する可能性があるリード",
        "en": "An MQL that was reached directly, matches BANT and may become an opportunity",
    },
    # handoff
    "sources_table": {"ja": "リードソース別SLA", "en": "SLA by lead source"},
    "sources_intro": {
        "ja": "各リードソースの時間目標です（ソースに定めがない段階はティア、次に既定値に従います）。「—」は測定しない段階、または定めのない値です。",
        "en": "Time targets per lead source (a stage the source does not set follows its tier, "
        "then the defaults). \"N/A\" marks a stage that is not measured or a value not set.",
    },
    "col_source": {"ja": "リードソース", "en": "Lead source"},
    "col_priority": {"ja": "優先度", "en": "Priority"},
    "col_assignment": {"ja": "割り当て", "en": "Assignment"},
    "col_first_target": {"ja": "初回コンタクト目標", "en": "First contact target"},
    "col_first_max": {"ja": "許容最大値", "en": "Maximum acceptable"},
    "col_attempts": {"ja": "最低試行回数", "en": "Minimum attempts"},
    "col_qualification": {"ja": "評価判断", "en": "Qualification"},
    "col_handoff": {"ja": "引き継ぎ", "en": "Handoff"},
    "col_acceptance": {"ja": "受け入れ", "en": "Acceptance"},
    "col_tier": {"ja": "ティア", "en": "Tier"},
    "col_score": {"ja": "スコア", "en": "Score"},
    "col_signals": {"ja": "高意図シグナル", "en": "High-intent signals"},
    "col_pool": {"ja": "担当", "en": "Assigned to"},
    "col_first_contact": {"ja": "初回コンタクト", "en": "First contact"},
    "attempts": {"ja": "{count}回 / {window}", "en": "{count} in {window}"},
    "tiers_table": {"ja": "優先度ティア", "en": "Priority tiers"},
    "cadence": {"ja": "コンタクトケイデンス", "en": "Contact cadence"},
    "cadence_head": {
        "ja": "{tier}: {window}以内に最低{count}回。試行を使い切った場合: {exhausted}",
        "en": "{tier}: at least {count} attempts within {window}. When they are used up: {exhausted}",
    },
    "cadence_step": {"ja": "{n}回目: {channels}（{when}）", "en": "Attempt {n}: {channels} ({when})"},
    "step_start": {"ja": "開始時", "en": "at the start"},
    "step_next": {"ja": "前回の直後", "en": "right after the previous"},
    "step_after": {"ja": "前回の{after}後", "en": "{after} after the previous"},
    "step_day": {"ja": "{day}営業日目", "en": "business day {day}"},
    "follow_up": {"ja": "フォローアップ頻度", "en": "Follow-up frequency"},
    "col_applies": {"ja": "対象", "en": "Applies to"},
    "col_every": {"ja": "頻度", "en": "Every"},
    "col_max_idle": {"ja": "最大放置期間", "en": "Never idle longer than"},
    "col_until": {"ja": "期間", "en": "Until"},
    "every_range": {"ja": "{low}〜{high}ごと", "en": "every {low}–{high}"},
    "every_one": {"ja": "{low}ごと", "en": "every {low}"},
    "follow_up_scoped": {"ja": "{scope}: {kind}", "en": "{scope}: {kind}"},
    "m2is": {"ja": "マーケティング→インサイドセールス", "en": "Marketing → inside sales"},
    "is2s": {"ja": "インサイドセールス→営業", "en": "Inside sales → sales"},
    "m2s": {"ja": "マーケティング→営業", "en": "Marketing → sales"},
    "m2is_assign": {
        "ja": "MQLは{assignment}以内に担当者へ自動で割り当てます（リードソース別の時間は上表）。",
        "en": "MQLs are assigned automatically within {assignment} (per-source times above).",
    },
    "m2is_tier": {
        "ja": "{tier}: 初回コンタクト{first}以内、{window}以内に最低{count}回のコンタクト試行、評価判断{qualification}以内",
        "en": "{tier}: first contact within {first}, at least {count} attempts within {window}, "
        "qualification decision within {qualification}",
    },
    "m2is_tier_short": {
        "ja": "{tier}: 初回コンタクト{first}以内、評価判断{qualification}以内",
        "en": "{tier}: first contact within {first}, qualification decision within {qualification}",
    },
    "is2s_handoff": {
        "ja": "インサイドセールスはSQLを{handoff}以内に営業へ引き継ぎます。",
        "en": "Inside sales hands each SQL to sales within {handoff}.",
    },
    "is2s_acceptance": {
        "ja": "営業は引き継がれたリードを{acceptance}以内に受け入れ、初回コンタクトします。",
        "en": "Sales accepts and first contacts a handed-off lead within {acceptance}.",
    },
    "required_fields": {
        "ja": "引き継ぎの必須項目（すべて揃わない限り引き継ぎできません）: {items}",
        "en": "Required for a handoff (no handoff without all of them): {items}",
    },
    "rejection_reasons": {
        "ja": "営業は理由を付けて差し戻すことができます: {items}",
        "en": "Sales may reject a handoff with a reason: {items}",
    },
    "m2s_return": {
        "ja": "営業が案件化しない、または差し戻したリードは、理由を添えてマーケティングへ戻し、フォローアップのセグメンテーションに反映します。",
        "en": "A lead that sales rejects or does not convert goes back to marketing with the "
        "reason, so that marketing can segment its follow-up.",
    },
    "m2s_exhausted": {
        "ja": "{tier}のコンタクト試行を使い切った場合: {exhausted}",
        "en": "{tier} lead whose attempts are used up: {exhausted}",
    },
    "m2s_nurture": {
        "ja": "ナーチャリング中のリードには{every}フォローアップします。",
        "en": "Leads in nurture are followed up {every}.",
    },
    "notes": {"ja": "補足", "en": "Notes"},
    # escalation
    "escalation_intro": {
        "ja": "次の場合、記載の順に通知・対応します。",
        "en": "In these cases the following people are told, in this order:",
    },
    "col_rule": {"ja": "ルール", "en": "Rule"},
    "col_condition": {"ja": "条件", "en": "Condition"},
    "col_steps": {"ja": "対応", "en": "Steps"},
    "step_line": {"ja": "{n}. {when}: {action}", "en": "{n}. {when}: {action}"},
    "step_immediate": {"ja": "即時", "en": "at once"},
    "step_delay": {"ja": "{after}後", "en": "after {after}"},
    "via": {"ja": "{text}（{channels}）", "en": "{text} (via {channels})"},
    "paren": {"ja": "{text}（{detail}）", "en": "{text} ({detail})"},
    "with_max": {"ja": "{target}（最大{max}）", "en": "{target} (max {max})"},
    "not_measured": {"ja": "—", "en": "N/A"},
    # compliance
    "team_target": {"ja": "チーム目標: {percent}", "en": "Team target: {percent}"},
    "individual_target": {"ja": "個人目標: {percent}", "en": "Individual target: {percent}"},
    "source_target": {"ja": "{source}: {percent}", "en": "{source}: {percent}"},
    "default_source_target": {
        "ja": "その他のリードソース: {percent}", "en": "Other lead sources: {percent}",
    },
    "rep_alert": {
        "ja": "担当者のコンプライアンスが{percent}未満でアラート",
        "en": "Alert when a rep's compliance is below {percent}",
    },
    "team_alert": {
        "ja": "チームのコンプライアンスが{percent}未満でアラート",
        "en": "Alert when the team's compliance is below {percent}",
    },
    "source_targets": {"ja": "リードソース別目標", "en": "Targets by lead source"},
    # communication and reporting
    "channels": {"ja": "通知チャネル: {items}", "en": "Notification channels: {items}"},
    "tools": {"ja": "テクノロジーとソフトウェア", "en": "Technology and software"},
    "kpis": {"ja": "KPI", "en": "KPIs"},
    "reports": {"ja": "定期レポート", "en": "Scheduled reports"},
    "col_report": {"ja": "レポート", "en": "Report"},
    "col_when": {"ja": "タイミング", "en": "When"},
    "col_to": {"ja": "宛先", "en": "Recipients"},
    "weekly_at": {"ja": "毎週{day} {at}", "en": "{day}s at {at}"},
    "weekly": {"ja": "毎週{day}", "en": "{day}s"},
    "daily_at": {"ja": "毎営業日 {at}", "en": "Every business day at {at}"},
    "disabled": {"ja": "{text}（停止中）", "en": "{text} (disabled)"},
    "list_sep": {"ja": "、", "en": ", "},
    "arrow": {"ja": "→", "en": " → "},
}

# Kinds of report: what they are called and when they run when the policy gives no time.
REPORT_KINDS: dict[str, dict[str, str]] = {
    "end_of_day_digest": {"ja": "終業時ダイジェスト", "en": "End-of-day digest"},
    "manager_daily_digest": {"ja": "マネージャー日次ダイジェスト", "en": "Manager daily digest"},
    "weekly_summary": {"ja": "週次サマリー", "en": "Weekly summary"},
    "weekly_scorecard": {"ja": "週次スコアカード", "en": "Weekly scorecard"},
    "exception_alerts": {"ja": "例外アラート", "en": "Exception alerts"},
    "monthly_review": {"ja": "月次レビュー", "en": "Monthly review"},
    "quarterly_review": {"ja": "四半期レビュー", "en": "Quarterly review"},
    "dashboard": {"ja": "ダッシュボード", "en": "Dashboard"},
    "one_on_one": {"ja": "個別面談レビュー", "en": "One-on-one review"},
}
REPORT_WHEN: dict[str, dict[str, str]] = {
    "end_of_day_digest": {"ja": "毎営業日の終業時", "en": "End of every business day"},
    "manager_daily_digest": {"ja": "毎営業日", "en": "Every business day"},
    "weekly_summary": {"ja": "毎週", "en": "Weekly"},
    "weekly_scorecard": {"ja": "毎週", "en": "Weekly"},
    "exception_alerts": {"ja": "異常があったときのみ", "en": "Only when something is off"},
    "monthly_review": {"ja": "毎月", "en": "Monthly"},
    "quarterly_review": {"ja": "四半期ごと", "en": "Quarterly"},
    "dashboard": {"ja": "リアルタイム", "en": "Real time"},
    "one_on_one": {"ja": "毎週", "en": "Weekly"},
}
WEEKDAYS: dict[str, dict[str, str]] = {
    "mon": {"ja": "月曜", "en": "Monday"},
    "tue": {"ja": "火曜", "en": "Tuesday"},
    "wed": {"ja": "水曜", "en": "Wednesday"},
    "thu": {"ja": "木曜", "en": "Thursday"},
    "fri": {"ja": "金曜", "en": "Friday"},
    "sat": {"ja": "土曜", "en": "Saturday"},
    "sun": {"ja": "日曜", "en": "Sunday"},
}
CONTACT_CHANNELS: dict[str, dict[str, str]] = {
    "call": {"ja": "電話", "en": "call"},
    "email": {"ja": "メール", "en": "email"},
    "sms": {"ja": "SMS", "en": "SMS"},
    "meeting": {"ja": "ミーティング", "en": "meeting"},
    "social": {"ja": "ソーシャル", "en": "social"},
}
CHANNEL_TYPES: dict[str, dict[str, str]] = {
    "slack": {"ja": "Slack", "en": "Slack"},
    "email": {"ja": "メール", "en": "Email"},
    "webhook": {"ja": "Webhook", "en": "Webhook"},
    "inapp": {"ja": "アプリ内通知", "en": "In-app"},
}
ON_EXHAUSTED: dict[str, dict[str, str]] = {
    "nurture": {"ja": "ナーチャリングへ", "en": "to nurture"},
    "recycle": {"ja": "マーケティングへ戻す", "en": "back to marketing"},
    "manager": {"ja": "マネージャーが次に試行", "en": "the manager tries next"},
}
FOLLOW_UP_KINDS: dict[str, dict[str, str]] = {
    "qualified": {"ja": "適格リード", "en": "Qualified leads"},
    "in_progress": {"ja": "進行中のリード", "en": "Leads in progress"},
    "nurture": {"ja": "ナーチャリング", "en": "Nurture"},
}
ESCALATION_ACTIONS: dict[str, dict[str, str]] = {
    "notify": {"ja": "{roles}に通知", "en": "notify {roles}"},
    "reassign": {"ja": "次の担当者へ再割り当てし、{roles}に通知", "en": "reassign to the next rep and notify {roles}"},
    "manager_queue": {"ja": "マネージャーキューへ移し、{roles}に通知", "en": "move to the manager queue and notify {roles}"},
}
ESCALATION_NO_ROLES: dict[str, dict[str, str]] = {
    "notify": {"ja": "担当者の既定の宛先に通知", "en": "notify the default recipients"},
    "reassign": {"ja": "次の担当者へ再割り当て", "en": "reassign to the next rep"},
    "manager_queue": {"ja": "マネージャーキューへ移す", "en": "move to the manager queue"},
}
STAGES: dict[str, dict[str, str]] = {
    "assignment": {"ja": "割り当て", "en": "assignment"},
    "first_contact": {"ja": "初回コンタクト", "en": "first contact"},
    "cadence": {"ja": "コンタクトケイデンス", "en": "contact cadence"},
    "qualification": {"ja": "評価判断", "en": "qualification"},
    "handoff": {"ja": "引き継ぎ", "en": "handoff"},
    "acceptance": {"ja": "受け入れ", "en": "acceptance"},
    "follow_up": {"ja": "フォローアップ", "en": "follow-up"},
}
TRIGGERS: dict[str, dict[str, str]] = {
    "breach": {"ja": "{clock}の{bound}を超過", "en": "{clock} {bound} missed"},
    "not_contacted": {
        "ja": "割り当てから{after}以内に初回コンタクトなし",
        "en": "no first contact within {after} of assignment",
    },
    "cadence_exhausted": {
        "ja": "コンタクト試行をすべて実施しても接続なし",
        "en": "all attempts made without a connection",
    },
    "idle": {"ja": "適格リードに{after}以上アクティビティなし", "en": "qualified lead idle for {after}"},
    "not_handed_off": {
        "ja": "適格リードが{after}以内に引き継がれない", "en": "qualified lead not handed off within {after}",
    },
    "unassigned": {"ja": "{after}以上未割り当て", "en": "unassigned for over {after}"},
    "compliance_below": {
        "ja": "担当者のコンプライアンスが{period}で{threshold}未満",
        "en": "rep compliance below {threshold} over {period}",
    },
    "reassign_requested": {"ja": "担当者が再割り当てを要求", "en": "the rep asks for reassignment"},
    "not_accepted": {
        "ja": "引き継ぎ後{after}以内に受け入れなし", "en": "handoff not accepted within {after}",
    },
    "handoff_requested": {"ja": "引き継ぎ時", "en": "at handoff"},
    "manual": {"ja": "手動エスカレーション", "en": "manual escalation"},
}
TRIGGER_PARTS: dict[str, dict[str, str]] = {
    "bound_target": {"ja": "目標", "en": "target"},
    "bound_max": {"ja": "許容最大値", "en": "maximum"},
    "tiers": {"ja": "ティア: {items}", "en": "tiers: {items}"},
    "sources": {"ja": "リードソース: {items}", "en": "sources: {items}"},
    "after_hours": {"ja": "営業時間外に到着したリード", "en": "leads that arrived after hours"},
    "value_above": {"ja": "案件額が{value}超", "en": "deal over {value}"},
    "accounts": {"ja": "対象: {accounts}", "en": "accounts: {accounts}"},
    "any_period": {"ja": "期間", "en": "the period"},
}

# Names that policies use as keys (signals, behaviours, negative attributes, handoff fields,
# rejection reasons, MQL trigger actions). Unknown keys fall back to the key made readable.
KEY_LABELS: dict[str, dict[str, str]] = {
    "demo_request": {"ja": "デモリクエスト", "en": "Demo request"},
    "pricing_inquiry": {"ja": "価格問い合わせ", "en": "Pricing inquiry"},
    "pricing_page": {"ja": "価格ページ", "en": "Pricing page"},
    "talk_to_sales": {"ja": "「営業と話したい」", "en": '"Talk to sales"'},
    "inbound_call": {"ja": "インバウンドコール", "en": "Inbound call"},
    "contact_form": {"ja": "問い合わせフォームに入力", "en": "Contact form submitted"},
    "free_trial": {"ja": "無料トライアル登録", "en": "Free trial sign-up"},
    "report_download": {"ja": "無料レポート類のダウンロード", "en": "Free report download"},
    "assessment_request": {"ja": "無料アセスメント申し込み", "en": "Free assessment request"},
    "webinar": {"ja": "ウェビナー参加", "en": "Webinar attendance"},
    "student": {"ja": "学生", "en": "Student"},
    "competitor": {"ja": "競合他社", "en": "Competitor"},
    "peer_company": {"ja": "同業他社", "en": "Peer company"},
    "free_mail": {"ja": "フリーメールアドレス", "en": "Free-mail address"},
    "academic": {"ja": "アカデミアEメールアドレス", "en": "Academic email address"},
    "budget": {"ja": "予算の確認", "en": "Budget confirmed"},
    "authority": {"ja": "決裁権限", "en": "Authority"},
    "need": {"ja": "ニーズ・課題", "en": "Need / pain points"},
    "timeline": {"ja": "導入時期", "en": "Decision timeline"},
    "next_step": {"ja": "合意済みの次のステップ", "en": "Agreed next step"},
    "missing_info": {"ja": "情報不足", "en": "Missing information"},
    "wrong_icp": {"ja": "ICP不一致", "en": "Wrong ICP"},
    "no_interest": {"ja": "実際の関心なし", "en": "No real interest"},
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The phrase `key` in `lang` with its placeholders filled."""
    return PHRASES[key][lang].format(**values)


def pick(table: dict[str, dict[str, str]], key: str, lang: Lang) -> str:
    """A label from one of the tables above; an unknown key is shown readable, not dropped."""
    entry = table.get(key)
    if entry is not None:
        return entry[lang]
    return key.replace("_", " ")


def join(items: list[str], lang: Lang) -> str:
    return PHRASES["list_sep"][lang].join(items)


def number(value: float) -> str:
    """12 → "12", 92.5 → "92.5", 100000 → "100,000" (never "12.0")."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,g}"


def percent(value: float) -> str:
    return f"{number(value)}%"


def points(value: int) -> str:
    """Signed points as the 003 template writes them: +50, -10."""
    return f"{value:+d}"


_MINUTE, _HOUR, _DAY, _WEEK = 60, 3600, 86400, 7 * 86400
_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    # unit: lang: (singular, plural); Japanese has no plural
    "s": {"ja": ("秒", "秒"), "en": (" s", " s")},
    "m": {"ja": ("分", "分"), "en": (" min", " min")},
    "h": {"ja": ("時間", "時間"), "en": (" h", " h")},
    "d": {"ja": ("日", "日"), "en": (" day", " days")},
    "w": {"ja": ("週間", "週間"), "en": (" week", " weeks")},
    "bd": {"ja": ("営業日", "営業日"), "en": (" business day", " business days")},
}
_SPECIAL: dict[str, dict[str, str]] = {
    "immediate": {"ja": "即時", "en": "immediate"},
    "same_day": {"ja": "同日営業時間内", "en": "same business day"},
}


def _with_unit(amount: float, unit: str, lang: Lang) -> str:
    singular, plural = _UNITS[unit][lang]
    return f"{number(amount)}{singular if amount == 1 else plural}"


def format_duration(d: Duration, lang: Lang) -> str:
    """A policy duration as a reader writes it: "5分" / "5 min", "1営業日" / "1 business day".

    Whole days are shown as days only from four days up: the seeds write "24時間", "48時間"
    and "72時間", and a reader compares them with the policy's hours.
    """
    if d.kind in _SPECIAL:
        return _SPECIAL[d.kind][lang]
    if d.kind == "business_days":
        return _with_unit(d.amount, "bd", lang)
    seconds = d.amount
    if seconds % _WEEK == 0:
        return _with_unit(seconds / _WEEK, "w", lang)
    if seconds % _DAY == 0 and seconds > 3 * _DAY:
        return _with_unit(seconds / _DAY, "d", lang)
    if seconds % _HOUR == 0:
        return _with_unit(seconds / _HOUR, "h", lang)
    if seconds % _MINUTE == 0:
        return _with_unit(seconds / _MINUTE, "m", lang)
    return _with_unit(seconds, "s", lang)


def format_minutes(minutes: float, lang: Lang) -> str:
    """Minutes (a measured average, a benchmark) in the same words as policy durations.

    A fraction of a minute above one minute stays in minutes ("7.5分", not "450秒").
    """
    seconds = minutes * 60
    if math.isclose(seconds, round(seconds)) and (minutes < 1 or float(minutes).is_integer()):
        return format_duration(Duration("seconds", float(round(seconds))), lang)
    return _with_unit(round(minutes, 2), "m", lang)
