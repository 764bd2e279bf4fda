"""All Rich output goes through here. Remote text is wrapped in ``Text`` objects, so Rich
markup inside a carrier's event text is shown literally, never interpreted."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text


def _strip_terminal_controls() -> None:
    """Rich removes BEL, BS, VT, FF and CR from every Text, but lets ESC and the rest of C0
    and C1 through: a carrier's event text or a label could then recolour or clear the
    screen, or plant an OSC 8 hyperlink. Every Text is cleaned through that one table, so it
    gets the other controls too (shown as U+FFFD). Rich's own styling never passes there.
    tests/reliability/test_hostile_cli.py fails if a Rich release moves the table."""
    from rich import control

    table = getattr(control, "_CONTROL_STRIP_TRANSLATE", None)
    if isinstance(table, dict):
        table.update({code: "\ufffd" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
                      if code not in (0x09, 0x0A) and code not in table})


_strip_terminal_controls()

STATUS_STYLE = {
    "awaiting_shipment": "magenta",
    "info_received": "cyan",
    "in_transit": "blue",
    "out_for_delivery": "bold yellow",
    "ready_for_pickup": "bold green",
    "delivered": "green",
    "exception": "bold red",
    "returned": "red",
    "cancelled": "dim",
    "unknown": "dim",
}

_out: Console | None = None
_err: Console | None = None


def console() -> Console:
    global _out
    if _out is None:
        _out = Console(highlight=False, no_color="NO_COLOR" in os.environ or None,
                       soft_wrap=False)
    return _out


def err_console() -> Console:
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False, no_color="NO_COLOR" in os.environ or None)
    return _err


def is_terminal() -> bool:
    return console().is_terminal


def error(message: str) -> None:
    """The one red line for an expected error (no markup interpretation)."""
    text = " ".join(message.split())  # one line, whatever the remote text contained
    err_console().print(Text(f"error: {text}", style="bold red"), soft_wrap=True)


def warn(message: str) -> None:
    err_console().print(Text(f"warning: {' '.join(message.split())}", style="yellow"),
                        soft_wrap=True)


def info(message: str, style: str = "") -> None:
    console().print(Text(message, style=style), soft_wrap=True)


def info_lines(lines: list[tuple[str, str]]) -> None:
    """``info(text, style)`` for each line, in one print: a digest of 28,000 parcels that
    need attention spent 2.5 of its 3.5 s in a print per line."""
    text = Text()
    for message, style in lines:
        text.append(Text(message, style=style))
        text.append("\n")
    if lines:
        text.right_crop(1)  # print's own end gives the last line its line break
        console().print(text, soft_wrap=True)


def print_json(data: Any) -> None:
    import json  # here: the table views never need it

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def age(iso_time: str | None, now: datetime | None = None) -> str:
    if not iso_time:
        return ""
    try:
        then = datetime.fromisoformat(iso_time)
    except ValueError:
        return ""
    seconds = ((now or datetime.now(UTC)) - then).total_seconds()
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def local_time(iso_time: str | None) -> str:
    """Shown in the user's local zone; JSON keeps the original offset."""
    if not iso_time:
        return ""
    try:
        value = datetime.fromisoformat(iso_time)
    except ValueError:
        return iso_time
    return value.astimezone().strftime("%Y-%m-%d %H:%M %z")


def clip(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def carrier_short(code: str, lang: str) -> str:
    from ..carriers import CARRIER_NAMES

    names = CARRIER_NAMES.get(code)
    if names is None:
        return code
    return names[0] if lang == "zh" else names[1]


def _status_cell(row: Any, lang: str, status_label: Any) -> str:
    label = str(status_label(str(row["status"]), lang))
    if row["pickup_code"] and row["status"] == "ready_for_pickup":
        label = f"{label} {row['pickup_code']}"
    return label


class _Column:
    """One column of the parcel list (a plain class: a dataclass costs a millisecond to
    create at import, on every ``parcelctl list``)."""

    __slots__ = ("header", "justify", "width")

    def __init__(self, header: str, width: int,
                 justify: Literal["left", "right"] = "left") -> None:
        self.header = header
        self.width = width
        self.justify: Literal["left", "right"] = justify


def _parcel_layout(rows: list[Any], lang: str, width: int | None
                   ) -> tuple[list[_Column], list[list[tuple[str, str]]]]:
    """Column widths and cells of the parcel list. Widths are computed here, not left to Rich:
    carrier, number, status and age never shrink; item and last-event text share what is
    left (item goes first). Cells are (text, style): a ``Text`` each costs more than the
    rest of the row when ``list --all`` draws 100,000 of them."""
    from rich.cells import cell_len

    from ..views import status_label

    carriers = [_carrier_cell(r, lang) for r in rows]
    labels = [_status_cell(r, lang, status_label) for r in rows]
    ages = [age(r["last_event_utc"] or r["updated_at"]).removesuffix(" ago") for r in rows]
    fixed = {
        "Carrier": min(8, max([cell_len(c) for c in carriers] + [7])),
        "Number": max([len(str(r["number"])) for r in rows] + [6]),
        "Status": max([cell_len(label) for label in labels] + [6]),
        "Age": max([len(a) for a in ages] + [3]),
    }
    total = width or console().width
    spare = total - sum(fixed.values()) - 2 * 6  # padding between columns
    item_width = min(28, max(0, spare * 2 // 5))
    show_item = item_width >= 6
    event_width = max(8, spare - (item_width + 2 if show_item else 0))
    event_width = min(event_width, 60)
    columns = [_Column("Carrier", fixed["Carrier"]), _Column("Number", fixed["Number"])]
    if show_item:
        columns.append(_Column("Item", item_width))
    columns += [_Column("Status", fixed["Status"]), _Column("Last event", event_width),
                _Column("Age", fixed["Age"], "right")]
    cells: list[list[tuple[str, str]]] = []
    for row, carrier, label, when in zip(rows, carriers, labels, ages, strict=True):
        status = str(row["status"])
        item = row["label"] or row["title"] or row["shop"] or ""
        event = row["last_event_desc"] or ""
        if row["last_error"]:
            event = f"⚠ {row['last_error']}"
        line = [(carrier, ""), (str(row["number"]), "")]
        if show_item:
            line.append((clip(item, 60), ""))
        line += [(label, STATUS_STYLE.get(status, "")), (clip(event, 200), ""), (when, "")]
        cells.append(line)
    return columns, cells


def parcel_table(rows: list[Any], *, lang: str, carrier_label: Any = None,
                 highlight: set[int] | None = None, title: str | None = None,
                 width: int | None = None) -> Table:
    """The parcel list as a Rich table (see :func:`_parcel_layout` for the widths)."""
    from rich import box

    columns, cells = _parcel_layout(rows, lang, width)
    table = Table(title=title, expand=False, show_lines=False, header_style="bold",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for column in columns:
        table.add_column(column.header, no_wrap=True, width=column.width,
                         overflow="ellipsis", justify=column.justify)
    for row, line in zip(rows, cells, strict=True):
        style = "reverse" if highlight and int(row["id"]) in highlight else ""
        table.add_row(*(Text(text, style=cell_style) for text, cell_style in line),
                      style=style)
    return table


def print_parcel_table(rows: list[Any], *, lang: str) -> None:
    """``console().print(parcel_table(rows, lang=lang))``, drawn without Rich's table engine.

    Laying out a 50-row Rich table costs more than the rest of ``parcelctl list``, and
    100,000 rows (``list --all``) took 25 s and 590 MB; this draws the same characters
    (same box, padding, truncation and justification, each cell cut as Rich's ``Text.wrap``
    cuts it) line by line, a thousand lines per print. Anything unusual — a table wider
    than the terminal, a cell with a tab or a line break — goes to the Rich table instead.
    """
    from itertools import islice

    out = console()
    columns, cells = _parcel_layout(rows, lang, None)
    header = _header_line(out, columns)
    if header is None or not _plain_cells(out, columns, cells):
        out.print(parcel_table(rows, lang=lang))
        return
    lines = _fast_lines(columns, cells, header)
    # No cropping: every line is exactly the table's width, which fits (checked above), and
    # Rich's crop pass was a tenth of `list --all`.
    while chunk := list(islice(lines, PRINT_LINES)):
        out.print(_Lines(chunk), crop=False)


#: Lines per ``Console.print`` of the parcel list (see :func:`print_parcel_table`).
PRINT_LINES = 1000


def _plain_cells(out: Console, columns: list[_Column], cells: list[list[tuple[str, str]]]
                 ) -> bool:
    """The table fits the console and every cell is one line that :func:`_cut` can cut."""
    if sum(c.width for c in columns) + 2 * len(columns) > out.width:
        return False
    return not any("\n" in text or "\t" in text for line in cells for text, _ in line)


def _fast_lines(columns: list[_Column], cells: list[list[tuple[str, str]]], header: Text
                ) -> Iterator[Text]:
    """The lines of the ``box.SIMPLE_HEAD`` table, ``pad_edge=False``, collapsed padding:
    each row one ``Text``, its cells cut by :func:`_cut` (Rich's own cutting, as plain
    text), with a span for each styled cell. Cells checked by :func:`_plain_cells`."""
    from functools import lru_cache

    from rich.control import strip_control_codes  # what Text() does to every cell's text
    from rich.text import Span

    # Carriers, statuses and ages repeat from row to row: each is measured once.
    cut_cell = lru_cache(maxsize=4096)(_cut)
    table_width = sum(c.width for c in columns) + 2 * len(columns)
    last = len(columns) - 1
    yield Text(" " * table_width)
    yield header
    yield Text(" " + "─" * (table_width - 2) + " ")
    for line in cells:
        plain = [" "]  # the (blank) left edge
        spans = []
        offset = 1
        for number, (column, (text, style)) in enumerate(zip(columns, line, strict=True)):
            # Only control characters change, and none of them is printable.
            clean = text if text.isprintable() else strip_control_codes(text)
            cut = cut_cell(clean, column.width, column.justify == "right")
            if style:
                spans.append(Span(offset, offset + len(cut), style))
            # The cell's right padding and the blank divider; the right edge after the last.
            plain += [cut, "  " if number < last else " "]
            offset += len(cut) + 2
        yield Text("".join(plain), spans=spans)
    yield Text(" " * table_width)


def _header_line(out: Console, columns: list[_Column]) -> Text | None:
    """The header row, cut by Rich itself (the bold covers the padding too, as in Rich)."""
    pad = Text(" ", style="bold")
    parts: list[Text | str] = [" "]
    for number, column in enumerate(columns):
        wrapped = Text(column.header, style="bold").wrap(
            out, column.width, justify=column.justify, overflow="ellipsis", no_wrap=True)
        if len(wrapped) != 1:
            return None
        parts.append(wrapped[0])
        if number < len(columns) - 1:
            parts += [pad, " "]
    parts.append(" ")
    return Text.assemble(*parts)


def _cut(text: str, width: int, right: bool) -> str:
    """``Text(text).wrap(console, width, justify=..., overflow="ellipsis", no_wrap=True)``
    as plain text, for a cell of one line without tabs: what Rich's ``Lines.justify`` and
    ``Text.truncate`` do, with Rich's own cell functions, without building Texts."""
    from rich.cells import cell_len, set_cell_size

    if right:
        text = text.rstrip()
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - length)
    return pad + text if right else text + pad


class _Lines:
    """Pre-cut lines, printed as they are (no wrapping, no cropping)."""

    def __init__(self, lines: list[Text]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line.render(console)
            yield Segment.line()


def _carrier_cell(row: Any, lang: str) -> str:
    if row["carrier"]:
        return carrier_short(str(row["carrier"]), lang)
    if row["kind"] == "order":
        return "订单" if lang == "zh" else "order"
    return "?"


def timeline(parcel: dict[str, Any], events: list[dict[str, Any]], *, carrier_name: str) -> None:
    out = console()
    header = Text()
    header.append(f"{parcel['tracking_number'] or (parcel.get('order') or {}).get('reference')}",
                  style="bold")
    if carrier_name:
        header.append(f"  {carrier_name}")
    header.append("  ")
    header.append(parcel["status_label"], style=STATUS_STYLE.get(parcel["status"], ""))
    out.print(header)
    details = []
    if parcel.get("title"):
        details.append(parcel["title"])
    if parcel.get("pickup_code"):
        details.append(f"取件码 pickup code: {parcel['pickup_code']}")
    order = parcel.get("order")
    if order and order.get("shop"):
        details.append(f"shop: {order['shop']}")
    if order and order.get("promised_ship_at") and parcel["status"] == "awaiting_shipment":
        details.append(f"ships by: {local_time(order['promised_ship_at'])}")
    for src in parcel.get("sources", []):
        if src["provider"] != "manual":
            details.append(f"from {src['provider']}:{src['account']} order {src['order_id']}")
    if parcel.get("last_error"):
        details.append(f"⚠ {parcel['last_error']}")
    for line in details:
        out.print(Text(f"  {line}"), soft_wrap=True)
    if not events:
        out.print(Text("  no events yet", style="dim"))
        return
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column(no_wrap=True, style="dim")
    table.add_column()
    table.add_column(style="dim")
    for event in events:
        table.add_row(Text(local_time(event["time"])), Text(event["description"]),
                      Text(event.get("location") or ""))
    out.print(table)


def carriers_table(rows: list[tuple[str, str, str]]) -> Table:
    """``parcelctl carriers``: code, Chinese name, English name."""
    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("Code", "中文", "English"):
        table.add_column(column, no_wrap=True)
    for code, zh, en in rows:
        table.add_row(Text(code), Text(zh), Text(en))
    return table


def providers_table(rows: list[dict[str, Any]]) -> Table:
    """``parcelctl providers``."""
    table = Table(header_style="bold")
    for column in ("Provider", "Kind", "Configured", "What it does"):
        table.add_column(column)
    for row in rows:
        configured = Text("yes", style="green") if row["configured"] else Text(
            "missing: " + ", ".join(row["missing"]), style="yellow")
        name = row["name"] + (" (default)" if row["default_tracking"] else "")
        table.add_row(Text(name), Text(row["kind"]), configured, Text(row["description"]))
    return table


def accounts_table(rows: list[dict[str, Any]]) -> Table:
    """``parcelctl accounts``."""
    table = Table(header_style="bold")
    for column in ("Account", "Health", "Authorization until", "Last sync"):
        table.add_column(column)
    for row in rows:
        health = Text(row["health"], style="green" if row["health"] == "ok" else "bold red")
        if row["health"] == "reauth":
            health.append(f"  run: parcelctl link {row['provider']}")
        table.add_row(Text(f"{row['provider']}:{row['account']}"), health,
                      Text(local_time(row["refresh_expires_at"])),
                      Text(age(row["last_sync_at"]) or "never"))
    return table
