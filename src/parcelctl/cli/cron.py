"""parcelctl cron install|remove|show (see the watch/cron issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage the crontab line that runs 'parcelctl sync --quiet'.",
                  no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Not available yet."""
    from ..errors import UsageError

    raise UsageError("'cron' is not available in this version yet")
