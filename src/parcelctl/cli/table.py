"""The parcel table of ``list`` and ``watch``: its cells, and the one rule of what gives way.

At any width the number and the status (with its pickup code) stay whole, the age is
compact (``now``, ``5m``, ``16h``, ``2d``), and the last event (or error) keeps at least
:data:`EVENT_MIN` columns. :func:`fit` alone decides the rest. Room is handed out in this
order, so what comes last gives way first: the last event up to :data:`EVENT_MIN`; the
carrier's short name (圆通, YTO); the last event up to :data:`EVENT_EASY`; the item
(:data:`ITEM_MIN` to :data:`ITEM_EASY`); the carrier's full name; the last event in full;
the item up to :data:`ITEM_MAX`. So when the terminal narrows, the item goes first (after
the cosmetic extras), then the carrier; then a number longer than :data:`NUMBER_USUAL`
folds onto more lines (still whole); then the last event shrinks below its minimum, down
to nothing; last of all any number longer than what is left folds.

Lines are drawn here, not by Rich's table engine: laying out a Rich table of 50 rows cost
more than the rest of ``parcelctl list``, and ``list --all`` of 100,000 rows took 25 s.
Each row is a ``Text`` with a span per styled cell.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.control import strip_control_codes
from rich.text import Text

# Applies the table that shows ESC and the other terminal controls as U+FFFD to
# strip_control_codes, which every cell goes through (see output._strip_terminal_controls).
from . import output as _output  # noqa: F401

#: The last event keeps this many columns whenever the number and status leave room.
EVENT_MIN = 20
#: Before the item column gets any room, the last event grows to this.
EVENT_EASY = 36
#: ... and fewer than this is no column at all (a terminal too narrow even for the number
#: and status folds the number).
EVENT_FLOOR = 8
#: An item column narrower than this says nothing: it is left out instead.
ITEM_MIN = 10
ITEM_EASY = 16
ITEM_MAX = 30
#: Tracking numbers and order references are at most this long (USPS: 22): a longer one
#: folds rather than take the last event's room from every row.
NUMBER_USUAL = 22
#: A folded number keeps at least this many columns.
NUMBER_FLOOR = 10
GAP = 2
#: Flexible columns are measured on the first rows only: ``list --all`` of 100,000 rows
#: would spend a third of its time measuring text that is cut anyway.
MEASURED_ROWS = 2000

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

#: column key -> (Chinese header, English header)
HEADERS = {
    "carrier": ("快递", "Carrier"),
    "number": ("单号", "Number"),
    "item": ("物品", "Item"),
    "status": ("状态", "Status"),
    "event": ("最新动态", "Last event"),
    "age": ("变化", "Changed"),
}
ORDER = ("carrier", "number", "item", "status", "event", "age")
RIGHT = frozenset({"age"})

_ARCHIVED = ("已归档", "archived")
_LABEL_JOIN = " · "
_ORDER_CARRIER = ("订单", "order")
_SUFFIXES_ZH = ("快递包裹", "速运", "速递", "快递", "物流")
_SUFFIXES_EN = (" Express", " Logistics", " parcel")


def compact_age(iso_time: str | None, now: datetime) -> str:
    """``now``, ``5m``, ``16h``, ``2d``: the age of a stored UTC time, in at most 4 cells
    for anything younger than 27 years."""
    if not iso_time:
        return ""
    try:
        then = datetime.fromisoformat(iso_time)
    except ValueError:
        return ""
    seconds = (now - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"


def carrier_names(code: str, lang: str) -> tuple[str, str]:
    """(full, short) display names of a carrier code: ``圆通速递``/``圆通``,
    ``YTO Express``/``YTO``. Unknown codes are shown as they are."""
    from ..carriers import CARRIER_NAMES

    names = CARRIER_NAMES.get(code)
    if names is None:
        return code, code
    full = names[0] if lang == "zh" else names[1]
    short = full
    for suffix in _SUFFIXES_ZH if lang == "zh" else _SUFFIXES_EN:
        if short.endswith(suffix) and len(short) > len(suffix):
            short = short[: -len(suffix)]
            break
    return full, short


_carrier_names = lru_cache(maxsize=256)(carrier_names)


def carrier_code(row: Any) -> str:
    """The carrier a row is shown under: its own, or for a parcel the Cainiao tracker
    follows without one, Cainiao's network (it is what moves the parcel)."""
    carrier = str(row["carrier"] or "")
    if not carrier and row["kind"] == "waybill" and get(row, "tracking_provider") == "cainiao":
        return "cainiao"
    return carrier


def get(row: Any, key: str) -> Any:
    """``row[key]``, or None for a row (a sqlite3.Row or a dict) without that column:
    callers select only the columns they show (views.TABLE_COLUMNS)."""
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def item_text(row: Any) -> str:
    """What the parcel is: the user's label first, then the order's title or the shop."""
    label = str(row["label"] or "")
    other = str(row["title"] or row["shop"] or "")
    if label and other and other != label:
        return f"{label} · {other}"
    return label or other


def error_text(row: Any) -> str:
    """A stored error without the ``provider: NUMBER:`` it starts with: the table shows
    the number already, and the fix is what has to fit."""
    error = " ".join(str(row["last_error"]).split())
    number = str(row["number"])
    head, sep, rest = error.partition(": ")
    if sep and " " not in head:  # a provider name
        error = rest
    return error.removeprefix(f"{number}: ")


def status_text(row: Any, lang: str) -> str:
    from ..views import status_label

    label = status_label(str(row["status"]), lang)
    if row["pickup_code"] and row["status"] == "ready_for_pickup":
        label = f"{label} {row['pickup_code']}"
    if row["status"] == "ready_for_pickup":
        label += deadline_note(get(row, "pickup_deadline"), lang)
    if get(row, "archived"):
        label += f"·{_ARCHIVED[0]}" if lang == "zh" else f", {_ARCHIVED[1]}"
    return label


#: A pickup deadline this close (or past) is shown next to the code.
DEADLINE_SOON_HOURS = 48


def deadline_note(deadline: Any, lang: str, now: datetime | None = None) -> str:
    """`` 20:30前`` (`` by 20:30``) when a pickup deadline is close, the day instead of the
    hour when it is not today, `` 已超时`` once it is past. Short on purpose: it stands in
    the status cell, which never gives way, so it must not push the number off a narrow
    terminal."""
    if not deadline:
        return ""
    try:
        when = datetime.fromisoformat(str(deadline))
    except ValueError:
        return ""
    now = now or datetime.now(UTC)
    left = (when - now).total_seconds()
    if left < 0:
        return " 已超时" if lang == "zh" else " overdue"
    if left > DEADLINE_SOON_HOURS * 3600:
        return ""
    local = when.astimezone()
    shown = (local.strftime("%H:%M") if local.date() == now.astimezone().date()
             else local.strftime("%m-%d"))
    return f" {shown}前" if lang == "zh" else f" by {shown}"


class Pieces(list[tuple[str, str]]):
    """A drawn line: its (text, style) pieces in order, neighbours of one style merged
    (a Segment each: fewer is faster)."""

    def add(self, text: str, style: str) -> None:
        if self and self[-1][1] == style:
            self[-1] = (self[-1][0] + text, style)
        else:
            self.append((text, style))

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self)


class Cells:
    """The texts of one row (control characters already removed)."""

    __slots__ = ("age", "archived", "carrier", "carrier_short", "error", "event", "id", "item",
                 "label", "number", "status", "status_key")

    def __init__(self, row: Any, lang: str, now: datetime,
                 statuses: dict[tuple[Any, ...], str]) -> None:
        self.id = int(row["id"])
        code = carrier_code(row)
        if code:
            self.carrier, self.carrier_short = _carrier_names(code, lang)
        elif row["kind"] == "order":
            self.carrier = self.carrier_short = _ORDER_CARRIER[0 if lang == "zh" else 1]
        elif row["kind"] == "pickup":  # a pickup notice from a text, no parcel behind it
            self.carrier = self.carrier_short = "取件" if lang == "zh" else "pickup"
        else:
            self.carrier = self.carrier_short = "?"
        self.number = _clean(str(row["number"]))
        self.item = _clean(item_text(row))
        self.label = _clean(str(row["label"] or ""))
        self.status_key = str(row["status"])
        # Statuses repeat from row to row: each distinct one is worded once.
        key = (self.status_key, row["pickup_code"], get(row, "archived"),
               get(row, "pickup_deadline"))
        status = statuses.get(key)
        if status is None:
            status = statuses[key] = _clean(status_text(row, lang))
        self.status = status
        self.error = bool(row["last_error"])
        event = str(row["last_event_desc"] or "")
        station = get(row, "station")
        if self.status_key == "ready_for_pickup" and station:
            event = f"@ {station}"  # where to go says more than the text that said it
        self.event = _clean(f"⚠ {error_text(row)}" if self.error else event)
        self.age = compact_age(row["last_event_utc"] or row["updated_at"], now)
        self.archived = bool(get(row, "archived"))


def _clean(text: str) -> str:
    """One line, no control characters: what a cell of a table can hold."""
    text = " ".join(text.split()) if not text.isprintable() or "  " in text else text
    return text if text.isprintable() else strip_control_codes(text)


def fit(total: int, want: dict[str, int], short_carrier: int,
        usual_number: int = NUMBER_USUAL) -> dict[str, int]:
    """Column widths for a table ``total`` cells wide (0: the column is left out).

    ``want``: each column's natural width (its widest cell or header; ``item`` 0 when no row
    has one); ``usual_number``: the widest number of usual length (at most
    :data:`NUMBER_USUAL`). The one place that decides what gives way; see the module
    docstring."""
    widths = {"number": want["number"], "status": want["status"],
              "event": min(want["event"], EVENT_MIN), "age": want["age"]}

    def spare() -> int:
        return total - sum(widths.values()) - GAP * len(widths)

    if spare() < 0 and usual_number < widths["number"]:
        # An unusually long number (a 40-character reference) folds before every row
        # loses its last event.
        widths["number"] = usual_number
    if spare() < 0:
        widths["event"] = widths["event"] + spare()
        if widths["event"] < EVENT_FLOOR:  # a few cells of text say nothing: none then
            del widths["event"]
    if spare() < 0:
        widths["number"] = max(NUMBER_FLOOR, widths["number"] + spare())
    room = spare()

    def grow(key: str, limit: int) -> None:
        nonlocal room
        if key in widths and room > 0:
            more = max(0, min(room, min(limit, want[key]) - widths[key]))
            widths[key] += more
            room -= more

    if room >= short_carrier + GAP:
        widths["carrier"] = short_carrier
        room -= short_carrier + GAP
    grow("event", EVENT_EASY)
    if want["item"] and room >= ITEM_MIN + GAP:
        widths["item"] = min(want["item"], ITEM_MIN)
        room -= widths["item"] + GAP
    grow("item", ITEM_EASY)
    if "carrier" in widths and room >= want["carrier"] - short_carrier:
        room -= want["carrier"] - widths["carrier"]
        widths["carrier"] = want["carrier"]
    grow("event", want["event"])
    grow("item", ITEM_MAX)
    return {key: widths.get(key, 0) for key in ORDER}


class ParcelTable:
    """Rows of the parcel list laid out for a width; :meth:`lines` draws them."""

    def __init__(self, rows: Sequence[Any], *, lang: str, width: int,
                 now: datetime | None = None, highlight: set[int] | None = None) -> None:
        moment = now or datetime.now(UTC)
        self.lang = lang
        statuses: dict[tuple[Any, ...], str] = {}
        self.cells = [Cells(row, lang, moment, statuses) for row in rows]
        self.highlight = highlight or set()
        index = 0 if lang == "zh" else 1
        self.headers = {key: names[index] for key, names in HEADERS.items()}
        sample = self.cells[:MEASURED_ROWS]
        measure = _measure()
        want = {key: cell_len(self.headers[key]) for key in ORDER}
        want["number"] = max([want["number"]] + [measure(c.number) for c in self.cells])
        want["status"] = max([want["status"]] + [measure(c.status) for c in self.cells])
        want["age"] = max([want["age"]] + [len(c.age) for c in self.cells])
        want["carrier"] = max([want["carrier"]] + [measure(c.carrier) for c in self.cells])
        short = max([cell_len(self.headers["carrier"])]
                    + [measure(c.carrier_short) for c in self.cells])
        items = [cell_len(c.item) for c in sample if c.item]
        want["item"] = max([want["item"], *items]) if items else 0
        want["event"] = max([want["event"]] + [cell_len(c.event) for c in sample])
        usual = [n for n in (measure(c.number) for c in self.cells) if n <= NUMBER_USUAL]
        self.widths = fit(width, want, short, max([cell_len(self.headers["number"]), *usual]))
        self.short_carrier = self.widths["carrier"] < want["carrier"]
        self.columns = [key for key in ORDER if self.widths[key]]
        self.width = sum(self.widths[k] for k in self.columns) + GAP * len(self.columns)

    def header_lines(self) -> list[Text]:
        parts = [" "]
        for key in self.columns:
            parts.append(_cut(self.headers[key], self.widths[key], key in RIGHT))
        text = "  ".join(parts[1:])
        rule = "─" * (self.width - 2)
        return [Text(" " + text + " ", style="bold"), Text(" " + rule + " ")]

    def row_lines(self, cells: Cells) -> list[Pieces]:
        """One row: one line, or more when its number folds. A line is its cells as
        (text, style) pieces: drawn as Segments, no ``Text`` per line (``list --all`` of
        100,000 rows spent most of its time in Text's span rendering)."""
        numbers = [cells.number]
        if cell_len(cells.number) > self.widths["number"]:
            numbers = chop_cells(cells.number, self.widths["number"])
        row_style = "reverse" if cells.id in self.highlight else (
            "dim" if cells.archived else "")
        lines: list[Pieces] = []
        for line_no, number in enumerate(numbers):
            pieces = Pieces([(" ", row_style)])
            last = len(self.columns) - 1
            for index, key in enumerate(self.columns):
                if key == "number":
                    text = number
                elif line_no:
                    text = ""
                else:
                    text = self._text(cells, key)
                cut = _cut(text, self.widths[key], key in RIGHT)
                style = self._style(cells, key) if not line_no or key == "number" else ""
                if row_style:
                    style = f"{row_style} {style}" if style else row_style
                labelled = self._labelled(cells)
                if key == "event" and not line_no and text.startswith(labelled):
                    mark = min(len(labelled) - len(_LABEL_JOIN), len(cut))
                    label_style = f"{row_style} cyan" if row_style else "cyan"
                    pieces.add(cut[:mark], label_style)
                    pieces.add(cut[mark:], style)
                else:
                    pieces.add(cut, style)
                pieces.add("  " if index < last else " ", row_style)
            lines.append(pieces)
        return lines

    def _labelled(self, cells: Cells) -> str:
        """The label shown before the last event when the item column gave way (a name the
        user chose says more than the first columns of a scan), not before an error (its
        fix has to fit); a string no cell starts with otherwise."""
        if self.widths["item"] or not cells.label or cells.error:
            return "\0"  # matches no cell text
        return cells.label + _LABEL_JOIN

    def _text(self, cells: Cells, key: str) -> str:
        if key == "carrier":
            return cells.carrier_short if self.short_carrier else cells.carrier
        if key == "event":
            labelled = self._labelled(cells)
            return cells.event if labelled == "\0" else labelled + cells.event
        return str(getattr(cells, key))

    @staticmethod
    def _style(cells: Cells, key: str) -> str:
        if key == "status":
            return STATUS_STYLE.get(cells.status_key, "")
        if key == "event" and cells.error:
            return "yellow"
        return ""

    def lines(self, max_rows: int | None = None) -> Iterator[Text | Pieces]:
        """Header, rule and rows (``max_rows``: at most that many rows)."""
        yield from self.header_lines()
        cells = self.cells if max_rows is None else self.cells[:max_rows]
        for row in cells:
            yield from self.row_lines(row)


def _measure() -> Any:
    """``cell_len`` for texts that repeat from row to row (carriers, statuses, numbers)."""
    from functools import lru_cache

    return lru_cache(maxsize=4096)(lambda text: len(text) if text.isascii() else cell_len(text))


def _cut(text: str, width: int, right: bool) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with an ellipsis."""
    length = len(text) if text.isascii() else cell_len(text)
    if length > width:
        if width < 2:
            return "…"[:width]
        # A wide character cut in half leaves a space: the ellipsis goes before it.
        cut = set_cell_size(text, width - 1).rstrip()
        return cut + "…" + " " * (width - 1 - cell_len(cut))
    pad = " " * (width - length)
    return pad + text if right else text + pad
