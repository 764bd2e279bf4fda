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

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from ...errors import AuthError, ConfigError, ProviderChanged, UsageError
from ...http import HttpClient, RateLimiter, json_body, register_secret
from ...models import Status, TrackRequest, TrackResult
from ..base import ConfigKey, TrackingProvider, as_str
from .parse import parse_events, parse_register, parse_track_item, parse_trackinfo
from .protocol import (
    ALREADY_REGISTERED,
    ERROR_MESSAGES,
    MAX_BATCH,
    MIN_SPACING_SECONDS,
    NAME,
    NO_INFO_CODES,
    NOT_REGISTERED,
    NUMBER_RE,
    TOKEN_HINT,
    ItemError,
    describe_error,
    error_for,
    raise_for_envelope,
    verify_webhook,
    webhook_sign,
)
from .tables import (
    DEFAULT_CARRIERS,
    EVENT_STAGE_MAP,
    MILESTONE_MAP,
    STATUS_MAP,
    SUB_STATUS_MAP,
)

__all__ = [
    "ALREADY_REGISTERED",
    "DEFAULT_CARRIERS",
    "ERROR_MESSAGES",
    "EVENT_STAGE_MAP",
    "MAX_BATCH",
    "MILESTONE_MAP",
    "MIN_SPACING_SECONDS",
    "NAME",
    "NOT_REGISTERED",
    "NO_INFO_CODES",
    "STATUS_MAP",
    "SUB_STATUS_MAP",
    "ItemError",
    "SeventeenTrackProvider",
    "describe_error",
    "error_for",
    "parse_events",
    "parse_register",
    "parse_track_item",
    "parse_trackinfo",
    "raise_for_envelope",
    "verify_webhook",
    "webhook_sign",
]

log = logging.getLogger("parcelctl.providers.17track")


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
                error_kind=got.error_kind, returning=got.returning))
        return results
