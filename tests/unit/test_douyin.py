"""Douyin provider: signing vectors, param_json, envelope, tokens, order parsing.

Request layout, token and order-list facts against the vendor SDK: test_douyin_vendor.py.

The last section runs the real provider against the sandbox on 127.0.0.1 (the Douyin
simulator has no test file of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from parcelctl import oauth
from parcelctl.errors import AuthorizationNeeded, ConfigError, ProviderChanged, ProviderError
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TokenSet
from parcelctl.providers import douyin
from parcelctl.providers.base import AccountSession
from parcelctl.providers.douyin import DouyinProvider, OrderSpec

T = TypeVar("T")
BEIJING = timezone(timedelta(hours=8))


# -- signing (douyin.md known-answer vectors) ------------------------------------------------
@pytest.mark.parametrize(("method", "expected"), [
    ("hmac-sha256", "4eaefa2d3044c9f9711928edc8cfe5df1b7a8fd2d79d5d62866c79bbc4a09f2a"),
    ("md5", "0f859a7475d5f9fb52a9b319ceba8db4")])
def test_sign_known_answers(method: str, expected: str) -> None:
    got = douyin.sign("app-key", "secret", "product.detail", '{"a":1,"b":2}',
                      "2025-01-02 03:04:05", "2", method)
    assert got == expected


def test_param_json_sorts_recursively_without_spaces() -> None:
    value = {"b": {"d": 1, "c": "短袖"}, "a": [{"z": 1, "y": 2}]}
    assert douyin.param_json(value) == '{"a":[{"y":2,"z":1}],"b":{"c":"短袖","d":1}}'
    assert douyin.param_json({"b": 2, "a": 1}) == '{"a":1,"b":2}'


def test_sign_rejects_unknown_method() -> None:
    with pytest.raises(ConfigError):
        douyin.sign("k", "s", "m", "{}", "1", "2", "sha1")


def test_method_path() -> None:
    assert douyin.method_path("order.searchList") == "/order/searchList"
    assert douyin.method_path("token.create") == "/token/create"


# -- envelope ---------------------------------------------------------------------------------
def test_unwrap_success_and_legacy() -> None:
    ok = {"code": 10000, "data": {"x": 1}, "msg": "success", "sub_code": "", "sub_msg": "",
          "log_id": "202501"}
    assert douyin.unwrap(ok) == {"x": 1}
    assert douyin.unwrap({"err_no": 0, "data": {"y": 2}}) == {"y": 2}
    assert douyin.unwrap({"code": "10000", "data": None}) == {}


@pytest.mark.parametrize("payload", [{"err_no": 1, "message": "bad"},
                                     {"code": 50002, "msg": "业务处理失败",
                                      "sub_code": "isv.business-failed", "sub_msg": "x"}])
def test_unwrap_errors(payload: dict[str, Any]) -> None:
    with pytest.raises(ProviderError) as info:
        douyin.unwrap(payload)
    assert type(info.value) is ProviderError
    assert "parcelctl link douyin" in (info.value.hint or "")


def test_configured_auth_codes_mean_link_again() -> None:
    payload = {"code": 30002, "msg": "access_token已过期", "sub_code": "isv.expired"}
    with pytest.raises(AuthorizationNeeded) as info:
        douyin.unwrap(payload, frozenset({"30002"}))
    assert info.value.hint == "run: parcelctl link douyin"


@pytest.mark.parametrize("payload", [[], "x", {"msg": "no code"}, {"code": 10000, "data": []}])
def test_unwrap_wrong_shapes(payload: Any) -> None:
    with pytest.raises(ProviderChanged):
        douyin.unwrap(payload)


def test_parse_token() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    tokens = douyin.parse_token({"access_token": "a", "expires_in": 3600, "refresh_token": "r",
                                 "shop_id": 123, "shop_name": "店"}, now)
    assert (tokens.access_token, tokens.refresh_token, tokens.open_id) == ("a", "r", "123")
    assert tokens.access_expires_at == now + timedelta(hours=1)
    with pytest.raises(ProviderChanged):
        douyin.parse_token({"expires_in": 1}, now)


# -- configurable order parsing ---------------------------------------------------------------
SPEC = OrderSpec("order.searchList", "list", "id", "st.code",
                 {"2": Status.AWAITING_SHIPMENT, "3": Status.INFO_RECEIVED},
                 created_field="ct", title_field="name", waybills_path="pk",
                 number_field="no", carrier_field="co", carrier_map={"zto": "zhongtong"})


def test_parse_orders_follows_the_configured_paths(caplog: pytest.LogCaptureFixture) -> None:
    data = {"list": [
        {"id": 1, "st": {"code": 3}, "ct": 1735689600, "name": "杯子",
         "pk": [{"no": "ZT1", "co": "zto"}, {"no": "X2", "co": "other"}, {"no": ""}]},
        {"id": "2", "st": {"code": 2}, "ct": "2025-01-01 08:00:00", "pk": {"no": "Y1"}},
        {"id": "3", "st": {"code": 99}}]}
    orders, rows = douyin.parse_orders(data, SPEC, "shop")
    assert rows == 3
    first, second, third = orders
    assert (first.order_id, first.status, first.raw_status) == ("1", Status.INFO_RECEIVED, "3")
    assert first.created_at == datetime(2025, 1, 1, 8, tzinfo=BEIJING)
    assert first.title == "杯子"
    assert [(w.number, w.carrier, w.raw_carrier) for w in first.waybills] == [
        ("ZT1", "zhongtong", "zto"), ("X2", "", "other")]
    assert second.created_at == datetime(2025, 1, 1, 8, tzinfo=BEIJING)
    assert [w.number for w in second.waybills] == ["Y1"]
    assert third.status is Status.UNKNOWN and "99" in caplog.text


@pytest.mark.parametrize("data", [{"list": {}}, {"list": [1]}, {"list": [{"st": 1}]},
                                  {"list": [{"id": 1, "ct": "soon"}]},
                                  {"list": [{"id": 1, "pk": ["x"]}]}])
def test_parse_orders_wrong_shapes(data: dict[str, Any]) -> None:
    with pytest.raises(ProviderChanged):
        douyin.parse_orders(data, SPEC, "shop")


# -- provider without network -----------------------------------------------------------------
BASE = {"app_key": "k", "app_secret": "s3cret-value"}


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request {request.url}")


def with_provider(settings: dict[str, Any], handler: Any,
                  body: Callable[[DouyinProvider], Awaitable[T]]) -> T:
    async def main() -> T:
        async with HttpClient("douyin", transport=httpx.MockTransport(handler)) as http:
            return await body(DouyinProvider(settings, http))
    return asyncio.run(main())


def test_metadata_states_vendor_defaults_and_the_unknowns() -> None:
    """Defaults from zsmhub/doudian-sdk (errata D2/D4); auth_url and the code table stay
    UNKNOWN (no invented default)."""
    assert DouyinProvider.name == "douyin"
    for word in ("auth_url", "auth_error_codes", "14 days", "tracking provider"):
        assert word in DouyinProvider.notes
    keys = {k.name: k for k in DouyinProvider.config_keys}
    assert keys["app_secret"].secret
    assert keys["base_url"].default == "https://openapi-fxg.jinritemai.com"
    assert keys["auth_url"].default is None and keys["auth_error_codes"].default == []
    assert (keys["order_method"].default, keys["orders_path"].default) == (
        "order.searchList", "shop_order_list")
    assert keys["refresh_token_days"].default == 14
    assert DouyinProvider.missing_settings(BASE) == []  # app credentials are enough


@pytest.mark.parametrize("bad", [{"page_size": 0}, {"page_size": 101}, {"max_pages": "x"},
                                 {"status_map": {"2": "paid"}}, {"carrier_map": ["a"]},
                                 {"orders_path": ""}])
def test_bad_order_settings_fail_before_any_request(bad: dict[str, Any]) -> None:
    account = AccountSession("douyin", "shop", TokenSet("t"), lambda t: None)
    with pytest.raises(ConfigError):
        with_provider(BASE | bad, no_network, lambda p: p.list_orders(account))


def test_authorize_url_needs_a_template() -> None:
    with pytest.raises(ConfigError):
        DouyinProvider(BASE, HttpClient("douyin")).authorize_url("s")
    provider = DouyinProvider(BASE | {"auth_url": "https://a.test/x?k={app_key}&r={redirect_uri}"
                                                  "&s={state}"}, HttpClient("douyin"))
    query = parse_qs(urlsplit(provider.authorize_url("s t")).query)
    assert query == {"k": ["k"], "r": ["http://127.0.0.1:8976/callback"], "s": ["s t"]}


@pytest.mark.parametrize("answer", [
    {"code": 40010, "msg": "refresh_token无效", "sub_code": "isv.invalid-refresh-token"},
    {"code": 40004, "msg": "签名错误", "sub_code": "isv.sign-invalid"},
    {"code": 50002, "msg": "业务处理失败", "sub_code": "isv.business-failed"},
    {"err_no": 7, "message": "unknown"}], ids=["unknown-grant", "bad-sign", "business", "v1"])
def test_refused_refresh_with_an_unconfigured_code_keeps_the_account(
        answer: dict[str, Any]) -> None:
    """The code table is UNKNOWN: a refusal is not proof that the authorization is gone, and
    AuthorizationNeeded would mark the account reauth (watch stops syncing it)."""
    code = str(answer.get("code", answer.get("err_no")))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    with pytest.raises(ProviderError) as info:
        with_provider(BASE, handler, lambda p: p.refresh(TokenSet("a", "r")))
    assert type(info.value) is ProviderError and not info.value.retryable
    text = str(info.value)
    assert "\n" not in text and "s3cret-value" not in text
    assert "the token refresh" in info.value.message and f"(code {code}" in info.value.message
    assert f"add {code} to providers.douyin.auth_error_codes" in (info.value.hint or "")
    assert "parcelctl link douyin" in (info.value.hint or "")


@pytest.mark.parametrize("configured", [[40010], ["40010", "30002"], "30002,40010", 40010])
def test_refused_refresh_with_a_configured_code_means_link_again(configured: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 40010, "msg": "refresh_token无效"})

    with pytest.raises(AuthorizationNeeded) as info:
        with_provider(BASE | {"auth_error_codes": configured}, handler,
                      lambda p: p.refresh(TokenSet("a", "r")))
    assert info.value.hint == "run: parcelctl link douyin"


# -- against the sandbox ----------------------------------------------------------------------
def run(sb: Any, body: Callable[[Callable[..., DouyinProvider]], Awaitable[T]]) -> T:
    async def main() -> T:
        clients: list[HttpClient] = []

        def make(**more: Any) -> DouyinProvider:
            http = HttpClient("douyin", retry=RetryPolicy(attempts=2, base_delay=0.01))
            clients.append(http)
            return DouyinProvider(dict(sb.sandbox.credentials()["douyin"]) | more, http)

        try:
            return await body(make)
        finally:
            for http in clients:
                await http.aclose()

    return asyncio.run(main())


async def link(provider: DouyinProvider) -> TokenSet:
    state = oauth.new_state()
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.get(provider.authorize_url(state))
    assert answer.status_code == 302
    return await provider.exchange_code(oauth.parse_redirect(answer.headers["location"], state))


def clock(sb: Any, seconds: float) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/clock", json={"advance": seconds}, trust_env=False)


def test_sandbox_link_refresh_and_default_orders(sandbox: Any) -> None:
    """Refresh rotation as zsmhub/doudian-sdk api/token_create/response/
    token_create_response.go describes it (D4); orders with the D2 defaults only."""
    async def body(make: Callable[..., DouyinProvider]) -> Any:
        provider = make(page_size=4)
        tokens = await link(provider)
        same = await provider.refresh(tokens)  # more than an hour before expiry
        assert same.access_token == tokens.access_token
        assert same.refresh_expires_at == tokens.refresh_expires_at
        clock(sandbox, 7 * 86400 - 1800)  # within the last hour: a new pair
        rotated = await provider.refresh(tokens)
        assert rotated.access_token != tokens.access_token and rotated.open_id
        clock(sandbox, 7200)  # the old pair's extra hour is over
        # Its code (40010) is not configured, so this must not mean "link again" (the
        # code table is UNKNOWN) ...
        with pytest.raises(ProviderError) as info:
            await provider.refresh(tokens)
        assert type(info.value) is ProviderError and "40010" in info.value.message
        # ... unless the user says it does.
        with pytest.raises(AuthorizationNeeded):
            await make(auth_error_codes=[40010]).refresh(tokens)
        own = await make(shop_id="88880001").self_authorize()
        assert own.access_token
        account = AccountSession("douyin", "shop", own, lambda t: None)
        return await provider.list_orders(account)

    orders = run(sandbox, body)
    dataset = {str(o.oid): o for o in sandbox.sandbox.dataset.orders}
    assert orders and len({o.order_id for o in orders}) == len(orders)
    for order in orders:
        shop = dataset[order.order_id]
        assert order.status is {30: Status.AWAITING_SHIPMENT, 40: Status.INFO_RECEIVED,
                                70: Status.DELIVERED, 80: Status.CANCELLED}[shop.status]
        assert [w.number for w in order.waybills] == [n for n, _ in shop.waybills]
        assert order.title.split(" / ")[0] == shop.title
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats", trust_env=False).json()
    rows = len([i for i in range(len(dataset)) if i % 6 in (0, 1, 3, 5)])
    assert stats["requests"]["douyin order.searchList"] == (rows + 3) // 4


@pytest.mark.parametrize("sign_method", ["md5", "hmac-sha256"])
def test_sandbox_rejects_a_wrong_secret(sandbox: Any, sign_method: str) -> None:
    async def body(make: Callable[..., DouyinProvider]) -> None:
        await link(make(sign_method=sign_method))  # right secret: accepted
        with pytest.raises(ProviderError) as info:
            await link(make(sign_method=sign_method, app_secret="wrong-secret"))
        assert "wrong-secret" not in str(info.value)

    run(sandbox, body)


def test_sandbox_expired_token_with_configured_auth_code(sandbox: Any) -> None:
    async def body(make: Callable[..., DouyinProvider]) -> None:
        tokens = await link(make())
        clock(sandbox, 8 * 86400)
        account = AccountSession("douyin", "shop", tokens, lambda t: None)
        with pytest.raises(ProviderError) as info:  # default: the code is not known
            await make().list_orders(account)
        assert type(info.value) is ProviderError
        with pytest.raises(AuthorizationNeeded):
            await make(auth_error_codes=[30002]).list_orders(account)

    run(sandbox, body)
