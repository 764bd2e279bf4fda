"""All Rich output goes through here. Remote text is wrapped in ``Text`` objects, so Rich
markup inside a carrier's event text is shown literally, never interpreted."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

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


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def status_text(status: str, label: str) -> Text:
    return Text(label, style=STATUS_STYLE.get(status, ""))


def age(iso_time: str | None, now: datetime | None = None) -> str:
    if not iso_time:
        return ""
    try:
        then = datetime.fromisoformat(iso_time)
    except ValueError:
        return ""
    seconds = ((now or datetime.now(timezone.utc)) - then).total_seconds()
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


def parcel_table(rows: list[Any], *, lang: str, carrier_label: Any, highlight: set[int] | None = None,
                 title: str | None = None) -> Table:
    from ..views import status_label

    table = Table(title=title, expand=False, show_lines=False, header_style="bold")
    table.add_column("Carrier", no_wrap=True)
    table.add_column("Number", no_wrap=True)
    table.add_column("Item", max_width=28, overflow="ellipsis", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Last event", max_width=48, overflow="ellipsis", no_wrap=True)
    table.add_column("Age", no_wrap=True, justify="right")
    for row in rows:
        status = str(row["status"])
        label = status_label(status, lang)
        if row["pickup_code"] and status == "ready_for_pickup":
            label = f"{label} {row['pickup_code']}"
        item = row["label"] or row["title"] or row["shop"] or ""
        event = row["last_event_desc"] or ""
        if row["last_error"]:
            event = f"⚠ {row['last_error']}"
        style = "reverse" if highlight and int(row["id"]) in highlight else ""
        table.add_row(
            Text(carrier_label(row["carrier"]) if row["carrier"] else
                 ("订单" if row["kind"] == "order" and lang == "zh" else
                  "order" if row["kind"] == "order" else "?")),
            Text(str(row["number"])),
            Text(clip(item, 28)),
            status_text(status, label),
            Text(clip(event, 48)),
            Text(age(row["last_event_utc"] or row["updated_at"])),
            style=style,
        )
    return table


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
