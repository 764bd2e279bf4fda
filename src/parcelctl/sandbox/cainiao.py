"""Simulated Cainiao global detail endpoint (``global.cainiao.com/global/detail.json``).

Implemented from the fact sheet alone (never from provider code). The real endpoint is
unofficial and undocumented, so much of its behaviour is UNKNOWN; where this simulator has
to answer anyway, the answer is marked as constructed and is configurable:

* ``GET /global/detail.json?mailNos=a,b&lang=..&language=..`` answers
  ``{"success": true, "module": [...]}`` with one entry per number in request order,
  events newest first: ``time`` (epoch ms), ``timeStr`` (the same instant as a UTC+8 wall
  clock, whatever ``timeZone`` says — as in real payloads), ``timeZone`` (a mix of
  ``GMT+8``, blank and other zones), ``actionCode``, ``standerdDesc``, ``desc``.
* Unknown numbers, and numbers without a visible scan yet, get the verbatim "unknown number"
  entry ``{"mailNo", "mailNoSource": "EXTERNAL", "detailList": []}``.
* Validation: GET only; ``mailNos`` required; at most ``max_batch`` numbers (real limit
  UNKNOWN; default 10, what other clients send); ``lang`` required when ``require_lang``
  (every known client sends it; what the real service does without it is UNKNOWN). Failures
  answer a ``success: false`` envelope whose fields are UNKNOWN (``errorCode``/``errorMsg``
  are another client's guess).
* No rate limit is documented (``rate_limit = None``); ``configure({"rate_limit": r})`` sets
  one (fractional rates allowed, e.g. 0.5 = one request per 2 s). Its HTTP 429 answer is
  constructed: the real throttling answer is UNKNOWN.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from .base import Request, Response, Service, SlidingWindow, html_response, json_response
from .dataset import Event, Shipment

_UTC8 = timezone(timedelta(hours=8))

#: Dataset stage -> Cainiao actionCodes (cainiao.md §3); the code is chosen per event so
#: that the whole table gets exercised across parcels.
STAGE_CODES: dict[str, tuple[str, ...]] = {
    "accepted": ("PRE_READY_TO_SHIP", "CONSIGN", "GWMS_ACCEPT", "GWMS_PACKAGE"),
    "picked_up": ("PU_PICKUP_SUCCESS", "PU_PRE_PICKUP_SUCCESS", "GWMS_OUTBOUND"),
    "in_transit": ("SC_INBOUND_SUCCESS", "SC_OUTBOUND_SUCCESS", "CW_INBOUND", "CW_OUTBOUND",
                   "CW_COMMON_PROCESSING1", "SC_TRANS_INBOUND_SUCCESS",
                   "SC_TRANS_OUTBOUND_SUCCESS", "LH_HO_IN_SUCCESS", "LH_HO_AIRLINE",
                   "LH_DEPART", "LH_ARRIVE", "LH_BIGBAG_SHELVE", "LH_POST_COLLECTION",
                   "COMMON_INTRANSIT", "TD_TRANSWH_OUTBOUND", "TD_TRANS_DEPART_C",
                   "TD_TRANS_ARRIVE_C", "TD_TRANS_ARRIVE_DCP", "TD_TRANS_DEPART",
                   "TD_TRANS_ARRIVE"),
    "customs": ("CC_EX_START", "CC_EX_SUCCESS", "CC_HO_IN_SUCCESS", "CC_IM_START",
                "CC_IM_SUCCESS", "CC_HO_OUT_SUCCESS"),
    "customs_failed": ("CC_IM_EXCEPTION", "CC_IM_FAILURE"),
    "arrived_city": ("GTMS_ACCEPT", "GTMS_SC_ARRIVE", "GTMS_SC_DEPART", "GTMS_OE_DEPART",
                     "LAST_MILE_ASN_NOTIFY", "GTMS_DO_ARRIVE", "GTMS_STATION_OUT"),
    "out_for_delivery": ("GTMS_DO_DEPART",),
    "at_station": ("GSTA_INBOUND", "GSTA_INFORM_BUYER", "GTMS_WAIT_SELF_PICK",
                   "GTMS_STA_SIGNED"),
    "delivered": ("GTMS_SIGNED",),
    "delivered_station": ("GTMS_SIGNED",),  # the recipient collected it from the station
    "failed_attempt": ("GTMS_DEL_FAILURE",),
    "problem": ("EXCEPTION", "GTMS_STA_SIGN_FAILURE"),
    # No refusal code is known; a failed delivery is the nearest documented one.
    "refused": ("GTMS_DEL_FAILURE",),
    # UNKNOWN: Cainiao's return and cancellation codes are not in any source. These are
    # plausible constructed codes; a client must map them to "unknown", not guess.
    "returning": ("RETURN_TO_SENDER",),
    "returned": ("RETURN_SIGNED_BY_SENDER",),
    "cancelled": ("ORDER_CANCELLED",),
}

#: standerdDesc per code: real glosses where the sheet marks them (*), else from the name.
STANDARD_TEXT: dict[str, str] = {
    "PU_PICKUP_SUCCESS": "Received by logistics company",
    "SC_INBOUND_SUCCESS": "Processing at sorting center",
    "SC_OUTBOUND_SUCCESS": "Departed from sorting center",
    "LH_ARRIVE": "Arrived at linehaul office",
    "LH_POST_COLLECTION": "Accepted by postal service",
    "COMMON_INTRANSIT": "Shipment on the way",
    "CC_IM_SUCCESS": "Import customs clearance complete",
    "CC_HO_OUT_SUCCESS": "Departed from customs",
    "GTMS_OE_DEPART": "Carrier update",
    "GTMS_DO_DEPART": "Out for delivery",
    "GTMS_SIGNED": "Package delivered",
    "GSTA_INFORM_BUYER": "Ready for pickup",
    "GTMS_DEL_FAILURE": "Delivery failed",
}

#: Entry ``status`` token of the newest stage. Only DELIVERED and CLEAR_CUSTOMS were seen in
#: real payloads; the others are constructed (the vocabulary is UNKNOWN).
STAGE_SUMMARY: dict[str, tuple[str, str]] = {
    "delivered": ("DELIVERED", "Delivered"),
    "delivered_station": ("DELIVERED", "Delivered"),
    "customs": ("CLEAR_CUSTOMS", "In customs "),  # trailing space as sent
    "customs_failed": ("CLEAR_CUSTOMS", "In customs "),
}
_DEFAULT_SUMMARY = ("SHIPPING", "In transit")  # constructed

_CROSS_BORDER_ZONES = ("GMT+8", "", "GMT+08:00", "GMT+2", "GMT-3", "GMT+3")
_DOMESTIC_ZONES = ("GMT+8", "", "GMT+08:00")


def _seed(number: str) -> int:
    return int(hashlib.sha256(number.encode()).hexdigest()[:8], 16)


def _failure(code: str, message: str) -> Response:
    # Shape UNKNOWN: ha-cainiao reads errorCode/errorMsg; HTTP 200 like the success answer.
    return json_response({"success": False, "errorCode": code, "errorMsg": message})


class _Window(SlidingWindow):
    """A sliding window that also expresses rates below 1/s (0.5 = one per 2 s)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.span = max(1.0, 1.0 / rate)
        self.capacity = max(1.0, rate * self.span)

    def allow(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._hits and now - self._hits[0] >= self.span:
                self._hits.popleft()
            if len(self._hits) >= self.capacity:
                return False
            self._hits.append(now)
            return True


class CainiaoService(Service):
    name = "cainiao"
    rate_limit = None  # undocumented; see configure()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_batch: int | None = 10
        self.require_lang = True

    def credentials(self, base_url: str) -> dict[str, str]:
        return {"base_url": base_url}  # keyless

    def endpoint(self, request: Request) -> str:
        return "detail" if request.path == "/global/detail.json" else request.path

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        if "rate_limit" in settings:
            rate = settings["rate_limit"]
            self.rate_limit = float(rate) if rate else None
            self.window = _Window(self.rate_limit) if self.rate_limit else None
        if "max_batch" in settings:
            self.max_batch = int(settings["max_batch"]) if settings["max_batch"] else None
        if "require_lang" in settings:
            self.require_lang = bool(settings["require_lang"])
        return {"rate_limit": self.rate_limit, "max_batch": self.max_batch,
                "require_lang": self.require_lang}

    def throttled(self) -> Response:
        # Constructed: how Alibaba throttles this endpoint is UNKNOWN (soft bans reported).
        return json_response({"success": False, "errorCode": "TOO_MANY_REQUESTS",
                              "errorMsg": "unusual traffic, try again later"}, 429)

    def business_error(self, request: Request) -> Response:
        return _failure("SYSTEM_ERROR", "system busy, please try again later")

    def handle(self, request: Request) -> Response:
        if request.path != "/global/detail.json":
            return html_response("<html><body><h1>404 Not Found</h1></body></html>", 404)
        if request.method != "GET":
            return html_response("<html><body><h1>405 Method Not Allowed</h1></body></html>",
                                 405)
        numbers = [n.strip() for n in request.query.get("mailNos", "").split(",") if n.strip()]
        if not numbers:
            return _failure("PARAM_ERROR", "mailNos is required")
        if self.max_batch is not None and len(numbers) > self.max_batch:
            return _failure("PARAM_ERROR", f"at most {self.max_batch} mailNos per request")
        if self.require_lang and not request.query.get("lang"):
            return _failure("PARAM_ERROR", "lang is required")
        module = []
        for number in numbers:
            self.stats.record_number(self.name, number)
            module.append(self._entry(number))
        return json_response({"module": module, "success": True})

    def _entry(self, number: str) -> dict[str, Any]:
        shipment = self.dataset.shipment(number)
        visible = shipment.visible(self.hours_now()) if shipment is not None else []
        if shipment is None or not visible:
            return {"mailNo": number, "mailNoSource": "EXTERNAL", "detailList": []}
        seed = _seed(number)
        index = {id(e): i for i, e in enumerate(shipment.events)}  # stable as time passes
        events = [self._event(shipment, e, seed + index[id(e)])
                  for e in sorted(visible, key=lambda e: e.hours, reverse=True)]
        newest = max(visible, key=lambda e: e.hours)
        status, status_desc = STAGE_SUMMARY.get(newest.stage, _DEFAULT_SUMMARY)
        entry: dict[str, Any] = {
            "mailNo": number,
            "mailNoSource": "AE" if shipment.cross_border else "EXTERNAL",
            "status": status, "statusDesc": status_desc,
            "originCountry": "Mainland China",
            "destCountry": "Belgium" if shipment.cross_border else "Mainland China",
            "latestTrace": dict(events[0]),
            "globalCombinedLogisticsTraceDTO": dict(events[0]),
            "detailList": events,
            "daysNumber": f"{max(1, int((newest.hours - visible[0].hours) / 24))}\tday(s)",
        }
        if shipment.cross_border and any(e.stage == "arrived_city" for e in visible):
            last_mile = f"RC{seed % 10**9:09d}BE"
            entry["realMailNo"] = f"Latest Tracking Number:\t{last_mile}"
            entry["copyRealMailNo"] = last_mile
        return entry

    def _event(self, shipment: Shipment, event: Event, pick: int) -> dict[str, Any]:
        codes = STAGE_CODES[event.stage]
        code = codes[pick % len(codes)]
        zones = _CROSS_BORDER_ZONES if shipment.cross_border else _DOMESTIC_ZONES
        when: datetime = self.dataset.epoch + timedelta(hours=event.hours)
        return {
            "time": round(when.timestamp() * 1000),
            # Real payloads render timeStr in UTC+8 even when timeZone names another zone.
            "timeStr": when.astimezone(_UTC8).strftime("%Y-%m-%d %H:%M:%S"),
            "timeZone": zones[pick % len(zones)],
            "actionCode": code,
            "standerdDesc": STANDARD_TEXT.get(code, code.replace("_", " ").capitalize()),
            "desc": event.text,
            "descTitle": "Carrier note:",
        }
