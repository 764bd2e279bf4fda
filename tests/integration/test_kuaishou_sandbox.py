"""The real Kuaishou provider and link flow against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import webbrowser
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from parcelctl import oauth
from parcelctl.errors import (
    AuthError,
    AuthorizationNeeded,
    ProviderChanged,
    ProviderError,
    RateLimited,
    TransientError,
    UsageError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TokenSet
from parcelctl.providers.base import AccountSession
from parcelctl.providers.kuaishou import KuaishouProvider, raise_for_result, sign

T = TypeVar("T")
EXPECTED_STATUS = {30: Status.AWAITING_SHIPMENT, 40: Status.INFO_RECEIVED,
                   50: Status.DELIVERED, 70: Status.DELIVERED, 80: Status.CANCELLED}


# -- helpers --------------------------------------------------------------------------------
def control(sb: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.request("GET" if path == "stats" else "POST",
                             f"{sb.base_url}/_sandbox/{path}", json=body, trust_env=False)
    response.raise_for_status()
    return response.json()


def configure(sb: Any, **settings: Any) -> dict[str, Any]:
    result: dict[str, Any] = control(sb, "service/kuaishou", settings)
    return result


def requests(sb: Any, endpoint: str) -> int:
    return int(control(sb, "stats")["requests"].get(f"kuaishou {endpoint}", 0))


def settings_for(sb: Any, **extra: Any) -> dict[str, Any]:
    return dict(sb.sandbox.credentials()["kuaishou"]) | extra


def run(sb: Any, scenario: Callable[[Callable[..., KuaishouProvider]], Awaitable[T]],
        *, rate: float | None = None, **extra: Any) -> T:
    """Run one async scenario; providers made inside share one event loop and are closed."""
    async def main() -> T:
        clients: list[HttpClient] = []

        def make(**more: Any) -> KuaishouProvider:
            http = HttpClient("kuaishou", rate=rate, concurrency=KuaishouProvider.concurrency,
                              retry=RetryPolicy(attempts=2, base_delay=0.05))
            clients.append(http)
            return KuaishouProvider(settings_for(sb, **extra) | more, http)

        try:
            return await scenario(make)
        finally:
            for http in clients:
                await http.aclose()

    return asyncio.run(main())


async def link(provider: KuaishouProvider) -> TokenSet:
    """Authorize like a browser that stops at the redirect, then exchange the code."""
    state = oauth.new_state()
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.get(provider.authorize_url(state), follow_redirects=False)
    assert answer.status_code == 302
    return await provider.exchange_code(oauth.parse_redirect(answer.headers["location"], state))


def session(tokens: TokenSet, saved: list[TokenSet] | None = None,
            since: datetime | None = None) -> AccountSession:
    return AccountSession("kuaishou", "shop", tokens,
                          (saved if saved is not None else []).append, since=since)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- link + first sync ----------------------------------------------------------------------
def test_link_and_first_sync_find_every_order_once(sandbox: Any) -> None:
    dataset = sandbox.sandbox.dataset

    async def scenario(make: Callable[..., KuaishouProvider]) -> Any:
        provider = make()
        tokens = await link(provider)
        assert tokens.scopes == ["merchant_order"] and tokens.open_id
        assert tokens.refresh_expires_at is not None
        return await provider.list_orders(session(tokens))

    started = time.monotonic()
    orders = run(sandbox, scenario, rate=KuaishouProvider.rate_per_second)
    assert time.monotonic() - started < 10
    by_id = {o.order_id: o for o in orders}
    assert len(by_id) == len(orders) == len(dataset.orders)
    for shop_order in dataset.orders:
        order = by_id[str(shop_order.oid)]
        assert order.status is EXPECTED_STATUS[shop_order.status]
        assert order.title == shop_order.title and order.quantity == shop_order.quantity
        assert order.price_cents == shop_order.total_fee and order.shop == dataset.seller_nick
        assert [w.number for w in order.waybills] == [n for n, _ in shop_order.waybills]
        for waybill in order.waybills:
            known = dataset.shipments.get(waybill.number)
            assert waybill.carrier == (known.carrier if known else "yuantong")
        if shop_order.promise_hours is not None:
            assert order.promised_ship_at is not None
            assert abs(order.promised_ship_at - (dataset.epoch + timedelta(
                hours=shop_order.promise_hours))) < timedelta(seconds=1)
    windows = configure(sandbox)["windows"]
    assert len(windows) == 13 and {w[2] for w in windows} == {1}
    assert requests(sandbox, "order_list") == 13  # one page per window at pageSize 50
    assert requests(sandbox, "authorize") == 1 and requests(sandbox, "access_token") == 1


def test_small_pages_and_md5_still_find_every_order_once(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> Any:
        provider = make(page_size=2, sign_method="MD5")
        return await provider.list_orders(session(await link(provider)))

    orders = run(sandbox, scenario)
    assert sorted(o.order_id for o in orders) == sorted(
        str(o.oid) for o in sandbox.sandbox.dataset.orders)
    assert requests(sandbox, "order_list") > 13  # cursor paging happened


def test_sandbox_pages_follow_edited_orders(sandbox: Any) -> None:
    """The sandbox keeps each order's JSON text: an order edited in place is served anew."""
    service = sandbox.sandbox.services["kuaishou"]
    target = next(o for o in sandbox.sandbox.dataset.orders if o.status == 30)

    async def scenario(make: Callable[..., KuaishouProvider]) -> Any:
        provider = make()
        tokens = await link(provider)
        before = {o.order_id: o for o in await provider.list_orders(session(tokens))}
        target.status = 80  # closed by the buyer
        closed = {o.order_id: o for o in await provider.list_orders(session(tokens))}
        target.status, target.waybills = 40, [("YT7700000000001", 1)]
        shipped = {o.order_id: o for o in await provider.list_orders(session(tokens))}
        return [found[str(target.oid)] for found in (before, closed, shipped)]

    before, closed, shipped = run(sandbox, scenario)
    assert before.status is Status.AWAITING_SHIPMENT and not before.waybills
    assert closed.status is Status.CANCELLED
    assert shipped.status is Status.INFO_RECEIVED
    assert [w.number for w in shipped.waybills] == ["YT7700000000001"]
    assert json.loads(service._order_json(target)) == service._render(target)


def test_a_prepared_sandbox_serves_every_page_from_its_rendered_orders(sandbox: Any) -> None:
    """The benchmarks prepare the shop before timing a sync: the pages stay the same, and
    no order is rendered while the client waits."""
    service = sandbox.sandbox.services["kuaishou"]
    dataset = sandbox.sandbox.dataset
    assert service.prepare() == len(dataset.orders)
    rendered: list[Any] = []
    real_render = service._render
    service._render = lambda order: rendered.append(order) or real_render(order)

    async def scenario(make: Callable[..., KuaishouProvider]) -> Any:
        provider = make()
        return await provider.list_orders(session(await link(provider)))

    orders = run(sandbox, scenario)
    assert rendered == []
    assert sorted(o.order_id for o in orders) == sorted(str(o.oid) for o in dataset.orders)
    assert all(json.loads(service._order_json(o)) == real_render(o) for o in dataset.orders)


def test_incremental_sync_asks_only_for_the_changed_windows(sandbox: Any) -> None:
    dataset = sandbox.sandbox.dataset
    latest = dataset.epoch + timedelta(hours=max(o.update_hours for o in dataset.orders))
    since = latest - timedelta(hours=2)  # the last sync ran just before the newest change
    span = datetime.now(UTC) - since + timedelta(minutes=10)
    expected_windows = -(-span // timedelta(days=7))

    async def scenario(make: Callable[..., KuaishouProvider]) -> Any:
        provider = make()
        tokens = await link(provider)
        await provider.list_orders(session(tokens))
        configure(sandbox, clear_windows=True)
        before = requests(sandbox, "order_list")
        orders = await provider.list_orders(session(tokens, since=since))
        assert requests(sandbox, "order_list") - before == expected_windows
        return orders

    orders = run(sandbox, scenario)
    windows = configure(sandbox)["windows"]
    assert len(windows) == expected_windows < 13
    assert {w[2] for w in windows} == {2}  # by update time
    begin = min(w[0] for w in windows)
    assert abs(since.timestamp() * 1000 - begin - 10 * 60 * 1000) < 2  # small overlap only
    expected = {str(o.oid) for o in dataset.orders
                if (dataset.epoch + timedelta(hours=o.update_hours)).timestamp() * 1000 >= begin}
    assert expected and len(expected) < len(dataset.orders)
    assert {o.order_id for o in orders} == expected


# -- OAuth ----------------------------------------------------------------------------------
def test_code_is_single_use_and_expires(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        state = oauth.new_state()
        async with httpx.AsyncClient(trust_env=False) as client:
            first = await client.get(provider.authorize_url(state))
            second = await client.get(provider.authorize_url(state))
        code = oauth.parse_redirect(first.headers["location"], state)
        await provider.exchange_code(code)
        with pytest.raises(AuthorizationNeeded) as info:
            await provider.exchange_code(code)
        assert "run: parcelctl link kuaishou" in str(info.value)
        control(sandbox, "clock", {"advance": 121})
        with pytest.raises(AuthorizationNeeded):
            await provider.exchange_code(oauth.parse_redirect(second.headers["location"], state))

    run(sandbox, scenario)


def test_refresh_rotation_across_two_expiries(sandbox: Any) -> None:
    configure(sandbox, access_ttl=1200)  # our clock: still valid; the sandbox's: expired
    saved: list[TokenSet] = []

    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        first = await link(provider)
        account = session(first, saved)
        await provider.list_orders(account)
        assert saved == []
        control(sandbox, "clock", {"advance": 1500})
        await provider.list_orders(account)
        assert len(saved) == 1 and saved[0].refresh_token != first.refresh_token
        control(sandbox, "clock", {"advance": 1500})
        orders = await provider.list_orders(account)
        assert len(orders) == len(sandbox.sandbox.dataset.orders)
        assert len(saved) == 2 and saved[1].refresh_token != saved[0].refresh_token
        assert account.tokens is saved[1]
        # rotation: the expiry is inherited, so it shrinks as (sandbox) time passes
        assert saved[0].refresh_expires_at and saved[1].refresh_expires_at
        assert saved[1].refresh_expires_at < saved[0].refresh_expires_at
        for dead in (first, saved[0]):
            with pytest.raises(AuthorizationNeeded) as info:
                await provider.refresh(dead)
            assert "refreshToken.discarded" in str(info.value)
        again = await provider.refresh(saved[1])
        assert again.refresh_token not in {t.refresh_token for t in saved}

    run(sandbox, scenario)
    assert requests(sandbox, "refresh_token") == 5


def test_refresh_grace_period(sandbox: Any) -> None:
    configure(sandbox, refresh_grace_seconds=300)

    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        first = await link(provider)
        await provider.refresh(first)
        await provider.refresh(first)  # still inside the grace period
        control(sandbox, "clock", {"advance": 301})
        with pytest.raises(AuthorizationNeeded):
            await provider.refresh(first)

    run(sandbox, scenario)


def test_revoked_authorization_needs_a_new_link(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        configure(sandbox, revoke=True)
        with pytest.raises(AuthorizationNeeded) as info:
            await provider.list_orders(session(tokens))
        assert info.value.exit_code == 4 and "parcelctl link kuaishou" in str(info.value)

    run(sandbox, scenario)


def test_denied_authorization_is_a_clear_error(sandbox: Any) -> None:
    configure(sandbox, deny=True)
    provider = KuaishouProvider(settings_for(sandbox), HttpClient("kuaishou"))
    state = oauth.new_state()
    answer = httpx.get(provider.authorize_url(state), trust_env=False)
    assert answer.status_code == 302
    with pytest.raises(UsageError) as info:
        oauth.parse_redirect(answer.headers["location"], state)
    assert "refused in the browser" in str(info.value)


def test_state_mismatch_from_the_sandbox_is_refused(sandbox: Any) -> None:
    provider = KuaishouProvider(settings_for(sandbox), HttpClient("kuaishou"))
    answer = httpx.get(provider.authorize_url("state-A"), trust_env=False)
    with pytest.raises(UsageError) as info:
        oauth.parse_redirect(answer.headers["location"], "state-B")
    assert "state does not match" in str(info.value)


def test_obtain_code_through_the_loopback_listener(sandbox: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/callback"

    def browser(url: str) -> bool:  # follows the sandbox's 302 to the listener
        threading.Thread(target=httpx.get, args=(url,),
                         kwargs={"follow_redirects": True, "trust_env": False},
                         daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)

    async def scenario(make: Callable[..., KuaishouProvider]) -> TokenSet:
        provider = make(redirect_uri=redirect)
        state = oauth.new_state()
        code = await asyncio.to_thread(
            oauth.obtain_code, provider.authorize_url(state), redirect, state,
            open_browser=True, paste=False, timeout=10, read_line=lambda: "",
            show=lambda _: None)
        return await provider.exchange_code(code)

    assert run(sandbox, scenario).access_token


def test_authorize_page_validates(sandbox: Any) -> None:
    creds = settings_for(sandbox)
    good = {"app_id": creds["app_key"], "redirect_uri": "http://127.0.0.1:8976/callback",
            "scope": "merchant_order", "response_type": "code", "state": "s"}
    for bad in ({"app_id": "ksWRONG"}, {"redirect_uri": "https://evil.example/cb"},
                {"scope": "merchant_order,root"}, {"scope": ""}, {"response_type": "token"}):
        answer = httpx.get(f"{creds['auth_url']}/oauth/authorize", params=good | bad,
                           trust_env=False)
        assert answer.status_code == 400 and "location" not in answer.headers, bad
    answer = httpx.get(f"{creds['auth_url']}/oauth/authorize", params=good, trust_env=False)
    assert answer.status_code == 302


# -- credentials and error envelopes --------------------------------------------------------
def test_wrong_app_secret_is_an_auth_error(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        with pytest.raises(AuthError) as info:
            await link(make(app_secret="not-the-secret"))
        assert "not-the-secret" not in str(info.value)

    run(sandbox, scenario)


def test_wrong_signing_credentials_are_auth_errors(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        tokens = await link(make())
        for wrong in ({"sign_secret": "wrong-sign"}, {"app_key": "ksOTHER"}):
            with pytest.raises(AuthError) as info:
                await make(**wrong).list_orders(session(tokens))
            assert "wrong-sign" not in str(info.value)

    run(sandbox, scenario)


def test_fault_envelopes_become_the_right_errors(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        for kind, error in (("business", ProviderError), ("wrong_shape", ProviderChanged),
                            ("html200", ProviderChanged), ("http500", TransientError),
                            ("429", RateLimited), ("reset", TransientError)):
            control(sandbox, "faults", {"service": "kuaishou", "endpoint": "order_list",
                                        "kind": kind})
            with pytest.raises(error) as info:
                await provider.list_orders(session(tokens, since=datetime.now(UTC)))
            httpx.delete(f"{sandbox.base_url}/_sandbox/faults", trust_env=False)
            assert isinstance(info.value, error), kind
            if kind == "business":
                assert type(info.value) is ProviderError and "bug" in str(info.value)
        assert await provider.list_orders(session(tokens, since=datetime.now(UTC))) \
            is not None  # healthy again once the faults are gone

    run(sandbox, scenario)


def test_sandbox_oauth_errors_map_to_the_right_exception(sandbox: Any) -> None:
    creds = settings_for(sandbox)
    good = {"app_id": creds["app_key"], "grant_type": "code", "code": "c",
            "app_secret": creds["app_secret"]}
    for params, error in (
        ({"grant_type": "authorization_code"}, ProviderError),  # 100200104
        ({"app_secret": "nope"}, AuthError),  # 100200101
        ({"code": "never-issued"}, AuthorizationNeeded),  # 100200105
        ({"app_id": ""}, ProviderError),  # 100200100
    ):
        payload = httpx.get(f"{creds['base_url']}/oauth2/access_token", params=good | params,
                            trust_env=False).json()
        assert payload["result"] != 1 and payload["error"]
        with pytest.raises(error) as info:
            raise_for_result(payload)
        assert type(info.value) is error, params


# -- the sandbox validates what the platform validates --------------------------------------
def _signed(sb: Any, token: str, param: dict[str, Any], *, method: str = "HMAC_SHA256",
            tamper: Callable[[dict[str, str]], None] | None = None) -> dict[str, Any]:
    creds = settings_for(sb)
    params = {"access_token": token, "appkey": creds["app_key"],
              "method": "open.order.cursor.list", "version": "1",
              "param": json.dumps(param, ensure_ascii=False), "signMethod": method,
              "timestamp": str(int(time.time() * 1000))}
    params["sign"] = sign(params, creds["sign_secret"], method)
    if tamper:
        tamper(params)
    answer = httpx.get(f"{creds['base_url']}/open/order/cursor/list", params=params,
                       trust_env=False)
    result: dict[str, Any] = answer.json()
    return result


def test_sandbox_order_list_validation(sandbox: Any) -> None:
    async def scenario(make: Callable[..., KuaishouProvider]) -> TokenSet:
        return await link(make())

    token = run(sandbox, scenario).access_token
    now = int(time.time() * 1000)
    day = 86_400_000
    good = {"orderViewStatus": 1, "pageSize": 50, "beginTime": now - day, "endTime": now,
            "cursor": ""}
    assert _signed(sandbox, token, good)["result"] == 1
    assert _signed(sandbox, token, good, method="MD5")["result"] == 1
    cases: list[tuple[dict[str, Any], Any, Any]] = [
        (good | {"endTime": now - 2 * day}, None, 300003),
        (good | {"beginTime": now - 8 * day}, None, 300004),
        (good | {"beginTime": now - 91 * day, "endTime": now - 90 * day}, None, 300005),
        (good | {"pageSize": 51}, None, 100200100),
        (good | {"queryType": 3}, None, 100200100),
        (good | {"cursor": "bm90LWEtY3Vyc29y"}, None, 100200100),
        # A bad signature: 28 (errata K3: "K1004" is an FAQ number, not a code).
        (good, lambda p: p.update(sign=p["sign"].upper()), 28),
        (good, lambda p: p.update(timestamp=str(int(p["timestamp"]) // 1000)), 28),
        (good, lambda p: p.update(access_token="forged"), 28),
        (good, lambda p: p.pop("version"), 100200100),
    ]
    for param, tamper, expected in cases:
        answer = _signed(sandbox, token, param, method="MD5", tamper=tamper)
        assert answer["result"] == expected, (param, answer)
    # Errata K1: business calls answer token problems with gateway codes, not 100200102.
    assert _signed(sandbox, "forged", good)["result"] == 21
