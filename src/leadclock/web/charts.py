"""Charts for the pages, from the numbers a report keeps in `report.data`.

The page embeds each chart as JSON (`<script type="application/json">`, never executed) and
`static/app.js` draws it with uPlot; without JavaScript the same numbers are in the tables. Series
are found by shape, so a report can add one without a change here: a list of rows with a date
(`day`, `date`, ...) and numbers, or columns (`days` plus equal-length number lists). Compliance
series get 001's 90% and 95% target lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from leadclock.reports.output import Report

DATE_KEYS = ("day", "date", "period_start", "start", "week_start", "month")
TARGETS = (90.0, 95.0)
MAX_POINTS = 2000


@dataclass
class Chart:
    id: str
    title: str
    x: list[float]  # epoch seconds (uPlot's time axis)
    series: list[dict[str, Any]]  # {"label", "values"}
    targets: list[float] = field(default_factory=list)
    percent: bool = False
    x_label: str = "日付 / Date"  # the legend's time column (uPlot would print "Time")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "x": self.x, "series": self.series,
                "targets": self.targets, "percent": self.percent, "x_label": self.x_label}


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 7 and text[4] == "-":  # 2026-07
                return datetime(int(text[:4]), int(text[5:]), 1, tzinfo=UTC).timestamp()
            if len(text) == 10:
                return _epoch(date.fromisoformat(text))
            return _epoch(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _from_rows(rows: Sequence[Any]) -> tuple[list[float], dict[str, list[Any]]] | None:
    if not rows or not all(isinstance(r, Mapping) for r in rows) or len(rows) > MAX_POINTS:
        return None
    key = next((k for k in DATE_KEYS if all(_epoch(r.get(k)) is not None for r in rows)), None)
    if key is None:
        return None
    numeric = [k for k in rows[0] if k != key and all(_number(r.get(k)) for r in rows)
               and any(r.get(k) is not None for r in rows)]
    if not numeric:
        return None
    x = [_epoch(r[key]) or 0.0 for r in rows]
    return x, {k: [r.get(k) for r in rows] for k in numeric}


def _from_columns(columns: Mapping[str, Any]) -> tuple[list[float], dict[str, list[Any]]] | None:
    key = next((k for k in ("days", "dates", "day", "date") if isinstance(columns.get(k), list)), None)
    if key is None:
        return None
    days = columns[key]
    x = [_epoch(d) for d in days]
    if not days or any(v is None for v in x) or len(days) > MAX_POINTS:
        return None
    numeric = {k: v for k, v in columns.items() if k != key and isinstance(v, list) and len(v) == len(days)
               and all(_number(item) for item in v)}
    return ([float(v or 0.0) for v in x], numeric) if numeric else None


def series_of(value: Any) -> tuple[list[float], dict[str, list[Any]]] | None:
    if isinstance(value, list):
        return _from_rows(value)
    if isinstance(value, Mapping):
        return _from_columns(value)
    return None


def _is_percent(name: str) -> bool:
    return any(word in name for word in ("compliance", "rate", "pct", "percent", "share"))


def charts_from_data(data: Mapping[str, Any], labels: Mapping[str, str], prefix: str) -> list[Chart]:
    found: list[Chart] = []
    for key, value in data.items():
        series = series_of(value)
        if series is None:
            continue
        x, columns = series
        percent = all(_is_percent(name) for name in columns) or _is_percent(key)
        chosen = {name: values for name, values in columns.items() if not percent or _is_percent(name)} or columns
        found.append(Chart(
            id=f"{prefix}-{len(found)}", title=labels.get(key, key.replace("_", " ")), x=x,
            series=[{"label": labels.get(name, name.replace("_", " ")), "values": values}
                    for name, values in chosen.items()],
            targets=list(TARGETS) if percent else [], percent=percent,
        ))
    return found


def _x_label(report: Report) -> str:
    return "日付" if report.lang == "ja" else "Date"


def _trends_chart(report: Report, page: Any) -> Chart | None:
    """F22's rolling 30-day compliance and the daily rate under it, with the target lines."""
    rows = report.data.get("rolling")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, Mapping) for r in rows):
        return None
    labels = {column.key: column.label for table in report.tables for column in table.columns}
    targets = [float(v) for v in report.data.get("targets") or TARGETS if isinstance(v, int | float)]
    try:
        title = report.table("rolling").title
    except KeyError:
        title = "30"
    return Chart(id="chart-trends-rolling", title=title, x=[_epoch(r.get("date")) or 0.0 for r in rows],
                 series=[{"label": labels.get("rolling", "rolling"), "values": [r.get("compliance") for r in rows]},
                         {"label": labels.get("compliance", "day"), "values": [r.get("day") for r in rows]}],
                 targets=targets, percent=True, x_label=_x_label(report))


# Keys drawn by a report-specific chart or table below, not by the generic finder.
SPECIFIC = {"trends": ("rolling", "heatmap", "targets"), "funnel": ("funnel",)}


def charts_of(report: Report | None, page: Any) -> list[Chart]:
    if report is None:
        return []
    labels = {column.key: column.label for table in report.tables for column in table.columns}
    labels.update({table.key: table.title for table in report.tables})
    found: list[Chart] = []
    if report.name == "trends":
        chart = _trends_chart(report, page)
        found += [chart] if chart else []
    skip = SPECIFIC.get(report.name, ())
    rest = {key: value for key, value in report.data.items() if key not in skip}
    return found + charts_from_data(rest, labels, f"chart-{report.name}")


@dataclass
class HeatMap:
    weekdays: list[str]
    hours: list[int]
    cells: list[list[tuple[float | None, int]]]  # [weekday][hour] -> (compliance, leads)


def heatmap_of(report: Report | None) -> HeatMap | None:
    """The trends report's weekday x hour-of-arrival compliance, for a coloured table."""
    data = report.data.get("heatmap") if report is not None else None
    if not isinstance(data, Mapping):
        return None
    weekdays, hours = data.get("weekdays"), data.get("hours")
    rates, leads = data.get("compliance"), data.get("leads")
    if not (isinstance(weekdays, list) and isinstance(hours, list) and isinstance(rates, list)
            and isinstance(leads, list) and len(rates) == len(weekdays) == len(leads)):
        return None
    cells = [[(rate_row[h] if h < len(rate_row) else None, lead_row[h] if h < len(lead_row) else 0)
              for h in range(len(hours))] for rate_row, lead_row in zip(rates, leads, strict=True)]
    return HeatMap([str(w) for w in weekdays], [int(h) for h in hours], cells)


@dataclass
class Bar:
    label: str
    count: int
    width: float  # percent of the widest bar
    step: float | None  # conversion from the stage before, percent


def funnel_bars(report: Report | None) -> list[Bar]:
    """Lead -> MQL -> SQL -> Opportunity -> Won as bars, from the funnel report's table."""
    if report is None or report.name != "funnel":
        return []
    try:
        rows = report.table("funnel").rows
    except KeyError:
        return []
    counts = [int(row.get("count") or 0) for row in rows]
    widest = max(counts, default=0) or 1
    return [Bar(str(row.get("stage")), count, round(100.0 * count / widest, 1), row.get("step"))
            for row, count in zip(rows, counts, strict=True)]


def _tone(rate: float | None) -> str:
    if rate is None:
        return ""
    return "good" if rate >= 95 else "ok" if rate >= 90 else "warn" if rate >= 80 else "bad"


def _leads_in(report: Report, key: str) -> tuple[int, bool]:
    """Distinct leads listed in table `key`, and whether the list was cut (the report lists at
    most a hundred clocks and says so in a note)."""
    try:
        table = report.table(key)
    except KeyError:
        return 0, False
    cut = any(table.title in note for note in report.notes)
    return len({row.get("lead") for row in table.rows}), cut


def compliance_view(report: Report | None, page: Any) -> dict[str, Any]:
    """The live page's headline tiles (today / this week / this month, in breach now, under an
    hour left) and its 30-day trend chart, from the `compliance` report."""
    if report is None:
        return {"tiles": [], "trend": None}
    tiles: list[dict[str, Any]] = []
    try:
        periods = report.table("periods").rows
    except KeyError:
        periods = []
    for row in periods:
        if row.get("period") not in ("today", "week", "month"):
            continue
        rate = row.get("compliance")
        tiles.append({"key": row["period"], "label": row.get("label", row["period"]),
                      "value": page.fmt(rate, "percent"), "tone": _tone(rate),
                      "detail": f"{row.get('within_sla', 0)}/{row.get('leads', 0)} {page.t('leads_unit')}"})
    for key, label, tone in (("in_breach", "in_breach_now", "bad"), ("due_soon", "under_hour", "warn")):
        count, cut = _leads_in(report, key)
        tiles.append({"key": key, "label": page.t(label), "value": f"{count}{'+' if cut else ''}",
                      "tone": tone if count else "good", "detail": page.t("leads_unit")})
    trend = None
    data = report.data.get("trend")
    if isinstance(data, Mapping) and isinstance(data.get("dates"), list) and isinstance(data.get("compliance"), list):
        x = [_epoch(day) or 0.0 for day in data["dates"]]
        targets = data.get("targets") if isinstance(data.get("targets"), Mapping) else {}
        lines = sorted({float(v) for v in (targets or {}).values() if isinstance(v, int | float)}) or list(TARGETS)
        trend = Chart(id="trend", title=page.t("trend_30"), x=x,
                      series=[{"label": page.t("compliance_series"), "values": data["compliance"]}],
                      targets=lines, percent=True, x_label=_x_label(report))
    return {"tiles": tiles, "trend": trend}


__all__ = ["Bar", "Chart", "HeatMap", "charts_from_data", "charts_of", "compliance_view", "funnel_bars", "heatmap_of",
           "series_of"]
