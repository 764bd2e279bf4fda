"""17TRACK Tracking API v2.2 (fact sheet: protocols/17track.md).

Flow for a batch of at most 40 numbers: ``POST {base}/register`` (a number that is already
registered, ``-18019901``, counts as success), then ``POST {base}/gettrackinfo`` for every
registered number. A number 17TRACK answered for before (``TrackRequest.known``) skips the
register call; if 17TRACK no longer has it (``-18019902``) it is registered and asked again
in the same poll. Every call sends the API key in the ``17token`` header; there is no
signing. The documented limit is 3 requests/second per key (HTTP 429 beyond).

Configurable because the real protocol is not confirmed (sheet §7 UNKNOWN):

* ``carriers``: 17TRACK carrier codes are opaque integers and the codes of Chinese domestic
  express carriers (SF, ZTO, YTO, …) are unknown. The default table only holds the codes the
  sheet knows (China Post international, DHL, UPS, FedEx, USPS); every other number is
  registered without ``carrier`` and 17TRACK's ``auto_detection`` picks the carrier. Entries
  you configure are merged over the defaults; set one to ``0`` to force auto-detection.
* ``Retry-After`` on 429 is not documented: the shared HTTP client backs off on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from ..errors import (
    AuthError,
    ConfigError,
    ParcelctlError,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    UsageError,
)
from ..http import HttpClient, RateLimiter, json_body, redact, register_secret
from ..models import Status, TrackingEvent, TrackRequest, TrackResult
from ..pickup import extract_pickup_codes
from .base import ConfigKey, TrackingProvider, as_str, expect_dict, expect_list, map_status

log = logging.getLogger("parcelctl.providers.17track")

NAME = "17track"
MAX_BATCH = 40
#: Several clients hard-code ~350 ms between calls [3SDK]: exact 1/3 s spacing collides with
#: the server's one-second window as soon as the network adds a millisecond of jitter.
MIN_SPACING_SECONDS = 0.35
NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{5,50}$")
TOKEN_HINT = f"run: parcelctl config set providers.{NAME}.token VALUE"

#: parcelctl carrier code (kuaidi100 ``com`` vocabulary) -> 17TRACK carrier code (sheet §2).
DEFAULT_CARRIERS: dict[str, int] = {
    "youzhengguoji": 3011, "dhl": 100001, "ups": 100002, "fedex": 100003, "usps": 21051,
}

#: ``latest_status.status`` (sheet §4).
STATUS_MAP: dict[str, Status] = {
    "NotFound": Status.UNKNOWN,
    "InfoReceived": Status.INFO_RECEIVED,
    "InTransit": Status.IN_TRANSIT,
    "Expired": Status.EXCEPTION,
    "AvailableForPickup": Status.READY_FOR_PICKUP,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "DeliveryFailure": Status.EXCEPTION,
    "Delivered": Status.DELIVERED,
    "Exception": Status.EXCEPTION,
}

#: ``sub_status`` and event ``stage`` (sheet §4); only three differ from their main status.
SUB_STATUS_MAP: dict[str, Status] = {
    sub: STATUS_MAP[sub.partition("_")[0]]
    for sub in (
        "NotFound_Other", "NotFound_InvalidCode", "InfoReceived",
        "InTransit_PickedUp", "InTransit_Other", "InTransit_Departure", "InTransit_Arrival",
        "InTransit_CustomsProcessing", "InTransit_CustomsReleased",
        "InTransit_CustomsRequiringInformation", "Expired_Other", "AvailableForPickup_Other",
        "OutForDelivery_Other", "DeliveryFailure_Other", "DeliveryFailure_NoBody",
        "DeliveryFailure_Security", "DeliveryFailure_Rejected",
        "DeliveryFailure_InvalidAddress", "Delivered_Other", "Exception_Other",
        "Exception_NoBody", "Exception_Security", "Exception_Damage", "Exception_Damaged",
        "Exception_Rejected", "Exception_Delayed", "Exception_Lost", "Exception_Destroyed",
    )
} | {
    "Exception_Returning": Status.RETURNED,
    "Exception_Returned": Status.RETURNED,
    "Exception_Cancel": Status.CANCELLED,
}

#: Sample events carry milestone names (``milestone[].key_stage``) in ``stage`` too.
MILESTONE_MAP: dict[str, Status] = {
    "InfoReceived": Status.INFO_RECEIVED, "PickedUp": Status.IN_TRANSIT,
    "Departure": Status.IN_TRANSIT, "Arrival": Status.IN_TRANSIT,
    "AvailableForPickup": Status.READY_FOR_PICKUP, "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "Delivered": Status.DELIVERED, "Returning": Status.RETURNED, "Returned": Status.RETURNED,
}
EVENT_STAGE_MAP: dict[str, Status] = STATUS_MAP | MILESTONE_MAP | SUB_STATUS_MAP

ALREADY_REGISTERED = -18019901
NOT_REGISTERED = -18019902
NO_INFO_CODES = frozenset({-18019909, -18019808})

#: Every code of sheet §5 (plus the 429 envelope): what happened, and what to do next.
ERROR_MESSAGES: dict[int, tuple[str, str]] = {
    -18010001: ("this IP address is not on the 17TRACK API whitelist",
                "add it in the 17TRACK API console, or clear the whitelist"),
    -18010002: ("17TRACK rejected the API key (17token)", TOKEN_HINT),
    -18010003: ("17TRACK had an internal error", "try again later"),
    -18010004: ("the 17TRACK account is disabled", "check the account in the 17TRACK console"),
    -18010005: ("this key may not use the requested 17TRACK API",
                f"check the key's permissions, or {TOKEN_HINT}"),
    -18010010: ("a required field is missing in the request", "please report this bug"),
    -18010011: ("a field of the request has an invalid value", "check the number and carrier"),
    -18010012: ("the number format is invalid (5–50 letters, digits or hyphens)",
                "check the tracking number"),
    -18010013: ("17TRACK rejected the submitted data", "please report this bug"),
    -18010014: ("more than 40 numbers in one request", "please report this bug"),
    -18010015: ("a field of the request has an invalid value", "check the number and carrier"),
    -18010016: ("a final-mile carrier is only allowed for postal carriers",
                "remove the final-mile carrier"),
    -18010204: ("no webhook URL is set, 17TRACK cannot push",
                "set the webhook URL in the 17TRACK console"),
    ALREADY_REGISTERED: ("the number is already registered", "nothing to do"),
    -18019902: ("the number is not registered with 17TRACK", "the next sync registers it"),
    -18019903: ("17TRACK cannot detect the carrier", "add it again with --carrier CODE"),
    -18019904: ("only stopped numbers can be retracked", "nothing to do"),
    -18019905: ("each number can be retracked only once", "nothing to do"),
    -18019906: ("only numbers being tracked can be stopped", "nothing to do"),
    -18019907: ("the daily 17TRACK registration limit is reached", "try again tomorrow"),
    -18019908: ("the 17TRACK quota is used up", "buy more quota in the 17TRACK console"),
    -18019909: ("no tracking information yet", "parcelctl will ask again later"),
    -18019910: ("17TRACK does not know that carrier code",
                f"fix providers.{NAME}.carriers or the --carrier option"),
    -18019911: ("17TRACK cannot register numbers of this carrier at the moment",
                "try again later or use another provider"),
    -18019801: ("the number is registered with several carriers", "name the carrier"),
    -18019802: ("the new carrier code may be wrong", "check the carrier"),
    -18019803: ("the old and new carrier codes are the same", "nothing to do"),
    -18019804: ("a new carrier code is required", "name the carrier"),
    -18019805: ("the number is not registered with that carrier", "check the carrier"),
    -18019806: ("a stopped number cannot change carrier", "retrack it first"),
    -18019807: ("the carrier change limit is reached", "nothing to do"),
    -18019808: ("no tracking result yet since the last registration",
                "parcelctl will ask again later"),
    -18019809: ("the number is already registered with that carrier", "nothing to do"),
    -18019810: ("more than one record matches", "name the carrier"),
    -18019811: ("there is nothing to change", "nothing to do"),
    429: ("17TRACK is throttling requests (more than 3 per second)",
          "parcelctl will try again on the next sync"),
}

_ERROR_CLASSES: dict[int, type[ParcelctlError]] = {
    -18010001: AuthError, -18010002: AuthError, -18010004: AuthError, -18010005: AuthError,
    -18010003: TransientError, -18019902: TransientError, -18019808: TransientError,
    -18019907: QuotaExceeded, -18019908: QuotaExceeded, 429: RateLimited,
    -18010011: UsageError, -18010012: UsageError, -18010015: UsageError,
    -18010016: UsageError, -18019903: UsageError, -18019910: UsageError,
    -18010204: ConfigError,
}


@dataclass(frozen=True, slots=True)
class ItemError:
    """One number rejected by 17TRACK while the rest of the call succeeded."""

    code: int
    message: str
    kind: str  # errors.py class name


def describe_error(code: int, remote_message: str = "") -> tuple[str, str | None]:
    """(message, hint) for a 17TRACK error code; unknown codes keep the remote text."""
    known = ERROR_MESSAGES.get(code)
    if known is not None:
        return known
    return f"17TRACK error {code}: {redact(remote_message)[:200]}", None


def error_for(code: int, remote_message: str = "") -> ProviderError:
    """The exception for a whole-call failure: always a ProviderError, so that a sync can
    isolate it (per-item usage/config codes keep their kind only in ``ItemError``)."""
    message, hint = describe_error(code, remote_message)
    cls = _ERROR_CLASSES.get(code, ProviderError)
    if not issubclass(cls, ProviderError):
        cls = ProviderError
    return cls(message, provider=NAME, hint=hint)


def raise_for_envelope(payload: Any) -> dict[str, Any]:
    """Raise the mapped error of a whole-call failure; return ``data`` of a success."""
    body = expect_dict(payload, NAME, "the response")
    code = body.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProviderChanged("the response has no integer 'code'", provider=NAME)
    data = body.get("data")
    if code == 0:
        return expect_dict(data, NAME, "'data'")
    errors = expect_list(data.get("errors") if isinstance(data, dict) else None,
                         NAME, "'data.errors'")
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    inner = first.get("code")
    if isinstance(inner, int) and not isinstance(inner, bool):
        code = inner
    raise error_for(code, as_str(first.get("message")))


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [expect_dict(item, NAME, f"an item of '{key}'")
            for item in expect_list(data.get(key), NAME, f"'data.{key}'")]


def _number(item: dict[str, Any]) -> str:
    number = item.get("number")
    if not isinstance(number, str) or not number:
        raise ProviderChanged("an item has no 'number'", provider=NAME)
    return number


def _carrier(item: dict[str, Any]) -> int | None:
    carrier = item.get("carrier")
    if isinstance(carrier, int) and not isinstance(carrier, bool) and carrier:
        return carrier
    return None


def _item_error(item: dict[str, Any]) -> ItemError:
    error = expect_dict(item.get("error"), NAME, "'rejected[].error'")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProviderChanged("a rejected item has no integer error code", provider=NAME)
    message, hint = describe_error(code, as_str(error.get("message")))
    kind = _ERROR_CLASSES.get(code, ProviderError).__name__
    return ItemError(code, f"{message} — {hint}" if hint else message, kind)


def parse_register(payload: Any) -> tuple[dict[str, int | None], dict[str, ItemError]]:
    """(accepted number -> carrier code or None, rejected number -> error).

    An already registered number (-18019901) is accepted: gettrackinfo works for it.
    """
    data = raise_for_envelope(payload)
    accepted = {_number(item): _carrier(item) for item in _items(data, "accepted")}
    rejected: dict[str, ItemError] = {}
    for item in _items(data, "rejected"):
        error = _item_error(item)
        if error.code == ALREADY_REGISTERED:
            accepted.setdefault(_number(item), None)
        else:
            rejected[_number(item)] = error
    return accepted, rejected


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        parsed.astimezone(UTC)  # years 1 and 9999 overflow once shifted to UTC
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _time(event: dict[str, Any]) -> datetime | None:
    """``time_iso`` keeps the carrier's offset for display; ``time_utc`` is the fallback."""
    return _aware(event.get("time_iso")) or _aware(event.get("time_utc"))


def _sort_key(event: dict[str, Any], parsed: datetime) -> datetime:
    """The sheet says to sort on ``time_utc``; the display time is the fallback."""
    return _aware(event.get("time_utc")) or parsed


def parse_events(track_info: dict[str, Any]) -> list[TrackingEvent]:
    """Events of every provider (hand-overs), de-duplicated, newest first by ``time_utc``."""
    tracking = expect_dict(track_info.get("tracking") or {}, NAME, "'track_info.tracking'")
    keyed: dict[str, tuple[datetime, TrackingEvent]] = {}
    for entry in expect_list(tracking.get("providers"), NAME, "'tracking.providers'"):
        entry = expect_dict(entry, NAME, "a tracking provider")
        for raw in expect_list(entry.get("events"), NAME, "'providers[].events'"):
            raw = expect_dict(raw, NAME, "an event")
            when = _time(raw)
            if when is None:
                log.debug("%s: event without a usable time skipped", NAME)
                continue
            stage = as_str(raw.get("stage"))
            event = TrackingEvent(
                time=when,
                description=as_str(raw.get("description")),
                location=as_str(raw.get("location")),
                status=map_status(EVENT_STAGE_MAP, stage, NAME) if stage else None,
                raw_code=stage,
            )
            keyed.setdefault(event.key, (_sort_key(raw, when), event))
    ordered = sorted(keyed.values(), key=lambda pair: pair[0], reverse=True)
    return [event for _, event in ordered]


def parse_track_item(item: dict[str, Any], carriers: Mapping[int, str] | None = None
                     ) -> TrackResult:
    """One ``accepted`` item of gettrackinfo."""
    number = _number(item)
    code = _carrier(item)
    carrier = (carriers or {}).get(code, "") if code is not None else ""
    info = item.get("track_info")
    if info is None:
        return TrackResult(number, carrier, Status.UNKNOWN, no_info=True)
    info = expect_dict(info, NAME, "'track_info'")
    latest = expect_dict(info.get("latest_status") or {}, NAME, "'latest_status'")
    main, sub = as_str(latest.get("status")), as_str(latest.get("sub_status"))
    status = SUB_STATUS_MAP.get(sub)
    if status is None:
        if sub:
            log.warning("%s: unmapped sub_status %r, using status %r", NAME, sub, main)
        status = map_status(STATUS_MAP, main, NAME)
    events = parse_events(info)
    pickup = None
    if status is Status.READY_FOR_PICKUP:  # 17TRACK has no field for it: read the texts
        pickup = next((codes[0] for e in events
                       if (codes := extract_pickup_codes(e.description))), None)
    return TrackResult(number, carrier, status, events=events, raw_status=sub or main,
                       pickup_code=pickup,
                       no_info=main == "NotFound" or (not main and not events))


def parse_trackinfo(payload: Any, carriers: Mapping[int, str] | None = None
                    ) -> list[TrackResult]:
    """Results of gettrackinfo: accepted items, then rejected ones (no info or errors).

    ``carriers`` maps 17TRACK carrier codes back to parcelctl codes (default: the known ones).
    """
    data = raise_for_envelope(payload)
    reverse = carriers if carriers is not None else {v: k for k, v in DEFAULT_CARRIERS.items()}
    results = [parse_track_item(item, reverse) for item in _items(data, "accepted")]
    for item in _items(data, "rejected"):
        error = _item_error(item)
        if error.code in NO_INFO_CODES:
            results.append(TrackResult(_number(item), "", Status.UNKNOWN, no_info=True,
                                       raw_status=str(error.code)))
        else:
            results.append(TrackResult(_number(item), "", Status.UNKNOWN, error=error.message,
                                       error_kind=error.kind, raw_status=str(error.code)))
    return results


def webhook_sign(body: bytes, key: str) -> str:
    """Header ``sign`` of a v2.2 push: plain SHA-256 of ``raw body + "/" + key`` (not HMAC)."""
    return hashlib.sha256(body + b"/" + key.encode("utf-8")).hexdigest()


def verify_webhook(body: bytes, sign: str, key: str) -> bool:
    return hmac.compare_digest(webhook_sign(body, key), sign.strip().lower())


class SeventeenTrackProvider(TrackingProvider):
    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "17TRACK"
    description: ClassVar[str] = (
        "17TRACK Tracking API v2.2: 40 numbers per call, carriers auto-detected")
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("token", "17TRACK API key (sent as the 17token header)", secret=True,
                  required=True),
        ConfigKey("base_url", "API base URL", default="https://api.17track.net/track/v2.2"),
        ConfigKey("carriers", "table: parcelctl carrier code -> 17TRACK carrier code, merged "
                  "over the known ones; Chinese domestic codes are unknown, so those numbers "
                  "rely on 17TRACK auto-detection (0 forces auto-detection)", default={}),
        ConfigKey("lang", "translate event texts to this language (costs 1 more quota unit "
                  "per number); empty = no translation", default=""),
    )
    #: Documented: 3 requests/second per key (HTTP 429 beyond).
    rate_per_second: ClassVar[float | None] = 3.0
    batch_size: ClassVar[int] = MAX_BATCH
    min_interval_minutes: ClassVar[int] = 30
    capabilities: ClassVar[tuple[str, ...]] = ("track", "batch", "auto_detect_carrier")

    def __init__(self, settings: Mapping[str, Any], http: HttpClient) -> None:
        super().__init__(settings, http)
        register_secret(as_str(self.settings.get("token")))
        self.carriers = self._carrier_table(self.settings.get("carriers"))
        # On top of the shared limiter (which spaces exactly 1/rate): see MIN_SPACING_SECONDS.
        self._spacing = RateLimiter(1.0 / MIN_SPACING_SECONDS)

    def _carrier_table(self, raw: Any) -> dict[str, int]:
        if raw in (None, ""):
            raw = {}
        if not isinstance(raw, Mapping):
            raise self._bad_carriers()
        table = dict(DEFAULT_CARRIERS)
        for key, value in raw.items():
            text = as_str(value)
            if not isinstance(key, str) or isinstance(value, bool) or not text.isdigit():
                raise self._bad_carriers()
            if int(text):
                table[key] = int(text)
            else:
                table.pop(key, None)
        return table

    def _bad_carriers(self) -> ConfigError:
        return ConfigError("'carriers' must map carrier codes to 17TRACK integer codes",
                           provider=NAME,
                           hint=f"run: parcelctl config set providers.{NAME}.carriers "
                           "'{dhl = 100001}'")

    def check_request(self, request: TrackRequest) -> None:
        if not NUMBER_RE.match(request.number):
            raise UsageError(f"'{request.number}' is not a valid 17TRACK number "
                             "(5–50 letters, digits or hyphens)", provider=NAME,
                             hint="check the tracking number")

    async def _post(self, endpoint: str, items: list[dict[str, Any]]) -> Any:
        assert len(items) <= MAX_BATCH, "17TRACK takes at most 40 numbers per call"
        headers = {"17token": self.require("token"), "Content-Type": "application/json"}
        await self._spacing.acquire()
        # Both calls are safe to repeat: a second register answers -18019901.
        response = await self.http.request("POST", f"{self.url()}/{endpoint}", json=items,
                                           headers=headers, idempotent=True)
        return self._decode(response)

    async def _register(self, requests: Sequence[TrackRequest]
                        ) -> tuple[dict[str, int | None], dict[str, ItemError]]:
        if not requests:
            return {}, {}
        lang = as_str(self.settings.get("lang"))
        items: list[dict[str, Any]] = []
        for req in requests:
            item: dict[str, Any] = {"number": req.number}
            if req.carrier in self.carriers:
                item["carrier"] = self.carriers[req.carrier]
            digits = "".join(ch for ch in req.phone or "" if ch.isdigit())
            if digits:
                item["param"] = digits[-4:]
            if lang:
                item["lang"] = lang
            items.append(item)
        return parse_register(await self._post("register", items))

    async def _trackinfo(self, numbers: Mapping[str, int | None]) -> dict[str, TrackResult]:
        """number (upper case) -> its result, for gettrackinfo on ``numbers`` (with carrier)."""
        if not numbers:
            return {}
        query = [{"number": n} | ({"carrier": c} if c else {}) for n, c in numbers.items()]
        reverse = {code: name for name, code in self.carriers.items()}
        return {result.number.upper(): result
                for result in parse_trackinfo(await self._post("gettrackinfo", query), reverse)}

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code == 404:
            raise ConfigError("no 17TRACK API at the configured address (HTTP 404)",
                              provider=NAME,
                              hint=f"check: parcelctl config get providers.{NAME}.base_url")
        try:
            return json_body(response, NAME)
        except ProviderChanged:
            if response.status_code in (401, 403):
                raise AuthError(f"17TRACK refused the key (HTTP {response.status_code})",
                                provider=NAME, hint=TOKEN_HINT) from None
            raise

    async def track(self, requests: Sequence[TrackRequest]) -> list[TrackResult]:
        if len(requests) > MAX_BATCH:
            raise ValueError(f"17TRACK takes at most {MAX_BATCH} numbers per call")
        if not requests:
            return []
        unique = list({r.number: r for r in requests}.values())
        # A number 17TRACK answered for before is registered there: polling it is one
        # gettrackinfo call (free), not register + gettrackinfo. Should the registration be
        # gone (stopped, another key), 17TRACK says -18019902 and it is registered again.
        known = {r.number.upper(): r for r in unique if r.known}
        accepted, rejected = await self._register([r for r in unique if not r.known])
        query = {r.number: self.carriers.get(r.carrier) for r in known.values()} | accepted
        found = await self._trackinfo(query)
        lost = [known[n] for n, result in found.items()
                if n in known and result.raw_status == str(NOT_REGISTERED)]
        if lost:
            again, refused = await self._register(lost)
            rejected.update(refused)
            found.update(await self._trackinfo(again))
        rejected = {number.upper(): error for number, error in rejected.items()}

        results: list[TrackResult] = []
        for req in requests:
            key = req.number.upper()
            if key in rejected:
                error = rejected[key]
                results.append(TrackResult(req.number, req.carrier, Status.UNKNOWN,
                                           error=error.message, error_kind=error.kind,
                                           raw_status=str(error.code)))
                continue
            got = found.get(key)
            if got is None:
                results.append(TrackResult(
                    req.number, req.carrier, Status.UNKNOWN,
                    error="17TRACK returned nothing for this number — try again later",
                    error_kind="TransientError"))
                continue
            results.append(TrackResult(
                req.number, req.carrier or got.carrier, got.status,
                events=list(got.events), raw_status=got.raw_status,
                pickup_code=got.pickup_code, no_info=got.no_info, error=got.error,
                error_kind=got.error_kind))
        return results
