"""One message -> what it says: pickup codes, station, waybill tail, deadline, waybills.

Pure and stdlib-only. The first rule is *no false code*: a missed code is better than a
wrong one. Codes come only from :mod:`parcelctl.pickup` (anchor required); this module adds
what the text says around them, each behind its own anchor too:

* a **waybill tail** (``运单尾号6017``, ``*94650``, ``极兔3882``) is what a station files the
  parcel under; it is used to find the tracked parcel, never as a code;
* **waybill numbers** are taken after ``运单号``/``单号``/a carrier name/``快件``/``包裹``, or
  when their shape names the carrier by itself (``SF…``, ``JT…``); phones (also masked
  ones), order numbers and hotlines never are;
* the **deadline** is relative to the message's own time: ``请20:30前`` (that day),
  ``免费存48小时``, ``8月15日前``; overdue reminders (``24h未领``) are flagged instead.

Sources of the shapes: tests/fixtures/pickup_texts.json (the 26 texts of pickup-texts.md)
and tests/fixtures/pickup_texts_extra.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .. import carriers
from ..pickup import extract_pickup_codes, extract_station
from ..status import CHINA_TZ, normalize_number

__all__ = ["CARRIER_WORDS", "Finding", "normalize", "parse"]

# -- normalisation ------------------------------------------------------------------------

# Full-width digits, letters and the few symbols codes and numbers use (＊ ＃ － ＂ ＇).
# Chinese punctuation (，：（）) stays: the patterns know both forms, and station names keep
# their own spelling.
_WIDE = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                          *range(0xFF41, 0xFF5B), 0xFF0A, 0xFF03, 0xFF02,
                                          0xFF07)}
_WIDE |= {0x3000: 0x20, 0x00A0: 0x20, 0x200B: None, 0x200C: None, 0x200D: None,
          0xFEFF: None}
# Dashes typed or converted by phones between the parts of a code: 10–2–7507, 10－2－7507.
_DASHES = re.compile(r"(?<=[0-9A-Za-z])[\u2010-\u2015\u2212\uFF0D\uFE63](?=[0-9A-Za-z])")


def normalize(text: str) -> str:
    """Full-width digits, letters and code dashes as ASCII; nothing else changes."""
    return _DASHES.sub("-", text.translate(_WIDE))


# -- carriers -------------------------------------------------------------------------------

#: How texts name carriers -> parcelctl carrier code. Longest names first.
CARRIER_WORDS: dict[str, str] = {
    "中国邮政": "youzhengguonei", "邮政": "youzhengguonei", "EMS": "ems",
    "顺丰": "shunfeng", "中通": "zhongtong", "圆通": "yuantong", "申通": "shentong",
    "韵达": "yunda", "极兔": "jtexpress", "百世": "huitongkuaidi", "京东": "jd",
    "德邦": "debangwuliu", "宅急送": "zhaijisong",
}
_NAMES = "|".join(sorted(CARRIER_WORDS, key=len, reverse=True))
_SUFFIX = r"(?:快递|速递|速运|快运|物流)?"
# The carrier the text says the parcel is with (not one inside a station's name):
# 您的中通快递包裹 / 您的圆通包裹 / 中通快递的包裹 / 【韵达快递】 as the signature.
_CARRIER_OF_PARCEL = re.compile(
    rf"(?:您的|你的|您有|的)(?P<a>{_NAMES}){_SUFFIX}(?:包裹|快件|快递)?"
    rf"|(?P<b>{_NAMES}){_SUFFIX}(?:的)?(?:包裹|快件)")
_SIGNATURE = re.compile(rf"^\s*[【\[](?:[^】\]]{{0,6}}?)(?P<c>{_NAMES})[^】\]]{{0,6}}[】\]]")

# -- tails ----------------------------------------------------------------------------------

_PHONE_WORDS = re.compile(r"(?:手机|电话|号码|联系|致电|热线|客服|来电|拨打|手机号|尾号为您)")
# 运单尾号6017 / 单号尾号 6017 / 尾号：****6017
_TAIL = re.compile(r"尾号(?:为|是)?[\s:：]*\**(?P<tail>\d{4,8})(?!\d)")
# *94650 (never the digits after a masked phone's stars: 138****1639)
_STAR_TAIL = re.compile(r"(?<![\d*])\*+(?P<tail>\d{4,8})(?!\d)")
# 极兔3882 / 中通快递3787 / 顺丰*72778
_CARRIER_TAIL = re.compile(
    rf"(?P<carrier>{_NAMES}){_SUFFIX}\**(?P<tail>\d{{4,6}})(?![\d号柜格栋排米元楼层天小]|-\d)")

# -- waybill numbers ------------------------------------------------------------------------

_NUMBER = r"[A-Za-z]{0,4}\d{8,22}[A-Za-z]{0,2}"
_END = r"(?![0-9A-Za-z*])"
_NUMBER_AFTER_WORD = re.compile(
    rf"(?<!订)(?:运单号码|运单号|快递单号|物流单号|运单编号|单号|运单)(?:码|为|是)?[\s:：]*"
    rf"(?P<num>{_NUMBER}){_END}")
_NUMBER_AFTER_CARRIER = re.compile(
    rf"(?P<carrier>{_NAMES}){_SUFFIX}(?:单号|运单号)?[\s:：,，]*(?P<num>{_NUMBER}){_END}")
_NUMBER_OF_PARCEL = re.compile(rf"(?:快件|包裹|快递)[\s:：]*(?P<num>{_NUMBER}){_END}")
# Shapes that name their carrier by themselves (tracking-numbers.md §2, high confidence).
_NUMBER_BY_SHAPE = re.compile(
    rf"(?<![0-9A-Za-z])(?P<num>SF\d{{13}}|JT\d{{13}}|YT\d{{13}}|JD[A-Z]{{1,2}}\d{{11,12}}"
    rf"|DPK\d{{12}}){_END}")
_NOT_WAYBILL_BEFORE = re.compile(r"(?:订单|订单号|电话|手机|联系|热线|客服|致电|拨打|验证码"
                                 r"|身份码|取件码|取货码|提货码|order)[^，,。；;]{0,6}$",
                                 re.IGNORECASE)
_PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{9,11}|400\d{7}|800\d{7}|95\d{3,6})$")

# -- deadlines ------------------------------------------------------------------------------

_BEFORE = r"(?:前|之前|以前)"
_DAY_WORD = r"(?P<day_word>今天|今日|当天|当日|明天|明日)?"
_CLOCK_DEADLINE = re.compile(rf"{_DAY_WORD}(?P<h>\d{{1,2}})[:：](?P<m>\d{{2}})\s?{_BEFORE}")
_DATE_DEADLINE = re.compile(
    rf"(?:(?P<y>20\d{{2}})[年/.-](?P<mon>\d{{1,2}})[月/.-]|(?P<mon2>\d{{1,2}})月)"
    rf"(?P<d>\d{{1,2}})[日号]?"
    rf"\s*(?:(?P<h>\d{{1,2}})(?:[:：](?P<m>\d{{2}})|[点时]))?{_BEFORE}")
_FREE_STORAGE = re.compile(
    r"(?:免费(?:存|保管|存放|寄存|保存)|(?:存|保管|存放)(?:时间|期限)?)[^\d，,。]{0,3}"
    r"(?P<n>\d{1,3})(?P<unit>小时|个小时|h|H|天)")
_WITHIN = re.compile(r"(?P<n>\d{1,3})(?P<unit>小时|个小时|h|H|天)内(?:取件|取走|领取|取出|取)")
_OVERDUE = re.compile(r"(?:\d{1,3}(?:小时|个小时|h|H|天)未(?:取|领)|已超(?:过)?\d{1,3}"
                      r"(?:小时|个小时|h|H|天)|滞留|超时未取|即将退回|即将超时)")

# -- what makes a text a pickup notice ------------------------------------------------------

_PICKUP_WORDS = re.compile(r"取件|取货|提货|领取|取包裹|取快递|取您的|待取|未取|未领|代收"
                           r"|暂存|已到站|到站|自提|取走")
# Texts about food, rides and payments reuse 送达/取 words; they never carry parcels.
_NOT_PARCELS = re.compile(r"外卖|骑手|订餐|饿了么|美团外卖|打车|网约车|验证码|校验码")


@dataclass(slots=True)
class Finding:
    """What one message says. Empty lists / ``None`` when it does not say it."""

    text: str
    codes: list[str] = field(default_factory=list)
    station: str | None = None
    carrier: str | None = None
    tail: str | None = None
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (number, carrier code)
    deadline: datetime | None = None
    overdue: bool = False
    pickup: bool = False  # a pickup notice: the parcel waits at a station or locker

    @property
    def recognised(self) -> bool:
        return bool(self.numbers or (self.pickup and (self.codes or self.tail)))


def parse(raw: str, received: datetime) -> Finding:
    """Everything ``raw`` says. ``received``: the message's time (aware)."""
    text = normalize(raw)
    found = Finding(text=text)
    if _NOT_PARCELS.search(text) and not re.search(r"(?:取件|取货|提货)码", text):
        return found
    found.codes = [c for c in extract_pickup_codes(text) if not _looks_like_date(c)]
    found.numbers = _numbers(text)
    found.tail = None if found.numbers else _tail(text)
    found.pickup = bool(found.codes) or (
        bool(_PICKUP_WORDS.search(text)) and bool(found.tail or found.numbers))
    found.carrier = _carrier(text)
    if found.pickup:
        found.station = extract_station(text)
        found.deadline = _deadline(text, received)
        found.overdue = _OVERDUE.search(text) is not None
    return found


def _looks_like_date(code: str) -> bool:
    # 2026-12-07 behind an anchor is a date, never a shelf code.
    return re.fullmatch(r"(?:19|20)\d{2}-\d{1,2}-\d{1,2}", code) is not None


def _phone_context(text: str, start: int) -> bool:
    return _PHONE_WORDS.search(text[max(0, start - 6):start]) is not None


def _tail(text: str) -> str | None:
    for pattern in (_CARRIER_TAIL, _TAIL, _STAR_TAIL):
        for match in pattern.finditer(text):
            if _phone_context(text, match.start()):
                continue
            return match.group("tail")
    return None


def _carrier(text: str) -> str | None:
    """The carrier the text says the parcel is with: next to the tail, of the parcel
    (``您的中通快递包裹``), or the 【signature】. A carrier inside a station's name
    (``菜鸟驿站中通1号柜``) is not the parcel's."""
    match = _CARRIER_TAIL.search(text)
    if match is not None and not _phone_context(text, match.start()):
        return CARRIER_WORDS[match.group("carrier")]
    match = _CARRIER_OF_PARCEL.search(text)
    if match is not None:
        return CARRIER_WORDS[match.group("a") or match.group("b")]
    match = _SIGNATURE.match(text)
    if match is not None:
        return CARRIER_WORDS[match.group("c")]
    return None


def _numbers(text: str) -> list[tuple[str, str]]:
    """Waybill numbers with their carrier, in order of appearance, each once."""
    found: dict[str, tuple[int, str]] = {}
    text_carrier = _carrier(text)
    for pattern in (_NUMBER_AFTER_WORD, _NUMBER_AFTER_CARRIER, _NUMBER_OF_PARCEL,
                    _NUMBER_BY_SHAPE):
        for match in pattern.finditer(text):
            start = match.start()
            if _NOT_WAYBILL_BEFORE.search(text[max(0, start - 12):start]):
                continue
            number = normalize_number(match.group("num"))
            if number in found or not _plausible(number):
                continue
            named = match.groupdict().get("carrier")
            carrier = CARRIER_WORDS[named] if named else (text_carrier or "")
            hint = carriers.hint(number)
            if hint is not None and (not carrier or (hint.confidence == "high"
                                                     and hint.code != carrier)):
                # The number's own shape wins over a carrier named somewhere else in the
                # text; a low-confidence guess only fills in a carrier the text did not name.
                carrier = hint.code if hint.confidence != "low" or not carrier else carrier
            found[number] = (start, carrier)
    return [(number, carrier) for number, (_, carrier)
            in sorted(found.items(), key=lambda item: item[1][0])]


def _plausible(number: str) -> bool:
    digits = sum(ch.isdigit() for ch in number)
    if not 10 <= len(number) <= 30 or digits < 8:
        return False
    if _PHONE.match(number) or len(set(number)) == 1:
        return False
    return not re.fullmatch(r"(?:19|20)\d{12}", number)  # 20261207153000: a time stamp


def _deadline(text: str, received: datetime) -> datetime | None:
    """The time the parcel should be collected by, in China time (texts are)."""
    local = received.astimezone(CHINA_TZ)
    match = _DATE_DEADLINE.search(text)
    if match is not None and (when := _date_deadline(match, local)) is not None:
        return when
    match = _CLOCK_DEADLINE.search(text)
    if match is not None:
        clock = _clock(match.group("h"), match.group("m"))
        if clock is not None:
            day = local.date()
            if match.group("day_word") in ("明天", "明日"):
                day += timedelta(days=1)
            when = datetime.combine(day, clock, CHINA_TZ)
            if when <= local and not match.group("day_word"):
                when += timedelta(days=1)  # "20:30前" read at 21:00 is tomorrow's 20:30
            return when
    for pattern in (_FREE_STORAGE, _WITHIN):
        match = pattern.search(text)
        if match is not None:
            count = int(match.group("n"))
            if 0 < count <= 720:
                unit = timedelta(days=1) if match.group("unit") == "天" else timedelta(hours=1)
                return local + count * unit
    return None


def _clock(hours: str | None, minutes: str | None) -> time | None:
    h, m = int(hours or 0), int(minutes or 0)
    if h == 24 and m == 0:
        return time(23, 59)
    return time(h, m) if h < 24 and m < 60 else None


def _date_deadline(match: re.Match[str], local: datetime) -> datetime | None:
    year = int(match.group("y")) if match.group("y") else local.year
    try:
        day = date(year, int(match.group("mon") or match.group("mon2")), int(match.group("d")))
    except ValueError:
        return None
    if not match.group("y") and day < local.date() - timedelta(days=60):
        try:  # "1月3日前" received on 28 December
            day = day.replace(year=year + 1)
        except ValueError:
            return None
    clock = _clock(match.group("h"), match.group("m")) if match.group("h") else time(23, 59)
    if clock is None:
        return None
    return datetime.combine(day, clock, CHINA_TZ)
