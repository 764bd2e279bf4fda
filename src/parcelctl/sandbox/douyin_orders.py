"""The simulated ``order.searchList`` of the Douyin shop (抖店).

Request and response follow the official Go SDK (mirror ``zsmhub/doudian-sdk``):
``api/order_searchList/request/order_searchList_request.go`` (``create_time_start`` /
``create_time_end`` / ``update_time_start`` / ``update_time_end`` in seconds, all optional;
``page`` from 0; ``size`` "限制100以内"; ``order_by`` ``create_time`` (default) or
``update_time``; newest first unless ``order_asc``) and
``api/order_searchList/response/order_searchList_response.go`` (errata D2): ``data.page``,
``data.size``, ``data.total``, ``data.shop_order_list[]`` with ``order_id`` (string),
``order_status`` (1 awaiting payment, 105 paid, 2 preparing, 101 partly shipped, 3 shipped,
4 cancelled, 5 completed), ``create_time`` / ``update_time`` (seconds), ``logistics_info[]``
(``tracking_no``, ``company``, ``company_name``) and ``sku_order_list[].product_name``.

The ``company`` codes of yuantong, zhongtong, yunda, shunfeng, jd, jtexpress and shentong
are the SDK's own (the comment of ``logistics_getRecommendedAndDeliveryExpressByOrder``);
``youzhengguonei`` and ``debangwuliu`` are SANDBOX-ONLY guesses, as are the default page
size and which of the seeded orders this shop has.
"""

from __future__ import annotations

from typing import Any

from .base import Response
from .dataset import Dataset, ShopOrder, at
from .douyin_wire import BAD_PARAM, envelope

_DESC = {1: "待支付", 105: "已支付", 2: "备货中", 101: "部分发货", 3: "已发货", 4: "已取消",
         5: "已完成"}
#: Kuaishou express codes of the seeded dataset -> Douyin ``company`` (see module doc).
_COMPANY = {6: "yuantong", 9: "zhongtong", 11: "yunda", 4: "shunfeng", 14: "jd",
            109: "jtexpress", 3: "shentong", 8: "youzhengguonei", 17: "debangwuliu"}
_NAMES = {"yuantong": "圆通快递", "zhongtong": "中通快递", "yunda": "韵达快递",
          "shunfeng": "顺丰速运", "jd": "京东物流", "jtexpress": "极兔速递",
          "shentong": "申通快递", "youzhengguonei": "邮政快递包裹", "debangwuliu": "德邦快递"}
_DEFAULT_SIZE = 10  # SANDBOX-ONLY: the real default is not documented
_FILTERS = ("create_time_start", "create_time_end", "update_time_start", "update_time_end")


def _refuse(what: str) -> Response:
    return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                    sub_msg=what)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def search_list(dataset: Dataset, params: dict[str, Any], shop_id: int) -> Response:
    for key in (*_FILTERS, "page", "size"):
        if key in params and not _whole(params[key]):
            return _refuse(f"{key} must be an integer")
    page, size = params.get("page", 0), params.get("size", _DEFAULT_SIZE)
    if page < 0 or not 1 <= size <= 100:
        return _refuse("page/size")
    order_by = params.get("order_by", "create_time")
    if order_by not in ("create_time", "update_time"):
        return _refuse("order_by")
    rows = []
    for index, order in enumerate(dataset.orders):
        if index % 6 not in (0, 1, 3, 5):  # this shop's share of the seeded orders
            continue
        row = _render(dataset, index, order, shop_id)
        if all(_within(row, key, params) for key in _FILTERS):
            rows.append(row)
    rows.sort(key=lambda r: (int(r[order_by]), r["order_id"]),
              reverse=not params.get("order_asc", False))
    chunk = rows[page * size:(page + 1) * size]
    return envelope({"page": page, "size": size, "total": len(rows),
                     "shop_order_list": chunk})


def _within(row: dict[str, Any], key: str, params: dict[str, Any]) -> bool:
    if key not in params:
        return True
    value, bound = int(row[key.rsplit("_", 1)[0]]), int(params[key])
    return value >= bound if key.endswith("_start") else value <= bound


def _status(index: int, order: ShopOrder) -> int:
    if order.status == 30:  # paid, not shipped: 105, 2, or still unpaid (1)
        return (105, 2, 1)[(index // 6) % 3]
    if order.status == 40:  # one package out and the order not complete: partly shipped
        return 101 if len(order.waybills) == 1 and (index // 6) % 2 == 1 else 3
    return {70: 5, 80: 4}.get(order.status, 3)


def _render(dataset: Dataset, index: int, order: ShopOrder, shop_id: int) -> dict[str, Any]:
    created = int(at(dataset.epoch, order.create_hours).timestamp())
    updated = int(at(dataset.epoch, order.update_hours).timestamp())
    code = _status(index, order)
    oid = str(order.oid)
    skus = [{"order_id": f"{oid}1", "parent_order_id": oid, "product_name": order.title,
             "item_num": order.quantity, "order_status": code, "create_time": created}]
    if index % 12 == 5:  # a second product in one order
        skus.append({"order_id": f"{oid}2", "parent_order_id": oid,
                     "product_name": "赠品 收纳袋", "item_num": 1, "order_status": code,
                     "create_time": created})
    packages = []
    for number, express in order.waybills:
        company = _COMPANY.get(express, str(express))
        packages.append({"tracking_no": number, "company": company,
                         "company_name": _NAMES.get(company, company), "ship_time": updated,
                         "delivery_id": f"D{number}", "product_info": [
                             {"product_name": order.title, "sku_order_id": f"{oid}1"}]})
    return {"shop_id": shop_id, "order_id": oid, "order_level": 2, "order_status": code,
            "order_status_desc": _DESC[code], "main_status": code,
            "main_status_desc": _DESC[code], "create_time": created, "update_time": updated,
            "pay_time": 0 if code == 1 else created + 60,
            "finish_time": updated if code == 5 else 0,
            "ship_time": updated if packages else 0, "order_amount": order.total_fee,
            "pay_amount": order.total_fee, "logistics_info": packages,
            "sku_order_list": skus}
