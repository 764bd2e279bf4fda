"""What ``sync`` prints: a JSON summary, a short human summary, or (``--quiet``) only the
lines that need attention, so that cron mails only when something matters."""

from __future__ import annotations

from ..config import Config
from ..store import Store
from ..sync import SyncSummary


def report(config: Config, store: Store, summary: SyncSummary, *, json_out: bool,
           quiet: bool) -> None:
    from .output import error, info, print_json

    if json_out:
        print_json(summary.to_json())
        return
    for unit in summary.units:
        if not unit.ok:
            error(unit.error or f"{unit.name} failed")
    lines = attention_lines(store, summary)
    if quiet:
        for line in lines:
            info(line)
        return
    for unit in summary.units:
        if unit.ok:
            what = "orders" if unit.kind == "account" else "parcels"
            info(f"{unit.name}: {unit.items} {what}, {unit.changed} changed, "
                 f"{unit.requests} requests")
        elif unit.answered:  # it failed partway: what it got before is saved
            info(f"{unit.name}: {unit.items} parcels, {unit.answered} answered and saved before "
                 f"the failure, {unit.changed} changed, {unit.requests} requests")
    if not summary.units:
        info("nothing to do: no linked accounts and no parcels due")
    for line in lines:
        info(line)


def attention_lines(store: Store, summary: SyncSummary) -> list[str]:
    """One line per change that needs a human: pickups, deliveries, exceptions, errors."""
    from ..views import status_label

    lines: list[str] = []
    notable = {"out_for_delivery", "ready_for_pickup", "delivered", "exception", "returned"}
    for change in summary.changes:
        if not change.status_changed or change.new_status not in notable:
            continue
        text = f"{change.number}: {status_label(change.new_status)} ({change.new_status})"
        if change.new_status == "ready_for_pickup" and change.pickup_code:
            text += f" 取件码 {change.pickup_code}"
        if change.description:
            text += f" — {' '.join(change.description.split())[:80]}"
        lines.append(text)
    for unit in summary.units:
        for number, message in unit.item_errors.items():
            lines.append(f"{number}: {' '.join(message.split())}")
    return lines


__all__ = ["attention_lines", "report"]
