"""Helpers shared by the CLI commands: loading a policy from a file or a preset, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from leadclock.policy import Policy, PolicyError, load_policy, load_preset

# Piped or captured output gets a wide fixed width so tables are not cut to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_BAD_INPUT = 2  # a policy, event file or argument that cannot be used


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def print_problems(error: PolicyError) -> None:
    for problem in error.problems:
        err_console.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    count = len(error.problems)
    err_console.print(f"{count} problem{'s' if count != 1 else ''}", style="red")


def resolve_policy(path: Path | None, preset: str | None) -> Policy:
    """Load `path` or `preset` (exactly one); print every problem and exit 2 when unusable."""
    if (path is None) == (preset is None):
        raise fail("give a policy file or --preset NAME (one of them)")
    try:
        return load_policy(path) if path is not None else load_preset(preset or "")
    except PolicyError as error:
        print_problems(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
