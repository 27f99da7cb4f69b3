"""`leadclock replay | backtest | ingest | demo | explain`: the engine over histories and stores."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadclock.cli.common import EXIT_BAD_INPUT, console, err_console, fail, resolve_policy
from leadclock.engine.events import EventError, parse_time
from leadclock.engine.replay import LineError, ReplayResult, load_event_file, run
from leadclock.engine.rules import compile_rules
from leadclock.policy import Policy
from leadclock.reports.compliance import summarize, write_outputs

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy YAML file.")]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="A preset name instead of a file.")]
EventsOpt = Annotated[Path, typer.Option("--events", help="JSON Lines event history.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Evaluate clocks at this ISO 8601 instant (default: the last event).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop at the first bad line and write nothing.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="fast (columnar, the default) or reference (the per-event engine the service runs); both give byte-identical results.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL (default: $LEADCLOCK_DATABASE_URL or leadclock.db).")]


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text, "--as-of")
    except EventError as exc:
        raise fail(f"{exc.field}: {exc.reason}") from None


def _report_errors(errors: list[LineError], strict: bool) -> None:
    for error in errors[:50]:
        err_console.print(str(error), highlight=False, markup=False, soft_wrap=True)
    if len(errors) > 50:
        err_console.print(f"... and {len(errors) - 50} more", highlight=False)
    if errors and strict:
        err_console.print("--strict: stopped at the first bad line; nothing written", style="red")
        raise typer.Exit(EXIT_BAD_INPUT)


def _replay(events_path: Path, policy: Policy, as_of: datetime | None, strict: bool) -> ReplayResult:
    if not events_path.exists():
        raise fail(f"--events: no such file {events_path}")
    numbered, errors = load_event_file(events_path)
    if strict and errors:
        _report_errors(errors[:1], strict=True)
    with Progress(TextColumn("replaying"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} events"),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=len(numbered) < 50_000) as bar:
        task = bar.add_task("replay", total=len(numbered))
        result = run(numbered, compile_rules(policy), as_of, progress=lambda n: bar.update(task, completed=n))
    result.errors = sorted(errors + result.errors, key=lambda e: e.line)
    if strict and result.errors:
        _report_errors(result.errors[:1], strict=True)
    return result


def _print_summary(summary: dict, title: str) -> None:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}%"

    first = summary["first_contact_business_seconds"]
    console.print(
        f"[bold]{title}[/bold]: {summary['within_sla']:,} of {summary['leads']:,} leads within SLA "
        f"({pct(summary['compliance'])}); first contact avg {_minutes(first['average'])}, "
        f"median {_minutes(first['median'])} (business time)"
    )
    stages = Table(title="Compliance by stage")
    for column in ("stage", "met", "breached", "open", "cancelled", "compliance"):
        stages.add_column(column, justify="right" if column != "stage" else "left")
    for stage, row in summary["by_stage"].items():
        stages.add_row(stage, f"{row['met']:,}", f"{row['breached']:,}", f"{row['open']:,}", f"{row['cancelled']:,}", pct(row["compliance"]))
    console.print(stages)
    reps = Table(title="By rep")
    for column in ("rep", "leads", "within SLA", "compliance", "avg first contact"):
        reps.add_column(column, justify="right" if column != "rep" else "left")
    for rep, row in summary["by_rep"].items():
        reps.add_row(rep, f"{row['leads']:,}", f"{row['within_sla']:,}", pct(row["compliance"]), _minutes(row["average_first_contact_seconds"]))
    console.print(reps)
    sources = Table(title="By source")
    for column in ("source", "leads", "within SLA", "compliance"):
        sources.add_column(column, justify="right" if column != "source" else "left")
    for source, row in summary["by_source"].items():
        sources.add_row(source, f"{row['leads']:,}", f"{row['within_sla']:,}", pct(row["compliance"]))
    console.print(sources)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _fast(events_path: Path, policy: Policy, as_of: datetime | None, strict: bool):  # type: ignore[no-untyped-def]
    from leadclock.engine.columnar import fast_replay

    if not events_path.exists():
        raise fail(f"--events: no such file {events_path}")
    result = fast_replay(events_path, policy, as_of)
    if strict and result.errors:
        _report_errors(result.errors[:1], strict=True)
    return result


def replay(
    events: EventsOpt,
    out: Annotated[Path, typer.Option("--out", help="Directory for clocks.csv, leads.csv, summary.json.")] = Path("results"),
    policy: PolicyOpt = None,
    preset: PresetOpt = None,
    as_of: AsOfOpt = None,
    strict: StrictOpt = False,
    engine: EngineOpt = "fast",
    routed: Annotated[bool, typer.Option("--route", help="Let the policy's routing assign the leads (the history's own assignments are ignored).")] = False,
) -> None:
    """Replay a history under a policy: every clock, met or breached, and the compliance summary."""
    chosen = resolve_policy(policy, preset)
    when = _as_of(as_of)
    if routed:
        from leadclock.engine.routed import run_routed
        from leadclock.routing import reassignment_rate

        if not chosen.routing.rules:
            raise fail("--route needs a policy with routing rules (routing.rules)")
        if not events.exists():
            raise fail(f"--events: no such file {events}")
        numbered, parse_errors = load_event_file(events)
        if strict and parse_errors:
            _report_errors(parse_errors[:1], strict=True)
        result, decisions = run_routed(numbered, compile_rules(chosen), when)
        errors = sorted(parse_errors + result.errors, key=lambda e: e.line)
        summary = summarize(result.leads.values())
        rates = reassignment_rate(decisions)
        summary["routing"] = {
            "decisions": len(decisions),
            "assigned": sum(1 for d in decisions if d.rep is not None),
            "queued_after_hours": sum(1 for d in decisions if d.kind == "queue"),
            "reassignment_rate": {team: {"rate": round(r.rate, 4), "flagged": r.flagged} for team, r in sorted(rates.items())},
        }
        summary["policy_version"] = result.policy_version
        summary["as_of"] = result.as_of.isoformat() if result.as_of else None
        summary["events"] = {"duplicates": result.duplicates, "rejected": len(errors)}
        write_outputs(out, result.leads, summary)
        for team, rate in sorted(rates.items()):
            flag = "  ← over 10%: look at capacity and routing, not at the reps" if rate.flagged else ""
            console.print(f"reassignment rate {team or '(no team)'}: {rate.rate:.1%}{flag}", highlight=False)
    elif engine == "fast":
        from leadclock.engine.columnar import write_fast_outputs

        fast = _fast(events, chosen, when, strict)
        summary, errors = fast.cli_summary(), fast.errors
        write_fast_outputs(out, fast, summary)
    elif engine == "reference":
        result = _replay(events, chosen, when, strict)
        summary = summarize(result.leads.values())
        summary["policy_version"] = result.policy_version
        summary["as_of"] = result.as_of.isoformat() if result.as_of else None
        summary["events"] = {"duplicates": result.duplicates, "rejected": len(result.errors)}
        errors = result.errors
        write_outputs(out, result.leads, summary)
    else:
        raise fail(f"--engine must be fast or reference, not {engine!r}")
    _print_summary(summary, f"{chosen.name} ({chosen.version})")
    _report_errors(errors, strict=False)
    console.print(f"wrote {out}/clocks.csv, leads.csv, summary.json", highlight=False)
    if errors:
        err_console.print(f"{len(errors)} line(s) skipped", style="yellow")
        raise typer.Exit(1)


def backtest(
    events: EventsOpt,
    policies: Annotated[list[str], typer.Option("--policy", help="Policy file or preset:NAME; give two or more.")],
    as_of: AsOfOpt = None,
) -> None:
    """Run two or more policies over the same history; compliance side by side per stage, rep and source."""
    from leadclock.policy import PolicyError, load_policy, load_preset

    if len(policies) < 2:
        raise fail("give at least two --policy options to compare")
    loaded = []
    for spec in policies:
        try:
            loaded.append(load_preset(spec[7:]) if spec.startswith("preset:") else load_policy(spec))
        except PolicyError as error:
            for problem in error.problems:
                err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    when = _as_of(as_of)
    summaries = []
    for chosen in loaded:
        summaries.append(_fast(events, chosen, when, strict=False).summary)
    names = [f"{p.name} ({p.version[:8]})" for p in loaded]

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}%"

    for title, key in (("Overall", None), ("By stage", "by_stage"), ("By rep", "by_rep"), ("By source", "by_source")):
        table = Table(title=title)
        table.add_column("")
        for name in names:
            table.add_column(name, justify="right")
        if key is None:
            table.add_row("within SLA", *[pct(s["compliance"]) for s in summaries])
        else:
            rows = sorted({row for s in summaries for row in s[key]})
            for row in rows:
                table.add_row(row, *[pct(s[key].get(row, {}).get("compliance")) for s in summaries])
        console.print(table)


def ingest(
    file: Annotated[Path, typer.Argument(help="JSON Lines events to append.")],
    db: DbOpt = None,
    policy: PolicyOpt = None,
    preset: PresetOpt = None,
    routed: Annotated[bool, typer.Option("--route", help="leadclock routes the leads (the history's own assignments are ignored); each decision goes to the audit trail.")] = False,
) -> None:
    """Append events to the store (idempotent by id), run the engine, report accepted/duplicate/rejected."""
    from leadclock.service.ingest import ingest_file

    chosen = resolve_policy(policy, preset) if (policy or preset) else None
    if not file.exists():
        raise fail(f"no such file {file}")
    try:
        report = ingest_file(file, db, chosen, route=routed)
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(f"accepted {report.accepted:,}  duplicate {report.duplicates:,}  rejected {len(report.errors):,}")
    _report_errors(report.errors, strict=False)
    if report.errors:
        raise typer.Exit(1)


def demo(
    db: Annotated[str, typer.Option("--db", help="SQLite file to create.")] = "leadclock-demo.db",
    days: Annotated[int, typer.Option(help="Days of history.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same history).")] = 7,
    preset: Annotated[str, typer.Option("--preset", help="Policy preset.")] = "b2b-saas",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the month from 2026-10-01, print the summary and exit (reproducible; for scripts).")] = False,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8000,
    office_hours: Annotated[bool, typer.Option("--office-hours", help="Keep the preset's business calendar (Tokyo 09:00-18:00, JP holidays): clocks pause outside it. By default the demo team works around the clock so clocks tick whenever you run it.")] = False,
) -> None:
    """The showcase: a month of history for a 4-SDR / 6-AE team ending now, then the live service
    (API, worker, notifications, dashboard) with new leads arriving in real time. Ctrl-C stops it."""
    from leadclock.service.ingest import ingest_events
    from leadclock.sim.demo import demo_roster, generate

    path = Path(db)
    # A demo starts from nothing, so the figures are reproducible. The WAL and shared-memory
    # files go too: a previous demo stopped by a kill leaves them, and SQLite would read a stale
    # WAL into the new file.
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    roster = demo_roster()
    if no_serve:
        chosen = resolve_policy(None, preset)
        events = list(generate(seed=seed, days=days, policy_name=preset))
        report = ingest_events(events, str(path), chosen, roster=roster)
        console.print(f"generated {len(events):,} events for {report.leads:,} leads into {path}")
        _print_summary(report.summary, f"{chosen.name} demo, {days} days")
        console.print(f"try: leadclock explain {report.example_lead} --db {path}", highlight=False)
        return
    _live_demo(path, days, seed, preset, host, port, around_the_clock=not office_hours)


def _live_demo(path: Path, days: int, seed: int, preset: str, host: str, port: int, *,
               around_the_clock: bool) -> None:
    """History ending now into `path`, then `serve` with the live feeder as a companion."""
    from datetime import UTC

    from leadclock.policy import PolicyError
    from leadclock.service.ingest import ingest_events
    from leadclock.service.runtime import serve
    from leadclock.sim.demo import demo_roster
    from leadclock.sim.live_demo import DemoFeeder, LivePlanner, demo_policy, history_until
    from leadclock.store import Store

    now = datetime.now(UTC)  # the demo's one clock read: the history ends here, live leads start here
    roster = demo_roster()
    try:
        policy = demo_policy(preset, roster, around_the_clock=around_the_clock)
    except PolicyError as error:
        raise fail(f"--preset {preset}: {error}") from None
    try:
        with err_console.status("building the demo history ..."):
            events = history_until(now, days=days, seed=seed, policy=policy, roster=roster)
            report = ingest_events(events, str(path), policy, roster=roster)
    except ValueError as error:  # e.g. a preset without lead sources (base)
        raise fail(f"--preset {preset}: {error}") from None
    _print_summary(report.summary, f"{policy.name} demo, {days} days to now")
    url = f"sqlite:///{path}"
    base = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    store = Store(url)
    try:
        login = _demo_login(store, now, base)
    finally:
        store.close()
    created = sum(1 for e in events if e["type"] == "lead.created")
    planner = LivePlanner(policy, roster, seed=seed, start=now, first_number=10001 + created)
    console.print(f"\n[bold]leadclock demo[/bold] is running at {base}/  (API docs: {base}/docs)", highlight=False)
    for line in login:
        console.print(line, highlight=False)
    console.print(f"new leads arrive every 20-90 s and reps work them live ({'around the clock' if around_the_clock else 'business hours only'}); "
                  "breaches and escalations land in the in-app inbox. Ctrl-C stops.", highlight=False)

    def feed(live, stop):  # type: ignore[no-untyped-def]
        DemoFeeder(live, planner, lambda: datetime.now(UTC)).run(stop)

    serve(url, host, port, companions=[feed])


def _demo_login(store, now: datetime, base: str) -> list[str]:  # type: ignore[no-untyped-def]
    """How to get in: the SDR manager's dashboard sign-in with a fresh password, the same
    manager's API token (their in-app inbox: breaches and escalations addressed to them) and an
    admin token. Printed once; only hashes are kept."""
    import secrets

    from leadclock.api.auth import create_token
    from leadclock.web.accounts import create_user

    password = secrets.token_urlsafe(12)
    create_user(store, login="matsumoto", password=password, role="manager", team="inside-sales",
                display_name="松本恵 (SDR manager)", locale="ja", now=now)
    manager = create_token(store, "manager", team="inside-sales", rep="mgr-matsumoto", name="matsumoto", now=now)
    admin = create_token(store, "admin", name="demo", now=now)
    return [f"dashboard: {base}/ui/  sign in as matsumoto / {password}  (the SDR team's manager)",
            f"API token (the same manager): {manager}",
            f"  their in-app inbox: curl -H 'Authorization: Bearer {manager}' {base}/inbox",
            f"API token (admin): {admin}"]


def explain(
    lead: Annotated[str, typer.Argument(help="Lead id.")],
    db: DbOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="ja or en.")] = "en",
) -> None:
    """Every event and clock of a lead, each deadline in local business time, and why it ended as it did."""
    from leadclock.service.explain import explain_lead

    text = explain_lead(lead, db, lang)
    if text is None:
        raise fail(f"no lead {lead!r} in the store", code=1)
    console.print(text, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    for command in (replay, backtest, ingest, demo, explain):
        app.command(command.__name__)(command)


__all__ = ["json", "register"]
