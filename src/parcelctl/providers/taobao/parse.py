"""Pure parsers: TOP payloads -> parcelctl models (no I/O; tested from golden payloads).

Shapes from ``bububa/opentaobao`` metadata (generated from TOP): ``trades.sold.get`` answers
``{total_results | has_next, trades: {trade: [...]}}`` whose trades carry ``orders.order[]``
with the package of each sub-order (``invoice_no``, ``logistics_company``);
``trade.fullinfo.get`` answers one ``trade`` of the same shape; ``logistics.trace.search``
answers ``out_sid``, ``company_name``, ``status`` and ``trace_list.transit_step_info[]``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ...errors import AuthError, AuthorizationNeeded, ProviderChanged
from ...http import redact
from ...models import CHINA_TZ, Order, Status, TokenSet, TrackingEvent, Waybill
from ..base import as_str, expect_dict, expect_list, lifetime_end, map_status
from .protocol import TIME_FORMAT, unwrap
from .tables import (
    ACTION_STATUS,
    COMPANY_CARRIERS,
    ERROR_KINDS,
    NAME,
    SHIPPED,
    TRADE_STATUS,
    UNPAID,
)

log = logging.getLogger("parcelctl.providers.taobao")

TRADES = "taobao.trades.sold.get"
FULLINFO = "taobao.trade.fullinfo.get"
TRACE = "taobao.logistics.trace.search"


def parse_time(value: Any, what: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time (GMT+8); 0001-01-01 and the like refused."""
    from ..base import wall_time

    return wall_time(as_str(value), TIME_FORMAT, CHINA_TZ, NAME, what)


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


def int_or(value: Any, default: int) -> int:
    try:
        return int(as_str(value))
    except ValueError:
        return default


def _sub_orders(trade: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [expect_dict(o, NAME, "order")
            for o in _items(trade.get("orders"), "order", "orders")]


def waybills_of(subs: list[dict[str, Any]], carriers: Mapping[str, str]) -> list[Waybill]:
    """The packages the sub-orders name (``invoice_no``), each once, in order."""
    found: dict[str, Waybill] = {}
    for sub in subs:
        number = as_str(sub.get("invoice_no"))
        if number and number not in found:
            company = as_str(sub.get("logistics_company"))
            found[number] = Waybill(number, carriers.get(company, ""), company)
    return list(found.values())


@dataclass(slots=True)
class TradePage:
    orders: list[Order]
    total_results: int | None = None
    has_next: bool | None = None
    count: int = 0  # trades on this page, unpaid ones included


def parse_trades(payload: Any, account: str, method: str = TRADES,
                 kinds: Mapping[str, str] = ERROR_KINDS,
                 carriers: Mapping[str, str] = COMPANY_CARRIERS) -> TradePage:
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
        subs = _sub_orders(trade)
        fees = [f for f in (_cents(o.get("total_fee")) for o in subs) if f is not None]
        page.orders.append(Order(
            provider=NAME, account=account, order_id=_id(trade.get("tid"), "tid"),
            status=map_status(TRADE_STATUS, code, NAME), raw_status=code,
            shop=as_str(trade.get("seller_nick")),
            title=" / ".join(t for t in (as_str(o.get("title")) for o in subs) if t),
            quantity=sum(int_or(o.get("num"), 1) for o in subs),
            price_cents=sum(fees) if fees else None,
            created_at=parse_time(trade["created"], "created") if trade.get("created") else None,
            waybills=waybills_of(subs, carriers) if code in SHIPPED else [],
        ))
    return page


def parse_fullinfo(payload: Any, method: str = FULLINFO,
                   kinds: Mapping[str, str] = ERROR_KINDS,
                   carriers: Mapping[str, str] = COMPANY_CARRIERS) -> list[Waybill]:
    """The packages of one trade from ``trade.fullinfo.get``."""
    trade = expect_dict(unwrap(payload, method, kinds).get("trade"), NAME, "trade")
    return waybills_of(_sub_orders(trade), carriers)


@dataclass(slots=True)
class Trace:
    waybill: Waybill | None
    status_text: str
    events: list[TrackingEvent] = field(default_factory=list)

    def summary(self, statuses: Mapping[str, Status]) -> Status | None:
        """The summary ``status`` mapped, or None. A summary that says delivered counts
        only when the steps end in a signature too: "对方已签收" appears as soon as an
        ``offline.send`` waybill ships (``bububa/opentaobao``
        ``metadata/assets/json/tblogistics/taobao_logistics_trace_search.json``), and
        nothing in the trade tells offline from online consignments."""
        status = statuses.get(self.status_text)
        if status is Status.DELIVERED:
            last = self.events[-1].status if self.events else None
            return status if last is Status.DELIVERED else None
        return status


def parse_trace(payload: Any, actions: Mapping[str, Status] = ACTION_STATUS,
                method: str = TRACE, kinds: Mapping[str, str] = ERROR_KINDS,
                carriers: Mapping[str, str] = COMPANY_CARRIERS) -> Trace:
    body = unwrap(payload, method, kinds)
    number = _id(body["out_sid"], "out_sid") if body.get("out_sid") else ""
    company = as_str(body.get("company_name"))
    events = []
    unread = 0
    for raw in _items(body.get("trace_list"), "transit_step_info", "trace_list"):
        step = expect_dict(raw, NAME, "transit_step_info")
        action = as_str(step.get("action"))
        try:
            # status_time is a String of no stated format; the metadata's own example is
            # "2010-8-10 15：23：00" (full-width colons; strptime takes the unpadded fields).
            when = parse_time(as_str(step.get("status_time")).replace("：", ":"),
                              "status_time")
        except ProviderChanged:
            # The trace is extra detail: a step whose time cannot be read is left out
            # rather than losing the whole trace (or the sync).
            unread += 1
            continue
        events.append(TrackingEvent(
            time=when, description=as_str(step.get("status_desc")),
            status=actions.get(action), raw_code=action,
        ))
    if unread:
        log.warning("taobao: %d trace step(s) of %s skipped: their status_time is not "
                    "yyyy-MM-dd HH:mm:ss", unread, number or "a waybill")
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
        value = int_or(body.get(key), 0)
        return lifetime_end(now, value, NAME) if value > 0 else None

    return TokenSet(
        access_token=as_str(body["access_token"]),
        refresh_token=as_str(body.get("refresh_token")),
        access_expires_at=seconds("expires_in"),
        refresh_expires_at=seconds("re_expires_in"),  # semantics UNKNOWN (taobao.md §7)
        open_id=as_str(body.get("taobao_user_id")) or as_str(body.get("taobao_user_nick")),
    )
