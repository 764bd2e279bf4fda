"""Kuaishou e-commerce open platform (快手电商开放平台): a shop's orders and their waybills.

Protocol: OAuth 2.0 authorization code (``/oauth/authorize`` → ``/oauth2/access_token`` →
rotating ``/oauth2/refresh_token``) and signed calls to ``open.order.cursor.list`` walked in
≤7-day windows over the last 90 days (fact sheet: protocols/kuaishou.md).

The platform returns no traces (§8): waybills are tracked through a tracking provider, with
``expressCode`` mapped to a parcelctl carrier code by a crosswalk kept as data.

Business calls answer problems with small gateway codes (errata K1–K3, protocol.py): 24/26
(and 22) mean "link again", 21 is renewed with the refresh token first, 27/28 are a wrong
signature, and throttling is an envelope: "Exceed qps limit" is waited out and asked again
(a few times), a used-up daily quota stops the account until the next day (China time).

Made configurable where the vendor gives no number:

* ``token_error_codes`` — codes meaning "access token invalid": refresh, then ask again
  (default ``[100200102, 21]``);
* ``credential_error_codes`` — further codes meaning "app key / signature rejected"
  (default ``[100200101, 27, 28]``);
* ``express_codes`` — kuaidi100 codes for Kuaishou carriers beyond the built-in ones;
* ``max_pages_per_window`` / ``max_pages_per_run`` — where a cursor that never says
  "nomore" is stopped (issue 16; the defaults' reasons are in settings.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from ...http import HttpClient, gather_or_cancel, json_body, register_secret
from ...models import Order, TokenSet, utcnow
from ..base import AccountSession, ConfigKey, PlatformProvider, as_str
from .parse import (
    DEFAULT_ACCESS_TTL,
    DEFAULT_REFRESH_TTL,
    EPOCH,
    merge_orders,
    page_orders,
    parse_orders,
    parse_token,
)
from .protocol import (
    NAME,
    NOMORE,
    OAUTH_ERRORS,
    ORDER_METHOD,
    WINDOW_ERRORS,
    codes_of,
    envelope_error,
    page_cursor,
    plan_windows,
    raise_for_result,
    sign,
    throttle_kind,
)
from .settings import (
    MAX_PAGES_PER_RUN,
    MAX_PAGES_PER_WINDOW,
    QPS_ATTEMPTS,
    PageBudget,
    bounded,
    carriers,
    code_set,
    endless_error,
    qps_wait,
)
from .tables import EXPRESS_CODES, ORDER_STATUS, SKIPPED_STATUSES

log = logging.getLogger("parcelctl.providers.kuaishou")

__all__ = [
    "DEFAULT_ACCESS_TTL", "DEFAULT_REFRESH_TTL", "EXPRESS_CODES", "NAME", "NOMORE",
    "OAUTH_ERRORS", "ORDER_METHOD", "ORDER_STATUS", "SKIPPED_STATUSES", "WINDOW_ERRORS",
    "KuaishouProvider", "envelope_error", "merge_orders", "page_cursor", "page_orders",
    "parse_orders", "parse_token", "plan_windows", "raise_for_result", "sign",
]

# -- the provider ---------------------------------------------------------------------------
class KuaishouProvider(PlatformProvider):
    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Kuaishou shop (快手小店)"
    description: ClassVar[str] = "Orders of your Kuaishou shop with their waybills"
    capabilities: ClassVar[tuple[str, ...]] = ("orders", "unshipped", "oauth")
    # 300 QPS per app and per user is documented (§6), and the app is the user's own. The
    # limiter keeps a 5% margin (at most ~286/s); an unpublished global limit answers 429,
    # which makes every request of this provider wait and retry (http.py). Lower it with
    # providers.kuaishou.rate_per_second. 16 in flight = every 7-day window of the 90-day
    # history at once, so a first sync takes about as long as its busiest week.
    rate_per_second: ClassVar[float | None] = 300.0
    concurrency: ClassVar[int] = 16
    scopes: ClassVar[dict[str, str]] = {
        "merchant_order": "your shop's orders: items, amounts, status, waybill numbers",
    }
    notes: ClassVar[str] = (
        "Needs a Kuaishou open-platform app (app_key, app_secret, sign_secret) whose callback "
        "is the redirect_uri; self-built apps can only be authorized by the shop accounts "
        "added as authorized users in the console. The platform returns no traces: waybills "
        "are tracked through your tracking provider."
    )
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("app_key", "appKey of your open-platform app (starts with 'ks')",
                  required=True),
        ConfigKey("app_secret", "appSecret (OAuth token calls)", secret=True, required=True),
        ConfigKey("sign_secret", "signSecret (request signing)", secret=True, required=True),
        ConfigKey("sign_method", "HMAC_SHA256 or MD5", default="HMAC_SHA256",
                  choices=("HMAC_SHA256", "MD5")),
        ConfigKey("base_url", "API and token host", default="https://openapi.kwaixiaodian.com"),
        ConfigKey("auth_url", "authorize page host", default="https://open.kwaixiaodian.com"),
        ConfigKey("redirect_uri", "callback registered for the app",
                  default="http://127.0.0.1:8976/callback"),
        ConfigKey("express_codes", "overrides of the expressCode -> carrier code table, "
                  'e.g. {"40" = "annengwuliu"}', default=None, type="table"),
        ConfigKey("history_days", "days of orders read on the first sync (max 90)", default=90,
                  minimum=1, maximum=90),
        ConfigKey("window_days", "days per order-list query (max 7)", default=7, minimum=1,
                  maximum=7),
        ConfigKey("page_size", "orders per page (max 50)", default=50, minimum=1, maximum=50),
        ConfigKey("token_error_codes", "result codes meaning 'access token invalid' "
                  "(21: ResponseParser.php of kwaishop-php-sdk)", default=[100200102, 21]),
        ConfigKey("credential_error_codes", "codes meaning 'app key or signature rejected' "
                  "(27/28: same source)", default=[100200101, 27, 28]),
        ConfigKey("max_pages_per_window", "stop an order list that has not ended after this "
                  "many pages in one window", default=MAX_PAGES_PER_WINDOW, minimum=1,
                  maximum=1_000_000),
        ConfigKey("max_pages_per_run", "stop an import that has not ended after this many "
                  "pages in all", default=MAX_PAGES_PER_RUN, minimum=1, maximum=1_000_000),
    )

    def __init__(self, settings: Mapping[str, Any], http: HttpClient) -> None:
        super().__init__(settings, http)
        for key in ("app_secret", "sign_secret"):
            register_secret(as_str(self.settings.get(key)))

    # -- OAuth ------------------------------------------------------------------------------
    def authorize_url(self, state: str) -> str:
        query = urlencode({"app_id": self.require("app_key"), "redirect_uri": self.redirect_uri,
                           "scope": ",".join(self.scopes), "response_type": "code",
                           "state": state}, safe=",")
        return f"{self.url('auth_url')}/oauth/authorize?{query}"

    async def exchange_code(self, code: str) -> TokenSet:
        params = {"app_id": self.require("app_key"), "grant_type": "code", "code": code,
                  "app_secret": self.require("app_secret")}
        # Not idempotent: a retried request would present an already-used code.
        response = await self.http.request("GET", f"{self.url()}/oauth2/access_token",
                                           params=params, idempotent=False)
        return _remember(parse_token(self._checked(json_body(response, NAME)), utcnow()))

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise self.reauthorize("there is no refresh token")
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                "app_id": self.require("app_key"), "app_secret": self.require("app_secret")}
        # Never retried after it may have reached the server: rotation kills the old token.
        response = await self.http.request("POST", f"{self.url()}/oauth2/refresh_token",
                                           data=form, idempotent=False)
        return _remember(parse_token(self._checked(json_body(response, NAME)), utcnow(),
                                     previous=tokens))

    # -- orders -----------------------------------------------------------------------------
    async def list_orders(self, session: AccountSession) -> list[Order]:
        return merge_orders([page async for page in self.iter_orders(session)])

    async def iter_orders(self, session: AccountSession) -> AsyncIterator[list[Order]]:
        """Every window walked at once; pages come out as they arrive, each order once
        (windows may touch at their edges: a repeat is passed on only if it is newer)."""
        history = bounded(self.settings, "history_days", 1, 90)
        window = bounded(self.settings, "window_days", 1, 7)
        bounded(self.settings, "page_size", 1, 50)
        windows, query_type = plan_windows(utcnow(), session.since, history_days=history,
                                           window_days=window)
        lock = asyncio.Lock()  # one refresh at a time, even with every window in flight
        per_window = bounded(self.settings, "max_pages_per_window", 1, 1_000_000)
        budget = PageBudget(bounded(self.settings, "max_pages_per_run", 1, 1_000_000))
        # Bounded: a window that fetches faster than the pages are stored waits here, so
        # pages are held only until they are handed on (issue 16: an endless cursor grew
        # memory by 14 MB/s through an unbounded queue).
        pages: asyncio.Queue[list[Order] | BaseException | None] = asyncio.Queue(
            maxsize=len(windows) + 1)

        async def walk_all() -> None:
            try:
                await gather_or_cancel([self._walk(session, lock, b, e, query_type, pages.put,
                                                   per_window, budget) for b, e in windows])
            except Exception as exc:  # handed to the consumer, raised there
                await pages.put(exc)
            else:
                await pages.put(None)

        runner = asyncio.ensure_future(walk_all())
        newest: dict[str, datetime] = {}
        try:
            while (item := await pages.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                fresh = []
                for order in item:
                    when = order.updated_at or EPOCH
                    if order.order_id not in newest or when > newest[order.order_id]:
                        newest[order.order_id] = when
                        fresh.append(order)
                yield fresh
        finally:
            if not runner.done():  # the consumer stopped early: stop every window
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)

    async def _walk(self, session: AccountSession, lock: asyncio.Lock, begin: int, end: int,
                    query_type: int, emit: Callable[[list[Order]], Awaitable[None]],
                    per_window: int, budget: PageBudget) -> None:
        """One window, page by page. The next page is asked for before this one is parsed:
        the parsing then overlaps the next round trip instead of lengthening the chain."""

        def fetch(cursor: str) -> asyncio.Future[Any]:
            param = {"orderViewStatus": 1, "pageSize": bounded(self.settings, "page_size", 1, 50),
                     "sort": 1, "queryType": query_type, "beginTime": begin, "endTime": end,
                     "cpsType": 0, "cursor": cursor}
            return asyncio.ensure_future(self._call(session, lock, ORDER_METHOD, param))

        table = carriers(self.settings)
        cursor = ""
        seen = {cursor}  # a cursor sent before would walk the same pages again, forever
        pending = fetch(cursor)
        try:
            for _ in range(per_window):
                payload = self._checked(await pending)
                following = page_cursor(payload)
                if following is not None:
                    if following in seen:
                        raise self.changed("the order list returned a cursor that does not "
                                           "advance")
                    if len(seen) >= per_window:
                        raise endless_error(f"{per_window} pages in one window",
                                            "max_pages_per_window")
                    if budget.left <= 0:
                        raise endless_error("all the pages one sync may read",
                                            "max_pages_per_run")
                    budget.left -= 1
                    seen.add(following)
                    cursor = following
                    pending = fetch(cursor)
                    await asyncio.sleep(0)  # let it leave before the parsing below
                await emit(page_orders(payload, session.account, table))
                if following is None:
                    return
        finally:
            if not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)

    async def _call(self, session: AccountSession, lock: asyncio.Lock, method: str,
                    param: Mapping[str, Any]) -> Any:
        async with lock:
            tokens = await self.fresh_tokens(session)
        payload = await self._send(method, param, tokens.access_token)
        if not self._token_invalid(payload):
            return payload
        async with lock:
            if session.tokens.access_token == tokens.access_token:  # nobody refreshed yet
                await self.fresh_tokens(session, force=True)
            tokens = session.tokens
        payload = await self._send(method, param, tokens.access_token)
        if self._token_invalid(payload):
            raise self.reauthorize("the platform refused a freshly renewed access token")
        return payload

    async def _send(self, method: str, param: Mapping[str, Any], access_token: str) -> Any:
        """One signed call; "Exceed qps limit" answers are waited out and sent again."""
        sign_method = self.require("sign_method")
        for attempt in range(1, QPS_ATTEMPTS + 1):
            params = {"access_token": access_token, "appkey": self.require("app_key"),
                      "method": method, "version": "1",
                      "param": json.dumps(param, ensure_ascii=False, separators=(",", ":")),
                      "signMethod": sign_method, "timestamp": str(int(time.time() * 1000))}
            params["sign"] = sign(params, self.require("sign_secret"), sign_method)
            response = await self.http.request(
                "GET", f"{self.url()}/{method.replace('.', '/')}", params=params)
            payload = json_body(response, NAME)
            if attempt == QPS_ATTEMPTS or throttle_kind(payload) != "qps":
                return payload
            # The QPS is the app's (FAQ K1008): every window of this provider pauses, not
            # just this one (the limiter holds them all back until the wait is over).
            wait = qps_wait(attempt, self.http.retry.base_delay)
            self.http.limiter.penalize(wait)
            log.debug("%s: throttled (qps), retry %d in %.2fs", NAME, attempt, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _token_invalid(self, payload: Any) -> bool:
        if not isinstance(payload, dict) or as_str(payload.get("result")) == "1":
            return False
        return bool(codes_of(payload) & code_set(self.settings, "token_error_codes"))

    def _checked(self, payload: Any) -> Any:
        """Raise for a failed envelope, honouring the configured credential codes."""
        codes = code_set(self.settings, "credential_error_codes")
        raise_for_result(payload, credential_codes=codes)
        return payload


def _remember(tokens: TokenSet) -> TokenSet:
    """Tokens are secrets: make sure no log line or message can show them."""
    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    return tokens


