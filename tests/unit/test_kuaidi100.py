"""Kuaidi100 provider: signing, golden payloads, state table, error codes, request shape."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelctl.errors import (
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
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.models import CHINA_TZ, CarrierCandidate, Status, TrackRequest, TrackResult
from parcelctl.providers import kuaidi100 as k
from parcelctl.providers import registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


CUSTOMER, KEY = "testcustomer", "testkey-secret-value"

# kuaidi100.md §3, written out independently of the module under test.
EXPECTED_STATES: dict[str, Status] = {
    "1": Status.IN_TRANSIT, "101": Status.INFO_RECEIVED, "102": Status.INFO_RECEIVED,
    "103": Status.IN_TRANSIT,
    "0": Status.IN_TRANSIT, "1001": Status.IN_TRANSIT, "1002": Status.IN_TRANSIT,
    "1003": Status.IN_TRANSIT,
    "5": Status.OUT_FOR_DELIVERY, "501": Status.READY_FOR_PICKUP,
    "3": Status.DELIVERED, "301": Status.DELIVERED, "302": Status.DELIVERED,
    "303": Status.DELIVERED, "304": Status.READY_FOR_PICKUP,
    "6": Status.RETURNED,
    "4": Status.RETURNED, "401": Status.CANCELLED, "14": Status.EXCEPTION,
    "7": Status.IN_TRANSIT,
    "2": Status.EXCEPTION, "201": Status.EXCEPTION, "202": Status.EXCEPTION,
    "203": Status.EXCEPTION, "204": Status.EXCEPTION, "205": Status.EXCEPTION,
    "206": Status.EXCEPTION, "207": Status.EXCEPTION, "208": Status.EXCEPTION,
    "209": Status.EXCEPTION, "210": Status.EXCEPTION,
    "8": Status.IN_TRANSIT, "10": Status.IN_TRANSIT, "11": Status.IN_TRANSIT,
    "12": Status.IN_TRANSIT, "13": Status.EXCEPTION,
}


def _payload(state: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"message": "ok", "nu": "YT9693083639795", "ischeck": "0", "com": "yuantong",
            "status": "200", "state": state, "condition": "F00", "data": events}


def _ev(when: str, code: str | None = None, name: str | None = None, text: str = "scan"
        ) -> dict[str, Any]:
    item: dict[str, Any] = {"time": when, "ftime": when, "context": text, "location": ""}
    if code is not None:
        item["statusCode"] = code
    if name is not None:
        item["status"] = name
    return item


# -- signing -------------------------------------------------------------------------------
def test_sign_known_answer_vector() -> None:
    param = '{"com":"yuantong","num":"YT9693083639795","resultv2":"4"}'
    assert k.sign(param, "testkey", "testcustomer") == "E6F4AFAF7D8276ACF72E40195B505850"


def test_build_param_is_exactly_the_signed_vector_string() -> None:
    param = k.build_param(TrackRequest("YT9693083639795", "yuantong"), "4")
    assert param == '{"com":"yuantong","num":"YT9693083639795","resultv2":"4"}'
    assert k.sign(param, "testkey", "testcustomer") == "E6F4AFAF7D8276ACF72E40195B505850"


def test_build_param_phone_and_no_resultv2() -> None:
    param = k.build_param(TrackRequest("SF1321934960512", "ShunFeng", " 1234 "), "")
    assert param == '{"com":"shunfeng","num":"SF1321934960512","phone":"1234"}'


def test_sign_over_non_ascii_is_utf8() -> None:
    param = '{"com":"yuantong","num":"X","from":"广东"}'
    expected = hashlib.md5((param + "k" + "c").encode("utf-8")).hexdigest().upper()
    assert k.sign(param, "k", "c") == expected


# -- golden payloads -----------------------------------------------------------------------
def test_golden_basic_shentong() -> None:
    result = k.parse_query(load_fixture("kuaidi100-query-basic.json"), "773027491214552",
                           "shentong")
    assert result.status is Status.DELIVERED
    assert result.raw_status == "3"
    assert result.carrier == "shentong" and result.number == "773027491214552"
    assert len(result.events) == 18
    newest = result.events[0]
    assert newest.time == datetime(2020, 3, 17, 13, 32, 3, tzinfo=CHINA_TZ)
    assert newest.time.utcoffset() is not None
    assert newest.description == "已签收，签收人凭取货码签收。"
    assert newest.location == ""
    assert all(e.status is None for e in result.events)  # basic mode: no per-event state
    assert result.events[-1].time == datetime(2020, 3, 14, 22, 45, 7, tzinfo=CHINA_TZ)
    assert result.pickup_code is None and not result.no_info and result.error is None


def test_golden_v4_yuantong() -> None:
    result = k.parse_query(load_fixture("kuaidi100-query-v4-events.json"), "YT6247854916511",
                           "yuantong")
    # 304: the station signed for it; the person still collects it (errata Q3).
    assert (result.status, result.raw_status) == (Status.READY_FOR_PICKUP, "304")
    assert len(result.events) == 12
    codes = [e.raw_code for e in result.events]
    assert codes[:4] == ["304", "501", "5", "0"]
    assert codes[-1] == "1"
    assert [e.status for e in result.events[:4]] == [
        Status.READY_FOR_PICKUP, Status.READY_FOR_PICKUP, Status.OUT_FOR_DELIVERY,
        Status.IN_TRANSIT]
    assert result.events[1].location == "四川,成都市,双流区"  # areaName when location empty
    assert result.events[0].location == ""  # areaName null
    assert result.events[1].time == datetime(2022, 1, 13, 17, 16, 34, tzinfo=CHINA_TZ)
    assert result.pickup_code is None


def test_golden_push_last_result_uses_newest_event_code() -> None:
    last = load_fixture("kuaidi100-push.json")["lastResult"]
    result = k.parse_query(last, "YT6186594166532", "yuantong")
    assert (result.status, result.raw_status) == (Status.IN_TRANSIT, "1002")


def test_golden_error_500_is_no_info_not_failure() -> None:
    result = k.parse_query(load_fixture("kuaidi100-error-500.json"), "YT1", "yuantong")
    assert result.no_info and result.status is Status.UNKNOWN and result.error is None
    assert result.raw_status == "500"


def test_golden_status_201_is_per_item_error() -> None:
    result = k.parse_query(load_fixture("kuaidi100-error-status201.json"), "YT1", "yuantong")
    assert result.error and "does not exist or has expired" in result.error
    assert result.error_kind == "ProviderError"
    assert result.status is Status.UNKNOWN and not result.no_info  # state "0" is not in-transit


def test_golden_autonumber() -> None:
    assert k.parse_autonumber(load_fixture("kuaidi100-autonumber.json")) == [
        CarrierCandidate("yuantong", "圆通速递", "high")]


# -- the state table -----------------------------------------------------------------------
def test_state_table_is_exactly_the_sheet() -> None:
    assert k.STATE_STATUS == EXPECTED_STATES


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_STATES.items()))
def test_every_code_through_the_parser(code: str, expected: Status) -> None:
    via_event = k.parse_query(_payload("0", [_ev("2024-05-01 10:00:00", code)]), "N", "c")
    assert via_event.events[0].status is expected
    via_state = k.parse_query(_payload(code, [_ev("2024-05-01 10:00:00")]), "N", "c")
    assert via_state.status is expected and via_state.raw_status == code


def test_every_state_name_maps_into_the_table() -> None:
    assert set(k.STATE_NAMES.values()) == set(EXPECTED_STATES)
    result = k.parse_query(_payload("5", [_ev("2024-05-01 10:00:00", name="投柜或驿站")]),
                           "N", "c")
    assert result.events[0].status is Status.READY_FOR_PICKUP
    assert result.status is Status.READY_FOR_PICKUP  # resultv2=1: name gives the code


def test_newest_advanced_code_beats_basic_top_level_state() -> None:
    events = [_ev("2024-05-01 09:00:00", "5"), _ev("2024-05-01 10:00:00", "501")]  # asc order
    result = k.parse_query(_payload("5", events), "N", "c")
    assert result.status is Status.READY_FOR_PICKUP
    assert [e.raw_code for e in result.events] == ["501", "5"]  # sorted newest first


def test_top_level_state_used_when_newest_event_is_basic_or_missing() -> None:
    result = k.parse_query(_payload("304", [_ev("2024-05-01 10:00:00", "3")]), "N", "c")
    assert (result.status, result.raw_status) == (Status.READY_FOR_PICKUP, "304")
    result = k.parse_query(_payload("401", [_ev("2024-05-01 10:00:00")]), "N", "c")
    assert result.status is Status.CANCELLED


def test_unknown_code_is_unknown_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    result = k.parse_query(_payload("99", [_ev("2024-05-01 10:00:00", "9999")]), "N", "c")
    assert result.status is Status.UNKNOWN and result.raw_status == "9999"
    assert "9999" in caplog.text


def test_success_without_events_is_no_info() -> None:
    result = k.parse_query(_payload("0", []), "N", "yuantong")
    assert result.no_info and result.status is Status.UNKNOWN


def test_corrected_carrier_is_kept() -> None:
    payload = _payload("0", [_ev("2024-05-01 10:00:00", "0")]) | {"com": "YunDa"}
    assert k.parse_query(payload, "N", "yuantong").carrier == "yunda"


# -- error codes ---------------------------------------------------------------------------
def _shape_a(code: str, message: str = "msg") -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


@pytest.mark.parametrize(("code", "exc"), [
    ("400", AuthError), ("502", TransientError), ("503", AuthError), ("601", QuotaExceeded),
])
def test_return_codes_that_raise(code: str, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        k.parse_query(_shape_a(code), "N", "yuantong")
    assert info.value.provider == "kuaidi100"  # type: ignore[attr-defined]
    assert info.value.hint  # type: ignore[attr-defined]


def test_unknown_return_code_is_plain_provider_error() -> None:
    with pytest.raises(ProviderError) as info:
        k.parse_query(_shape_a("777"), "N", "yuantong")
    assert type(info.value) is ProviderError and "777" in str(info.value)


def test_auth_hints_name_the_config_keys() -> None:
    with pytest.raises(AuthError) as info:
        k.parse_query(_shape_a("503", "验证签名失败"), "N", "yuantong")
    assert "providers.kuaidi100.key" in str(info.value)


def test_408_is_per_item_phone_required() -> None:
    result = k.parse_query(_shape_a("408", "快递公司参数异常：验证码错误"), "SF1", "shunfeng")
    assert result.error_kind == "PhoneRequired"
    assert result.error and "--phone LAST4" in result.error and "SF1" in result.error
    assert result.status is Status.UNKNOWN


def test_400_unsupported_carrier_is_per_item() -> None:
    result = k.parse_query(_shape_a("400", "不支持此快递公司"), "N", "foo")
    assert result.error_kind == "UsageError" and result.error and "'foo'" in result.error


def test_400_cannot_find_carrier_is_per_item() -> None:
    """Errata Q1 (several independent clients): the usual 400 text for a wrong carrier code
    is "找不到对应公司" — no "快递公司" in it — and it is that parcel's problem."""
    result = k.parse_query(_shape_a("400", "找不到对应公司"), "N", "foo")
    assert result.error_kind == "UsageError" and result.error and "'foo'" in result.error
    with pytest.raises(AuthError):  # 贵公司没授权: the account's problem, not the carrier's
        k.parse_query(_shape_a("400", "提交的数据不完整，或者贵公司没授权"), "N", "foo")


def test_returning_state_6_is_returned_and_still_tracked() -> None:
    """Errata Q2 (Kuaidi100 official doc, apifox api-8562559): 6 = on its way back (still
    tracked), 4 = the return is over; a signed-for scan after 6 is the sender's."""
    back = k.parse_query(_payload("6", [_ev("2024-05-02 10:00:00", "6"),
                                        _ev("2024-05-01 10:00:00", "0")]), "N", "c")
    assert (back.status, back.returning) == (Status.RETURNED, True)
    over = k.parse_query(_payload("4", [_ev("2024-05-03 10:00:00", "4"),
                                        _ev("2024-05-02 10:00:00", "6")]), "N", "c")
    assert (over.status, over.returning) == (Status.RETURNED, False)
    signed = k.parse_query(_payload("3", [_ev("2024-05-03 10:00:00", "301"),
                                          _ev("2024-05-02 10:00:00", "6")]), "N", "c")
    assert (signed.status, signed.returning) == (Status.RETURNED, False)
    plain = k.parse_query(_payload("3", [_ev("2024-05-03 10:00:00", "301")]), "N", "c")
    assert plain.status is Status.DELIVERED


def test_station_signed_304_has_its_pickup_code() -> None:
    """Errata Q3 (Kuaidi100 official doc): 304 = a locker or station signed for it; the
    pickup code in the text is read (pickup.py), as for 501."""
    result = k.parse_query(_payload("3", [
        _ev("2024-05-03 10:00:00", "304", text="快件已由菜鸟驿站代收，请凭取件码 3-2-1107 取件"),
        _ev("2024-05-02 10:00:00", "5")]), "N", "c")
    assert (result.status, result.pickup_code) == (Status.READY_FOR_PICKUP, "3-2-1107")


def test_other_shape_b_status_raises() -> None:
    with pytest.raises(ProviderError):
        k.parse_query({"status": "202", "message": "?", "data": []}, "N", "c")


@pytest.mark.parametrize("payload", [
    [], "ok", None, 3, {"message": "ok"}, {"status": "200", "data": "x"},
    {"status": "200", "data": [1]}, {"status": "200", "data": [{"context": "x"}]},
    {"status": "200", "data": [{"time": "yesterday", "context": "x"}]},
    {"status": "200", "data": [{"time": "2024-01-01 00:00:00", "context": {"a": 1}}]},
    {"unexpected": [1, 2, 3], "data": "surprise"},
])
def test_wrong_shapes_raise_provider_changed(payload: Any) -> None:
    with pytest.raises(ProviderChanged):
        k.parse_query(payload, "N", "c")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["200", "201", "500", "408", "2024-05-01 10:00:00", "501"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["status", "state", "data", "time", "context",
                                       "statusCode", "result", "returnCode", "com",
                                       "message", "ftime", "location"]), children, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_fuzz_parsers_raise_only_our_errors(payload: Any) -> None:
    for parse in (lambda p: k.parse_query(p, "N", "c"), k.parse_autonumber):
        with contextlib.suppress(ParcelctlError):
            parse(payload)


def test_fuzz_mutated_golden_payload() -> None:
    base = load_fixture("kuaidi100-query-v4-events.json")
    bads: list[Any] = [None, 1, [], {}, "x", [None]]
    for key in ("data", "state", "status", "com"):
        for bad in bads:
            payload = copy.deepcopy(base)
            payload[key] = bad
            with contextlib.suppress(ParcelctlError):
                k.parse_query(payload, "N", "c")


# -- autonumber ------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "exc"), [
    ("701", ConfigError), ("601", QuotaExceeded), ("201", UsageError), ("500", ProviderError),
])
def test_autonumber_error_objects(code: str, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        k.parse_autonumber({"returnCode": code, "message": "m", "result": False})


def test_autonumber_several_candidates_and_empty() -> None:
    payload = [{"comCode": "zhongtong", "name": "中通", "noPre": "7", "noCount": 10},
               {"comCode": "shentong", "name": "申通"}, {"comCode": "zhongtong"}]
    assert [(c.code, c.confidence) for c in k.parse_autonumber(payload)] == [
        ("zhongtong", "high"), ("shentong", "low")]
    assert k.parse_autonumber([]) == []
    with pytest.raises(ProviderChanged):
        k.parse_autonumber([{"name": "x"}])
    with pytest.raises(ProviderChanged):
        k.parse_autonumber("x")


# -- the provider class with a MockTransport -------------------------------------------------
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, answer: Any, status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.answer)


def _run(handler: Handler, coro: Callable[[k.Kuaidi100Provider], Any],
         **settings: Any) -> Any:
    async def main() -> Any:
        http = HttpClient("kuaidi100", transport=httpx.MockTransport(handler),
                          retry=RetryPolicy(attempts=1))
        provider = k.Kuaidi100Provider({"customer": CUSTOMER, "key": KEY} | settings, http)
        try:
            return await coro(provider)
        finally:
            await http.aclose()
    return asyncio.run(main())


def _track(req: TrackRequest) -> Callable[[k.Kuaidi100Provider], Any]:
    async def go(provider: k.Kuaidi100Provider) -> TrackResult:
        return (await provider.track([req]))[0]
    return go


def test_request_is_a_signed_form_post() -> None:
    rec = Recorder(load_fixture("kuaidi100-query-v4-events.json"))
    result = _run(rec, _track(TrackRequest("YT6247854916511", "yuantong")))
    assert result.status is Status.READY_FOR_PICKUP  # 304 (errata Q3)
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == "https://poll.kuaidi100.com/poll/query.do"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
    assert set(form) == {"customer", "sign", "param"}
    assert form["customer"] == CUSTOMER
    assert json.loads(form["param"]) == {"com": "yuantong", "num": "YT6247854916511",
                                         "resultv2": "4"}
    expected = hashlib.md5((form["param"] + KEY + CUSTOMER).encode()).hexdigest().upper()
    assert form["sign"] == expected
    assert KEY not in request.content.decode()


def test_configured_phone_and_base_url_are_used() -> None:
    rec = Recorder(load_fixture("kuaidi100-error-500.json"))
    _run(rec, _track(TrackRequest("SF1321934960512", "shunfeng")), phone="1234",
         base_url="http://127.0.0.1:9/k100/", resultv2="")
    (request,) = rec.requests
    assert str(request.url) == "http://127.0.0.1:9/k100/poll/query.do"
    param = parse_qs(request.content.decode())["param"][0]
    assert json.loads(param) == {"com": "shunfeng", "num": "SF1321934960512", "phone": "1234"}


def test_request_phone_beats_configured_phone() -> None:
    rec = Recorder(load_fixture("kuaidi100-error-500.json"))
    _run(rec, _track(TrackRequest("SF1321934960512", "shunfeng", "5678")), phone="1234")
    param = parse_qs(rec.requests[0].content.decode())["param"][0]
    assert json.loads(param)["phone"] == "5678"


@pytest.mark.parametrize("carrier", ["shunfeng", "shunfengkuaiyun", "zhongtong", "ShunFeng"])
def test_phone_required_before_any_request(carrier: str) -> None:
    rec = Recorder({})
    provider = k.Kuaidi100Provider({"customer": CUSTOMER, "key": KEY}, None)  # type: ignore[arg-type]
    with pytest.raises(PhoneRequired) as info:
        provider.check_request(TrackRequest("SF1321934960512", carrier))
    assert "parcelctl add SF1321934960512 --phone LAST4" in str(info.value)
    assert "providers.kuaidi100.phone" in str(info.value)
    result = _run(rec, _track(TrackRequest("SF1321934960512", carrier)))
    assert result.error_kind == "PhoneRequired" and rec.requests == []


def test_phone_carriers_is_configurable() -> None:
    provider = k.Kuaidi100Provider({"customer": "c", "key": "k", "phone_carriers": []},
                                   None)  # type: ignore[arg-type]
    provider.check_request(TrackRequest("SF1321934960512", "shunfeng"))
    provider = k.Kuaidi100Provider({"customer": "c", "key": "k",
                                    "phone_carriers": "yuantong, ems"}, None)  # type: ignore[arg-type]
    provider.check_request(TrackRequest("SF1321934960512", "shunfeng"))
    with pytest.raises(PhoneRequired):
        provider.check_request(TrackRequest("YT9693083639795", "yuantong"))
    provider.check_request(TrackRequest("YT9693083639795", "yuantong", "1234"))


def test_501_is_this_parcels_error_not_the_providers() -> None:
    """501 also answers off-spec params (kuaidi100.md §2.6): one malformed number used to
    fail the whole provider on every sync."""
    result = k.parse_query(_shape_a("501", "服务器错误"), "N", "yuantong")
    assert result.error_kind == "TransientError" and "501" in (result.error or "")
    assert result.status is Status.UNKNOWN


@pytest.mark.parametrize("number", ["AB123", "Y" * 33])
def test_off_spec_number_is_per_item_error_without_request(number: str) -> None:
    rec = Recorder({})
    result = _run(rec, _track(TrackRequest(number, "yuantong")))
    assert result.error_kind == "UsageError" and "6 to 32 characters" in (result.error or "")
    assert rec.requests == []


def test_empty_carrier_is_per_item_error_without_request() -> None:
    rec = Recorder({})
    result = _run(rec, _track(TrackRequest("YT9693083639795", "")))
    assert result.error_kind == "UsageError" and "--carrier" in (result.error or "")
    assert rec.requests == []


@pytest.mark.parametrize(("code", "exc"), [
    ("400", AuthError), ("502", TransientError),
    ("503", AuthError), ("601", QuotaExceeded), ("999", ProviderError),
])
def test_every_return_code_through_the_provider(code: str, exc: type[Exception]) -> None:
    rec = Recorder(_shape_a(code, "远端消息"))
    with pytest.raises(exc) as info:
        _run(rec, _track(TrackRequest("YT9693083639795", "yuantong")))
    assert KEY not in str(info.value)


@pytest.mark.parametrize(("fixture", "check"), [
    ("kuaidi100-error-500.json", lambda r: r.no_info and r.error is None),
    ("kuaidi100-error-status201.json", lambda r: r.error_kind == "ProviderError"),
])
def test_item_level_answers_through_the_provider(fixture: str,
                                                 check: Callable[[TrackResult], bool]) -> None:
    result = _run(Recorder(load_fixture(fixture)),
                  _track(TrackRequest("YT9693083639795", "yuantong")))
    assert check(result)


def test_408_through_the_provider() -> None:
    result = _run(Recorder(_shape_a("408")), _track(TrackRequest("SF1321934960512",
                                                                 "shunfeng", "0000")))
    assert result.error_kind == "PhoneRequired"


def test_missing_credentials_is_config_error_without_request() -> None:
    rec = Recorder({})
    with pytest.raises(ConfigError) as info:
        _run(rec, _track(TrackRequest("YT9693083639795", "yuantong")), key="")
    assert "providers.kuaidi100.key" in str(info.value) and rec.requests == []


def test_http_404_points_at_base_url() -> None:
    with pytest.raises(ConfigError) as info:
        _run(Recorder({"error": "nope"}, 404), _track(TrackRequest("YT1234567", "yuantong")))
    assert "base_url" in str(info.value)


def test_detect_carrier_posts_key_and_num() -> None:
    rec = Recorder(load_fixture("kuaidi100-autonumber.json"))

    async def go(provider: k.Kuaidi100Provider) -> list[CarrierCandidate]:
        return await provider.detect_carrier("YT9693083639795")

    found = _run(rec, go, autonumber_url="http://127.0.0.1:9/auto")
    assert [c.code for c in found] == ["yuantong"]
    (request,) = rec.requests
    assert str(request.url) == "http://127.0.0.1:9/auto" and request.method == "POST"
    form = {n: v[0] for n, v in parse_qs(request.content.decode()).items()}
    assert form == {"key": KEY, "num": "YT9693083639795"}


def test_detect_carrier_without_key_makes_no_request() -> None:
    rec = Recorder([])

    async def go(provider: k.Kuaidi100Provider) -> list[CarrierCandidate]:
        return await provider.detect_carrier("YT9693083639795")

    assert _run(rec, go, key="") == [] and rec.requests == []


def test_detect_carrier_error_object() -> None:
    async def go(provider: k.Kuaidi100Provider) -> list[CarrierCandidate]:
        return await provider.detect_carrier("YT9693083639795")

    with pytest.raises(QuotaExceeded):
        _run(Recorder({"returnCode": "601", "message": "POLL: KEY 已过期", "result": False}), go)


# -- declaration -----------------------------------------------------------------------------
def test_declaration() -> None:
    cls = k.Kuaidi100Provider
    assert registry.load("kuaidi100") is cls and cls.name == "kuaidi100"
    keys = {key.name: key for key in cls.config_keys}
    assert set(keys) == {"customer", "key", "base_url", "autonumber_url", "phone",
                         "phone_carriers", "resultv2", "min_interval_minutes"}
    assert keys["key"].secret and keys["key"].required and keys["customer"].required
    assert not any(key.secret for name, key in keys.items() if name != "key")
    assert keys["base_url"].default == "https://poll.kuaidi100.com"
    assert keys["autonumber_url"].default == "https://www.kuaidi100.com/autonumber/auto"
    assert keys["phone_carriers"].default == ["shunfeng", "shunfengkuaiyun", "zhongtong"]
    assert keys["resultv2"].default == "4" and keys["min_interval_minutes"].default == 30
    assert cls.batch_size == 1 and cls.min_interval_minutes == 30
    assert cls.missing_settings({}) == ["customer", "key"]
