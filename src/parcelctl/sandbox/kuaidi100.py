"""Simulated kuaidi100 enterprise API: real-time query and carrier detection.

Implemented from the fact sheet alone (never from provider code), so a provider mistake in
signing or parsing makes a test fail:

* ``POST /poll/query.do`` — form-encoded ``customer``, ``sign``, ``param`` only (anything
  else is returnCode 400); ``sign`` must be ``UPPER(MD5(param + key + customer))`` over the
  received ``param`` (503 otherwise); ``param`` is JSON with ``com`` and ``num``. SF, SF
  Freight and ZTO parcels that have a phone need ``phone`` (full or last 4 digits, else 408).
  Unknown numbers, numbers without a visible event and a ``com`` that is not the parcel's
  carrier answer 500 (no result), like the real service; a ``com`` kuaidi100 does not know
  answers 400 "找不到对应公司" (errata Q1: the usual text, several independent clients).
* ``POST /autonumber/auto`` — ``key`` and ``num`` (form or query string); answers an array
  of candidates from a small prefix table and the dataset; 701/601/201 error objects.

Answers use the ``resultv2`` the client asked for (0/empty basic, 1 names, 4 and up codes).
A parcel put in a locker or station is 501 (投柜或驿站), or 304 when the text says the station
signed for it (代收/暂存: errata Q3, "快件已由快递柜或者驿站签收"); the recipient collecting it
is 301. The top-level ``state`` is the *basic* parent of the newest event's code — the doc allows
either form, and the basic one catches a client that ignores the per-event codes.
No HTTP 429 is documented; ``throttled`` sends 429 with a 502 "服务器繁忙" envelope.
Setting ``{"force_return_code": "502"}`` via ``/_sandbox/service/kuaidi100`` makes every
valid query answer with that documented error envelope (``"201"``: the ``status`` shape).
``{"quota": N}`` leaves N paid queries: every valid query after them answers 601
"查询次数已达上限" (the fact sheet's "no paid quota left"); ``{"quota": null}`` is unlimited.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta, timezone
from typing import Any

from .base import Request, Response, Service, json_response
from .dataset import Event, Shipment

CUSTOMER = "SANDBOX0000CUSTOMER0000000000001"
KEY = "sandboxKuaidi100Key"
_BEIJING = timezone(timedelta(hours=8))

#: Carrier codes this simulator accepts in ``com`` (kuaidi100.md §8, plus Cainiao; errata
#: N1 youzhengguoji, Q4 debangkuaidi, K4 the Kuaishou crosswalk's codes).
KNOWN_COM = frozenset({
    "shunfeng", "zhongtong", "yuantong", "shentong", "yunda", "huitongkuaidi", "ems", "jd",
    "zhaijisong", "jtexpress", "debangwuliu", "youzhengguonei", "shunfengkuaiyun", "cainiao",
    "youzhengguoji", "debangkuaidi", "danniao", "fengwang", "youzhengbk", "zhongtongkuaiyun",
    "yundakuaiyun",
})
#: Carriers whose parcels need ``phone`` (newest realtime doc).
PHONE_COM = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong"})

#: Dataset stage -> (kuaidi100 code, its state name, basic parent state).
STAGE_CODES: dict[str, tuple[str, str, str]] = {
    "accepted": ("102", "待揽收", "1"),
    "picked_up": ("103", "已揽收", "1"),
    "in_transit": ("1002", "干线", "0"),
    "customs": ("11", "清关中", "8"),
    "customs_failed": ("13", "清关异常", "8"),
    "arrived_city": ("1001", "到达派件城市", "0"),
    "out_for_delivery": ("5", "派件", "5"),
    "at_station": ("501", "投柜或驿站", "5"),
    "delivered": ("301", "本人签收", "3"),
    "delivered_station": ("301", "本人签收", "3"),  # collected from the station by the buyer
    "failed_attempt": ("204", "派件异常", "2"),
    "problem": ("2", "疑难", "2"),
    "returning": ("6", "退回", "6"),
    "returned": ("4", "退签", "4"),
    "refused": ("14", "拒签", "14"),
    "cancelled": ("401", "已销单", "4"),
}

#: A station or locker signed for the parcel (errata Q3): kuaidi100's 304, still waiting.
STATION_SIGNED = ("304", "投柜或站签收", "3")
_STATION_SIGNED_WORDS = ("代收", "暂存")


def stage_code(event: Event) -> tuple[str, str, str]:
    """(code, state name, basic state) of one event."""
    if event.stage == "at_station" and any(w in event.text for w in _STATION_SIGNED_WORDS):
        return STATION_SIGNED
    return STAGE_CODES[event.stage]


#: Documented shape-A error messages (kuaidi100.md §2.6).
ERRORS: dict[str, str] = {
    "400": "提交的数据不完整，或者贵公司没授权",
    "408": "快递公司参数异常：验证码错误",
    "500": "查询无结果，请隔段时间再查",
    "501": "服务器错误",
    "502": "服务器繁忙",
    "503": "验证签名失败",
    "601": "POLL:KEY已过期",
}

#: Tiny stand-in for kuaidi100's prefix statistics: (prefix, length or 0, code, name).
_PREFIXES: tuple[tuple[str, int, str, str], ...] = (
    ("SF", 15, "shunfeng", "顺丰速运"), ("JT", 15, "jtexpress", "极兔速递"),
    ("YT", 15, "yuantong", "圆通速递"), ("DPK", 15, "debangwuliu", "德邦快递"),
    ("JD", 15, "jd", "京东物流"), ("77", 15, "shentong", "申通快递"),
    ("LP", 0, "cainiao", "菜鸟"), ("7", 14, "zhongtong", "中通快递"),
    ("5", 14, "huitongkuaidi", "百世快递"), ("1", 13, "youzhengguonei", "邮政快递包裹"),
    ("1", 13, "ems", "EMS"), ("3", 13, "yunda", "韵达快递"),
)
_NAMES = {code: name for _, _, code, name in _PREFIXES}


def _error(code: str) -> Response:
    return json_response({"result": False, "returnCode": code, "message": ERRORS[code]})


def _md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324 - protocol


class Kuaidi100Service(Service):
    name = "kuaidi100"
    rate_limit = None  # no per-second limit is documented

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.force_return_code: str | None = None
        self.quota: int | None = None  # paid queries left; None = unlimited
        self._lock = threading.Lock()  # requests are served on many threads

    def credentials(self, base_url: str) -> dict[str, str]:
        return {"base_url": base_url, "autonumber_url": base_url + "/autonumber/auto",
                "customer": CUSTOMER, "key": KEY}

    def endpoint(self, request: Request) -> str:
        return {"/poll/query.do": "query", "/autonumber/auto": "autonumber"}.get(
            request.path, request.path)

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        if "force_return_code" in settings:
            code = settings["force_return_code"]
            self.force_return_code = str(code) if code is not None else None
        if "quota" in settings:
            self.quota = None if settings["quota"] is None else int(settings["quota"])
        return {"force_return_code": self.force_return_code, "quota": self.quota}

    def throttled(self) -> Response:
        return json_response({"result": False, "returnCode": "502", "message": ERRORS["502"]},
                             429)

    def business_error(self, request: Request) -> Response:
        return _error("601")

    def handle(self, request: Request) -> Response:
        if request.path == "/poll/query.do" and request.method == "POST":
            return self._query(request)
        if request.path == "/autonumber/auto":
            return self._autonumber(request)
        return json_response({"status": 404, "error": "Not Found"}, 404)

    # -- real-time query ----------------------------------------------------------------
    def _query(self, request: Request) -> Response:
        form = request.form  # empty unless the body is form-encoded, as the real API requires
        customer, given_sign, param = (form.get(k, "") for k in ("customer", "sign", "param"))
        if not customer or not param or customer != CUSTOMER:
            return _error("400")
        if given_sign != _md5_upper(param + KEY + customer):
            return _error("503")
        try:
            fields = json.loads(param)
        except ValueError:
            return _error("400")
        if not isinstance(fields, dict):
            return _error("400")
        com, num = (str(fields.get(k) or "").strip() for k in ("com", "num"))
        if not com or not num:
            return _error("400")
        if com not in KNOWN_COM:
            return json_response({"result": False, "returnCode": "400",
                                  "message": "找不到对应公司"})
        if not 6 <= len(num) <= 32:
            return _error("501")  # off-spec parameters are answered as a server error
        self.stats.record_number(self.name, num)
        if self.quota is not None:
            with self._lock:
                spent = self.quota <= 0
                self.quota = max(0, self.quota - 1)
            if spent:
                return json_response({"result": False, "returnCode": "601",
                                      "message": "查询次数已达上限"})
        if self.force_return_code is not None:
            return self._forced(self.force_return_code)
        shipment = self.dataset.shipment(num)
        if shipment is None or shipment.carrier != com:
            return _error("500")
        events = shipment.visible(self.hours_now())
        if not events:
            return _error("500")
        if com in PHONE_COM and shipment.phone and not _phone_ok(
                str(fields.get("phone") or ""), shipment.phone):
            return _error("408")
        return json_response(self._answer(shipment, events, str(fields.get("resultv2") or "")))

    def _forced(self, code: str) -> Response:
        if code == "201":
            return json_response({"message": "快递公司参数异常：单号不存在或者已经过期", "nu": "",
                                  "ischeck": "0", "condition": "", "com": "",
                                  "status": "201", "state": "0", "data": []})
        return json_response({"result": False, "returnCode": code,
                              "message": ERRORS.get(code, "未知错误")})

    def _answer(self, shipment: Shipment, events: list[Event], resultv2: str) -> dict[str, Any]:
        newest_first = sorted(events, key=lambda e: e.hours, reverse=True)
        data = [self._event(e, resultv2) for e in newest_first]
        basic = stage_code(newest_first[0])[2]
        answer: dict[str, Any] = {
            "message": "ok", "nu": shipment.number, "ischeck": "1" if basic == "3" else "0",
            "condition": "F00", "com": shipment.carrier, "status": "200", "state": basic,
            "data": data,
        }
        if resultv2 not in ("", "0", "1"):
            answer["routeInfo"] = {
                "from": {"number": None, "name": newest_first[-1].location},
                "cur": {"number": None, "name": newest_first[0].location}, "to": None}
            answer["isLoop"] = False
        return answer

    def _event(self, event: Event, resultv2: str) -> dict[str, Any]:
        when = (self.dataset.epoch + timedelta(hours=event.hours)).astimezone(_BEIJING)
        text = when.strftime("%Y-%m-%d %H:%M:%S")
        item: dict[str, Any] = {"time": text, "ftime": text, "context": event.text,
                                "location": ""}
        if resultv2 in ("", "0"):
            return item
        code, name, _ = stage_code(event)
        item |= {"areaCode": None, "areaName": event.location or None, "status": name}
        if resultv2 != "1":
            item |= {"statusCode": code, "areaCenter": None, "areaPinYin": None}
        return item

    # -- carrier detection --------------------------------------------------------------
    def _autonumber(self, request: Request) -> Response:
        params = request.params  # the java demo sends a query string, the python demo a form
        key, num = params.get("key", ""), params.get("num", "").strip().upper()
        if not key:
            return json_response({"returnCode": "701", "message": "POLL: KEY 缺失",
                                  "result": False})
        if key != KEY:
            return json_response({"returnCode": "601", "message": "POLL: KEY 已过期",
                                  "result": False})
        if not (5 <= len(num) <= 40 and num.isalnum() and num.isascii()):
            return json_response({"returnCode": "201", "message": "不是有效的快递单号",
                                  "result": False})
        codes = [code for prefix, length, code, _ in _PREFIXES
                 if num.startswith(prefix) and length in (0, len(num))]
        known = self.dataset.shipments.get(num)
        if known is not None:
            codes.insert(0, known.carrier)
        elif not codes and num.isdigit():
            synthetic = self.dataset.shipment(num)
            codes = [synthetic.carrier] if synthetic is not None else []
        unique = list(dict.fromkeys(codes))
        return json_response([{"lengthPre": len(num), "comCode": code,
                               "name": _NAMES.get(code, code), "noPre": num[:6]}
                              for code in unique])


def _phone_ok(given: str, phone: str) -> bool:
    given = "".join(ch for ch in given if ch.isdigit())
    return given in (phone, phone[-4:])
