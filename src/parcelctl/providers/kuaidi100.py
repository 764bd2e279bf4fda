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

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from ..errors import (
    AuthError,
    ConfigError,
    ParcelctlError,
    PhoneRequired,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    TransientError,
    UsageError,
)
from ..http import json_body
from ..models import CHINA_TZ, CarrierCandidate, Status, TrackingEvent, TrackRequest, TrackResult
from ..pickup import extract_pickup_codes
from .base import ConfigKey, TrackingProvider, as_str, expect_dict, expect_list, map_status

NAME = "kuaidi100"

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

_KEY_HINT = f"check providers.{NAME}.key and providers.{NAME}.customer (parcelctl config show)"


def _phone_hint(number: str) -> str:
    return (f"run: parcelctl add {number} --phone LAST4 "
            f"(or: parcelctl config set providers.{NAME}.phone LAST4)")


def sign(param: str, key: str, customer: str) -> str:
    """``UPPER(hex(MD5(param + key + customer)))`` over UTF-8 (kuaidi100.md §2.3)."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()  # noqa: S324


def build_param(req: TrackRequest, resultv2: str) -> str:
    """The exact ``param`` string that is signed and sent (compact JSON, fixed key order)."""
    fields: dict[str, str] = {"com": req.carrier.strip().lower(), "num": req.number}
    if req.phone:
        fields["phone"] = req.phone.strip()
    if resultv2:
        fields["resultv2"] = resultv2
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _parse_time(value: str) -> datetime:
    try:
        # Beijing time without a zone (kuaidi100.md §2.5).
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)
    except ValueError:
        raise ProviderChanged(f"event time {value[:30]!r} is not 'yyyy-MM-dd HH:mm:ss'",
                              provider=NAME) from None


def _event(item: Any) -> TrackingEvent:
    data = expect_dict(item, NAME, "an event in 'data'")
    when = as_str(data.get("time")) or as_str(data.get("ftime"))
    text = data.get("context")
    if not isinstance(text, str | None) or not when:
        raise ProviderChanged("an event has no time or a non-text context", provider=NAME)
    code = as_str(data.get("statusCode")) or STATE_NAMES.get(as_str(data.get("status")), "")
    location = as_str(data.get("location")) or as_str(data.get("areaName"))
    return TrackingEvent(
        time=_parse_time(when),
        description=(text or "").strip(),
        location=location,
        status=map_status(STATE_STATUS, code, NAME) if code else None,
        raw_code=code,
    )


def _item_error(req_number: str, carrier: str, exc: ParcelctlError, code: str = ""
                ) -> TrackResult:
    message = exc.message + (f" — {exc.hint}" if exc.hint else "")
    return TrackResult(req_number, carrier, Status.UNKNOWN, raw_status=code, error=message,
                       error_kind=type(exc).__name__)


def _return_code(payload: dict[str, Any], number: str, carrier: str) -> TrackResult:
    code = as_str(payload.get("returnCode"))
    remote = as_str(payload.get("message"))[:80]
    if code == "400":
        if any(text in remote for text in CARRIER_400_TEXTS):
            return _item_error(number, carrier, UsageError(
                f"kuaidi100 does not support carrier code '{carrier}' ({remote})",
                hint="pass another --carrier CODE"), code)
        raise AuthError(f"request rejected (returnCode 400: {remote})", provider=NAME,
                        hint=f"{_KEY_HINT}; the account must be paid and enabled")
    if code == "408":
        return _item_error(number, carrier, PhoneRequired(
            f"{number}: the carrier needs the sender's or receiver's phone, and the one "
            "sent is missing or does not match", hint=_phone_hint(number)), code)
    if code == "500":
        return TrackResult(number, carrier, Status.UNKNOWN, raw_status=code, no_info=True)
    if code == "501":
        # 服务器错误, "also for off-spec params" (kuaidi100.md §2.6): one number's problem as
        # often as the service's. Failing the whole provider for it made one malformed number
        # stop every sync; as this parcel's error it is asked again at its next check (never
        # sooner than the 30-minute rule), and the other parcels go on.
        return _item_error(number, carrier, TransientError(
            f"{number}: kuaidi100 answered returnCode 501 ({remote})", provider=NAME,
            hint="it is asked again at the next check; if it persists, check the number"),
            code)
    if code == "502":
        raise TransientError(f"server error (returnCode {code}: {remote})", provider=NAME,
                             hint="the service is having trouble; try again later")
    if code == "503":
        raise AuthError("signature rejected (returnCode 503)", provider=NAME, hint=_KEY_HINT)
    if code == "601":
        raise QuotaExceeded(f"no query quota left (returnCode 601: {remote})", provider=NAME,
                            hint="top up the kuaidi100 query package; parcelctl retries "
                            "on the next sync")
    raise ProviderError(f"unexpected returnCode {code or '(none)'} ({remote})", provider=NAME,
                        hint="try again later; report it if it persists")


def parse_query(payload: Any, number: str, carrier: str) -> TrackResult:
    """A ``poll/query.do`` answer -> TrackResult (per-item errors inside, others raised)."""
    data = expect_dict(payload, NAME, "the query answer")
    if data.get("result") is False or as_str(data.get("returnCode")) not in ("", "200"):
        return _return_code(data, number, carrier)
    comm = as_str(data.get("status"))
    if comm == "201":  # shape B
        return _item_error(number, carrier, ProviderError(
            f"{number}: kuaidi100 says the number does not exist or has expired",
            hint="check the number and --carrier"), comm)
    if comm and comm != "200":
        raise ProviderError(f"unexpected status {comm[:10]!r}", provider=NAME,
                            hint="try again later; report it if it persists")
    if "data" not in data:
        raise ProviderChanged("the query answer has no 'data'", provider=NAME)
    events = [_event(item) for item in expect_list(data.get("data"), NAME, "'data'")]
    # Newest first; a stable sort keeps the service's order for events of the same second.
    events.sort(key=lambda e: e.time, reverse=True)
    com = as_str(data.get("com")).lower() or carrier
    if not events:
        return TrackResult(number, com, Status.UNKNOWN, raw_status=as_str(data.get("state")),
                           no_info=True)
    newest = events[0].raw_code
    state = as_str(data.get("state"))
    # The newest event's advanced code is the most specific; the top-level state may be only
    # the basic one (e.g. "5" while the parcel sits in a locker: "501").
    code = newest if newest and newest not in BASIC_STATES else (state or newest)
    status = map_status(STATE_STATUS, code, NAME) if code else Status.UNKNOWN
    returning = code in RETURNING_STATES
    if status is Status.DELIVERED and any(e.raw_code in RETURNING_STATES for e in events):
        status = Status.RETURNED  # signed for after it went back: by the sender (Q2)
    pickup = None
    if status is Status.READY_FOR_PICKUP:  # 501/304: the code is in the texts, if anywhere
        pickup = next((codes[0] for e in events[:3] if (codes := extract_pickup_codes(
            e.description))), None)
    return TrackResult(number, com, status, events=events, raw_status=code,
                       pickup_code=pickup, returning=returning)


def parse_autonumber(payload: Any) -> list[CarrierCandidate]:
    """An ``autonumber/auto`` answer -> candidates best first; an error object raises."""
    if isinstance(payload, dict):
        code = as_str(payload.get("returnCode"))
        remote = as_str(payload.get("message"))[:80]
        if code == "701":
            raise ConfigError("carrier detection needs the API key (returnCode 701)",
                              provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.key VALUE")
        if code == "601":
            raise QuotaExceeded(f"carrier detection is not enabled or the key expired "
                                f"(returnCode 601: {remote})", provider=NAME,
                                hint=f"{_KEY_HINT}, or pass --carrier CODE")
        if code == "201":
            raise UsageError("kuaidi100 says this is not a valid tracking number",
                             provider=NAME, hint="check the number, or pass --carrier CODE")
        raise ProviderError(f"carrier detection failed (returnCode {code or '(none)'}: "
                            f"{remote})", provider=NAME, hint="pass --carrier CODE")
    found: list[CarrierCandidate] = []
    for item in expect_list(payload, NAME, "the autonumber answer"):
        entry = expect_dict(item, NAME, "an autonumber candidate")
        code = as_str(entry.get("comCode")).lower()
        if not code:
            raise ProviderChanged("an autonumber candidate has no comCode", provider=NAME)
        if code not in {c.code for c in found}:
            # Detection "is not 100%" [OD]: only the top candidate is more than a guess.
            found.append(CarrierCandidate(code, as_str(entry.get("name")),
                                          "high" if not found else "low"))
    return found


#: ``num`` is 6-32 characters (kuaidi100.md §2.2, newest official docs).
MIN_NUMBER, MAX_NUMBER = 6, 32


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
                  "locks numbers queried more often than every 30 minutes)", default=30),
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
