"""Douyin shop tables, each entry with its source.

Source tags: SDK = the official Go SDK, mirror ``zsmhub/doudian-sdk`` (path given); every
table can be overridden in config (``providers.douyin.*``), the keys are named beside them.
"""

from __future__ import annotations

from typing import Final

from ...models import Status

#: The order list method and its response paths. SDK
#: ``api/order_searchList/response/order_searchList_response.go`` (errata D2). Override:
#: ``order_method`` and the ``*_path`` / ``*_field`` keys.
ORDER_METHOD: Final = "order.searchList"
ORDERS_PATH: Final = "shop_order_list"
ORDER_ID_FIELD: Final = "order_id"
ORDER_STATUS_FIELD: Final = "order_status"
CREATED_FIELD: Final = "create_time"  # seconds
UPDATED_FIELD: Final = "update_time"  # seconds
TITLE_FIELD: Final = "sku_order_list.product_name"  # one name per product of the order
WAYBILLS_PATH: Final = "logistics_info"
WAYBILL_NUMBER_FIELD: Final = "tracking_no"
WAYBILL_CARRIER_FIELD: Final = "company"
TOTAL_FIELD: Final = "total"

#: ``order_status`` -> parcelctl status. Codes and meanings: SDK
#: ``api/order_searchList/response/order_searchList_response.go`` ("1 待确认/待支付, 105 已支付,
#: 2 备货中, 101 部分发货, 3 已发货（全部发货）, 4 已取消, 5 已完成（已收货）"). The mapping onto
#: parcelctl's vocabulary is ours (override: ``status_map``):
ORDER_STATUS: Final[dict[str, Status]] = {
    "105": Status.AWAITING_SHIPMENT,  # paid
    "2": Status.AWAITING_SHIPMENT,  # preparing
    # Partly shipped: the packages out so far are tracked; the rest shows up as waybills
    # when they ship (the order stays in the list: it changes, so it comes back).
    "101": Status.INFO_RECEIVED,
    "3": Status.INFO_RECEIVED,  # shipped: the tracking provider takes it from here
    "4": Status.CANCELLED,
    # "已收货": the buyer confirmed receipt (or the platform did after its deadline). As with
    # Kuaishou's 70, this is the platform's final word only for a parcel no tracking has
    # said otherwise about (store.FINAL_STATUSES rules).
    "5": Status.DELIVERED,
}
#: 1 = awaiting payment: not a paid order, so nothing to ship or track yet (DESIGN:
#: awaiting_shipment means *paid*). Skipped as Kuaishou skips its unpaid 10. Override:
#: ``skip_statuses``.
SKIPPED_STATUSES: Final = ("1",)

#: Douyin ``logistics_info[].company`` -> parcelctl carrier (kuaidi100 ``com``). The codes
#: are those the SDK lists as carrier codes ("yuantong、zhongtong、yunda、shunfeng、jd、
#: jtexpress、shentong", comment in ``api/logistics_getRecommendedAndDeliveryExpressByOrder/
#: request/…_request.go``), which are spelled as kuaidi100's. Any other code gives carrier
#: "" with the raw code kept, and the tracking provider detects the carrier. Override/extend:
#: ``carrier_map``.
CARRIERS: Final[dict[str, str]] = {code: code for code in (
    "yuantong", "zhongtong", "yunda", "shunfeng", "jd", "jtexpress", "shentong")}

#: Refresh token life: "用于刷新access_token的刷新令牌（有效期：14 天）", SDK
#: ``api/token_create/response/token_create_response.go`` and ``core/create_token_request.go``
#: (errata D4). Override: ``refresh_token_days``.
REFRESH_TOKEN_DAYS: Final = 14

#: ``expires_in`` is a duration per ``core/create_token_request.go`` ("单位（秒），默认有效期：
#: 7天") but an epoch time per ``api/token_create/response/…`` ("过期时间(秒级时间戳)"): D4
#: leaves it open, so a value this large (2001-09-09 as epoch seconds, 31 years as a
#: duration) is read as a point in time, anything smaller as a duration.
EPOCH_THRESHOLD: Final = 1_000_000_000
