"""Texts -> findings: the 26 real texts of pickup-texts.md, tails, deadlines, waybills.

Source of the samples: /work/shared/protocols/pickup-texts.md (copied to
tests/fixtures/pickup_texts.json; each sample names its public origin, e.g.
pppscn/SmsForwarder#469, shareven/parcel#43).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from parcelctl.status import CHINA_TZ
from parcelctl.texts.parse import normalize, parse
from tests.conftest import load_fixture

SAMPLES: list[dict[str, Any]] = load_fixture("pickup_texts.json")["samples"]
#: The message's own time: 09:15 China time on 7 December 2026.
RECEIVED = datetime(2026, 12, 7, 9, 15, tzinfo=CHINA_TZ)

#: The sheet's deadline column: rows 1 and 12 say a clock time (that day), row 18 a free
#: storage window of 48 hours; no other row has one.
DEADLINES = {1: datetime(2026, 12, 7, 20, 30, tzinfo=CHINA_TZ),
             12: datetime(2026, 12, 7, 23, 59, tzinfo=CHINA_TZ),
             18: RECEIVED + timedelta(hours=48)}
#: Texts that say nothing to store: a food delivery, an overdue reminder without code or
#: tail, tracking events without a code (rows 23-26 name a station but no parcel).
UNRECOGNISED = {15, 16, 23, 24, 25, 26}
#: (tail, carrier) each notice names; phones (176****1639) and stations never count.
TAILS = {2: ("6017", "yuantong"), 3: ("94650", None), 5: ("0100", "jtexpress"),
         10: ("3787", "zhongtong"), 11: ("3882", "jtexpress"), 12: ("72778", "shunfeng")}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"row{s['id']}")
def test_every_sheet_row(sample: dict[str, Any]) -> None:
    found = parse(sample["text"], RECEIVED)
    assert found.codes == sample["codes"]
    assert found.deadline == DEADLINES.get(sample["id"])
    assert found.recognised is (sample["id"] not in UNRECOGNISED)
    if found.pickup:
        assert found.station == sample["station"]
    if sample["id"] in TAILS:
        assert (found.tail, found.carrier) == TAILS[sample["id"]]


def test_no_false_code_in_the_sheet() -> None:
    false = [(s["id"], c) for s in SAMPLES for c in parse(s["text"], RECEIVED).codes
             if c not in s["codes"]]
    assert false == []


def test_full_width_digits_letters_and_dashes() -> None:
    found = parse("【菜鸟驿站】您的包裹已到幸福里店，请凭１０－２－７５０７取件", RECEIVED)
    assert found.codes == ["10-2-7507"]
    found = parse("圆通速递 运单号：ＹＴ９６９３０８３６３９７９５", RECEIVED)
    assert found.numbers == [("YT9693083639795", "yuantong")]
    assert normalize("取件码：Ａ—７—３０２１") == "取件码：A-7-3021"
    assert normalize("——好的——") == "——好的——"  # dashes between words stay


@pytest.mark.parametrize(("text", "numbers"), [
    ("中通快递 75312345678901", [("75312345678901", "zhongtong")]),
    ("运单号：YT9693083639795", [("YT9693083639795", "yuantong")]),
    ("顺丰速运 SF1321934960512 已发货", [("SF1321934960512", "shunfeng")]),
    ("快递单号 773027491214552", [("773027491214552", "shentong")]),
    ("【韵达快递】您的快件433391373012303正在派送", [("433391373012303", "yunda")]),
    # a carrier named next to a number whose own shape names another: the shape wins
    ("中通快递：SF1321934960512", [("SF1321934960512", "shunfeng")]),
    # no anchor, no telling shape: not a waybill
    ("75312345678901", []),
    ("订单号：240912345678901234 已付款", []),
    ("订单编号 3950055201640", []),
    ("如有疑问请联系电话13812345678", []),
    ("客服热线 4000633333", []),
    ("单号 13812345678", []),
    ("运单号：20261207153000", []),
])
def test_waybill_numbers(text: str, numbers: list[tuple[str, str]]) -> None:
    assert parse(text, RECEIVED).numbers == numbers


@pytest.mark.parametrize(("text", "tail"), [
    ("请凭1-4-4230到驿站领取运单尾号6017包裹", "6017"),
    ("您的快递:*94650已到驿站，请用Q7-32取件", "94650"),
    ("取件码 1-1-1001，详询176****1639", None),  # masked phone
    ("取件码 1-1-1001，收件人手机尾号1234", None),  # phone tail
    ("取件码 1-1-1001，联系*1234", None),
    ("凭24-4-3882到驿站速取，极兔3882", "3882"),
    ("取件码800414，菜鸟驿站中通1号柜", None),  # a locker, not a tail
])
def test_tails(text: str, tail: str | None) -> None:
    assert parse(text, RECEIVED).tail == tail


@pytest.mark.parametrize(("text", "deadline"), [
    ("请20:30前凭10-2-7507取件", datetime(2026, 12, 7, 20, 30, tzinfo=CHINA_TZ)),
    ("请今天18：00前凭10-2-7507取件", datetime(2026, 12, 7, 18, 0, tzinfo=CHINA_TZ)),
    ("请明天12:00前凭10-2-7507取件", datetime(2026, 12, 8, 12, 0, tzinfo=CHINA_TZ)),
    ("凭取件码 8-2-3006 取件，18:00 前领取", datetime(2026, 12, 7, 18, 0, tzinfo=CHINA_TZ)),
    # a clock time already past when the message came: the next day's
    ("请08:00前凭10-2-7507取件", datetime(2026, 12, 8, 8, 0, tzinfo=CHINA_TZ)),
    ("取件码10-2-7507，请于12月10日前取件", datetime(2026, 12, 10, 23, 59, tzinfo=CHINA_TZ)),
    ("取件码10-2-7507，请于1月3日前取件", datetime(2027, 1, 3, 23, 59, tzinfo=CHINA_TZ)),
    ("取件码10-2-7507，免费存24小时", RECEIVED + timedelta(hours=24)),
    ("取件码10-2-7507，免费保管3天", RECEIVED + timedelta(days=3)),
    ("取件码10-2-7507，请在48小时内取件", RECEIVED + timedelta(hours=48)),
    ("取件码10-2-7507，请于13月40日前取件", None),  # no such date
    ("取件码10-2-7507，请25:10前取件", None),
    ("您的快递24h未领，取件码10-2-7507", None),  # overdue, not a deadline
])
def test_deadlines(text: str, deadline: datetime | None) -> None:
    assert parse(text, RECEIVED).deadline == deadline


def test_overdue_is_flagged() -> None:
    assert parse("您的快递24h未领，取件码10-2-7507", RECEIVED).overdue
    assert not parse("取件码10-2-7507", RECEIVED).overdue


@pytest.mark.parametrize("text", [
    "取件码2026-12-07",  # a date behind an anchor
    "【美团外卖】骑手已取货，凭1234到店取餐",  # food, not a parcel
    "【某银行】验证码123456，请凭123456到柜台领取",
    "【某银行】您的登录密码 AB1234 已修改",  # 密码 is an anchor only as 凭密码 / 取件密码
    "取件码H17",  # a compartment: letter codes need 4+ digits
])
def test_never_codes(text: str) -> None:
    assert parse(text, RECEIVED).codes == []


def test_a_long_noisy_message_is_quick() -> None:
    """Bounded patterns: the longest message accepted (2,000 characters) of the shapes that
    make regular expressions backtrack parses in milliseconds."""
    import time

    noisy = [("取件码" + "1-" * 600)[:2000], ("运单号" + "9" * 30 + "尾号") * 60,
             ("凭" + "A1-" * 700)[:2000], ("【顺丰" * 400)[:2000], "*" * 1000 + "1" * 1000,
             ("请20:3" + "0前" * 10) * 100]
    start = time.perf_counter()
    for text in noisy:
        parse(text[:2000], RECEIVED)
    assert time.perf_counter() - start < 1.0
