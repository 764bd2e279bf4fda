"""Kuaishou provider: signing vectors, golden payloads, status/error tables, windows, flow."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from parcelctl.http import HttpClient
from parcelctl.models import CHINA_TZ, Status, TokenSet
from parcelctl.providers.base import AccountSession
from parcelctl.providers.kuaishou import (
    EXPRESS_CODES,
    KuaishouProvider,
    merge_orders,
    parse_orders,
    parse_token,
    plan_windows,
    raise_for_result,
    sign,
)

VECTOR = {"appkey": "ks123", "method": "open.seller.order.list", "version": "1",
          "param": '{"title":"短袖"}', "access_token": "token", "timestamp": "1583271919000"}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


SETTINGS = {"app_key": "ks123", "app_secret": "app-secret-x", "sign_secret": "sign-secret",
            "base_url": "https://api.test", "auth_url": "https://auth.test"}
NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


# -- signing (§4) ---------------------------------------------------------------------------
def test_sign_hmac_vector() -> None:
    params = VECTOR | {"signMethod": "HMAC_SHA256"}
    assert sign(params, "sign-secret", "HMAC_SHA256") == \
        "ZpPrG0oB1g/T93FyyVD+VCzRey41yqxZoCqcGg7upYM="


def test_sign_md5_vector() -> None:
    params = VECTOR | {"signMethod": "MD5"}
    assert sign(params, "sign-secret", "MD5") == "6005da269b372ff10945e565ef37a4c6"


def test_sign_uses_only_the_documented_keys() -> None:
    params = VECTOR | {"signMethod": "MD5"}
    noisy = params | {"sign": "whatever", "extra": "x", "signSecret": "y"}
    assert sign(noisy, "sign-secret", "MD5") == sign(params, "sign-secret", "MD5")
    # a null value is dropped, not signed as "None"
    dropped = {k: v for k, v in params.items() if k != "access_token"}
    with_none: dict[str, str | None] = {**dropped, "access_token": None}
    assert sign(with_none, "s", "MD5") == sign(dropped, "s", "MD5")
    assert sign(dropped, "s", "MD5") != sign(params, "s", "MD5")


def test_sign_rejects_unknown_method() -> None:
    with pytest.raises(ConfigError):
        sign(VECTOR, "s", "SHA1")


# -- golden payloads ------------------------------------------------------------------------
def test_parse_order_list_golden() -> None:
    orders, cursor = parse_orders(load_fixture("kuaishou-order-list.json"), "shop1")
    assert cursor is None  # "nomore"
    assert [o.order_id for o in orders] == ["2415000012345678", "2415000012345679"]
    shipped, paid = orders
    assert shipped.status is Status.INFO_RECEIVED and shipped.raw_status == "40"
    assert shipped.provider == "kuaishou" and shipped.account == "shop1"
    assert shipped.shop == "示例店铺" and shipped.title == "示例商品"
    assert shipped.quantity == 1 and shipped.price_cents == 5900
    assert shipped.created_at == datetime.fromtimestamp(1717200000, CHINA_TZ)
    assert shipped.updated_at == datetime.fromtimestamp(1717300500, CHINA_TZ)
    assert shipped.created_at.tzinfo is not None
    assert shipped.promised_ship_at is None
    assert [(w.number, w.carrier, w.raw_carrier) for w in shipped.waybills] == [
        ("YT6247854916511", "yuantong", "6")]
    assert paid.status is Status.AWAITING_SHIPMENT and paid.waybills == []
    assert paid.quantity == 2 and paid.price_cents == 1990


def test_parse_orders_returns_next_cursor() -> None:
    payload = load_fixture("kuaishou-order-list.json")
    payload["data"]["cursor"] = "abc=="
    assert parse_orders(payload, "a")[1] == "abc=="


def test_parse_token_golden_string_scopes() -> None:
    tokens = parse_token(load_fixture("kuaishou-token.json"), NOW)
    assert tokens.access_token == "at" and tokens.refresh_token == "rt"
    assert tokens.open_id == "oid"
    assert tokens.scopes == ["merchant_order", "merchant_item"]
    assert tokens.access_expires_at == NOW + timedelta(seconds=172800)
    # no refresh_token_expires_in at exchange: the documented 180-day lifetime
    assert tokens.refresh_expires_at == NOW + timedelta(days=180)


def test_parse_refresh_golden_array_scopes_and_inherited_fields() -> None:
    old = TokenSet("at-1", "rt-1", open_id="oid", scopes=["merchant_order"],
                   refresh_expires_at=NOW + timedelta(days=170))
    tokens = parse_token(load_fixture("kuaishou-refresh.json"), NOW, previous=old)
    assert (tokens.access_token, tokens.refresh_token) == ("at-2", "rt-2")
    assert tokens.scopes == ["merchant_order", "merchant_logistics"]
    assert tokens.open_id == "oid"  # not in the refresh answer: kept
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=15292800)


def test_refresh_without_expiry_inherits_old_one() -> None:
    payload = load_fixture("kuaishou-refresh.json")
    del payload["refresh_token_expires_in"]
    old = TokenSet("a", "r", refresh_expires_at=NOW + timedelta(days=3))
    assert parse_token(payload, NOW, previous=old).refresh_expires_at == old.refresh_expires_at


def test_oauth_error_golden() -> None:
    with pytest.raises(AuthorizationNeeded) as info:
        parse_token(load_fixture("kuaishou-oauth-error.json"), NOW)
    assert "refreshToken.discarded" in str(info.value)
    assert "parcelctl link kuaishou" in str(info.value)
    assert info.value.exit_code == 4


# -- status table: every code of the sheet --------------------------------------------------
def _order_payload(status: Any, **base: Any) -> dict[str, Any]:
    payload: dict[str, Any] = load_fixture("kuaishou-order-list.json")
    order = payload["data"]["orderList"][0]
    order["orderBaseInfo"]["status"] = status
    order["orderBaseInfo"].update(base)
    payload["data"]["orderList"] = [order]
    return payload


@pytest.mark.parametrize(("code", "expected"), [
    (0, Status.UNKNOWN), (30, Status.AWAITING_SHIPMENT), (40, Status.INFO_RECEIVED),
    (50, Status.DELIVERED), (70, Status.DELIVERED), (80, Status.CANCELLED),
    (99, Status.UNKNOWN),  # not in the sheet: logged, never guessed
])
def test_every_order_status(code: int, expected: Status) -> None:
    orders, _ = parse_orders(_order_payload(code), "a")
    assert len(orders) == 1 and orders[0].status is expected
    assert orders[0].raw_status == str(code)


def test_awaiting_payment_is_skipped() -> None:
    assert parse_orders(_order_payload(10), "a")[0] == []


def test_promised_ship_time() -> None:
    orders, _ = parse_orders(_order_payload(30, validPromiseShipmentTimeStamp=1717500000000), "a")
    assert orders[0].promised_ship_at == datetime(2024, 6, 4, 11, 20, tzinfo=UTC)
    orders, _ = parse_orders(_order_payload(30, validPromiseShipmentTimeStamp=0), "a")
    assert orders[0].promised_ship_at is None


def test_express_codes_unknown_and_override() -> None:
    payload = _order_payload(40)
    payload["data"]["orderList"][0]["orderLogisticsInfo"] = [
        {"expressNo": "A1", "expressCode": 40}, {"expressNo": "B2", "expressCode": "4"},
        {"expressNo": "A1", "expressCode": 40}]  # duplicate package entry
    orders, _ = parse_orders(payload, "a")
    assert [(w.number, w.carrier, w.raw_carrier) for w in orders[0].waybills] == [
        ("A1", "", "40"), ("B2", "shunfeng", "4")]  # 40 安能快递: kuaidi100 code unknown
    orders, _ = parse_orders(payload, "a", EXPRESS_CODES | {"40": "annengwuliu"})
    assert orders[0].waybills[0].carrier == "annengwuliu"


def test_crosswalk_covers_the_major_carriers() -> None:
    assert EXPRESS_CODES["109"] == "jtexpress" and EXPRESS_CODES["9"] == "zhongtong"
    assert "13" not in EXPRESS_CODES and "5" not in EXPRESS_CODES  # UNKNOWN in the sheet


def test_crosswalk_has_the_errata_k4_entries() -> None:
    """Errata K4 (3SDK code tables): expressCode entries the sheet lacked; every code they
    name is one parcelctl can show."""
    from parcelctl.carriers import CARRIER_NAMES

    k4 = {"53": "debangkuaidi", "113": "danniao", "127": "fengwang", "97": "youzhengbk",
          "12": "zhongtongkuaiyun", "7": "yundakuaiyun"}
    assert {code: EXPRESS_CODES.get(code) for code in k4} == k4
    assert set(EXPRESS_CODES.values()) <= set(CARRIER_NAMES)


@pytest.mark.parametrize("mutate", [
    lambda p: p.update(data=[]),
    lambda p: p["data"].update(cursor=None),
    lambda p: p["data"].update(orderList={}),
    lambda p: p["data"]["orderList"].append("x"),
    lambda p: p["data"]["orderList"][0]["orderBaseInfo"].update(status="shipped"),
    lambda p: p["data"]["orderList"][0]["orderBaseInfo"].update(createTime=10**20),
    lambda p: p["data"]["orderList"][0]["orderBaseInfo"].update(oid=None),
    lambda p: p["data"]["orderList"][0].update(orderLogisticsInfo=[{"expressNo": []}]),
    lambda p: p["data"]["orderList"][0].update(orderItemInfo=[]),
    lambda p: p.pop("result"),
])
def test_wrong_shapes_raise_provider_changed(mutate: Any) -> None:
    payload = load_fixture("kuaishou-order-list.json")
    mutate(payload)
    with pytest.raises(ProviderChanged):
        parse_orders(payload, "a")


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(
                        ["result", "data", "cursor", "orderList", "orderBaseInfo", "status",
                         "oid", "createTime", "orderLogisticsInfo", "expressNo",
                         "expressCode"]), inner, max_size=4), max_leaves=20))
def test_fuzz_parse_orders_only_raises_provider_errors(payload: Any) -> None:
    with contextlib.suppress(ProviderError):
        parse_orders(payload, "a")


# -- error codes ----------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "error"), [
    (100200100, ProviderError), (100200101, AuthError), (100200102, AuthorizationNeeded),
    (100200103, ProviderError), (100200104, ProviderError), (100200105, AuthorizationNeeded),
    (100200106, AuthorizationNeeded), (100200107, AuthorizationNeeded),
    (100200500, TransientError),
])
def test_every_oauth_error_code(code: int, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        parse_token({"result": code, "error": "x", "error_msg": "detail"}, NOW)
    assert type(info.value) is error
    if error is AuthorizationNeeded:
        assert "run: parcelctl link kuaishou" in str(info.value)


@pytest.mark.parametrize(("payload", "error"), [
    ({"result": 24, "error_msg": "AUTHORIZATION_REVOKED"}, AuthorizationNeeded),
    ({"result": 26, "data": None, "error_msg": "主账号不存在"}, AuthorizationNeeded),
    ({"result": 21, "error_msg": "鉴权失败"}, AuthorizationNeeded),
    ({"result": 22, "error_msg": "token中无scope权限"}, AuthorizationNeeded),
    ({"result": 16, "error_msg": "Exceed qps limit, KEY [apiId:open.order.cursor.list;"
      "appkey:ks1], MAX_QPS [300.0]"}, RateLimited),
    ({"result": 802000, "error_msg": "busy"}, RateLimited),
    ({"result": 0, "error_msg": "Exceed qps limit, KEY [apiId:x;appkey:ks1], MAX_QPS [300.0]"},
     RateLimited),
    ({"result": 1017, "error_msg": "[1017] exceed quota limit,[apiId:x;primaryUserId:1]"},
     QuotaExceeded),
    ({"result": 0, "error_msg": "Exceed quota limit, KEY [appkey:ks1;primaryUserId:2]"},
     QuotaExceeded),
    ({"result": 1016, "error_msg": "quota"}, QuotaExceeded),
])
def test_gateway_codes_of_business_calls(payload: dict[str, Any], error: type[Exception]
                                         ) -> None:
    """Errata K1/K2: official FAQ K0005, K0006, K1008 (``AndersonBY/kwaixiaodian-python-sdk``
    ``docs/开发者支持文档/开放平台/``) and the code groups of ``whalesky-labs/kwaishop-php-sdk``
    ``src/Client/Pipeline/ResponseParser.php``."""
    with pytest.raises(error) as info:
        raise_for_result(payload)
    assert type(info.value) is error
    if error is AuthorizationNeeded:
        assert "run: parcelctl link kuaishou" in str(info.value)
    if error is QuotaExceeded:
        assert "daily API quota used up; next sync after" in str(info.value)


def test_the_quota_day_ends_at_midnight_china_time() -> None:
    """FAQ K1008: "次日再进行调用" — the next day is the platform's (China time)."""
    from parcelctl.providers.kuaishou.protocol import next_quota_day

    assert next_quota_day(datetime(2026, 12, 7, 15, 59, tzinfo=UTC)).isoformat() \
        == "2026-12-08T00:00:00+08:00"
    assert next_quota_day(datetime(2026, 12, 7, 16, 1, tzinfo=UTC)).isoformat() \
        == "2026-12-09T00:00:00+08:00"


@pytest.mark.parametrize("code", [300003, 300004, 300005, 300019])
def test_window_errors_are_reported_as_bugs(code: int) -> None:
    with pytest.raises(ProviderError) as info:
        raise_for_result({"result": code, "error_msg": "x"})
    assert type(info.value) is ProviderError and not info.value.retryable
    assert "bug" in str(info.value) and "report" in str(info.value)


def test_signature_rejection_is_auth_error_and_other_errors_keep_the_message() -> None:
    """27/28 are signature failures (``whalesky-labs/kwaishop-php-sdk``
    ``src/Client/Pipeline/ResponseParser.php``); "K1004" is an FAQ article number (errata
    K3), not a code: it means nothing special."""
    for code in (27, 28):
        with pytest.raises(AuthError):
            raise_for_result({"result": code, "error_msg": "验签失败"})
    with pytest.raises(ProviderError) as plain:
        raise_for_result({"result": 0, "code": "K1004", "msg": "验签失败"})
    assert type(plain.value) is ProviderError
    with pytest.raises(ProviderError) as info:
        raise_for_result({"result": 123, "code": "", "sub_msg": "库存服务繁忙"})
    assert "库存服务繁忙" in str(info.value) and "123" in str(info.value)


# -- windows --------------------------------------------------------------------------------
def test_first_sync_walks_every_window_by_create_time() -> None:
    windows, query_type = plan_windows(NOW, None)
    assert query_type == 1
    now_ms = int(NOW.timestamp() * 1000)
    assert windows[0][1] == now_ms
    for (begin, _), (_, older_end) in itertools.pairwise(windows):
        assert older_end == begin  # contiguous, no gap
    assert all(0 < end - begin <= 7 * 86_400_000 for begin, end in windows)
    assert windows[-1][0] >= now_ms - 90 * 86_400_000  # never refused with 300005
    assert windows[-1][0] <= now_ms - 89 * 86_400_000
    assert len(windows) == 13


def test_incremental_sync_asks_only_the_changed_window() -> None:
    windows, query_type = plan_windows(NOW, NOW - timedelta(hours=3))
    assert query_type == 2 and len(windows) == 1
    begin, end = windows[0]
    assert end - begin == int((timedelta(hours=3, minutes=10)).total_seconds() * 1000)
    old, _ = plan_windows(NOW, NOW - timedelta(days=400))
    assert len(old) == 13  # clipped to the history limit


def test_merge_keeps_one_order_per_oid() -> None:
    orders, _ = parse_orders(load_fixture("kuaishou-order-list.json"), "a")
    newer, _ = parse_orders(_order_payload(50, updateTime=1717900000000), "a")
    merged = merge_orders([orders, newer])
    assert len(merged) == 2
    assert next(o for o in merged if o.order_id == "2415000012345678").status is \
        Status.DELIVERED


# -- provider I/O with a fake transport -----------------------------------------------------
def test_authorize_url_exactly_per_sheet() -> None:
    provider = KuaishouProvider(SETTINGS, HttpClient("kuaishou"))
    assert provider.authorize_url("st8") == (
        "https://auth.test/oauth/authorize?app_id=ks123&redirect_uri=http%3A%2F%2F127.0.0.1"
        "%3A8976%2Fcallback&scope=merchant_order&response_type=code&state=st8")


class FakePlatform:
    """Token endpoints plus an order list whose first answer per token may be 'invalid'."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.valid = {"at-1"}
        self.refreshes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if path == "/oauth2/access_token":
            return httpx.Response(200, json=load_fixture("kuaishou-token.json"))
        if path == "/oauth2/refresh_token":
            self.refreshes += 1
            body = load_fixture("kuaishou-refresh.json")
            body["access_token"] = f"at-{self.refreshes + 1}"
            self.valid = {body["access_token"]}
            return httpx.Response(200, json=body)
        query = dict(request.url.params)
        if query["access_token"] not in self.valid:
            return httpx.Response(200, json={"result": 100200102, "error": "access_denied",
                                             "error_msg": "token expired"})
        param = json.loads(query["param"])
        assert param["pageSize"] <= 50 and param["endTime"] > param["beginTime"]
        payload = load_fixture("kuaishou-order-list.json")
        # the same order in every window: the provider must keep it once
        payload["data"]["orderList"] = [payload["data"]["orderList"][0]]
        return httpx.Response(200, json=payload)


def _provider(fake: FakePlatform, **extra: Any) -> KuaishouProvider:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.005)  # let the windows really overlap
        return fake(request)

    http = HttpClient("kuaishou", transport=httpx.MockTransport(handler),
                      concurrency=KuaishouProvider.concurrency)
    return KuaishouProvider(SETTINGS | extra, http)


def test_exchange_code_request_shape() -> None:
    fake = FakePlatform()
    tokens = asyncio.run(_provider(fake).exchange_code("the-code"))
    request = fake.seen[0]
    assert request.method == "GET" and request.url.path == "/oauth2/access_token"
    assert dict(request.url.params) == {"app_id": "ks123", "grant_type": "code",
                                        "code": "the-code", "app_secret": "app-secret-x"}
    assert tokens.access_token == "at"


def test_refresh_request_shape() -> None:
    fake = FakePlatform()
    tokens = asyncio.run(_provider(fake).refresh(TokenSet("at-1", "rt-1")))
    request = fake.seen[0]
    assert request.method == "POST" and request.url.path == "/oauth2/refresh_token"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"], "refresh_token": ["rt-1"], "app_id": ["ks123"],
        "app_secret": ["app-secret-x"]}
    assert tokens.refresh_token == "rt-2"


def _session(tokens: TokenSet, saved: list[TokenSet],
             since: datetime | None = None) -> AccountSession:
    return AccountSession("kuaishou", "shop", tokens, saved.append, since=since)


def test_token_invalid_refreshes_once_for_all_concurrent_windows() -> None:
    fake = FakePlatform()
    fake.valid = {"someone-else"}  # at-1 is already dead on the server
    saved: list[TokenSet] = []
    session = _session(TokenSet("at-1", "rt-1",
                                access_expires_at=datetime.now(UTC) + timedelta(days=1)),
                       saved)
    orders = asyncio.run(_provider(fake).list_orders(session))
    assert fake.refreshes == 1
    assert [t.access_token for t in saved] == ["at-2"]
    assert session.tokens.refresh_token == "rt-2"
    order_calls = [r for r in fake.seen if r.url.path == "/open/order/cursor/list"]
    first_sync = [json.loads(r.url.params["param"]) for r in order_calls]
    assert {p["queryType"] for p in first_sync} == {1}
    assert all(r.url.params["sign"] and r.url.params["appkey"] == "ks123" for r in order_calls)
    assert all(r.url.params["signMethod"] == "HMAC_SHA256" for r in order_calls)
    refused = len(first_sync) - 13
    assert refused > 1  # several windows were refused at once, yet one refresh happened
    assert [o.order_id for o in orders] == ["2415000012345678"]


def test_refused_refresh_means_authorization_needed() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/refresh_token":
            return httpx.Response(200, json=load_fixture("kuaishou-oauth-error.json"))
        return httpx.Response(200, json={"result": 100200102, "error_msg": "expired"})

    provider = KuaishouProvider(SETTINGS, HttpClient(
        "kuaishou", transport=httpx.MockTransport(transport)))
    with pytest.raises(AuthorizationNeeded):
        asyncio.run(provider.list_orders(_session(TokenSet("at", "rt"), [])))


def test_expired_access_token_is_refreshed_before_any_call() -> None:
    fake = FakePlatform()
    saved: list[TokenSet] = []
    expired = TokenSet("at-old", "rt-1",
                       access_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    asyncio.run(_provider(fake, sign_method="MD5").list_orders(
        _session(expired, saved, since=datetime.now(UTC) - timedelta(hours=1))))
    assert fake.refreshes == 1
    calls = [r for r in fake.seen if r.url.path == "/open/order/cursor/list"]
    assert len(calls) == 1 and calls[0].url.params["access_token"] == "at-2"
    assert calls[0].url.params["signMethod"] == "MD5"
    assert json.loads(calls[0].url.params["param"])["queryType"] == 2


@pytest.mark.parametrize(("key", "value"), [("window_days", 8), ("history_days", 91),
                                            ("page_size", 51), ("page_size", "50")])
def test_out_of_range_settings_are_config_errors(key: str, value: Any) -> None:
    with pytest.raises(ConfigError):
        asyncio.run(_provider(FakePlatform(), **{key: value}).list_orders(
            _session(TokenSet("at-1", "rt-1"), [])))


def test_non_advancing_cursor_is_provider_changed() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        payload = load_fixture("kuaishou-order-list.json")
        payload["data"]["cursor"] = "same"
        return httpx.Response(200, json=payload)

    provider = KuaishouProvider(SETTINGS, HttpClient(
        "kuaishou", transport=httpx.MockTransport(transport)))
    session = _session(TokenSet("at", "rt"), [], since=datetime.now(UTC))
    with pytest.raises(ProviderChanged):
        asyncio.run(provider.list_orders(session))


def test_errors_never_contain_secrets() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": 100200101,
                                         "error_msg": "bad app_secret app-secret-x"})

    provider = KuaishouProvider(SETTINGS, HttpClient(
        "kuaishou", transport=httpx.MockTransport(transport)))
    with pytest.raises(AuthError) as info:
        asyncio.run(provider.exchange_code("c0de-value"))
    assert "app-secret-x" not in str(info.value)
    assert urlsplit(provider.authorize_url("s")).netloc == "auth.test"
