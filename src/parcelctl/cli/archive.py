"""parcelctl archive / rm."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..store import Store


CARRIER_HELP = "Which one, when the number is stored under several carriers."


def _resolve(number: str, carrier: str | None = None) -> tuple[Store, int]:
    from .. import views
    from ..errors import UsageError
    from .common import load_config, open_store, store_exists

    config = load_config()
    if not store_exists(config):
        raise UsageError(f"no parcel {number[:60]!r}")
    store = open_store(config)
    rows = views.find_parcel(store.db, number)
    if carrier is not None:
        rows = [row for row in rows if row["carrier"] == carrier.strip().lower()]
    if not rows:
        store.close()
        raise UsageError(f"no parcel {number[:60]!r}"
                         + (f" with carrier {carrier[:30]!r}" if carrier is not None else ""),
                         hint="see 'parcelctl list --all' for what is tracked")
    if len(rows) > 1:
        store.close()
        codes = ", ".join(str(row["carrier"]) or "''" for row in rows)
        raise UsageError(f"{number} matches {len(rows)} parcels (carriers: {codes})",
                         hint="name one: --carrier CODE ('' for the one without a carrier)")
    return store, int(rows[0]["id"])


def archive(
    number: str = typer.Argument(..., help="Tracking number or order reference."),
    undo: bool = typer.Option(False, "--undo", help="Bring an archived parcel back."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help=CARRIER_HELP),
) -> None:
    """Hide a parcel from the default list (it is no longer polled)."""
    from .output import info

    store, pid = _resolve(number, carrier)
    with store, store.transaction():
        store.archive(pid, not undo)
    info(f"{number}: {'unarchived' if undo else 'archived'}")


def remove(
    number: str = typer.Argument(..., help="Tracking number or order reference."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help=CARRIER_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking (needed "
                             "when input is not a terminal)."),
) -> None:
    """Delete a parcel and its events (an order's parcel comes back on the next sync;
    archive it instead)."""
    from .confirm import confirm_removal, plural
    from .output import info

    store, pid = _resolve(number, carrier)
    with store:
        events = int(store.db.execute("SELECT count(*) FROM events WHERE parcel_id=?",
                                      (pid,)).fetchone()[0])
        confirm_removal(f"Remove {number} and its {plural(events, 'event')}?", yes=yes)
        with store.transaction():
            store.delete(pid)
    info(f"{number}: removed 1 parcel and {plural(events, 'event')}")
