"""`leadclock chart trend|heatmap|funnel|correlation`: a report's chart as a PNG or SVG file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadclock.cli.common import fail

Opt = typer.Option


def chart(
    name: Annotated[str, typer.Argument(help="trend, heatmap (trends report), funnel or correlation")],
    out: Annotated[Path, Opt("--out", "-o", help="the file to write")],
    db: Annotated[str | None, Opt("--db", help="SQLite path or database URL (default: LEADCLOCK_DATABASE_URL, else leadclock.db)")] = None,
    fmt: Annotated[str, Opt("--format", "-f", help="png or svg")] = "png",
    lang: Annotated[str, Opt("--lang", help="ja or en")] = "ja",
    start: Annotated[str | None, Opt("--from", help="local date (YYYY-MM-DD) or ISO instant")] = None,
    end: Annotated[str | None, Opt("--to", help="local date (inclusive) or ISO instant")] = None,
    team: Annotated[str | None, Opt(help="only this team")] = None,
    rep: Annotated[str | None, Opt(help="only this rep")] = None,
    source: Annotated[str | None, Opt(help="only this lead source")] = None,
    quarter: Annotated[str | None, Opt(help="correlation: 2026Q3, this or last (default)")] = None,
    as_of: Annotated[str | None, Opt("--as-of", help="ISO instant the chart describes (default: now)")] = None,
    policy: Annotated[Path | None, Opt("--policy", help="policy file (default: the store's active policy)")] = None,
    preset: Annotated[str | None, Opt("--preset", help="policy preset (default: the store's active policy)")] = None,
) -> None:
    """Draw a report as a static chart (for e-mails and PDFs): trend with the 90%/95% targets, weekday x hour heat map, funnel, conversion by compliance tier."""
    from leadclock.cli.report_cmd import report_request
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
