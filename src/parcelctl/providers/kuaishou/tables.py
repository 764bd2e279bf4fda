"""Kuaishou code tables, each with where its entries come from.

Sources: OD = the official pages mirrored in ``AndersonBY/kwaixiaodian-python-sdk``
(``docs/开发指南和规则协议/开发文档/``); CONS = parcelctl's own crosswalk, kept as data and
overridable in config.
"""

from __future__ import annotations

from ...models import Status

#: orderBaseInfo.status (kuaishou.md §6, from OD). 10 (awaiting payment) is not a parcel yet
#: and is skipped. Shipped codes carry the fallback status used until a tracking provider
#: knows better (CONS).
ORDER_STATUS: dict[str, Status] = {
    "0": Status.UNKNOWN,
    "30": Status.AWAITING_SHIPMENT,
    "40": Status.INFO_RECEIVED,
    "50": Status.DELIVERED,
    "70": Status.DELIVERED,
    "80": Status.CANCELLED,
}
SKIPPED_STATUSES = frozenset({"10"})

#: expressCode -> kuaidi100 ``com``. The codes are OD 物流公司编号.md (kuaishou.md §7); the
#: kuaidi100 column is CONS for the first group and errata K4 (3SDK code tables) for the
#: second. Override with ``providers.kuaishou.express_codes``; codes whose kuaidi100 code
#: is unknown are absent (carrier "" with the raw code kept).
EXPRESS_CODES: dict[str, str] = {
    "1": "huitongkuaidi", "2": "ems", "3": "shentong", "4": "shunfeng", "6": "yuantong",
    "8": "youzhengguonei", "9": "zhongtong", "10": "zhaijisong", "11": "yunda", "14": "jd",
    "17": "debangwuliu", "109": "jtexpress",
    # errata K4
    "53": "debangkuaidi", "113": "danniao", "127": "fengwang", "97": "youzhengbk",
    "12": "zhongtongkuaiyun", "7": "yundakuaiyun",
}
