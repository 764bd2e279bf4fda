""""cainiao" is a tracker, not a carrier: what the store keeps of its answers, and how stores
that already hold carrier 'cainiao' (written by older versions) are repaired."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parcelctl import store as store_module
from parcelctl.migrations import MIGRATIONS
from parcelctl.models import Order, Status, TrackResult, Waybill
from parcelctl.store import Store

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
REPAIR = "cainiao is not a carrier"


def _order(number: str, carrier: str = "zhongtong") -> Order:
    return Order("kuaishou", "shop", f"order-{number}", Status.IN_TRANSIT,
                 waybills=[Waybill(number, carrier)])


def _answer(store: Store, pid: int, carrier: str) -> None:
    with store.transaction():
        store.apply_result(pid, TrackResult("75312345678901", carrier, Status.IN_TRANSIT),
                           next_check_at=None, checked_at=NOW)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "parcels.db")


def test_the_tracker_naming_itself_is_not_a_detected_carrier(store: Store) -> None:
    with store.transaction():
        pid, _ = store.add_parcel("75312345678901", "", tracking_provider="cainiao")
    _answer(store, pid, "cainiao")
    assert store.get(pid)["carrier"] == ""
    with store.transaction():
        store.import_orders([_order("75312345678901")], "cainiao")
    [row] = store.find_all("75312345678901")
    assert row["carrier"] == "zhongtong"


def test_an_answer_never_replaces_or_blanks_a_carrier(store: Store) -> None:
    with store.transaction():
        pid, _ = store.add_parcel("75312345678901", "zhongtong", tracking_provider="17track")
    for carrier in ("", "yuantong"):
        _answer(store, pid, carrier)
        assert store.get(pid)["carrier"] == "zhongtong"


def test_a_carrier_another_tracker_detected_is_kept(store: Store) -> None:
    with store.transaction():
        pid, _ = store.add_parcel("75312345678901", "", tracking_provider="17track")
    _answer(store, pid, "zhongtong")
    assert store.get(pid)["carrier"] == "zhongtong"


def _old_store(path: Path, monkeypatch: pytest.MonkeyPatch,
               rows: list[tuple[str, str, str, str]]) -> None:
    """A store as an older parcelctl left it: (carrier, number, tracker, kind) rows."""
    names = [name for name, _ in MIGRATIONS]
    assert REPAIR in names, "no migration repairs carrier 'cainiao'"
    before = names.index(REPAIR)  # by name: its number depends on what else was added
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:before])
        with Store(path) as old, old.transaction():
            # Plain INSERTs: add_parcel would merge the twins, which older versions did not.
            old.db.executemany(
                "INSERT INTO parcels (carrier, number, tracking_provider, kind, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, '2026-01-01T00:00:00+00:00',"
                " '2026-01-01T00:00:00+00:00')", rows)
            assert old.db.execute("PRAGMA user_version").fetchone()[0] == before


def test_migration_blanks_cainiao_so_a_shop_import_merges(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    path = tmp_path / "parcels.db"
    _old_store(path, monkeypatch, [
        ("cainiao", "75312345678901", "cainiao", "waybill"),  # what the bug wrote: repaired
        ("cainiao", "LP00123456789012", "kuaidi100", "waybill"),  # kuaidi100's own code: kept
        # Twins: blanking would collide with UNIQUE (carrier, number), or leave two parcels
        # that only a person can reconcile. Both stay as they are.
        ("cainiao", "YT9300000314187", "cainiao", "waybill"),
        ("", "YT9300000314187", "cainiao", "waybill"),
        ("cainiao", "773027491214552", "cainiao", "waybill"),
        ("shentong", "773027491214552", "cainiao", "waybill"),
    ])
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        carriers = {(r["number"], r["carrier"]) for r in store.db.execute(
            "SELECT number, carrier FROM parcels")}
        assert carriers == {
            ("75312345678901", ""), ("LP00123456789012", "cainiao"),
            ("YT9300000314187", "cainiao"), ("YT9300000314187", ""),
            ("773027491214552", "cainiao"), ("773027491214552", "shentong")}
        with store.transaction():
            store.import_orders([_order("75312345678901")], "cainiao")
        [row] = store.find_all("75312345678901")
        assert row["carrier"] == "zhongtong"


def test_a_reader_upgrades_an_old_store_instead_of_refusing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first `list` after upgrading parcelctl used to fail with "the database needs an
    upgrade" until something wrote; it upgrades through a writing connection, then reads."""
    path = tmp_path / "parcels.db"
    _old_store(path, monkeypatch, [("cainiao", "75312345678901", "cainiao", "waybill")])
    with Store(path, readonly=True) as reader:
        assert reader.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert reader.db.execute("SELECT carrier FROM parcels").fetchone()[0] == ""
        with pytest.raises(sqlite3.OperationalError):  # still a reader
            reader.db.execute("DELETE FROM parcels")
