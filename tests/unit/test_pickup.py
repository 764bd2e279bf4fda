"""Pickup-code and station extraction on every real text of pickup-texts.md."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from parcelctl.pickup import extract_pickup_codes, extract_station

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "pickup_texts.json").read_text(encoding="utf-8"))["samples"]


def test_fixture_has_every_row_of_the_sheet() -> None:
    assert [s["id"] for s in SAMPLES] == list(range(1, 27))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"row{s['id']}")
def test_codes(sample: dict[str, Any]) -> None:
    assert extract_pickup_codes(sample["text"]) == sample["codes"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"row{s['id']}")
def test_station(sample: dict[str, Any]) -> None:
    assert extract_station(sample["text"]) == sample["station"]


@pytest.mark.parametrize(("text", "codes"), [
    # shapes listed in the sheet, behind an anchor
    ("取件码39-5-11463", ["39-5-11463"]),
    ("取件码：4-2-02015，请及时领取", ["4-2-02015"]),
    ("取件码为86-2531", ["86-2531"]),
    ("请凭C7-26到驿站取件", ["C7-26"]),
    ("取货码D4-7048", ["D4-7048"]),
    ("提货码Y-894。", ["Y-894"]),
    ("取件码M-2-5341", ["M-2-5341"]),
    ("取件码B3-01175", ["B3-01175"]),
    ("取件码 7652-5845", ["7652-5845"]),
    ("取件码“5-3858”", ["5-3858"]),
    ("凭取件码 A-7-3021 取件", ["A-7-3021"]),
    ("取件码692035，再次提醒取件码692035", ["692035"]),
    # two keywords, two codes, in order
    ("取件码1-1-1001，另一件取件码2-2-2002", ["1-1-1001", "2-2-2002"]),
])
def test_code_shapes(text: str, codes: list[str]) -> None:
    assert extract_pickup_codes(text) == codes


@pytest.mark.parametrize("text", [
    "请20:30前到驿站取件",                       # clock time
    "取件码20:30前有效",                          # a time right after the keyword
    "凭4000633333到服务台咨询",                   # hotline, too long
    "取件码13812345678",                          # a phone number is not a code
    "取件码138****1234",                          # masked phone
    "取件码已发送，请留意短信",                   # mentioned without a value
    "免费存48小时，超时收0.30元",                 # fees and durations
    "取件码24小时内有效",                         # duration after the keyword
    "请到7号柜18-15号格口取件",                   # compartment
    "常州世纪明珠园17-7号店菜鸟驿站",             # shop number
    "丰巢智能柜FC7555602 代签收",                 # device id
    "快件546339570938813已到达",                  # waybill number
    "淘宝闪购搜索719987",                         # promo number
    "请凭身份码取件",                             # anchor without a code
    "取件码H17",                                  # compartment-shaped, not a code shape
    "",
])
def test_not_codes(text: str) -> None:
    assert extract_pickup_codes(text) == []


def test_list_after_keyword_stops_at_another_shape() -> None:
    # A plain number after a shelf code is not part of the code list.
    assert extract_pickup_codes("取货码2-5-7077，95720咨询") == ["2-5-7077"]


def test_codes_are_strings_with_leading_zeros() -> None:
    [code] = extract_pickup_codes("取件码为9-3-05011")
    assert isinstance(code, str) and code.endswith("05011")


@pytest.mark.parametrize(("text", "station"), [
    ("快件已由成都双流区红树湾二期店菜鸟驿站代收，请凭取件码 3-2-1107 及时取件",
     "成都双流区红树湾二期店菜鸟驿站"),
    ("快件已暂存至武汉光谷兔喜生活店，凭取件码 A-7-3021 取件", "武汉光谷兔喜生活店"),
    ("已投递到上海市浦东新区丰巢智能柜，取件码 692035", "上海市浦东新区丰巢智能柜"),
    ("【菜鸟驿站】您的包裹已到站，请及时取件", "菜鸟驿站"),
    ("快件已到达 【成都转运中心】", None),
    ("您的快件正在派送中", None),
])
def test_station_in_tracking_events(text: str, station: str | None) -> None:
    assert extract_station(text) == station


def test_long_text_is_fast() -> None:
    # Precompiled, bounded patterns: no pathological backtracking on long noisy input.
    text = ("到" + "店" * 70 + "，" + "1-" * 500 + "取件码" + "9" * 40) * 50
    start = time.perf_counter()
    extract_pickup_codes(text)
    extract_station(text)
    assert time.perf_counter() - start < 1.0
