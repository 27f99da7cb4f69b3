"""`leadclock serve | worker | db upgrade | token create | list | revoke`: running the live service."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from leadclock.store import Store, database_url

db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (only a hash is stored; the token is printed once).", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLite path or database URL (default: LEADCLOCK_DATABASE_URL, else leadclock.db)")]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    api_only: Annotated[bool, typer.Option("--api-only", help="no worker or sender in this process (scale-out; run `leadclock worker` separately)")] = False,
) -> None:
    """The API, the worker and the sender in one process (or the API only)."""
    from leadclock.service.runtime import serve as run

    _logging()
    run(database_url(db), host, port, api_only=api_only)


def worker(
    db: DbOption = None,
    no_sender: Annotated[bool, typer.Option("--no-sender", help="fire deadlines only; deliver notifications elsewhere")] = False,
) -> None:
    """Fire deadlines, escalations and reports on time, and deliver notifications, until stopped."""
    from leadclock.service.runtime import run_worker

    _logging()
    run_worker(database_url(db), sender=not no_sender)


@db_app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Create or migrate the schema to the latest version (safe to run while others do)."""
    with Store(database_url(db)) as store:
        before = store.revision()
        store.upgrade()
        typer.echo(f"schema: {before or 'empty'} -> {store.revision()}")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, ops, manager, rep or integration")],
    db: DbOption = None,
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
    team: Annotated[str | None, typer.Option(help="manager tokens: the team they see")] = None,
    rep: Annotated[str | None, typer.Option(help="rep tokens: the rep they are")] = None,
) -> None:
    """Create an API token and print it (once)."""
    from leadclock.api.auth import create_token

    with Store(database_url(db)) as store:
        store.upgrade()
        try:
            token = create_token(store, role, team=team, rep=rep, name=name)
        except ValueError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(token)


@token_app.command("list")
def token_list(db: DbOption = None) -> None:
    """The tokens: id, role, scope, name, created, last used, revoked (never the secret)."""
    from leadclock.api.auth import list_tokens

    with Store(database_url(db)) as store:
        store.upgrade()
        for token in list_tokens(store):
            scope = token.team or token.rep or "-"
            used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            state = f"revoked {token.revoked_at.isoformat(timespec='seconds')}" if token.revoked_at else "active"
            typer.echo(f"{token.id}\t{token.role}\t{scope}\t{token.name or '-'}\t"
                       f"created {token.created_at.isoformat(timespec='seconds')}\tused {used}\t{state}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="the token's id (the number after lc_; see `token list`)")],
    db: DbOption = None,
) -> None:
    """Revoke a token. Running API processes refuse it within `token_cache_seconds` (default 5 s)."""
    from leadclock.api.auth import revoke_token

    with Store(database_url(db)) as store:
        store.upgrade()
        if not revoke_token(store, token_id):
            typer.echo(f"error: no active token with id {token_id}", err=True)
            raise typer.Exit(2)
        typer.echo(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
