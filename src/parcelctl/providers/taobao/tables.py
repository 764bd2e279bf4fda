"""Taobao status, action, carrier and error tables, each entry with its source.

Sources: ``bububa/opentaobao`` (generated from TOP's live metadata) files
``metadata/assets/json/tbtrade/taobao_trades_sold_get.json`` [META-SOLD] and
``metadata/assets/json/tblogistics/taobao_logistics_trace_search.json`` [META-TRACE]; the
vendor Java SDK's ``LogisticsTraceSearchResponse.java`` (e.g. ``cattles/taobao-sdk-java``)
[JSDK]; errata.md T4 (ISV message handlers: third-party evidence) [T4]; taobao.md [SHEET];
[GUESS] where nothing documents the entry. The config keys ``action_statuses``,
``trace_statuses``, ``company_carriers`` and ``error_kinds`` add to or replace entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ...models import Status

NAME = "taobao"

#: Trade ``status`` [META-SOLD, all twelve values] -> parcelctl status. Shipped trades fall
#: back to info_received: the waybill's tracking decides the rest.
TRADE_STATUS: dict[str, Status] = {
    "TRADE_NO_CREATE_PAY": Status.UNKNOWN,  # no payment yet: not a parcel (skipped)
    "WAIT_BUYER_PAY": Status.UNKNOWN,  # awaiting payment (skipped)
    "PAY_PENDING": Status.UNKNOWN,  # card payment being confirmed (skipped)
    "WAIT_PRE_AUTH_CONFIRM": Status.UNKNOWN,  # 0-yuan pre-authorised contract (skipped)
    "WAIT_SELLER_SEND_GOODS": Status.AWAITING_SHIPMENT,
    "PAID_FORBID_CONSIGN": Status.AWAITING_SHIPMENT,  # paid, shipping held (group buy)
    "SELLER_CONSIGNED_PART": Status.INFO_RECEIVED,
    "WAIT_BUYER_CONFIRM_GOODS": Status.INFO_RECEIVED,
    "TRADE_BUYER_SIGNED": Status.DELIVERED,  # signed for (cash on delivery only)
    "TRADE_FINISHED": Status.DELIVERED,
    "TRADE_CLOSED": Status.CANCELLED,  # refunded after payment
    "TRADE_CLOSED_BY_TAOBAO": Status.CANCELLED,  # closed before payment
}
UNPAID = frozenset({"TRADE_NO_CREATE_PAY", "WAIT_BUYER_PAY", "PAY_PENDING",
                    "WAIT_PRE_AUTH_CONFIRM"})
#: Trades that have a waybill, so its trace is asked for.
SHIPPED = frozenset({"SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS",
                     "TRADE_BUYER_SIGNED", "TRADE_FINISHED"})

#: Trace summary ``status`` [JSDK lists these ten texts; META-TRACE: "订单的物流状态"].
#: "对方已签收" means delivery only for waybills sent with ``online.send``; offline.send ones
#: say it as soon as they ship [META-TRACE description]. Nothing in a trade tells the two
#: apart, so the provider takes it only when the trace's own steps end in a signature.
TRACE_STATUS: dict[str, Status] = {
    "等候发送给物流公司": Status.INFO_RECEIVED,
    "已提交给物流公司,等待物流公司接单": Status.INFO_RECEIVED,  # ASCII comma, as in JSDK
    "已经确认消息接收，等待物流公司接单": Status.INFO_RECEIVED,
    "物流公司已接单": Status.INFO_RECEIVED,
    "物流公司不接单": Status.EXCEPTION,
    "物流公司揽收失败": Status.EXCEPTION,
    "物流公司揽收成功": Status.IN_TRANSIT,
    "签收失败": Status.EXCEPTION,
    "对方已签收": Status.DELIVERED,  # online.send only (see above)
    "对方拒绝签收": Status.EXCEPTION,  # refused: DESIGN's exception
}
#: Summary texts that claim delivery and need the steps to agree.
CLAIMS_DELIVERY = frozenset({"对方已签收"})

#: Trace step ``action`` -> status. ARRIVE is the sheet's example [SHEET §6]; the rest are
#: [T4] (third-party evidence; STA_SIGN = signed for by a station, waiting for pickup).
ACTION_STATUS: dict[str, Status] = {
    "ARRIVE": Status.IN_TRANSIT,
    "CONSIGN": Status.INFO_RECEIVED,
    "GOT": Status.IN_TRANSIT,
    "ARRIVAL": Status.IN_TRANSIT,
    "DEPARTURE": Status.IN_TRANSIT,
    "SENT_SCAN": Status.OUT_FOR_DELIVERY,
    "SIGNED": Status.DELIVERED,
    "TMS_SIGN": Status.DELIVERED,
    "STA_SIGN": Status.READY_FOR_PICKUP,
    "FAILED": Status.EXCEPTION,
}

#: ``company_name`` / ``logistics_company`` -> carrier code (kuaidi100 vocabulary) [GUESS:
#: constructed crosswalk].
COMPANY_CARRIERS: dict[str, str] = {
    "中通快递": "zhongtong", "圆通速递": "yuantong", "申通快递": "shentong",
    "韵达快递": "yunda", "顺丰速运": "shunfeng", "极兔速递": "jtexpress", "京东快递": "jd",
    "邮政快递包裹": "youzhengguonei", "EMS": "ems", "德邦快递": "debangwuliu",
    "百世快递": "huitongkuaidi",
}

#: TOP platform error codes -> kind. 11 (insufficient ISV permissions) is in errata T1; the
#: others are the best-known TOP codes [GUESS]. 21 and 50 [SHEET] and 22 (Invalid Method,
#: errata T1) have their own messages in protocol.py.
ERROR_KINDS: dict[str, str] = {
    "7": "throttle", "11": "permission", "12": "permission", "24": "auth", "25": "auth",
    "26": "session", "27": "session", "28": "auth", "29": "auth",
}

#: What a ``company_carriers`` value may be: a kuaidi100-style code ("" = no carrier).
CARRIER_CODE = re.compile(r"[a-z0-9_-]{0,40}")


def with_statuses(key: str, builtin: Mapping[str, Status], entries: Mapping[Any, Any], *,
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


def with_carriers(entries: Mapping[Any, Any]) -> dict[str, str]:
    """COMPANY_CARRIERS with the ``company_carriers`` table applied."""
    table = dict(COMPANY_CARRIERS)
    for company, value in entries.items():
        code = value.strip().lower() if isinstance(value, str) else None
        if code is None or not CARRIER_CODE.fullmatch(code):
            raise ConfigError(f"company_carriers.{company}: {value!r} is not a carrier code",
                              provider=NAME, hint="use a kuaidi100 code such as zhongtong, "
                              'or "" for none')
        table[str(company)] = code
    return table
