"""Pure functions: Kuaishou payloads -> parcelctl models (no I/O; tested from golden files)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ...errors import ProviderChanged
from ...models import CHINA_TZ, Order, TokenSet, Waybill
from ..base import as_str, expect_dict, expect_list, lifetime_end, map_status
from .protocol import NAME, page_cursor, raise_for_result, to_int
from .tables import EXPRESS_CODES, ORDER_STATUS, SKIPPED_STATUSES

#: Documented defaults (§2.2) used only when the answer omits them.
DEFAULT_ACCESS_TTL = 172800
DEFAULT_REFRESH_TTL = 180 * 86400
EPOCH = datetime.fromtimestamp(0, tz=CHINA_TZ)


def _ms(value: Any, what: str) -> datetime | None:
    """Milliseconds since the epoch; 0/absent = not set."""
    if value is None:
        return None
    ms = to_int(value, what)
    if ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=CHINA_TZ)
    except (OverflowError, OSError, ValueError):
        raise ProviderChanged(f"{what} is not a valid time", provider=NAME) from None


def parse_token(payload: Any, now: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A token answer (§2.2/§2.3). A refresh answer inherits what it omits from ``previous``."""
    data = raise_for_result(payload)
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderChanged("the token answer has no access_token", provider=NAME)
    expires_in = to_int(data.get("expires_in", DEFAULT_ACCESS_TTL), "expires_in")
    refresh = data.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise ProviderChanged("refresh_token is not a string", provider=NAME)
    refresh = refresh or (previous.refresh_token if previous else "")
    if "refresh_token_expires_in" in data:  # shrinks: a rotated token keeps the old expiry
        refresh_at: datetime | None = lifetime_end(
            now, to_int(data["refresh_token_expires_in"], "refresh_token_expires_in"), NAME)
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
    code = str(to_int(base.get("status"), "orderBaseInfo.status"))
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
        quantity=0 if quantity is None else to_int(quantity, "num"),
        price_cents=None if price is None else to_int(price, "totalFee"),
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
        raw_code = "" if express is None else str(to_int(express, "expressCode"))
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


def merge_orders(pages: Iterable[list[Order]]) -> list[Order]:
    """One order per oid (windows may touch at their edges): the most recently updated wins."""
    best: dict[str, Order] = {}
    for page in pages:
        for order in page:
            kept = best.get(order.order_id)
            if kept is None or (order.updated_at or EPOCH) > (kept.updated_at or EPOCH):
                best[order.order_id] = order
    return sorted(best.values(), key=lambda o: o.updated_at or EPOCH, reverse=True)
