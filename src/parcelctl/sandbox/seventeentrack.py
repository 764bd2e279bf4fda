"""Simulated 17TRACK Tracking API v2.2 (fact sheet: protocols/17track.md).

Mounted at ``/17track``; the API lives below ``/17track/track/v2.2/``. Implemented from the
sheet, independently of the provider: ``17token`` header check (HTTP 401 + ``-18010002``
envelope), JSON array bodies of at most 40 items (``-18010014``), per-item number format
(5–50 of ``[A-Za-z0-9-]``, else rejected ``-18010012``), registration state (``-18019901``
already registered, ``-18019902`` not registered), ``-18019909`` for numbers the dataset does
not know, 3 requests/second with the documented 429 body.

Marked as sandbox-only plausible behaviour (the sheet says UNKNOWN, providers must not
depend on it): the integer carrier codes given to Chinese domestic carriers (``99xxxx``
placeholders), registering numbers no carrier knows under carrier ``0``, and the
hand-over of cross-border parcels into two tracking providers at the customs event.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .base import Request, Response, Service, json_response
from .dataset import Event, Shipment

API_PREFIX = "/track/v2.2/"
TOKEN = "sandbox-17track-0f3c9a5e7b2d4c61"  # noqa: S105 - printed by `sandbox serve`
MAX_ITEMS = 40
BEIJING = timezone(timedelta(hours=8))
_NUMBER = re.compile(r"^[A-Za-z0-9-]{5,50}$")

#: dataset stage -> (latest_status.status, sub_status, event ``stage`` or None).
STAGES: dict[str, tuple[str, str, str | None]] = {
    "accepted": ("InfoReceived", "InfoReceived", "InfoReceived"),
    "picked_up": ("InTransit", "InTransit_PickedUp", "PickedUp"),
    "in_transit": ("InTransit", "InTransit_Departure", None),
    "customs": ("InTransit", "InTransit_CustomsProcessing", "InTransit_CustomsProcessing"),
    "customs_failed": ("Exception", "Exception_Other", "Exception_Other"),
    "arrived_city": ("InTransit", "InTransit_Arrival", "Arrival"),
    "out_for_delivery": ("OutForDelivery", "OutForDelivery_Other", "OutForDelivery"),
    "at_station": ("AvailableForPickup", "AvailableForPickup_Other", "AvailableForPickup"),
    "delivered": ("Delivered", "Delivered_Other", "Delivered"),
    "delivered_station": ("Delivered", "Delivered_Other", "Delivered"),
    "failed_attempt": ("DeliveryFailure", "DeliveryFailure_NoBody", "DeliveryFailure_NoBody"),
    "problem": ("Exception", "Exception_Other", "Exception_Other"),
    "returning": ("Exception", "Exception_Returning", "Returning"),
    "returned": ("Exception", "Exception_Returned", "Returned"),
    "refused": ("Exception", "Exception_Rejected", "Exception_Rejected"),
    "cancelled": ("Exception", "Exception_Cancel", "Exception_Cancel"),
}
MILESTONES = ("InfoReceived", "PickedUp", "Departure", "Arrival", "AvailableForPickup",
              "OutForDelivery", "Delivered", "Returning", "Returned")

#: The codes the sheet knows, then placeholders for domestic carriers (real ones UNKNOWN).
CARRIER_CODES: dict[str, int] = {
    "youzhengguoji": 3011, "dhl": 100001, "ups": 100002, "fedex": 100003,
    "usps": 21051, "yuantong": 990001, "shunfeng": 990002, "shentong": 990003,
    "yunda": 990004, "jtexpress": 990005, "debangwuliu": 990006, "jd": 990007,
    "cainiao": 990008, "huitongkuaidi": 990009, "youzhengguonei": 990010,
    "zhongtong": 990011, "ems": 990012,
}
#: Placeholder code of the destination postal operator after a cross-border hand-over.
DESTINATION_CARRIER = 990999

#: Whole-call errors (sheet §5 wording); auth-class ones come with HTTP 401 (sheet: HTTP).
MESSAGES: dict[int, str] = {
    -18010001: "The IP address is not in the whitelist.",
    -18010002: "Invalid security key.",
    -18010003: "Internal service error.",
    -18010004: "The account is disabled.",
    -18010005: "Unauthorized access.",
    -18010013: "Submitted data is invalid.",
    -18010014: "The number of submitted items exceeds the limit of 40.",
    -18019907: "The daily limit has been exceeded.",
    -18019908: "The quota has been used up.",
}
AUTH_CODES = frozenset({-18010001, -18010002, -18010004, -18010005})


@dataclass(slots=True)
class Registration:
    carrier: int
    tracking: bool = True


def envelope(code: int, message: str | None = None) -> Response:
    body = {"code": code, "data": {"errors": [
        {"code": code, "message": message or MESSAGES.get(code, "Error.")}]}}
    return json_response(body, 401 if code in AUTH_CODES else 200)


def reject(number: Any, code: int, message: str, tag: Any = None) -> dict[str, Any]:
    return {"number": number, "tag": tag, "error": {"code": code, "message": message}}


def stamp(epoch: datetime, hours: float) -> tuple[str, str]:
    """(time_iso in Beijing time with its offset, time_utc with Z)."""
    when = (epoch + timedelta(hours=hours)).replace(microsecond=0)
    return (when.astimezone(BEIJING).isoformat(),
            when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


class SeventeenTrackService(Service):
    name = "17track"
    rate_limit = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.registered: dict[str, Registration] = {}
        self.quota_total = 10_000
        self.quota_used = 0
        #: Test knob: answer every API call with this whole-call error code (0 = off).
        self.fail_with = 0

    def credentials(self, base_url: str) -> dict[str, str]:
        return {"base_url": base_url + API_PREFIX.rstrip("/"), "token": TOKEN}

    def endpoint(self, request: Request) -> str:
        if request.path.startswith(API_PREFIX):
            return request.path.removeprefix(API_PREFIX)
        return request.path

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "fail_with" in settings:
                self.fail_with = int(settings["fail_with"])
            if "quota_total" in settings:
                self.quota_total = int(settings["quota_total"])
            if settings.get("reset_registrations"):
                self.registered.clear()
                self.quota_used = 0
            return {"fail_with": self.fail_with, "quota_total": self.quota_total,
                    "quota_used": self.quota_used, "registered": len(self.registered)}

    def throttled(self) -> Response:
        return json_response({"code": 429, "data": {"errors": [
            {"code": 429, "message": "Too many requests."}]}}, 429)

    def business_error(self, request: Request) -> Response:
        return envelope(-18019908)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        endpoint = self.endpoint(request)
        handler = {"register": self._register, "gettrackinfo": self._gettrackinfo,
                   "stoptrack": self._stoptrack}.get(endpoint)
        if request.method != "POST" or (handler is None and endpoint != "getquota"):
            return Response(404, b"Not Found", "text/plain")
        if request.headers.get("17token") != TOKEN:
            return envelope(-18010002)
        if self.fail_with:
            return envelope(self.fail_with)
        try:
            body = request.json()
        except ValueError:
            return envelope(-18010013)
        if not isinstance(body, list):
            return envelope(-18010013)
        if handler is None:
            return self._getquota(body)
        if len(body) > MAX_ITEMS:
            return envelope(-18010014)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        with self._lock:
            for item in body:
                problem = self._check_item(item)
                if problem is not None:
                    rejected.append(problem)
                    continue
                answer = handler(item)
                (rejected if "error" in answer else accepted).append(answer)
        return json_response({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    def _check_item(self, item: Any) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            return reject(None, -18010013, "Submitted data is invalid.")
        number, tag = item.get("number"), item.get("tag")
        if number in (None, ""):
            return reject(number, -18010010, "The field 'number' is required.", tag)
        if not isinstance(number, str) or not _NUMBER.match(number):
            return reject(number, -18010012, f"The format of '{number}' is invalid.", tag)
        carrier = item.get("carrier")
        if carrier is not None and (not isinstance(carrier, int) or isinstance(carrier, bool)
                                    or carrier < 0):
            return reject(number, -18010011, "The value of field 'carrier' is invalid.", tag)
        return None

    # -- endpoints --------------------------------------------------------------------------
    def _register(self, item: dict[str, Any]) -> dict[str, Any]:
        number, tag, given = item["number"], item.get("tag"), item.get("carrier")
        if number in self.registered:
            return reject(number, -18019901, f"The number '{number}' is already registered.",
                          tag)
        if self.quota_used >= self.quota_total:
            return reject(number, -18019908, "The quota has been used up.", tag)
        shipment = self.dataset.shipment(number)
        detected = CARRIER_CODES.get(shipment.carrier, 990000) if shipment else 0
        carrier = given or detected
        self.registered[number] = Registration(carrier)
        self.quota_used += 2 if item.get("lang") else 1
        return {"origin": 2 if given else 1, "number": number, "carrier": carrier,
                "email": item.get("email"), "tag": tag, "lang": item.get("lang")}

    def _registration(self, item: dict[str, Any]) -> Registration | None:
        found = self.registered.get(item["number"])
        given = item.get("carrier")
        if found is None or (given and given != found.carrier):
            return None
        return found

    def _gettrackinfo(self, item: dict[str, Any]) -> dict[str, Any]:
        number = item["number"]
        self.stats.record_number(self.name, number)
        registration = self._registration(item)
        if registration is None:
            return reject(number, -18019902, f"The number '{number}' is not registered.")
        shipment = self.dataset.shipment(number)
        if shipment is None:
            return reject(number, -18019909, "No tracking information at this time.")
        return {"number": number, "carrier": registration.carrier, "param": item.get("param"),
                "tag": None, "track_info": self._track_info(shipment, registration.carrier)}

    def _stoptrack(self, item: dict[str, Any]) -> dict[str, Any]:
        number = item["number"]
        registration = self._registration(item)
        if registration is None:
            return reject(number, -18019902, f"The number '{number}' is not registered.")
        if not registration.tracking:
            return reject(number, -18019906, "Only numbers being tracked can be stopped.")
        registration.tracking = False
        return {"number": number, "carrier": registration.carrier}

    def _getquota(self, body: list[Any]) -> Response:
        if body:
            return envelope(-18010013)
        with self._lock:
            used = self.quota_used
        return json_response({"code": 0, "data": {
            "quota_total": self.quota_total, "quota_used": used,
            "quota_remain": max(0, self.quota_total - used), "today_used": used,
            "max_track_daily": 0, "free_email_quota": 0, "free_email_quotaused": 0}})

    # -- track_info -------------------------------------------------------------------------
    def _event(self, event: Event) -> dict[str, Any]:
        time_iso, time_utc = stamp(self.dataset.epoch, event.hours)
        return {"time_iso": time_iso, "time_utc": time_utc, "description": event.text,
                "location": event.location, "stage": STAGES[event.stage][2],
                "address": {"country": "CN", "state": None, "city": event.location or None,
                            "street": None, "postal_code": None,
                            "coordinates": {"longitude": None, "latitude": None}}}

    def _track_info(self, shipment: Shipment, carrier: int) -> dict[str, Any]:
        visible = shipment.visible(self.hours_now())
        newest_first = [self._event(e) for e in reversed(visible)]
        if visible:
            status, sub, _ = STAGES[visible[-1].stage]
        else:
            status, sub = "NotFound", "NotFound_Other"
        groups = [(carrier, newest_first)]
        customs = next((i for i, e in enumerate(visible) if e.stage == "customs"), None)
        if shipment.cross_border and customs is not None:
            # Hand-over: the destination carrier reports from customs on (newest first).
            split = len(visible) - customs
            groups = [(DESTINATION_CARRIER, newest_first[:split]),
                      (carrier, newest_first[split:])]
        reached: dict[str, tuple[str, str]] = {}
        for event in visible:
            stage = STAGES[event.stage][2]
            if stage in MILESTONES and stage not in reached:
                reached[stage] = stamp(self.dataset.epoch, event.hours)
        return {
            "shipping_info": {"shipper_address": {"country": "CN"},
                              "recipient_address": {"country": "CN"}},
            "latest_status": {"status": status, "sub_status": sub, "sub_status_descr": None},
            "latest_event": newest_first[0] if newest_first else None,
            "time_metrics": {"days_after_order": 0, "days_of_transit": 0,
                             "days_of_transit_done": 0, "days_after_last_update": 0,
                             "estimated_delivery_date": {"source": None, "from": None,
                                                         "to": None}},
            "milestone": [{"key_stage": key, "time_iso": reached.get(key, (None, None))[0],
                           "time_utc": reached.get(key, (None, None))[1]}
                          for key in MILESTONES],
            "misc_info": {"risk_factor": 0, "service_type": None, "local_number": "",
                          "local_provider": "", "local_key": 0},
            "tracking": {"providers_hash": _hash(str(groups)), "providers": [
                {"provider": {"key": key, "name": str(key), "alias": shipment.carrier,
                              "tel": None, "homepage": None, "country": "CN"},
                 "service_type": None, "latest_sync_status": "Success",
                 "latest_sync_time": stamp(self.dataset.epoch, self.hours_now())[1],
                 "events_hash": _hash(str(events)), "events": events}
                for key, events in groups if events]},
        }


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)
