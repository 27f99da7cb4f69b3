"""Every fixed word of the dashboard, in Japanese and English.

Templates call `t("key")`; a key missing here is a bug that `tests/test_web.py` catches (every
key must have both languages, and a page rendered in one language must not show the other's
labels). Report titles and column labels come from the reports themselves, already translated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")

LABELS: dict[str, dict[str, str]] = {
    # chrome
    "app": {"ja": "leadclock SLAダッシュボード", "en": "leadclock SLA dashboard"},
    "nav_compliance": {"ja": "コンプライアンス", "en": "Compliance"},
    "nav_reps": {"ja": "担当者別", "en": "Reps"},
    "nav_breaches": {"ja": "違反レビュー", "en": "Breach review"},
    "nav_scorecards": {"ja": "スコアカード", "en": "Scorecards"},
    "nav_trends": {"ja": "トレンド", "en": "Trends"},
    "nav_funnel": {"ja": "ファネル", "en": "Funnel"},
    "nav_reports": {"ja": "その他のレポート", "en": "More reports"},
    "nav_policy": {"ja": "SLAポリシー", "en": "SLA policy"},
    "signed_in_as": {"ja": "ログイン中", "en": "Signed in as"},
    "logout": {"ja": "ログアウト", "en": "Sign out"},
    "switch_lang": {"ja": "English", "en": "日本語"},
    "as_of": {"ja": "時点", "en": "As of"},
    "role_admin": {"ja": "管理者", "en": "admin"},
    "role_ops": {"ja": "セールスオペレーション", "en": "sales ops"},
    "role_manager": {"ja": "マネージャー", "en": "manager"},
    "role_rep": {"ja": "担当者", "en": "rep"},
    "scope_all": {"ja": "全チーム", "en": "all teams"},
    "scope_team": {"ja": "チーム", "en": "team"},
    "scope_rep": {"ja": "自分のリード", "en": "your leads"},
    # sign-in
    "login_title": {"ja": "ログイン", "en": "Sign in"},
    "login": {"ja": "ログインID", "en": "Login"},
    "password": {"ja": "パスワード", "en": "Password"},
    "login_button": {"ja": "ログイン", "en": "Sign in"},
    "login_failed": {"ja": "ログインIDまたはパスワードが正しくありません。", "en": "Wrong login or password."},
    "login_throttled": {"ja": "失敗が続いたため一時的にログインを停止しています。しばらくしてから再試行してください。",
                        "en": "Too many failed attempts; try again in a few minutes."},
    "logged_out": {"ja": "ログアウトしました。", "en": "You are signed out."},
    # compliance (F20)
    "compliance_title": {"ja": "リアルタイムSLAダッシュボード", "en": "Live SLA dashboard"},
    "today": {"ja": "今日", "en": "Today"},
    "this_week": {"ja": "今週", "en": "This week"},
    "this_month": {"ja": "今月", "en": "This month"},
    "in_breach_now": {"ja": "現在SLA違反中", "en": "In breach now"},
    "under_hour": {"ja": "期限まで1時間未満", "en": "Under 1 h left"},
    "leads_unit": {"ja": "件", "en": "leads"},
    "trend_30": {"ja": "過去30日間の日次コンプライアンス率", "en": "Daily compliance, last 30 days"},
    "target_90": {"ja": "目標90%", "en": "90% target"},
    "target_95": {"ja": "目標95%", "en": "95% target"},
    "compliance_series": {"ja": "コンプライアンス率", "en": "Compliance"},
    "refreshes": {"ja": "15秒ごとに自動更新", "en": "Refreshes every 15 s"},
    "no_data": {"ja": "データがありません。", "en": "No data."},
    # reps and leads
    "reps_title": {"ja": "担当者別のオープンリードと残り時間", "en": "Open leads and time left, by rep"},
    "rep": {"ja": "担当者", "en": "Rep"},
    "team": {"ja": "チーム", "en": "Team"},
    "open_clocks": {"ja": "計測中のクロック", "en": "Open clocks"},
    "lead": {"ja": "リード", "en": "Lead"},
    "stage": {"ja": "ステージ", "en": "Stage"},
    "source": {"ja": "ソース", "en": "Source"},
    "tier": {"ja": "ティア", "en": "Tier"},
    "status": {"ja": "ステータス", "en": "Status"},
    "owner": {"ja": "担当者", "en": "Owner"},
    "due": {"ja": "期限", "en": "Due"},
    "time_left": {"ja": "残り時間", "en": "Time left"},
    "overdue_by": {"ja": "超過", "en": "overdue by"},
    "target": {"ja": "目標", "en": "Target"},
    "started": {"ja": "開始", "en": "Started"},
    "stopped": {"ja": "停止", "en": "Stopped"},
    "outcome": {"ja": "結果", "en": "Outcome"},
    "reason": {"ja": "理由", "en": "Why"},
    "business_time": {"ja": "営業時間での経過", "en": "Business time"},
    "no_open": {"ja": "計測中のクロックはありません。", "en": "No open clocks."},
    "unassigned": {"ja": "未割り当て", "en": "unassigned"},
    "lead_title": {"ja": "リード詳細", "en": "Lead"},
    "within_sla": {"ja": "SLA内", "en": "within SLA"},
    "breached": {"ja": "SLA違反", "en": "SLA breached"},
    "timeline": {"ja": "タイムライン", "en": "Timeline"},
    "event": {"ja": "イベント", "en": "Event"},
    "details": {"ja": "内容", "en": "Details"},
    "when": {"ja": "日時", "en": "When"},
    "clocks": {"ja": "SLAクロック", "en": "SLA clocks"},
    "effects": {"ja": "エスカレーション・アラート", "en": "Escalations and alerts"},
    "audit": {"ja": "監査ログ", "en": "Audit trail"},
    "who": {"ja": "実行者", "en": "Who"},
    "action": {"ja": "操作", "en": "Action"},
    "explanation": {"ja": "説明", "en": "Explanation"},
    "outcome_met": {"ja": "達成", "en": "met"},
    "outcome_breached": {"ja": "違反", "en": "breached"},
    "outcome_open": {"ja": "計測中", "en": "open"},
    "outcome_cancelled": {"ja": "取消", "en": "cancelled"},
    "explain_met": {"ja": "期限内に停止しました", "en": "stopped before its deadline"},
    "explain_breached": {"ja": "期限を過ぎました", "en": "went past its deadline"},
    "explain_open": {"ja": "まだ計測中です", "en": "is still running"},
    "explain_cancelled": {"ja": "取り消されました(担当者の責任外)", "en": "was cancelled (not counted against anyone)"},
    "explain_max": {"ja": "許容最大時間も超過", "en": "also past its maximum"},
    "attempts": {"ja": "試行", "en": "attempts"},
    "recipients": {"ja": "通知先", "en": "Recipients"},
    # breaches (F24)
    "breaches_title": {"ja": "SLA違反のレビュー", "en": "Breach review"},
    "filter": {"ja": "絞り込み", "en": "Filter"},
    "unreviewed": {"ja": "未レビュー", "en": "Not reviewed"},
    "reviewed": {"ja": "レビュー済み", "en": "Reviewed"},
    "all": {"ja": "すべて", "en": "All"},
    "breached_at": {"ja": "違反日時", "en": "Breached at"},
    "suggestion": {"ja": "自動推定", "en": "Suggested cause"},
    "category": {"ja": "根本原因", "en": "Root cause"},
    "note": {"ja": "メモ", "en": "Note"},
    "save": {"ja": "保存", "en": "Save"},
    "saved": {"ja": "保存しました", "en": "Saved"},
    "reviewed_by": {"ja": "レビュー者", "en": "Reviewed by"},
    "no_breaches": {"ja": "該当する違反はありません。", "en": "No breaches match."},
    "read_only": {"ja": "閲覧のみ(レビューはマネージャーと管理者)", "en": "Read only (managers and admins review)"},
    "cat_rep_unavailable": {"ja": "担当者がオフライン/利用不可", "en": "Rep offline / unavailable"},
    "cat_missed_notification": {"ja": "通知の見逃し", "en": "Missed the notification"},
    "cat_deprioritised_low_quality": {"ja": "低品質リードの後回し", "en": "Low-quality lead deprioritised"},
    "cat_system_failure": {"ja": "システム/ルーティング障害", "en": "System / routing failure"},
    "cat_chose_not_to_comply": {"ja": "コンプライアンスしないことを選択", "en": "Chose not to comply"},
    "previous": {"ja": "前へ", "en": "Previous"},
    "next": {"ja": "次へ", "en": "Next"},
    "page": {"ja": "ページ", "en": "Page"},
    # scorecards, reports
    "scorecards_title": {"ja": "スコアカード", "en": "Scorecards"},
    "week": {"ja": "週", "en": "Week"},
    "month": {"ja": "月", "en": "Month"},
    "quarter": {"ja": "四半期", "en": "Quarter"},
    "show": {"ja": "表示", "en": "Show"},
    "whole_team": {"ja": "チーム全体", "en": "Whole team"},
    "choose": {"ja": "選択", "en": "Choose"},
    "trends_title": {"ja": "トレンド分析", "en": "Trends"},
    "heatmap": {"ja": "曜日×到着時間帯のコンプライアンス", "en": "Compliance by weekday and hour of arrival"},
    "funnel_title": {"ja": "ファネルとクローズドループ", "en": "Funnel and closed loop"},
    "reports_title": {"ja": "レポート", "en": "Reports"},
    "report_compliance": {"ja": "コンプライアンス", "en": "Compliance"},
    "report_scorecard": {"ja": "個人スコアカード", "en": "Rep scorecard"},
    "report_team-scorecard": {"ja": "チームスコアカード", "en": "Team scorecard"},
    "report_digest": {"ja": "ダイジェスト", "en": "Digest"},
    "report_consequences": {"ja": "結果フレームワーク", "en": "Consequences"},
    "report_trends": {"ja": "トレンド", "en": "Trends"},
    "report_correlation": {"ja": "コンバージョン相関", "en": "Conversion correlation"},
    "report_root-causes": {"ja": "違反の根本原因", "en": "Root causes"},
    "report_target-review": {"ja": "四半期目標レビュー", "en": "Target review"},
    "report_funnel": {"ja": "ファネル", "en": "Funnel"},
    "charts": {"ja": "チャート", "en": "Charts"},
    "from": {"ja": "開始日", "en": "From"},
    "to": {"ja": "終了日", "en": "To"},
    "kind": {"ja": "種類", "en": "Kind"},
    # policy
    "policy_title": {"ja": "有効なSLAポリシー", "en": "Active SLA policy"},
    "agreement": {"ja": "SLA合意書", "en": "The written agreement"},
    "policy_yaml": {"ja": "ポリシー(YAML)", "en": "Policy (YAML)"},
    "version": {"ja": "バージョン", "en": "Version"},
    "no_policy": {"ja": "ポリシーが登録されていません(baseプリセットで表示)。",
                  "en": "No policy stored (showing the base preset)."},
    # errors
    "error_title": {"ja": "エラー", "en": "Error"},
    "bad_input": {"ja": "入力が正しくありません", "en": "Bad input"},
    "not_found": {"ja": "見つかりません", "en": "Not found"},
    "forbidden": {"ja": "権限がありません", "en": "Not allowed"},
    "back": {"ja": "戻る", "en": "Back"},
    "hint_bad_input": {"ja": "指定された項目の値を確認して、もう一度お試しください。",
                       "en": "Check the value of the field named below and try again."},
    "hint_not_found": {"ja": "存在しないか、閲覧権限の範囲外です。", "en": "It does not exist, or it is outside what you may see."},
    "hint_forbidden": {"ja": "この操作はあなたの役割では行えません。", "en": "Your role may not do this."},
    "hint_error_title": {"ja": "しばらくしてから再度お試しください。", "en": "Please try again in a moment."},
}


def translator(lang: Lang) -> Callable[[str], str]:
    def t(key: str) -> str:
        entry = LABELS.get(key)
        if entry is None:
            return key  # visible in the page and caught by the tests, rather than a 500
        return entry[lang]

    return t


def lang_of(value: str | None) -> Lang:
    return "en" if value == "en" else "ja"


__all__ = ["LABELS", "LANGS", "Lang", "lang_of", "translator"]
