"""F3: the written agreement, rendered from the policy as Markdown, HTML and PDF."""

from __future__ import annotations

import io
import re
from functools import cache
from importlib import resources

import pytest
from markdown_it import MarkdownIt
from pypdf import PdfReader

from leadclock.policy import Duration, Policy, load_policy_text, load_preset, preset_names
from leadclock.policy.i18n import (
    ESCALATION_ACTIONS,
    KEY_LABELS,
    PHRASES,
    REPORT_KINDS,
    REPORT_WHEN,
    TRIGGER_PARTS,
    TRIGGERS,
)
from leadclock.policy.render import (
    build_document,
    font_path,
    format_duration,
    render_html,
    render_markdown,
    render_pdf,
)

# The section headings of seed 003, in its order, written out here rather than taken from the
# code under test; escalation and compliance sit between the handoff process and communication.
SECTIONS = {
    "ja": [
        "会社全体の目標", "マーケティングチームの目標", "営業・インサイドセールスチームの目標",
        "理想とする顧客像", "リードクオリフィケーションプロセス", "リードハンドオフプロセス",
        "エスカレーション", "コンプライアンス目標", "コミュニケーション", "レポーティング",
        "SLAの見直し",
    ],
    "en": [
        "Company goals", "Marketing team goals", "Sales and inside-sales team goals",
        "Ideal customer profile", "Lead qualification process", "Lead handoff process",
        "Escalation", "Compliance targets", "Communication", "Reporting", "SLA review",
    ],
}
LANGS = ("ja", "en")


@cache
def preset(name: str) -> Policy:
    return load_preset(name)


@cache
def pdf(name: str, lang: str) -> bytes:
    """Rendered once per module run: each PDF embeds a font subset and takes most of a second."""
    return render_pdf(preset(name), lang)  # type: ignore[arg-type]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@cache
def preset_pdf_text(name: str, lang: str) -> str:
    return pdf_text(pdf(name, lang))


def md_headings(markdown: str, level: int = 2) -> list[str]:
    prefix = "#" * level + " "
    return [line[len(prefix):] for line in markdown.splitlines() if line.startswith(prefix)]


def html_headings(html: str) -> list[str]:
    return re.findall(r"<h2[^>]*>(.*?)</h2>", html)


def numbered(lang: str) -> list[str]:
    return [f"{i}. {title}" for i, title in enumerate(SECTIONS[lang], start=1)]


def positions_in_order(text: str, needles: list[str]) -> list[int]:
    """Where each needle is found, each searched after the previous one; -1 when missing."""
    found, start = [], 0
    for needle in needles:
        at = text.find(needle, start)
        found.append(at)
        if at >= 0:
            start = at + len(needle)
    return found


def md_row(markdown: str, first_cell: str) -> list[str]:
    for line in markdown.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return [cell.strip() for cell in line.strip("|").split(" | ")]
    raise AssertionError(f"no table row for {first_cell!r}")


def override(yaml: str, base: str = "b2b-saas") -> Policy:
    return load_policy_text(f"extends: {base}\n{yaml}")


# --------------------------------------------------------------------------- section order


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_sections_follow_the_003_template(lang: str) -> None:
    markdown = render_markdown(preset("b2b-saas"), lang)  # type: ignore[arg-type]
    assert md_headings(markdown) == numbered(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_html_sections_follow_the_003_template(lang: str) -> None:
    html = render_html(preset("b2b-saas"), lang)  # type: ignore[arg-type]
    assert html_headings(html) == numbered(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_sections_follow_the_003_template(lang: str) -> None:
    text = preset_pdf_text("b2b-saas", lang)
    assert -1 not in positions_in_order(text, numbered(lang))


def test_handoff_process_has_the_three_handoffs_in_order() -> None:
    markdown = render_markdown(preset("b2b-saas"), "ja")
    subsections = md_headings(markdown, level=3)
    wanted = ["マーケティング→インサイドセールス", "インサイドセールス→営業", "マーケティング→営業"]
    assert [s for s in subsections if s in wanted] == wanted
    # and they sit inside the handoff section, before escalation
    assert -1 not in positions_in_order(
        markdown, ["## 6. リードハンドオフプロセス", *(f"### {w}" for w in wanted), "## 7. "]
    )


# --------------------------------------------------------------------------- every preset


@pytest.mark.parametrize("name", preset_names())
@pytest.mark.parametrize("lang", LANGS)
def test_every_preset_renders_in_every_format(name: str, lang: str) -> None:
    policy = preset(name)
    markdown = render_markdown(policy, lang)  # type: ignore[arg-type]
    assert markdown.startswith("# ")
    assert md_headings(markdown) == numbered(lang)
    html = render_html(policy, lang)  # type: ignore[arg-type]
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in html
    assert html.rstrip().endswith("</html>")
    data = pdf(name, lang)
    assert data.startswith(b"%PDF")
    assert -1 not in positions_in_order(preset_pdf_text(name, lang), numbered(lang))


def test_html_is_standalone() -> None:
    html = render_html(preset("b2b-saas"), "en")
    assert "<style>" in html
    for external in ("<script", "<link", "<img", "@import", "url(", "src=", "http://", "https://"):
        assert external not in html


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("lang", "before", "after"), [("ja", "5分", "7分"), ("en", "5 min", "7 min")]
)
def test_first_contact_target_comes_from_the_policy(lang: str, before: str, after: str) -> None:
    changed = override("sources:\n  demo_request:\n    sla:\n      first_contact: {target: 7m}\n")
    label = "デモリクエスト" if lang == "ja" else "Demo request"
    original = render_markdown(preset("b2b-saas"), lang)  # type: ignore[arg-type]
    markdown = render_markdown(changed, lang)  # type: ignore[arg-type]
    assert md_row(original, label)[3] == before
    assert md_row(markdown, label)[3] == after
    html = render_html(changed, lang)  # type: ignore[arg-type]
    assert f"<td>{label}</td>" in html and f"<td>{after}</td>" in html
    if lang == "ja":  # one PDF is enough to show the PDF reads the same policy (and is slow)
        text = pdf_text(render_pdf(changed, lang))
        assert label in text and after in text


@pytest.mark.parametrize(
    ("yaml", "ja", "en"),
    [
        ("scoring: {mql_threshold: 120}\n", "リードスコアが120点以上", "Lead score of 120 or more"),
        ("scoring: {icp_points: {high: 40}}\n", "HIGH +40", "HIGH +40"),
        ("scoring: {unsubscribe: -35}\n", "配信停止 -35", "Unsubscribe -35"),
        ("compliance: {team: 93}\n", "チーム目標: 93%", "Team target: 93%"),
        ("compliance: {rep_alert_below: 77}\n", "77%未満", "below 77%"),
        (
            "escalations:\n  demo_pricing_not_contacted:\n    trigger: {after: 25m}\n",
            "割り当てから25分以内に初回コンタクトなし", "no first contact within 25 min",
        ),
        (
            "tiers:\n  hot:\n    sla:\n      cadence: {min_attempts: 5}\n",
            "2営業日以内に最低5回", "at least 5 attempts within 2 business days",
        ),
        (
            "reports:\n  rep_daily_digest: {at: '17:45'}\n", "毎営業日 17:45",
            "Every business day at 17:45",
        ),
        ("defaults:\n  handoff: {target: 6h}\n", "SQLを6時間以内に営業へ", "within 6 h."),
        ("agreement: {period: 2025/04 ~ 2026/03}\n", "2025/04 ~ 2026/03", "2025/04 ~ 2026/03"),
    ],
)
def test_changing_a_value_changes_the_document(yaml: str, ja: str, en: str) -> None:
    policy = override(yaml)
    for lang, expected in (("ja", ja), ("en", en)):
        assert expected not in render_markdown(preset("b2b-saas"), lang)  # type: ignore[arg-type]
        markdown = render_markdown(policy, lang)  # type: ignore[arg-type]
        # Markdown escapes punctuation from the policy; compare what a reader sees.
        assert expected in markdown.replace("\\", "")
        assert expected in render_html(policy, lang)  # type: ignore[arg-type]


def test_stage_resolution_source_then_tier_then_defaults() -> None:
    markdown = render_markdown(preset("lead-types"), "en")
    # pricing_inquiry sets no assignment: the hot tier's "immediate" applies
    assert md_row(markdown, "Pricing inquiry")[2] == "immediate"
    # newsletter says handoff: none (the seed's N/A), the defaults do not fill it in
    assert md_row(markdown, "Newsletter")[7] == "N/A"
    assert md_row(markdown, "Newsletter")[4] == "24 h"  # its maximum
    assert md_row(markdown, "Event lead")[4] == "same business day"
    assert md_row(render_markdown(preset("lead-types"), "ja"), "ニュースレター")[7] == "—"
    # smb: acceptance target and maximum both shown
    assert md_row(render_markdown(preset("smb"), "ja"), "インバウンドデモリクエスト")[8] == (
        "1時間（最大4時間）"
    )


def test_mql_definition_is_generated_from_scoring_unless_written() -> None:
    markdown = render_markdown(preset("b2b-saas"), "ja")
    assert "**MQL**: リードスコアが100点以上、または次のいずれかのアクション: 問い合わせフォームに入力、デモリクエスト" in markdown
    written = override("agreement:\n  definitions:\n    mql: {ja: 独自のMQL定義, en: Our own MQL}\n")
    assert "**MQL**: 独自のMQL定義" in render_markdown(written, "ja")
    assert "**MQL**: Our own MQL" in render_markdown(written, "en")
    no_triggers = override("scoring: {mql_triggers: []}\n")
    assert "**MQL**: Lead score of 100 or more\n" in render_markdown(no_triggers, "en")


def test_handoff_notes_go_under_their_handoff() -> None:
    policy = override(
        "agreement:\n  handoff_notes:\n    is_to_sales: [{ja: 商談サイズと受注予定日を登録する, "
        "en: Record deal size and close date}]\n"
    )
    markdown = render_markdown(policy, "ja")
    assert -1 not in positions_in_order(
        markdown, ["### インサイドセールス→営業", "- 商談サイズと受注予定日を登録する", "### マーケティング→営業"]
    )
    assert "- Record deal size and close date" in render_markdown(policy, "en")


def test_escalation_steps_use_role_labels() -> None:
    markdown = render_markdown(preset("enterprise"), "ja")
    row = md_row(markdown, "指名アカウントリードに30分以内にコンタクトされない場合、VP Salesにアラート")
    assert "割り当てから30分以内に初回コンタクトなし" in row[1]
    assert "指名アカウントインバウンド" in row[1]
    assert row[2] == "1. 即時: VP Salesに通知"
    smb = render_markdown(preset("smb"), "en")
    assert "1. at once: notify Rep (via Slack)" in md_row(smb, "Slack alert at handoff")[2]
    assert md_row(smb, "Escalate to the sales manager at 4 hours")[1] == "acceptance target missed"


def test_reports_list_times_days_and_recipients() -> None:
    markdown = render_markdown(preset("b2b-saas"), "en")
    assert md_row(markdown, "Weekly scorecard to managers") == [
        "Weekly scorecard to managers", "Mondays at 09:00", "Manager",
    ]
    assert md_row(markdown, "Monthly review in the team meeting")[1:] == ["Monthly", "Rep, Manager"]


def test_phrases_hold_no_numbers() -> None:
    """Every figure must come from the policy: no fixed phrase may contain a digit."""
    tables = [PHRASES, ESCALATION_ACTIONS, KEY_LABELS, REPORT_KINDS, REPORT_WHEN, TRIGGERS,
              TRIGGER_PARTS]
    for table in tables:
        for key, texts in table.items():
            for lang, text in texts.items():
                assert not re.search(r"\d", text), f"{key} ({lang}) holds a number: {text!r}"
    template = resources.files("leadclock.policy").joinpath("templates/agreement.html.j2")
    # the page's own text, outside CSS, comments and tag names (h1, h2, utf-8 are not figures)
    markup = template.read_text(encoding="utf-8")
    for pattern in (r"<style>.*?</style>", r"\{#.*?#\}", r"\{%.*?%\}", r"<[^>]*>"):
        markup = re.sub(pattern, "", markup, flags=re.S)
    assert not re.search(r"\d", markup)


# --------------------------------------------------------------------------- escaping


def test_html_escapes_policy_text() -> None:
    policy = override("org:\n  name: '<script>alert(\"x\")</script> & Co.'\n")
    html = render_html(policy, "ja")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co." in html


def test_markdown_escapes_policy_text() -> None:
    policy = override(
        "org:\n  name: '<script>alert(1)</script>'\n"
        "sources:\n  demo_request:\n    label: {ja: 'デモ | *至急*', en: 'Demo | [now](javascript:x)'}\n"
    )
    for lang in LANGS:
        markdown = render_markdown(policy, lang)  # type: ignore[arg-type]
        html = MarkdownIt("commonmark").enable("table").render(markdown)
        assert "<script>" not in html and "<em>" not in html and "<a " not in html
        # the pipe in the label did not add a table column
        header = next(line for line in markdown.splitlines() if line.startswith("| リードソース")
                      or line.startswith("| Lead source"))
        row = next(line for line in markdown.splitlines() if line.startswith("| Demo \\|")
                   or line.startswith("| デモ \\|"))
        assert row.count(" | ") == header.count(" | ")


# --------------------------------------------------------------------------- PDF


def test_pdf_text_extracts_back_in_japanese() -> None:
    text = preset_pdf_text("b2b-saas", "ja")
    for expected in ("リードハンドオフプロセス", "デモリクエスト", "5分", "ホット", "株式会社サンプル",
                     "予算の確認", "90%"):
        assert expected in text
    assert md_row(render_markdown(preset("b2b-saas"), "ja"), "デモリクエスト")[3] == "5分"


def test_pdf_text_extracts_back_in_english() -> None:
    text = preset_pdf_text("b2b-saas", "en")
    for expected in ("Lead handoff process", "Demo request", "5 min", "Hot", "Budget confirmed"):
        assert expected in text


def test_pdf_wraps_long_japanese_lines() -> None:
    long_goal = "長い目標" * 60
    policy = override(f"agreement:\n  goals:\n    company: ['{long_goal}']\n")
    text = pdf_text(render_pdf(policy, "ja"))
    assert long_goal not in text  # broken into lines ...
    assert long_goal in text.replace("\n", "")  # ... and nothing lost
    assert max(len(line) for line in text.splitlines()) < 80


def test_bundled_font_and_licence_ship_with_the_package() -> None:
    path = font_path()
    assert path.endswith("ipaexg.ttf")
    fonts = resources.files("leadclock.fonts")
    assert fonts.joinpath("IPA_Font_License_Agreement_v1.0.txt").is_file()


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("text", "ja", "en"),
    [
        ("5m", "5分", "5 min"),
        ("1bd", "1営業日", "1 business day"),
        ("3bd", "3営業日", "3 business days"),
        ("immediate", "即時", "immediate"),
        ("same_day", "同日営業時間内", "same business day"),
        ("30s", "30秒", "30 s"),
        ("4h", "4時間", "4 h"),
        ("60m", "1時間", "1 h"),
        ("90m", "90分", "90 min"),
        ("24h", "24時間", "24 h"),
        ("30d", "30日", "30 days"),
        ("2w", "2週間", "2 weeks"),
        ("1.5bd", "1.5営業日", "1.5 business days"),
    ],
)
def test_format_duration(text: str, ja: str, en: str) -> None:
    duration = Duration.parse(text)
    assert format_duration(duration, "ja") == ja
    assert format_duration(duration, "en") == en


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="lang"):
        build_document(preset("base"), "fr")  # type: ignore[arg-type]
