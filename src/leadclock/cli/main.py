"""Entry point: `leadclock <command>`."""

from __future__ import annotations

import typer

from leadclock.cli import (
    chart_cmd,
    engine_cmd,
    import_cmd,
    policy_cmd,
    report_cmd,
    service_cmd,
    user_cmd,
)

app = typer.Typer(
    help="leadclock: lead-handling SLAs between marketing, SDRs and AEs, in business time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(import_cmd.app, name="import")
app.command("doc")(policy_cmd.doc)
engine_cmd.register(app)
service_cmd.register(app)
report_cmd.register(app)
user_cmd.register(app)
chart_cmd.register(app)
