"""All Rich output goes through here. Remote text is wrapped in ``Text`` objects, so Rich
markup inside a carrier's event text is shown literally, never interpreted."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

if TYPE_CHECKING:  # list draws its own table: Rich's is imported only where it is used
    from rich.table import Table


def _strip_terminal_controls() -> None:
    """Rich removes BEL, BS, VT, FF and CR from every Text, but lets ESC and the rest of C0
    and C1 through: a carrier's event text or a label could then recolour or clear the
    screen, or plant an OSC 8 hyperlink. Every Text is cleaned through that one table, so it
    gets the other controls too (shown as U+FFFD), and loses bidi overrides and zero-width
    characters (``textsafe``, the sanitiser of every sink). Rich's own styling never passes
    there. tests/reliability/test_hostile_cli.py fails if a Rich release moves the table.

    A patch of Rich's private table, kept for safety rather than speed (it costs one dict
    update at import). Drop it when Rich strips every C0/C1 control from Text itself (Rich
    15.0 strips only BEL, BS, VT, FF and CR)."""
    from rich import control

    from ..textsafe import rich_table

    table = getattr(control, "_CONTROL_STRIP_TRANSLATE", None)
    if isinstance(table, dict):
        table.update({code: value for code, value in rich_table().items()
                      if code not in table})


_strip_terminal_controls()


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

    from ..textsafe import json_text

    sys.stdout.write(json_text(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")


def choose_format(fmt: str | None, json_out: bool, formats: tuple[str, ...]) -> str:
    """``--format`` (one of ``formats``), else ``--json``, else ``formats[0]`` (the view
    for people) on a terminal and TSV in a pipe, as gh does."""
    from ..errors import UsageError

    if fmt is None:
        return "json" if json_out else (formats[0] if is_terminal() else "tsv")
    chosen = fmt.strip().lower()
    if chosen not in formats:
        raise UsageError(f"unknown format '{fmt[:20]}'", hint=f"use one of: {', '.join(formats)}")
    if json_out and chosen != "json":
        raise UsageError("--json and --format disagree", hint="use one of them")
    return chosen


def field(value: Any) -> str:
    """One TSV/CSV field: whitespace runs (tabs and line breaks too) made one space, and
    terminal controls shown as U+FFFD as in the table (a pipe often ends in a terminal)."""
    from rich.control import strip_control_codes

    text = " ".join(str(value or "").split())
    return text if text.isprintable() else strip_control_codes(text)


def write_tsv(rows: Iterable[Sequence[str]]) -> None:
    """Tab-separated rows, no header, every character (callers make each value a
    :func:`field`)."""
    out = sys.stdout
    out.writelines("\t".join(row) + "\n" for row in rows)
    out.flush()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.flush()


def now() -> datetime:
    """The clock every view reads (one function: the golden snapshots fix it)."""
    return datetime.now(UTC)


def age(iso_time: str | None, moment: datetime | None = None) -> str:
    """Compact age of a stored time: ``now``, ``5m``, ``16h``, ``2d`` (see cli/table.py)."""
    from .table import compact_age

    return compact_age(iso_time, moment or now())


def local_time(iso_time: str | None, *, zone: bool = True) -> str:
    """Shown in the user's local zone; JSON keeps the original offset. ``zone=False`` where
    the zone is said once for the whole screen (:func:`zone_name`)."""
    if not iso_time:
        return ""
    try:
        value = datetime.fromisoformat(iso_time)
    except ValueError:
        return iso_time
    return value.astimezone().strftime("%Y-%m-%d %H:%M %z" if zone else "%Y-%m-%d %H:%M")


def zone_name() -> str:
    """The local zone as ``+0800``: said once under a screen of local times."""
    return now().astimezone().strftime("%z")


def clip(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def parcel_table(rows: list[Any], *, lang: str, carrier_label: Any = None,
                 highlight: set[int] | None = None, title: str | None = None,
                 width: int | None = None, max_rows: int | None = None) -> _Lines:
    """The parcel list as a renderable (cli/table.py lays it out); ``max_rows``: at most
    that many rows, then a line saying how many more."""
    from .table import ParcelTable

    table = ParcelTable(rows, lang=lang, width=width or console().width, now=now(),
                        highlight=highlight)
    lines: list[Any] = []
    if title:
        lines.append(Text(title, style="bold"))
    lines += table.lines(max_rows)
    if max_rows is not None and len(rows) > max_rows:
        lines.append(Text(f"  {more_rows(len(rows) - max_rows, lang)}", style="dim"))
    return _Lines(lines)


def more_rows(count: int, lang: str) -> str:
    return f"还有 {count} 件" if lang == "zh" else f"{count} more"


def print_parcel_table(rows: list[Any], *, lang: str, width: int | None = None) -> None:
    """The parcel table, a thousand lines per print: output starts at once, and 100,000
    rows (``list --all``) never sit in memory as one renderable."""
    from itertools import islice

    from .table import ParcelTable

    out = console()
    table = ParcelTable(rows, lang=lang, width=width or out.width, now=now())
    lines = table.lines()
    # No cropping: every line is exactly the table's width, and it fits unless even the
    # number and status do not (then the terminal wraps, which loses nothing).
    while chunk := list(islice(lines, PRINT_LINES)):
        out.print(_Lines(chunk), crop=False)


#: Lines per ``Console.print`` of the parcel list (see :func:`print_parcel_table`).
PRINT_LINES = 1000


class _Lines:
    """Pre-cut lines, printed as they are (no wrapping, no cropping): ``Text``s, or
    (text, style) pieces (``table.Pieces``) whose text is already clean and cut."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        styles: dict[str, Any] = {"": None}
        for line in self.lines:
            if isinstance(line, Text):
                yield from line.render(console)
            else:
                for text, name in line:
                    style = styles.get(name, False)
                    if style is False:
                        style = styles[name] = console.get_style(name)
                    yield Segment(text, style)
            yield Segment.line()


#: key -> (Chinese, English) of the words around a timeline.
_TIMELINE_WORDS = {
    "pickup": ("取件码", "pickup code"),
    "label": ("标签", "label"),
    "shop": ("店铺", "shop"),
    "ships_by": ("承诺发货", "ships by"),
    "from": ("来自", "from"),
    "order": ("订单", "order"),
    "none": ("暂无物流信息", "no events yet"),
    "zone": ("时间为本地时间", "local times"),
    "archived": ("已归档", "archived"),
    "station": ("驿站", "station"),
    "deadline": ("取件截止", "collect by"),
}


def timeline(parcel: dict[str, Any], events: list[dict[str, Any]], *, carrier_name: str,
             lang: str = "zh") -> None:
    """``show``: everything about one parcel, wrapped to the terminal, never cut. Not on a
    terminal every line is whole, however long (for grep and less)."""
    from .table import STATUS_STYLE

    def word(key: str) -> str:
        return _TIMELINE_WORDS[key][0 if lang == "zh" else 1]

    header = Text()
    reference = (parcel["tracking_number"] or (parcel.get("order") or {}).get("reference")
                 or (parcel.get("pickup") or {}).get("reference"))
    header.append(f"{reference}", style="bold")
    if carrier_name:
        header.append(f"  {carrier_name}")
    header.append("  ")
    header.append(parcel["status_label"], style=STATUS_STYLE.get(parcel["status"], ""))
    if parcel.get("archived"):
        header.append(f"  ({word('archived')})", style="dim")
    details = []
    if parcel.get("title"):
        details.append(parcel["title"])
    if parcel.get("label") and parcel.get("label") != parcel.get("title"):
        details.append(f"{word('label')}: {parcel['label']}")
    if parcel.get("pickup_code"):
        details.append(f"{word('pickup')}: {parcel['pickup_code']}")
    if parcel.get("station"):
        details.append(f"{word('station')}: {parcel['station']}")
    if parcel.get("pickup_deadline"):
        details.append(f"{word('deadline')}: {local_time(parcel['pickup_deadline'])}")
    order = parcel.get("order")
    if order and order.get("shop"):
        details.append(f"{word('shop')}: {order['shop']}")
    if order and order.get("promised_ship_at") and parcel["status"] == "awaiting_shipment":
        details.append(f"{word('ships_by')}: {local_time(order['promised_ship_at'])}")
    for src in parcel.get("sources", []):
        if src["provider"] != "manual":
            details.append(f"{word('from')} {src['provider']}:{src['account']} "
                           f"{word('order')} {src['order_id']}")
    lines: list[tuple[str, Text]] = [("", header)]
    lines += [("  ", Text(" ".join(str(line).split()))) for line in details]
    if parcel.get("last_error"):
        lines.append(("  ", Text(f"⚠ {' '.join(str(parcel['last_error']).split())}",
                                 style="yellow")))
    if not events:
        lines.append(("  ", Text(word("none"), style="dim")))
    else:
        lines.append(("  ", Text(f"{word('zone')} {zone_name()}", style="dim")))
    for event in events:
        text = Text(" ".join(str(event["description"] or "").split()))
        if event.get("location"):
            text.append(f"  {' '.join(str(event['location']).split())}", style="dim")
        stamp = local_time(event["time"], zone=False)
        lines.append((f"  {stamp:<16}  ", text))
    print_hanging(lines)


def print_hanging(lines: list[tuple[str, Text]], prefix_style: str = "dim") -> None:
    """Each (prefix, text) as lines: on a terminal the text wraps under itself after its
    prefix (a hanging indent); elsewhere each is one line, however long."""
    from rich.cells import cell_len

    out = console()
    result = Text()
    for prefix, text in lines:
        indent = cell_len(prefix)
        width = out.width - indent
        if not out.is_terminal or width < 10:
            wrapped = [text]
        else:
            wrapped = list(text.wrap(out, width, overflow="fold"))
        for number, part in enumerate(wrapped):
            result.append(prefix if number == 0 else " " * indent,
                          style=prefix_style if number == 0 and prefix.strip() else "")
            part.rstrip()
            result.append(part)
            result.append("\n")
    result.right_crop(1)
    out.print(result, soft_wrap=True)


def carriers_table(rows: list[tuple[str, str, str]]) -> Table:
    """``parcelctl carriers``: code, Chinese name, English name."""
    from rich.table import Table

    table = Table(header_style="bold", box=None, padding=(0, 2, 0, 0))
    for column in ("Code", "中文", "English"):
        table.add_column(column, no_wrap=True)
    for code, zh, en in rows:
        table.add_row(Text(code), Text(zh), Text(en))
    return table


def providers_table(rows: list[dict[str, Any]]) -> Table:
    """``parcelctl providers``."""
    from rich.table import Table

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
    from rich.table import Table

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
