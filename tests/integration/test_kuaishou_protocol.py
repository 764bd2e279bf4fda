"""Kuaishou gateway answers the way the vendor documents them (errata K1–K3), and a cursor
that never ends (issue 16 #4), against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from parcelctl.errors import AuthError, AuthorizationNeeded, ProviderError, QuotaExceeded
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.providers.kuaishou import KuaishouProvider

from .test_kuaishou_sandbox import configure, control, link, requests, run, session

FAQ = "AndersonBY/kwaixiaodian-python-sdk docs/开发者支持文档/开放平台/"


def _faults(sb: Any, kind: str, count: int | None = None) -> None:
    control(sb, "faults", {"service": "kuaishou", "endpoint": "order_list", "kind": kind,
                           "count": count})


def test_revoked_link_is_result_24_and_needs_a_new_link(sandbox: Any) -> None:
    """FAQ K0006 (``{FAQ}应用授权/K0006 - 错误信息：AUTHORIZATION_REVOKED.md``): a revoked link
    answers business calls ``{"result":24,"error_msg":"AUTHORIZATION_REVOKED"}``. Refreshing
    cannot help (the refresh token is revoked too): no refresh call is made."""
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        configure(sandbox, revoke=True)
        with pytest.raises(AuthorizationNeeded) as info:
            await provider.list_orders(session(tokens, since=datetime.now(UTC)))
        assert "AUTHORIZATION_REVOKED" in str(info.value)
        assert "parcelctl link kuaishou" in str(info.value)

    run(sandbox, scenario)
    assert requests(sandbox, "refresh_token") == 0


def test_deleted_sub_account_is_result_26_and_needs_a_new_link(sandbox: Any) -> None:
    """FAQ K0005 (``{FAQ}应用授权/K0005 - API接口返回 主账号不存在.md``): result 26 主账号不存在
    means the authorizing sub-account is gone: authorize again."""
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        configure(sandbox, account_gone=True)
        with pytest.raises(AuthorizationNeeded) as info:
            await provider.list_orders(session(tokens, since=datetime.now(UTC)))
        assert "主账号不存在" in str(info.value)

    run(sandbox, scenario)


def test_expired_access_token_code_21_is_refreshed_once(sandbox: Any) -> None:
    """``whalesky-labs/kwaishop-php-sdk`` ``src/Client/Pipeline/ResponseParser.php`` groups
    21 with 24 as authentication failures; an access token the platform no longer takes
    (the sandbox's 21) is renewed with the refresh token and the call made again."""
    async def scenario(make: Callable[..., KuaishouProvider]) -> int:
        provider = make()
        tokens = await link(provider)
        tokens.access_token = "ksat_" + "0" * 32  # unknown to the platform: result 21
        saved: list[Any] = []
        orders = await provider.list_orders(session(tokens, saved))
        assert len(saved) == 1  # one refresh, shared by every window
        return len(orders)

    assert run(sandbox, scenario) == len(sandbox.sandbox.dataset.orders)


def test_signature_codes_27_28_are_credential_errors_not_k1004(sandbox: Any) -> None:
    """Errata K3: "K1004" is an FAQ article number, not a code; ``ResponseParser.php`` maps
    27/28 to signature failures. The sandbox answers a bad signature with result 28."""
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        tokens = await link(make())
        with pytest.raises(AuthError) as info:
            await make(sign_secret="wrong-sign").list_orders(session(tokens))
        assert "sign_secret" in str(info.value) and "wrong-sign" not in str(info.value)

    run(sandbox, scenario)
    assert "K1004" not in str(KuaishouProvider.config_keys)


def test_qps_throttling_is_an_envelope_retried_until_it_passes(sandbox: Any) -> None:
    """FAQ K1008 (``{FAQ}API调用/K1008 - API调用触发限流告警.md``): "Exceed qps limit, KEY
    […], MAX_QPS [300.0]" comes as an error envelope (HTTP 200), not HTTP 429. It is waited
    out and asked again, a bounded number of times."""
    _faults(sandbox, "429", count=2)
    probe = httpx.get(f"{sandbox.base_url}/kuaishou/open/order/cursor/list", trust_env=False)
    assert probe.status_code == 200 and "Exceed qps limit" in probe.json()["error_msg"]

    async def scenario(make: Callable[..., KuaishouProvider]) -> int:
        provider = make()
        tokens = await link(provider)
        return len(await provider.list_orders(session(tokens, since=datetime.now(UTC))))

    assert run(sandbox, scenario) >= 0  # succeeded after the throttled answers
    assert requests(sandbox, "order_list") >= 3


def test_qps_throttling_that_never_ends_gives_up(sandbox: Any) -> None:
    """Same source: a throttle that does not lift is a retryable error, not a loop."""
    _faults(sandbox, "429")

    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        with pytest.raises(ProviderError) as info:
            await provider.list_orders(session(tokens, since=datetime.now(UTC)))
        assert info.value.retryable and "Exceed qps limit" in str(info.value)

    run(sandbox, scenario)
    assert requests(sandbox, "order_list") <= 8


def test_daily_quota_stops_the_account_with_the_next_window(sandbox: Any) -> None:
    """FAQ K1008: "[1017] exceed quota limit,[apiId:…;primaryUserId:…]" — the day's quota is
    used up; asking again today cannot succeed. One line saying when to sync next."""
    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make()
        tokens = await link(provider)
        configure(sandbox, daily_quota=0)
        with pytest.raises(QuotaExceeded) as info:
            await provider.list_orders(session(tokens))
        text = str(info.value)
        assert "daily API quota used up; next sync after" in text and "+08:00" in text
        assert len(text.splitlines()) == 1

    run(sandbox, scenario)
    assert requests(sandbox, "order_list") <= KuaishouProvider.concurrency


def test_endless_cursor_is_bounded_and_keeps_no_pages(sandbox: Any) -> None:
    """Issue 16 #4: a server whose every page answers a new cursor made 130,000 requests.
    Pages per window are bounded (``max_pages_per_window``), the walk fails as that
    provider's error, and the pages are not all held in memory."""
    _faults(sandbox, "endless_cursor")

    async def scenario(make: Callable[..., KuaishouProvider]) -> int:
        provider = make(page_size=5, max_pages_per_window=40)
        tokens = await link(provider)
        held = 0
        with pytest.raises(ProviderError) as info:
            async for page in provider.iter_orders(session(tokens)):
                held += len(page)
        assert "40 pages" in str(info.value)
        assert "max_pages_per_window" in str(info.value)
        return held

    started = time.monotonic()
    run(sandbox, scenario)
    assert time.monotonic() - started < 90  # 130,000 requests before the bound
    walked = requests(sandbox, "order_list")
    assert walked <= 40 * 13 + KuaishouProvider.concurrency


def test_endless_cursor_run_bound(sandbox: Any) -> None:
    """Issue 16 #4, the per-run bound (``max_pages_per_run``) across every window."""
    _faults(sandbox, "endless_cursor")

    async def scenario(make: Callable[..., KuaishouProvider]) -> None:
        provider = make(page_size=5, max_pages_per_run=60)
        tokens = await link(provider)
        with pytest.raises(ProviderError) as info:
            await provider.list_orders(session(tokens))
        assert "max_pages_per_run" in str(info.value)

    run(sandbox, scenario)
    assert requests(sandbox, "order_list") <= 60 + 2 * KuaishouProvider.concurrency


def test_throttle_retry_waits_for_every_window(sandbox: Any) -> None:
    """The QPS wait is shared: after a throttled answer no window of the provider sends
    before the pause is over (it is the app's QPS, not one window's)."""
    async def scenario() -> float:
        http = HttpClient("kuaishou", rate=None, retry=RetryPolicy(attempts=2))
        try:
            provider = KuaishouProvider(dict(sandbox.sandbox.credentials()["kuaishou"]), http)
            tokens = await link(provider)
            _faults(sandbox, "429", count=1)
            started = time.monotonic()
            await provider.list_orders(session(tokens, since=datetime.now(UTC)))
            return time.monotonic() - started
        finally:
            await http.aclose()

    assert asyncio.run(scenario()) >= 0.2
