"""Pickup codes (取件码 / 取货码 / 提货码) and station names from Chinese parcel texts.

Works on SMS from 驿站 and lockers, tracking-event texts and text copied from shopping
apps. Rules come from real samples (see tests/fixtures/pickup_texts.json):

* A code is only taken right after an *anchor* (``取件码``, ``取货码``, ``提货码``,
  ``凭X到/至/取``, ``请用X到``, ``激活取件码『X』`` …). Bare numbers are never codes: phones,
  waybill numbers and tails (``运单尾号6017``, ``极兔3882``), clock times, fees, distances,
  locker and compartment labels (``4号柜``, ``H17``, ``18-15号格口``) and promo numbers all
  look like codes.
* Code shapes: shelf ``10-2-7507`` / ``5-5-9-13`` / ``86-2531``, letter shelf ``Q7-32`` /
  ``M-2-5341``, locker ``692035`` / ``60758080`` / ``7922-0881``, short serial ``72778``.
  Codes stay strings: ``9-3-05011`` keeps its zero.
* Codes are glued to 汉字 on both sides, so boundaries are explicit character classes,
  never ``\\b`` (Unicode ``\\b`` treats 汉字 as word characters).

Imported by several commands, so it is stdlib-only and every pattern is compiled once.
"""

from __future__ import annotations

import re

__all__ = ["extract_pickup_codes", "extract_station"]

# -- codes ------------------------------------------------------------------------------

# Hyphenated shelf/locker codes, letter shelves, or 4–8 plain digits (3-digit plain numbers
# are too ambiguous and were never seen as codes).
_CODE = r"(?:(?:[A-Z]\d{0,2}|\d{1,4})(?:-\d{1,5}){1,3}|\d{4,8})"
# What must not follow a code: more of a token, a decimal or clock continuation, a
# masked digit, or a unit that makes the number a label/quantity (号柜, 米, 元, 小时…).
_CODE_END = r"(?![0-9A-Za-z*\-]|[.:：]\d|号|米|元|小时|分钟|天|栋|排|楼|层)"
_OPEN = r"[『【「\"“'‘(（]?"

# Right after an explicit keyword only: letters + digits (``取件码A88123``, a 中邮驿站 text;
# ``凭密码 AB1234``, a 速递易 locker). Never 3 digits or fewer: ``H17`` is a compartment.
_LETTER_CODE = r"[A-Z]{1,2}\d{4,6}"
# 取件码 / 取件码为 / 取货码： / 提货码 / 提货号 / 凭密码 (lockers) … then optionally a locker
# number glued in front of the code, as 拼多多 copies it (``取件码 1号柜902144``).
_KEYWORD = re.compile(
    rf"(?:(?:取件|取货|提货)[码号]|取件密码|开箱密码|凭密码)(?:为|是)?[\s:：]*{_OPEN}\s*"
    rf"(?:\d{{1,3}}号柜\s*)?(?P<code>{_CODE}|{_LETTER_CODE}){_CODE_END}"
)
# 凭X到/至/取… , 请用X到… ; the verb after the code is required, otherwise ``凭`` + any
# number (e.g. 凭身份证号) would count.
_VOUCHER = re.compile(
    rf"(?:凭|请用){_OPEN}\s*(?P<code>{_CODE}){_CODE_END}[』】」\"”'’)）]?\s*"
    r"(?=到|至|去|前往|取|领|及时)"
)
# Several codes after one keyword: ``取货码2-5-7077，2-5-7075，2-3-4346``.
_MORE = re.compile(rf"[』】」\"”'’)）]?\s*[，,、/／;；]\s*{_OPEN}(?P<code>{_CODE}){_CODE_END}")


def _shape(code: str) -> tuple[str, int]:
    """Codes listed together share a shape; anything else after a comma is not a code."""
    return ("hyphen", code.count("-")) if "-" in code else ("plain", len(code))


def extract_pickup_codes(text: str) -> list[str]:
    """Pickup codes in ``text``, in order of appearance, each once; ``[]`` when none."""
    found: list[tuple[int, str]] = []
    for match in _KEYWORD.finditer(text):
        first = match.group("code")
        found.append((match.start("code"), first))
        pos = match.end()
        while (more := _MORE.match(text, pos)) is not None:
            if _shape(more.group("code")) != _shape(first):
                break
            found.append((more.start("code"), more.group("code")))
            pos = more.end()
    for match in _VOUCHER.finditer(text):
        found.append((match.start("code"), match.group("code")))
    codes: list[str] = []
    for _, code in sorted(found):
        if code not in codes:
            codes.append(code)
    return codes


# -- stations ---------------------------------------------------------------------------

# Characters a place name never contains: punctuation, quotes and brackets, and the verbs
# that follow a place in these texts (取/领 …件, 请, 凭, 您).
_NAME = r"[^\s，,。；;！!？?、：:|｜【】\[\]『』\"“”取领请凭您]"
_PLACE_WORDS = (r"驿站|代收点|快递柜|智能柜|丰巢柜|快递超市|超市|门店|店|站点|服务站|服务点"
                r"|自提点|快递点|快递室|货架|格口|柜")
_PLACE_SUFFIX = rf"(?:{_PLACE_WORDS})"

# Where the parcel is kept, said explicitly: 已被【X】代收 / 由X代(签)收 / 暂存至X.
_HELD_BY = re.compile(r"被【(?P<name>[^】]{2,60})】代(?:签)?收")
_HELD_FROM = re.compile(r"由(?P<name>[^，,。；;！!\n]{2,60}?)\s*代(?:签)?收")
_STORED_AT = re.compile(
    rf"(?:暂存至|暂存在|存放至|存放在|投递到|投递至|放入)(?P<name>{_NAME}{{1,60}}{_PLACE_SUFFIX})"
)
# Arrived at X: after 已到/已到达/送达 a place may also end in 快递 (``苍山下坡圆通快递``)…
_ARRIVED = re.compile(
    rf"(?:已到达|已到|已送达|送达|到达)(?P<name>{_NAME}{{1,60}}(?:{_PLACE_WORDS}|快递))"
)
# …but after a bare 到/至/前往 it must end in a real place word, or ``到4号柜圆通快递H17取``
# would swallow the carrier name.
_GO_TO = re.compile(rf"(?:前往|到|至)(?P<name>{_NAME}{{1,60}}{_PLACE_SUFFIX})")
# 拼多多 clipboard: ``取件码 X⏎站名 | 地址``.
_APP_COPY = re.compile(r"取件码[^\n]*\n\s*(?P<name>[^|｜\n]{2,60}?)\s*(?:[|｜]|$)", re.M)
# A whole clause that is a station: ``…，中峰乡信用社斜对面圆通速递妈妈驿站``.
_CLAUSE = re.compile(
    r"(?:^|[，,。；;！!\n|｜】\]])\s*"
    rf"(?P<name>{_NAME}{{2,60}}?(?:驿站|代收点|快递柜|智能柜|丰巢柜|快递超市))\s*(?=[，,。；;！!\n|｜]|$)"
)
# Network brands, used only when the text names no place (the 【signature】 is the brand).
_BRAND = re.compile(r"菜鸟驿站|妈妈驿站|兔喜生活|兔喜快递超市|快宝驿站|多多代收点|中邮驿站"
                    r"|递管家|袋鼠智柜|丰巢智能柜|丰巢")
_SIGNATURE = re.compile(r"^\s*[【\[](?P<name>[^】\]]{2,12})[】\]]")
_DEVICE_ID = re.compile(r"\s*[A-Z]{2}\d{5,}\s*$")  # 丰巢柜FC7555602: a device id, not a name
_LOCKER_ONLY = re.compile(r"^\d{1,3}号柜$")


def _clean(name: str) -> str | None:
    name = _DEVICE_ID.sub("", name).strip()
    return name or None


def extract_station(text: str) -> str | None:
    """The pickup station or locker named in ``text`` (``None`` when there is none).

    Explicit custody wins (``被【X】代收``, ``由X代收``, ``暂存至X``), then arrival
    (``已到X``), then directions (``到/至/前往X``), then the 拼多多 clipboard layout, then a
    clause that is itself a station name, and last a station brand such as 菜鸟驿站.
    """
    for pattern in (_HELD_BY, _HELD_FROM, _STORED_AT, _ARRIVED, _GO_TO, _APP_COPY, _CLAUSE):
        match = pattern.search(text)
        if match is None:
            continue
        name = _clean(match.group("name"))
        if name is None:
            continue
        if _LOCKER_ONLY.match(name):
            # ``到4号柜``: say whose locker it is when the signature names a locker brand.
            signature = _SIGNATURE.match(text)
            brand = signature.group("name") if signature else ""
            return f"{brand} {name}" if brand and _BRAND.search(brand) else name
        return name
    brand = _BRAND.search(text)
    return brand.group(0) if brand else None
