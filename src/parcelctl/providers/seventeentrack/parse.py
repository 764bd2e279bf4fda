"""Pure functions: 17TRACK payloads -> parcelctl models (no I/O; tested from golden files)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...errors import ProviderChanged, ProviderError
from ...models import Status, TrackingEvent, TrackResult
from ...pickup import extract_pickup_codes
from ..base import as_str, expect_dict, expect_list, map_status
from .protocol import (
    _ERROR_CLASSES,
    ALREADY_REGISTERED,
    NAME,
    NO_INFO_CODES,
    ItemError,
    describe_error,
    raise_for_envelope,
)
from .tables import (
    DEFAULT_CARRIERS,
    EVENT_STAGE_MAP,
    RETURNING_STAGES,
    STATUS_MAP,
    SUB_STATUS_MAP,
)

log = logging.getLogger("parcelctl.providers.17track")


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
    returning = sub in RETURNING_STAGES or (not sub and main in RETURNING_STAGES)
    if status is Status.DELIVERED and any(e.raw_code in RETURNING_STAGES for e in events):
        status = Status.RETURNED  # delivered after it went back: to the sender (errata Q2)
    pickup = None
    if status is Status.READY_FOR_PICKUP:  # 17TRACK has no field for it: read the texts
        pickup = next((codes[0] for e in events
                       if (codes := extract_pickup_codes(e.description))), None)
    return TrackResult(number, carrier, status, events=events, raw_status=sub or main,
                       pickup_code=pickup, returning=returning,
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
