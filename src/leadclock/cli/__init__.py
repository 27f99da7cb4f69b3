"""The `leadclock` command line: one Typer app with a sub-app per domain."""

from leadclock.cli.main import app

__all__ = ["app"]
