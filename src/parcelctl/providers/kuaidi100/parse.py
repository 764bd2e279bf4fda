"""Pure functions: Kuaidi100 payloads -> parcelctl models (no I/O; tested from golden files)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import ConfigError, ProviderChanged, ProviderError, QuotaExceeded, UsageError
from ...models import CHINA_TZ, CarrierCandidate, Status, TrackingEvent, TrackResult
from ...pickup import extract_pickup_codes
from ..base import as_str, expect_dict, expect_list, map_status
from .protocol import _KEY_HINT, NAME, _item_error, _return_code
from .tables import BASIC_STATES, RETURNING_STATES, STATE_NAMES, STATE_STATUS


def _parse_time(value: str) -> datetime:
    from ..base import wall_time

    # Beijing time without a zone (kuaidi100.md §2.5); 0001-01-01 is refused there.
    return wall_time(value, "%Y-%m-%d %H:%M:%S", CHINA_TZ, NAME, "event time")


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
