"""Kuaidi100 (快递100) enterprise API: real-time query and carrier detection.

Protocol (fact sheet kuaidi100.md): form POST ``{base_url}/poll/query.do`` with
``customer``, ``param`` (a JSON string) and ``sign = UPPER(MD5(param + key + customer))``
over the exact ``param`` bytes sent; carrier detection is a form POST of ``key`` and ``num``
to ``autonumber_url``. One number per call; the same number must not be queried more often
than every 30 minutes or kuaidi100 locks it (``min_interval_minutes``).

Where the documentation is unclear, behaviour is configuration, not a guess:

* ``phone_carriers``: the carriers that need ``phone`` — the doc versions disagree (SF,
  SF Freight, ZTO in the newest one; Fengwang elsewhere, whose ``com`` code is unknown).
* ``resultv2``: the response detail mode; "4" adds per-event advanced state codes.
* the per-second rate limit is undocumented: no client-side cap beyond the per-number interval.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from ...errors import ConfigError, PhoneRequired, UsageError
from ...http import json_body
from ...models import CarrierCandidate, TrackRequest, TrackResult
from ..base import ConfigKey, TrackingProvider, as_str
from .parse import parse_autonumber, parse_query
from .protocol import MAX_NUMBER, MIN_NUMBER, NAME, _item_error, _phone_hint, build_param, sign
from .tables import (
    BASIC_STATES,
    CARRIER_400_TEXTS,
    RETURNING_STATES,
    STATE_NAMES,
    STATE_STATUS,
)

__all__ = [
    "BASIC_STATES", "CARRIER_400_TEXTS", "MAX_NUMBER", "MIN_NUMBER", "NAME",
    "RETURNING_STATES", "STATE_NAMES", "STATE_STATUS", "Kuaidi100Provider", "build_param",
    "parse_autonumber", "parse_query", "sign",
]


class Kuaidi100Provider(TrackingProvider):
    """Track by (carrier, number) through kuaidi100's real-time query."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Kuaidi100 快递100"
    description: ClassVar[str] = "real-time query by carrier code and number (paid API)"
    capabilities: ClassVar[tuple[str, ...]] = ("track", "detect_carrier")
    rate_per_second: ClassVar[float | None] = None  # undocumented (kuaidi100.md §4)
    batch_size: ClassVar[int] = 1
    min_interval_minutes: ClassVar[int] = 30
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("customer", "company id (授权码) from the kuaidi100 console", required=True),
        ConfigKey("key", "API key from the kuaidi100 console", secret=True, required=True),
        ConfigKey("base_url", "query API host", default="https://poll.kuaidi100.com"),
        ConfigKey("autonumber_url", "carrier detection endpoint",
                  default="https://www.kuaidi100.com/autonumber/auto"),
        ConfigKey("phone", "default phone (or its last 4 digits) for carriers that need one"),
        ConfigKey("phone_carriers", "carrier codes that need a phone (docs disagree)",
                  default=["shunfeng", "shunfengkuaiyun", "zhongtong"]),
        ConfigKey("resultv2", "response detail mode (4 = per-event state codes)", default="4"),
        ConfigKey("min_interval_minutes", "query one number at most this often (kuaidi100 "
                  "locks numbers queried more often than every 30 minutes)", default=30,
                  maximum=43_200),
    )

    def _phone_carriers(self) -> set[str]:
        value = self.settings.get("phone_carriers") or []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return set()
        return {str(item).strip().lower() for item in items if str(item).strip()}

    def _phone(self, req: TrackRequest) -> str:
        return (req.phone or as_str(self.settings.get("phone"))).strip()

    def check_request(self, request: TrackRequest) -> None:
        # Only PhoneRequired here: sync treats anything else from this hook as a failure of
        # the whole provider, while a missing carrier is one parcel's problem (see track()).
        carrier = request.carrier.strip().lower()
        if carrier in self._phone_carriers() and not self._phone(request):
            raise PhoneRequired(f"{request.number}: {carrier} needs the sender's or "
                                "receiver's phone (the last 4 digits are enough)",
                                provider=NAME, hint=_phone_hint(request.number))

    async def track(self, requests: Sequence[TrackRequest]) -> list[TrackResult]:
        return [await self._track_one(req) for req in requests]

    async def _track_one(self, req: TrackRequest) -> TrackResult:
        carrier = req.carrier.strip().lower()
        if not carrier:  # the caller detects carriers first; kuaidi100 cannot without `com`
            return _item_error(req.number, carrier, UsageError(
                f"{req.number}: kuaidi100 needs the carrier code",
                hint=f"run: parcelctl add {req.number} --carrier CODE (e.g. yuantong)"))
        if not MIN_NUMBER <= len(req.number) <= MAX_NUMBER:
            # Off-spec numbers are answered 501 and cost a query (kuaidi100.md §2.2).
            return _item_error(req.number, carrier, UsageError(
                f"{req.number}: kuaidi100 takes numbers of {MIN_NUMBER} to {MAX_NUMBER} "
                f"characters", hint=f"check the number; parcelctl rm {req.number} removes it"))
        try:
            self.check_request(req)
        except PhoneRequired as exc:
            return _item_error(req.number, carrier, exc)
        customer, key = self.require("customer"), self.require("key")
        param = build_param(replace(req, carrier=carrier, phone=self._phone(req) or None),
                            as_str(self.settings.get("resultv2")))
        # After a read timeout or a dropped connection the query may have been served (and
        # billed) without us seeing the answer, and the same number asked again seconds
        # later is what gets it locked (锁单, §4: at most once per 30 minutes): that one
        # waits for a later sync. An error answer (5xx) or a refused connection served
        # nothing and is retried with backoff as usual.
        response = await self.http.request(
            "POST", self.url("base_url") + "/poll/query.do",
            data={"customer": customer, "sign": sign(param, key, customer), "param": param},
            resend_unanswered=False,
        )
        self._check_http(response.status_code, "base_url")
        return parse_query(json_body(response, NAME), req.number, carrier)

    async def detect_carrier(self, number: str) -> list[CarrierCandidate]:
        key = as_str(self.settings.get("key"))
        if not key:
            return []  # detection is a paid service; without a key we simply do not know
        response = await self.http.request("POST", self.url("autonumber_url"),
                                           data={"key": key, "num": number})
        self._check_http(response.status_code, "autonumber_url")
        return parse_autonumber(json_body(response, NAME))

    def _check_http(self, status: int, url_key: str) -> None:
        if status in (404, 405):
            raise ConfigError(f"the endpoint answered HTTP {status}", provider=NAME,
                              hint=f"check providers.{NAME}.{url_key}")
