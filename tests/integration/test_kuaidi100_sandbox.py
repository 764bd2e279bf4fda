"""The real Kuaidi100 provider with a real HttpClient against the sandbox on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from parcelctl.errors import (
    AuthError,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    UsageError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import CarrierCandidate, Status, TrackRequest, TrackResult
from parcelctl.providers.kuaidi100 import Kuaidi100Provider

Sandbox = Any  # parcelctl.sandbox.server.RunningSandbox
#: One plain client for control calls and raw requests (creating clients is the slow part).
_raw = httpx.Client(timeout=5.0)


@pytest.fixture(scope="module")
def _served() -> Iterator[Sandbox]:
    # One server for the module: stopping a server costs ~0.5 s (serve_forever's poll).
    from parcelctl.sandbox.server import RunningSandbox, Sandbox

    with RunningSandbox(Sandbox(services=["kuaidi100"])) as running:
        yield running
    _raw.close()


@pytest.fixture
def sandbox(_served: Sandbox) -> Sandbox:
    """The module's sandbox, back to a fresh state: counters, faults, knobs and clock."""
    control(_served, "reset", {})
    control(_served, "service/kuaidi100", {"force_return_code": None, "quota": None})
    _served.sandbox.clock.offset = timedelta()
    return _served


def _settings(sandbox: Sandbox, **extra: Any) -> dict[str, Any]:
    return dict(sandbox.sandbox.credentials()["kuaidi100"]) | extra


def _run(sandbox: Sandbox, coro: Callable[[Kuaidi100Provider], Any], *, attempts: int = 1,
         timeout: float = 5.0, **extra: Any) -> Any:
    async def main() -> Any:
        http = HttpClient("kuaidi100", retry=RetryPolicy(attempts=attempts, base_delay=0.01),
                          timeout=timeout)
        try:
            return await coro(Kuaidi100Provider(_settings(sandbox, **extra), http))
        finally:
            await http.aclose()
    return asyncio.run(main())


def track(sandbox: Sandbox, number: str, carrier: str, phone: str | None = None,
          **extra: Any) -> TrackResult:
    async def go(provider: Kuaidi100Provider) -> TrackResult:
        (result,) = await provider.track([TrackRequest(number, carrier, phone)])
        return result
    result: TrackResult = _run(sandbox, go, **extra)
    return result


def detect(sandbox: Sandbox, number: str, **extra: Any) -> list[CarrierCandidate]:
    async def go(provider: Kuaidi100Provider) -> list[CarrierCandidate]:
        return await provider.detect_carrier(number)
    found: list[CarrierCandidate] = _run(sandbox, go, **extra)
    return found


def control(sandbox: Sandbox, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{sandbox.base_url}/_sandbox/{path}"
    response = _raw.post(url, json=body) if body is not None else _raw.get(url)
    response.raise_for_status()
    return response.json()


def stats(sandbox: Sandbox) -> dict[str, Any]:
    result: dict[str, Any] = control(sandbox, "stats")
    return result


def fault(sandbox: Sandbox, kind: str, endpoint: str = "query", count: int = 1,
          seconds: float = 1.0) -> None:
    control(sandbox, "faults", {"service": "kuaidi100", "endpoint": endpoint, "kind": kind,
                                "count": count, "seconds": seconds})


# -- dataset parcels -----------------------------------------------------------------------
@pytest.mark.parametrize(("number", "carrier", "phone", "status"), [
    ("YT6247854916511", "yuantong", None, Status.DELIVERED),
    ("SF1321934960512", "shunfeng", "1234", Status.IN_TRANSIT),
    ("773027491214552", "shentong", None, Status.READY_FOR_PICKUP),
    ("3950055201640", "yunda", None, Status.EXCEPTION),
    ("JT0006968326954", "jtexpress", None, Status.RETURNED),
    ("DPK364112047425", "debangwuliu", None, Status.INFO_RECEIVED),
    ("JDVA11408814483", "jd", None, Status.OUT_FOR_DELIVERY),
    ("RB123456785CN", "youzhengguoji", None, Status.EXCEPTION),
    ("50905742808412", "huitongkuaidi", None, Status.EXCEPTION),
    ("1240921381750", "youzhengguonei", None, Status.INFO_RECEIVED),
    ("75312345678901", "zhongtong", "13912345678", Status.CANCELLED),
])
def test_dataset_parcels(sandbox: Sandbox, number: str, carrier: str, phone: str | None,
                         status: Status) -> None:
    result = track(sandbox, number, carrier, phone)
    assert result.error is None and not result.no_info
    assert result.status is status
    assert result.events and all(e.time.utcoffset() is not None for e in result.events)
    times = [e.time for e in result.events]
    assert times == sorted(times, reverse=True)
    assert stats(sandbox)["numbers"] == {f"kuaidi100 {number}": 1}


def test_timeline_details_and_clock(sandbox: Sandbox) -> None:
    result = track(sandbox, "YT6247854916511", "yuantong")
    # Collected by the buyer (301) after the station signed for it (304, errata Q3).
    assert len(result.events) == 7 and result.raw_status == "301"
    assert (result.events[1].raw_code, result.events[1].status) == (
        "304", Status.READY_FOR_PICKUP)
    assert result.events[0].location == "成都市"
    assert result.pickup_code is None
    assert track(sandbox, "SF1321934960512", "shunfeng", "1234").status is Status.IN_TRANSIT
    control(sandbox, "clock", {"advance": 8 * 3600})
    later = track(sandbox, "SF1321934960512", "shunfeng", "1234")
    assert later.status is Status.DELIVERED and len(later.events) == 5


def test_basic_result_mode(sandbox: Sandbox) -> None:
    result = track(sandbox, "773027491214552", "shentong", resultv2="")
    # No per-event codes: the top-level (basic) state is all there is, and for a parcel a
    # station signed for (304) that is "3" 签收: only resultv2=4 (the default) tells them
    # apart (errata Q3).
    assert result.status is Status.DELIVERED
    assert all(e.status is None for e in result.events)


def test_unknown_number_and_wrong_carrier_are_no_info(sandbox: Sandbox) -> None:
    assert track(sandbox, "YT0000000000000", "yuantong").no_info
    wrong = track(sandbox, "YT6247854916511", "shentong")
    assert wrong.no_info and wrong.status is Status.UNKNOWN and wrong.error is None


def test_not_yet_visible_parcel_is_no_info(sandbox: Sandbox) -> None:
    control(sandbox, "clock", {"advance": -6 * 3600})
    assert track(sandbox, "1240921381750", "youzhengguonei").no_info


def test_unsupported_carrier_code_is_per_item(sandbox: Sandbox) -> None:
    result = track(sandbox, "YT6247854916511", "nosuchcarrier")
    assert result.error_kind == "UsageError"


# -- phone ---------------------------------------------------------------------------------
def test_phone_required_makes_no_request(sandbox: Sandbox) -> None:
    result = track(sandbox, "SF1321934960512", "shunfeng")
    assert result.error_kind == "PhoneRequired"
    snapshot = stats(sandbox)
    assert snapshot["requests"] == {} and snapshot["numbers"] == {}


@pytest.mark.parametrize("phone", ["13800001234", "1234"])
def test_phone_from_config(sandbox: Sandbox, phone: str) -> None:
    assert track(sandbox, "SF1321934960512", "shunfeng", phone=phone).status is \
        Status.IN_TRANSIT


def test_wrong_phone_is_408_per_item(sandbox: Sandbox) -> None:
    result = track(sandbox, "SF1321934960512", "shunfeng", "9999")
    assert result.error_kind == "PhoneRequired" and "--phone LAST4" in (result.error or "")
    assert stats(sandbox)["requests"] == {"kuaidi100 query": 1}


# -- credentials and error envelopes -----------------------------------------------------------
def test_wrong_key_is_auth_error(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError) as info:
        track(sandbox, "YT6247854916511", "yuantong", key="not-the-key")
    assert "not-the-key" not in str(info.value) and "providers.kuaidi100.key" in str(info.value)


def test_wrong_customer_is_auth_error(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError):
        track(sandbox, "YT6247854916511", "yuantong", customer="SOMEONEELSE")


@pytest.mark.parametrize(("code", "expect"), [
    ("400", AuthError), ("502", TransientError), ("503", AuthError),
    ("601", QuotaExceeded), ("999", ProviderError),
])
def test_every_raising_return_code(sandbox: Sandbox, code: str, expect: type[Exception]
                                   ) -> None:
    control(sandbox, "service/kuaidi100", {"force_return_code": code})
    with pytest.raises(expect):
        track(sandbox, "YT6247854916511", "yuantong")


@pytest.mark.parametrize(("code", "check"), [
    ("408", lambda r: r.error_kind == "PhoneRequired"),
    ("500", lambda r: r.no_info and r.error is None),
    ("201", lambda r: r.error_kind == "ProviderError" and r.status is Status.UNKNOWN),
    ("501", lambda r: r.error_kind == "TransientError" and r.status is Status.UNKNOWN),
])
def test_every_item_return_code(sandbox: Sandbox, code: str,
                                check: Callable[[TrackResult], bool]) -> None:
    control(sandbox, "service/kuaidi100", {"force_return_code": code})
    assert check(track(sandbox, "YT6247854916511", "yuantong"))


def test_business_fault_is_quota(sandbox: Sandbox) -> None:
    fault(sandbox, "business")
    with pytest.raises(QuotaExceeded):
        track(sandbox, "YT6247854916511", "yuantong")
    assert track(sandbox, "YT6247854916511", "yuantong").status is Status.DELIVERED


@pytest.mark.parametrize(("kind", "expect"), [
    ("http500", TransientError), ("http503", TransientError), ("429", RateLimited),
    ("wrong_shape", ProviderChanged), ("html200", ProviderChanged),
    ("truncated", ProviderChanged), ("reset", TransientError),
])
def test_faults(sandbox: Sandbox, kind: str, expect: type[Exception]) -> None:
    fault(sandbox, kind, count=5)
    with pytest.raises(expect):
        track(sandbox, "YT6247854916511", "yuantong")


def test_an_error_answer_is_retried(sandbox: Sandbox) -> None:
    fault(sandbox, "http502", count=1)
    result = track(sandbox, "YT6247854916511", "yuantong", attempts=3)
    assert result.status is Status.DELIVERED
    assert stats(sandbox)["requests"] == {"kuaidi100 query": 2}


@pytest.mark.parametrize("kind", ["slow", "reset"])
def test_an_unanswered_query_is_not_sent_again_at_once(sandbox: Sandbox, kind: str) -> None:
    """After a read timeout or a dropped connection the query may have been answered and
    billed; the same number asked again seconds later is what kuaidi100 locks (锁单)."""
    fault(sandbox, kind, count=1)
    with pytest.raises(TransientError):
        track(sandbox, "YT6247854916511", "yuantong", attempts=3, timeout=0.5)
    assert stats(sandbox)["requests"] == {"kuaidi100 query": 1}
    # The next sync asks again, and gets the answer.
    assert track(sandbox, "YT6247854916511", "yuantong").status is Status.DELIVERED


def test_request_counting(sandbox: Sandbox) -> None:
    for _ in range(3):
        track(sandbox, "YT6247854916511", "yuantong")
    track(sandbox, "773027491214552", "shentong")
    snapshot = stats(sandbox)
    assert snapshot["requests"] == {"kuaidi100 query": 4}
    assert snapshot["numbers"] == {"kuaidi100 YT6247854916511": 3,
                                   "kuaidi100 773027491214552": 1}


# -- carrier detection -----------------------------------------------------------------------
@pytest.mark.parametrize(("number", "first"), [
    ("YT6247854916511", "yuantong"), ("SF1321934960512", "shunfeng"),
    ("75312345678901", "zhongtong"), ("RB123456785CN", "youzhengguoji"),
    ("1240921381750", "youzhengguonei"), ("4321", None),
])
def test_detect_carrier(sandbox: Sandbox, number: str, first: str | None) -> None:
    if first is None:
        with pytest.raises(UsageError):  # returnCode 201: not a valid number
            detect(sandbox, number)
        return
    found = detect(sandbox, number)
    assert found[0].code == first and found[0].confidence == "high"
    assert stats(sandbox)["requests"] == {"kuaidi100 autonumber": 1}


def test_a_weak_local_hint_never_overrides_kuaidi100s_detection(
        sandbox: Sandbox, parcelctl_home: Path) -> None:
    """China Post 1240921381750: autonumber answers youzhengguonei first, then ems; the
    local table's low-confidence ^1\\d{12}$ row says ems. That used to store ems, and
    every paid poll answered "no result". Ambiguous stays ambiguous, best match first."""
    from parcelctl.config import Config
    from parcelctl.tracking import resolve_carrier

    config = Config()
    for key, value in _settings(sandbox).items():
        config.set(f"providers.kuaidi100.{key}", value)
    with pytest.raises(UsageError) as info:
        asyncio.run(resolve_carrier(config, "kuaidi100", "1240921381750", None))
    assert "best match first: youzhengguonei" in str(info.value)
    assert "--carrier" in (info.value.hint or "")
    # A local pattern that agrees with kuaidi100's best match is taken as it is.
    parcel = asyncio.run(resolve_carrier(config, "kuaidi100", "YT6247854916511", None))
    assert parcel.carrier == "yuantong"


def test_detect_carrier_wrong_key(sandbox: Sandbox) -> None:
    with pytest.raises(QuotaExceeded):
        detect(sandbox, "YT6247854916511", key="wrong")


def test_detect_carrier_without_key_asks_nobody(sandbox: Sandbox) -> None:
    assert detect(sandbox, "YT6247854916511", key="") == []
    assert stats(sandbox)["requests"] == {}


# -- the simulator's own strictness (raw HTTP, no provider) --------------------------------------
def _raw_query(sandbox: Sandbox, param: str, *, key: str | None = None,
               sign_case: Callable[[str], str] = str.upper, as_json: bool = False
               ) -> dict[str, Any]:
    creds = _settings(sandbox)
    digest = hashlib.md5((param + (key or creds["key"]) + creds["customer"]).encode())
    fields = {"customer": creds["customer"], "param": param,
              "sign": sign_case(digest.hexdigest())}
    url = creds["base_url"] + "/poll/query.do"
    response = _raw.post(url, json=fields) if as_json else _raw.post(url, data=fields)
    result: dict[str, Any] = response.json()
    return result


def test_sandbox_verifies_the_sign_over_received_param(sandbox: Sandbox) -> None:
    ascii_param = json.dumps({"com": "yuantong", "num": "YT6247854916511", "resultv2": "4",
                              "from": "广东"})  # \uXXXX escapes: still valid
    assert _raw_query(sandbox, ascii_param)["state"] == "3"
    assert _raw_query(sandbox, ascii_param, sign_case=str.lower)["returnCode"] == "503"
    assert _raw_query(sandbox, ascii_param, key="other")["returnCode"] == "503"
    assert _raw_query(sandbox, ascii_param, as_json=True)["returnCode"] == "400"


def test_sandbox_requires_com_and_num(sandbox: Sandbox) -> None:
    assert _raw_query(sandbox, '{"num":"YT6247854916511"}')["returnCode"] == "400"
    assert _raw_query(sandbox, "not json")["returnCode"] == "400"
    assert stats(sandbox)["numbers"] == {}


def test_sandbox_autonumber_key_missing(sandbox: Sandbox) -> None:
    url = _settings(sandbox)["autonumber_url"]
    assert _raw.post(url, data={"num": "YT6247854916511"}).json()["returnCode"] == "701"


def test_credentials_shape(sandbox: Sandbox) -> None:
    creds = _settings(sandbox)
    base = f"{sandbox.base_url}/kuaidi100"
    assert creds["base_url"] == base and creds["autonumber_url"] == base + "/autonumber/auto"
    assert creds["customer"] and creds["key"]
    assert Kuaidi100Provider.missing_settings(creds) == []


def test_simulator_never_imports_provider_code() -> None:
    import subprocess
    import sys

    code = ("import sys, parcelctl.sandbox.kuaidi100; "
            "print([m for m in sys.modules if m.startswith('parcelctl.providers')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
