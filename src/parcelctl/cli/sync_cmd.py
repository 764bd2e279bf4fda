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
    from ..lock import SyncLock
    from ..providers import registry
    from ..sync import Syncer
    from .common import load_config, open_store, run
    from .output import console, is_terminal

    for name in provider or []:
        registry.load(name)  # unknown provider -> one-line error before anything
    config = load_config()
    config.paths.ensure()
    with SyncLock(config.paths.lock_file, wait=not no_wait), open_store(config) as store:
        from ..logfile import attach_log_file

        attach_log_file(config.paths.log_file)
        progress = None
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

            bar.start()
        from ..notify import Recorder

        hook = Recorder(config, store)
        syncer = Syncer(config, store, progress=progress, on_changes=hook)
        run_id = store.start_run()
        try:
            summary = run(syncer.run(providers=provider or None, force=force))
        except Exception as exc:
            # A provider's failure is a unit's (boundary); this is parcelctl's or the
            # machine's. The run's row still says it ended.
            import contextlib

            with contextlib.suppress(Exception):
                store.finish_run(run_id, 1, {"error": type(exc).__name__})
            raise
        except KeyboardInterrupt:
            if live is not None:
                live.stop()
            from ..errors import ExitCode
            from .common import end_interrupted_line
            from .output import error

            end_interrupted_line()
            error(interrupted(syncer.started))
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        finally:
            if live is not None:
                live.stop()
        store.finish_run(run_id, summary.exit_code, summary.to_json())
        from ..notify import after_sync

        after_sync(config, store, summary, recorded=hook.ok,
                   old_news=hook.notifier.old_news)
        from .sync_report import report

        report(config, store, summary, json_out=json_out, quiet=quiet)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


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
