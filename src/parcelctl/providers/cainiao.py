"""Cainiao global tracking (菜鸟国际) through the public, keyless detail endpoint.

Protocol (fact sheet cainiao.md): ``GET {base_url}/global/detail.json?mailNos=a,b&lang=..
&language=..`` answers ``{"success": true, "module": [entry, …]}``, one entry per number in
request order, events (``detailList``) newest first. No key, cookie or signature.

This endpoint is **unofficial**: it is what Cainiao's own consumer tracking page calls, has
no documentation or terms, and Alibaba soft-bans "unusual traffic". parcelctl is therefore
gentle by default: 0.5 requests/second, up to 10 numbers per request, and the same number
at most every 2 hours. What is UNKNOWN is configuration, never a silent guess:

* ``batch_size``: the per-request limit is undocumented; 10 is what other clients use.
* ``rate_per_second``: no documented rate; 0.5 is a courtesy default.
* the ``success: false`` body is undocumented: ``errorCode``/``errorMsg`` are read when
  present (another client's guess), otherwise the error says only that the call failed.
* return, loss and cancellation ``actionCode`` values are unknown: such codes map to
  ``unknown`` and are logged, like every code missing from :data:`ACTION_STATUS`.
* throttling answers are undocumented: any non-200 answer other than 404 is treated as a
  temporary refusal (soft ban) to retry on a later sync.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar

from ..errors import ConfigError, ProviderChanged, ProviderError, TransientError
from ..http import json_body, redact
from ..models import CHINA_TZ, Status, TrackingEvent, TrackRequest, TrackResult, normalize_number
from ..pickup import extract_pickup_codes
from .base import ConfigKey, TrackingProvider, as_str, expect_dict, expect_list, map_status

NAME = "cainiao"
log = logging.getLogger("parcelctl.providers.cainiao")

#: Every ``actionCode`` of cainiao.md §3. Station sign-for is not the recipient's.
ACTION_STATUS: dict[str, Status] = {
    "PRE_READY_TO_SHIP": Status.INFO_RECEIVED,
    "CONSIGN": Status.INFO_RECEIVED,
    "GWMS_ACCEPT": Status.INFO_RECEIVED,
    "GWMS_PACKAGE": Status.INFO_RECEIVED,
    "GWMS_OUTBOUND": Status.IN_TRANSIT,
    "PU_PRE_PICKUP_SUCCESS": Status.IN_TRANSIT,
    "PU_PICKUP_SUCCESS": Status.IN_TRANSIT,
    "CW_INBOUND": Status.IN_TRANSIT,
    "CW_OUTBOUND": Status.IN_TRANSIT,
    "CW_COMMON_PROCESSING1": Status.IN_TRANSIT,
    "SC_INBOUND_SUCCESS": Status.IN_TRANSIT,
    "SC_OUTBOUND_SUCCESS": Status.IN_TRANSIT,
    "SC_TRANS_INBOUND_SUCCESS": Status.IN_TRANSIT,
    "SC_TRANS_OUTBOUND_SUCCESS": Status.IN_TRANSIT,
    "CC_EX_START": Status.IN_TRANSIT,  # customs counts as transit (DESIGN.md)
    "CC_EX_SUCCESS": Status.IN_TRANSIT,
    "LH_HO_IN_SUCCESS": Status.IN_TRANSIT,
    "LH_HO_AIRLINE": Status.IN_TRANSIT,
    "LH_DEPART": Status.IN_TRANSIT,
    "LH_ARRIVE": Status.IN_TRANSIT,
    "LH_BIGBAG_SHELVE": Status.IN_TRANSIT,
    "LH_POST_COLLECTION": Status.IN_TRANSIT,
    "COMMON_INTRANSIT": Status.IN_TRANSIT,
    "TD_TRANSWH_OUTBOUND": Status.IN_TRANSIT,
    "TD_TRANS_DEPART_C": Status.IN_TRANSIT,
    "TD_TRANS_ARRIVE_C": Status.IN_TRANSIT,
    "TD_TRANS_ARRIVE_DCP": Status.IN_TRANSIT,
    "TD_TRANS_DEPART": Status.IN_TRANSIT,
    "TD_TRANS_ARRIVE": Status.IN_TRANSIT,
    "CC_HO_IN_SUCCESS": Status.IN_TRANSIT,
    "CC_IM_START": Status.IN_TRANSIT,
    "CC_IM_SUCCESS": Status.IN_TRANSIT,
    "CC_HO_OUT_SUCCESS": Status.IN_TRANSIT,
    "CC_IM_FAILURE": Status.EXCEPTION,
    "CC_IM_EXCEPTION": Status.EXCEPTION,
    "GTMS_ACCEPT": Status.IN_TRANSIT,
    "GTMS_SC_ARRIVE": Status.IN_TRANSIT,
    "GTMS_SC_DEPART": Status.IN_TRANSIT,
    "GTMS_OE_DEPART": Status.IN_TRANSIT,
    "LAST_MILE_ASN_NOTIFY": Status.IN_TRANSIT,
    "GTMS_DO_ARRIVE": Status.IN_TRANSIT,
    "GTMS_STATION_OUT": Status.IN_TRANSIT,
    "GTMS_DO_DEPART": Status.OUT_FOR_DELIVERY,
    "GSTA_INBOUND": Status.READY_FOR_PICKUP,
    "GSTA_INFORM_BUYER": Status.READY_FOR_PICKUP,
    "GTMS_WAIT_SELF_PICK": Status.READY_FOR_PICKUP,
    "GTMS_STA_SIGNED": Status.READY_FOR_PICKUP,  # the station signed, not the recipient
    "GTMS_SIGNED": Status.DELIVERED,
    "GTMS_DEL_FAILURE": Status.EXCEPTION,
    "GTMS_STA_SIGN_FAILURE": Status.EXCEPTION,
    "EXCEPTION": Status.EXCEPTION,
}

_ZONE = re.compile(r"^(?:GMT|UTC)?\s*(?:(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?$",
                   re.IGNORECASE)
_LAST_MILE = re.compile(r"([A-Z0-9]{6,40})\s*$")


def parse_zone(text: Any) -> tzinfo:
    """Display zone of an event: blank -> GMT+8 (origin China); ``GMT+8``, ``GMT+08:00``,
    ``GMT-3``, ``UTC+2``. Unreadable zones fall back to GMT+8 with a log line: the zone
    only changes how an instant is shown, never the instant itself."""
    value = as_str(text)
    if not value:
        return CHINA_TZ
    match = _ZONE.match(value)
    if match is None:
        log.warning("cainiao: unreadable timeZone %r, showing GMT+8", value[:20])
        return CHINA_TZ
    if match.group("sign") is None:
        return UTC  # plain "GMT"/"UTC"
    minutes = int(match.group("h")) * 60 + int(match.group("m") or 0)
    if minutes > 14 * 60 or int(match.group("m") or 0) >= 60:
        log.warning("cainiao: out-of-range timeZone %r, showing GMT+8", value[:20])
        return CHINA_TZ
    offset = timedelta(minutes=-minutes if match.group("sign") == "-" else minutes)
    return CHINA_TZ if offset == timedelta(hours=8) else timezone(offset)


def _instant(event: Mapping[str, Any]) -> datetime:
    """The event instant: epoch-ms ``time``; ``timeStr`` (UTC+8 wall clock) only without it."""
    raw = event.get("time")
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        from .base import checked_time

        try:
            return checked_time(datetime.fromtimestamp(raw / 1000.0, tz=UTC), NAME,
                                "event time")
        except (OverflowError, OSError, ValueError):
            raise ProviderChanged(f"event time {raw!r} is out of range", provider=NAME) from None
    text = as_str(event.get("timeStr"))
    if not text:
        raise ProviderChanged("event has neither an epoch time nor a readable timeStr",
                              provider=NAME)
    from .base import wall_time

    # timeStr equals `time` rendered in UTC+8 even when timeZone says otherwise (§2.3).
    return wall_time(text, "%Y-%m-%d %H:%M:%S", CHINA_TZ, NAME, "event timeStr")


def parse_event(raw: Any) -> TrackingEvent:
    event = expect_dict(raw, NAME, "event")
    code = as_str(event.get("actionCode"))
    # `desc` is the carrier's own words; `standerdDesc` (sic) is a generic gloss that is
    # sometimes only "Carrier update", so it is the fallback.
    text = as_str(event.get("desc")) or as_str(event.get("standerdDesc"))
    return TrackingEvent(
        time=_instant(event).astimezone(parse_zone(event.get("timeZone"))),
        description=text,
        status=map_status(ACTION_STATUS, code, NAME) if code else None,
        raw_code=code,
    )


def last_mile_number(entry: Any) -> str | None:
    """The destination carrier's number: ``copyRealMailNo``, else the tail of the display
    string ``realMailNo`` ("Latest Tracking Number:\\tRC000000003EE")."""
    if not isinstance(entry, Mapping):
        return None
    clean = as_str(entry.get("copyRealMailNo"))
    if clean:
        return clean
    match = _LAST_MILE.search(as_str(entry.get("realMailNo")).upper())
    return match.group(1) if match else None


def _no_info(number: str) -> TrackResult:
    return TrackResult(number=number, carrier="", status=Status.UNKNOWN, no_info=True)


def parse_entry(raw: Any, number: str) -> TrackResult:
    entry = expect_dict(raw, NAME, "module entry")
    events = [parse_event(e) for e in expect_list(entry.get("detailList"), NAME, "detailList")]
    latest_raw = entry.get("latestTrace")
    latest = parse_event(latest_raw) if isinstance(latest_raw, dict) and latest_raw else None
    if not events and latest is None:
        # {"mailNoSource": "EXTERNAL", "detailList": []}: not scanned yet, not an error.
        return _no_info(number)
    if not events and latest is not None:
        events = [latest]
    events.sort(key=lambda e: e.time, reverse=True)  # stable: keeps the sent order on ties
    current = latest if latest is not None and latest.raw_code else events[0]
    status = current.status or Status.UNKNOWN
    pickup = None
    if status is Status.READY_FOR_PICKUP:
        pickup = next((codes[0] for e in events if (codes := extract_pickup_codes(e.description))),
                      None)
    # No carrier: the answer names none that parcelctl can use (see CainiaoProvider.track).
    return TrackResult(number=number, carrier="", status=status, events=events,
                       raw_status=current.raw_code, pickup_code=pickup)


def parse_detail(payload: Any, numbers: Sequence[str]) -> list[TrackResult]:
    """One result per requested number, in request order; numbers missing from ``module``
    are "no information yet"."""
    body = expect_dict(payload, NAME, "response")
    success = body.get("success")
    if isinstance(success, str):
        success = {"true": True, "false": False}.get(success.strip().lower(), success)
    if success is False:
        code = as_str(body.get("errorCode"))[:40]
        message = " ".join(as_str(body.get("errorMsg")).split())[:120]
        detail = f" ({code}{': ' if code and message else ''}{message})" if code or message else ""
        raise ProviderError(
            redact(f"the tracking service refused the query{detail}"), provider=NAME,
            hint="try again later; if it persists, the unofficial endpoint may have changed")
    if success is not True:
        raise ProviderChanged("response has no success flag", provider=NAME)
    entries: dict[str, Any] = {}
    for raw in expect_list(body.get("module"), NAME, "module"):
        entry = expect_dict(raw, NAME, "module entry")
        entries.setdefault(normalize_number(as_str(entry.get("mailNo"))), entry)
    results = []
    for number in numbers:
        found = entries.get(normalize_number(number))
        results.append(_no_info(number) if found is None else parse_entry(found, number))
    return results


def _positive(settings: Mapping[str, Any], key: str) -> float:
    value = settings.get(key)
    try:
        number = float(value) if isinstance(value, int | float | str) else 0.0
    except ValueError:
        number = 0.0
    if isinstance(value, bool) or not number > 0:
        raise ConfigError(f"'{key}' must be a positive number, not {value!r}", provider=NAME,
                          hint=f"run: parcelctl config unset providers.{NAME}.{key}")
    return number


class CainiaoProvider(TrackingProvider):
    """Cainiao global tracking, keyless and unofficial: see the module docstring."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Cainiao Global (菜鸟国际)"
    description: ClassVar[str] = (
        "Cross-border (AliExpress, LP…, RC…EE) tracking through global.cainiao.com; no key "
        "needed. Unofficial, undocumented endpoint: polled gently (0.5 req/s, batches of 10, "
        "each number at most every 2 h)."
    )
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("base_url", "Cainiao global host", default="https://global.cainiao.com"),
        ConfigKey("lang", "locale sent as lang and language", default="en-US"),
        ConfigKey("batch_size", "numbers per request (real limit undocumented)", default=10),
        ConfigKey("rate_per_second", "requests per second (unofficial endpoint: be gentle)",
                  default=0.5),
    )
    rate_per_second: ClassVar[float | None] = 0.5
    concurrency: ClassVar[int] = 1
    batch_size: ClassVar[int] = 10
    min_interval_minutes: ClassVar[int] = 120
    capabilities: ClassVar[tuple[str, ...]] = ("track", "batch")

    def numbers_per_call(self) -> int:
        # The real limit is undocumented: the setting may raise the default as well as
        # lower it.
        return max(1, int(_positive(self.settings, "batch_size")))

    async def track(self, requests: Sequence[TrackRequest]) -> list[TrackResult]:
        size = self.numbers_per_call()
        results: list[TrackResult] = []
        for start in range(0, len(requests), size):
            results.extend(await self._track_batch(requests[start:start + size]))
        return results

    async def _track_batch(self, requests: Sequence[TrackRequest]) -> list[TrackResult]:
        numbers = [r.number.strip() for r in requests]
        lang = as_str(self.settings.get("lang")) or "en-US"
        response = await self.http.request(
            "GET", f"{self.url()}/global/detail.json",
            params={"mailNos": ",".join(dict.fromkeys(numbers)), "lang": lang, "language": lang},
        )
        if response.status_code == 404:
            raise ProviderChanged("the detail endpoint is gone (HTTP 404)", provider=NAME)
        if response.status_code != 200:
            # Undocumented: Alibaba answers unusual traffic with refusals; back off.
            raise TransientError(
                f"the service refused the request (HTTP {response.status_code})", provider=NAME,
                hint="it may be throttling; parcelctl will try again on a later sync")
        results = parse_detail(json_body(response, NAME), numbers)
        for request, result in zip(requests, results, strict=True):
            result.number = request.number
            # The request's carrier, possibly "" (unknown): Cainiao's answer names no carrier
            # parcelctl could use. `destCpInfo.cpCode`/`cpName` are only in constructed
            # samples (cainiao.md §2.1), and a last-mile carrier would go with `realMailNo`,
            # another number. "cainiao" (this service) is no carrier either: stored as one,
            # it split the parcel from the same waybill imported from a shop with its real
            # carrier, since parcels are keyed by (carrier, number).
            result.carrier = request.carrier
        return results
