"""parcelctl sync — import orders and refresh due parcels (the cron job)."""

from __future__ import annotations

from typing import Any

import typer


def main(
    provider: list[str] = typer.Option(None, "--provider", "-p",
                                       help="Only this provider (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Refresh every active parcel now "
                               "(still never sooner than a provider allows)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Exit 5 if another sync runs."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only attention items "
                               "(for cron: silence means all is well)."),
) -> None:
    """Import orders from linked accounts and refresh the parcels that are due."""
    from ..app.sync import SyncInterrupted, run_sync
    from ..providers import registry
    from .common import load_config
    from .output import console, is_terminal

    for name in provider or []:
        registry.load(name)  # unknown provider -> one-line error before anything
    config = load_config()
    progress = None
    on_start = None
    live = None
    if is_terminal() and not quiet and not json_out:
        from rich.progress import Progress, TaskID

        bar = Progress(console=console(), transient=True)
        live = bar
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        on_start = bar.start
    try:
        done = run_sync(config, providers=provider or None, force=force, wait=not no_wait,
                        attention=not json_out, progress=progress, on_start=on_start)
    except SyncInterrupted as stop:
        if live is not None:
            live.stop()
        from ..errors import ExitCode
        from .common import end_interrupted_line
        from .output import error

        end_interrupted_line()
        error(interrupted(stop.started))
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    finally:
        if live is not None:
            live.stop()
    from .sync_report import report

    report(done, json_out=json_out, quiet=quiet)
    if done.summary.exit_code:
        raise typer.Exit(done.summary.exit_code)


def interrupted(units: list[Any]) -> str:
    """What a Ctrl-C kept: tracking answers are saved as they come, an account's import
    is all or nothing (sync.py)."""
    tracking = [u for u in units if u.kind == "tracking"]
    if tracking:
        answered = sum(u.answered for u in tracking)
        total = sum(u.items for u in tracking)
        text = f"interrupted: {answered} of {total} answers saved"
        if len(tracking) > 1:
            text += " (" + ", ".join(f"{u.name} {u.answered} of {u.items}"
                                     for u in tracking) + ")"
        return text + "; the next sync asks about the rest"
    if units:
        return ("interrupted during the order import: an import is saved whole or not at "
                "all, so the next sync imports those orders again")
    return "interrupted: nothing was changed"
