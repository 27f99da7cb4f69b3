"""`leadclock user create | list | disable | enable | password`: people who sign in to the dashboard.

The password is read from standard input (`--password-stdin`, first line) or asked for at a
prompt (typed twice, not echoed); it never appears on the command line, where `ps` and shell
history would keep it. Only an argon2 hash is stored.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from leadclock.cli.common import EXIT_BAD_INPUT
from leadclock.cli.service_cmd import DbOption
from leadclock.store import Store, database_url

app = typer.Typer(help="Dashboard users (sign-in with a password; roles as for API tokens).", no_args_is_help=True)



def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first: str = typer.prompt("password", hide_input=True)
    again: str = typer.prompt("password (again)", hide_input=True)
    if first != again:
        typer.echo("error: --password: the two passwords differ", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    return first


@app.command("create")
def create(
    login: Annotated[str, typer.Option("--login", help="what they type to sign in")],
    role: Annotated[str, typer.Option(help="admin, ops, manager or rep")],
    db: DbOption = None,
    team: Annotated[str | None, typer.Option(help="managers: the team whose numbers they see")] = None,
    rep: Annotated[str | None, typer.Option(help="reps: their rep id (as in lead.assigned events)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="ja or en: the language of their pages")] = "ja",
    name: Annotated[str | None, typer.Option("--name", help="display name (default: the login)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Create a dashboard user."""
    from leadclock.web.accounts import AccountError, check_user_fields, create_user

    password = _password(password_stdin)
    try:
        # Checked before the database is opened: a typo costs nothing.
        check_user_fields(login, password, role, team, rep, lang)
        with Store(database_url(db)) as store:
            store.upgrade()
            user = create_user(store, login=login, password=password, role=role, team=team, rep=rep,
                               locale=lang, display_name=name, now=datetime.now(UTC))
    except AccountError as error:
        typer.echo(f"error: --{error.field}: {error.reason}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    scope = f" team={user.team}" if user.team else f" rep={user.rep}" if user.rep else ""
    typer.echo(f"created user {user.login} ({user.role}{scope}, {user.locale})")


@app.command("list")
def list_(db: DbOption = None) -> None:
    """Every dashboard user (never their password hashes)."""
    from leadclock.web.accounts import list_users

    with Store(database_url(db)) as store:
        store.upgrade()
        users = list_users(store)
    if not users:
        typer.echo("no users")
        return
    typer.echo(f"{'login':<20} {'name':<20} {'role':<8} {'team':<14} {'rep':<16} lang  state")
    for user in users:
        typer.echo(f"{user.login:<20} {user.display_name:<20} {user.role:<8} {user.team or '-':<14} "
                   f"{user.rep or '-':<16} {user.locale:<5} {'disabled' if user.disabled else 'active'}")


def _set_disabled(login: str, db: str | None, disabled: bool) -> None:
    from leadclock.web.accounts import set_disabled

    with Store(database_url(db)) as store:
        store.upgrade()
        if not set_disabled(store, login, disabled):
            typer.echo(f"error: --login: no user {login!r}", err=True)
            raise typer.Exit(1)
    typer.echo(f"{'disabled' if disabled else 'enabled'} {login}" + (" (signed out everywhere)" if disabled else ""))


@app.command("disable")
def disable(login: Annotated[str, typer.Option("--login")], db: DbOption = None) -> None:
    """Stop a user signing in, and end their open sessions."""
    _set_disabled(login, db, True)


@app.command("enable")
def enable(login: Annotated[str, typer.Option("--login")], db: DbOption = None) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(login, db, False)


@app.command("password")
def password(
    login: Annotated[str, typer.Option("--login")],
    db: DbOption = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Set a new password (ends the user's open sessions)."""
    from leadclock.web.accounts import AccountError, set_password

    secret = _password(password_stdin)
    try:
        with Store(database_url(db)) as store:
            store.upgrade()
            found = set_password(store, login, secret)
    except AccountError as error:
        typer.echo(f"error: --{error.field}: {error.reason}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if not found:
        typer.echo(f"error: --login: no user {login!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password changed for {login}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="user")
