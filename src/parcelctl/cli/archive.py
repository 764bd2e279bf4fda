"""parcelctl archive / rm."""

from __future__ import annotations

import typer

CARRIER_HELP = "Which one, when the number is stored under several carriers."


def archive(
    number: str = typer.Argument(..., help="Tracking number or order reference."),
    undo: bool = typer.Option(False, "--undo", help="Bring an archived parcel back."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help=CARRIER_HELP),
) -> None:
    """Hide a parcel from the default list (it is no longer polled)."""
    from ..app.archive import archive as archive_parcel
    from .output import info

    archive_parcel(number, carrier, undo=undo)
    info(f"{number}: {'unarchived' if undo else 'archived'}")


def remove(
    number: str = typer.Argument(..., help="Tracking number or order reference."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help=CARRIER_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking (needed "
                             "when input is not a terminal)."),
) -> None:
    """Delete a parcel and its events (an order's parcel comes back on the next sync;
    archive it instead)."""
    from ..app.archive import remove as remove_parcel
    from .confirm import confirm_removal, plural
    from .output import info

    def confirm(events: int) -> None:
        confirm_removal(f"Remove {number} and its {plural(events, 'event')}?", yes=yes)

    events = remove_parcel(number, carrier, confirm)
    info(f"{number}: removed 1 parcel and {plural(events, 'event')}")
