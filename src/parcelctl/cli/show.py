"""parcelctl show NUMBER — one parcel with its full timeline."""

from __future__ import annotations

import typer


def main(
    number: str = typer.Argument(..., help="Tracking number, order reference or order id."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help="Which one, when the "
                                       "number is stored under several carriers."),
    json_out: bool = typer.Option(False, "--json", help="JSON object with 'events'."),
) -> None:
    """Show one parcel and its timeline, newest event first."""
    from .. import views
    from ..errors import UsageError
    from .common import language, load_config, open_store, store_exists
    from .output import print_json, timeline
    from .table import carrier_code, carrier_names

    config = load_config()
    if not store_exists(config):
        raise UsageError(f"no parcel {number!r}", hint="add it with 'parcelctl add NUMBER'")
    lang = language(config)
    with open_store(config, readonly=True) as store:
        rows = views.find_parcel(store.db, number)
        if carrier is not None:  # as archive and rm take it
            rows = [row for row in rows if row["carrier"] == carrier.strip().lower()]
        if not rows:
            raise UsageError(f"no parcel {number[:60]!r}",
                             hint="see 'parcelctl list --all' for what is tracked")
        parcels = []
        for row in rows:
            data = next(views.iter_json(store.db, [row], lang))
            data["events"] = views.events_json(store.db, int(row["id"]))
            parcels.append(data)
    if json_out:
        print_json(parcels[0] if len(parcels) == 1 else parcels)
        return
    for data in parcels:
        code = carrier_code({"carrier": data["carrier"], "kind": data["kind"],
                             "tracking_provider": data["tracking_provider"]})
        timeline(data, data["events"], lang=lang,
                 carrier_name=carrier_names(code, lang)[0] if code else "")
