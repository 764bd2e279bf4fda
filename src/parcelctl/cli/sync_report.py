"""What ``sync`` prints: a JSON summary, a short human summary, or (``--quiet``) only the
lines that need attention, so that cron mails only when something matters."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..config import Config
from ..store import Change, Store
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
    from ..notify import Settings

    lines = attention_lines(store, summary, backlog=Settings.from_config(config).backlog)
    lines += relink_lines(store)
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


def relink_lines(store: Store) -> list[str]:
    """Accounts whose authorization runs out soon (see relink.py)."""
    from ..relink import relink_warning

    found = (relink_warning(str(r["provider"]), str(r["account"]), r["refresh_expires_at"])
             for r in store.accounts())
    return [line for line in found if line]


def _history(store: Store, summary: SyncSummary, wanted: list[Change], backlog: timedelta,
             now: datetime | None) -> set[int]:
    """Ids of the parcels in ``wanted`` this run created whose newest change is older than
    ``backlog``, by ``store.CHANGED_AT`` (see ``notify.is_backlog``)."""
    from ..models import utcnow
    from ..notify import is_backlog
    from ..store import iso

    cutoff = iso((now or utcnow()) - backlog)
    created = {c.parcel_id for c in summary.changes if c.first_import}
    times = store.change_times({c.parcel_id for c in wanted if c.parcel_id in created})
    return {pid for pid, when in times.items() if is_backlog(when, cutoff)}


def attention_lines(store: Store, summary: SyncSummary, *, backlog: timedelta | None = None,
                    now: datetime | None = None) -> list[str]:
    """One line per change that needs a human: pickups, deliveries, exceptions, errors.

    A change of a parcel this run created (an import, and the first tracking answer after
    it) older than ``backlog`` is the shop's history, not news, by the rule and the setting
    that keep it out of notifications (``notify.backlog_hours``): those are counted in one
    line. A shop's first import listed 7,648 old deliveries one line each, and ``sync
    --quiet`` mailed them from cron.
    """
    from ..views import status_label

    notable = {"out_for_delivery", "ready_for_pickup", "delivered", "exception", "returned"}
    wanted = [c for c in summary.changes if c.status_changed and c.new_status in notable]
    history = _history(store, summary, wanted, backlog, now) if backlog else set()
    lines: list[str] = []
    for change in wanted:
        if change.parcel_id in history:
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
    if history:
        hours = backlog.total_seconds() / 3600 if backlog else 0
        lines.insert(0, f"{len(history):,} newly imported parcels changed more than "
                        f"{hours:g} h ago: history, not listed (parcelctl list --all shows "
                        "them)")
    return lines


__all__ = ["attention_lines", "report"]
