"""Static charts: valid PNG / SVG, the target lines and Japanese text in the SVG, same bytes for
the same input; the `leadclock chart` command on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from analysis_support import ingest, lead, request, won
from typer.testing import CliRunner

from leadclock.cli.main import app
from leadclock.reports import charts, correlation, funnel, trends
from leadclock.reports.output import ReportError
from leadclock.reports.params import parse_instant
from leadclock.store import Store

NOW = "2026-07-31 12:00"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def filled(store: Store) -> Store:
    ingest(store, [
        *lead("C1", "2026-07-03 10:00", rep="ann", contact_after=5),
        *lead("C2", "2026-07-03 16:00", rep="ann", contact_after=30),
        *lead("C3", "2026-07-06 10:00", rep="bob", contact_after=9),
        *won("C3", "2026-07-07 10:00", "2026-07-20 10:00", 1_200_000, "bob"),
    ], NOW)
    return store


def july(store: Store, lang: str = "ja", **options: object):  # type: ignore[no-untyped-def]
    zone = request(store, NOW).zone
    return request(store, NOW, lang=lang, start=parse_instant("2026-07-01", zone, "from"),
                   end=parse_instant("2026-07-31", zone, "to", end=True), options=options)


def svg_text(data: bytes) -> str:
    ElementTree.fromstring(data)  # well-formed XML, or this raises
    text = data.decode("utf-8")
    assert "<svg" in text
    return text


def test_trend_chart_has_both_target_lines_in_either_language(filled: Store) -> None:
    ja = svg_text(charts.trend_chart(trends.build(july(filled)), "svg"))
    assert "目標 90%" in ja and "目標 95%" in ja and "SLAコンプライアンスの傾向" in ja
    assert "IPAexGothic" in ja  # the bundled font drew it
    en = svg_text(charts.trend_chart(trends.build(july(filled, "en")), "svg"))
    assert "Target 90%" in en and "Target 95%" in en and "SLA compliance trends" in en


def test_every_chart_is_valid_and_deterministic(filled: Store) -> None:
    reports = {
        "trend": trends.build(july(filled)), "heatmap": trends.build(july(filled)),
        "funnel": funnel.build(july(filled)),
        "correlation": correlation.build(request(filled, NOW, lang="ja", options={"quarter": "2026Q3"})),
    }
    for name, report in reports.items():
        draw = charts.CHARTS[name][1]
        png = draw(report, "png")
        assert png.startswith(PNG), name
        assert draw(report, "png") == png, name  # same input, same bytes
        svg = draw(report, "svg")
        assert svg == draw(report, "svg"), name
        text = svg_text(svg)
        assert "<dc:date>" not in text, name  # no timestamp in the metadata
    assert "受注" in svg_text(charts.funnel_chart(reports["funnel"], "svg"))
    assert "90-100%" in svg_text(charts.correlation_chart(reports["correlation"], "svg"))
    assert "金" in svg_text(charts.heatmap_chart(reports["heatmap"], "svg"))


def test_empty_data_still_draws(store: Store) -> None:
    report = trends.build(request(store, NOW, lang="en"))
    assert "Target 95%" in svg_text(charts.trend_chart(report, "svg"))
    assert charts.heatmap_chart(report, "png").startswith(PNG)


def test_unknown_chart_or_format(filled: Store) -> None:
    with pytest.raises(ReportError) as error:
        charts.render_chart("pie", july(filled), "png")
    assert error.value.field == "chart"
    with pytest.raises(ReportError) as error:
        charts.render_chart("trend", july(filled), "gif")
    assert error.value.field == "format"


def test_chart_command(filled: Store, db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "--from", "2026-07-01", "--to", "2026-07-31", "--as-of", "2026-07-31T12:00:00+09:00"]
    for name in charts.CHARTS:
        for fmt in charts.CHART_FORMATS:
            out = tmp_path / f"{name}.{fmt}"
            result = runner.invoke(app, ["chart", name, *base, "--quarter", "2026Q3", "--format", fmt, "-o", str(out)])
            assert result.exit_code == 0, result.output
            data = out.read_bytes()
            assert data.startswith(PNG) if fmt == "png" else "<svg" in svg_text(data)
    bad = runner.invoke(app, ["chart", "trend", *base, "--format", "gif", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--format" in bad.output
    bad = runner.invoke(app, ["chart", "trend", *base, "--team", "nobody", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--team" in bad.output
