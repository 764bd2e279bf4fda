"""Changing one stored parcel named by number: archive (or bring back), remove, label."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store


def _resolve(number: str, carrier: str | None = None) -> tuple[Store, int]:
    """The store, open, and the id of the one parcel ``number`` (and ``carrier``) names."""
    from .. import views
    from ..config import Config
    from ..errors import UsageError
    from .reading import open_store, store_exists

    config = Config()
    if not store_exists(config):
        raise UsageError(f"no parcel {number[:60]!r}")
    store = open_store(config)
    rows = views.find_parcel(store.db, number)
    if carrier is not None:
        rows = [row for row in rows if row["carrier"] == carrier.strip().lower()]
    if not rows:
        store.close()
        raise UsageError(f"no parcel {number[:60]!r}"
                         + (f" with carrier {carrier[:30]!r}" if carrier is not None else ""),
                         hint="see 'parcelctl list --all' for what is tracked")
    if len(rows) > 1:
        store.close()
        codes = ", ".join(str(row["carrier"]) or "''" for row in rows)
        raise UsageError(f"{number} matches {len(rows)} parcels (carriers: {codes})",
                         hint="name one: --carrier CODE ('' for the one without a carrier)")
    return store, int(rows[0]["id"])


def archive(number: str, carrier: str | None, *, undo: bool) -> None:
    store, pid = _resolve(number, carrier)
    with store, store.transaction():
        store.archive(pid, not undo)


def remove(number: str, carrier: str | None, confirm: Callable[[int], None]) -> int:
    """Delete the parcel and its events after ``confirm(events)`` returns (it raises to
    refuse); the number of events removed."""
    store, pid = _resolve(number, carrier)
    with store:
        events = int(store.db.execute("SELECT count(*) FROM events WHERE parcel_id=?",
                                      (pid,)).fetchone()[0])
        confirm(events)
        with store.transaction():
            store.delete(pid)
    return events


def set_label(number: str, carrier: str | None, label: str) -> None:
    store, pid = _resolve(number, carrier)
    with store, store.transaction():
        store.set_label(pid, label)
