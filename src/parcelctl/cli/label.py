"""parcelctl label NUMBER TEXT / --clear — a name of your own for a parcel."""

from __future__ import annotations

import typer

#: Longer labels are refused: a label is a name for a row, not a note.
MAX_LABEL = 100


def main(
    number: str = typer.Argument(..., help="Tracking number, order reference or order id."),
    text: str | None = typer.Argument(None, help="The label, e.g. 'mum's birthday'. It "
                                      "shows in the Item column of list and is searched "
                                      "by 'list QUERY'."),
    clear: bool = typer.Option(False, "--clear", help="Remove the label."),
    carrier: str | None = typer.Option(None, "--carrier", "-c", help="Which one, when the "
                                       "number is stored under several carriers."),
) -> None:
    """Set or clear a parcel's label.

    Examples:

      parcelctl label YT6247854916511 "mum's birthday"

      parcelctl label YT6247854916511 --clear
    """
    from ..app.archive import set_label
    from ..errors import UsageError
    from .output import info

    label = " ".join((text or "").split())
    if clear and label:
        raise UsageError("give a label or --clear, not both")
    if not clear and not label:
        raise UsageError("no label given", hint=f"parcelctl label {number[:40]} TEXT, or "
                         "--clear to remove it")
    if len(label) > MAX_LABEL:
        raise UsageError(f"the label is {len(label)} characters long",
                         hint=f"use at most {MAX_LABEL}")
    set_label(number, carrier, label)
    info(f"{number}: label removed" if clear else f"{number}: labelled '{label}'")
