"""Static charts for e-mails and PDFs (F20-F26): PNG or SVG bytes, drawn with matplotlib (Agg).

* `trend`: the rolling 30-day compliance of the trends report, with the 90% and 95% target lines
  (001 「トレンドチャート: 90%または95%の目標ライン」);
* `heatmap`: compliance by weekday x hour of arrival (trends);
* `funnel`: Lead → MQL → SQL → Opportunity → Won counts (funnel);
* `correlation`: conversion rate by compliance tier (correlation).

Each chart is drawn from a `Report` (its `data`), so a chart shows exactly the report's numbers.
Japanese renders with the bundled IPAex Gothic (`leadclock/fonts/ipaexg.ttf`), registered with
matplotlib's font manager. Output is deterministic for the same report: fixed size and dpi, no
creation date or software stamp in the metadata, a fixed SVG id salt; SVG text stays text (not
paths), so it can be searched and read by screen readers.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any, Literal

from leadclock.reports.output import Report, ReportError
from leadclock.reports.params import ReportRequest

ChartFormat = Literal["png", "svg"]
CHART_FORMATS = ("png", "svg")
SIZE = (8.0, 4.5)  # inches
DPI = 100
TARGETS = (90.0, 95.0)

_WORDS = {
    "ja": {"target": "目標 {value:g}%", "compliance": "コンプライアンス（%）", "rolling": "30日ローリング",
           "date": "日付", "hour": "時刻（リード到着）", "weekday": "曜日", "count": "件数",
           "conversion": "コンバージョン率（%）", "tier": "コンプライアンスティア", "no_data": "データなし"},
    "en": {"target": "Target {value:g}%", "compliance": "Compliance (%)", "rolling": "Rolling 30 days",
           "date": "Date", "hour": "Hour of arrival", "weekday": "Weekday", "count": "Count",
           "conversion": "Conversion rate (%)", "tier": "Compliance tier", "no_data": "No data"},
}


@cache
def font_name() -> str:
    """Register the bundled Japanese font once; return its family name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    path = str(resources.files("leadclock.fonts").joinpath("ipaexg.ttf"))
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


def _style() -> dict[str, Any]:
    return {
        "font.family": [font_name(), "DejaVu Sans"], "svg.fonttype": "none", "svg.hashsalt": "leadclock",
        "axes.unicode_minus": False, "figure.dpi": DPI, "savefig.dpi": DPI,
    }


def _save(figure: Any, fmt: ChartFormat) -> bytes:
    buffer = io.BytesIO()
    # No date, no software version: the same report gives the same bytes.
    metadata = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    figure.savefig(buffer, format=fmt, metadata=metadata)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def _figure() -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=SIZE, layout="constrained")
    return figure, axes


def trend_chart(report: Report, fmt: ChartFormat = "png") -> bytes:
    """Rolling 30-day compliance with the 90% and 95% target lines (a trends report)."""
    import matplotlib.pyplot as plt

    words = _WORDS[report.lang]
    points = report.data.get("rolling") or []
    with plt.rc_context(_style()):
        figure, axes = _figure()
        xs = list(range(len(points)))
        ys = [p["compliance"] if p["compliance"] is not None else float("nan") for p in points]
        axes.plot(xs, ys, color="#1f6feb", linewidth=2, label=words["rolling"])
        colours = {90.0: "#d1242f", 95.0: "#1a7f37"}
        for target in report.data.get("targets") or TARGETS:
            axes.axhline(target, color=colours.get(target, "#57606a"), linestyle="--", linewidth=1,
                         label=words["target"].format(value=target))
        step = max(1, len(points) // 8)
        axes.set_xticks(xs[::step], [p["date"][5:] for p in points][::step])
        axes.set_ylim(0, 100)
        axes.set_xlabel(words["date"])
        axes.set_ylabel(words["compliance"])
        axes.set_title(report.title)
        axes.legend(loc="lower right")
        if not points:
            axes.text(0.5, 0.5, words["no_data"], ha="center", transform=axes.transAxes)
        return _save(figure, fmt)


def heatmap_chart(report: Report, fmt: ChartFormat = "png") -> bytes:
    """Compliance by weekday (rows) and local hour of arrival (columns); blank where no lead."""
    import matplotlib.pyplot as plt
    import numpy as np

    words = _WORDS[report.lang]
    heat = report.data.get("heatmap") or {"weekdays": [], "hours": list(range(24)), "compliance": []}
    values = np.array([[np.nan if v is None else v for v in row] for row in heat["compliance"]] or [[np.nan] * 24],
                      dtype=float)
    with plt.rc_context(_style()):
        figure, axes = _figure()
        image = axes.imshow(values, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100, interpolation="nearest")
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        axes.set_yticks(range(len(heat["weekdays"])), heat["weekdays"])
        axes.set_xlabel(words["hour"])
        axes.set_ylabel(words["weekday"])
        axes.set_title(report.title)
        figure.colorbar(image, ax=axes, label=words["compliance"])
        return _save(figure, fmt)


def funnel_chart(report: Report, fmt: ChartFormat = "png") -> bytes:
    """Counts at each funnel stage, widest first, with the step conversion rates (a funnel report)."""
    import matplotlib.pyplot as plt

    words = _WORDS[report.lang]
    table = report.table("funnel").rows
    with plt.rc_context(_style()):
        figure, axes = _figure()
        labels = [row["stage"] for row in table][::-1]
        counts = [row["count"] for row in table][::-1]
        bars = axes.barh(labels, counts, color="#1f6feb")
        for bar, row in zip(bars, table[::-1], strict=True):
            text = f"{row['count']:,}" + (f"  ({row['step']:g}%)" if row["step"] is not None else "")
            axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center")
        axes.set_xlabel(words["count"])
        axes.set_xlim(0, max(counts or [0]) * 1.25 or 1)
        axes.set_title(report.title)
        return _save(figure, fmt)


def correlation_chart(report: Report, fmt: ChartFormat = "png") -> bytes:
    """Conversion rate by compliance tier (a correlation report); tiers without leads are empty."""
    import matplotlib.pyplot as plt

    words = _WORDS[report.lang]
    tiers = report.data.get("tiers") or []
    with plt.rc_context(_style()):
        figure, axes = _figure()
        labels = [f"{t['tier']}%" for t in tiers]
        rates = [t["conversion"] or 0.0 for t in tiers]
        bars = axes.bar(labels, rates, color="#1a7f37")
        for bar, tier in zip(bars, tiers, strict=True):
            shown = "—" if tier["conversion"] is None else f"{tier['conversion']:g}% (n={tier['leads']})"
            axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), shown, ha="center", va="bottom")
        axes.set_xlabel(words["tier"])
        axes.set_ylabel(words["conversion"])
        axes.set_ylim(0, max([*rates, 1.0]) * 1.25)
        axes.set_title(report.title)
        return _save(figure, fmt)


# chart name -> (the report it draws, the drawing function)
CHARTS: dict[str, tuple[str, Callable[[Report, ChartFormat], bytes]]] = {
    "trend": ("trends", trend_chart),
    "heatmap": ("trends", heatmap_chart),
    "funnel": ("funnel", funnel_chart),
    "correlation": ("correlation", correlation_chart),
}


def render_chart(name: str, request: ReportRequest, fmt: str) -> bytes:
    """Build the chart's report for `request` (scope checked) and draw it as PNG or SVG bytes."""
    from leadclock.reports.registry import run

    if name not in CHARTS:
        raise ReportError("chart", f"unknown chart {name!r}; known: {', '.join(CHARTS)}")
    if fmt not in CHART_FORMATS:
        raise ReportError("format", f"must be one of {', '.join(CHART_FORMATS)}")
    report_name, draw = CHARTS[name]
    return draw(run(report_name, request), fmt)  # type: ignore[arg-type]
