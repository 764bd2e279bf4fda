"""Matching texts against the store: attach by tail, pickup items, never twice, notify once,
lifetime of pickup items, the tail index. Texts are rows of pickup-texts.md (sources in
tests/fixtures/pickup_texts.json) unless marked constructed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parcelctl import views
from parcelctl.errors import UsageError
from parcelctl.models import Status, TrackingEvent, TrackResult
from parcelctl.notify import Notifier, Settings
from parcelctl.status import CHINA_TZ
from parcelctl.store import Store
from parcelctl.texts.importer import Importer, collect, tail_candidates
from parcelctl.texts.inbox import MAX_MESSAGE, Message, read_messages
from tests.conftest import load_fixture

ROWS = {s["id"]: s["text"] for s in load_fixture("pickup_texts.json")["samples"]}
NOW = datetime(2026, 12, 7, 1, 15, tzinfo=UTC)  # 09:15 in China


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "parcels.db") as opened:
        yield opened


def _add(store: Store, number: str, carrier: str = "", status: Status = Status.IN_TRANSIT,
         at: datetime | None = None) -> int:
    with store.transaction():
        pid, _ = store.add_parcel(number, carrier, tracking_provider="kuaidi100")
        when = at or NOW - timedelta(days=1)
        store.apply_result(pid, TrackResult(number, carrier, status, events=[
            TrackingEvent(when, "快件已到达转运中心", status=status)]),
            next_check_at=NOW + timedelta(hours=1), checked_at=when)
    return pid


def _notifier(store: Store) -> Notifier:
    return Notifier(Settings(), store, clock=lambda: NOW)


def _import(store: Store, *texts: str, notifier: Notifier | None = None,
            dry_run: bool = False, clock: datetime = NOW) -> list[str]:
    importer = Importer(store, tracking_provider="kuaidi100", clock=lambda: clock,
                        notifier=notifier)
    messages = [Message(i, t, NOW) for i, t in enumerate(texts, start=1)]
    report = importer.run(messages, dry_run=dry_run)
    return [o.outcome for o in report.outcomes]


def _row(store: Store, number: str) -> dict[str, object]:
    return dict(store.db.execute("SELECT * FROM parcels WHERE number = ?", (number,)).fetchone())


def test_a_code_attaches_to_the_parcel_with_the_tail(store: Store) -> None:
    pid = _add(store, "YT9693083636017", "yuantong")
    assert _import(store, ROWS[2], notifier=_notifier(store)) == ["attached"]
    row = _row(store, "YT9693083636017")
    assert (row["status"], row["pickup_code"], row["station"]) == (
        "ready_for_pickup", "1-4-4230", "尚璟瑞府妈妈驿站")
    [event] = [e for e in store.events(pid) if e["raw_code"] == "text"]
    assert event["location"] == "尚璟瑞府妈妈驿站" and event["status"] == "ready_for_pickup"
    assert store.db.execute("SELECT count(*) FROM parcels WHERE kind='pickup'").fetchone()[0] == 0


def test_the_carrier_must_agree(store: Store) -> None:
    _add(store, "JT0006968326017", "jtexpress")  # same tail, another carrier
    assert _import(store, ROWS[2]) == ["pickup"]  # 【圆通快递】… 运单尾号6017
    assert _row(store, "JT0006968326017")["status"] == "in_transit"
    assert _row(store, "PU-1-4-4230")["pickup_tail"] == "6017"


def test_several_candidates_the_newest_and_said_so(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong")
    _add(store, "200093246017", "")  # unknown carrier agrees with any
    report = Importer(store, tracking_provider="kuaidi100", clock=lambda: NOW).run(
        [Message(1, ROWS[2], NOW)])
    [outcome] = report.outcomes
    assert outcome.reference == "200093246017" and outcome.candidates == 2
    assert "2 tracked parcels end with 6017" in outcome.note


def test_delivered_parcels_are_not_candidates(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong", Status.DELIVERED)
    assert _import(store, ROWS[2]) == ["pickup"]


def test_no_tail_no_match_is_a_pickup_item(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong")
    assert _import(store, ROWS[4]) == ["pickup"]  # 袋鼠智柜 692035, no tail
    row = _row(store, "PU-692035")
    assert (row["kind"], row["status"], row["pickup_code"], row["station"]) == (
        "pickup", "ready_for_pickup", "692035", "袋鼠智柜 4号柜")
    assert row["next_check_at"] is None and row["tracking_provider"] == ""
    # shown by list and list --attention
    rows, _ = views.list_parcels(store.db, attention=True, now=NOW)
    assert [r["number"] for r in rows] == ["PU-692035"]


def test_a_full_number_in_the_notice_is_added_and_gets_the_code(store: Store) -> None:
    assert _import(store, ROWS[14]) == ["attached"]  # 取货码5-5-9-13 … YT764306505052
    row = _row(store, "YT764306505052")
    assert (row["kind"], row["pickup_code"]) == ("waybill", "5-5-9-13")
    assert store.sources(int(row["id"]))[0]["provider"] == "text"


def test_an_order_text_adds_a_waybill(store: Store) -> None:
    assert _import(store, "【圆通速递】复制单号 YT9693083639795") == ["added"]  # constructed
    row = _row(store, "YT9693083639795")
    assert (row["carrier"], row["status"], row["tracking_provider"]) == (
        "yuantong", "unknown", "kuaidi100")
    assert _import(store, "圆通 运单号：YT9693083639795 已发货") == ["known"]


def test_never_twice(store: Store) -> None:
    notifier = _notifier(store)
    assert _import(store, ROWS[4], ROWS[4], notifier=notifier) == ["pickup", "duplicate"]
    before = store.db.execute("SELECT * FROM parcels").fetchall()
    # again, in another run, spaced differently and with full-width digits
    again = ROWS[4].replace("692035", "６９２０３５") + "  "
    assert _import(store, again, notifier=notifier) == ["duplicate"]
    assert [tuple(r) for r in store.db.execute("SELECT * FROM parcels")] == [
        tuple(r) for r in before]
    assert store.db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1


def test_a_repeated_code_is_no_new_notification(store: Store) -> None:
    notifier = _notifier(store)
    _add(store, "YT9693083636017", "yuantong")
    reminder = "【圆通快递】提醒：请凭1-4-4230到尚璟瑞府妈妈驿站领取运单尾号6017包裹"  # constructed
    outcomes = _import(store, ROWS[2], reminder, notifier=notifier)
    assert outcomes[0] == "attached"
    assert store.db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1
    # a second code for the same parcel is news
    _import(store, "【圆通快递】请凭2-2-2002到尚璟瑞府妈妈驿站领取运单尾号6017包裹",
            notifier=notifier)  # constructed
    assert store.db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 2


def test_the_notification_carries_code_station_and_deadline(store: Store) -> None:
    notifier = _notifier(store)
    _import(store, ROWS[1], notifier=notifier)  # 请20:30前凭10-2-7507取件
    [payload] = [json.loads(r[0]) for r in store.db.execute("SELECT payload FROM notifications")]
    assert payload["pickup_code"] == "10-2-7507"
    assert payload["station"] == "武汉市尚璟瑞府11栋101门店"
    assert payload["deadline"] == "2026-12-07T20:30:00+08:00"
    assert payload["kind"] == "pickup" and payload["new_status"] == "ready_for_pickup"


def test_no_notification_when_pickups_are_not_wanted(store: Store) -> None:
    notifier = Notifier(Settings(on=frozenset({"delivered"})), store, clock=lambda: NOW)
    _import(store, ROWS[1], notifier=notifier)
    assert store.db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 0


def test_unrecognised_and_refused_are_never_stored(store: Store) -> None:
    outcomes = _import(store, ROWS[15], ROWS[16], ROWS[23])
    assert outcomes == ["unrecognised"] * 3
    assert store.db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM text_messages").fetchone()[0] == 0
    [message] = list(read_messages("取件码1-1-1001 " + "很" * MAX_MESSAGE))
    report = Importer(store, tracking_provider="kuaidi100").run([message])
    assert report.outcomes[0].outcome == "refused" and report.exit_code == 1
    assert "limit" in report.outcomes[0].note


def test_dry_run_changes_nothing(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong")
    assert _import(store, ROWS[2], ROWS[4], dry_run=True) == ["attached", "pickup"]
    assert _row(store, "YT9693083636017")["status"] == "in_transit"
    assert store.db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 1
    assert _import(store, ROWS[2]) == ["attached"]  # not "duplicate": nothing was kept


def test_a_stale_text_does_not_reopen_a_delivered_parcel(store: Store) -> None:
    _add(store, "200093244650", "", Status.DELIVERED, at=NOW + timedelta(hours=2))
    report = Importer(store, tracking_provider="kuaidi100").run(
        [Message(1, "【递管家】您的快递:*94650已到，请用Q7-32到人工货架取包裹", NOW)])
    # not a candidate (delivered): a pickup item, and the parcel stays delivered
    assert report.outcomes[0].outcome == "pickup"
    assert _row(store, "200093244650")["status"] == "delivered"


def test_a_lagging_tracker_does_not_take_the_pickup_back(store: Store) -> None:
    pid = _add(store, "YT9693083636017", "yuantong")
    _import(store, ROWS[2])
    older = TrackResult("YT9693083636017", "yuantong", Status.IN_TRANSIT, events=[
        TrackingEvent(NOW - timedelta(hours=3), "快件离开分拨中心", status=Status.IN_TRANSIT)])
    with store.transaction():
        store.apply_result(pid, older, next_check_at=None, checked_at=NOW)
    row = _row(store, "YT9693083636017")
    assert (row["status"], row["pickup_code"]) == ("ready_for_pickup", "1-4-4230")
    assert row["last_event_desc"].startswith("【圆通快递】")
    newer = TrackResult("YT9693083636017", "yuantong", Status.DELIVERED, events=[
        TrackingEvent(NOW + timedelta(hours=3), "已签收", status=Status.DELIVERED)])
    with store.transaction():
        store.apply_result(pid, newer, next_check_at=None, checked_at=NOW)
    assert _row(store, "YT9693083636017")["status"] == "delivered"


def test_collected_by_code_number_or_tail(store: Store) -> None:
    _import(store, ROWS[4], ROWS[13])
    with store.transaction():
        assert collect(store, "692035")["number"] == "PU-692035"
    with store.transaction():  # the second of three codes in one notice
        assert collect(store, "2-5-7075")["number"] == "PU-2-5-7077"
    rows, _ = views.list_parcels(store.db, now=NOW)
    assert rows == []
    with pytest.raises(UsageError, match="not waiting"), store.transaction():
        collect(store, "PU-692035")
    with pytest.raises(UsageError, match="nothing waiting"), store.transaction():
        collect(store, "9-9-9999")


def test_collected_tracked_parcel_stops_polling(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong")
    _import(store, ROWS[2])
    with store.transaction():
        row = collect(store, "YT9693083636017")
    assert (row["status"], row["next_check_at"]) == ("delivered", None)


def test_an_ambiguous_code_is_refused(store: Store) -> None:
    _import(store, ROWS[4], "【丰巢】取件码692035，请到东门丰巢柜取件")  # constructed
    with pytest.raises(UsageError, match="matches 2"), store.transaction():
        collect(store, "692035")


def test_pickup_items_expire(store: Store) -> None:
    _import(store, ROWS[1], ROWS[4])  # deadline 20:30 that day / no deadline
    deadline = datetime(2026, 12, 7, 20, 30, tzinfo=CHINA_TZ)
    soon = deadline + timedelta(days=2)
    assert len(views.list_parcels(store.db, now=soon)[0]) == 2
    later = deadline + timedelta(days=3, minutes=1)
    assert [r["number"] for r in views.list_parcels(store.db, now=later)[0]] == ["PU-692035"]
    week = NOW + timedelta(days=7, minutes=1)
    assert views.list_parcels(store.db, now=week)[0] == []
    # the next import archives them; --all still shows them
    report = Importer(store, tracking_provider="kuaidi100", clock=lambda: week).run([])
    assert report.swept["expired"] == 2
    assert _row(store, "PU-692035")["archived"] == 1


def test_a_pickup_item_moves_onto_a_parcel_tracked_later(store: Store) -> None:
    _import(store, ROWS[11])  # 24-4-3882 … 极兔3882
    pid = _add(store, "JT0006968323882", "jtexpress")
    report = Importer(store, tracking_provider="kuaidi100", clock=lambda: NOW).run([])
    assert report.swept["moved"] == 1
    row = dict(store.get(pid))
    assert (row["status"], row["pickup_code"], row["station"]) == (
        "ready_for_pickup", "24-4-3882", "菜鸟驿站")
    assert store.db.execute("SELECT count(*) FROM parcels WHERE kind='pickup'").fetchone()[0] == 0


def test_a_pickup_item_ends_when_its_parcel_is_delivered(store: Store) -> None:
    _import(store, ROWS[11])
    _add(store, "JT0006968323882", "jtexpress", Status.DELIVERED, at=NOW + timedelta(hours=1))
    report = Importer(store, tracking_provider="kuaidi100", clock=lambda: NOW).run([])
    assert report.swept["collected"] == 1
    assert _row(store, "PU-24-4-3882")["status"] == "delivered"


def test_tail_matching_uses_the_index(store: Store) -> None:
    """Matching a tail against 100,000 parcels must not read them all."""
    sql = ("SELECT id FROM parcels WHERE substr(number, -4) = ? AND substr(number, ?) = ?"
           " AND kind = 'waybill' AND active = 1")
    plan = " ".join(str(row[3]) for row in store.db.execute(
        "EXPLAIN QUERY PLAN " + sql, ("6017", -4, "6017")))
    assert "USING INDEX parcels_tail4" in plan and "SCAN" not in plan
    _add(store, "YT9693083636017", "yuantong")
    assert [r["number"] for r in tail_candidates(store.db, "36017", "yuantong")] == [
        "YT9693083636017"]
    assert tail_candidates(store.db, "46017", "yuantong") == []


def test_a_waybill_row_in_the_json_has_station_and_deadline(store: Store) -> None:
    _add(store, "YT9693083636017", "yuantong")
    _import(store, "【圆通快递】请20:30前凭1-4-4230到尚璟瑞府妈妈驿站领取运单尾号6017包裹")
    rows, _ = views.list_parcels(store.db, now=NOW)
    [data] = list(views.iter_json(store.db, rows))
    assert data["station"] == "尚璟瑞府妈妈驿站"
    assert data["pickup_deadline"] == "2026-12-07T20:30:00+08:00"
    assert "pickup" not in data


@pytest.mark.parametrize(("sql", "index"), [
    # the pickup item a notice repeats: by its PU- number, by its tail
    ("SELECT * FROM parcels WHERE number >= 'PU-1' AND number <= 'PU-1-z' AND +kind = 'pickup'"
     " AND +active = 1", "parcels_number"),
    ("SELECT * FROM parcels WHERE pickup_tail = '1234' AND kind = 'pickup' AND +active = 1",
     "parcels_pickup_tail"),
    # the sweep reads pickup items only, not every active parcel
    ("SELECT * FROM parcels INDEXED BY parcels_pickup_tail WHERE kind = 'pickup'"
     " AND +active = 1 AND pickup_tail IS NOT NULL", "parcels_pickup_tail"),
])
def test_pickup_item_lookups_use_an_index(store: Store, sql: str, index: str) -> None:
    plan = " ".join(str(row[3]) for row in store.db.execute("EXPLAIN QUERY PLAN " + sql))
    assert f"INDEX {index}" in plan
