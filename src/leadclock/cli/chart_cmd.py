"""`leadclock chart trend|heatmap|funnel|correlation`: a report's chart as a PNG or SVG file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadclock.cli.common import fail
from leadclock.cli.report_cmd import (
    AsOfOpt,
    FromOpt,
    LangOpt,
    PolicyOpt,
    PresetOpt,
    QuarterOpt,
    RepOpt,
    SourceOpt,
    TeamOpt,
    ToOpt,
    report_request,
)
from leadclock.cli.service_cmd import DbOption

Opt = typer.Option


def chart(
    name: Annotated[str, typer.Argument(help="trend, heatmap (trends report), funnel or correlation")],
    out: Annotated[Path, Opt("--out", "-o", help="the file to write")],
    db: DbOption = None,
    fmt: Annotated[str, Opt("--format", "-f", help="png or svg")] = "png",
    lang: LangOpt = "ja",
    start: FromOpt = None,
    end: ToOpt = None,
    team: TeamOpt = None,
    rep: RepOpt = None,
    source: SourceOpt = None,
    quarter: QuarterOpt = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Draw a report as a static chart (for e-mails and PDFs): trend with the 90%/95% targets, weekday x hour heat map, funnel, conversion by compliance tier."""
    from leadclock.reports.charts import CHART_FORMATS, CHARTS, render_chart

    if name not in CHARTS:
        raise fail(f"unknown chart {name!r}; known: {', '.join(CHARTS)}")
    if fmt not in CHART_FORMATS:
        raise fail(f"--format: must be one of {', '.join(CHART_FORMATS)}")
    with report_request(db, lang, start, end, as_of, policy, preset, team=team, rep=rep, source=source,
                        quarter=quarter) as request:
        data = render_chart(name, request, fmt)
    out.write_bytes(data)
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("chart")(chart)
