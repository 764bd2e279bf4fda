"""Cainiao provider: golden payloads, every actionCode, the time rule, errors, the client."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelctl.errors import (
    ConfigError,
    ParcelctlError,
    ProviderChanged,
    ProviderError,
    TransientError,
)
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import Status, TrackRequest
from parcelctl.providers import registry
from parcelctl.providers.cainiao import (
    ACTION_STATUS,
    CainiaoProvider,
    last_mile_number,
    parse_detail,
    parse_zone,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLUS8 = timezone(timedelta(hours=8))

#: cainiao.md §3, copied independently of the provider: code -> parcelctl status.
SHEET: dict[str, str] = {
    "PRE_READY_TO_SHIP": "info_received", "CONSIGN": "info_received",
    "GWMS_ACCEPT": "info_received", "GWMS_PACKAGE": "info_received",
    "GWMS_OUTBOUND": "in_transit", "PU_PRE_PICKUP_SUCCESS": "in_transit",
    "PU_PICKUP_SUCCESS": "in_transit", "CW_INBOUND": "in_transit", "CW_OUTBOUND": "in_transit",
    "CW_COMMON_PROCESSING1": "in_transit", "SC_INBOUND_SUCCESS": "in_transit",
    "SC_OUTBOUND_SUCCESS": "in_transit", "SC_TRANS_INBOUND_SUCCESS": "in_transit",
    "SC_TRANS_OUTBOUND_SUCCESS": "in_transit", "CC_EX_START": "in_transit",
    "CC_EX_SUCCESS": "in_transit", "LH_HO_IN_SUCCESS": "in_transit",
    "LH_HO_AIRLINE": "in_transit", "LH_DEPART": "in_transit", "LH_ARRIVE": "in_transit",
    "LH_BIGBAG_SHELVE": "in_transit", "LH_POST_COLLECTION": "in_transit",
    "COMMON_INTRANSIT": "in_transit", "TD_TRANSWH_OUTBOUND": "in_transit",
    "TD_TRANS_DEPART_C": "in_transit", "TD_TRANS_ARRIVE_C": "in_transit",
    "TD_TRANS_ARRIVE_DCP": "in_transit", "TD_TRANS_DEPART": "in_transit",
    "TD_TRANS_ARRIVE": "in_transit", "CC_HO_IN_SUCCESS": "in_transit",
    "CC_IM_START": "in_transit", "CC_IM_SUCCESS": "in_transit",
    "CC_HO_OUT_SUCCESS": "in_transit", "CC_IM_FAILURE": "exception",
    "CC_IM_EXCEPTION": "exception", "GTMS_ACCEPT": "in_transit",
    "GTMS_SC_ARRIVE": "in_transit", "GTMS_SC_DEPART": "in_transit",
    "GTMS_OE_DEPART": "in_transit", "LAST_MILE_ASN_NOTIFY": "in_transit",
    "GTMS_DO_ARRIVE": "in_transit", "GTMS_STATION_OUT": "in_transit",
    "GTMS_DO_DEPART": "out_for_delivery", "GSTA_INBOUND": "ready_for_pickup",
    "GSTA_INFORM_BUYER": "ready_for_pickup", "GTMS_WAIT_SELF_PICK": "ready_for_pickup",
    "GTMS_STA_SIGNED": "ready_for_pickup", "GTMS_SIGNED": "delivered",
    "GTMS_DEL_FAILURE": "exception", "GTMS_STA_SIGN_FAILURE": "exception",
    "EXCEPTION": "exception",
}


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _event(code: str, ms: int | None = 1770362717000, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"actionCode": code, "desc": f"text {code}",
                             "standerdDesc": "std", "timeZone": "GMT+8"}
    if ms is not None:
        event["time"] = ms
    return event | extra


def _payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "module": list(entries)}


# -- golden payloads --------------------------------------------------------------------

def test_golden_delivered_parcel() -> None:
    [result] = parse_detail(load_fixture("cainiao-detail.json"), ["RC000000001EE"])
    assert result.number == "RC000000001EE"
    assert result.status is Status.DELIVERED
    assert result.raw_status == "GTMS_SIGNED"
    assert not result.no_info and result.error is None
    assert [e.raw_code for e in result.events] == [
        "GTMS_SIGNED", "GTMS_DO_DEPART", "CC_IM_SUCCESS", "COMMON_INTRANSIT", "LH_ARRIVE",
        "GTMS_OE_DEPART", "PU_PICKUP_SUCCESS"]
    assert [e.status for e in result.events] == [
        Status.DELIVERED, Status.OUT_FOR_DELIVERY] + [Status.IN_TRANSIT] * 5
    newest, oldest = result.events[0], result.events[-1]
    assert newest.time == datetime(2026, 2, 6, 15, 25, 17, tzinfo=PLUS8)
    assert newest.time.utcoffset() == timedelta(hours=8)
    assert newest.description == "Parcel delivered"
    assert oldest.time == datetime(2025, 12, 8, 22, 29, tzinfo=PLUS8)
    # "Carrier update" is the generic gloss; the carrier's own text wins.
    assert result.events[5].description == "Shipment departed from facility"
    assert result.pickup_code is None


def test_golden_unknown_number_is_no_info() -> None:
    [result] = parse_detail(load_fixture("cainiao-unknown.json"), ["LP00000000000"])
    assert result.no_info and result.status is Status.UNKNOWN
    assert result.events == [] and result.error is None


def test_one_result_per_requested_number_in_order() -> None:
    payload = copy.deepcopy(load_fixture("cainiao-detail.json"))
    payload["module"].append(load_fixture("cainiao-unknown.json")["module"][0])
    results = parse_detail(payload, ["MISSING1", "lp00000000000", "RC000000001EE"])
    assert [r.number for r in results] == ["MISSING1", "lp00000000000", "RC000000001EE"]
    assert [r.no_info for r in results] == [True, True, False]
    assert results[2].status is Status.DELIVERED


def test_empty_detail_list_is_no_info_even_when_not_external() -> None:
    [result] = parse_detail(_payload({"mailNo": "X1", "mailNoSource": "AE",
                                      "detailList": []}), ["X1"])
    assert result.no_info


def test_external_source_with_events_is_tracked() -> None:
    entry = {"mailNo": "X1", "mailNoSource": "EXTERNAL", "detailList": [_event("LH_DEPART")]}
    [result] = parse_detail(_payload(entry), ["X1"])
    assert not result.no_info and result.status is Status.IN_TRANSIT


# -- status table -----------------------------------------------------------------------

def test_table_covers_exactly_the_sheet() -> None:
    assert set(ACTION_STATUS) == set(SHEET)


@pytest.mark.parametrize("code", sorted(SHEET))
def test_every_action_code(code: str) -> None:
    assert ACTION_STATUS[code].value == SHEET[code]
    entry = {"mailNo": "N", "detailList": [_event(code)]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.status.value == SHEET[code] and result.raw_status == code


def test_station_signed_is_never_delivered() -> None:
    text = "快件已由成都红树湾二期店菜鸟驿站代收，请凭取件码 3-2-1107 及时取件"
    entry = {"mailNo": "N", "detailList": [_event("GTMS_STA_SIGNED", desc=text)]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.status is Status.READY_FOR_PICKUP
    assert result.pickup_code == "3-2-1107"


@pytest.mark.parametrize("code", ["RETURN_TO_SENDER", "ORDER_CANCELLED", "NEW_CODE_2027"])
def test_unknown_codes_are_unknown_and_logged(code: str, caplog: pytest.LogCaptureFixture
                                              ) -> None:
    entry = {"mailNo": "N", "detailList": [_event(code)]}
    with caplog.at_level(logging.WARNING):
        [result] = parse_detail(_payload(entry), ["N"])
    assert result.status is Status.UNKNOWN and result.raw_status == code
    assert code in caplog.text


def test_latest_trace_wins_over_detail_list() -> None:
    entry = {"mailNo": "N", "latestTrace": _event("GTMS_SIGNED", 3000),
             "detailList": [_event("LH_DEPART", 5000)]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.status is Status.DELIVERED


def test_without_latest_trace_newest_event_by_time_wins() -> None:
    entry = {"mailNo": "N", "detailList": [
        _event("LH_DEPART", 1000), _event("GTMS_DO_DEPART", 9000), _event("CONSIGN", 500)]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.status is Status.OUT_FOR_DELIVERY
    assert [e.raw_code for e in result.events] == ["GTMS_DO_DEPART", "LH_DEPART", "CONSIGN"]


def test_latest_trace_alone_is_an_event() -> None:
    entry = {"mailNo": "N", "latestTrace": _event("GSTA_INBOUND"), "detailList": []}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.status is Status.READY_FOR_PICKUP and len(result.events) == 1


# -- time rule --------------------------------------------------------------------------

def test_blank_zone_shows_gmt8() -> None:
    entry = {"mailNo": "N", "detailList": [_event("LH_DEPART", 1770362717000, timeZone="")]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.events[0].time.isoformat() == "2026-02-06T15:25:17+08:00"


def test_epoch_ms_wins_over_time_str_and_zone_is_display_only() -> None:
    # timeStr disagrees on purpose; the zone only changes how the same instant is shown.
    entry = {"mailNo": "N", "detailList": [_event(
        "LH_DEPART", 1770362717000, timeStr="2001-01-01 00:00:00", timeZone="GMT-3")]}
    [result] = parse_detail(_payload(entry), ["N"])
    when = result.events[0].time
    assert when.isoformat() == "2026-02-06T04:25:17-03:00"
    assert when == datetime(2026, 2, 6, 7, 25, 17, tzinfo=UTC)


def test_time_str_alone_is_read_as_utc8_not_as_its_zone() -> None:
    entry = {"mailNo": "N", "detailList": [_event(
        "LH_DEPART", None, timeStr="2026-02-06 15:25:17", timeZone="GMT+2")]}
    [result] = parse_detail(_payload(entry), ["N"])
    when = result.events[0].time
    assert when == datetime(2026, 2, 6, 15, 25, 17, tzinfo=PLUS8)
    assert when.utcoffset() == timedelta(hours=2)


def test_epoch_ms_as_digit_string() -> None:
    entry = {"mailNo": "N", "detailList": [_event("LH_DEPART", None, time="1770362717000")]}
    [result] = parse_detail(_payload(entry), ["N"])
    assert result.events[0].time == datetime(2026, 2, 6, 15, 25, 17, tzinfo=PLUS8)


@pytest.mark.parametrize(("text", "hours"), [
    ("GMT+8", 8), ("GMT+08:00", 8), ("GMT-3", -3), ("GMT+2", 2), ("", 8), (None, 8),
    ("  ", 8), ("GMT", 0), ("UTC+5:30", 5.5), ("GMT+0800", 8), ("gmt-03:00", -3),
    ("Europe/Brussels", 8), ("GMT+99", 8), ("GMT+5:75", 8),
])
def test_parse_zone(text: str | None, hours: float) -> None:
    assert parse_zone(text).utcoffset(None) == timedelta(hours=hours)


# -- errors and shapes ------------------------------------------------------------------

def test_success_false_with_fields() -> None:
    with pytest.raises(ProviderError) as info:
        parse_detail({"success": False, "errorCode": "SYSTEM_ERROR",
                      "errorMsg": "system\nbusy"}, ["N"])
    assert type(info.value) is ProviderError
    assert "SYSTEM_ERROR: system busy" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body", [{"success": False}, {"success": "false", "module": []}])
def test_success_false_without_fields(body: dict[str, Any]) -> None:
    with pytest.raises(ProviderError) as info:
        parse_detail(body, ["N"])
    assert not isinstance(info.value, ProviderChanged)
    assert "refused" in str(info.value)


@pytest.mark.parametrize("payload", [
    [], "x", None, {"module": []}, {"success": True, "module": {}},
    {"success": True, "module": ["x"]},
    {"success": True, "module": [{"mailNo": "N", "detailList": {}}]},
    {"success": True, "module": [{"mailNo": "N", "detailList": ["x"]}]},
    {"success": True, "module": [{"mailNo": "N", "detailList": [{"actionCode": "X"}]}]},
    {"success": True, "module": [{"mailNo": "N", "detailList": [{"time": True}]}]},
    {"success": True, "module": [{"mailNo": "N", "detailList": [{"time": 10**30}]}]},
    {"success": True, "module": [{"mailNo": "N", "detailList": [{"timeStr": "yesterday"}]}]},
])
def test_wrong_shapes_are_provider_changed(payload: Any) -> None:
    with pytest.raises(ProviderChanged):
        parse_detail(payload, ["N"])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["success", "module", "mailNo", "detailList", "latestTrace", "time",
                         "timeStr", "timeZone", "actionCode", "desc"]), inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_fuzz_only_parcelctl_errors(payload: Any) -> None:
    with contextlib.suppress(ParcelctlError):
        parse_detail(payload, ["N"])


# -- last-mile number -------------------------------------------------------------------

@pytest.mark.parametrize(("entry", "expected"), [
    ({"copyRealMailNo": "RC000000003EE"}, "RC000000003EE"),
    ({"realMailNo": "Latest Tracking Number:\tRC000000003EE"}, "RC000000003EE"),
    ({"copyRealMailNo": " ", "realMailNo": "Latest Tracking Number:\tcb12345678be"},
     "CB12345678BE"),
    ({"realMailNo": "Latest Tracking Number:"}, None),
    ({}, None), ("not a dict", None),
])
def test_last_mile_number(entry: Any, expected: str | None) -> None:
    assert last_mile_number(entry) == expected


# -- provider class ---------------------------------------------------------------------

def test_class_declares_gentle_keyless_defaults() -> None:
    assert registry.load("cainiao") is CainiaoProvider
    assert CainiaoProvider.name == "cainiao" and CainiaoProvider.kind == "tracking"
    assert CainiaoProvider.rate_per_second == 0.5
    assert CainiaoProvider.batch_size == 10
    assert CainiaoProvider.min_interval_minutes == 120
    assert CainiaoProvider.is_configured({})
    defaults = {k.name: k.default for k in CainiaoProvider.config_keys}
    assert defaults == {"base_url": "https://global.cainiao.com", "lang": "en-US",
                        "batch_size": 10, "rate_per_second": 0.5}
    assert not any(k.secret for k in CainiaoProvider.config_keys)
    assert "nofficial" in CainiaoProvider.description
    assert "nofficial" in (CainiaoProvider.__doc__ or "")


def _client(handler: Any) -> HttpClient:
    return HttpClient("cainiao", transport=httpx.MockTransport(handler),
                      retry=RetryPolicy(attempts=1))


def _run(handler: Any, numbers: list[str], **settings_: Any) -> Any:
    async def main() -> Any:
        async with _client(handler) as http:
            provider = CainiaoProvider(settings_, http)
            return await provider.track([TrackRequest(n, "cainiao") for n in numbers])

    return asyncio.run(main())


@pytest.mark.parametrize("fixture", ["cainiao-detail.json", "cainiao-unknown.json"])
@pytest.mark.parametrize("carrier", ["", "zhongtong"])
def test_carrier_is_the_requests_never_cainiao(fixture: str, carrier: str) -> None:
    """The answer names no usable carrier (cainiao.md §2.1): the request's stays, even ""."""
    payload = load_fixture(fixture)
    number = payload["module"][0]["mailNo"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=payload)

    async def main() -> Any:
        async with _client(handler) as http:
            return await CainiaoProvider({}, http).track([TrackRequest(number, carrier)])

    [result] = asyncio.run(main())
    assert result.carrier == carrier
    assert all(r.carrier == "" for r in parse_detail(payload, [number, "MISSING1"]))


def test_request_shape_and_chunking() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        numbers = request.url.params["mailNos"].split(",")
        return httpx.Response(200, json=_payload(*(
            {"mailNo": n, "mailNoSource": "EXTERNAL", "detailList": []} for n in numbers)))

    results = _run(handler, ["LP1", "LP2", "LP3"], batch_size=2, lang="nl-NL",
                   base_url="https://example.test/")
    assert [r.number for r in results] == ["LP1", "LP2", "LP3"]
    assert all(r.no_info and r.carrier == "cainiao" for r in results)
    assert [u.params["mailNos"] for u in seen] == ["LP1,LP2", "LP3"]
    assert {u.path for u in seen} == {"/global/detail.json"}
    assert seen[0].host == "example.test"
    assert seen[0].params["lang"] == seen[0].params["language"] == "nl-NL"


def test_default_settings_batch_ten_per_request() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(len(request.url.params["mailNos"].split(",")))
        return httpx.Response(200, json=_payload())

    _run(handler, [f"LP{i}" for i in range(12)])
    assert calls == [10, 2]


@pytest.mark.parametrize(("status", "error"), [(403, TransientError), (404, ProviderChanged),
                                               (418, TransientError)])
def test_http_refusals(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        _run(lambda request: httpx.Response(status, text="<html>no</html>"), ["LP1"])


def test_html_page_is_provider_changed() -> None:
    with pytest.raises(ProviderChanged):
        _run(lambda request: httpx.Response(200, text="<html>captcha</html>"), ["LP1"])


@pytest.mark.parametrize("value", [0, -1, "lots", None, True])
def test_bad_batch_size_is_a_config_error(value: Any) -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        _run(lambda request: httpx.Response(200, json=_payload()), ["LP1"], batch_size=value)
