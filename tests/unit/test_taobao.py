"""Taobao (TOP) provider: signing vectors, golden parsers, status tables, error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelctl.errors import (
    AuthError,
    AuthorizationNeeded,
    ConfigError,
    ProviderChanged,
    ProviderError,
    RateLimited,
    TransientError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TokenSet
from parcelctl.providers import taobao
from parcelctl.providers.base import AccountSession
from parcelctl.providers.taobao import TaobaoProvider, TopError
from tests.conftest import load_fixture

BEIJING = timezone(timedelta(hours=8))

# -- signing (taobao.md §2 known-answer vectors) ---------------------------------------------

VECTORS = {
    "md5": "EF16F26C937CF52AE6F85DF2FD08B24A",
    "hmac": "41EC77C97D8E808985B688BBB518A251",
    "hmac-sha256": "3A9F9E53162A24430830CCA87B7FB623401B81EB6616A6EA75B3614AEBDC7F4D",
}


@pytest.mark.parametrize(("method", "expected"), VECTORS.items())
def test_sign_known_answers(method: str, expected: str) -> None:
    assert taobao.sign({"b": "2", "a": "1"}, "secret", method) == expected


def test_sign_ignores_sign_and_empty_values() -> None:
    params = {"b": "2", "a": "1", "sign": "XYZ", "empty": ""}
    assert taobao.sign(params, "secret", "md5") == VECTORS["md5"]


def test_sign_sorts_by_byte_order() -> None:
    # "A" < "_" < "a" in ASCII: the uppercase name comes first.
    params = {"a": "1", "A": "2", "_": "3"}
    expected = hashlib.md5(b"sA2_3a1s").hexdigest().upper()
    assert taobao.sign(params, "s", "md5") == expected


def test_sign_rejects_unknown_method() -> None:
    with pytest.raises(ConfigError):
        taobao.sign({"a": "1"}, "secret", "sha1")


def test_response_key() -> None:
    assert taobao.response_key("taobao.trades.bought.get") == "trades_bought_get_response"
    assert (taobao.response_key("taobao.logistics.trace.search")
            == "logistics_trace_search_response")


# -- golden payloads --------------------------------------------------------------------------

def test_golden_error_response() -> None:
    with pytest.raises(TopError) as caught:
        taobao.unwrap(load_fixture("taobao-error.json"), "taobao.trades.bought.get")
    err = caught.value
    assert (err.code, err.sub_code) == ("50", "isv.invalid-parameter")
    assert "非法参数" in err.message and err.provider == "taobao"
    assert not err.retryable


def test_golden_trace_search() -> None:
    trace = taobao.parse_trace(load_fixture("taobao-trace-search.json"))
    assert trace.waybill is not None
    assert trace.waybill.number == "1324657987"
    assert trace.waybill.carrier == "zhongtong"
    assert trace.waybill.raw_carrier == "中通快递"
    assert trace.status_text == "已签收"
    [event] = trace.events
    assert event.time == datetime(2000, 1, 1, tzinfo=BEIJING)
    assert event.time.utcoffset() == timedelta(hours=8)
    assert event.description == "达到杭州物流集中地"
    assert event.raw_code == "ARRIVE"
    assert event.status is Status.IN_TRANSIT


def test_trace_simplified_list_and_extra_actions() -> None:
    payload = {"logistics_trace_search_response": {
        "out_sid": "YT1", "company_name": "某某快递", "status": "运输中",
        "trace_list": [
            {"status_time": "2024-05-02 10:00:00", "status_desc": "b", "action": "SIGNED"},
            {"status_time": "2024-05-01 10:00:00", "status_desc": "a", "action": "GOT"}]}}
    trace = taobao.parse_trace(payload, {"SIGNED": Status.DELIVERED})
    assert [e.description for e in trace.events] == ["a", "b"]  # oldest first
    assert [e.status for e in trace.events] == [None, Status.DELIVERED]
    assert trace.waybill is not None and trace.waybill.carrier == ""  # unknown company


def trades_payload(*trades: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"trades_sold_get_response": {"trades": {"trade": list(trades)}} | extra}


def trade(tid: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"tid": tid, "created": "2024-05-01 12:30:00", "status": status,
            "seller_nick": "某店", "orders": {"order": [
                {"oid": tid * 10, "title": "保温杯", "total_fee": "12.90"},
                {"oid": tid * 10 + 1, "title": "杯套", "total_fee": "3.10", "num": 2}]}} | extra


def test_parse_trades_fields() -> None:
    page = taobao.parse_trades(trades_payload(trade(101, "WAIT_SELLER_SEND_GOODS"),
                                              total_results=1), "me")
    [order] = page.orders
    assert (order.provider, order.account, order.order_id) == ("taobao", "me", "101")
    assert order.status is Status.AWAITING_SHIPMENT
    assert order.raw_status == "WAIT_SELLER_SEND_GOODS"
    assert order.shop == "某店"
    assert order.title == "保温杯 / 杯套"
    assert order.quantity == 3
    assert order.price_cents == 1600
    assert order.created_at == datetime(2024, 5, 1, 12, 30, tzinfo=BEIJING)
    assert (page.total_results, page.has_next, page.count) == (1, None, 1)


@pytest.mark.parametrize("fee", ["NaN", "Infinity", "1e999999", "abc", {"x": 1}, None])
def test_odd_prices_are_no_price(fee: Any) -> None:
    [order] = taobao.parse_trades(trades_payload(
        {"tid": 7, "status": "TRADE_FINISHED", "orders": {"order": [{"total_fee": fee}]}}),
        "me").orders
    assert order.price_cents is None


def test_parse_trades_skips_unpaid_and_reads_has_next() -> None:
    page = taobao.parse_trades(trades_payload(trade(1, "WAIT_BUYER_PAY"),
                                              trade(2, "TRADE_NO_CREATE_PAY"),
                                              trade(3, "TRADE_CLOSED"), has_next=True), "me")
    assert [o.order_id for o in page.orders] == ["3"]
    assert page.count == 3 and page.has_next is True


# -- status table: every code of taobao.md §5 ------------------------------------------------

SHEET_TRADE_STATUSES = {
    "TRADE_NO_CREATE_PAY": Status.UNKNOWN,
    "WAIT_BUYER_PAY": Status.UNKNOWN,
    "WAIT_SELLER_SEND_GOODS": Status.AWAITING_SHIPMENT,
    "SELLER_CONSIGNED_PART": Status.INFO_RECEIVED,
    "WAIT_BUYER_CONFIRM_GOODS": Status.INFO_RECEIVED,
    "TRADE_BUYER_SIGNED": Status.DELIVERED,
    "TRADE_FINISHED": Status.DELIVERED,
    "TRADE_CLOSED": Status.CANCELLED,
    "TRADE_CLOSED_BY_TAOBAO": Status.CANCELLED,
}
#: The three more that the trades.sold.get metadata lists (bububa/opentaobao
#: metadata/assets/json/tbtrade/taobao_trades_sold_get.json).
METADATA_TRADE_STATUSES = SHEET_TRADE_STATUSES | {
    "PAY_PENDING": Status.UNKNOWN, "WAIT_PRE_AUTH_CONFIRM": Status.UNKNOWN,
    "PAID_FORBID_CONSIGN": Status.AWAITING_SHIPMENT}


def test_trade_status_table_covers_the_sheet() -> None:
    assert taobao.TRADE_STATUS == METADATA_TRADE_STATUSES


@pytest.mark.parametrize(("code", "expected"), [
    (c, s) for c, s in SHEET_TRADE_STATUSES.items() if c not in taobao.UNPAID])
def test_each_trade_status_through_the_parser(code: str, expected: Status) -> None:
    [order] = taobao.parse_trades(trades_payload(trade(9, code)), "me").orders
    assert order.status is expected


def test_unknown_trade_status_is_unknown_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    [order] = taobao.parse_trades(trades_payload(trade(9, "TRADE_SOMETHING_NEW")), "me").orders
    assert order.status is Status.UNKNOWN
    assert "TRADE_SOMETHING_NEW" in caplog.text


def test_shipped_set_matches_table() -> None:
    assert set(taobao.TRADE_STATUS) >= taobao.SHIPPED
    assert set(taobao.TRADE_STATUS) >= taobao.UNPAID


# -- error mapping ----------------------------------------------------------------------------

def error(code: int, sub_code: str = "", sub_msg: str = "") -> dict[str, Any]:
    return {"error_response": {"code": code, "msg": "m", "sub_code": sub_code,
                               "sub_msg": sub_msg}}


@pytest.mark.parametrize(("code", "cls"), [
    (26, AuthorizationNeeded), (27, AuthorizationNeeded), (25, AuthError), (29, AuthError),
    (24, AuthError), (28, AuthError), (7, RateLimited), (21, TopError), (50, TopError),
    (11, ProviderError), (999, TopError)])
def test_error_codes(code: int, cls: type[Exception]) -> None:
    with pytest.raises(cls) as caught:
        taobao.unwrap(error(code), "taobao.trades.bought.get")
    assert type(caught.value) is cls


def test_session_error_says_link_again() -> None:
    with pytest.raises(AuthorizationNeeded) as caught:
        taobao.unwrap(error(27, "invalid-sessionkey", "SessionKey非法"), "x.y")
    assert caught.value.hint == "run: parcelctl link taobao"
    assert "invalid-sessionkey" in str(caught.value)


def test_error_kinds_can_be_overridden() -> None:
    with pytest.raises(AuthorizationNeeded):
        taobao.unwrap(error(53), "x.y", {"53": "session"})
    with pytest.raises(TopError):
        taobao.unwrap(error(27), "x.y", {})


def test_error_message_redacts_secrets() -> None:
    from parcelctl.http import register_secret

    register_secret("6201f0c1f7d7secretsession")
    with pytest.raises(AuthorizationNeeded) as caught:
        taobao.unwrap(error(27, "x", "bad session 6201f0c1f7d7secretsession"), "x.y")
    assert "6201f0c1f7d7secretsession" not in str(caught.value)


@pytest.mark.parametrize("payload", [
    [], "text", {"other_response": {}}, {"trades_sold_get_response": []},
    {"trades_sold_get_response": {"trades": {"trade": "x"}}},
    {"trades_sold_get_response": {"trades": {"trade": [1]}}},
    {"trades_sold_get_response": {"trades": {"trade": [{"status": "TRADE_FINISHED"}]}}},
    {"trades_sold_get_response": {"total_results": "many"}},
    {"trades_sold_get_response": {"trades": [{"tid": 1, "created": "yesterday"}]}},
    {"trades_sold_get_response": {"trades": [{"tid": {"x": 1}}]}},
    {"trades_sold_get_response": {"trades": [{"tid": True}]}},
    {"error_response": "boom"},
])
def test_wrong_shapes_are_provider_changed(payload: Any) -> None:
    with pytest.raises(ProviderChanged):
        taobao.parse_trades(payload, "me")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(
                        ["tid", "status", "created", "orders", "order", "trades", "trade",
                         "trace_list", "transit_step_info", "status_time", "out_sid",
                         "total_fee", "num", "code"]), inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_fuzzed_payloads_only_raise_provider_errors(body: Any) -> None:
    for payload in ({"trades_sold_get_response": body},
                    {"logistics_trace_search_response": body}, {"error_response": body}):
        with contextlib.suppress(ProviderError):
            taobao.parse_trades(payload, "me")
        with contextlib.suppress(ProviderError):
            taobao.parse_trace(payload)


# -- tokens -----------------------------------------------------------------------------------

def test_parse_token_fields() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    tokens = taobao.parse_token({
        "access_token": "6201", "token_type": "Bearer", "expires_in": 86400,
        "refresh_token": "6202", "re_expires_in": "172800", "r1_expires_in": 1,
        "taobao_user_id": "2200", "taobao_user_nick": "nick"}, now)
    assert tokens.access_token == "6201" and tokens.refresh_token == "6202"
    assert tokens.access_expires_at == now + timedelta(days=1)
    assert tokens.refresh_expires_at == now + timedelta(days=2)
    assert tokens.open_id == "2200"


@pytest.mark.parametrize(("body", "cls"), [
    ({"error": "invalid_client", "error_description": "x"}, AuthError),
    ({"error": "invalid_grant", "error_description": "code expired"}, AuthorizationNeeded),
    ({"token_type": "Bearer"}, AuthorizationNeeded)])
def test_parse_token_errors(body: dict[str, Any], cls: type[Exception]) -> None:
    with pytest.raises(cls):
        taobao.parse_token(body, datetime.now(UTC))


# -- provider over a fake transport -----------------------------------------------------------

SETTINGS = {"app_key": "12345", "app_secret": "s3cret-value",
            "base_url": "https://gw.test/router/rest", "token_url": "https://oauth.test/token",
            "auth_url": "https://oauth.test/authorize"}


def run_with(handler: Any, settings_: dict[str, Any], coro: Any) -> Any:
    async def main() -> Any:
        async with HttpClient("taobao", transport=httpx.MockTransport(handler)) as http:
            return await coro(TaobaoProvider(settings_, http))
    return asyncio.run(main())


def test_class_metadata_states_the_policy() -> None:
    assert TaobaoProvider.name == "taobao"
    assert "Alibaba" in TaobaoProvider.notes and "parcel tracking" in TaobaoProvider.notes
    assert "Opt-in" in TaobaoProvider.description
    assert "order lookup" in TaobaoProvider.description
    keys = {k.name: k for k in TaobaoProvider.config_keys}
    assert keys["app_secret"].secret and keys["app_key"].required
    assert keys["base_url"].default == "https://eco.taobao.com/router/rest"
    assert keys["auth_url"].default == "https://oauth.taobao.com/authorize"
    assert keys["token_url"].default == "https://oauth.taobao.com/token"
    assert keys["redirect_uri"].default == "http://127.0.0.1:8976/callback"


def test_authorize_url() -> None:
    provider = TaobaoProvider(SETTINGS, HttpClient("taobao"))
    url = urlsplit(provider.authorize_url("st8"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://oauth.test/authorize"
    assert parse_qs(url.query) == {"response_type": ["code"], "client_id": ["12345"],
                                   "redirect_uri": ["http://127.0.0.1:8976/callback"],
                                   "state": ["st8"], "view": ["web"]}


def test_call_layout_and_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"trades_sold_get_response": {"total_results": 0}})

    run_with(handler, SETTINGS | {"sign_method": "hmac-sha256"},
             lambda p: p.call("taobao.trades.bought.get", "sess-1", {"fields": "tid", "x": ""}))
    [request] = seen
    query = dict(parse_qsl(request.url.query.decode()))
    body = dict(parse_qsl(request.content.decode()))
    assert request.method == "POST"
    assert set(query) == {"method", "app_key", "session", "timestamp", "format", "v",
                          "sign_method", "sign"}
    assert body == {"fields": "tid"}  # business params in the form body, empty ones dropped
    assert (query["format"], query["v"], query["session"]) == ("json", "2.0", "sess-1")
    datetime.strptime(query["timestamp"], "%Y-%m-%d %H:%M:%S")
    signed = {k: v for k, v in (query | body).items() if k != "sign"}
    text = "".join(k + signed[k] for k in sorted(signed)).encode()
    import hmac as hmac_

    assert query["sign"] == hmac_.new(b"s3cret-value", text, hashlib.sha256).hexdigest().upper()


def test_timestamp_ms_option() -> None:
    stamps: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append(dict(parse_qsl(request.url.query.decode()))["timestamp"])
        return httpx.Response(200, json={"x_response": {}})

    run_with(handler, SETTINGS | {"timestamp_format": "ms"}, lambda p: p.call("x", "s", {}))
    assert stamps[0].isdigit() and len(stamps[0]) == 13


def test_refresh_is_off_by_default_and_sends_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with pytest.raises(AuthorizationNeeded) as caught:
        run_with(handler, SETTINGS, lambda p: p.refresh(TokenSet("a", "r")))
    assert caught.value.hint == "run: parcelctl link taobao"


def test_refresh_when_enabled_posts_refresh_grant() -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json={"access_token": "new", "expires_in": 60})

    tokens = run_with(handler, SETTINGS | {"token_refresh": True},
                      lambda p: p.refresh(TokenSet("a", "old-refresh")))
    assert forms == [{"grant_type": "refresh_token", "refresh_token": "old-refresh",
                      "client_id": "12345", "client_secret": "s3cret-value"}]
    assert tokens.access_token == "new" and tokens.refresh_token == "old-refresh"


def test_list_orders_pages_and_attaches_traces() -> None:
    pages = {"1": [trade(1, "WAIT_BUYER_CONFIRM_GOODS"), trade(2, "WAIT_SELLER_SEND_GOODS")],
             "2": [trade(3, "TRADE_FINISHED")]}
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        body = dict(parse_qsl(request.content.decode()))
        calls.append(query["method"])
        if query["method"] == "taobao.trades.sold.get":
            assert body["page_size"] == "2" and "start_created" in body
            return httpx.Response(200, json=trades_payload(*pages[body["page_no"]],
                                                           total_results=3))
        tid = body["tid"]
        if query["method"] == "taobao.trade.fullinfo.get":
            return httpx.Response(200, json=fullinfo_answer(tid))
        return httpx.Response(200, json={"logistics_trace_search_response": {
            "out_sid": f"ZT{tid}", "company_name": "中通快递", "tid": int(tid),
            "status": "对方已签收" if tid == "1" else "物流公司揽收成功",
            "trace_list": {"transit_step_info": [
                {"status_time": "2024-05-02 08:00:00", "status_desc": "到达",
                 "action": "ARRIVE"},
                {"status_time": "2024-05-03 08:00:00", "status_desc": "已签收",
                 "action": "SIGNED" if tid == "1" else "SENT_SCAN"}]}}})

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    orders = run_with(handler, SETTINGS | {"page_size": 2}, lambda p: p.list_orders(session))
    assert calls.count("taobao.trades.sold.get") == 2
    assert sorted(calls[2:]) == (["taobao.logistics.trace.search"] * 2
                                 + ["taobao.trade.fullinfo.get"] * 2)
    by_id = {o.order_id: o for o in orders}
    assert by_id["1"].status is Status.DELIVERED  # summary and steps both say signed
    assert by_id["3"].status is Status.DELIVERED  # the trade says finished
    assert by_id["2"].waybills == [] and by_id["2"].traces == {}
    assert [w.number for w in by_id["1"].waybills] == ["ZT1"]
    assert by_id["1"].traces["ZT1"][0].status is Status.IN_TRANSIT


def test_one_failing_trace_does_not_fail_the_sync() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        if query["method"] == "taobao.trades.sold.get":
            return httpx.Response(200, json=trades_payload(trade(1, "WAIT_BUYER_CONFIRM_GOODS")))
        return httpx.Response(200, json=load_fixture("taobao-error.json"))

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    [order] = run_with(handler, SETTINGS, lambda p: p.list_orders(session))
    assert order.waybills == [] and order.status is Status.INFO_RECEIVED


def test_expired_session_in_trace_fails_the_sync() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        if query["method"] == "taobao.trades.sold.get":
            return httpx.Response(200, json=trades_payload(trade(1, "WAIT_BUYER_CONFIRM_GOODS")))
        return httpx.Response(200, json=error(27))

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    with pytest.raises(AuthorizationNeeded):
        run_with(handler, SETTINGS, lambda p: p.list_orders(session))


@pytest.mark.parametrize(("key", "value"), [("page_size", 101), ("page_size", "x"),
                                            ("action_statuses", {"X": "nope"})])
def test_bad_settings_are_config_errors(key: str, value: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        if query["method"] == "taobao.trades.sold.get":
            return httpx.Response(200, json=trades_payload(trade(1, "WAIT_BUYER_CONFIRM_GOODS")))
        return httpx.Response(200, json=load_fixture("taobao-trace-search.json"))

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    with pytest.raises(ConfigError):
        run_with(handler, SETTINGS | {key: value}, lambda p: p.list_orders(session))


# -- trace lookups stop at the first failure -------------------------------------------------

def fullinfo_answer(tid: str, company: str = "中通快递") -> dict[str, Any]:
    return {"trade_fullinfo_get_response": {"trade": {"tid": int(tid), "orders": {"order": [
        {"oid": int(tid) * 10, "invoice_no": f"ZT{tid}", "logistics_company": company}]}}}}


def trace_answer(tid: str, status: str = "运输中", company: str = "中通快递") -> dict[str, Any]:
    return {"logistics_trace_search_response": {
        "out_sid": f"ZT{tid}", "company_name": company, "tid": int(tid), "status": status,
        "trace_list": {"transit_step_info": [
            {"status_time": "2024-05-02 08:00:00", "status_desc": "到达", "action": "ARRIVE"}]}}}


@pytest.mark.parametrize(("failure", "cls"), [
    (httpx.Response(200, json=error(7)), RateLimited),
    (httpx.Response(200, json=error(27)), AuthorizationNeeded),
    (httpx.Response(503), TransientError),
    (httpx.Response(200, text="<html>busy</html>"), ProviderChanged)])
def test_a_failing_trace_cancels_the_other_lookups(failure: httpx.Response,
                                                   cls: type[Exception]) -> None:
    """The first failed lookup fails the sync at once; the rest are not sent afterwards."""
    shipped = [trade(i, "WAIT_BUYER_CONFIRM_GOODS") for i in range(1, 9)]
    traces: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        if query["method"] == "taobao.trades.sold.get":
            return httpx.Response(200, json=trades_payload(*shipped, total_results=8))
        tid = dict(parse_qsl(request.content.decode()))["tid"]
        traces.append(tid)
        if tid == "1":
            return failure
        await asyncio.sleep(0.05)  # the other lookups are slower than the failing one
        if query["method"] == "taobao.trade.fullinfo.get":
            return httpx.Response(200, json=fullinfo_answer(tid))
        return httpx.Response(200, json=trace_answer(tid))

    async def main() -> tuple[int, int]:
        transport = httpx.MockTransport(handler)
        async with HttpClient("taobao", concurrency=TaobaoProvider.concurrency,
                              retry=RetryPolicy(attempts=1), transport=transport) as http:
            session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
            with pytest.raises(cls):
                await TaobaoProvider(SETTINGS, http).list_orders(session)
            surfaced = len(traces)
            await asyncio.sleep(0.4)  # a plain gather keeps sending lookups meanwhile
            return surfaced, len(traces)

    surfaced, later = asyncio.run(main())
    assert later == surfaced, "trace requests were sent after the error surfaced"
    assert surfaced < len(shipped)


# -- the quantity is asked for ---------------------------------------------------------------

def test_default_fields_ask_for_the_quantity() -> None:
    """TOP answers only the fields asked for: without orders.num every quantity was 1."""
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = dict(parse_qsl(request.content.decode()))
        fields = body["fields"].split(",")
        sent.append(fields)
        asked = {f.removeprefix("orders.") for f in fields if f.startswith("orders.")}
        sub = {"oid": 10, "title": "杯套", "total_fee": "3.10", "num": 3}
        row = {"tid": 1, "status": "WAIT_SELLER_SEND_GOODS",
               "orders": {"order": [{k: v for k, v in sub.items() if k in asked}]}}
        return httpx.Response(200, json=trades_payload(row, total_results=1))

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    [order] = run_with(handler, SETTINGS, lambda p: p.list_orders(session))
    assert [f for f in sent[0] if f == "orders.num"] == ["orders.num"]
    assert order.quantity == 3


def test_sandbox_quantities_come_through(sandbox: Any) -> None:
    """The sandbox, like TOP, returns ``num`` only when ``orders.num`` is asked for."""
    from parcelctl import oauth

    async def main() -> list[Any]:
        async with HttpClient("taobao", retry=RetryPolicy(attempts=2, base_delay=0.01)) as http:
            provider = TaobaoProvider(dict(sandbox.sandbox.credentials()["taobao"]), http)
            state = oauth.new_state()
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(provider.authorize_url(state))
            tokens = await provider.exchange_code(
                oauth.parse_redirect(answer.headers["location"], state))
            session = AccountSession("taobao", "buyer", tokens, lambda t: None)
            return await provider.list_orders(session)

    orders = asyncio.run(main())
    quantities = {str(o.oid): o.quantity for o in sandbox.sandbox.dataset.orders}
    assert orders and {o.quantity for o in orders} != {1}
    assert all(o.quantity == quantities[o.order_id] for o in orders)


# -- trace_statuses and company_carriers ------------------------------------------------------

def traced_orders(settings_: dict[str, Any], answers: dict[str, dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(parse_qsl(request.url.query.decode()))
        if query["method"] == "taobao.trades.sold.get":
            return httpx.Response(200, json=trades_payload(
                *(trade(int(t), "WAIT_BUYER_CONFIRM_GOODS") for t in answers),
                total_results=len(answers)))
        tid = dict(parse_qsl(request.content.decode()))["tid"]
        if query["method"] == "taobao.trade.fullinfo.get":
            company = answers[tid]["logistics_trace_search_response"]["company_name"]
            return httpx.Response(200, json=fullinfo_answer(tid, company))
        return httpx.Response(200, json=answers[tid])

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    orders = run_with(handler, SETTINGS | settings_, lambda p: p.list_orders(session))
    return {o.order_id: o for o in orders}


def test_trace_statuses_override_the_summary_table() -> None:
    """Summary texts of the vendor SDK (cattles/taobao-sdk-java
    LogisticsTraceSearchResponse.java); "对方已签收" over steps that end in transit is no
    delivery (bububa/opentaobao taobao_logistics_trace_search.json: offline.send)."""
    answers = {"1": trace_answer("1", "对方已签收"), "2": trace_answer("2", "物流公司揽收成功"),
               "3": trace_answer("3", "派送中")}
    default = traced_orders({}, answers)
    assert [default[t].status for t in "123"] == [
        Status.INFO_RECEIVED, Status.IN_TRANSIT, Status.INFO_RECEIVED]
    # Unmap one vendor text, map one it does not list; delivered still needs the steps.
    table = {"物流公司揽收成功": "", "派送中": "out_for_delivery", "对方已签收": "delivered"}
    custom = traced_orders({"trace_statuses": table}, answers)
    assert [custom[t].status for t in "123"] == [
        Status.INFO_RECEIVED, Status.INFO_RECEIVED, Status.OUT_FOR_DELIVERY]


def test_company_carriers_override_the_crosswalk() -> None:
    answers = {"1": trace_answer("1", company="中通快递"),
               "2": trace_answer("2", company="丰网速运"),
               "3": trace_answer("3", company="圆通速递")}
    default = traced_orders({}, answers)
    assert [default[t].waybills[0].carrier for t in "123"] == ["zhongtong", "", "yuantong"]
    table = {"丰网速运": "Fengwang", "圆通速递": "", "中通快递": "zhongtong"}
    custom = traced_orders({"company_carriers": table}, answers)
    assert [(w.carrier, w.raw_carrier) for t in "123" for w in custom[t].waybills] == [
        ("zhongtong", "中通快递"), ("fengwang", "丰网速运"), ("", "圆通速递")]


def test_new_trace_tables_are_documented_settings() -> None:
    keys = {k.name: k for k in TaobaoProvider.config_keys}
    assert keys["trace_statuses"].default == {} and keys["company_carriers"].default == {}
    for name in ("action_statuses", "trace_statuses", "company_carriers"):
        assert name in TaobaoProvider.notes and name in (taobao.__doc__ or "")


@pytest.mark.parametrize(("key", "value", "words"), [
    ("trace_statuses", {"运输中": "moving"}, "trace_statuses.运输中: 'moving' is not a status"),
    ("trace_statuses", "运输中=in_transit", "trace_statuses must be a table"),
    ("company_carriers", {"丰网速运": 7}, "company_carriers.丰网速运: 7 is not a carrier code"),
    ("company_carriers", {"丰网速运": "feng wang"}, "is not a carrier code"),
    ("company_carriers", ["zhongtong"], "company_carriers must be a table")],
    ids=["bad-status", "status-not-table", "carrier-not-text", "carrier-space",
         "carriers-not-table"])
def test_bad_trace_tables_are_one_line_config_errors(key: str, value: Any, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a bad setting must fail before any request")

    session = AccountSession("taobao", "me", TokenSet("sess"), lambda t: None)
    with pytest.raises(ConfigError) as caught:
        run_with(handler, SETTINGS | {key: value}, lambda p: p.list_orders(session))
    text = str(caught.value)
    assert words in text and "\n" not in text and text.startswith("taobao: ")
