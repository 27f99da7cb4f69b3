"""`leadclock policy ...` and `leadclock doc`: write, check, show and render the SLA policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadclock.cli.common import console, fail, print_problems, resolve_policy
from leadclock.policy import Policy, PolicyError, load_policy, preset_names, preset_text
from leadclock.policy.models import CadenceSla, ClockSla

app = typer.Typer(help="Write, check and show the SLA policy.", no_args_is_help=True)

PresetOpt = Annotated[str | None, typer.Option("--preset", help="A preset name instead of a file.")]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="ja or en (default: the policy's locale).")
]


@app.command("init")
def init(preset: Annotated[str, typer.Option(help="Preset to start from.")] = "b2b-saas") -> None:
    """Print a commented starting policy (the preset's own YAML) to standard output."""
    if preset not in preset_names():
        raise fail(f"unknown preset {preset!r}; known: {', '.join(preset_names())}")
    header = (
        f"# leadclock policy, started from the '{preset}' preset.\n"
        "# Check it with: leadclock policy check <file>\n"
        "# Render the agreement with: leadclock doc <file> --lang ja --format pdf -o agreement.pdf\n"
    )
    typer.echo(header + preset_text(preset), nl=False)


@app.command("check")
def check(path: Annotated[Path, typer.Argument(help="Policy YAML file.")]) -> None:
    """Validate a policy: prints "ok" and its version, or every problem (key path, line, reason); exit 2."""
    try:
        policy = load_policy(path)
    except PolicyError as error:
        print_problems(error)
        raise typer.Exit(2) from None
    console.print(f"ok  {path}  version {policy.version}", highlight=False)


@app.command("presets")
def presets() -> None:
    """List the presets shipped with leadclock."""
    for name in preset_names():
        typer.echo(name)


def _lang(policy: Policy, lang: str | None) -> str:
    chosen = lang or policy.org.locale
    if chosen not in ("ja", "en"):
        raise fail(f"--lang must be ja or en, not {chosen!r}")
    return chosen


@app.command("show")
def show(
    path: Annotated[Path | None, typer.Argument(help="Policy YAML file.")] = None,
    preset: PresetOpt = None,
    lang: LangOpt = None,
) -> None:
    """Print the policy's tables the way the seed documents print them."""
    from leadclock.policy.render import format_duration as fmt

    policy = resolve_policy(path, preset)
    lang = _lang(policy, lang)
    ja = lang == "ja"
    title = policy.agreement.title.get(lang) if policy.agreement.title else policy.name
    console.print(f"[bold]{title}[/bold]  ({policy.name}, version {policy.version})")

    def clock(stage: str, source: str | None, tier: str | None, with_max: bool = True) -> str:
        sla = policy.stage_sla(stage, source, tier)
        if not isinstance(sla, ClockSla):
            return "N/A"
        text = fmt(sla.target, lang)
        if with_max and sla.max is not None:
            text += f" (max {fmt(sla.max, lang)})" if not ja else f"（最大 {fmt(sla.max, lang)}）"
        return text

    if policy.sources:
        table = Table(title="リードタイプ別SLA" if ja else "SLA by lead type")
        headers = (
            [
                "リードタイプ",
                "優先度",
                "割り当て",
                "最初のコンタクト",
                "最小試行",
                "評価",
                "引き継ぎ",
                "AE受け入れ",
            ]
            if ja
            else [
                "Lead type",
                "Priority",
                "Assignment",
                "First contact",
                "Min. attempts",
                "Qualification",
                "Handoff",
                "AE acceptance",
            ]
        )
        for header in headers:
            table.add_column(header)
        for key, source in policy.sources.items():
            tier = source.priority
            cadence = policy.stage_sla("cadence", key, tier)
            attempts = (
                f"{cadence.min_attempts} / {fmt(cadence.window, lang)}"
                if isinstance(cadence, CadenceSla)
                else "N/A"
            )
            table.add_row(
                source.label.get(lang),
                policy.tiers[tier].label.get(lang),
                clock("assignment", key, tier),
                clock("first_contact", key, tier),
                attempts,
                clock("qualification", key, tier),
                clock("handoff", key, tier),
                clock("acceptance", key, tier),
            )
        console.print(table)

    tiers = Table(title="優先度ティア" if ja else "Priority tiers")
    for header in (
        ["ティア", "スコア", "割り当て", "最初のコンタクト", "担当者の可用性", "最小試行"]
        if ja
        else ["Tier", "Score", "Assignment", "First contact", "Who takes it", "Min. attempts"]
    ):
        tiers.add_column(header)
    for key, tier in policy.tiers.items():
        cadence = tier.sla.cadence
        tiers.add_row(
            tier.label.get(lang),
            tier.score or "",
            clock("assignment", None, key),
            clock("first_contact", None, key),
            tier.pool.get(lang) if tier.pool else "",
            f"{cadence.min_attempts} / {fmt(cadence.window, lang)}"
            if isinstance(cadence, CadenceSla)
            else "N/A",
        )
    console.print(tiers)

    label = "エスカレーション" if ja else "Escalation"
    for rule in policy.escalations.values():
        who = ", ".join(policy.roles[r].label.get(lang) for step in rule.steps for r in step.notify)
        console.print(f"{label}: {rule.label.get(lang)} → {who}", highlight=False)
    c = policy.compliance
    if ja:
        line = f"コンプライアンス目標: チーム平均{c.team:g}%、個人最低{c.individual:g}%"
    else:
        line = f"Compliance targets: team average {c.team:g}%, individual minimum {c.individual:g}%"
    for source, percent in c.sources.items():
        name = policy.sources[source].label.get(lang)
        line += f"、{name} {percent:g}%" if ja else f", {name} {percent:g}%"
    if c.default_source is not None:
        line += (
            f"、その他のソース {c.default_source:g}%"
            if ja
            else f", other sources {c.default_source:g}%"
        )
    console.print(line, highlight=False)
    reports = [
        r.label.get(lang) if r.label else r.kind for r in policy.reports.values() if r.enabled
    ]
    console.print(
        ("レポート: " if ja else "Reports: ") + ("、" if ja else ", ").join(reports),
        highlight=False,
    )


@app.command("advise")
def advise(
    baseline_minutes: Annotated[
        float, typer.Option("--baseline-minutes", help="Your measured average first-response time.")
    ],
    segment: Annotated[str, typer.Option(help="b2b_saas, b2c_ec or enterprise.")] = "b2b_saas",
    lang: Annotated[str, typer.Option(help="ja or en.")] = "ja",
) -> None:
    """Suggest the next first-response target on the ladder (30 → 15 → 5 min) from your baseline."""
    from leadclock.policy.benchmarks import advise as advise_target

    try:
        advice = advise_target(baseline_minutes, segment)
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(advice.message.get(lang), highlight=False)


def doc(
    path: Annotated[Path | None, typer.Argument(help="Policy YAML file.")] = None,
    preset: PresetOpt = None,
    lang: LangOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or pdf.")] = "md",
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Output file (default: standard output for md/html)."),
    ] = None,
) -> None:
    """Render the written SLA agreement from the policy (003 template order), in ja or en."""
    from leadclock.policy import render

    policy = resolve_policy(path, preset)
    lang = _lang(policy, lang)
    if fmt not in ("md", "html", "pdf"):
        raise fail(f"--format must be md, html or pdf, not {fmt!r}")
    if fmt == "pdf":
        if out is None:
            raise fail("a PDF needs -o FILE")
        out.write_bytes(render.render_pdf(policy, lang))  # type: ignore[arg-type]
    else:
        text = (
            render.render_markdown(policy, lang)
            if fmt == "md"
            else render.render_html(policy, lang)
        )  # type: ignore[arg-type]
        if out is None:
            typer.echo(text, nl=False)
            return
        out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", highlight=False)
