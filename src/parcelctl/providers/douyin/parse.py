"""Pure parsing of Douyin order lists: decoded ``data`` -> orders (no I/O).

Where each field lives is an :class:`OrderSpec`; its defaults (``default_spec()``) are the
SDK's response struct (errata D2, see tables.py), and every path can be overridden in
config. A path step that meets a list walks every element (``sku_order_list.product_name``
= the names of all products).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...errors import ProviderChanged
from ...models import CHINA_TZ, Order, Status, Waybill
from ..base import as_str, expect_dict, map_status
from . import tables
from .protocol import NAME, TIME_FORMAT


def get_path(obj: Any, path: str) -> Any:
    """Walk a dotted path through JSON objects; None when any step is missing."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def get_all(obj: Any, path: str) -> list[Any]:
    """Every value at a dotted path, walking into each element of the lists on the way."""
    found = [obj]
    for part in path.split("."):
        step: list[Any] = []
        for item in found:
            for each in item if isinstance(item, list) else [item]:
                if isinstance(each, dict) and each.get(part) is not None:
                    step.append(each[part])
        found = step
    return [v for item in found for v in (item if isinstance(item, list) else [item])]


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProviderChanged(f"{what} is not a string or number", provider=NAME)
    return as_str(value)


def parse_time(value: Any) -> datetime | None:
    """Epoch seconds (number or digits) or ``yyyy-MM-dd HH:mm:ss`` Beijing time."""
    if value in (None, "", 0):
        return None
    text = as_str(value)
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), CHINA_TZ)
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA_TZ)
    except (ValueError, OverflowError, OSError):
        raise ProviderChanged(f"{text[:30]!r} is not a time", provider=NAME) from None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """Where an order list answer keeps what parcelctl needs."""

    method: str
    orders_path: str
    id_field: str
    status_field: str
    status_map: Mapping[str, Status]
    created_field: str = ""
    title_field: str = ""
    waybills_path: str = ""
    number_field: str = ""
    carrier_field: str = ""
    carrier_map: Mapping[str, str] | None = None
    skip: frozenset[str] = field(default_factory=frozenset)
    updated_field: str = ""


def default_spec() -> OrderSpec:
    """The SDK's ``order.searchList`` (errata D2) with the tables of tables.py."""
    return OrderSpec(
        tables.ORDER_METHOD, tables.ORDERS_PATH, tables.ORDER_ID_FIELD,
        tables.ORDER_STATUS_FIELD, dict(tables.ORDER_STATUS), tables.CREATED_FIELD,
        tables.TITLE_FIELD, tables.WAYBILLS_PATH, tables.WAYBILL_NUMBER_FIELD,
        tables.WAYBILL_CARRIER_FIELD, dict(tables.CARRIERS),
        frozenset(tables.SKIPPED_STATUSES), tables.UPDATED_FIELD)


def _title(row: dict[str, Any], path: str) -> str:
    names: list[str] = []
    for value in get_all(row, path):
        if isinstance(value, (dict, list)):
            raise ProviderChanged(f"{path} is not text", provider=NAME)
        name = as_str(value)
        if name and name not in names:
            names.append(name)
    return " / ".join(names)


def parse_orders(data: Mapping[str, Any], spec: OrderSpec, account: str
                 ) -> tuple[list[Order], int]:
    """Orders of one page (skipped statuses left out) and the number of rows the page had."""
    rows = get_path(dict(data), spec.orders_path)
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ProviderChanged(f"{spec.orders_path} is not a list", provider=NAME)
    orders = []
    for raw in rows:
        row = expect_dict(raw, NAME, "order")
        order_id = _id(get_path(row, spec.id_field), spec.id_field)
        if not order_id:
            raise ProviderChanged(f"an order has no {spec.id_field}", provider=NAME)
        code = as_str(get_path(row, spec.status_field))
        if code in spec.skip:
            continue
        order = Order(provider=NAME, account=account, order_id=order_id,
                      status=map_status(spec.status_map, code, NAME), raw_status=code,
                      title=_title(row, spec.title_field) if spec.title_field else "",
                      created_at=parse_time(get_path(row, spec.created_field))
                      if spec.created_field else None,
                      updated_at=parse_time(get_path(row, spec.updated_field))
                      if spec.updated_field else None)
        packages = get_path(row, spec.waybills_path) if spec.waybills_path else None
        seen: set[str] = set()
        for package in packages if isinstance(packages, list) else [packages] if packages else []:
            item = expect_dict(package, NAME, "package")
            number = get_path(item, spec.number_field)
            number = _id(number, spec.number_field) if number is not None else ""
            raw_carrier = as_str(get_path(item, spec.carrier_field)) if spec.carrier_field else ""
            if number and number not in seen:  # one parcel listed twice is one waybill
                seen.add(number)
                order.waybills.append(Waybill(number, (spec.carrier_map or {}).get(
                    raw_carrier, ""), raw_carrier))
        orders.append(order)
    return orders, len(rows)


def page_total(data: Mapping[str, Any], path: str = tables.TOTAL_FIELD) -> int | None:
    """``data.total`` (all matching orders, D2), or None when the answer has none."""
    value = get_path(dict(data), path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not as_str(
            value).isdigit():
        raise ProviderChanged(f"{path} is not a whole number", provider=NAME)
    return int(as_str(value))
