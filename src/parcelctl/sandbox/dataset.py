"""The seeded world the sandbox serves: shipments with timelines, and shop orders.

Events carry a *stage* from the sandbox's own vocabulary; every simulated protocol maps
stages onto its own codes (kuaidi100 state codes, 17TRACK statuses, Cainiao action codes).
Times are offsets from the sandbox epoch, so advancing the sandbox clock makes parcels move.

Numbers that are not curated still get a deterministic timeline derived from a hash of the
number, so benchmarks can track thousands of numbers; numbers listed in ``NO_INFO`` (or
starting with ``NOINFO``) are unknown to every carrier.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

STAGES = (
    "accepted", "picked_up", "in_transit", "customs", "customs_failed", "arrived_city",
    "out_for_delivery", "at_station", "delivered", "delivered_station", "failed_attempt",
    "problem", "returning", "returned", "refused", "cancelled",
)


@dataclass(frozen=True, slots=True)
class Event:
    hours: float  # offset from the sandbox epoch; negative = before the sandbox started
    stage: str
    text: str
    location: str = ""


@dataclass(slots=True)
class Shipment:
    number: str
    carrier: str  # kuaidi100 ``com`` code
    events: list[Event]
    phone: str | None = None  # full phone; the last 4 digits are accepted too
    cross_border: bool = False

    def visible(self, hours_now: float) -> list[Event]:
        """Events that have happened at ``hours_now`` (offset from epoch), oldest first."""
        return [e for e in self.events if e.hours <= hours_now]


def _e(hours: float, stage: str, text: str, location: str = "") -> Event:
    return Event(hours, stage, text, location)


#: Curated parcels: every stage appears at least once, with real-looking texts.
CURATED: list[Shipment] = [
    Shipment("YT6247854916511", "yuantong", [
        _e(-70, "accepted", "您的快件已被圆通速递【浙江省杭州市萧山区】收件员揽收", "杭州市"),
        _e(-66, "picked_up", "【浙江省杭州市萧山区公司】 已收件 取件人: 王** ", "杭州市"),
        _e(-50, "in_transit", "快件已发往 成都转运中心", "杭州市"),
        _e(-30, "arrived_city", "快件已到达 【成都转运中心】", "成都市"),
        _e(-8, "out_for_delivery", "【四川省成都市高新区中和一部公司】 派件中 派件人: 王** 电话 185****8673", "成都市"),
        _e(-5, "at_station", "快件已由成都双流区红树湾二期店菜鸟驿站代收，请凭取件码 3-2-1107 及时取件", "成都市"),
        _e(-1, "delivered_station", "客户签收人: 已签收，签收人凭取货码签收。", "成都市"),
    ]),
    Shipment("SF1321934960512", "shunfeng", [
        _e(-20, "accepted", "顺丰速运 已收取快件", "深圳市"),
        _e(-16, "in_transit", "快件在【深圳宝安集散中心】完成分拣,准备发往 【北京顺义集散中心】", "深圳市"),
        _e(-3, "arrived_city", "快件到达 【北京顺义集散中心】", "北京市"),
        _e(4, "out_for_delivery", "快件交给陈**，正在派送途中（联系电话：138****1234）", "北京市"),
        _e(7, "delivered", "快件已签收,签收人: 本人", "北京市"),
    ], phone="13800001234"),
    Shipment("773027491214552", "shentong", [
        _e(-40, "accepted", "【上海青浦】的收件员 已收件", "上海市"),
        _e(-35, "in_transit", "快件已从 上海青浦 发出，准备发往 武汉中转部", "上海市"),
        _e(-12, "arrived_city", "快件已到达 武汉中转部", "武汉市"),
        _e(-4, "at_station", "快件已暂存至武汉光谷兔喜生活店，凭取件码 A-7-3021 取件", "武汉市"),
    ]),
    Shipment("3950055201640", "yunda", [
        _e(-90, "accepted", "【江苏苏州公司】已揽收", "苏州市"),
        _e(-85, "in_transit", "【江苏苏州分拨中心】已发出 下一站【广东广州分拨中心】", "苏州市"),
        _e(-60, "problem", "快件滞留：收件地址不详，等待联系收件人", "广州市"),
    ]),
    Shipment("JT0006968326954", "jtexpress", [
        _e(-100, "accepted", "【义乌网点】的快递员已取件", "义乌市"),
        _e(-95, "in_transit", "快件离开【义乌转运中心】已发往【西安转运中心】", "义乌市"),
        _e(-48, "failed_attempt", "派件异常：电话无人接听，将于明日再次派送", "西安市"),
        _e(-30, "returning", "快件因收件人拒收，正在退回寄件人", "西安市"),
        _e(-2, "returned", "退回件已由寄件人签收", "义乌市"),
    ]),
    Shipment("DPK364112047425", "debangwuliu", [
        _e(-10, "accepted", "您的订单已被德邦快递接单，等待揽收", "广州市"),
    ]),
    Shipment("JDVA11408814483", "jd", [
        _e(-26, "accepted", "您的订单已出库", "北京市"),
        _e(-20, "in_transit", "您的订单已到达【北京亦庄分拣中心】", "北京市"),
        _e(-2, "out_for_delivery", "配送员【陈**】正在为您派件", "北京市"),
    ]),
    Shipment("LP00123456789012", "cainiao", [
        _e(-300, "accepted", "Order received by seller", "Shenzhen"),
        _e(-280, "picked_up", "Received by logistics company", "Shenzhen"),
        _e(-250, "in_transit", "Departed from sorting center", "Shenzhen"),
        _e(-200, "customs", "Import customs clearance started", "Liege"),
        _e(-150, "arrived_city", "Arrived at delivery office", "Brussels"),
        _e(-30, "out_for_delivery", "Out for delivery", "Brussels"),
        _e(-20, "delivered", "Package delivered", "Brussels"),
    ], cross_border=True),
    # UPU S10 R… CN: China Post international mail, not EMS (errata N1).
    Shipment("RB123456785CN", "youzhengguoji", [
        _e(-200, "accepted", "Shipment information received", "Guangzhou"),
        _e(-150, "in_transit", "Departed from origin country", "Guangzhou"),
        _e(-60, "customs", "Arrived at destination customs", "Warsaw"),
        _e(-10, "customs_failed", "Customs clearance exception: documents required", "Warsaw"),
    ], cross_border=True),
    Shipment("50905742808412", "huitongkuaidi", [
        _e(-60, "accepted", "商家已发货", "南京市"),
        _e(-55, "refused", "收件人拒收", "南京市"),
    ]),
    Shipment("1240921381750", "youzhengguonei", [
        _e(-5, "accepted", "邮政快递包裹已收寄", "长沙市"),
        _e(3, "in_transit", "离开长沙处理中心，发往上海处理中心", "长沙市"),
        _e(30, "arrived_city", "到达上海处理中心", "上海市"),
        _e(40, "at_station", "已投递到上海市浦东新区丰巢智能柜，取件码 692035", "上海市"),
        _e(60, "delivered_station", "已从丰巢智能柜取出", "上海市"),
    ]),
    # On its way back now, the return ends two days later (errata Q2: still tracked).
    Shipment("1136281381675", "ems", [
        _e(-100, "accepted", "【北京市邮政速递】已收寄", "北京市"),
        _e(-90, "in_transit", "离开北京处理中心，发往昆明处理中心", "北京市"),
        _e(-50, "refused", "收件人拒收", "昆明市"),
        _e(-40, "returning", "快件正在退回寄件人途中", "昆明市"),
        _e(48, "returned", "退回妥投：寄件人已签收", "北京市"),
    ]),
    Shipment("75312345678901", "zhongtong", [
        _e(-15, "accepted", "【杭州】 快件已揽收", "杭州市"),
        _e(-14, "cancelled", "寄件人已取消寄件，快件已销单", "杭州市"),
    ], phone="13912345678"),
]

#: Numbers no carrier knows (yet): providers must report "no information", not fail.
NO_INFO = frozenset({"YT0000000000000", "LP00000000000000"})

_TEMPLATES: list[list[tuple[float, str, str]]] = [
    [(-80, "accepted", "已揽收"), (-60, "in_transit", "运输中"), (-30, "arrived_city", "到达"),
     (-10, "out_for_delivery", "派件中"), (-6, "delivered", "已签收")],
    [(-20, "accepted", "已揽收"), (-10, "in_transit", "运输中"), (10, "arrived_city", "到达"),
     (30, "out_for_delivery", "派件中"), (34, "delivered", "已签收")],
    [(-30, "accepted", "已揽收"), (-20, "in_transit", "运输中"), (-5, "at_station",
     "快件已存放至驿站，凭取件码 8-2-4410 取件"), (40, "delivered_station", "已取件")],
    [(-4, "accepted", "已下单，等待揽收"), (20, "picked_up", "已揽收"), (50, "in_transit", "运输中")],
]


def synthetic(number: str) -> Shipment:
    """A deterministic timeline for any number (benchmarks, ad-hoc demo numbers)."""
    seed = int(hashlib.sha256(number.encode()).hexdigest()[:12], 16)
    template = _TEMPLATES[seed % len(_TEMPLATES)]
    shift = (seed >> 8) % 12
    events = [
        Event(h - shift, stage, f"【{_CITIES[(seed + i) % len(_CITIES)]}】{text}",
              _CITIES[(seed + i) % len(_CITIES)])
        for i, (h, stage, text) in enumerate(template)
    ]
    carrier = "zhongtong" if number.startswith("7") else "yuantong"
    return Shipment(number, carrier, events)


_CITIES = ["杭州市", "上海市", "广州市", "成都市", "北京市", "武汉市", "西安市", "南京市"]


@dataclass(slots=True)
class ShopOrder:
    oid: int
    status: int  # Kuaishou orderBaseInfo.status vocabulary (30 paid, 40 shipped, 80 closed…)
    create_hours: float
    update_hours: float
    title: str
    quantity: int
    total_fee: int  # fen
    promise_hours: float | None = None
    waybills: list[tuple[str, int]] = field(default_factory=list)  # (expressNo, expressCode)


@dataclass(slots=True)
class Dataset:
    epoch: datetime
    shipments: dict[str, Shipment]
    orders: list[ShopOrder]
    seller_nick: str = "沙盒小店"

    def shipment(self, number: str) -> Shipment | None:
        if number in NO_INFO or number.startswith("NOINFO"):
            return None
        found = self.shipments.get(number)
        return found if found is not None else synthetic(number)


_EXPRESS_CODES = {"yuantong": 6, "shunfeng": 4, "shentong": 3, "yunda": 11, "jtexpress": 109,
                  "zhongtong": 9, "jd": 14, "youzhengguonei": 8, "debangwuliu": 17}


def build(*, orders: int = 24, seed: int = 7, epoch: datetime | None = None) -> Dataset:
    """The seeded dataset. ``orders`` scales the shop for benchmarks."""
    epoch = epoch or datetime.now(UTC).replace(microsecond=0)
    shipments = {s.number: s for s in CURATED}
    rng = random.Random(seed)
    domestic = [s for s in CURATED if s.carrier in _EXPRESS_CODES]
    result: list[ShopOrder] = []
    for i in range(orders):
        created = -rng.uniform(1, 88 * 24)  # within the 90-day window, hours before epoch
        kind = i % 6
        oid = 2415000000000000 + i * 7919
        title = _TITLES[i % len(_TITLES)]
        order = ShopOrder(oid, 30, created, created + 1, title, 1 + i % 3, 990 + 100 * i)
        if kind == 0:  # paid, not shipped; some already past the promised time
            order.promise_hours = created + (24 if i % 12 == 0 else 72 * 24)
        elif kind == 1:
            order.status = 80
        else:
            order.status = 40 if kind in (2, 3) else 70
            if i < len(domestic) * 2 and kind == 2:
                ship = domestic[i % len(domestic)]
                order.waybills.append((ship.number, _EXPRESS_CODES[ship.carrier]))
            else:
                number = f"YT{(9300000000000 + i * 104729) % 10**13:013d}"
                order.waybills.append((number, 6))
            if kind == 3 and i % 4 == 3:  # an order shipped in two packages
                order.waybills.append((f"YT{(9400000000000 + i * 15485863) % 10**13:013d}", 6))
            order.update_hours = min(created + rng.uniform(2, 48), -0.5)
        result.append(order)
    return Dataset(epoch, shipments, result)


_TITLES = ["加厚保温杯 500ml", "纯棉短袖T恤 白色 L", "蓝牙耳机 降噪版", "手机壳 iPhone 15",
           "儿童绘本 10册", "不锈钢炒锅 32cm", "跑步鞋 42码", "数据线 1m 三条装"]


def hours_between(epoch: datetime, when: datetime) -> float:
    return (when - epoch).total_seconds() / 3600.0


def at(epoch: datetime, hours: float) -> datetime:
    return epoch + timedelta(hours=hours)
