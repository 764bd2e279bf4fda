"""Kuaishou e-commerce open platform (快手电商开放平台): a shop's orders and their waybills.

Protocol: OAuth 2.0 authorization code (``/oauth/authorize`` → ``/oauth2/access_token`` →
rotating ``/oauth2/refresh_token``) and signed calls to ``open.order.cursor.list`` walked in
≤7-day windows over the last 90 days (fact sheet: protocols/kuaishou.md).

The platform returns no traces (§8): waybills are tracked through a tracking provider, with
``expressCode`` mapped to a parcelctl carrier code by a crosswalk kept as data.

UNKNOWN in the sheet, made configurable:

* ``token_error_codes`` — which codes mean "access token invalid" on API calls
  (default ``[100200102]``, the OAuth access_denied code);
* ``credential_error_codes`` — codes meaning "app key / signature rejected" (default
  ``[100200101, "K1004"]``: unauthorized_client and the FAQ's 验签失败 title);
* ``express_codes`` — kuaidi100 codes for most Kuaishou carriers (only the major ones are
  built in; unmapped codes give carrier ``""`` with the raw code kept);
* the throttle answer — HTTP 429 is handled by the HTTP client; any other shape surfaces as a
  ProviderError with the platform's message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..errors import (
    AuthError,
    AuthorizationNeeded,
    ConfigError,
    ProviderChanged,
    ProviderError,
    TransientError,
)
from ..http import HttpClient, gather_or_cancel, json_body, redact, register_secret
from ..models import CHINA_TZ, Order, Status, TokenSet, Waybill, utcnow
from .base import (
    AccountSession,
    ConfigKey,
    PlatformProvider,
    as_str,
    expect_dict,
    expect_list,
    lifetime_end,
    map_status,
)

NAME = "kuaishou"
ISSUES = "https://github.com/parcelctl/parcelctl/issues"
ORDER_METHOD = "open.order.cursor.list"
SIGNED_KEYS = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")
SIGN_METHODS = ("HMAC_SHA256", "MD5")
NOMORE = "nomore"
#: Documented defaults (§2.2) used only when the answer omits them.
DEFAULT_ACCESS_TTL = 172800
DEFAULT_REFRESH_TTL = 180 * 86400
#: The oldest window starts this far inside the 90-day limit so that clock skew between us
#: and the platform never turns it into error 300005.
EDGE_MARGIN = timedelta(hours=1)
#: Incremental sync re-reads a little before ``since``: updateTime may lag the real change.
OVERLAP = timedelta(minutes=10)
MAX_PAGES = 10_000

#: orderBaseInfo.status (§6). 10 (awaiting payment) is not a parcel yet and is skipped.
#: Shipped codes carry the fallback status used until a tracking provider knows better.
ORDER_STATUS: dict[str, Status] = {
    "0": Status.UNKNOWN,
    "30": Status.AWAITING_SHIPMENT,
    "40": Status.INFO_RECEIVED,
    "50": Status.DELIVERED,
    "70": Status.DELIVERED,
    "80": Status.CANCELLED,
}
SKIPPED_STATUSES = frozenset({"10"})

#: expressCode -> kuaidi100 ``com`` (§7, a constructed crosswalk; override with
#: ``providers.kuaishou.express_codes``). Codes whose kuaidi100 code is UNKNOWN are absent.
EXPRESS_CODES: dict[str, str] = {
    "1": "huitongkuaidi", "2": "ems", "3": "shentong", "4": "shunfeng", "6": "yuantong",
    "8": "youzhengguonei", "9": "zhongtong", "10": "zhaijisong", "11": "yunda", "14": "jd",
    "17": "debangwuliu", "109": "jtexpress",
}

_BUG_HINT = f"this is a parcelctl bug; please report it at {ISSUES}"
_LINK_HINT = f"run: parcelctl link {NAME}"
_CRED_HINT = (f"check app_key, app_secret and sign_secret "
              f"(parcelctl config set providers.{NAME}.KEY VALUE)")

#: OAuth result codes (§2.5) -> (exception class, what it means, hint).
OAUTH_ERRORS: dict[int, tuple[type[ProviderError], str, str]] = {
    100200100: (ProviderError, "the platform says a parameter is missing (invalid_request)",
                _BUG_HINT),
    100200101: (AuthError, "the platform rejected the app credentials (unauthorized_client)",
                _CRED_HINT),
    100200102: (AuthorizationNeeded, "the authorization is no longer valid", _LINK_HINT),
    100200103: (ProviderError, "unsupported response type", _BUG_HINT),
    100200104: (ProviderError, "unsupported grant type", _BUG_HINT),
    100200105: (AuthorizationNeeded, "the authorization code is invalid, expired or used",
                _LINK_HINT),
    100200106: (AuthorizationNeeded, "the requested access was refused or cancelled",
                _LINK_HINT),
    100200107: (AuthorizationNeeded, "the platform does not recognise this account (openid)",
                _LINK_HINT),
    100200500: (TransientError, "the platform's authorization server failed",
                "try again later"),
}

#: Time-window business errors (§6): parcelctl plans the windows, so these are our bugs.
WINDOW_ERRORS: dict[int, str] = {
    300003: "ENDTIME MUST AFTER BEGINTIME",
    300004: "SEARCH TIME RANGE EXPAND 7 DAYS",
    300005: "CAN NOT SEARCH BEFORE 90 DAYS",
    300019: "SEARCH TIME RANGE EXPAND LIMIT",
}

_INTEGER = re.compile(r"-?[0-9]{1,20}")


# -- pure functions -------------------------------------------------------------------------
def sign(params: Mapping[str, str | None], sign_secret: str, sign_method: str) -> str:
    """§4: exactly the seven documented keys, sorted, raw values, ``&signSecret=`` appended."""
    if sign_method not in SIGN_METHODS:
        raise ConfigError(f"sign_method must be HMAC_SHA256 or MD5, not {sign_method!r}",
                          provider=NAME)
    text = "&".join(f"{k}={params[k]}" for k in sorted(SIGNED_KEYS)
                    if params.get(k) is not None)
    message = f"{text}&signSecret={sign_secret}".encode()
    if sign_method == "MD5":
        return hashlib.md5(message).hexdigest()  # noqa: S324 - the protocol's choice
    digest = hmac.new(sign_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _int(value: Any, what: str) -> int:
    if type(value) is int:  # the usual case first: a page parses ~150 of them (benchmarks)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ProviderChanged(f"{what} is not a number", provider=NAME)


def _ms(value: Any, what: str) -> datetime | None:
    """Milliseconds since the epoch; 0/absent = not set."""
    if value is None:
        return None
    ms = _int(value, what)
    if ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=CHINA_TZ)
    except (OverflowError, OSError, ValueError):
        raise ProviderChanged(f"{what} is not a valid time", provider=NAME) from None


def _detail(payload: Mapping[str, Any]) -> str:
    for key in ("error_msg", "sub_msg", "msg", "error"):
        text = payload.get(key)
        if isinstance(text, str) and text.strip():
            return redact(" ".join(text.split()))[:120]
    return ""


def _codes(payload: Mapping[str, Any]) -> set[str]:
    return {as_str(payload.get(k)) for k in ("result", "code", "sub_code")} - {""}


def raise_for_result(payload: Any, *, credential_codes: Iterable[str] = ("100200101", "K1004")
                     ) -> dict[str, Any]:
    """Return the envelope when ``result == 1``; otherwise raise the matching error (§2.5, §5)."""
    data = expect_dict(payload, NAME, "the answer")
    result = _int(data.get("result"), "result")
    if result == 1:
        return data
    raise envelope_error(data, result, set(credential_codes))


def envelope_error(data: Mapping[str, Any], result: int, credential_codes: set[str]
                   ) -> ProviderError:
    detail = _detail(data)
    suffix = f" ({detail})" if detail else ""
    if result in OAUTH_ERRORS:
        cls, what, hint = OAUTH_ERRORS[result]
        return cls(f"{what}{suffix}", provider=NAME, hint=hint)
    if result in WINDOW_ERRORS:
        return ProviderError(f"the platform refused the time window parcelctl asked for "
                             f"({result} {WINDOW_ERRORS[result]})", provider=NAME,
                             hint=_BUG_HINT)
    if _codes(data) & credential_codes:
        return AuthError(f"the platform rejected the request signature or app key{suffix}",
                         provider=NAME, hint=_CRED_HINT)
    return ProviderError(f"the platform answered error {result}{suffix}", provider=NAME,
                         hint=f"try again later; if it persists report it at {ISSUES}")


def parse_token(payload: Any, now: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A token answer (§2.2/§2.3). A refresh answer inherits what it omits from ``previous``."""
    data = raise_for_result(payload)
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderChanged("the token answer has no access_token", provider=NAME)
    expires_in = _int(data.get("expires_in", DEFAULT_ACCESS_TTL), "expires_in")
    refresh = data.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise ProviderChanged("refresh_token is not a string", provider=NAME)
    refresh = refresh or (previous.refresh_token if previous else "")
    if "refresh_token_expires_in" in data:  # shrinks: a rotated token keeps the old expiry
        refresh_at: datetime | None = lifetime_end(
            now, _int(data["refresh_token_expires_in"], "refresh_token_expires_in"), NAME)
    elif previous is not None and previous.refresh_expires_at is not None:
        refresh_at = previous.refresh_expires_at
    else:
        refresh_at = now + timedelta(seconds=DEFAULT_REFRESH_TTL)
    raw_scopes = data.get("scopes")
    if isinstance(raw_scopes, str):  # "a,b" in one SDK, an array in another (§2.2)
        scopes = [s.strip() for s in raw_scopes.split(",") if s.strip()]
    elif isinstance(raw_scopes, list):
        scopes = [as_str(s) for s in raw_scopes if as_str(s)]
    elif raw_scopes is None:
        scopes = list(previous.scopes) if previous else []
    else:
        raise ProviderChanged("scopes is neither a string nor an array", provider=NAME)
    open_id = as_str(data.get("open_id")) or (previous.open_id if previous else "")
    return TokenSet(access_token=access, refresh_token=refresh,
                    access_expires_at=lifetime_end(now, expires_in, NAME),
                    refresh_expires_at=refresh_at, open_id=open_id, scopes=scopes)


def page_cursor(payload: Any) -> str | None:
    """The cursor of the next page, or None on the last one (envelope checked first)."""
    data = expect_dict(raise_for_result(payload).get("data"), NAME, "data")
    cursor = data.get("cursor")
    if not isinstance(cursor, str):
        raise ProviderChanged("data.cursor is not a string", provider=NAME)
    return None if cursor == NOMORE else cursor


def parse_orders(payload: Any, account: str, carriers: Mapping[str, str] | None = None
                 ) -> tuple[list[Order], str | None]:
    """One page of ``open.order.cursor.list``: (orders, next cursor or None on the last page)."""
    following = page_cursor(payload)
    table = EXPRESS_CODES if carriers is None else carriers
    return page_orders(payload, account, table), following


def page_orders(payload: Any, account: str, carriers: Mapping[str, str]) -> list[Order]:
    """The orders of a page whose envelope :func:`page_cursor` has already checked."""
    orders = []
    for raw in expect_list(payload["data"].get("orderList"), NAME, "orderList"):
        order = _parse_order(expect_dict(raw, NAME, "an order"), account, carriers)
        if order is not None:
            orders.append(order)
    return orders


def _parse_order(raw: dict[str, Any], account: str, carriers: Mapping[str, str]
                 ) -> Order | None:
    base = expect_dict(raw.get("orderBaseInfo"), NAME, "orderBaseInfo")
    item_raw = raw.get("orderItemInfo")
    item = {} if item_raw is None else expect_dict(item_raw, NAME, "orderItemInfo")
    code = str(_int(base.get("status"), "orderBaseInfo.status"))
    if code in SKIPPED_STATUSES:
        return None
    oid = _text(base.get("oid"), "orderBaseInfo.oid")
    if not oid:
        raise ProviderChanged("orderBaseInfo.oid is missing", provider=NAME)
    price = base.get("totalFee")
    quantity = item.get("num")
    order = Order(
        provider=NAME, account=account, order_id=oid,
        status=map_status(ORDER_STATUS, code, NAME), raw_status=code,
        shop=_text(base.get("sellerNick"), "sellerNick"),
        title=_text(item.get("itemTitle"), "itemTitle"),
        quantity=0 if quantity is None else _int(quantity, "num"),
        price_cents=None if price is None else _int(price, "totalFee"),
        created_at=_ms(base.get("createTime"), "createTime"),
        updated_at=_ms(base.get("updateTime"), "updateTime"),
        promised_ship_at=_ms(base.get("validPromiseShipmentTimeStamp"),
                             "validPromiseShipmentTimeStamp"),
    )
    # Waybills are kept whatever the status: a closed order may still have a parcel coming back.
    seen: set[str] = set()
    for entry in expect_list(raw.get("orderLogisticsInfo"), NAME, "orderLogisticsInfo"):
        info = expect_dict(entry, NAME, "orderLogisticsInfo[]")
        number = _text(info.get("expressNo"), "expressNo")
        if not number or number in seen:
            continue
        seen.add(number)
        express = info.get("expressCode")
        raw_code = "" if express is None else str(_int(express, "expressCode"))
        order.waybills.append(Waybill(number, carriers.get(raw_code, ""), raw_code))
    return order


def _text(value: Any, what: str) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ProviderChanged(f"{what} is not text", provider=NAME)
    return as_str(value)


def plan_windows(now: datetime, since: datetime | None, *, history_days: int = 90,
                 window_days: int = 7) -> tuple[list[tuple[int, int]], int]:
    """(windows as (beginTime, endTime) in ms, newest first; queryType).

    First sync: every window of the history by create time (queryType 1). Incremental: only
    [since − overlap, now] by update time (queryType 2), clipped to what the platform allows.
    """
    oldest = now - timedelta(days=history_days) + EDGE_MARGIN
    if since is None:
        begin, query_type = oldest, 1
    else:
        begin, query_type = max(min(since, now) - OVERLAP, oldest), 2
    size = timedelta(days=window_days)
    windows: list[tuple[int, int]] = []
    end = now
    while end > begin:
        start = max(begin, end - size)
        windows.append((_to_ms(start), _to_ms(end)))
        end = start
    return windows, query_type


def _to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def merge_orders(pages: Iterable[list[Order]]) -> list[Order]:
    """One order per oid (windows may touch at their edges): the most recently updated wins."""
    best: dict[str, Order] = {}
    for page in pages:
        for order in page:
            kept = best.get(order.order_id)
            if kept is None or (order.updated_at or _EPOCH) > (kept.updated_at or _EPOCH):
                best[order.order_id] = order
    return sorted(best.values(), key=lambda o: o.updated_at or _EPOCH, reverse=True)


_EPOCH = datetime.fromtimestamp(0, tz=CHINA_TZ)


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
                  'e.g. {"53" = "debangkuaidi"}', default=None, type="table"),
        ConfigKey("history_days", "days of orders read on the first sync (max 90)", default=90,
                  minimum=1, maximum=90),
        ConfigKey("window_days", "days per order-list query (max 7)", default=7, minimum=1,
                  maximum=7),
        ConfigKey("page_size", "orders per page (max 50)", default=50, minimum=1, maximum=50),
        ConfigKey("token_error_codes", "result codes meaning 'access token invalid' "
                  "(undocumented)", default=[100200102]),
        ConfigKey("credential_error_codes", "codes meaning 'app key or signature rejected' "
                  "(undocumented)", default=[100200101, "K1004"]),
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
        history = self._bounded("history_days", 1, 90)
        window = self._bounded("window_days", 1, 7)
        self._bounded("page_size", 1, 50)
        windows, query_type = plan_windows(utcnow(), session.since, history_days=history,
                                           window_days=window)
        lock = asyncio.Lock()  # one refresh at a time, even with every window in flight
        pages: asyncio.Queue[list[Order] | BaseException | None] = asyncio.Queue()

        async def walk_all() -> None:
            try:
                await gather_or_cancel([self._walk(session, lock, b, e, query_type,
                                                   pages.put_nowait) for b, e in windows])
            except Exception as exc:  # handed to the consumer, raised there
                pages.put_nowait(exc)
            else:
                pages.put_nowait(None)

        runner = asyncio.ensure_future(walk_all())
        newest: dict[str, datetime] = {}
        try:
            while (item := await pages.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                fresh = []
                for order in item:
                    when = order.updated_at or _EPOCH
                    if order.order_id not in newest or when > newest[order.order_id]:
                        newest[order.order_id] = when
                        fresh.append(order)
                yield fresh
        finally:
            if not runner.done():  # the consumer stopped early: stop every window
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)

    async def _walk(self, session: AccountSession, lock: asyncio.Lock, begin: int, end: int,
                    query_type: int, emit: Callable[[list[Order]], None]) -> None:
        """One window, page by page. The next page is asked for before this one is parsed:
        the parsing then overlaps the next round trip instead of lengthening the chain."""

        def fetch(cursor: str) -> asyncio.Future[Any]:
            param = {"orderViewStatus": 1, "pageSize": self._bounded("page_size", 1, 50),
                     "sort": 1, "queryType": query_type, "beginTime": begin, "endTime": end,
                     "cpsType": 0, "cursor": cursor}
            return asyncio.ensure_future(self._call(session, lock, ORDER_METHOD, param))

        carriers = self._carriers()
        cursor = ""
        pending = fetch(cursor)
        try:
            for _ in range(MAX_PAGES):
                payload = self._checked(await pending)
                following = page_cursor(payload)
                if following is not None:
                    if following in ("", cursor):  # would loop forever
                        raise self.changed("the order list returned a cursor that does not "
                                           "advance")
                    cursor = following
                    pending = fetch(cursor)
                    await asyncio.sleep(0)  # let it leave before the parsing below
                emit(page_orders(payload, session.account, carriers))
                if following is None:
                    return
            raise self.changed(f"the order list did not end after {MAX_PAGES} pages")
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
        sign_method = self.require("sign_method")
        params = {"access_token": access_token, "appkey": self.require("app_key"),
                  "method": method, "version": "1",
                  "param": json.dumps(param, ensure_ascii=False, separators=(",", ":")),
                  "signMethod": sign_method, "timestamp": str(int(time.time() * 1000))}
        params["sign"] = sign(params, self.require("sign_secret"), sign_method)
        response = await self.http.request("GET", f"{self.url()}/{method.replace('.', '/')}",
                                           params=params)
        return json_body(response, NAME)

    def _token_invalid(self, payload: Any) -> bool:
        if not isinstance(payload, dict) or as_str(payload.get("result")) == "1":
            return False
        return bool(_codes(payload) & self._code_set("token_error_codes"))

    # -- settings ---------------------------------------------------------------------------
    def _code_set(self, key: str) -> set[str]:
        value = self.settings.get(key) or []
        if not isinstance(value, list):
            value = [value]
        return {as_str(v) for v in value} - {""}

    def _carriers(self) -> dict[str, str]:
        extra = self.settings.get("express_codes") or {}
        if not isinstance(extra, Mapping):
            raise ConfigError("express_codes must be a table of expressCode = carrier code",
                              provider=NAME,
                              hint=f"e.g. parcelctl config set providers.{NAME}.express_codes "
                                   "'{\"53\" = \"debangkuaidi\"}'")
        return EXPRESS_CODES | {as_str(k): as_str(v) for k, v in extra.items()}

    def _bounded(self, key: str, low: int, high: int) -> int:
        value = self.settings.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"'{key}' must be a whole number from {low} to {high}",
                              provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key} {high}")
        return value

    def _checked(self, payload: Any) -> Any:
        """Raise for a failed envelope, honouring the configured credential codes."""
        raise_for_result(payload, credential_codes=self._code_set("credential_error_codes"))
        return payload


def _remember(tokens: TokenSet) -> TokenSet:
    """Tokens are secrets: make sure no log line or message can show them."""
    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    return tokens


