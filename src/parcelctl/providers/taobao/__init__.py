"""Taobao / Tmall shops through the Taobao Open Platform (TOP, 淘宝开放平台).

A link is a shop (seller) link, as for every platform: the seller's orders come from
``taobao.trades.sold.get`` (paged by ``page_no``/``page_size``), a shipped trade's packages
from its sub-orders' ``invoice_no``/``logistics_company`` (``taobao.trade.fullinfo.get`` when
the list leaves them out) and the platform's own trace from ``taobao.logistics.trace.search``
by ``tid`` (errata T1/T2; ``bububa/opentaobao`` metadata). The waybills are tracked by the
tracking provider like any other; the Taobao trace is extra detail.

Configurable because the real protocol is not confirmed: ``timestamp_format`` (the gateway
page says ``yyyy-MM-dd HH:mm:ss``, the vendor SDK sends epoch ms), ``trades_method``/
``trade_fields``/``fullinfo_method``/``fullinfo_fields``/``page_size``/``lookback_days``
(at most 90: sold.get lists three months), ``trade_types`` (sold.get's ``type``; unset = TOP's
default five types),
``token_refresh`` (the refresh grant is not documented: off by default, an expired session
means linking again), ``error_kinds`` (codes other than 11/21/22/50 are the best-known TOP
codes), ``action_statuses`` (trace step ``action`` -> status; errata T4's codes are
third-party evidence), ``trace_statuses`` (trace summary ``status`` text -> status; the ten
texts of the vendor SDK are built in, and a summary that says delivered counts only when the
steps end in a signature) and ``company_carriers`` (company name -> carrier code; the
built-in crosswalk is constructed, not documented). All three tables add to or replace the
built-in entries; in the last two an empty value removes one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from ...errors import ConfigError, ProviderChanged
from ...http import gather_or_cancel, json_body
from ...models import CHINA_TZ, Order, Status, TokenSet, utcnow
from ..base import AccountSession, ConfigKey, PlatformProvider, as_str
from .parse import (
    FULLINFO,
    TRACE,
    TRADES,
    Trace,
    TradePage,
    parse_fullinfo,
    parse_time,
    parse_token,
    parse_trace,
    parse_trades,
)
from .protocol import SIGN_METHODS, TIME_FORMAT, TopError, error_from, response_key, sign, unwrap
from .tables import (
    ACTION_STATUS,
    COMPANY_CARRIERS,
    ERROR_KINDS,
    NAME,
    SHIPPED,
    TRACE_STATUS,
    TRADE_STATUS,
    UNPAID,
    with_carriers,
    with_statuses,
)

__all__ = [
    "ACTION_STATUS", "COMPANY_CARRIERS", "ERROR_KINDS", "NAME", "SHIPPED", "SIGN_METHODS",
    "TRACE_STATUS", "TRADE_STATUS", "UNPAID", "TaobaoProvider", "TopError", "Trace",
    "TradePage", "error_from", "parse_fullinfo", "parse_time", "parse_token", "parse_trace",
    "parse_trades", "response_key", "sign", "unwrap",
]

log = logging.getLogger("parcelctl.providers.taobao")

# orders.num: TOP returns only the fields asked for, and the quantity is read from it;
# orders.invoice_no/logistics_company: the package of each sub-order (sold.get metadata).
DEFAULT_FIELDS = ("tid,created,status,seller_nick,orders.oid,orders.title,orders.pic_path,"
                  "orders.total_fee,orders.num,orders.invoice_no,orders.logistics_company")
FULLINFO_FIELDS = "tid,orders.oid,orders.invoice_no,orders.logistics_company"


@dataclass(frozen=True, slots=True)
class Rules:
    """How answers are read: the configured tables, resolved once per sync."""

    kinds: Mapping[str, str]
    actions: Mapping[str, Status]
    statuses: Mapping[str, Status]
    carriers: Mapping[str, str]


class TaobaoProvider(PlatformProvider):
    """A Taobao/Tmall shop's orders, their waybills and platform traces (opt-in)."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Taobao / Tmall"
    description: ClassVar[str] = (
        "A Taobao/Tmall shop's orders and traces via the Taobao Open Platform. Opt-in: "
        "Taobao's OAuth rules forbid non-Alibaba channels from offering buyers order lookup "
        "or parcel tracking; use only with an appkey you are allowed to use this way.")
    notes: ClassVar[str] = (
        "Policy: Taobao's OAuth page states that Taobao ID products must not be used by "
        "channels outside Alibaba Group to provide Taobao members' services (such as order "
        "lookup and parcel tracking) to Taobao buyers; on violation the appkey's Taobao ID "
        "permission is revoked. Link your shop (seller account) with an appkey you are "
        "permitted to use this way. Waybills are tracked by the tracking provider; the "
        "Taobao trace adds detail, and its summary means delivery only for online.send "
        "consignments. Unconfirmed (configurable): timestamp format, error codes other "
        "than 11/21/22/50, token refresh (off: re-link when the session expires), trace "
        "action codes, trace summary statuses and company names (action_statuses, "
        "trace_statuses, company_carriers).")
    scopes: ClassVar[dict[str, str]] = {
        "trades": "your shop's sold orders: id, time, status, item titles and prices",
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
        ConfigKey("trades_method", "the seller's order list API", TRADES),
        ConfigKey("trade_fields", "fields asked from the order list", DEFAULT_FIELDS),
        ConfigKey("fullinfo_method", "trade detail API, asked when the list names no "
                  'waybill ("" = never)', FULLINFO),
        ConfigKey("fullinfo_fields", "fields asked from the trade detail", FULLINFO_FIELDS),
        ConfigKey("page_size", "trades per page (max 100)", 40, minimum=1, maximum=100),
        ConfigKey("lookback_days", "orders created in the last N days, at most 90: sold.get "
                  "lists three months (0 = no filter)", 90, minimum=0, maximum=90),
        ConfigKey("trade_types", "sold.get 'type' list, e.g. guarantee_trade,tmall_i18n "
                  "(unset = TOP's default five types)", ""),
        ConfigKey("trace_method", "trace API", TRACE),
        ConfigKey("token_refresh", "try grant_type=refresh_token [UNKNOWN]", False),
        ConfigKey("error_kinds", "error code -> session|auth|permission|throttle [UNKNOWN]",
                  ERROR_KINDS),
        ConfigKey("action_statuses", "extra trace action -> status [third-party]", {}),
        ConfigKey("trace_statuses", "extra trace summary status text -> status "
                  '("" unmaps)', {}),
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

    def _table(self, key: str, example: str) -> Mapping[Any, Any]:
        """A table setting; ``example`` is one entry as ``NAME VALUE``, set one at a time."""
        table = self.settings.get(key) or {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key} must be a table of NAME = VALUE",
                              provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key}.{example}")
        return table

    def _rules(self) -> Rules:
        """Every table, read before the first request: a bad setting fails fast."""
        kinds = self.settings.get("error_kinds")
        actions = self.settings.get("action_statuses")
        return Rules(
            {str(k): str(v) for k, v in kinds.items()} if isinstance(kinds, Mapping) else {},
            with_statuses("action_statuses", ACTION_STATUS,
                          actions if isinstance(actions, Mapping) else {}, unmap=False),
            with_statuses("trace_statuses", TRACE_STATUS,
                          self._table("trace_statuses", "运输中 in_transit"), unmap=True),
            with_carriers(self._table("company_carriers", "中通快递 zhongtong")))

    def _types(self) -> str:
        """``trade_types`` as sold.get's comma list; "" (not sent) = TOP's default types."""
        value = self.settings.get("trade_types") or ""
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        types = [as_str(t).strip() for t in items if as_str(t).strip()]
        for name in types:
            if not name.replace("_", "").isalnum():
                raise ConfigError(f"trade_types: {name!r} is not a trade type", provider=NAME,
                                  hint=f"e.g. parcelctl config set providers.{NAME}.trade_types "
                                  "guarantee_trade,auto_delivery,ec,cod,step,tmall_i18n")
        return ",".join(types)

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
        """The shop's orders created in the last ``lookback_days`` (sold.get filters by
        creation time, so ``session.since`` cannot narrow it), each shipped one with its
        waybills and trace."""
        method, rules = self.require("trades_method"), self._rules()
        size = self._int("page_size", 1, 100)
        # sold.get: "只能获取到三个月以内的交易信息" (bububa/opentaobao metadata).
        days, types = self._int("lookback_days", 0, 90), self._types()
        tokens = await self.fresh_tokens(session)
        query = {"fields": self.require("trade_fields"), "page_size": str(size),
                 "type": types}
        if days:
            now = datetime.now(CHINA_TZ)
            query |= {"start_created": (now - timedelta(days=days)).strftime(TIME_FORMAT),
                      "end_created": now.strftime(TIME_FORMAT)}
        orders: list[Order] = []
        for page_no in range(1, 10_000):
            payload = await self.call(method, tokens.access_token,
                                      query | {"page_no": str(page_no)})
            page = parse_trades(payload, session.account, method, rules.kinds, rules.carriers)
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
        await gather_or_cancel([self._complete(order, tokens.access_token, rules)
                                for order in orders if order.raw_status in SHIPPED])
        return orders

    async def _complete(self, order: Order, session: str, rules: Rules) -> None:
        """A shipped order's missing waybills (fullinfo) and its trace."""
        fullinfo = as_str(self.settings.get("fullinfo_method"))
        if not order.waybills and fullinfo:
            payload = await self.call(fullinfo, session, {
                "fields": self.require("fullinfo_fields"), "tid": order.order_id})
            try:
                order.waybills = parse_fullinfo(payload, fullinfo, rules.kinds, rules.carriers)
            except TopError as exc:
                log.warning("taobao: no detail for order %s: %s", order.order_id, exc.message)
        # is_split=0: the shape of split-consignment answers is UNKNOWN.
        method = self.require("trace_method")
        payload = await self.call(method, session, {"tid": order.order_id, "is_split": "0"})
        try:
            trace = parse_trace(payload, rules.actions, method, rules.kinds, rules.carriers)
        except (TopError, ProviderChanged) as exc:
            # One trade without a readable trace must not fail the sync: the trace is extra
            # detail, its waybills stay tracked by the tracking provider. (An answer the
            # session or throttling refused is not a TopError here: unwrap raises those as
            # AuthorizationNeeded / RateLimited, and they stop the sync as they should.)
            log.warning("taobao: no trace for order %s: %s", order.order_id, exc.message)
            return
        if trace.waybill is None:
            return
        if trace.waybill.number not in {w.number for w in order.waybills}:
            order.waybills.append(trace.waybill)
        if trace.events:
            order.traces[trace.waybill.number] = trace.events
        summary = trace.summary(rules.statuses)
        if summary is not None and not order.status.is_final:  # the trade's end stands
            order.status = summary


def _truthy(value: Any) -> bool:
    return value is True or as_str(value).lower() in ("1", "true", "yes", "on")
