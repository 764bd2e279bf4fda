"""TOP's limits on the seller's trade list and trace, as the vendor's metadata states them.

Sources: ``bububa/opentaobao`` (generated from TOP's metadata)
``metadata/assets/json/tbtrade/taobao_trades_sold_get.json`` ("只能获取到三个月以内的交易
信息", ``start_created`` "查询三个月内交易创建时间开始", ``type`` "默认同时查询guarantee_trade,
auto_delivery,ec,cod,step"), ``metadata/assets/json/tblogistics/
taobao_logistics_trace_search.json`` (``status_time`` a String "状态发生的时间", example
"2010-8-10 15：23：00"), and opentaobao's error response (``request_id``, integer ``code``,
``msg``, ``sub_code``, ``sub_msg``). Requests to the sandbox are signed by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from parcelctl.errors import ConfigError
from parcelctl.http import HttpClient
from parcelctl.models import TokenSet
from parcelctl.providers.base import AccountSession
from parcelctl.providers.taobao import TaobaoProvider, parse_trace
from parcelctl.sandbox.dataset import at

from .test_taobao_vendor import BEIJING, _orders, _session, gateway

Sandbox = Any
SOLD = "taobao.trades.sold.get"
SHIPPED = ("WAIT_BUYER_CONFIRM_GOODS", "TRADE_FINISHED")


@pytest.fixture
def served() -> Iterator[Sandbox]:
    from parcelctl.sandbox.server import RunningSandbox, Sandbox

    with RunningSandbox(Sandbox(services=["taobao"])) as running:
        yield running


def knob(sb: Sandbox, **settings: Any) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/service/taobao", json=settings, trust_env=False)


def tids(answer: dict[str, Any]) -> set[str]:
    return {str(t["tid"]) for t in answer["trades_sold_get_response"]["trades"]["trade"]}


# -- 1. a trace whose times cannot be read ----------------------------------------------------
def test_unreadable_trace_times_skip_the_steps_not_the_sync(
        served: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    """trace.search metadata: status_time is a String with no stated format. A form the
    provider cannot read (sandbox knob: epoch ms) drops those steps with a warning; the
    sync goes on and every shipped order keeps its waybills (tracked elsewhere)."""
    knob(served, trace_time_format="ms")
    with caplog.at_level(logging.WARNING, logger="parcelctl.providers.taobao"):
        orders = asyncio.run(_orders(served))
    shipped = [o for o in orders if o.raw_status in SHIPPED]
    assert shipped and all(o.waybills and not o.traces for o in shipped)
    assert "status_time" in caplog.text


def test_the_metadatas_own_example_time_is_read(served: Sandbox) -> None:
    """trace.search metadata description: "如2010-8-10 15：23：00" (unpadded, full-width
    colons)."""
    knob(served, trace_time_format="example")
    orders = asyncio.run(_orders(served))
    traced = [o for o in orders if o.traces]
    assert traced
    first = next(iter(traced[0].traces.values()))[0]
    assert first.time.tzinfo is not None and first.time.year >= 2020


def test_one_bad_step_is_skipped_the_rest_kept() -> None:
    payload = {"logistics_trace_search_response": {
        "out_sid": "YT1", "company_name": "圆通速递", "status": "物流公司揽收成功",
        "trace_list": {"transit_step_info": [
            {"status_time": "2025-01-02 10:00:00", "status_desc": "揽收", "action": "GOT"},
            {"status_time": "昨天", "status_desc": "?", "action": "DEPARTURE"},
            {"status_time": "2025-1-3 08：30：00", "status_desc": "派送", "action":
             "SENT_SCAN"}]}}}
    trace = parse_trace(payload)
    assert [e.description for e in trace.events] == ["揽收", "派送"]
    assert trace.events[1].time == datetime(2025, 1, 3, 8, 30, tzinfo=BEIJING)


# -- 2. three months at most -------------------------------------------------------------------
def test_sold_get_cuts_start_created_to_three_months(served: Sandbox) -> None:
    """sold.get metadata: "只能获取到三个月以内的交易信息". The sandbox *cuts* an older
    start_created to 90 days (the metadata says what can be fetched, not that the call
    fails), so an older start only looks like it worked."""
    service = served.sandbox.services["taobao"]
    httpx.post(f"{served.base_url}/_sandbox/clock", json={"advance": 40 * 86400},
               trust_env=False)  # now some of the shop's trades are over 90 days old
    session = _session(served)
    oldest = service.clock.now() - timedelta(days=90)
    young = {str(o.oid) for _, o in service._mine()
             if at(served.sandbox.dataset.epoch, o.create_hours) >= oldest}
    every = {str(o.oid) for _, o in service._mine()}
    assert young and young != every
    start = (datetime.now(BEIJING) - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
    answer = gateway(served, SOLD, session, fields="tid", page_size="100",
                     start_created=start)
    assert tids(answer) == young
    assert tids(gateway(served, SOLD, session, fields="tid", page_size="100")) == young


@pytest.mark.parametrize("days", ["91", "365"])
def test_lookback_beyond_three_months_is_a_config_error(days: str) -> None:
    """sold.get metadata: start_created "查询三个月内交易创建时间开始": a longer lookback
    would silently get three months, so it is refused up front with a hint."""
    async def main() -> None:
        async with HttpClient("taobao") as http:
            provider = TaobaoProvider({"app_key": "k", "app_secret": "s",
                                       "lookback_days": days}, http)
            await provider.list_orders(AccountSession("taobao", "shop", TokenSet("a", "r"),
                                                      lambda t: None))
    with pytest.raises(ConfigError) as info:
        asyncio.run(main())
    assert "0 to 90" in info.value.message and "lookback_days" in (info.value.hint or "")


# -- 3. trade types ----------------------------------------------------------------------------
def test_without_type_only_the_default_trade_types_are_listed(served: Sandbox) -> None:
    """sold.get metadata: without ``type`` TOP lists guarantee_trade, auto_delivery, ec, cod
    and step trades only; other types (here the shop's tmall_i18n trades) need ``type``."""
    service = served.sandbox.services["taobao"]
    session = _session(served)
    default = tids(gateway(served, SOLD, session, fields="tid,type", page_size="100"))
    assert default == {str(o.oid) for _, o in service._mine()}
    both = gateway(served, SOLD, session, fields="tid,type", page_size="100",
                   type="guarantee_trade,tmall_i18n")
    extra = tids(both) - default
    assert extra and {t["type"] for t in both["trades_sold_get_response"]["trades"]["trade"]
                      if str(t["tid"]) in extra} == {"tmall_i18n"}
    only = tids(gateway(served, SOLD, session, fields="tid", page_size="100",
                        type="tmall_i18n"))
    assert only == extra


def test_trade_types_setting_is_sent_as_type(served: Sandbox) -> None:
    """The ``trade_types`` setting goes out as sold.get's ``type``; unset, TOP's default."""
    default = asyncio.run(_orders(served))
    wider = asyncio.run(_orders(served, trade_types="guarantee_trade,auto_delivery,ec,cod,"
                                "step,tmall_i18n"))
    extra = {o.order_id for o in wider} - {o.order_id for o in default}
    assert extra and {o.order_id for o in default} <= {o.order_id for o in wider}
    assert all(o.waybills for o in wider if o.order_id in extra)


def test_a_trade_type_that_is_not_a_name_is_a_config_error(served: Sandbox) -> None:
    with pytest.raises(ConfigError, match="trade_types"):
        asyncio.run(_orders(served, trade_types="fixed;drop"))


# -- 4. business errors ------------------------------------------------------------------------
def test_business_errors_are_code_15_with_a_request_id(served: Sandbox) -> None:
    """opentaobao's error response: request_id, code (int), msg, sub_code, sub_msg; an
    isv.* business error is code 15 "Remote service error"."""
    session = _session(served)
    bad = gateway(served, SOLD, session, fields="tid", page_size="101")["error_response"]
    assert (bad["code"], bad["msg"]) == (15, "Remote service error")
    assert bad["sub_code"].startswith("isv.") and bad["sub_msg"] and bad["request_id"]
    httpx.post(f"{served.base_url}/_sandbox/faults", json={
        "service": "taobao", "endpoint": SOLD, "kind": "business", "count": 1},
        trust_env=False)
    injected = gateway(served, SOLD, session, fields="tid")["error_response"]
    assert injected["code"] == 15 and injected["sub_code"].startswith("isv.")
    assert injected["request_id"]


# -- 5. list_waybills off: the list leaves the packages to fullinfo ----------------------------
def test_list_without_waybills_leaves_them_to_fullinfo(served: Sandbox) -> None:
    """sold.get metadata: the list holds part of a trade, fullinfo.get the rest. With the
    knob off the list names no package even when asked; fullinfo.get names it."""
    knob(served, list_waybills=False)
    session = _session(served)
    fields = "tid,status,orders.oid,orders.invoice_no,orders.logistics_company"
    trades = gateway(served, SOLD, session, fields=fields, page_size="100")[
        "trades_sold_get_response"]["trades"]["trade"]
    shipped = [t for t in trades if t["status"] in SHIPPED]
    assert shipped and not any("invoice_no" in t["orders"]["order"][0] for t in shipped)
    full = gateway(served, "taobao.trade.fullinfo.get", session, fields=fields,
                   tid=str(shipped[0]["tid"]))["trade_fullinfo_get_response"]["trade"]
    assert full["orders"]["order"][0]["invoice_no"]
    orders = asyncio.run(_orders(served))
    assert all(o.waybills for o in orders if o.raw_status in SHIPPED)
