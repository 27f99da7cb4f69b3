"""`leadclock import hubspot|salesforce FILE`: CRM exports into the store (F28)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from leadclock.cli.common import console, err_console, fail, resolve_policy

app = typer.Typer(help="Import CRM exports (HubSpot contacts, Salesforce leads).", no_args_is_help=True)


def _run(kind: str, file: Path, mapping: Path | None, db: str | None, policy: Path | None, preset: str | None) -> None:
    from leadclock.service.csv_import import load_mapping, read_csv, rows_to_events
    from leadclock.service.ingest import ingest_into, policy_for
    from leadclock.store import Store, database_url

    if not file.exists():
        raise fail(f"no such file {file}")
    try:
        chosen_mapping = load_mapping(mapping)
        headers, rows = read_csv(file)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    store = Store(database_url(db))
    try:
        store.upgrade()
        try:
            chosen = resolve_policy(policy, preset) if (policy or preset) else policy_for(store, None)
        except ValueError as exc:
            raise fail(str(exc)) from None
        events, errors = [], []
        with Progress(console=err_console, transient=True, disable=len(rows) < 5000) as bar:
            task = bar.add_task(f"reading {file.name}", total=len(rows))
            try:
                for _row, item in rows_to_events(kind, rows, headers, chosen_mapping,
                                                   chosen.org.timezone, set(chosen.sources)):
                    if isinstance(item, list):
                        events.extend(item)
                    else:
                        errors.append(item)
                    bar.advance(task)
            except ValueError as exc:
                raise fail(f"{file}: {exc}") from None
        store.save_policy(chosen, chosen.model_dump_json())
        report = ingest_into(store, events, [], chosen, as_of=None, actor=f"{kind} import")
    finally:
        store.close()
    console.print(f"rows {len(rows):,}  imported {len(rows) - len(errors):,}  rejected {len(errors):,}  "
                  f"events accepted {report.accepted:,}  duplicate {report.duplicates:,}", highlight=False)
    for error in errors[:50]:
        err_console.print(f"row {error.line}: {error.field}: {error.reason}", highlight=False, markup=False, soft_wrap=True)
    if errors:
        raise typer.Exit(1)


MappingOpt = Annotated[Path | None, typer.Option("--mapping", help="YAML: columns, sources, default_source, timezone.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy YAML file (default: the store's).")]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="A preset name instead of a file.")]


@app.command("hubspot")
def hubspot(file: Path, mapping: MappingOpt = None, db: DbOpt = None, policy: PolicyOpt = None, preset: PresetOpt = None) -> None:
    """A HubSpot contacts export (English or Japanese headers)."""
    _run("hubspot", file, mapping, db, policy, preset)


@app.command("salesforce")
def salesforce(file: Path, mapping: MappingOpt = None, db: DbOpt = None, policy: PolicyOpt = None, preset: PresetOpt = None) -> None:
    """A Salesforce leads export (English or Japanese headers)."""
    _run("salesforce", file, mapping, db, policy, preset)
