"""What ``sync`` prints: a JSON summary, a short human summary, or (``--quiet``) only the
lines that need attention, so that cron mails only when something matters."""

from __future__ import annotations

from typing import TYPE_CHECKING

# Worked out by the application layer; here for the callers that know them by this name.
from ..app.sync import attention_lines as attention_lines
from ..app.sync import relink_lines as relink_lines

if TYPE_CHECKING:
    from ..app.sync import SyncRun


def report(done: SyncRun, *, json_out: bool, quiet: bool) -> None:
    from .output import error, info, print_json

    summary = done.summary
    if json_out:
        print_json(summary.to_json())
        return
    for unit in summary.units:
        if not unit.ok:
            error(unit.error or f"{unit.name} failed")
    lines = done.attention
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


__all__ = ["attention_lines", "report"]
