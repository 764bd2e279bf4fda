"""Douyin provider against what the vendor's own SDK sends and answers (errata D1-D4).

Source throughout: the official Go SDK, mirror ``zsmhub/doudian-sdk`` (paths per test);
for D1 also the official "API调用指南" (2022-09-13). Expected requests are built from
what that SDK builds, not from provider code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest

from parcelctl.errors import AuthorizationNeeded, ConfigError, ProviderError
from parcelctl.http import HttpClient
from parcelctl.models import CHINA_TZ, Status, TokenSet, utcnow
from parcelctl.providers import douyin
from parcelctl.providers.base import AccountSession
from parcelctl.providers.douyin import DouyinProvider
from tests.conftest import load_fixture

T = TypeVar("T")
BASE = {"app_key": "k", "app_secret": "s3cret-value"}
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def with_provider(settings: dict[str, Any], handler: Any,
                  body: Callable[[DouyinProvider], Awaitable[T]]) -> T:
    async def main() -> T:
        async with HttpClient("douyin", transport=httpx.MockTransport(handler)) as http:
            return await body(DouyinProvider(settings, http))
    return asyncio.run(main())


def recorder(answer: dict[str, Any]) -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return seen, handler


TOKEN = {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "1",
         "data": {"access_token": "acc", "expires_in": 604800, "refresh_token": "ref",
                  "scope": "SCOPE", "shop_id": 88880001, "shop_name": "店"}}


# -- D1: the request layout --------------------------------------------------------------------
def test_param_json_is_the_json_post_body_and_system_params_the_query() -> None:
    """D1: zsmhub/doudian-sdk core/doudian_op_api_client.go (Params: app_key, method,
    timestamp, sign, v, sign_method, access_token; Body: paramJsonString) and
    core/http/doudian_op_http_client.go (Params -> URL query, Body -> POST body,
    application/json); API调用指南: "param_json字段应当放在POST body中传输"."""
    seen, handler = recorder({"code": 10000, "data": {"ok": 1}})
    settings = BASE | {"sign_method": "hmac-sha256", "timestamp_format": "seconds"}
    data = with_provider(settings, handler,
                         lambda p: p.call("order.searchList", {"size": 5, "page": 0}, "tok"))
    assert data == {"ok": 1}
    [request] = seen
    assert request.method == "POST" and request.url.path == "/order/searchList"
    assert "application/json" in request.headers["content-type"]
    body = request.content.decode()
    assert body == '{"page":0,"size":5}'  # sorted keys, compact: utils.Marshal
    query = dict(parse_qsl(request.url.query.decode()))
    assert set(query) == {"app_key", "method", "timestamp", "v", "sign", "sign_method",
                          "access_token"}
    assert query["method"] == "order.searchList" and query["access_token"] == "tok"
    pattern = (f"app_keykmethodorder.searchListparam_json{body}"
               f"timestamp{query['timestamp']}v2")
    expected = hmac.new(b"s3cret-value", f"s3cret-value{pattern}s3cret-value".encode(),
                        hashlib.sha256).hexdigest()  # utils/sign_util.go Sign
    assert query["sign"] == expected


def test_defaults_are_the_sdks_epoch_seconds_hmac_and_new_error_codes() -> None:
    """zsmhub/doudian-sdk core/doudian_op_api_client.go: ``timestamp := time.Now().Unix()``
    (epoch seconds), ``"sign_method": "hmac-sha256"``, header ``x-open-no-old-err-code: 1``;
    utils/sign_util.go ``Sign`` always HMAC-SHA256. With no setting, parcelctl sends that."""
    seen, handler = recorder({"code": 10000, "data": {}})
    before = int(time.time())
    with_provider(BASE, handler, lambda p: p.call("order.searchList", {"page": 0}, "tok"))
    [request] = seen
    query = dict(parse_qsl(request.url.query.decode()))
    assert query["sign_method"] == "hmac-sha256"
    assert query["timestamp"].isdigit()
    assert before - 1 <= int(query["timestamp"]) <= int(time.time()) + 1
    assert request.headers["x-open-no-old-err-code"] == "1"
    pattern = (f"app_keykmethodorder.searchListparam_json{request.content.decode()}"
               f"timestamp{query['timestamp']}v2")
    assert query["sign"] == hmac.new(b"s3cret-value", f"s3cret-value{pattern}s3cret-value"
                                     .encode(), hashlib.sha256).hexdigest()


def test_md5_and_datetime_remain_options() -> None:
    """douyin.md: md5 and the ``yyyy-MM-dd HH:mm:ss`` timestamp are accepted forms too."""
    seen, handler = recorder({"code": 10000, "data": {}})
    settings = BASE | {"sign_method": "md5", "timestamp_format": "datetime"}
    with_provider(settings, handler, lambda p: p.call("order.searchList", {}, "tok"))
    query = dict(parse_qsl(seen[0].url.query.decode()))
    assert query["sign_method"] == "md5"
    assert datetime.strptime(query["timestamp"], "%Y-%m-%d %H:%M:%S")
    pattern = ("s3cret-valueapp_keykmethodorder.searchListparam_json{}"
               f"timestamp{query['timestamp']}v2s3cret-value")
    assert query["sign"] == hashlib.md5(pattern.encode()).hexdigest()


# -- D3: token.create --------------------------------------------------------------------------
def test_self_use_token_create_as_the_sdk_sends_it() -> None:
    """D3: zsmhub/doudian-sdk core/access_token_builder.go BuildAccessToken without a code:
    grant_type authorization_self, Code = "" (always serialised: core/
    create_token_request.go has no omitempty), ShopId *int64 -> a JSON integer."""
    seen, handler = recorder(TOKEN)
    tokens = with_provider(BASE | {"shop_id": "88880001"}, handler,
                           lambda p: p.self_authorize())
    assert json.loads(seen[0].content) == {"code": "", "grant_type": "authorization_self",
                                           "shop_id": 88880001}
    assert dict(parse_qsl(seen[0].url.query.decode()))["method"] == "token.create"
    assert tokens.open_id == "88880001"


def test_code_token_create_and_refresh_bodies() -> None:
    """D3 / core/refresh_token_request.go: code grant carries ``code``; the refresh carries
    grant_type refresh_token and refresh_token."""
    seen, handler = recorder(TOKEN)
    with_provider(BASE, handler, lambda p: p.exchange_code("abc"))
    with_provider(BASE, handler, lambda p: p.refresh(TokenSet("a", "r")))
    assert json.loads(seen[0].content) == {"code": "abc", "grant_type": "authorization_code"}
    assert json.loads(seen[1].content) == {"grant_type": "refresh_token",
                                           "refresh_token": "r"}


def test_a_shop_id_that_is_not_a_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="shop_id"):
        with_provider(BASE | {"shop_id": "my-shop"}, recorder(TOKEN)[1],
                      lambda p: p.self_authorize())


# -- D4: token lifetimes -----------------------------------------------------------------------
def test_refresh_token_lives_14_days() -> None:
    """D4: zsmhub/doudian-sdk api/token_create/response/token_create_response.go
    ("刷新token值…（有效期：14 天）")."""
    tokens = douyin.parse_token(TOKEN["data"], NOW)
    assert tokens.refresh_expires_at == NOW + timedelta(days=14)
    assert tokens.access_expires_at == NOW + timedelta(days=7)


def test_expires_in_as_epoch_seconds_is_read_as_a_time() -> None:
    """D4: the same file says expires_in is "过期时间(秒级时间戳)" (the core comment says a
    duration): a value that can only be a point in time is read as one."""
    until = int((NOW + timedelta(days=7)).timestamp())
    tokens = douyin.parse_token(TOKEN["data"] | {"expires_in": until}, NOW)
    assert tokens.access_expires_at == NOW + timedelta(days=7)


def test_the_same_pair_keeps_its_lifetimes() -> None:
    """D4 (token_create_response.go comment): refreshing more than an hour before expiry
    returns the same access and refresh token, "二者有效期不会变"."""
    previous = TokenSet("acc", "ref", NOW + timedelta(hours=5), NOW + timedelta(days=3),
                        "88880001")
    again = douyin.parse_token(TOKEN["data"], NOW, previous)
    assert again.access_expires_at == previous.access_expires_at
    assert again.refresh_expires_at == previous.refresh_expires_at
    rotated = douyin.parse_token(TOKEN["data"] | {"refresh_token": "new"}, NOW, previous)
    assert rotated.refresh_expires_at == NOW + timedelta(days=14)


def test_a_refresh_token_past_its_14_days_means_link_again_without_a_call() -> None:
    """D4: past 14 days the refresh token is dead, whatever code the gateway would say."""
    expired = TokenSet("a", "r", utcnow() - timedelta(days=8), utcnow() - timedelta(hours=1))
    with pytest.raises(AuthorizationNeeded) as info:
        with_provider(BASE, lambda r: pytest.fail("no request"), lambda p: p.refresh(expired))
    assert info.value.hint == "run: parcelctl link douyin"


# -- D2: the order list ------------------------------------------------------------------------
def golden() -> dict[str, Any]:
    return douyin.unwrap(load_fixture("douyin-order-searchlist.json"))


def default_spec() -> douyin.OrderSpec:
    return DouyinProvider(BASE, HttpClient("douyin")).order_spec()


def test_golden_order_list_with_no_configuration(caplog: pytest.LogCaptureFixture) -> None:
    """D2: zsmhub/doudian-sdk api/order_searchList/response/order_searchList_response.go
    (ShopOrderListItem.order_status codes 1/105/2/101/3/4/5, LogisticsInfoItem.tracking_no
    / company, SkuOrderListItem.product_name, create_time seconds). Carrier codes: the SDK's
    list in logistics_getRecommendedAndDeliveryExpressByOrder_request.go."""
    with caplog.at_level(logging.WARNING):
        orders, rows = douyin.parse_orders(golden(), default_spec(), "shop")
    assert rows == 8
    by_id = {o.order_id[-1]: o for o in orders}
    assert "1" not in by_id  # awaiting payment: not a paid order, not imported
    assert {k: o.status for k, o in by_id.items()} == {
        "2": Status.AWAITING_SHIPMENT, "3": Status.AWAITING_SHIPMENT,
        "4": Status.INFO_RECEIVED, "5": Status.INFO_RECEIVED, "6": Status.CANCELLED,
        "7": Status.DELIVERED, "8": Status.UNKNOWN}
    assert "'77'" in caplog.text  # an unmapped code is logged, never guessed
    assert by_id["2"].title == "加厚保温杯 500ml" and by_id["2"].waybills == []
    assert by_id["3"].title == "纯棉短袖T恤 白色 L / 赠品 收纳袋"
    assert [(w.number, w.carrier, w.raw_carrier) for w in by_id["5"].waybills] == [
        ("SF1321934960512", "shunfeng", "shunfeng"),
        ("DPK364112047425", "", "debangwuliu")]  # not in the SDK's list: detected later
    assert [(w.number, w.carrier) for w in by_id["4"].waybills] == [
        ("YT6247854916511", "yuantong")]
    assert by_id["7"].created_at == datetime(2025, 12, 1, 8, tzinfo=CHINA_TZ)
    assert by_id["7"].updated_at == datetime.fromtimestamp(1764720000, CHINA_TZ)
    assert douyin.page_total(golden()) == 8


def test_every_default_can_be_overridden() -> None:
    """The vendor's tables are defaults, not walls: status_map, skip_statuses and
    carrier_map go over them."""
    provider = DouyinProvider(BASE | {
        "status_map": {"5": "info_received", "1": "unknown"}, "skip_statuses": [],
        "carrier_map": {"debangwuliu": "debangwuliu"}}, HttpClient("douyin"))
    orders, _ = douyin.parse_orders(golden(), provider.order_spec(), "shop")
    by_id = {o.order_id[-1]: o for o in orders}
    assert by_id["1"].status is Status.UNKNOWN
    assert by_id["7"].status is Status.INFO_RECEIVED
    assert by_id["2"].status is Status.AWAITING_SHIPMENT  # the rest of the table stays
    assert by_id["5"].waybills[1].carrier == "debangwuliu"
    with pytest.raises(ConfigError, match="status_map"):
        DouyinProvider(BASE | {"status_map": {"5": "gone"}}, HttpClient("douyin")).order_spec()


def page(rows: int, total: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {"shop_order_list": [
        {"order_id": str(i), "order_status": 2} for i in range(rows)]}
    if total is not None:
        data["total"] = total
    return {"code": 10000, "data": data}


def pages(settings: dict[str, Any], answers: list[dict[str, Any]],
          since: datetime | None = None) -> tuple[int, list[dict[str, Any]]]:
    asked: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(200, json=answers[min(len(asked), len(answers)) - 1])

    account = AccountSession("douyin", "shop", TokenSet("t"), lambda t: None, since=since)
    orders = with_provider(BASE | settings, handler, lambda p: p.list_orders(account))
    return len(orders), asked


def test_paging_follows_data_total() -> None:
    """D2: OrderSearchListData.total ("总订单数"); request page from 0 and size ≤ 100
    (order_searchList_request.go)."""
    count, asked = pages({"page_size": 2}, [page(2, 5), page(2, 5), page(1, 5)])
    assert count == 5 and [a["page"] for a in asked] == [0, 1, 2]
    assert {a["size"] for a in asked} == {2} and "create_time_start" in asked[0]
    # A full page that reaches total is the last: no extra empty request.
    count, asked = pages({"page_size": 2}, [page(2, 4), page(2, 4)])
    assert count == 4 and len(asked) == 2


def test_paging_is_bounded() -> None:
    with pytest.raises(ProviderError, match="within 3 pages"):
        pages({"page_size": 2, "max_pages": 3}, [page(2, 10**6)])


def test_a_later_sync_asks_by_update_time() -> None:
    """update_time_start / order_by from order_searchList_request.go: a later sync sees
    old orders that changed (shipped, completed) without listing 90 days again."""
    since = utcnow() - timedelta(hours=2)
    _, asked = pages({}, [page(0, 0)], since=since)
    assert asked[0]["order_by"] == "update_time" and "create_time_start" not in asked[0]
    assert asked[0]["update_time_start"] <= int(since.timestamp())
