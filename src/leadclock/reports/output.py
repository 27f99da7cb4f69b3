"""What every report returns, and how it is written out (F19-F26).

A report is data first: named tables of typed columns plus plain statements ("no leads in this
range", "no correlation"). The CLI, the API, the dashboard and the digests all take the same
`Report`; only the rendering differs. Values stay raw in the rows (seconds, ratios, yen) so JSON
and CSV keep full precision; `format_value` turns them into words for people, in ja or en.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from jinja2 import Environment, select_autoescape

Lang = Literal["ja", "en"]
Kind = Literal["text", "int", "float", "percent", "delta", "seconds", "money", "datetime", "date"]
FORMATS = ("table", "json", "csv", "md", "html")


class ReportError(ValueError):
    """Bad report input: names the parameter (`field`) and the reason, like the event contract."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # already in the report's language
    kind: Kind = "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    name: str
    title: str
    lang: Lang
    params: dict[str, Any] = field(default_factory=dict)
    # Free text shown before the tables, line by line (a scorecard reads as text in 001).
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    # Plain statements a reader must not miss: no data in range, no correlation, a sharp change.
    notes: list[str] = field(default_factory=list)
    # Anything else a program may want (JSON only), e.g. the numbers behind a chart.
    data: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def _seconds_text(seconds: float, lang: Lang) -> str:
    minutes = seconds / 60
    if minutes < 90:
        value = round(minutes)
        return f"{value}分" if lang == "ja" else f"{value} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f}時間" if lang == "ja" else f"{hours:.1f} h"
    return f"{hours / 24:.1f}日" if lang == "ja" else f"{hours / 24:.1f} d"


def format_value(value: Any, kind: Kind, lang: Lang) -> str:
    """A cell for people. `None` is a dash: 'no data', never a zero that was not measured."""
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value:.1f}%" if isinstance(value, float) and value != round(value) else f"{round(value)}%"
    if kind == "delta":
        arrow = "↑" if value > 0 else "↓" if value < 0 else "→"
        return f"{arrow} {value:+.1f}"
    if kind == "seconds":
        return _seconds_text(float(value), lang)
    if kind == "money":
        if lang == "ja" and abs(value) >= 10_000:
            return f"{value / 10_000:,.0f}万円" if abs(value) < 100_000_000 else f"{value / 100_000_000:,.2f}億円"
        return f"¥{value:,.0f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "float":
        return f"{value:,.2f}"
    if kind == "datetime" and isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def to_json(report: Report) -> str:
    document = asdict(report)
    return json.dumps(_plain(document), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def to_csv(report: Report) -> str:
    """Raw values, one block per table; a `# title` line separates blocks when there are several."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    several = len(report.tables) > 1
    for index, table in enumerate(report.tables):
        if several:
            if index:
                buffer.write("\n")
            buffer.write(f"# {table.key}\n")
        writer.writerow([c.key for c in table.columns])
        for row in table.rows:
            writer.writerow(["" if row.get(c.key) is None else _plain(row.get(c.key)) for c in table.columns])
    return buffer.getvalue()


def _cells(table: Table, lang: Lang) -> list[list[str]]:
    return [[format_value(row.get(c.key), c.kind, lang) for c in table.columns] for row in table.rows]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    out = [f"# {report.title}", ""]
    if report.lines:
        out += [*(f"{line}  " if line else "" for line in report.lines), ""]
    for table in report.tables:
        out += [f"## {table.title}", ""]
        if not table.rows:
            out += ["—", ""]
            continue
        out.append("| " + " | ".join(_md_escape(c.label) for c in table.columns) + " |")
        out.append("|" + "|".join("---:" if c.kind not in ("text", "date", "datetime") else "---" for c in table.columns) + "|")
        out += ["| " + " | ".join(_md_escape(cell) for cell in cells) + " |" for cells in _cells(table, report.lang)]
        out.append("")
    if report.notes:
        out += [*(f"> {note}" for note in report.notes), ""]
    return "\n".join(out)


_HTML = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="{{ report.lang }}"><head><meta charset="utf-8"><title>{{ report.title }}</title>
<style>body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:1.5rem;color:#1f2933}
table{border-collapse:collapse;margin:0 0 1.5rem}th,td{border:1px solid #cbd2d9;padding:.3rem .6rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f4f8}.note{color:#8d2b0b}</style>
</head><body>
<h1>{{ report.title }}</h1>
{% if report.lines %}<pre>{{ report.lines | join("\n") }}</pre>{% endif %}
{% for table, cells in tables %}<h2>{{ table.title }}</h2>
{% if cells %}<table><thead><tr>{% for c in table.columns %}<th>{{ c.label }}</th>{% endfor %}</tr></thead><tbody>
{% for row in cells %}<tr>{% for cell in row %}<td{% if table.columns[loop.index0].kind not in ("text", "date", "datetime") %} class="n"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% else %}<p>—</p>{% endif %}
{% endfor %}{% for note in report.notes %}<p class="note">{{ note }}</p>
{% endfor %}</body></html>
"""
)


def to_html(report: Report) -> str:
    return _HTML.render(report=report, tables=[(t, _cells(t, report.lang)) for t in report.tables])


def to_text(report: Report, width: int | None = 200) -> str:
    """Rich tables for a terminal (the CLI's default `table` format)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(file=io.StringIO(), width=width, record=True, force_terminal=False)
    console.print(report.title, style="bold", highlight=False)
    for line in report.lines:
        console.print(line, highlight=False, markup=False)
    for table in report.tables:
        rich = RichTable(title=table.title, title_justify="left")
        for column in table.columns:
            rich.add_column(column.label, justify="left" if column.kind in ("text", "date", "datetime") else "right")
        for cells in _cells(table, report.lang):
            rich.add_row(*cells)
        console.print(rich)
    for note in report.notes:
        console.print(note, highlight=False, markup=False)
    return console.export_text()


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    if fmt == "table":
        return to_text(report)
    raise ReportError("format", f"must be one of {', '.join(FORMATS)}")
