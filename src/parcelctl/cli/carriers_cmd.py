"""parcelctl carriers [QUERY] — the carrier codes ``--carrier`` accepts, with their names."""

from __future__ import annotations

import typer


def main(
    query: str = typer.Argument("", help="Part of a code or of a Chinese or English name, "
                                "e.g. 圆通, yto, post."),
    json_out: bool = typer.Option(False, "--json", help="Print the carriers as JSON."),
) -> None:
    """List the carrier codes with their Chinese and English names.

    Examples:

      parcelctl carriers

      parcelctl carriers 顺丰
    """
    from .. import carriers
    from ..errors import UsageError
    from .output import carriers_table, console, print_json

    found = carriers.search(query)
    if json_out:
        print_json([{"code": code, "name_zh": zh, "name_en": en} for code, zh, en in found])
        return
    if not found:
        raise UsageError(f"no carrier matches '{query[:40]}'",
                         hint="run 'parcelctl carriers' to see them all")
    console().print(carriers_table(found))
