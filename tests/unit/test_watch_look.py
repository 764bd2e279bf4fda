"""``watch`` reads again only what changed between two looks (a big store: 100,000 parcels
read every round cost ~1 s of CPU), and still sees every change another process made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from parcelctl.cli.watch import LOOK_BACK, diff, look_again, snapshot
from parcelctl.models import Order, Status, TrackingEvent, TrackResult, Waybill
from parcelctl.store import Store


def test_a_second_look_reads_only_changes_and_new_parcels(tmp_path: Path) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Store(tmp_path / "p.db") as store:
        with store.transaction():
            ids = [store.add_parcel(f"YT91000000000{i:02d}", "yuantong",
                                    tracking_provider="kuaidi100")[0] for i in range(30)]
            # Rows last changed long ago: a second look must not read them again.
            store.db.execute("UPDATE parcels SET updated_at='2025-01-01T00:00:00+00:00'")
        first_look = datetime.now(UTC)
        before = snapshot(store.db)
        with store.transaction():
            store.apply_result(ids[3], TrackResult("YT9100000000003", "yuantong",
                                                   Status.DELIVERED,
                                                   events=[TrackingEvent(when, "已签收")]),
                               next_check_at=None, checked_at=when)
            # An import stamps a new parcel with the platform's (old) time of the order.
            order = Order("kuaishou", "shop", "oid-1", Status.INFO_RECEIVED,
                          updated_at=when - timedelta(days=30),
                          waybills=[Waybill("YT9200000000001", "yuantong")])
            store.import_orders([order], "kuaidi100")
        after, fresh = look_again(store.db, before, first_look)
        assert after == snapshot(store.db)
        assert sorted(after[pid].number for pid in fresh) == ["YT9100000000003",
                                                              "YT9200000000001"]
        changes, touched = diff(before, fresh)
        assert [(old.status if old else None, new.status) for old, new in changes] == [
            ("unknown", "delivered"), (None, "info_received")]
        assert touched == set(fresh)

        # A row removed by another process: everything is read again.
        with store.transaction():
            store.db.execute("DELETE FROM parcels WHERE id=?", (ids[0],))
        later = first_look + LOOK_BACK + timedelta(minutes=1)
        again, read = look_again(store.db, after, later)
        assert again == read == snapshot(store.db) and ids[0] not in again


def test_a_parcel_in_the_rowid_of_a_removed_one_is_seen(tmp_path: Path) -> None:
    """SQLite gives a new row max(id) + 1: after the newest parcel is removed, an import in
    the same interval takes its id. The count is unchanged and the platform's old time
    keeps it out of the recent rows, so only the number at the old top id tells."""
    with Store(tmp_path / "p.db") as store:
        with store.transaction():
            for i in range(5):
                store.add_parcel(f"YT93000000000{i:02d}", "yuantong",
                                 tracking_provider="kuaidi100")
            store.db.execute("UPDATE parcels SET updated_at='2025-01-01T00:00:00+00:00'")
        first_look = datetime.now(UTC)
        before = snapshot(store.db)
        top = max(before)
        with store.transaction():
            store.db.execute("DELETE FROM parcels WHERE id=?", (top,))
            order = Order("kuaishou", "shop", "oid-9", Status.INFO_RECEIVED,
                          updated_at=datetime(2025, 6, 1, tzinfo=UTC),
                          waybills=[Waybill("YT9400000000001", "yuantong")])
            store.import_orders([order], "kuaidi100")
        assert store.find("YT9400000000001", "yuantong")["id"] == top  # the reused id
        later = first_look + LOOK_BACK + timedelta(minutes=1)
        after, read = look_again(store.db, before, later)
        assert after == snapshot(store.db)
        assert after[top].number == "YT9400000000001" and top in read
        # A new parcel, not a change of the removed one.
        changes, _ = diff(before, after)
        assert [(old, new.number) for old, new in changes] == [(None, "YT9400000000001")]
