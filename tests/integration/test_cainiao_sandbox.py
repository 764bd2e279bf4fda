"""The real Cainiao provider with a real HttpClient against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from parcelctl.errors import ProviderChanged, ProviderError, RateLimited, TransientError
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TrackRequest, TrackResult
from parcelctl.providers.cainiao import CainiaoProvider
from parcelctl.sandbox.dataset import CURATED

Sandbox = Any  # parcelctl.sandbox.server.RunningSandbox

#: What each dataset stage must end up as through Cainiao (sheet §3; returns and
#: cancellations have no known Cainiao code, so they must stay unknown).
EXPECTED: dict[str, Status] = {
    "accepted": Status.INFO_RECEIVED, "picked_up": Status.IN_TRANSIT,
    "in_transit": Status.IN_TRANSIT, "customs": Status.IN_TRANSIT,
    "customs_failed": Status.EXCEPTION, "arrived_city": Status.IN_TRANSIT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY, "at_station": Status.READY_FOR_PICKUP,
    "delivered": Status.DELIVERED, "delivered_station": Status.DELIVERED,
    "failed_attempt": Status.EXCEPTION, "problem": Status.EXCEPTION,
    "refused": Status.EXCEPTION, "returning": Status.UNKNOWN, "returned": Status.UNKNOWN,
    "cancelled": Status.UNKNOWN,
}


@pytest.fixture(scope="module")
def _served() -> Iterator[Sandbox]:
    # One server for the module: stopping a server costs ~0.5 s (serve_forever's poll).
    from parcelctl.sandbox.server import RunningSandbox, Sandbox

    with RunningSandbox(Sandbox(services=["cainiao"])) as running:
        yield running


@pytest.fixture
def sandbox(_served: Sandbox) -> Sandbox:
    """The module's sandbox, back to a fresh state: counters, faults, knobs and clock."""
    control(_served, "reset", {})
    control(_served, "service/cainiao", {"rate_limit": None, "max_batch": 10,
                                         "require_lang": True})
    _served.sandbox.clock.offset = timedelta()
    return _served


def control(sandbox: Sandbox, path: str, body: dict[str, Any]) -> Any:
    return httpx.post(f"{sandbox.base_url}/_sandbox/{path}", json=body).json()


def stats(sandbox: Sandbox) -> dict[str, Any]:
    return httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()  # type: ignore[no-any-return]


def track(sandbox: Sandbox, numbers: list[str], *, rate: float | None = None,
          attempts: int = 1, **extra: Any) -> list[TrackResult]:
    settings = dict(sandbox.sandbox.credentials()["cainiao"]) | extra

    async def main() -> list[TrackResult]:
        async with HttpClient("cainiao", rate=rate, timeout=5.0,
                              retry=RetryPolicy(attempts=attempts, base_delay=0.01)) as http:
            provider = CainiaoProvider(settings, http)
            return await provider.track([TrackRequest(n) for n in numbers])

    return asyncio.run(main())


def expected_status(sandbox: Sandbox, number: str) -> Status:
    service = sandbox.sandbox.services["cainiao"]
    shipment = sandbox.sandbox.dataset.shipment(number)
    visible = shipment.visible(service.hours_now())
    return EXPECTED[max(visible, key=lambda e: e.hours).stage]


def test_credentials_are_keyless(sandbox: Sandbox) -> None:
    assert sandbox.sandbox.credentials()["cainiao"] == {"base_url": f"{sandbox.base_url}/cainiao"}


def test_dataset_parcels_in_batches(sandbox: Sandbox) -> None:
    numbers = [s.number for s in CURATED]
    assert len(numbers) > 10
    results = track(sandbox, [*numbers, "LP00000000000000"])
    assert [r.number for r in results] == [*numbers, "LP00000000000000"]
    for number, result in zip(numbers, results, strict=False):
        assert not result.no_info, number
        assert result.status is expected_status(sandbox, number), number
        assert all(e.time.tzinfo is not None for e in result.events)
    assert results[-1].no_info and results[-1].status is Status.UNKNOWN
    counts = stats(sandbox)
    assert counts["requests"] == {"cainiao detail": 2}  # 13 numbers, 10 per request
    assert all(counts["numbers"][f"cainiao {n}"] == 1 for n in numbers)


def test_several_numbers_in_one_request(sandbox: Sandbox) -> None:
    numbers = ["SF1321934960512", "773027491214552", "NOINFO1", "LP00123456789012"]
    results = track(sandbox, numbers)
    assert [r.status for r in results] == [
        Status.IN_TRANSIT, Status.READY_FOR_PICKUP, Status.UNKNOWN, Status.DELIVERED]
    assert results[1].pickup_code == "A-7-3021"
    assert results[2].no_info
    assert stats(sandbox)["requests"] == {"cainiao detail": 1}


def test_configured_batch_size_splits_requests(sandbox: Sandbox) -> None:
    control(sandbox, "service/cainiao", {"max_batch": 2})
    track(sandbox, ["LP1", "LP2", "LP3", "LP4", "LP5"], batch_size=2)
    assert stats(sandbox)["requests"] == {"cainiao detail": 3}


def test_batch_over_the_service_limit_is_an_error(sandbox: Sandbox) -> None:
    control(sandbox, "service/cainiao", {"max_batch": 3})
    with pytest.raises(ProviderError, match="PARAM_ERROR"):
        track(sandbox, ["LP1", "LP2", "LP3", "LP4"])


def test_unknown_number_is_no_info(sandbox: Sandbox) -> None:
    [result] = track(sandbox, ["NOINFO0000001"])
    assert result.no_info and result.error is None and result.events == []


def test_parcels_move_with_the_clock(sandbox: Sandbox) -> None:
    [before] = track(sandbox, ["SF1321934960512"])
    control(sandbox, "clock", {"advance": 8 * 3600})
    [after] = track(sandbox, ["SF1321934960512"])
    assert before.status is Status.IN_TRANSIT
    assert after.status is Status.DELIVERED and after.raw_status == "GTMS_SIGNED"
    assert len(after.events) == len(before.events) + 2


def test_wire_format_time_rule(sandbox: Sandbox) -> None:
    """The sandbox speaks the sheet's format: ms epoch, UTC+8 timeStr, mixed zones."""
    response = httpx.get(f"{sandbox.base_url}/cainiao/global/detail.json",
                         params={"mailNos": "LP00123456789012,NOINFO2", "lang": "en-US",
                                 "language": "en-US"})
    body = response.json()
    assert body["success"] is True
    known, unknown = body["module"]
    assert unknown == {"mailNo": "NOINFO2", "mailNoSource": "EXTERNAL", "detailList": []}
    times = [e["time"] for e in known["detailList"]]
    assert times == sorted(times, reverse=True)
    utc8 = timezone(timedelta(hours=8))
    for event in known["detailList"]:
        wall = datetime.fromtimestamp(event["time"] / 1000, utc8).strftime("%Y-%m-%d %H:%M:%S")
        assert event["timeStr"] == wall
    zones = {e["timeZone"] for e in known["detailList"]}
    assert "" in zones and len(zones) >= 3
    assert known["latestTrace"] == known["detailList"][0]
    # The provider shows blank zones as +08:00 and keeps the instant from `time`.
    [result] = track(sandbox, ["LP00123456789012"])
    for raw, event in zip(known["detailList"], result.events, strict=True):
        assert event.time == datetime.fromtimestamp(raw["time"] / 1000, UTC)
        if raw["timeZone"] == "":
            assert event.time.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(("params", "code"), [
    ({"lang": "en-US"}, "PARAM_ERROR"),
    ({"mailNos": "", "lang": "en-US"}, "PARAM_ERROR"),
    ({"mailNos": "LP1"}, "PARAM_ERROR"),
])
def test_sandbox_validates_parameters(sandbox: Sandbox, params: dict[str, str], code: str
                                      ) -> None:
    body = httpx.get(f"{sandbox.base_url}/cainiao/global/detail.json", params=params).json()
    assert body["success"] is False and body["errorCode"] == code


def test_business_error_envelope(sandbox: Sandbox) -> None:
    control(sandbox, "faults", {"service": "cainiao", "kind": "business", "count": 1})
    with pytest.raises(ProviderError, match="SYSTEM_ERROR") as info:
        track(sandbox, ["LP00123456789012"])
    assert not isinstance(info.value, ProviderChanged | TransientError)


@pytest.mark.parametrize(("kind", "error"), [
    ("html200", ProviderChanged), ("wrong_shape", ProviderChanged),
    ("truncated", ProviderChanged), ("http502", TransientError), ("429", RateLimited),
])
def test_faults(sandbox: Sandbox, kind: str, error: type[Exception]) -> None:
    control(sandbox, "faults", {"service": "cainiao", "kind": kind, "count": 1})
    with pytest.raises(error):
        track(sandbox, ["LP00123456789012"])


def test_retry_after_a_server_error(sandbox: Sandbox) -> None:
    control(sandbox, "faults", {"service": "cainiao", "kind": "http503", "count": 1})
    [result] = track(sandbox, ["LP00123456789012"], attempts=2)
    assert result.status is Status.DELIVERED
    assert stats(sandbox)["requests"] == {"cainiao detail": 2}


def test_wrong_path_is_provider_changed(sandbox: Sandbox) -> None:
    with pytest.raises(ProviderChanged, match="404"):
        track(sandbox, ["LP00123456789012"], base_url=f"{sandbox.base_url}/cainiao/v2")


def test_configured_limit_throttles_an_ungentle_client(sandbox: Sandbox) -> None:
    control(sandbox, "service/cainiao", {"rate_limit": 0.5})
    with pytest.raises(RateLimited):
        track(sandbox, ["LP1", "LP2", "LP3"], batch_size=1)  # no client-side rate


def test_gentle_default_rate_is_respected(sandbox: Sandbox) -> None:
    # The sandbox allows one request per ~1.8 s; the provider's default 0.5/s spaces them 2 s.
    control(sandbox, "service/cainiao", {"rate_limit": 0.55})
    start = time.monotonic()
    results = track(sandbox, ["LP1", "LP2", "LP3"], rate=CainiaoProvider.rate_per_second,
                    batch_size=2)
    elapsed = time.monotonic() - start
    assert len(results) == 3
    assert stats(sandbox)["requests"] == {"cainiao detail": 2}  # no throttled retries
    assert elapsed >= 1.9
    hits = sandbox.sandbox.stats.times["cainiao"]
    assert hits[1] - hits[0] >= 1.8
