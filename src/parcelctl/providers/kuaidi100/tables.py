"""Kuaidi100 state tables (fact sheet kuaidi100.md §3: the official state table, OD apifox
api-8562559; errata Q2/Q3 for 6, 4 and 304)."""

from __future__ import annotations

from ...models import Status

#: Every basic state and advanced code of the official state table (kuaidi100.md §3).
STATE_STATUS: dict[str, Status] = {
    "1": Status.IN_TRANSIT,  # 揽收 picked up
    "101": Status.INFO_RECEIVED,  # 已下单
    "102": Status.INFO_RECEIVED,  # 待揽收
    "103": Status.IN_TRANSIT,  # 已揽收
    "0": Status.IN_TRANSIT,  # 在途
    "1001": Status.IN_TRANSIT,  # 到达派件城市
    "1002": Status.IN_TRANSIT,  # 干线
    "1003": Status.IN_TRANSIT,  # 转递
    "5": Status.OUT_FOR_DELIVERY,  # 派件
    "501": Status.READY_FOR_PICKUP,  # 投柜或驿站
    "3": Status.DELIVERED,  # 签收
    "301": Status.DELIVERED,  # 本人签收
    "302": Status.DELIVERED,  # 派件异常后签收
    "303": Status.DELIVERED,  # 代签
    # 投柜或站签收: a locker or station signed for it, so for the person it waits there
    # (errata Q3, as Cainiao's GTMS_STA_SIGNED); still polled until it is collected.
    "304": Status.READY_FOR_PICKUP,
    "6": Status.RETURNED,  # 退回: on its way back, still tracked (RETURNING_STATES)
    "4": Status.RETURNED,  # 退签: the return is over
    "401": Status.CANCELLED,  # 已销单
    "14": Status.EXCEPTION,  # 拒签
    "7": Status.IN_TRANSIT,  # 转投
    "2": Status.EXCEPTION,  # 疑难
    **{str(code): Status.EXCEPTION for code in range(201, 211)},  # 超时未签收 … 销单
    "8": Status.IN_TRANSIT,  # 清关
    "10": Status.IN_TRANSIT,  # 待清关
    "11": Status.IN_TRANSIT,  # 清关中
    "12": Status.IN_TRANSIT,  # 已清关
    "13": Status.EXCEPTION,  # 清关异常
}

#: resultv2=1 gives only the state *name* per event; names of the same table.
STATE_NAMES: dict[str, str] = {
    "揽收": "1", "已下单": "101", "待揽收": "102", "已揽收": "103",
    "在途": "0", "到达派件城市": "1001", "干线": "1002", "转递": "1003",
    "派件": "5", "投柜或驿站": "501",
    "签收": "3", "本人签收": "301", "派件异常后签收": "302", "代签": "303", "投柜或站签收": "304",
    "退回": "6", "退签": "4", "已销单": "401", "拒签": "14", "转投": "7",
    "疑难": "2", "超时未签收": "201", "超时未更新": "202", "拒收": "203", "派件异常": "204",
    "柜或驿站超时未取": "205", "无法联系": "206", "超区": "207", "滞留": "208", "破损": "209",
    "销单": "210", "清关": "8", "待清关": "10", "清关中": "11", "已清关": "12", "清关异常": "13",
}

#: "快件正处于返回发货人的途中" (errata Q2): the parcel still moves, so it is still tracked
#: (slowly) until state 4, a signed-for scan after it, or polling.stale_days of silence.
RETURNING_STATES = frozenset({"6"})
#: A 400 that names the carrier code (errata Q1: "找不到对应公司" is the usual text) is that
#: parcel's problem; any other 400 is the account's (missing fields, unpaid, not enabled).
CARRIER_400_TEXTS = ("找不到对应公司", "快递公司")

#: Basic states; any other code is an advanced (more specific) one.
BASIC_STATES = frozenset({"0", "1", "2", "3", "4", "5", "6", "7", "8", "14"})
