"""parcelctl collected CODE|NUMBER — you picked it up: it stops waiting (and being polled)."""

from __future__ import annotations

import typer


def main(
    ref: str = typer.Argument(..., metavar="CODE|NUMBER",
                              help="The pickup code, the pickup item's PU-… number, or the "
                              "parcel's tracking number (or its last digits)."),
    json_out: bool = typer.Option(False, "--json", help="Print the collected parcel as JSON."),
) -> None:
    """Mark a pickup item, or a parcel waiting at a station, as collected."""
    from .. import views
    from ..texts.importer import collect
    from .common import language, load_config, open_store
    from .output import info, print_json

    config = load_config()
    with open_store(config) as store, store.transaction():
        row = collect(store, ref)
        data = next(views.iter_json(store.db, [row], language(config)))
    if json_out:
        print_json(data)
        return
    where = f" at {row['station']}" if row["station"] else ""
    info(f"collected: {row['number']}{where}")
