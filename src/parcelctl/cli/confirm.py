"""The question asked before deleting: on a terminal it is asked, ``--yes`` skips it, and
without a terminal (cron, a pipe) nothing is deleted unless ``--yes`` says so."""

from __future__ import annotations

import sys

import typer


def confirm_removal(question: str, *, yes: bool) -> None:
    """Return when the removal may go ahead; raise UsageError when it may not."""
    from ..errors import UsageError

    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        # A script that ran `rm`/`unlink --purge` before confirmations existed must not hang
        # on a question nobody reads, nor delete without being told to.
        raise UsageError(f"{question} needs a yes, and input is not a terminal",
                         hint="run the same command with --yes to remove without asking")
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:
        raise UsageError("cancelled: nothing was removed") from None
    if not agreed:
        raise UsageError("cancelled: nothing was removed")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
