"""Issue 5 §4, parsers: every response parser gets arbitrary JSON — random values, and the
documented sample payloads with parts deleted or replaced by random JSON (the "almost right"
shapes a changed API sends). The parser returns a valid result or raises a ProviderError
that names its provider; it never raises anything else (KeyError, TypeError,
OverflowError, UnicodeEncodeError…), and what it returns can be stored and shown:
timezone-aware times, statuses from the vocabulary, text that SQLite accepts.

Also: tracking-number normalization and carrier hints, config dotted keys and values, and
``Config`` reading arbitrary TOML files.
"""

from __future__ import annotations

import json
import sqlite3
import string
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelctl import carriers
from parcelctl.errors import ConfigError, ParcelctlError, ProviderError, UsageError
from parcelctl.models import (
    CarrierCandidate,
    Order,
    Status,
    TokenSet,
    TrackingEvent,
    TrackResult,
    normalize_number,
)
from parcelctl.providers import cainiao, douyin, kuaidi100, kuaishou, seventeentrack, taobao
from tests.conftest import load_fixture

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Lone surrogates are valid in JSON ("\ud800") and decode to Python strings SQLite rejects.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT
           | st.sampled_from(["", "0", "1", "200", "-1", "true", "null", "1e309", "NaN",
                              "2024-05-01 12:30:00", "99999999999999999999", "nomore",
                              "\ud800", "\x1b[31m", "[bold]x[/]"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT | st.sampled_from(
                        ["data", "code", "result", "status", "time", "number", "events"]),
                        inner, max_size=4), max_leaves=16)

DOUYIN_SPEC = douyin.OrderSpec(
    "order.searchList", "list", "id", "st.code",
    {"2": Status.AWAITING_SHIPMENT, "3": Status.INFO_RECEIVED}, created_field="ct",
    title_field="name", waybills_path="pk", number_field="no", carrier_field="co",
    carrier_map={"zto": "zhongtong"})
TAOBAO_TRADES = {"trades_sold_get_response": {"total_results": 2, "has_next": False,
                 "trades": {"trade": [
                     {"tid": 1, "created": "2024-05-01 12:30:00",
                      "status": "WAIT_SELLER_SEND_GOODS", "seller_nick": "某店",
                      "orders": {"order": [
                          {"oid": 10, "title": "保温杯", "total_fee": "12.90", "num": 2}]}}]}}}

#: name -> (parser called with the payload, documented or constructed right-shaped samples)
PARSERS: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
    "kuaidi100.parse_query": (
        lambda p: kuaidi100.parse_query(p, "YT6247854916511", "yuantong"),
        [load_fixture("kuaidi100-query-v4-events.json"), load_fixture("kuaidi100-query-basic.json"),
         load_fixture("kuaidi100-error-500.json"), load_fixture("kuaidi100-error-status201.json")]),
    "kuaidi100.parse_autonumber": (kuaidi100.parse_autonumber,
                                   [load_fixture("kuaidi100-autonumber.json")]),
    "17track.parse_register": (seventeentrack.parse_register,
                               [load_fixture("17track-register.json")]),
    "17track.parse_trackinfo": (seventeentrack.parse_trackinfo,
                                [load_fixture("17track-gettrackinfo.json")]),
    "17track.raise_for_envelope": (seventeentrack.raise_for_envelope,
                                   [load_fixture("17track-error-key.json"),
                                    load_fixture("17track-error-429.json")]),
    "cainiao.parse_detail": (
        lambda p: cainiao.parse_detail(p, ["RC000000001EE", "LP00123456789012"]),
        [load_fixture("cainiao-detail.json"), load_fixture("cainiao-unknown.json")]),
    "kuaishou.parse_orders": (lambda p: kuaishou.parse_orders(p, "shop"),
                              [load_fixture("kuaishou-order-list.json")]),
    "kuaishou.parse_token": (lambda p: kuaishou.parse_token(p, NOW),
                             [load_fixture("kuaishou-token.json"),
                              load_fixture("kuaishou-refresh.json"),
                              load_fixture("kuaishou-oauth-error.json")]),
    "kuaishou.raise_for_result": (kuaishou.raise_for_result,
                                  [load_fixture("kuaishou-oauth-error.json")]),
    "taobao.parse_trades": (lambda p: taobao.parse_trades(p, "me"),
                            [TAOBAO_TRADES, load_fixture("taobao-error.json")]),
    "taobao.parse_trace": (taobao.parse_trace, [load_fixture("taobao-trace-search.json")]),
    "taobao.parse_token": (lambda p: taobao.parse_token(p, NOW),
                           [{"access_token": "a", "refresh_token": "r", "expires_in": 86400,
                             "re_expires_in": 0, "taobao_user_nick": "me"}]),
    "douyin.unwrap": (douyin.unwrap, [{"code": 10000, "msg": "success", "data": {"x": 1}},
                                      {"err_no": 0, "data": {}},
                                      {"code": 50002, "sub_code": "isv.x", "sub_msg": "bad"}]),
    "douyin.parse_token": (
        lambda p: douyin.parse_token(douyin.unwrap(p), NOW),
        [{"code": 10000, "data": {"access_token": "a", "expires_in": 604800,
                                  "refresh_token": "r", "shop_id": 1}}]),
    "douyin.parse_orders": (
        lambda p: douyin.parse_orders(douyin.unwrap(p), DOUYIN_SPEC, "shop"),
        [{"code": 10000, "data": {"list": [
            {"id": 1, "st": {"code": 3}, "ct": 1735689600, "name": "杯子",
             "pk": [{"no": "ZT1", "co": "zto"}]},
            {"id": "2", "st": {"code": 2}, "ct": "2025-01-01 08:00:00", "pk": {"no": "Y1"}}]}}]),
    # The vendor-SDK defaults (errata D2) over the golden order.searchList page.
    "douyin.parse_orders.defaults": (
        lambda p: (douyin.parse_orders(douyin.unwrap(p), douyin.default_spec(), "shop"),
                   douyin.page_total(douyin.unwrap(p))),
        [load_fixture("douyin-order-searchlist.json")]),
}
#: Documented remote codes that are deliberately not provider failures (e.g. Kuaidi100's
#: autonumber 701 = "configure the key", 201 = "not a tracking number").
EXTRA_ERRORS: dict[str, tuple[type[ParcelctlError], ...]] = {
    "kuaidi100.parse_autonumber": (ConfigError, UsageError),
}


def mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    """The sample with random parts dropped, replaced by random JSON, or retyped."""
    choice = data.draw(st.integers(0, 9), label=f"mutate@{depth}")
    if choice == 0:
        return data.draw(JSON)
    if choice == 1 and isinstance(value, dict | list):
        return data.draw(st.sampled_from([{}, [], None, "", 0]))
    if choice == 2 and isinstance(value, str | int | float) and not isinstance(value, bool):
        return data.draw(st.sampled_from([str(value), None, [value], {"v": value}, -1, 1e20,
                                          10**20, -10**15, "9" * 19, "\ud800" + str(value),
                                          "x" * 300, "\x1b[2J"]))
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if data.draw(st.integers(0, 7), label="drop") == 0:
                continue
            out[key] = mutate(item, data, depth + 1)
        return out
    if isinstance(value, list):
        mutated = [mutate(item, data, depth + 1) for item in value]
        duplicate: bool = data.draw(st.booleans(), label="dup")
        if mutated and duplicate:
            mutated.append(mutated[0])
        return mutated
    return value


def storable(text: str) -> None:
    """What the store does with remote text: UTF-8 for SQLite, and the event key."""
    text.encode("utf-8")
    sqlite3.connect(":memory:").execute("SELECT ?", (text,)).fetchone()


def check_event(event: TrackingEvent) -> None:
    assert isinstance(event.time, datetime) and event.time.utcoffset() is not None
    assert event.status is None or isinstance(event.status, Status)
    for text in (event.description, event.location, event.raw_code):
        assert isinstance(text, str)
        storable(text)
    assert len(event.key) == 20


def check_result(value: Any) -> None:
    """Walk a parser's return value: everything in it must be storable."""
    if isinstance(value, TrackResult):
        assert isinstance(value.status, Status) and isinstance(value.number, str)
        for text in (value.number, value.carrier, value.raw_status, value.pickup_code or "",
                     value.error or ""):
            storable(text)
        for event in value.events:
            check_event(event)
    elif isinstance(value, TrackingEvent):
        check_event(value)
    elif isinstance(value, Order):
        assert isinstance(value.status, Status)
        for text in (value.order_id, value.shop, value.title, value.raw_status):
            storable(text)
        for when in (value.created_at, value.updated_at, value.promised_ship_at):
            assert when is None or when.utcoffset() is not None
        for waybill in value.waybills:
            storable(waybill.number)
            storable(waybill.carrier)
        for events in value.traces.values():
            for event in events:
                check_event(event)
    elif isinstance(value, TokenSet):
        storable(json.dumps(value.to_dict(), ensure_ascii=False))
        for when in (value.access_expires_at, value.refresh_expires_at):
            assert when is None or when.utcoffset() is not None
    elif isinstance(value, CarrierCandidate):
        storable(value.code)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_result(key)
            check_result(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            check_result(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            check_result(getattr(value, name))
    elif isinstance(value, str):
        storable(value)


def decoded(payload: Any, provider: str) -> Any:
    """The payload as the provider gets it: sent as JSON, decoded by ``http.json_body``."""
    import httpx

    from parcelctl.http import json_body

    body = json.dumps(payload, ensure_ascii=True, allow_nan=True).encode()
    return json_body(httpx.Response(200, content=body), provider)


def call(name: str, payload: Any) -> None:
    parser, _ = PARSERS[name]
    allowed: tuple[type[ParcelctlError], ...] = (ProviderError, *EXTRA_ERRORS.get(name, ()))
    try:
        result = parser(decoded(payload, name.split(".")[0]))
    except allowed as exc:
        assert exc.provider, (name, exc)  # the one line names the provider
        assert str(exc).strip()
        return
    except ParcelctlError as exc:
        raise AssertionError(f"{name} raised {type(exc).__name__}, not a ProviderError: {exc}"
                             ) from exc
    check_result(result)


def test_samples_parse() -> None:
    """The unmutated samples are accepted (or are documented errors): the fuzzing starts
    from shapes the parsers really understand."""
    for name, (_, samples) in PARSERS.items():
        for sample in samples:
            call(name, sample)


@pytest.mark.parametrize("name", sorted(PARSERS))
@SETTINGS
@given(payload=JSON)
def test_arbitrary_json(name: str, payload: Any) -> None:
    call(name, payload)


@pytest.mark.parametrize("name", sorted(PARSERS))
@SETTINGS
@given(data=st.data())
def test_almost_right_shapes(name: str, data: st.DataObject) -> None:
    _, samples = PARSERS[name]
    sample = data.draw(st.sampled_from(samples), label="sample")
    call(name, mutate(sample, data))


def test_lone_surrogates_never_reach_a_parser() -> None:
    """JSON may escape half a UTF-16 pair; such text would break SQLite and hashing."""
    payload = decoded({"a\ud800": ["x\udfffy", {"k": "\ud83d\ude00 ok"}]}, "test")
    assert payload == {"a\ufffd": ["x\ufffdy", {"k": "\U0001f600 ok"}]}


# -- numbers and carrier hints -------------------------------------------------------------------

NUMBERISH = st.text(st.sampled_from(string.ascii_letters + string.digits + " -\t\n\x00\x1b"
                                    + "０１２ＡＢ①ⅷ" + "'\";%_[]"), max_size=50)


@settings(max_examples=400, deadline=None)
@given(raw=NUMBERISH | TEXT | st.text(max_size=2000))
def test_number_validation_and_hints(raw: str) -> None:
    try:
        number = carriers.validate_number(raw)
    except UsageError as exc:
        assert len(str(exc)) < 400  # the echoed input is clipped
        return
    assert number == normalize_number(number)  # idempotent
    assert 5 <= len(number) <= 40 and number.isascii() and number.isalnum()
    assert number == number.upper()
    for candidate in carriers.hints(number):
        assert candidate.code and candidate.confidence in ("high", "medium", "low")
    best = carriers.hint(raw)
    assert best is None or best == carriers.hints(number)[0]


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=60))
def test_hints_never_fail_on_anything(raw: str) -> None:
    for candidate in carriers.hints(raw):
        assert isinstance(candidate.code, str)
    carriers.carrier_label(raw)


# -- config ------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(key=st.text(max_size=40) | st.lists(st.text(string.ascii_lowercase + "_-.", max_size=8),
                                            max_size=4).map(".".join))
def test_split_key(key: str) -> None:
    from parcelctl.config import is_secret_key, split_key

    try:
        parts = split_key(key)
    except UsageError:
        return
    assert parts and all(parts)
    assert ".".join(parts) == key.strip()
    is_secret_key(key)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=60) | st.sampled_from(["30", "true", '["a"]', "1e5", "inf", "nan",
                                                   "{a = 1}", "[[", "\"unterminated",
                                                   "1979-05-27T07:32:00Z", "0x10", "a\nb = 2"]))
def test_parse_value(raw: str) -> None:
    from parcelctl.config import parse_value

    value = parse_value(raw)
    if isinstance(value, str):
        assert value == raw or "\n" not in raw  # a TOML string, or the raw text itself
    else:
        assert not isinstance(value, dict) or raw.strip().startswith("{")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.sampled_from([b"[providers]\nkuaidi100 = 5\n", b"providers = [1, 2]\n",
                          b"[providers.kuaidi100]\nkey = 'x'\n[providers.kuaidi100.key]\n",
                          b"polling = 'often'\n", b"[http]\ntimeout = 'soon'\n",
                          b"\xef\xbb\xbf[display]\nlanguage = 'en'\n",
                          b"[providers.cainiao]\nbatch_size = -3\nrate_per_second = 0\n"]))
def test_config_from_any_file(content: bytes, tmp_path: Path) -> None:
    from parcelctl.config import Config, Paths
    from parcelctl.services import settings_for, tracking_provider_name

    home = tmp_path / "cfg"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_bytes(content)
    try:
        config = Config(Paths(home, home, home))
        for key in ("providers.kuaidi100.customer", "http.timeout", "display.language",
                    "polling", "providers.tracking.default"):
            config.get(key)
        for name in ("kuaidi100", "17track", "cainiao", "kuaishou"):
            settings_for(config, name)
        tracking_provider_name(config)
    except ParcelctlError as exc:
        assert str(exc).strip()
