"""17TRACK provider: golden payloads, status tables, error codes, webhook vector, requests."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelctl.errors import (
    AuthError,
    ConfigError,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    UsageError,
)
from parcelctl.http import HttpClient, RateLimiter, RetryPolicy
from parcelctl.models import Status, TrackRequest
from parcelctl.providers import seventeentrack as st17
from parcelctl.providers.seventeentrack import (
    ERROR_MESSAGES,
    STATUS_MAP,
    SUB_STATUS_MAP,
    SeventeenTrackProvider,
    parse_register,
    parse_trackinfo,
    raise_for_envelope,
    verify_webhook,
    webhook_sign,
)

TOKEN = "unit-test-token-7c1d"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# -- sheet §4, written out here on purpose (not derived from the module) -----------------------
MAIN_STATUSES = {
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
SUB_STATUSES = {
    "NotFound": ["NotFound_Other", "NotFound_InvalidCode"],
    "InfoReceived": ["InfoReceived"],
    "InTransit": ["InTransit_PickedUp", "InTransit_Other", "InTransit_Departure",
                  "InTransit_Arrival", "InTransit_CustomsProcessing",
                  "InTransit_CustomsReleased", "InTransit_CustomsRequiringInformation"],
    "Expired": ["Expired_Other"],
    "AvailableForPickup": ["AvailableForPickup_Other"],
    "OutForDelivery": ["OutForDelivery_Other"],
    "DeliveryFailure": ["DeliveryFailure_Other", "DeliveryFailure_NoBody",
                        "DeliveryFailure_Security", "DeliveryFailure_Rejected",
                        "DeliveryFailure_InvalidAddress"],
    "Delivered": ["Delivered_Other"],
    "Exception": ["Exception_Other", "Exception_Returning", "Exception_Returned",
                  "Exception_NoBody", "Exception_Security", "Exception_Damage",
                  "Exception_Damaged", "Exception_Rejected", "Exception_Delayed",
                  "Exception_Lost", "Exception_Destroyed", "Exception_Cancel"],
}
SUB_OVERRIDES = {"Exception_Returning": Status.RETURNED, "Exception_Returned": Status.RETURNED,
                 "Exception_Cancel": Status.CANCELLED}
# -- sheet §5 ----------------------------------------------------------------------------------
ERROR_CODES = [
    -18010001, -18010002, -18010003, -18010004, -18010005, -18010010, -18010011, -18010012,
    -18010013, -18010014, -18010015, -18010016, -18010204, -18019901, -18019902, -18019903,
    -18019904, -18019905, -18019906, -18019907, -18019908, -18019909, -18019910, -18019911,
    -18019801, -18019802, -18019803, -18019804, -18019805, -18019806, -18019807, -18019808,
    -18019809, -18019810, -18019811,
]


def envelope(code: int, message: str = "boom") -> dict[str, Any]:
    return {"code": code, "data": {"errors": [{"code": code, "message": message}]}}


def info_item(number: str, status: str, sub: str | None, events: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    return {"number": number, "carrier": 100001, "param": None, "tag": None, "track_info": {
        "latest_status": {"status": status, "sub_status": sub, "sub_status_descr": None},
        "tracking": {"providers": [{"provider": {"key": 100001}, "events": events or []}]}}}


def trackinfo(*items: dict[str, Any], rejected: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": list(items), "rejected": rejected or []}}


# -- golden payloads ---------------------------------------------------------------------------
def test_register_golden() -> None:
    accepted, rejected = parse_register(load_fixture("17track-register.json"))
    assert accepted == {"RR123456789CN": 3011}
    assert list(rejected) == ["1234"]
    error = rejected["1234"]
    assert error.code == -18010012
    assert error.kind == "UsageError"
    assert "format" in error.message and "\n" not in error.message


def test_register_already_registered_counts_as_accepted() -> None:
    payload = {"code": 0, "data": {"accepted": [], "rejected": [
        {"number": "RR123456789CN", "error": {"code": -18019901, "message": "registered"}},
        {"number": "ABCDE12345", "error": {"code": -18019903, "message": "no carrier"}}]}}
    accepted, rejected = parse_register(payload)
    assert accepted == {"RR123456789CN": None}
    assert set(rejected) == {"ABCDE12345"}
    assert rejected["ABCDE12345"].kind == "UsageError"
    assert "--carrier" in rejected["ABCDE12345"].message


def test_gettrackinfo_golden() -> None:
    (result,) = parse_trackinfo(load_fixture("17track-gettrackinfo.json"))
    assert result.number == "1Z2617V10397725789"
    assert result.carrier == "ups"  # 100002 through the default carrier table
    assert result.status is Status.DELIVERED
    assert result.raw_status == "Delivered_Other"
    assert not result.no_info and result.error is None
    assert [e.description for e in result.events] == [
        "DELIVERED", "Out For Delivery Today", "Arrived at Facility", "Origin Scan",
        "Shipper created a label, UPS has not received the package yet."]
    first = result.events[0]
    assert first.time.utcoffset() == timedelta(hours=-7)  # time_iso offset kept for display
    assert first.time == datetime(2022, 4, 4, 23, 35, 22, tzinfo=UTC)
    assert first.location == "GASQUET, CA, US"
    assert [e.status for e in result.events] == [
        Status.DELIVERED, Status.OUT_FOR_DELIVERY, None, None, Status.INFO_RECEIVED]
    assert result.events[-1].raw_code == "InfoReceived"


def test_error_key_golden() -> None:
    with pytest.raises(AuthError) as info:
        raise_for_envelope(load_fixture("17track-error-key.json"))
    assert info.value.provider == "17track"
    assert "parcelctl config set providers.17track.token" in str(info.value)


def test_error_429_golden() -> None:
    with pytest.raises(RateLimited):
        raise_for_envelope(load_fixture("17track-error-429.json"))


def test_golden_parsers_reject_the_other_envelopes() -> None:
    with pytest.raises(AuthError):
        parse_register(load_fixture("17track-error-key.json"))
    with pytest.raises(RateLimited):
        parse_trackinfo(load_fixture("17track-error-429.json"))


# -- status tables -----------------------------------------------------------------------------
@pytest.mark.parametrize(("main", "expected"), list(MAIN_STATUSES.items()))
def test_every_main_status(main: str, expected: Status) -> None:
    assert STATUS_MAP[main] is expected
    (result,) = parse_trackinfo(trackinfo(info_item("ABC123456", main, None)))
    assert result.status is expected
    assert result.no_info is (main == "NotFound")


@pytest.mark.parametrize(("main", "sub"), [(m, s) for m, subs in SUB_STATUSES.items()
                                           for s in subs])
def test_every_sub_status(main: str, sub: str) -> None:
    expected = SUB_OVERRIDES.get(sub, MAIN_STATUSES[main])
    assert SUB_STATUS_MAP[sub] is expected
    event = {"time_iso": "2024-05-01T10:00:00+08:00", "time_utc": "2024-05-01T02:00:00Z",
             "description": sub, "location": "", "stage": sub}
    (result,) = parse_trackinfo(trackinfo(info_item("ABC123456", main, sub, [event])))
    assert result.status is expected
    assert result.raw_status == sub
    assert result.events[0].status is expected


def test_returning_is_returned_and_still_tracked_until_it_ends() -> None:
    """Errata Q2 (17TRACK sub-status tables): Exception_Returning / milestone Returning is
    the parcel on its way back; Exception_Returned, or a delivered scan after it, ends it."""
    def event(when: str, stage: str) -> dict[str, Any]:
        return {"time_iso": f"2024-05-0{when}T10:00:00+08:00",
                "time_utc": f"2024-05-0{when}T02:00:00Z", "description": stage,
                "location": "", "stage": stage}

    (back,) = parse_trackinfo(trackinfo(info_item(
        "ABC123456", "Exception", "Exception_Returning", [event("2", "Returning")])))
    assert (back.status, back.returning) == (Status.RETURNED, True)
    (over,) = parse_trackinfo(trackinfo(info_item(
        "ABC123456", "Exception", "Exception_Returned", [event("3", "Returned")])))
    assert (over.status, over.returning) == (Status.RETURNED, False)
    (home,) = parse_trackinfo(trackinfo(info_item(
        "ABC123456", "Delivered", "Delivered_Other",
        [event("3", "Delivered"), event("2", "Returning")])))
    assert (home.status, home.returning) == (Status.RETURNED, False)


def test_status_tables_hold_nothing_undocumented() -> None:
    assert set(STATUS_MAP) == set(MAIN_STATUSES)
    assert set(SUB_STATUS_MAP) == {s for subs in SUB_STATUSES.values() for s in subs}


def test_unknown_codes_become_unknown(caplog: pytest.LogCaptureFixture) -> None:
    (result,) = parse_trackinfo(trackinfo(info_item("ABC123456", "Teleported", "Teleported_X")))
    assert result.status is Status.UNKNOWN
    assert "Teleported" in caplog.text
    # An unknown sub-status falls back to its documented main status.
    (result,) = parse_trackinfo(trackinfo(info_item("ABC123456", "Delivered", "Delivered_New")))
    assert result.status is Status.DELIVERED


# -- error codes -------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_error_code_has_a_message(code: int) -> None:
    message, hint = ERROR_MESSAGES[code]
    assert message and hint and "\n" not in message + hint
    rejected = {"number": "ABC123456", "error": {"code": code, "message": "remote text"}}
    results = parse_trackinfo({"code": 0, "data": {"accepted": [], "rejected": [rejected]}})
    if code in (-18019909, -18019808):
        assert results[0].no_info and results[0].error is None
    else:
        assert results[0].error == f"{message} — {hint}"
        assert results[0].error_kind


@pytest.mark.parametrize(("code", "cls"), [
    (-18010001, AuthError), (-18010002, AuthError), (-18010004, AuthError),
    (-18010005, AuthError), (-18019907, QuotaExceeded), (-18019908, QuotaExceeded),
    (-18010003, TransientError), (429, RateLimited), (-18010014, ProviderError),
    (-18010013, ProviderError), (-18010204, ProviderError), (-18010012, ProviderError),
])
def test_whole_call_errors(code: int, cls: type[Exception]) -> None:
    with pytest.raises(cls) as info:
        raise_for_envelope(envelope(code))
    assert isinstance(info.value, ProviderError)  # sync isolates these per provider
    assert str(info.value).startswith("17track: ")
    assert ERROR_MESSAGES[code][0] in str(info.value)


def test_auth_errors_carry_the_config_hint() -> None:
    for code in (-18010002, -18010005):
        with pytest.raises(AuthError) as info:
            raise_for_envelope(envelope(code))
        assert info.value.hint and "providers.17track.token" in info.value.hint


def test_daily_limit_and_quota_say_what_to_do() -> None:
    with pytest.raises(QuotaExceeded, match="tomorrow"):
        raise_for_envelope(envelope(-18019907))
    with pytest.raises(QuotaExceeded, match="quota"):
        raise_for_envelope(envelope(-18019908))


def test_unknown_whole_call_code_keeps_redacted_remote_text() -> None:
    from parcelctl.http import register_secret

    register_secret("leaky-secret-value")
    with pytest.raises(ProviderError) as info:
        raise_for_envelope(envelope(-18099999, "bad leaky-secret-value here"))
    assert "-18099999" in str(info.value)
    assert "leaky-secret-value" not in str(info.value)


def test_inner_error_code_wins_over_top_level_code() -> None:
    payload = {"code": 401, "data": {"errors": [{"code": -18010004, "message": "disabled"}]}}
    with pytest.raises(AuthError, match="disabled"):
        raise_for_envelope(payload)


# -- webhook -----------------------------------------------------------------------------------
def test_webhook_vector() -> None:
    body = (b'{"event":"TRACKING_STOPPED","data":{"number":"1234567890","carrier":1001,'
            b'"param":null,"tag":null}}')
    expected = "9185383010d9b347ce2f22c183952d0e11ee0cfd52a8a674510ac8d16ed622e2"
    assert webhook_sign(body, "testkey") == expected
    assert verify_webhook(body, expected.upper(), "testkey")
    assert not verify_webhook(body, expected, "otherkey")
    assert json.loads(body) == load_fixture("17track-webhook-stopped.json")


# -- events ------------------------------------------------------------------------------------
def test_events_of_several_providers_merge_sort_and_dedupe() -> None:
    def ev(iso: str, utc: str | None, text: str) -> dict[str, Any]:
        return {"time_iso": iso, "time_utc": utc, "description": text, "location": "X",
                "stage": None}

    item = info_item("LP00123456789012", "InTransit", "InTransit_Arrival")
    item["track_info"]["tracking"]["providers"] = [
        {"events": [ev("2024-05-03T09:00:00+02:00", "2024-05-03T07:00:00Z", "arrived"),
                    ev("2024-05-02T12:00:00+08:00", "2024-05-02T04:00:00Z", "handed over")]},
        {"events": [ev("2024-05-02T12:00:00+08:00", "2024-05-02T04:00:00Z", "handed over"),
                    ev("2024-05-03T14:30:00+08:00", "2024-05-03T06:30:00Z", "departed"),
                    ev("2024-05-01T08:00:00+08:00", None, "accepted"),
                    ev("", "2024-04-30T08:00:00Z", "label"),
                    ev("garbage", None, "no time"),
                    ev("9999-12-31T23:59:59-01:00", "2024-13-01T00:00:00Z", "overflow"),
                    ev("2024-05-01T08:00:00", None, "naive")]},
    ]
    (result,) = parse_trackinfo(trackinfo(item))
    assert [e.description for e in result.events] == [
        "arrived", "departed", "handed over", "accepted", "label"]
    assert result.events[0].time.utcoffset() == timedelta(hours=2)
    assert result.events[-1].time.utcoffset() == timedelta(0)


def test_no_info_shapes() -> None:
    item = {"number": "ABC123456", "carrier": 0, "track_info": None}
    rejected = [{"number": "NOINFO123", "error": {"code": -18019909, "message": "none"}}]
    results = parse_trackinfo(trackinfo(item, rejected=rejected))
    assert [(r.number, r.status, r.no_info) for r in results] == [
        ("ABC123456", Status.UNKNOWN, True), ("NOINFO123", Status.UNKNOWN, True)]


@pytest.mark.parametrize("payload", [
    None, [], "x", {"data": {}}, {"code": "0", "data": {}}, {"code": 0}, {"code": 0, "data": []},
    {"code": 0, "data": {"accepted": {}}}, {"code": 0, "data": {"accepted": [1]}},
    {"code": 0, "data": {"accepted": [{"carrier": 1}]}},
    {"code": 0, "data": {"accepted": [{"number": "A1234", "track_info": []}]}},
    {"code": 0, "data": {"accepted": [{"number": "A1234", "track_info": {
        "tracking": {"providers": [{"events": [7]}]}}}]}},
    {"code": 0, "data": {"rejected": [{"number": "A1234", "error": {"code": "x"}}]}},
    {"code": -1, "data": {"errors": "nope"}},
])
def test_wrong_shapes_raise_provider_changed(payload: Any) -> None:
    with pytest.raises(ProviderChanged):
        parse_trackinfo(payload)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([0, 429, *ERROR_CODES])
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["code", "data", "accepted", "rejected", "number", "track_info",
                         "tracking", "providers", "events", "error", "errors", "time_iso",
                         "time_utc", "latest_status", "status", "sub_status", "carrier"]),
        inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_parsers_only_raise_parcelctl_errors(payload: Any) -> None:
    for parse in (parse_trackinfo, parse_register):
        with contextlib.suppress(ProviderError):
            parse(payload)


def test_fixture_mutation_missing_events_list_is_tolerated() -> None:
    payload = copy.deepcopy(load_fixture("17track-gettrackinfo.json"))
    del payload["data"]["accepted"][0]["track_info"]["tracking"]
    (result,) = parse_trackinfo(payload)
    assert result.status is Status.DELIVERED and result.events == []


# -- the provider with a fake transport --------------------------------------------------------
class FakeApi:
    """Answers register/gettrackinfo like 17TRACK and records what was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], list[dict[str, Any]]]] = []
        self.register_reply: dict[str, Any] | None = None
        self.status = 200
        #: Numbers whose registration 17TRACK no longer has (until registered again).
        self.forgotten: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        items = json.loads(request.content)
        self.calls.append((endpoint, dict(request.headers), items))
        if self.status != 200:
            return httpx.Response(self.status, text="<html>nope</html>")
        if endpoint == "register":
            reply = self.register_reply or {"code": 0, "data": {"accepted": [
                {"number": i["number"], "carrier": i.get("carrier", 990001), "origin": 1}
                for i in items], "rejected": []}}
            self.forgotten -= {i["number"] for i in items}
            return httpx.Response(200, json=reply)
        lost = [i for i in items if i["number"] in self.forgotten]
        items = [i for i in items if i["number"] not in self.forgotten]
        accepted = [info_item(i["number"], "InTransit", "InTransit_Other") for i in items]
        for item, sent in zip(accepted, items, strict=True):
            item["carrier"] = sent.get("carrier", 990001)
        reply = trackinfo(*accepted)
        reply["data"]["rejected"] = [{"number": i["number"], "error": {
            "code": -18019902, "message": "The number is not registered."}} for i in lost]
        return httpx.Response(200, json=reply)


def run(api: FakeApi, requests: list[TrackRequest], **settings: Any) -> list[Any]:
    async def go() -> list[Any]:
        transport = httpx.MockTransport(api)
        async with HttpClient("17track", transport=transport,
                              retry=RetryPolicy(attempts=1)) as http:
            provider = SeventeenTrackProvider(
                {"token": TOKEN, "base_url": "https://api.example/track/v2.2/"} | settings, http)
            provider._spacing = RateLimiter(None)  # no need to be polite to a fake
            return await provider.track(requests)

    return asyncio.run(go())


def test_track_sends_register_then_gettrackinfo() -> None:
    api = FakeApi()
    results = run(api, [TrackRequest("1Z2617V10397725789", "ups"),
                        TrackRequest("SF1321934960512", "shunfeng", phone="138-0000-1234"),
                        TrackRequest("7730274912145", "zhongtong")],
                  carriers={"zhongtong": "123456", "ups": 0}, lang="en")
    assert [c[0] for c in api.calls] == ["register", "gettrackinfo"]
    _, headers, register = api.calls[0]
    assert headers["17token"] == TOKEN
    assert headers["content-type"] == "application/json"
    assert register == [
        {"number": "1Z2617V10397725789", "lang": "en"},  # ups forced to auto-detection
        {"number": "SF1321934960512", "param": "1234", "lang": "en"},
        {"number": "7730274912145", "carrier": 123456, "lang": "en"},
    ]
    assert api.calls[1][2] == [{"number": "1Z2617V10397725789", "carrier": 990001},
                               {"number": "SF1321934960512", "carrier": 990001},
                               {"number": "7730274912145", "carrier": 123456}]
    assert [r.carrier for r in results] == ["ups", "shunfeng", "zhongtong"]
    assert all(r.status is Status.IN_TRANSIT for r in results)


def test_known_numbers_are_polled_without_registering_again() -> None:
    api = FakeApi()
    results = run(api, [TrackRequest("RR123456789CN", known=True),
                        TrackRequest("1234567890", "dhl", known=True),
                        TrackRequest("LX000000001CN")])
    assert [c[0] for c in api.calls] == ["register", "gettrackinfo"]
    assert api.calls[0][2] == [{"number": "LX000000001CN"}]  # only the new one
    assert api.calls[1][2] == [{"number": "RR123456789CN"},
                               {"number": "1234567890", "carrier": 100001},
                               {"number": "LX000000001CN", "carrier": 990001}]
    assert all(r.status is Status.IN_TRANSIT and r.error is None for r in results)
    api.calls.clear()
    run(api, [TrackRequest("RR123456789CN", known=True)])
    assert [c[0] for c in api.calls] == ["gettrackinfo"]  # one request per poll, not two


def test_a_lost_registration_is_registered_again() -> None:
    api = FakeApi()
    api.forgotten = {"RR123456789CN"}  # stopped, or registered under another key
    results = run(api, [TrackRequest("RR123456789CN", known=True),
                        TrackRequest("1234567890", "dhl", known=True)])
    assert [(c[0], [i["number"] for i in c[2]]) for c in api.calls] == [
        ("gettrackinfo", ["RR123456789CN", "1234567890"]),
        ("register", ["RR123456789CN"]),
        ("gettrackinfo", ["RR123456789CN"])]
    assert [r.error for r in results] == [None, None]
    assert all(r.status is Status.IN_TRANSIT for r in results)


def test_track_default_carrier_table_and_reverse_mapping() -> None:
    api = FakeApi()
    (result,) = run(api, [TrackRequest("1234567890", "dhl")])
    assert api.calls[0][2] == [{"number": "1234567890", "carrier": 100001}]
    assert result.carrier == "dhl"


def test_track_rejected_items_are_reported_and_not_queried() -> None:
    api = FakeApi()
    api.register_reply = {"code": 0, "data": {"accepted": [], "rejected": [
        {"number": "1234", "error": {"code": -18010012, "message": "The format is invalid."}},
        {"number": "RR123456789CN", "error": {"code": -18019901, "message": "registered"}}]}}
    results = run(api, [TrackRequest("1234"), TrackRequest("RR123456789CN")])
    assert api.calls[1][2] == [{"number": "RR123456789CN"}]
    assert results[0].error_kind == "UsageError" and results[0].status is Status.UNKNOWN
    assert results[1].error is None and results[1].status is Status.IN_TRANSIT


def test_track_limits() -> None:
    api = FakeApi()
    assert run(api, []) == []
    with pytest.raises(ValueError, match="40"):
        run(api, [TrackRequest(f"AB{i:08d}") for i in range(41)])
    assert api.calls == []
    run(api, [TrackRequest(f"AB{i:08d}") for i in range(40)])
    assert [len(c[2]) for c in api.calls] == [40, 40]


def test_track_http_failures() -> None:
    api = FakeApi()
    api.status = 404
    with pytest.raises(ConfigError, match="404"):
        run(api, [TrackRequest("ABCDE12345")])
    api.status = 401
    with pytest.raises(AuthError) as info:
        run(api, [TrackRequest("ABCDE12345")])
    assert TOKEN not in str(info.value)
    api.status = 400
    with pytest.raises(ProviderChanged):
        run(api, [TrackRequest("ABCDE12345")])


@pytest.mark.parametrize("carriers", [["dhl"], {"dhl": "DHL"}, {"dhl": True}, "dhl"])
def test_bad_carrier_table_is_a_config_error(carriers: Any) -> None:
    with pytest.raises(ConfigError, match="carriers"):
        run(FakeApi(), [TrackRequest("ABCDE12345")], carriers=carriers)


def test_check_request() -> None:
    provider = SeventeenTrackProvider({"token": TOKEN}, HttpClient("17track"))
    provider.check_request(TrackRequest("RR123456789CN"))
    provider.check_request(TrackRequest("ABC-12"))
    for bad in ("1234", "A" * 51, "SF 123456", "顺丰123456"):
        with pytest.raises(UsageError):
            provider.check_request(TrackRequest(bad))


def test_provider_metadata() -> None:
    cls = SeventeenTrackProvider
    assert cls.name == "17track" and cls.kind == "tracking"
    assert cls.rate_per_second == 3.0 and cls.batch_size == 40
    assert cls.min_interval_minutes == 30
    keys = {k.name: k for k in cls.config_keys}
    assert keys["token"].secret and keys["token"].required
    assert keys["base_url"].default == "https://api.17track.net/track/v2.2"
    assert keys["lang"].default == ""
    assert not cls.is_configured({})
    assert st17.MIN_SPACING_SECONDS >= 1 / 3
