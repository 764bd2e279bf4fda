"""The digest's data: status changes and overdue/stale conditions recorded in a window
(from ``sync_runs`` summaries and notifications), and what needs attention, by reason."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from ..config import Config


def gather(config: Config, start: datetime, now: datetime) -> dict[str, Any]:
    """The digest from ``start`` to ``now``: the object ``digest --json`` prints (empty
    sections when there is no store yet)."""
    from ..notify import Settings
    from ..store import iso
    from .reading import open_store, store_exists

    digest: dict[str, Any] = {"type": "digest", "since": iso(start), "until": iso(now),
                              "changes": [], "history": 0, "attention": []}
    if store_exists(config):
        with open_store(config) as store:
            stale_days = config.number("polling.stale_days", 7.0) or 7.0
            digest["changes"], digest["history"] = changes_since(
                store.db, start, Settings.from_config(config).backlog)
            digest["attention"] = attention_items(store.db, now, stale_days)
    return digest


def changes_since(db: sqlite3.Connection, since: datetime,
                  backlog: timedelta | None = None) -> tuple[list[dict[str, Any]], int]:
    """(status changes and overdue/stale conditions since ``since``, oldest first; how many
    changes were a shop's history).

    History, by the rule of notifications and of ``sync``'s lines: a change of a parcel a
    run created (an import, and the first tracking answer in the same run) whose newest
    change, as stored, was older than ``backlog`` when the run started. The day after a
    shop was linked, the digest listed all 3,000 changes of its 2,000 orders.
    """
    from ..notify import is_backlog
    from ..store import CHANGED_AT, iso

    parcels: dict[Any, sqlite3.Row | None] = {}

    def parcel(number: Any) -> sqlite3.Row | None:
        """A number's parcel (the first, if carriers share it), read once per digest."""
        if number not in parcels:
            parcels[number] = db.execute(
                f"SELECT label, title, shop, {CHANGED_AT} AS changed_at FROM parcels"  # noqa: S608
                " WHERE number = ? ORDER BY id LIMIT 1", (number,)).fetchone()
        return parcels[number]

    found: list[dict[str, Any]] = []
    history = 0
    for run in db.execute("SELECT started_at, summary FROM sync_runs WHERE started_at >= ?"
                          " AND summary IS NOT NULL ORDER BY id", (iso(since),)):
        try:
            summary = json.loads(run["summary"])
        except ValueError:
            continue
        changes = [c for c in summary.get("changes") or [] if isinstance(c, dict)]
        # Runs recorded before "first_import" existed: any parcel they created.
        created = {c.get("tracking_number") for c in changes
                   if c.get("first_import", not c.get("old_status"))}
        cutoff = _started_before(run["started_at"], backlog)
        for change in changes:
            if change.get("old_status") == change.get("status"):
                continue
            number = change.get("tracking_number")
            if cutoff and number in created:
                row = parcel(number)
                if row is not None and is_backlog(str(row["changed_at"] or ""), cutoff):
                    history += 1
                    continue
            found.append({"time": run["started_at"], "kind": "status_change",
                          "number": number, "carrier": change.get("carrier") or None,
                          "old_status": change.get("old_status") or None,
                          "status": change.get("status"),
                          "pickup_code": change.get("pickup_code")})
    for note in db.execute(
            "SELECT n.kind, n.created_at, p.number, p.carrier, p.status, p.pickup_code"
            " FROM notifications n JOIN parcels p ON p.id = n.parcel_id"
            " WHERE n.kind IN ('overdue', 'stale') AND n.created_at >= ?", (iso(since),)):
        found.append({"time": note["created_at"], "kind": note["kind"], "number": note["number"],
                      "carrier": note["carrier"] or None, "old_status": None,
                      "status": note["status"], "pickup_code": note["pickup_code"]})
    for item in found:
        row = parcel(item["number"])
        item["title"] = (row["label"] or row["title"] or row["shop"]) if row else ""
    found.sort(key=lambda item: str(item["time"]))
    return found, history


def _started_before(started_at: Any, backlog: timedelta | None) -> str | None:
    """``started_at`` less ``backlog``, as stored text (UTC ISO); None: no history rule."""
    from ..store import iso

    if not backlog:
        return None
    try:
        return iso(datetime.fromisoformat(str(started_at)) - backlog)
    except ValueError:
        return None


def attention_items(db: sqlite3.Connection, now: datetime, stale_days: float
                    ) -> list[dict[str, Any]]:
    """``list --attention`` with the reason for each: overdue, exception, pickup, stuck, error."""
    from .. import views
    from ..store import iso

    rows, _ = views.list_parcels(db, attention=True, limit=None, stale_days=stale_days, now=now)
    stale_before = iso(now - timedelta(days=stale_days))
    items: list[dict[str, Any]] = []
    for row in rows:
        since = row["last_event_utc"]
        if row["kind"] == "order" and row["status"] == "awaiting_shipment" \
                and row["promised_ship_at"] and row["promised_ship_at"] < iso(now):
            reason, since = "overdue", row["promised_ship_at"]
        elif row["status"] == "exception":
            reason = "exception"
        elif row["status"] == "ready_for_pickup":
            reason = "pickup"
        elif since and since < stale_before and row["kind"] == "waybill":
            reason = "stuck"
        else:
            reason = "error"
        items.append({"reason": reason, "number": row["number"], "carrier": row["carrier"] or None,
                      "status": row["status"], "title": row["label"] or row["title"] or row["shop"],
                      "pickup_code": row["pickup_code"], "since": since,
                      "waiting": _span(since, now) if since else None,
                      "detail": row["last_error"] if reason == "error"
                      else row["last_event_desc"]})
    order = ("overdue", "exception", "pickup", "stuck", "error")
    items.sort(key=lambda item: order.index(item["reason"]))
    return items


def _span(since: str, now: datetime) -> str:
    try:
        seconds = max(0.0, (now - datetime.fromisoformat(since)).total_seconds())
    except ValueError:
        return ""
    days, rest = divmod(int(seconds), 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"
