"""The Taobao sandbox answers as TOP does, and the provider speaks what TOP offers.

Sources: errata.md T1-T4; ``bububa/opentaobao`` (generated from TOP's live metadata)
``metadata/assets/json/tbtrade/taobao_trades_sold_get.json``,
``metadata/assets/json/tbtrade/taobao_trade_fullinfo_get.json`` and
``metadata/assets/json/tblogistics/taobao_logistics_trace_search.json``; the vendor Java SDK
``cattles/taobao-sdk-java`` ``src/main/java/com/taobao/api/response/
LogisticsTraceSearchResponse.java`` (trace summary vocabulary). Requests here are signed by
hand with the sheet's rule (taobao.md §2), not by the provider.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from parcelctl import oauth
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Order, Status
from parcelctl.providers.base import AccountSession
from parcelctl.providers.taobao import TaobaoProvider, TopError

BEIJING = timezone(timedelta(hours=8))
VENDOR_SUMMARIES = {
    "等候发送给物流公司", "已提交给物流公司,等待物流公司接单", "已经确认消息接收，等待物流公司接单",
    "物流公司已接单", "物流公司不接单", "物流公司揽收失败", "物流公司揽收成功", "签收失败",
    "对方已签收", "对方拒绝签收"}
Sandbox = Any


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    from parcelctl.sandbox.server import RunningSandbox, Sandbox

    with RunningSandbox(Sandbox(services=["taobao"])) as running:
        yield running


def _settings(sb: Sandbox, **more: Any) -> dict[str, Any]:
    return dict(sb.sandbox.credentials()["taobao"]) | more


async def _orders(sb: Sandbox, **more: Any) -> list[Order]:
    async with HttpClient("taobao", retry=RetryPolicy(attempts=2, base_delay=0.01)) as http:
        provider = TaobaoProvider(_settings(sb, **more), http)
        state = oauth.new_state()
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(provider.authorize_url(state))
        tokens = await provider.exchange_code(
            oauth.parse_redirect(answer.headers["location"], state))
        return await provider.list_orders(AccountSession("taobao", "shop", tokens,
                                                         lambda t: None))


def _session(sb: Sandbox) -> str:
    creds = sb.sandbox.credentials()["taobao"]
    location = httpx.get(creds["auth_url"], params={
        "response_type": "code", "client_id": creds["app_key"], "state": "s",
        "redirect_uri": "http://127.0.0.1:8976/callback"}, trust_env=False).headers["location"]
    code = oauth.parse_redirect(location, "s")
    token = httpx.post(creds["token_url"], data={
        "grant_type": "authorization_code", "code": code, "client_id": creds["app_key"],
        "client_secret": creds["app_secret"],
        "redirect_uri": "http://127.0.0.1:8976/callback"}, trust_env=False).json()
    return str(token["access_token"])


def gateway(sb: Sandbox, method: str, session: str, **business: str) -> Any:
    """One request signed with the sheet's md5 rule."""
    creds = sb.sandbox.credentials()["taobao"]
    params = {"method": method, "app_key": creds["app_key"], "session": session,
              "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
              "format": "json", "v": "2.0", "sign_method": "md5"} | business
    text = "".join(k + params[k] for k in sorted(params))
    secret = creds["app_secret"]
    params["sign"] = hashlib.md5((secret + text + secret).encode()).hexdigest().upper()
    return httpx.post(creds["base_url"], data=params, trust_env=False).json()


# -- the sandbox ------------------------------------------------------------------------------

def test_trades_bought_get_is_not_in_the_catalogue(served: Sandbox) -> None:
    """errata T1: TOP's catalogue has no taobao.trades.bought.get; code 22 Invalid Method."""
    answer = gateway(served, "taobao.trades.bought.get", _session(served), fields="tid")
    assert answer["error_response"]["code"] == 22


def test_sold_get_pages_and_names_each_sub_orders_package(served: Sandbox) -> None:
    """sold.get: fields required, page_size max 100, total_results or has_next with
    use_has_next=true, orders.invoice_no / orders.logistics_company per sub-order."""
    session = _session(served)
    fields = "tid,status,orders.oid,orders.invoice_no,orders.logistics_company"
    assert gateway(served, "taobao.trades.sold.get", session)["error_response"]["code"] == 15
    bad = gateway(served, "taobao.trades.sold.get", session, fields="tid", page_size="101")
    assert bad["error_response"]["sub_code"] == "isv.invalid-parameter"
    body = gateway(served, "taobao.trades.sold.get", session, fields=fields,
                   page_size="100")["trades_sold_get_response"]
    trades = body["trades"]["trade"]
    assert body["total_results"] == len(trades) > 5 and "has_next" not in body
    shipped = [t for t in trades if t["status"] in ("WAIT_BUYER_CONFIRM_GOODS",
                                                    "TRADE_FINISHED")]
    assert shipped and all(t["orders"]["order"][0]["invoice_no"] for t in shipped)
    assert all(t["orders"]["order"][0]["logistics_company"] for t in shipped)
    paged = gateway(served, "taobao.trades.sold.get", session, fields="tid", page_size="5",
                    use_has_next="true")["trades_sold_get_response"]
    assert paged["has_next"] is True and "total_results" not in paged


def test_fullinfo_needs_fields_and_tid(served: Sandbox) -> None:
    session = _session(served)
    tid = next(str(o.oid) for o in served.sandbox.dataset.orders if o.waybills)
    assert "error_response" in gateway(served, "taobao.trade.fullinfo.get", session, tid=tid)
    assert "error_response" in gateway(served, "taobao.trade.fullinfo.get", session,
                                       fields="tid")
    trade = gateway(served, "taobao.trade.fullinfo.get", session, tid=tid,
                    fields="tid,orders.invoice_no")["trade_fullinfo_get_response"]["trade"]
    assert trade["tid"] == int(tid) and trade["orders"]["order"][0]["invoice_no"]


def test_trace_search_by_tid_speaks_the_vendor_vocabulary(served: Sandbox) -> None:
    """trace.search takes tid (+ is_split); seller_nick is no parameter of it any more
    (errata T2) and, like any undeclared parameter, is ignored, not required. Its summary
    texts are the vendor SDK's, and offline.send waybills say 对方已签收 from the start."""
    session = _session(served)
    service = served.sandbox.services["taobao"]
    summaries: set[str] = set()
    offline_unsigned = 0
    for _, order in service._mine():
        if not order.waybills:
            continue
        answer = gateway(served, "taobao.logistics.trace.search", session, tid=str(order.oid),
                         is_split="0")["logistics_trace_search_response"]
        assert answer["out_sid"] == order.waybills[0][0]
        summaries.add(answer["status"])
        steps = answer["trace_list"]["transit_step_info"]
        if service.offline(order):
            assert answer["status"] == "对方已签收"
            offline_unsigned += not steps or steps[-1]["action"] not in ("SIGNED", "TMS_SIGN")
    assert summaries <= VENDOR_SUMMARIES and len(summaries) > 2
    assert offline_unsigned  # the case the provider must not call delivered
    order = next(o for _, o in service._mine() if o.waybills)
    extra = gateway(served, "taobao.logistics.trace.search", session, tid=str(order.oid),
                    seller_nick=served.sandbox.dataset.seller_nick)
    assert "logistics_trace_search_response" in extra


# -- the provider against it -------------------------------------------------------------------

def test_provider_lists_the_shops_sold_trades(served: Sandbox) -> None:
    """Nothing imported before: the provider asked for taobao.trades.bought.get (T1)."""
    orders = asyncio.run(_orders(served))
    service = served.sandbox.services["taobao"]
    assert {o.order_id for o in orders} == {str(o.oid) for _, o in service._mine()}
    shipped = {str(o.oid): o.waybills[0][0] for _, o in service._mine() if o.waybills}
    offline_checked = 0
    for order in orders:
        assert order.shop == served.sandbox.dataset.seller_nick
        assert [w.number for w in order.waybills] == ([shipped[order.order_id]]
                                                      if order.order_id in shipped else [])
        source = next(o for _, o in service._mine() if str(o.oid) == order.order_id)
        if service.offline(source) and order.waybills and order.raw_status != "TRADE_FINISHED":
            trace = order.traces.get(order.waybills[0].number, [])
            signed = bool(trace) and trace[-1].status is Status.DELIVERED
            assert (order.status is Status.DELIVERED) == signed, order
            offline_checked += not signed
    assert offline_checked  # "对方已签收" over unsigned steps was met, and not believed


def test_waybills_come_from_fullinfo_when_the_list_leaves_them_out(served: Sandbox) -> None:
    base = served.base_url
    httpx.post(f"{base}/_sandbox/service/taobao", json={"list_waybills": False})
    try:
        orders = asyncio.run(_orders(served, trace_method="taobao.nothing.here"))
    finally:
        httpx.post(f"{base}/_sandbox/service/taobao", json={"list_waybills": True})
    shipped = [o for o in orders if o.raw_status in ("WAIT_BUYER_CONFIRM_GOODS",
                                                     "TRADE_FINISHED")]
    # No trace at all (an unknown trace method answers 22): the waybills still arrive.
    assert shipped and all(o.waybills and not o.traces for o in shipped)
    stats = httpx.get(f"{base}/_sandbox/stats").json()["requests"]
    assert stats["taobao taobao.trade.fullinfo.get"] >= len(shipped)


def test_the_old_list_method_fails_with_a_clear_hint(served: Sandbox) -> None:
    with pytest.raises(TopError) as caught:
        asyncio.run(_orders(served, trades_method="taobao.trades.bought.get"))
    assert caught.value.code == "22" and "trades_method" in (caught.value.hint or "")
