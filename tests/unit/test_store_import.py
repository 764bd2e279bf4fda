"""Store.import_orders: the batched import must store exactly what one-by-one merging stores.

The batch path inserts brand-new parcels with ``executemany`` (every order of a first import)
and merges the rest one by one; the reference here is the one-by-one merge of every order.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelctl import store as store_module
from parcelctl.models import Order, Status, TrackingEvent, Waybill
from parcelctl.store import Store, order_reference

NOW = "2026-11-25T12:00:00+00:00"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "now_iso", lambda: NOW)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "parcels.db") as opened:
        yield opened


def order(oid: str, *waybills: tuple[str, str], status: Status = Status.INFO_RECEIVED,
          hours: int = 0, provider: str = "kuaishou", account: str = "shop",
          traces: dict[str, list[TrackingEvent]] | None = None) -> Order:
    return Order(provider=provider, account=account, order_id=oid, status=status,
                 raw_status="40", shop="小店", title=f"item {oid}", quantity=1,
                 price_cents=1990, created_at=T0, updated_at=T0 + timedelta(hours=hours),
                 promised_ship_at=None, waybills=[Waybill(n, c, "") for n, c in waybills],
                 traces=traces or {})


def content(db: sqlite3.Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """Everything stored, keyed by (carrier, number) instead of ids."""
    db.row_factory = sqlite3.Row
    parcels = {}
    for row in db.execute("SELECT * FROM parcels"):
        data = dict(row)
        pid = data.pop("id")
        data["sources"] = sorted(tuple(s) for s in db.execute(
            "SELECT provider, account, order_id FROM sources WHERE parcel_id=?", (pid,)))
        data["events"] = sorted(tuple(e) for e in db.execute(
            "SELECT key, time_utc, description, status FROM events WHERE parcel_id=?", (pid,)))
        parcels[(data["carrier"], data["number"])] = data
    return parcels


def test_first_import_is_stored_whole(store: Store) -> None:
    with store.transaction():
        changes = store.import_orders([
            order("1", ("YT1000000001", "yuantong")),
            order("2", status=Status.AWAITING_SHIPMENT),
            order("3", ("SF1000000003", "shunfeng"), ("SF1000000004", "shunfeng"),
                  status=Status.DELIVERED, hours=5),
        ], "kuaidi100")
    stored = content(store.db)
    assert sorted(stored) == [("", "KS-2"), ("shunfeng", "SF1000000003"),
                              ("shunfeng", "SF1000000004"), ("yuantong", "YT1000000001")]
    waybill = stored[("yuantong", "YT1000000001")]
    assert (waybill["kind"], waybill["status"], waybill["tracking_provider"]) == (
        "waybill", "info_received", "kuaidi100")
    assert waybill["sources"] == [("kuaishou", "shop", "1")]
    assert waybill["next_check_at"] == NOW
    placeholder = stored[("", "KS-2")]
    assert (placeholder["kind"], placeholder["status"], placeholder["raw_status"],
            placeholder["next_check_at"]) == ("order", "awaiting_shipment", "40", None)
    # A parcel new to us carries the platform's time of its last change, not ours: the
    # notifier's "old news" rule reads it (a first import must not announce history).
    delivered = stored[("shunfeng", "SF1000000003")]
    assert delivered["status"] == "delivered"
    assert delivered["updated_at"] == "2026-11-01T13:00:00+00:00"
    assert [(c.number, c.old_status, c.new_status) for c in changes] == [
        ("YT1000000001", "", "info_received"), ("KS-2", "", "awaiting_shipment"),
        ("SF1000000003", "", "delivered"), ("SF1000000004", "", "delivered")]


def test_shipping_replaces_the_placeholder_and_merges_sources(store: Store) -> None:
    with store.transaction():
        store.import_orders([order("7", status=Status.AWAITING_SHIPMENT)], "kuaidi100")
        store.add_parcel("YT7000000007", "", tracking_provider="17track",
                         source=("manual", "", ""))
    with store.transaction():
        changes = store.import_orders([order("7", ("YT7000000007", "yuantong"), hours=3),
                                       order("8", ("YT7000000007", "yuantong"), hours=4)],
                                      "kuaidi100")
    stored = content(store.db)
    assert sorted(stored) == [("yuantong", "YT7000000007")]  # carrier learned, one parcel
    parcel = stored[("yuantong", "YT7000000007")]
    assert parcel["sources"] == [("kuaishou", "shop", "7"), ("kuaishou", "shop", "8"),
                                 ("manual", "", "")]
    assert parcel["tracking_provider"] == "17track"  # the user's choice stays
    # Not final on the platform: the status stays what tracking will say (still unknown).
    assert [(c.old_status, c.new_status) for c in changes] == [("unknown", "unknown")] * 2


def test_a_waybill_listed_twice_in_one_order_is_one_parcel(store: Store) -> None:
    with store.transaction():
        store.import_orders([order("9", ("ZT9000000009", "zhongtong"),
                                   ("ZT9000000009", "zhongtong"))], "kuaidi100")
    assert list(content(store.db)) == [("zhongtong", "ZT9000000009")]


# -- the property ---------------------------------------------------------------------------
NUMBERS = ["YT1000000001", "YT1000000002", "SF1000000003", "JD1000000004", "ZT1000000005"]
CARRIERS = ["", "yuantong", "shunfeng"]
STATUSES = [Status.INFO_RECEIVED, Status.AWAITING_SHIPMENT, Status.DELIVERED,
            Status.CANCELLED, Status.IN_TRANSIT]


def _event(number: str, hour: int, status: Status | None) -> TrackingEvent:
    return TrackingEvent(time=T0 + timedelta(hours=hour), description=f"{number} scan {hour}",
                         location="", status=status)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    waybills = draw(st.lists(st.tuples(st.sampled_from(NUMBERS), st.sampled_from(CARRIERS)),
                             max_size=3))
    traces = {}
    if waybills and draw(st.booleans()):
        number = waybills[0][0]
        traces[number] = [_event(number, h, draw(st.sampled_from([None, *STATUSES])))
                          for h in draw(st.lists(st.integers(0, 48), min_size=1, max_size=3,
                                                 unique=True))]
    return order(str(draw(st.integers(1, 6))), *waybills,
                 status=draw(st.sampled_from(STATUSES)), hours=draw(st.integers(0, 100)),
                 account=draw(st.sampled_from(["shop", "other"])), traces=traces)


stored_before = st.lists(st.tuples(st.sampled_from([*NUMBERS, order_reference("kuaishou", "3")]),
                                   st.sampled_from(CARRIERS), st.sampled_from(STATUSES)),
                         max_size=4, unique_by=lambda t: (t[0], t[1]))


def _world(path: Path, before: list[tuple[str, str, Status]]) -> Store:
    opened = Store(path)
    with opened.transaction():
        for number, carrier, status in before:
            kind = "order" if number.startswith("KS-") else "waybill"
            if kind == "order" and carrier:
                continue
            opened.add_parcel(number, carrier, tracking_provider="kuaidi100", kind=kind,
                              status=status, source=("manual", "", ""))
    return opened


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=stored_before, batch=st.lists(orders(), max_size=8))
def test_batch_import_equals_one_by_one_merging(before: list[tuple[str, str, Status]],
                                                batch: list[Order]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        batched = _world(Path(tmp) / "batched.db", before)
        one_by_one = _world(Path(tmp) / "one.db", before)
        try:
            with batched.transaction():
                batch_changes = batched.import_orders(batch, "kuaidi100")
            with one_by_one.transaction():
                single_changes = [c for o in batch
                                  for c in one_by_one._merge_order(o, "kuaidi100")]
            assert content(batched.db) == content(one_by_one.db)
            key = lambda c: (c.number, c.carrier, c.old_status, c.new_status)  # noqa: E731
            assert sorted(map(key, batch_changes)) == sorted(map(key, single_changes))
            # A created parcel's change tells when it last changed, as its row says.
            for change in batch_changes:
                row = batched.db.execute("SELECT coalesce(last_event_utc, updated_at)"
                                         " FROM parcels WHERE id=?",
                                         (change.parcel_id,)).fetchone()
                if change.changed_at is not None and row is not None:  # None: replaced
                    assert change.changed_at == row[0]
            once = Counter(c.parcel_id for c in batch_changes)
            assert all(c.changed_at is not None for c in batch_changes
                       if not c.old_status and once[c.parcel_id] == 1)
        finally:
            batched.close()
            one_by_one.close()


@pytest.mark.parametrize(("status", "polled"), [
    (Status.DELIVERED, False), (Status.CANCELLED, False), (Status.IN_TRANSIT, True)])
def test_a_parcel_imported_at_its_end_has_no_next_check(store: Store, status: Status,
                                                        polled: bool) -> None:
    """JSON promises "next_check_at: null = never polled again"; a shop's delivered order
    was imported with a next check it would never get."""
    with store.transaction():
        store.import_orders([order("o1", ("YT9300000000001", "yuantong"), status=status)],
                            "kuaidi100")
    row = store.db.execute("SELECT status, next_check_at FROM parcels").fetchone()
    assert row["status"] == (status.value if status is not Status.IN_TRANSIT
                             else Status.INFO_RECEIVED.value)
    assert (row["next_check_at"] is not None) == polled


def test_a_stored_parcel_the_shop_calls_delivered_is_not_polled_again(store: Store) -> None:
    with store.transaction():
        store.add_parcel("YT9300000000002", "yuantong", tracking_provider="kuaidi100")
        store.db.execute("UPDATE parcels SET next_check_at=?", (NOW,))
        store.import_orders([order("o2", ("YT9300000000002", "yuantong"),
                                   status=Status.DELIVERED)], "kuaidi100")
    row = store.db.execute("SELECT status, next_check_at FROM parcels").fetchone()
    assert (row["status"], row["next_check_at"]) == ("delivered", None)


def test_a_shops_lagging_trace_never_moves_a_parcel_back(store: Store) -> None:
    """Kuaidi100 says delivered; the shop's own trace, worded differently and behind, used
    to drag the parcel back to in transit (polled again, "delivered" notified twice)."""
    from parcelctl.models import TrackResult

    delivered = TrackingEvent(T0 + timedelta(days=2), "已签收", status=Status.DELIVERED)
    with store.transaction():
        pid, _ = store.add_parcel("YT9300000000003", "yuantong", tracking_provider="kuaidi100")
        store.apply_result(pid, TrackResult("YT9300000000003", "yuantong", Status.DELIVERED,
                                            events=[delivered]),
                           next_check_at=None, checked_at=T0 + timedelta(days=2))
    lagging = {"YT9300000000003": [
        TrackingEvent(T0 + timedelta(days=1), "快件运输中 (shop wording)",
                      status=Status.IN_TRANSIT)]}
    with store.transaction():
        store.import_orders([order("o3", ("YT9300000000003", "yuantong"), provider="taobao",
                                   traces=lagging)], "kuaidi100")
    row = store.get(pid)
    assert (row["status"], row["active"], row["last_event_desc"]) == ("delivered", 0, "已签收")
    # A newer scan from the shop does move it.
    newer = {"YT9300000000003": [TrackingEvent(T0 + timedelta(days=3), "退回中",
                                               status=Status.RETURNED)]}
    with store.transaction():
        store.import_orders([order("o3", ("YT9300000000003", "yuantong"), provider="taobao",
                                   traces=newer, hours=1)], "kuaidi100")
    assert store.get(pid)["status"] == "returned"


def test_an_archived_unshipped_order_stays_archived_when_it_ships(store: Store) -> None:
    with store.transaction():
        store.import_orders([order("o4", status=Status.AWAITING_SHIPMENT)], "kuaidi100")
    (placeholder,) = store.db.execute("SELECT id FROM parcels").fetchall()
    with store.transaction():
        store.archive(int(placeholder[0]))
        store.db.execute("UPDATE parcels SET label='gift for mum'")
    with store.transaction():
        changes = store.import_orders([order("o4", ("YT9300000000004", "yuantong"),
                                             hours=2)], "kuaidi100")
    rows = store.db.execute("SELECT number, archived, active, label FROM parcels").fetchall()
    assert [tuple(r) for r in rows] == [("YT9300000000004", 1, 0, "gift for mum")]
    assert changes == []  # no news of a parcel you put away


@pytest.mark.parametrize("together", [True, False])
def test_a_box_shared_with_a_live_order_is_not_cancelled(store: Store, together: bool) -> None:
    """Two orders ship in one box and one is refunded: the box is still on its way to the
    other order. It used to be cancelled, never polled again and gone from `list`."""
    box = ("YT9300000000005", "yuantong")
    live = order("B", box, status=Status.IN_TRANSIT)
    closed = order("A", box, status=Status.CANCELLED, hours=1)
    with store.transaction():
        if together:
            store.import_orders([closed, live], "kuaidi100")  # the closed one first
        else:
            store.import_orders([live], "kuaidi100")
            store.import_orders([closed], "kuaidi100")
    row = store.db.execute("SELECT status, active, next_check_at FROM parcels").fetchone()
    assert row["status"] != "cancelled" and row["active"] == 1
    assert row["next_check_at"] is not None
    due = [r["number"] for r in store.due(datetime.now(UTC) + timedelta(days=1))]
    assert due == ["YT9300000000005"]


def test_a_box_of_one_closed_order_is_still_cancelled(store: Store) -> None:
    with store.transaction():
        store.import_orders([order("A", ("YT9300000000006", "yuantong"))], "kuaidi100")
        store.import_orders([order("A", ("YT9300000000006", "yuantong"),
                                   status=Status.CANCELLED, hours=1)], "kuaidi100")
    assert store.db.execute("SELECT status FROM parcels").fetchone()[0] == "cancelled"
