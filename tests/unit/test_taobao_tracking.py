"""Taobao waybills are tracked like every other, and Taobao's own trace is extra detail.

Sources: errata.md T1-T4; ``bububa/opentaobao`` (generated from TOP metadata)
``metadata/assets/json/tblogistics/taobao_logistics_trace_search.json`` (offline.send
waybills say "对方已签收" as soon as they ship) and the vendor Java SDK
``cattles/taobao-sdk-java`` ``src/main/java/com/taobao/api/response/
LogisticsTraceSearchResponse.java`` (the ten summary texts).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parcelctl import store as store_module
from parcelctl.migrations import MIGRATIONS
from parcelctl.models import Order, Status, TrackingEvent, TrackResult, Waybill
from parcelctl.providers import taobao
from parcelctl.providers.taobao import TopError
from parcelctl.store import Store

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
NUMBER = "YT9300000000777"
VENDOR_SUMMARIES = [  # LogisticsTraceSearchResponse.java, in its order
    "等候发送给物流公司", "已提交给物流公司,等待物流公司接单", "已经确认消息接收，等待物流公司接单",
    "物流公司已接单", "物流公司不接单", "物流公司揽收失败", "物流公司揽收成功", "签收失败",
    "对方已签收", "对方拒绝签收"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "parcels.db")


def shop_order(*events: TrackingEvent, status: Status = Status.INFO_RECEIVED) -> Order:
    return Order("taobao", "shop", "2415000000000001", status,
                 raw_status="WAIT_BUYER_CONFIRM_GOODS",
                 waybills=[Waybill(NUMBER, "yuantong", "圆通速递")],
                 traces={NUMBER: list(events)} if events else {})


def step(hours: float, status: Status | None, code: str = "") -> TrackingEvent:
    return TrackingEvent(T0 + timedelta(hours=hours), f"{code} scan at {hours}h",
                         status=status, raw_code=code)


# -- the tracking provider tracks Taobao waybills ---------------------------------------------

def test_a_taobao_waybill_with_a_trace_follows_the_tracking_provider(store: Store) -> None:
    """It used to name "taobao" as its tracker, so sync never polled it and it stayed
    info_received until the trade closed (issue 15 item 3)."""
    with store.transaction():
        store.import_orders([shop_order(step(0, Status.INFO_RECEIVED, "CONSIGN"))],
                            "kuaidi100")
    [row] = store.find_all(NUMBER)
    assert row["tracking_provider"] == "kuaidi100"
    assert row["next_check_at"] is not None
    assert [r["number"] for r in store.due(T0 + timedelta(days=400))] == [NUMBER]


def test_the_shops_trace_never_moves_a_parcel_backwards(store: Store) -> None:
    """Kuaidi100 says out for delivery; a Taobao step timed a little later but earlier in
    the journey (ARRIVAL, errata T4) used to drag the parcel back to in transit."""
    with store.transaction():
        store.import_orders([shop_order()], "kuaidi100")
        [row] = store.find_all(NUMBER)
        store.apply_result(int(row["id"]), TrackResult(
            NUMBER, "yuantong", Status.OUT_FOR_DELIVERY,
            events=[step(5, Status.OUT_FOR_DELIVERY)]),
            next_check_at=T0 + timedelta(hours=6), checked_at=T0 + timedelta(hours=5))
    with store.transaction():
        store.import_orders([shop_order(step(6, Status.IN_TRANSIT, "ARRIVAL"))], "kuaidi100")
    row = store.find_all(NUMBER)[0]
    assert row["status"] == "out_for_delivery"
    assert len(store.events(int(row["id"]))) == 2  # the step is kept as detail
    # A later step that is further along does move it.
    with store.transaction():
        store.import_orders([shop_order(step(7, Status.READY_FOR_PICKUP, "STA_SIGN"))],
                            "kuaidi100")
    assert store.find_all(NUMBER)[0]["status"] == "ready_for_pickup"


def test_migration_hands_stored_taobao_waybills_to_the_tracker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores written before this fix hold Taobao waybills tracked by "taobao"."""
    names = [name for name, _ in MIGRATIONS]
    assert "taobao waybills are tracked" in names
    before = names.index("taobao waybills are tracked")
    path = tmp_path / "parcels.db"
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:before])
        with Store(path) as old, old.transaction():
            old.add_parcel(NUMBER, "yuantong", tracking_provider="taobao")
            old.add_parcel("SF1321934960512", "shunfeng", tracking_provider="kuaidi100")
    with Store(path) as store:
        trackers = {r["number"]: r["tracking_provider"] for r in store.db.execute(
            "SELECT number, tracking_provider FROM parcels")}
    assert trackers == {NUMBER: "", "SF1321934960512": "kuaidi100"}


# -- the trace's vocabulary --------------------------------------------------------------------

def test_every_vendor_summary_text_is_mapped() -> None:
    assert list(taobao.TRACE_STATUS) == VENDOR_SUMMARIES
    assert taobao.TRACE_STATUS["物流公司揽收成功"] is Status.IN_TRANSIT
    assert taobao.TRACE_STATUS["对方拒绝签收"] is Status.EXCEPTION


@pytest.mark.parametrize(("action", "status"), [
    ("CONSIGN", Status.INFO_RECEIVED), ("GOT", Status.IN_TRANSIT),
    ("ARRIVAL", Status.IN_TRANSIT), ("DEPARTURE", Status.IN_TRANSIT),
    ("SENT_SCAN", Status.OUT_FOR_DELIVERY), ("SIGNED", Status.DELIVERED),
    ("FAILED", Status.EXCEPTION), ("TMS_SIGN", Status.DELIVERED),
    ("STA_SIGN", Status.READY_FOR_PICKUP), ("ARRIVE", Status.IN_TRANSIT)])
def test_errata_t4_action_codes(action: str, status: Status) -> None:
    """errata T4 (third-party evidence): STA_SIGN = signed by a station, waiting."""
    trace = taobao.parse_trace(trace_payload("物流公司揽收成功", action))
    assert [e.status for e in trace.events] == [status]


def trace_payload(summary: str, *actions: str) -> dict[str, Any]:
    return {"logistics_trace_search_response": {
        "out_sid": NUMBER, "company_name": "圆通速递", "tid": 1, "status": summary,
        "trace_list": {"transit_step_info": [
            {"status_time": f"2026-03-0{i + 1} 10:00:00", "status_desc": a, "action": a}
            for i, a in enumerate(actions)]}}}


@pytest.mark.parametrize(("actions", "expected"), [
    (("CONSIGN", "GOT"), None),  # offline.send: says signed as soon as it ships
    (("CONSIGN", "GOT", "STA_SIGN"), None),  # at a station, not collected
    (("CONSIGN", "GOT", "SIGNED"), Status.DELIVERED),
    (("GOT", "TMS_SIGN"), Status.DELIVERED)])
def test_signed_summary_is_no_delivery_on_its_own(actions: tuple[str, ...],
                                                  expected: Status | None) -> None:
    trace = taobao.parse_trace(trace_payload("对方已签收", *actions))
    assert trace.summary(taobao.TRACE_STATUS) is expected


def test_code_22_names_the_list_method() -> None:
    """errata T1: a method outside TOP's catalogue answers code 22 (Invalid Method)."""
    with pytest.raises(TopError) as caught:
        taobao.unwrap({"error_response": {"code": 22, "msg": "Invalid method"}},
                      "taobao.trades.bought.get")
    assert caught.value.code == "22"
    assert "trades_method" in (caught.value.hint or "")
    assert "taobao.trades.sold.get" in (caught.value.hint or "")


def test_sold_get_lists_the_waybills_of_shipped_trades() -> None:
    """trades.sold.get's sub-orders name their package: orders.invoice_no and
    orders.logistics_company (bububa/opentaobao tbtrade/taobao_trades_sold_get.json)."""
    payload = {"trades_sold_get_response": {"total_results": 2, "trades": {"trade": [
        {"tid": 1, "status": "SELLER_CONSIGNED_PART", "seller_nick": "沙盒小店",
         "orders": {"order": [
             {"oid": 11, "title": "杯", "invoice_no": "YT1", "logistics_company": "圆通速递"},
             {"oid": 12, "title": "盖", "invoice_no": "ZT2", "logistics_company": "中通快递"},
             {"oid": 13, "title": "勺", "invoice_no": "YT1", "logistics_company": "圆通速递"},
             {"oid": 14, "title": "垫"}]}},
        {"tid": 2, "status": "WAIT_SELLER_SEND_GOODS", "orders": {"order": [
            {"oid": 21, "title": "杯", "invoice_no": "SF9"}]}}]}}}
    first, second = taobao.parse_trades(payload, "shop").orders
    assert [(w.number, w.carrier) for w in first.waybills] == [
        ("YT1", "yuantong"), ("ZT2", "zhongtong")]
    assert second.waybills == [] and second.status is Status.AWAITING_SHIPMENT
    assert first.shop == "沙盒小店"


def test_fullinfo_gives_the_waybills_the_list_left_out() -> None:
    """trade.fullinfo.get answers one ``trade`` whose orders carry invoice_no
    (bububa/opentaobao tbtrade/taobao_trade_fullinfo_get.json)."""
    payload = {"trade_fullinfo_get_response": {"trade": {"tid": 1, "orders": {"order": [
        {"oid": 11, "invoice_no": "YT1", "logistics_company": "圆通速递"}]}}}}
    assert [(w.number, w.carrier, w.raw_carrier) for w in taobao.parse_fullinfo(payload)] == [
        ("YT1", "yuantong", "圆通速递")]
