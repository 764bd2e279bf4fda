"""The real 17TRACK provider with a real HttpClient against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from parcelctl.errors import (
    AuthError,
    ProviderChanged,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TrackRequest, TrackResult
from parcelctl.providers.seventeentrack import SeventeenTrackProvider

NAME = "17track"

#: What 17TRACK says about the curated dataset parcels at sandbox start.
EXPECTED = {
    "YT6247854916511": Status.DELIVERED,
    "SF1321934960512": Status.IN_TRANSIT,
    "773027491214552": Status.READY_FOR_PICKUP,
    "3950055201640": Status.EXCEPTION,
    "JT0006968326954": Status.RETURNED,
    "DPK364112047425": Status.INFO_RECEIVED,
    "JDVA11408814483": Status.OUT_FOR_DELIVERY,
    "LP00123456789012": Status.DELIVERED,
    "RB123456785CN": Status.EXCEPTION,
    "50905742808412": Status.EXCEPTION,
    "1240921381750": Status.INFO_RECEIVED,
    "75312345678901": Status.CANCELLED,
}


def track(sandbox: Any, requests: list[TrackRequest], *, settings: dict[str, Any] | None = None,
          retry: RetryPolicy | None = None) -> tuple[list[TrackResult], int]:
    """Run one track() call; returns the results and the requests the client sent."""
    config = sandbox.sandbox.credentials()[NAME] | (settings or {})

    async def go() -> tuple[list[TrackResult], int]:
        async with HttpClient(NAME, rate=SeventeenTrackProvider.rate_per_second,
                              retry=retry) as http:
            provider = SeventeenTrackProvider(config, http)
            return await provider.track(requests), http.requests_sent

    return asyncio.run(go())


def stats(sandbox: Any) -> dict[str, int]:
    return dict(httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()["requests"])


def control(sandbox: Any, path: str, body: dict[str, Any]) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/{path}", json=body).raise_for_status()


def raw(sandbox: Any, endpoint: str, body: Any, token: str | None = None) -> httpx.Response:
    creds = sandbox.sandbox.credentials()[NAME]
    return httpx.post(f"{creds['base_url']}/{endpoint}", json=body,
                      headers={"17token": token or creds["token"]})


def test_dataset_statuses(sandbox: Any) -> None:
    numbers = [*EXPECTED, "YT0000000000000"]
    results, sent = track(sandbox, [TrackRequest(n) for n in numbers])
    assert sent == 2
    got = {r.number: r for r in results}
    assert {n: got[n].status for n in EXPECTED} == EXPECTED
    assert all(got[n].error is None and not got[n].no_info for n in EXPECTED)
    assert got["YT0000000000000"].no_info and got["YT0000000000000"].status is Status.UNKNOWN
    # Beijing offset kept; newest first.
    yt = got["YT6247854916511"]
    assert len(yt.events) == 7
    assert all(e.time.utcoffset() == timedelta(hours=8) for e in yt.events)
    assert yt.events == sorted(yt.events, key=lambda e: e.time, reverse=True)
    assert yt.events[0].status is Status.DELIVERED
    assert "取件码 3-2-1107" in yt.events[1].description
    assert got["773027491214552"].pickup_code == "A-7-3021"
    assert yt.pickup_code is None  # delivered: the code is history
    # The cross-border parcel is reported by two carriers; every event comes back once.
    assert len(got["LP00123456789012"].events) == 7
    assert stats(sandbox) == {"17track register": 1, "17track gettrackinfo": 1}


def test_clock_moves_parcels_and_second_round_is_already_registered(sandbox: Any) -> None:
    (first,), _ = track(sandbox, [TrackRequest("SF1321934960512")])
    assert first.status is Status.IN_TRANSIT
    control(sandbox, "clock", {"advance": 8 * 3600})
    (later,), _ = track(sandbox, [TrackRequest("SF1321934960512")])  # -18019901 path
    assert later.status is Status.DELIVERED and later.error is None
    assert later.events[0].description.startswith("快件已签收")


def test_hundred_numbers_three_batches_within_the_rate_limit(sandbox: Any) -> None:
    numbers = [f"ZT{i:013d}" for i in range(100)]
    config = sandbox.sandbox.credentials()[NAME]

    async def go() -> tuple[list[TrackResult], int]:
        async with HttpClient(NAME, rate=SeventeenTrackProvider.rate_per_second) as http:
            provider = SeventeenTrackProvider(config, http)
            size = provider.batch_size
            batches = [numbers[i:i + size] for i in range(0, len(numbers), size)]
            # Concurrently, as a sync would: only the rate limiter spaces them out.
            done = await asyncio.gather(*(provider.track([TrackRequest(n) for n in batch])
                                          for batch in batches))
            return [r for batch in done for r in batch], http.requests_sent

    results, sent = asyncio.run(go())
    assert [r.number for r in results] == numbers
    assert all(r.error is None and r.status is not Status.UNKNOWN for r in results)
    assert sent == 6  # not one retry: the sandbox never answered 429
    assert stats(sandbox) == {"17track register": 3, "17track gettrackinfo": 3}
    times = sorted(sandbox.sandbox.stats.times[NAME])
    assert len(times) == 6
    # No one-second window holds more than 3 requests.
    assert all(times[i + 3] - times[i] >= 1.0 for i in range(len(times) - 3))


def test_sandbox_enforces_the_rate_limit_with_the_documented_429(sandbox: Any) -> None:
    answers = [raw(sandbox, "getquota", []) for _ in range(5)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, [a.status_code for a in answers]
    assert throttled[0].json() == {"code": 429, "data": {"errors": [
        {"code": 429, "message": "Too many requests."}]}}


def test_wrong_token_is_an_auth_error(sandbox: Any) -> None:
    with pytest.raises(AuthError) as info:
        track(sandbox, [TrackRequest("SF1321934960512")],
              settings={"token": "wrong-token-123456"})
    assert "providers.17track.token" in str(info.value)
    assert "wrong-token-123456" not in str(info.value)
    answer = raw(sandbox, "register", [], token="nope")
    assert answer.status_code == 401
    assert answer.json()["data"]["errors"][0]["code"] == -18010002


def test_malformed_number_rejected_per_item(sandbox: Any) -> None:
    results, _ = track(sandbox, [TrackRequest("SF1321934960512"), TrackRequest("1234"),
                                 TrackRequest("YT6247854916511")])
    good1, bad, good2 = results
    assert bad.error and bad.error_kind == "UsageError" and bad.raw_status == "-18010012"
    assert good1.status is Status.IN_TRANSIT and good1.error is None
    assert good2.status is Status.DELIVERED and good2.error is None
    numbers = sandbox.sandbox.stats.snapshot()["numbers"]
    assert "17track 1234" not in numbers  # never queried after the register rejection


def test_configured_carrier_round_trip(sandbox: Any) -> None:
    (result,), _ = track(sandbox, [TrackRequest("JDVA11408814483", "dhl"),],
                         settings={"carriers": {"jd": 0}})
    assert result.carrier == "dhl"
    assert result.status is Status.OUT_FOR_DELIVERY
    assert sandbox.sandbox.services[NAME].registered["JDVA11408814483"].carrier == 100001


WHOLE_CALL = [
    (-18010001, AuthError), (-18010002, AuthError), (-18010004, AuthError),
    (-18010005, AuthError), (-18010003, TransientError), (-18019907, QuotaExceeded),
    (-18019908, QuotaExceeded),
]
FAULTS = [("business", QuotaExceeded), ("html200", ProviderChanged),
          ("wrong_shape", ProviderChanged), ("429", RateLimited)]


def test_every_whole_call_envelope_and_fault(sandbox: Any) -> None:
    """One provider for all cases, so its rate limiter spaces the calls like a real sync."""
    config = sandbox.sandbox.credentials()[NAME]
    seen: list[tuple[str, type[Exception]]] = []

    async def go() -> None:
        async with HttpClient(NAME, rate=SeventeenTrackProvider.rate_per_second,
                              retry=RetryPolicy(attempts=2, base_delay=0.05)) as http:
            provider = SeventeenTrackProvider(config, http)
            for code, cls in WHOLE_CALL:
                control(sandbox, f"service/{NAME}", {"fail_with": code})
                with pytest.raises(cls):
                    await provider.track([TrackRequest("SF1321934960512")])
                seen.append((str(code), cls))
            control(sandbox, f"service/{NAME}", {"fail_with": 0})
            for kind, cls in FAULTS:
                control(sandbox, "faults", {"service": NAME, "kind": kind})
                with pytest.raises(cls):
                    await provider.track([TrackRequest("SF1321934960512")])
                httpx.delete(f"{sandbox.base_url}/_sandbox/faults").raise_for_status()
                seen.append((kind, cls))
            (result,) = await provider.track([TrackRequest("SF1321934960512")])
            assert result.status is Status.IN_TRANSIT  # healthy again once faults clear

    asyncio.run(go())
    assert len(seen) == len(WHOLE_CALL) + len(FAULTS)


def test_one_429_is_retried(sandbox: Any) -> None:
    control(sandbox, "faults", {"service": NAME, "kind": "429", "count": 1,
                                "endpoint": "gettrackinfo"})
    (result,), sent = track(sandbox, [TrackRequest("SF1321934960512")],
                            retry=RetryPolicy(base_delay=0.05))
    assert result.status is Status.IN_TRANSIT
    assert sent == 3
    assert stats(sandbox)["17track gettrackinfo"] == 2


def test_sandbox_protocol_checks(sandbox: Any) -> None:
    sandbox.sandbox.enforce_rate_limits = False  # raw calls below, no limiter of ours
    too_many = raw(sandbox, "register", [{"number": f"AB{i:08d}"} for i in range(41)])
    assert too_many.json()["code"] == -18010014
    not_registered = raw(sandbox, "gettrackinfo", [{"number": "ABCDE12345"}]).json()
    assert not_registered["data"]["rejected"][0]["error"]["code"] == -18019902
    not_array = raw(sandbox, "register", {"number": "ABCDE12345"}).json()
    assert not_array["code"] == -18010013
    first = raw(sandbox, "register", [{"number": "ABCDE12345"}, {"carrier": 1},
                                      {"number": "ABCDE12346", "carrier": "x"}]).json()
    assert first["data"]["accepted"][0]["number"] == "ABCDE12345"
    assert [r["error"]["code"] for r in first["data"]["rejected"]] == [-18010010, -18010011]
    again = raw(sandbox, "register", [{"number": "ABCDE12345"}]).json()
    assert again["data"]["rejected"][0]["error"]["code"] == -18019901
    quota = raw(sandbox, "getquota", []).json()["data"]
    assert quota["quota_used"] == 1
    stop = raw(sandbox, "stoptrack", [{"number": "ABCDE12345"}]).json()["data"]
    assert stop["accepted"] == [{"number": "ABCDE12345", "carrier": stop["accepted"][0]["carrier"]}]
    stop = raw(sandbox, "stoptrack", [{"number": "ABCDE12345"}]).json()["data"]
    assert stop["rejected"][0]["error"]["code"] == -18019906
    assert raw(sandbox, "nosuch", []).status_code == 404


def test_sync_polls_registered_numbers_with_one_request(sandbox: Any) -> None:
    """Through the Syncer: the first poll registers, later ones only ask (one request per
    batch instead of two); a registration 17TRACK lost is made again, nothing fails."""
    from datetime import timedelta

    from parcelctl.config import Config
    from parcelctl.models import utcnow
    from parcelctl.store import Store
    from parcelctl.sync import Syncer

    config = Config()
    for key, value in sandbox.sandbox.credentials()["17track"].items():
        config.set(f"providers.17track.{key}", value)
    config.paths.ensure()
    numbers = ["SF1321934960512", "773027491214552", "YT6247854916511"]
    offset = timedelta()

    def clock() -> Any:
        return utcnow() + offset

    def sync_round(hours: float) -> dict[str, int]:
        nonlocal offset
        offset += timedelta(hours=hours)
        control(sandbox, "clock", {"advance": hours * 3600})
        before = stats(sandbox)
        with Store(config.paths.db_file) as store:
            summary = asyncio.run(Syncer(config, store, clock=clock).run(force=True))
        assert summary.exit_code == 0, summary.to_json()
        return {k: v - before.get(k, 0) for k, v in stats(sandbox).items()
                if v != before.get(k, 0)}

    with Store(config.paths.db_file) as store, store.transaction():
        for number in numbers:
            store.add_parcel(number, "", tracking_provider="17track")
    assert sync_round(0) == {"17track register": 1, "17track gettrackinfo": 1}
    assert sync_round(2) == {"17track gettrackinfo": 1}
    control(sandbox, "service/17track", {"reset_registrations": True})
    assert sync_round(2) == {"17track gettrackinfo": 2, "17track register": 1}
    with Store(config.paths.db_file) as store:
        rows = store.db.execute("SELECT number, last_error FROM parcels").fetchall()
    assert sorted(tuple(r) for r in rows) == [(n, None) for n in sorted(numbers)]
