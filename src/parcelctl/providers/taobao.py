"""Taobao / Tmall through the Taobao Open Platform (TOP, 淘宝开放平台).

Protocol (fact sheet taobao.md): one gateway URL, system parameters in the query string and
business parameters in a form body, every parameter signed (``sign()``), JSON answers framed
as ``{"<method>_response": …}`` or ``{"error_response": …}``; OAuth2 code flow at
oauth.taobao.com; orders from ``taobao.trades.bought.get`` (paged by ``page_no``/``page_size``)
and the platform's own trace from ``taobao.logistics.trace.search`` (so Taobao waybills need
no tracking provider).

Configurable because the real protocol is not confirmed (UNKNOWN in the sheet):
``timestamp_format`` (the gateway page says ``yyyy-MM-dd HH:mm:ss``, the vendor SDK sends
epoch ms), ``trades_method``/``trade_fields``/``page_size``/``lookback_days`` (the
``trades.bought.get`` page is not available), ``token_refresh`` (the refresh grant is not
documented: off by default, an expired session means linking again), ``error_kinds`` (only
codes 21 and 50 are documented; the defaults are the best-known TOP platform codes),
``action_statuses`` (the trace ``action`` vocabulary is unknown; only ``ARRIVE`` is mapped),
``trace_statuses`` (trace summary ``status`` text -> status; only the sample's ``已签收`` is
mapped) and ``company_carriers`` (trace ``company_name`` -> carrier code; the built-in
crosswalk is constructed, not documented). All three tables add to or replace the built-in
entries; in the last two an empty value removes one (the text is then ignored / the carrier
is left to the tracking provider).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..errors import (
    AuthError,
    AuthorizationNeeded,
    ConfigError,
    ProviderChanged,
    ProviderError,
    RateLimited,
)
from ..http import gather_or_cancel, json_body, redact
from ..models import CHINA_TZ, Order, Status, TokenSet, TrackingEvent, Waybill, utcnow
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

log = logging.getLogger("parcelctl.providers.taobao")

NAME = "taobao"
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# orders.num: TOP returns only the fields asked for, and the quantity is read from it.
DEFAULT_FIELDS = ("tid,created,status,seller_nick,orders.oid,orders.title,orders.pic_path,"
                  "orders.total_fee,orders.num")

#: Trade status (taobao.md §5; the last four are 3SDK-only) -> parcelctl status. Shipped
#: trades fall back to info_received: the trace decides the rest.
TRADE_STATUS: dict[str, Status] = {
    "TRADE_NO_CREATE_PAY": Status.UNKNOWN,  # no payment yet: not a parcel (skipped)
    "WAIT_BUYER_PAY": Status.UNKNOWN,  # awaiting payment: not a parcel (skipped)
    "WAIT_SELLER_SEND_GOODS": Status.AWAITING_SHIPMENT,
    "SELLER_CONSIGNED_PART": Status.INFO_RECEIVED,
    "WAIT_BUYER_CONFIRM_GOODS": Status.INFO_RECEIVED,
    "TRADE_BUYER_SIGNED": Status.DELIVERED,
    "TRADE_FINISHED": Status.DELIVERED,
    "TRADE_CLOSED": Status.CANCELLED,
    "TRADE_CLOSED_BY_TAOBAO": Status.CANCELLED,
}
UNPAID = frozenset({"TRADE_NO_CREATE_PAY", "WAIT_BUYER_PAY"})
#: Trades that have a waybill, so a trace is asked for.
SHIPPED = frozenset({"SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS",
                     "TRADE_BUYER_SIGNED", "TRADE_FINISHED"})

#: Trace summary ``status`` text; the sheet shows only "已签收" (in a constructed sample),
#: everything else is unmapped. More can be mapped with the ``trace_statuses`` config table.
TRACE_STATUS: dict[str, Status] = {"已签收": Status.DELIVERED}

#: Trace step ``action`` codes; only ARRIVE is documented (taobao.md §6). More can be mapped
#: with the ``action_statuses`` config table.
ACTION_STATUS: dict[str, Status] = {"ARRIVE": Status.IN_TRANSIT}

#: ``company_name`` -> parcelctl carrier code (kuaidi100 vocabulary) [constructed crosswalk;
#: extended or corrected with the ``company_carriers`` config table].
COMPANY_CARRIERS: dict[str, str] = {
    "中通快递": "zhongtong", "圆通速递": "yuantong", "申通快递": "shentong",
    "韵达快递": "yunda", "顺丰速运": "shunfeng", "极兔速递": "jtexpress", "京东快递": "jd",
    "邮政快递包裹": "youzhengguonei", "EMS": "ems", "德邦快递": "debangwuliu",
    "百世快递": "huitongkuaidi",
}

#: TOP platform error codes -> kind. Only 21 and 50 are in the sheet; these are the
#: best-known TOP codes, overridable with the ``error_kinds`` table.
ERROR_KINDS: dict[str, str] = {
    "7": "throttle", "11": "permission", "12": "permission", "24": "auth", "25": "auth",
    "26": "session", "27": "session", "28": "auth", "29": "auth",
}

#: What a ``company_carriers`` value may be: a kuaidi100-style code ("" = no carrier).
_CARRIER_CODE = re.compile(r"[a-z0-9_-]{0,40}")


def _with_statuses(key: str, builtin: Mapping[str, Status], entries: Mapping[Any, Any], *,
                   unmap: bool) -> dict[str, Status]:
    """``builtin`` with the ``key`` config table's entries applied (``unmap``: "" removes
    one); a value that is not a status is a ConfigError."""
    table = dict(builtin)
    for name, value in entries.items():
        if unmap and value == "":
            table.pop(str(name), None)
            continue
        try:
            table[str(name)] = Status(str(value))
        except ValueError:
            raise ConfigError(f"{key}.{name}: {value!r} is not a status", provider=NAME,
                              hint='use a status of the README\'s Status vocabulary, e.g. '
                                   'delivered, or "" to unmap' if unmap else None) from None
    return table


def sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP signature (taobao.md §2): sorted ``name+value`` pairs, empty values skipped."""
    if method not in SIGN_METHODS:
        raise ConfigError(f"unknown sign_method {method!r}", provider=NAME,
                          hint="use md5, hmac or hmac-sha256")
    text = "".join(f"{k}{params[k]}" for k in sorted(params)
                   if k != "sign" and params[k] not in (None, ""))
    if method == "md5":
        digest = hashlib.md5((secret + text + secret).encode("utf-8"))  # noqa: S324 - protocol
        return digest.hexdigest().upper()
    algo = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), text.encode("utf-8"), algo).hexdigest().upper()


def response_key(method: str) -> str:
    """``taobao.trades.bought.get`` -> ``trades_bought_get_response``."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


class TopError(ProviderError):
    """A business ``error_response`` (bad parameter, remote service error…)."""

    def __init__(self, message: str, *, code: str = "", sub_code: str = "",
                 hint: str | None = None) -> None:
        self.code = code
        self.sub_code = sub_code
        super().__init__(message, provider=NAME, hint=hint)


def error_from(payload: Mapping[str, Any], kinds: Mapping[str, str] = ERROR_KINDS
               ) -> ProviderError:
    """Turn an ``error_response`` object into the matching parcelctl error."""
    code = as_str(payload.get("code"))
    sub_code = as_str(payload.get("sub_code"))
    text = redact(as_str(payload.get("sub_msg")) or as_str(payload.get("msg")) or "no message")
    detail = f"{text} (code {code}{', ' + sub_code if sub_code else ''})"
    kind = kinds.get(code, "")
    if kind == "session":
        return AuthorizationNeeded(f"the Taobao session is no longer valid: {detail}",
                                   provider=NAME, hint=f"run: parcelctl link {NAME}")
    if kind == "auth":
        return AuthError(f"the app credentials were rejected: {detail}", provider=NAME,
                         hint=f"check providers.{NAME}.app_key, app_secret and sign_method")
    if kind == "permission":
        return ProviderError(f"the app may not call this API: {detail}", provider=NAME,
                             hint="see the Taobao notes in 'parcelctl providers'")
    if kind == "throttle":
        return RateLimited(f"Taobao is throttling this app: {detail}", provider=NAME,
                           hint="parcelctl will try again on the next sync")
    if code == "21":
        return TopError(f"the gateway did not receive an API method: {detail}", code=code,
                        sub_code=sub_code, hint=f"check providers.{NAME}.base_url")
    return TopError(f"Taobao rejected the request: {detail}", code=code, sub_code=sub_code,
                    hint="try again later; if it persists, check the configuration")


def unwrap(payload: Any, method: str, kinds: Mapping[str, str] = ERROR_KINDS
           ) -> dict[str, Any]:
    """The ``<method>_response`` object, or the mapped ``error_response`` raised."""
    body = expect_dict(payload, NAME, "the response")
    if "error_response" in body:
        raise error_from(expect_dict(body["error_response"], NAME, "error_response"), kinds)
    return expect_dict(body.get(response_key(method)), NAME, response_key(method))


def parse_time(value: Any, what: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time (GMT+8)."""
    try:
        return datetime.strptime(as_str(value), TIME_FORMAT).replace(tzinfo=CHINA_TZ)
    except ValueError:
        raise ProviderChanged(f"{what} {as_str(value)[:30]!r} is not a time", provider=NAME
                              ) from None


def _items(value: Any, inner: str, what: str) -> list[Any]:
    """TOP double-wraps lists (``{"trade": [...]}``) unless ``simplify=true`` was sent."""
    if isinstance(value, dict):
        value = value.get(inner)
    return expect_list(value, NAME, what)


def _cents(value: Any) -> int | None:
    """Yuan amounts ("12.90"); anything else is no price rather than a failed sync."""
    try:
        amount = Decimal(as_str(value))
    except InvalidOperation:
        return None
    return int(amount * 100) if amount.is_finite() and abs(amount) < 10**9 else None


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not as_str(value):
        raise ProviderChanged(f"{what} is missing or not an id", provider=NAME)
    return as_str(value)


@dataclass(slots=True)
class TradePage:
    orders: list[Order]
    total_results: int | None = None
    has_next: bool | None = None
    count: int = 0  # trades on this page, unpaid ones included


def parse_trades(payload: Any, account: str, method: str = "taobao.trades.bought.get",
                 kinds: Mapping[str, str] = ERROR_KINDS) -> TradePage:
    body = unwrap(payload, method, kinds)
    trades = _items(body.get("trades"), "trade", "trades")
    page = TradePage([], count=len(trades))
    if body.get("total_results") is not None:
        try:
            page.total_results = int(as_str(body["total_results"]))
        except ValueError:
            raise ProviderChanged("total_results is not a number", provider=NAME) from None
    if "has_next" in body:
        page.has_next = as_str(body["has_next"]) in ("1", "true")
    for raw in trades:
        trade = expect_dict(raw, NAME, "trade")
        code = as_str(trade.get("status"))
        if code in UNPAID:
            continue
        subs = [expect_dict(o, NAME, "order") for o in _items(trade.get("orders"), "order",
                                                               "orders")]
        fees = [f for f in (_cents(o.get("total_fee")) for o in subs) if f is not None]
        page.orders.append(Order(
            provider=NAME, account=account, order_id=_id(trade.get("tid"), "tid"),
            status=map_status(TRADE_STATUS, code, NAME), raw_status=code,
            shop=as_str(trade.get("seller_nick")),
            title=" / ".join(t for t in (as_str(o.get("title")) for o in subs) if t),
            quantity=sum(_int_or(o.get("num"), 1) for o in subs),
            price_cents=sum(fees) if fees else None,
            created_at=parse_time(trade["created"], "created") if trade.get("created") else None,
        ))
    return page


def _int_or(value: Any, default: int) -> int:
    try:
        return int(as_str(value))
    except ValueError:
        return default


@dataclass(slots=True)
class Trace:
    waybill: Waybill | None
    status_text: str
    events: list[TrackingEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TraceRules:
    """How trace answers are read: the configured tables, resolved once per sync."""

    method: str
    kinds: Mapping[str, str]
    actions: Mapping[str, Status]
    statuses: Mapping[str, Status]
    carriers: Mapping[str, str]


def parse_trace(payload: Any, actions: Mapping[str, Status] = ACTION_STATUS,
                method: str = "taobao.logistics.trace.search",
                kinds: Mapping[str, str] = ERROR_KINDS,
                carriers: Mapping[str, str] = COMPANY_CARRIERS) -> Trace:
    body = unwrap(payload, method, kinds)
    number = _id(body["out_sid"], "out_sid") if body.get("out_sid") else ""
    company = as_str(body.get("company_name"))
    events = []
    for raw in _items(body.get("trace_list"), "transit_step_info", "trace_list"):
        step = expect_dict(raw, NAME, "transit_step_info")
        action = as_str(step.get("action"))
        events.append(TrackingEvent(
            time=parse_time(step.get("status_time"), "status_time"),
            description=as_str(step.get("status_desc")),
            status=actions.get(action), raw_code=action,
        ))
    events.sort(key=lambda e: e.time)
    waybill = Waybill(number, carriers.get(company, ""), company) if number else None
    return Trace(waybill, as_str(body.get("status")), events)


def parse_token(payload: Any, now: datetime) -> TokenSet:
    body = expect_dict(payload, NAME, "the token response")
    if "error" in body or not body.get("access_token"):
        error = as_str(body.get("error")) or "no access_token"
        text = redact(as_str(body.get("error_description")))
        if error == "invalid_client":
            raise AuthError(f"Taobao rejected the app credentials ({error})", provider=NAME,
                            hint=f"check providers.{NAME}.app_key and app_secret")
        raise AuthorizationNeeded(f"Taobao refused the authorization ({error}: {text})",
                                  provider=NAME, hint=f"run: parcelctl link {NAME}")

    def seconds(key: str) -> datetime | None:
        value = _int_or(body.get(key), 0)
        return lifetime_end(now, value, NAME) if value > 0 else None

    return TokenSet(
        access_token=as_str(body["access_token"]),
        refresh_token=as_str(body.get("refresh_token")),
        access_expires_at=seconds("expires_in"),
        refresh_expires_at=seconds("re_expires_in"),  # semantics UNKNOWN (taobao.md §7)
        open_id=as_str(body.get("taobao_user_id")) or as_str(body.get("taobao_user_nick")),
    )


class TaobaoProvider(PlatformProvider):
    """Taobao/Tmall orders and their platform traces (opt-in; see ``notes``)."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Taobao / Tmall"
    description: ClassVar[str] = (
        "Taobao/Tmall orders and traces via the Taobao Open Platform. Opt-in: Taobao's OAuth "
        "rules forbid non-Alibaba channels from offering buyers order lookup or parcel "
        "tracking; use only with an appkey you are allowed to use this way.")
    notes: ClassVar[str] = (
        "Policy: Taobao's OAuth page states that Taobao ID products must not be used by "
        "channels outside Alibaba Group to provide Taobao members' services (such as order "
        "lookup and parcel tracking) to Taobao buyers; on violation the appkey's Taobao ID "
        "permission is revoked. taobao.trades.bought.get is restricted in practice. Link "
        "only with an appkey and account you are permitted to use this way. "
        "Unconfirmed (configurable): timestamp format, trades method and fields, error "
        "codes other than 21/50, token refresh (off: re-link when the session expires), "
        "trace action codes, trace summary statuses and company names (action_statuses, "
        "trace_statuses, company_carriers); split consignments show the first waybill only.")
    scopes: ClassVar[dict[str, str]] = {
        "trades": "your orders: id, time, status, shop, item titles and prices",
        "logistics": "the waybill number, carrier and trace of each shipped order",
    }
    concurrency: ClassVar[int] = 2  # rate limits are UNKNOWN: be gentle
    capabilities: ClassVar[tuple[str, ...]] = ("orders", "traces", "oauth")
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("app_key", "TOP appkey", required=True),
        ConfigKey("app_secret", "TOP app secret", secret=True, required=True),
        ConfigKey("sign_method", "md5, hmac or hmac-sha256", "md5",
                  choices=("md5", "hmac", "hmac-sha256")),
        ConfigKey("base_url", "TOP gateway", "https://eco.taobao.com/router/rest"),
        ConfigKey("auth_url", "OAuth authorize page", "https://oauth.taobao.com/authorize"),
        ConfigKey("token_url", "OAuth token endpoint", "https://oauth.taobao.com/token"),
        ConfigKey("redirect_uri", "OAuth callback", "http://127.0.0.1:8976/callback"),
        ConfigKey("view", "authorize page style: web, tmall or wap", "web",
                  choices=("web", "tmall", "wap")),
        ConfigKey("timestamp_format", "datetime (yyyy-MM-dd HH:mm:ss GMT+8) or ms [UNKNOWN]",
                  "datetime", choices=("datetime", "ms")),
        ConfigKey("trades_method", "order list API [UNKNOWN]", "taobao.trades.bought.get"),
        ConfigKey("trade_fields", "fields asked from the order list [UNKNOWN]", DEFAULT_FIELDS),
        ConfigKey("page_size", "trades per page (max 100) [UNKNOWN]", 40, minimum=1,
                  maximum=100),
        ConfigKey("lookback_days", "orders created in the last N days (0 = no filter)", 90,
                  maximum=3650),
        ConfigKey("trace_method", "trace API", "taobao.logistics.trace.search"),
        ConfigKey("token_refresh", "try grant_type=refresh_token [UNKNOWN]", False),
        ConfigKey("error_kinds", "error code -> session|auth|permission|throttle [UNKNOWN]",
                  ERROR_KINDS),
        ConfigKey("action_statuses", "extra trace action -> status [UNKNOWN]", {}),
        ConfigKey("trace_statuses", "extra trace summary status text -> status "
                  '("" unmaps) [UNKNOWN]', {}),
        ConfigKey("company_carriers", "extra trace company_name -> carrier code "
                  '("" = none) [UNKNOWN]', {}),
    )

    # -- OAuth ----------------------------------------------------------------------------
    def authorize_url(self, state: str) -> str:
        query = {"response_type": "code", "client_id": self.require("app_key"),
                 "redirect_uri": self.redirect_uri, "state": state,
                 "view": self.require("view")}
        return f"{self.url('auth_url')}?{urlencode(query)}"

    async def exchange_code(self, code: str) -> TokenSet:
        return await self._token({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": self.redirect_uri,
                                  "view": self.require("view")})

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        if not _truthy(self.settings.get("token_refresh")) or not tokens.refresh_token:
            raise self.reauthorize("the Taobao session expired (token refresh is not "
                                   "documented, so it is off)")
        new = await self._token({"grant_type": "refresh_token",
                                 "refresh_token": tokens.refresh_token})
        new.refresh_token = new.refresh_token or tokens.refresh_token
        return new

    async def _token(self, form: dict[str, str]) -> TokenSet:
        form |= {"client_id": self.require("app_key"), "client_secret": self.require("app_secret")}
        response = await self.http.request("POST", self.url("token_url"), data=form,
                                           idempotent=False)
        return parse_token(json_body(response, NAME), utcnow())

    # -- API calls ------------------------------------------------------------------------
    async def call(self, method: str, session: str, business: Mapping[str, str]) -> Any:
        """One signed gateway call; returns the decoded JSON (not yet unwrapped)."""
        sign_method = self.require("sign_method")
        now = datetime.now(CHINA_TZ)
        system = {"method": method, "app_key": self.require("app_key"), "session": session,
                  "timestamp": (str(int(now.timestamp() * 1000))
                                if self.settings.get("timestamp_format") == "ms"
                                else now.strftime(TIME_FORMAT)),
                  "format": "json", "v": "2.0", "sign_method": sign_method}
        # Empty values are never sent (the sheet's signing skips them, the server would not).
        system = {k: v for k, v in system.items() if v}
        body = {k: v for k, v in business.items() if v not in (None, "")}
        system["sign"] = sign(system | body, self.require("app_secret"), sign_method)
        response = await self.http.request("POST", self.url(), params=system, data=body)
        return json_body(response, NAME)

    def _kinds(self) -> dict[str, str]:
        table = self.settings.get("error_kinds")
        return {str(k): str(v) for k, v in table.items()} if isinstance(table, Mapping) else {}

    def _actions(self) -> dict[str, Status]:
        extra = self.settings.get("action_statuses")
        return _with_statuses("action_statuses", ACTION_STATUS,
                              extra if isinstance(extra, Mapping) else {}, unmap=False)

    def _table(self, key: str, example: str) -> Mapping[Any, Any]:
        """A table setting; ``example`` is one entry as ``NAME VALUE``, set one at a time."""
        table = self.settings.get(key) or {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key} must be a table of NAME = VALUE",
                              provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key}.{example}")
        return table

    def _trace_statuses(self) -> dict[str, Status]:
        """TRACE_STATUS with the ``trace_statuses`` table applied; "" removes an entry
        (the built-in one is a guess from a constructed sample, so it must be undoable)."""
        return _with_statuses("trace_statuses", TRACE_STATUS,
                              self._table("trace_statuses", "运输中 in_transit"), unmap=True)

    def _company_carriers(self) -> dict[str, str]:
        """COMPANY_CARRIERS with the ``company_carriers`` table applied."""
        table = dict(COMPANY_CARRIERS)
        for company, value in self._table("company_carriers", "中通快递 zhongtong").items():
            code = value.strip().lower() if isinstance(value, str) else None
            if code is None or not _CARRIER_CODE.fullmatch(code):
                raise ConfigError(f"company_carriers.{company}: {value!r} is not a carrier code",
                                  provider=NAME, hint="use a kuaidi100 code such as zhongtong, "
                                  'or "" for none')
            table[str(company)] = code
        return table

    def _int(self, key: str, low: int, high: int) -> int:
        try:
            value = int(self.settings.get(key))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = -1
        if not low <= value <= high:
            raise ConfigError(f"'{key}' must be a number from {low} to {high}", provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key} VALUE")
        return value

    async def list_orders(self, session: AccountSession) -> list[Order]:
        """Orders created in the last ``lookback_days`` (the API filters by creation time
        only, so ``session.since`` cannot narrow it), each shipped one with its trace."""
        method, kinds = self.require("trades_method"), self._kinds()
        # Every table is read before the first request: a bad setting fails fast.
        rules = TraceRules(self.require("trace_method"), kinds, self._actions(),
                           self._trace_statuses(), self._company_carriers())
        size = self._int("page_size", 1, 100)
        days = self._int("lookback_days", 0, 3650)
        tokens = await self.fresh_tokens(session)
        query = {"fields": self.require("trade_fields"), "page_size": str(size)}
        if days:
            now = datetime.now(CHINA_TZ)
            query |= {"start_created": (now - timedelta(days=days)).strftime(TIME_FORMAT),
                      "end_created": now.strftime(TIME_FORMAT)}
        orders: list[Order] = []
        for page_no in range(1, 10_000):
            payload = await self.call(method, tokens.access_token,
                                      query | {"page_no": str(page_no)})
            page = parse_trades(payload, session.account, method, kinds)
            orders.extend(page.orders)
            if page.has_next is not None:
                more = page.has_next
            elif page.total_results is not None:
                more = page_no * size < page.total_results
            else:
                more = page.count >= size
            if not more or not page.count:
                break
        # gather_or_cancel, not gather: when one lookup fails (throttled, session gone, 5xx,
        # changed API) the sync fails anyway, and the other lookups must not keep hitting an
        # API that is already refusing us; they are cancelled and awaited before the error
        # propagates.
        await gather_or_cancel([self._attach_trace(order, tokens.access_token, rules)
                                for order in orders if order.raw_status in SHIPPED])
        return orders

    async def _attach_trace(self, order: Order, session: str, rules: TraceRules) -> None:
        # is_split=0: the shape of split-consignment answers is UNKNOWN (first waybill only).
        payload = await self.call(rules.method, session,
                                  {"tid": order.order_id, "is_split": "0"})
        try:
            trace = parse_trace(payload, rules.actions, rules.method, rules.kinds,
                                rules.carriers)
        except TopError as exc:
            # One trade without a trace (e.g. consigned offline) must not fail the sync.
            log.warning("taobao: no trace for order %s: %s", order.order_id, exc.message)
            return
        if trace.waybill is None:
            return
        order.waybills.append(trace.waybill)
        if trace.events:
            order.traces[trace.waybill.number] = trace.events
        summary = rules.statuses.get(trace.status_text)
        if summary is not None:
            order.status = summary


def _truthy(value: Any) -> bool:
    return value is True or as_str(value).lower() in ("1", "true", "yes", "on")
