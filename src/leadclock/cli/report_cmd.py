"""`leadclock report NAME`: every measurement report (F19-F26) from the store, in any format."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from leadclock.cli.common import fail, resolve_policy
from leadclock.cli.service_cmd import DbOption

if TYPE_CHECKING:
    from leadclock.reports.params import ReportRequest

Opt = typer.Option
# The options `report` and `chart` share (chart_cmd imports them).
LangOpt = Annotated[str, Opt("--lang", help="ja or en")]
FromOpt = Annotated[str | None, Opt("--from", help="local date (YYYY-MM-DD) or ISO instant")]
ToOpt = Annotated[str | None, Opt("--to", help="local date (inclusive) or ISO instant")]
TeamOpt = Annotated[str | None, Opt("--team", help="only this team")]
RepOpt = Annotated[str | None, Opt("--rep", help="only this rep")]
SourceOpt = Annotated[str | None, Opt("--source", help="only this lead source")]
QuarterOpt = Annotated[str | None, Opt("--quarter", help="correlation, target-review: 2026Q3, this or last (default)")]
AsOfOpt = Annotated[str | None, Opt("--as-of", help="ISO instant described (default: now)")]
PolicyOpt = Annotated[Path | None, Opt("--policy", help="policy file (default: the store's active policy)")]
PresetOpt = Annotated[str | None, Opt("--preset", help="policy preset (default: the store's active policy)")]


def _active_policy(store, policy: Path | None, preset: str | None):  # type: ignore[no-untyped-def]
    """The policy given, else the store's active one, else the base preset (a bare store)."""
    if policy is not None or preset is not None:
        return resolve_policy(policy, preset)
    from leadclock.api.queries import active_version
    from leadclock.policy import load_preset

    version = active_version(store)
    found = store.load_policy(version) if version else None
    return found if found is not None else load_preset("base")


@contextmanager
def report_request(db: str | None, lang: str, start: str | None, end: str | None, as_of: str | None,
                   policy: Path | None, preset: str | None, **scope: Any) -> Iterator[ReportRequest]:
    """The request the report and chart commands build from their options, on an open store.
    Bad options exit 2 naming the option (`--from: ...`), before or while the store is read."""
    from leadclock.reports.output import ReportError
    from leadclock.reports.params import ReportRequest, local_zone, parse_instant
    from leadclock.store import Store, StoreError, database_url

    if lang not in ("ja", "en"):
        raise fail("--lang: must be ja or en")
    if db is not None and "://" not in db and not Path(db).exists():
        raise fail(f"--db: no such database file {db}")
    now = datetime.now(UTC)  # the edge reads the clock; reports and charts do not
    try:
        if as_of is not None:
            parsed = parse_instant(as_of, ZoneInfo("UTC"), "as-of")
            assert parsed is not None
            now = parsed
        with Store(database_url(db)) as store:
            chosen = _active_policy(store, policy, preset)
            zone = local_zone(chosen)
            yield ReportRequest(
                store=store, policy=chosen, now=now, lang=lang,  # type: ignore[arg-type]
                start=parse_instant(start, zone, "from"), end=parse_instant(end, zone, "to", end=True),
                team=scope.pop("team", None), rep=scope.pop("rep", None), source=scope.pop("source", None),
                options=scope,
            )
    except ReportError as error:
        raise fail(f"--{error.field}: {error.reason}" if error.field != "report" else str(error)) from None
    except StoreError as error:
        raise fail(str(error)) from None


def report(
    name: Annotated[str, typer.Argument(help="compliance, scorecard, team-scorecard, digest, consequences, trends, correlation, root-causes, target-review, funnel")],
    db: DbOption = None,
    fmt: Annotated[str, Opt("--format", "-f", help="table, json, csv, md or html")] = "table",
    lang: LangOpt = "ja",
    start: FromOpt = None,
    end: ToOpt = None,
    team: TeamOpt = None,
    rep: RepOpt = None,
    source: SourceOpt = None,
    week: Annotated[str | None, Opt(help="scorecards: 2026-W28, a date in the week, this or last (default)")] = None,
    month: Annotated[str | None, Opt(help="root-causes: 2026-07, this or last (default)")] = None,
    quarter: QuarterOpt = None,
    kind: Annotated[str | None, Opt(help="digest: daily, manager or weekly")] = None,
    spend: Annotated[float | None, Opt(help="funnel: marketing spend in the period (yen) for cost per lead / MQL / SQL")] = None,
    revenue_target: Annotated[float | None, Opt("--revenue-target", help="funnel: revenue target (yen) for the reverse funnel")] = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = None,
    preset: PresetOpt = None,
    out: Annotated[Path | None, Opt("--out", "-o", help="write to this file instead of standard output")] = None,
) -> None:
    """A measurement report from the store: compliance, scorecards, digests, trends, correlation, root causes, target review, consequences, funnel."""
    from leadclock.reports.output import FORMATS, render
    from leadclock.reports.registry import run

    if fmt not in FORMATS:
        raise fail(f"--format: must be one of {', '.join(FORMATS)}")
    with report_request(db, lang, start, end, as_of, policy, preset, team=team, rep=rep, source=source,
                        week=week, month=month, quarter=quarter, kind=kind, spend=spend,
                        revenue_target=revenue_target) as request:
        text = render(run(name, request), fmt)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
