"""The real Taobao provider, with a real HttpClient, against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from parcelctl import oauth
from parcelctl.errors import (
    AuthError,
    AuthorizationNeeded,
    ProviderChanged,
    RateLimited,
    TransientError,
    UsageError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TokenSet
from parcelctl.providers.base import AccountSession
from parcelctl.providers.taobao import TaobaoProvider, TopError, parse_trades, unwrap
from parcelctl.sandbox.dataset import at

T = TypeVar("T")
BEIJING = timezone(timedelta(hours=8))
TRADES = "taobao.trades.sold.get"
TRACE = "taobao.logistics.trace.search"
SIGNED_STAGES = {"delivered", "delivered_station"}
#: Last stage -> the status the trace summary gives (vendor SDK vocabulary, errata T3).
FAILED_STAGES = {"failed_attempt", "refused", "returning", "returned", "cancelled"}


# -- helpers ----------------------------------------------------------------------------------
def control(sb: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.request("GET" if path == "stats" else "POST",
                             f"{sb.base_url}/_sandbox/{path}", json=body, trust_env=False)
    response.raise_for_status()
    return response.json()


def requests(sb: Any, endpoint: str) -> int:
    return int(control(sb, "stats")["requests"].get(f"taobao {endpoint}", 0))


def run(sb: Any, scenario: Callable[[Callable[..., TaobaoProvider]], Awaitable[T]],
        **extra: Any) -> T:
    async def main() -> T:
        clients: list[HttpClient] = []

        def make(**more: Any) -> TaobaoProvider:
            http = HttpClient("taobao", concurrency=TaobaoProvider.concurrency,
                              retry=RetryPolicy(attempts=2, base_delay=0.01))
            clients.append(http)
            settings = dict(sb.sandbox.credentials()["taobao"]) | extra | more
            return TaobaoProvider(settings, http)

        try:
            return await scenario(make)
        finally:
            for http in clients:
                await http.aclose()

    return asyncio.run(main())


async def link(provider: TaobaoProvider) -> TokenSet:
    """A browser that stops at the sandbox's redirect, then the code exchange."""
    state = oauth.new_state()
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.get(provider.authorize_url(state), follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(provider.redirect_uri + "?")
    return await provider.exchange_code(oauth.parse_redirect(location, state))


def session(tokens: TokenSet) -> AccountSession:
    return AccountSession("taobao", "shop", tokens, lambda t: None)


def expected(sb: Any, order_id: str) -> tuple[Status, list[Any], str]:
    """What the dataset says about an order, computed here (not by the sandbox)."""
    dataset = sb.sandbox.dataset
    shop = next(o for o in dataset.orders if str(o.oid) == order_id)
    if shop.status in (30, 80):
        return {30: Status.AWAITING_SHIPMENT, 80: Status.CANCELLED}[shop.status], [], ""
    number = shop.waybills[0][0]
    shipment = dataset.shipment(number)
    hours = (datetime.now(UTC) - dataset.epoch).total_seconds() / 3600
    events = shipment.visible(hours) if shipment else []
    last = events[-1].stage if events else ""
    if shop.status == 70 or last in SIGNED_STAGES:
        status = Status.DELIVERED
    elif sb.sandbox.services["taobao"].offline(shop) or last in ("", "accepted"):
        status = Status.INFO_RECEIVED  # offline.send: "对方已签收" alone is no delivery
    else:
        status = Status.EXCEPTION if last in FAILED_STAGES else Status.IN_TRANSIT
    return status, events, number


# -- end to end -------------------------------------------------------------------------------
def test_authorize_code_token_orders_with_traces(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> Any:
        provider = make()
        tokens = await link(provider)
        assert tokens.access_token and tokens.open_id
        assert tokens.access_expires_at is not None
        return await provider.list_orders(session(tokens))

    orders = run(sandbox, scenario)
    dataset = sandbox.sandbox.dataset
    assert len(orders) >= 10
    assert len({o.order_id for o in orders}) == len(orders)
    seen = set()
    for order in orders:
        status, events, number = expected(sandbox, order.order_id)
        seen.add(status)
        assert order.status is status, order
        assert order.shop == dataset.seller_nick
        assert order.created_at is not None and order.created_at.utcoffset() is not None
        if not number:
            assert order.waybills == [] and order.traces == {}
            continue
        [waybill] = order.waybills
        shipment = dataset.shipment(number)
        assert waybill.number == number and waybill.carrier == shipment.carrier
        trace = order.traces.get(number, [])
        assert [e.description for e in trace] == [e.text for e in events]
        assert [e.time for e in trace] == [
            at(dataset.epoch, e.hours).replace(microsecond=0) for e in events]
        station = [e for e in trace if e.raw_code == "STA_SIGN"]  # errata T4
        assert all(e.status is Status.READY_FOR_PICKUP for e in station)
    assert {Status.AWAITING_SHIPMENT, Status.CANCELLED, Status.DELIVERED} <= seen
    stats = control(sandbox, "stats")
    shipped = sum(1 for o in orders if o.waybills)
    assert stats["requests"] == {"taobao authorize": 1, "taobao token": 1,
                                 f"taobao {TRADES}": 1, f"taobao {TRACE}": shipped}
    assert sum(v for k, v in stats["numbers"].items() if k.startswith("taobao ")) == shipped


def test_obtain_code_through_the_loopback_listener(sandbox: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        redirect = f"http://127.0.0.1:{sock.getsockname()[1]}/callback"

    def browser(url: str) -> bool:  # follows the sandbox's 302 to the listener
        threading.Thread(target=httpx.get, args=(url,),
                         kwargs={"follow_redirects": True, "trust_env": False},
                         daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", browser)

    async def scenario(make: Callable[..., TaobaoProvider]) -> TokenSet:
        provider = make(redirect_uri=redirect)
        state = oauth.new_state()
        code = await asyncio.to_thread(
            oauth.obtain_code, provider.authorize_url(state), redirect, state,
            open_browser=True, paste=False, timeout=10, read_line=lambda: "",
            show=lambda _: None)
        return await provider.exchange_code(code)

    assert run(sandbox, scenario).access_token


def test_paging_walks_every_page(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> tuple[list[str], list[str]]:
        tokens = await link(make())
        small = await make(page_size=5).list_orders(session(tokens))
        big = await make(page_size=100).list_orders(session(tokens))
        return [o.order_id for o in small], [o.order_id for o in big]

    small, big = run(sandbox, scenario)
    assert small == big and len(small) > 5
    pages = -(-len(small) // 5)
    assert requests(sandbox, TRADES) == pages + 1


@pytest.mark.parametrize(("sign_method", "timestamp_format"), [
    ("md5", "datetime"), ("hmac", "datetime"), ("hmac-sha256", "ms")])
def test_every_sign_method_is_accepted(sandbox: Any, sign_method: str,
                                       timestamp_format: str) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> int:
        provider = make(sign_method=sign_method, timestamp_format=timestamp_format)
        return len(await provider.list_orders(session(await link(provider))))

    assert run(sandbox, scenario) > 0


def test_the_sandbox_checks_signatures_independently(sandbox: Any) -> None:
    """A hand-made request signed with the sheet's rule passes; one changed byte fails."""
    creds = sandbox.sandbox.credentials()["taobao"]

    async def scenario(make: Callable[..., TaobaoProvider]) -> str:
        return (await link(make())).access_token

    token = run(sandbox, scenario)
    params = {"method": TRADES, "app_key": creds["app_key"], "session": token,
              "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
              "format": "json", "v": "2.0", "sign_method": "md5", "fields": "tid,status"}
    text = "".join(k + params[k] for k in sorted(params))
    secret = creds["app_secret"]
    params["sign"] = hashlib.md5((secret + text + secret).encode()).hexdigest().upper()
    good = httpx.post(creds["base_url"], data=params, trust_env=False).json()
    assert good["trades_sold_get_response"]["trades"]["trade"][0].keys() == {"tid", "status"}
    params["fields"] = "tid,status "
    bad = httpx.post(creds["base_url"], data=params, trust_env=False).json()
    assert bad["error_response"]["code"] == 25


# -- credentials and authorization ------------------------------------------------------------
def test_wrong_app_secret_is_an_auth_error(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        tokens = await link(make())
        with pytest.raises(AuthError) as info:
            await make(app_secret="not-the-secret").list_orders(session(tokens))
        assert "not-the-secret" not in str(info.value)
        with pytest.raises(AuthError):
            await make(app_key="99999999").list_orders(session(tokens))
        with pytest.raises(AuthError):
            await make(app_secret="not-the-secret").exchange_code("whatever")

    run(sandbox, scenario)


def test_reused_code_and_denied_consent(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        provider = make()
        state = oauth.new_state()
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(provider.authorize_url(state))
            code = oauth.parse_redirect(answer.headers["location"], state)
            await provider.exchange_code(code)
            with pytest.raises(AuthorizationNeeded) as info:
                await provider.exchange_code(code)  # single use
            assert info.value.hint == "run: parcelctl link taobao"
            control(sandbox, "service/taobao", {"approve": False})
            answer = await client.get(provider.authorize_url(state))
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == ["access_denied"]
        with pytest.raises(UsageError):
            oauth.parse_redirect(answer.headers["location"], state)

    run(sandbox, scenario)


@pytest.mark.parametrize("query", [{"client_id": "1"}, {"redirect_uri": "https://evil.example/"},
                                   {"response_type": "token"}, {"view": "tv"}])
def test_authorize_page_validates(sandbox: Any, query: dict[str, str]) -> None:
    creds = sandbox.sandbox.credentials()["taobao"]
    params = {"response_type": "code", "client_id": creds["app_key"],
              "redirect_uri": "http://127.0.0.1:8976/callback", "state": "s"} | query
    answer = httpx.get(creds["auth_url"], params=params, trust_env=False)
    assert answer.status_code == 400 and "location" not in answer.headers


def test_expired_session_asks_to_link_again(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        tokens = await link(make())
        control(sandbox, "clock", {"advance": 2 * 86400})
        with pytest.raises(AuthorizationNeeded) as info:
            await make().list_orders(session(tokens))
        assert info.value.hint == "run: parcelctl link taobao"
        assert tokens.access_token not in str(info.value)

    run(sandbox, scenario)


def test_expired_tokens_refresh_only_when_enabled(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        tokens = await link(make())
        tokens.access_expires_at = datetime.now(UTC) - timedelta(minutes=1)
        before = requests(sandbox, "token")
        with pytest.raises(AuthorizationNeeded):
            await make().list_orders(session(tokens))
        assert requests(sandbox, "token") == before  # off: nothing sent
        saved: list[TokenSet] = []
        account = AccountSession("taobao", "buyer", tokens, saved.append)
        orders = await make(token_refresh=True).list_orders(account)
        assert orders and saved and saved[0].access_token != tokens.access_token
        with pytest.raises(AuthorizationNeeded):  # the old refresh token was rotated away
            await make(token_refresh=True).refresh(tokens)

    run(sandbox, scenario)


# -- error envelopes and faults ---------------------------------------------------------------
def fault(sb: Any, kind: str, endpoint: str | None = TRADES, count: int = 5) -> None:
    control(sb, "faults", {"service": "taobao", "endpoint": endpoint, "kind": kind,
                           "count": count})


@pytest.mark.parametrize(("kind", "cls"), [
    ("business", TopError), ("wrong_shape", ProviderChanged), ("html200", ProviderChanged),
    ("truncated", ProviderChanged), ("429", RateLimited), ("http503", TransientError)])
def test_error_envelopes_and_faults(sandbox: Any, kind: str, cls: type[Exception]) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        tokens = await link(make())
        fault(sandbox, kind)
        with pytest.raises(cls) as info:
            await make().list_orders(session(tokens))
        if kind == "business":
            assert isinstance(info.value, TopError)
            assert (info.value.code, info.value.sub_code) == ("15", "isv.invalid-parameter")

    run(sandbox, scenario)


def test_missing_method_is_code_21(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        payload = await provider.call("", tokens.access_token, {})  # empty: not sent
        with pytest.raises(TopError) as info:
            unwrap(payload, TRADES)
        assert info.value.code == "21" and "base_url" in (info.value.hint or "")

    run(sandbox, scenario)


def test_invalid_page_size_is_the_documented_business_error(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        payload = await provider.call(TRADES, tokens.access_token,
                                      {"fields": "tid", "page_size": "500"})
        with pytest.raises(TopError) as info:
            parse_trades(payload, "buyer")
        assert info.value.sub_code == "isv.invalid-parameter"

    run(sandbox, scenario)


def test_one_trace_failure_keeps_the_rest(sandbox: Any) -> None:
    async def scenario(make: Callable[..., TaobaoProvider]) -> Any:
        tokens = await link(make())
        clean = await make().list_orders(session(tokens))
        fault(sandbox, "business", TRACE, count=1)
        return clean, await make().list_orders(session(tokens))

    clean, orders = run(sandbox, scenario)
    shipped = [o for o in orders if o.raw_status in ("WAIT_BUYER_CONFIRM_GOODS",
                                                     "TRADE_FINISHED")]
    # The waybills come from the trade list: a missing trace loses only its detail.
    assert shipped and all(o.waybills for o in shipped)
    assert sum(1 for o in clean if o.traces) - sum(1 for o in orders if o.traces) == 1
