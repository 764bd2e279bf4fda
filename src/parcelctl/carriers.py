"""Local carrier hints from the shape of a tracking number, and carrier display names.

No carrier publishes a number format, and open-source rule tables contradict each other, so
this is only a *hint* (pre-fill ``--carrier``, ask for a phone early, pick a provider).
Provider-side detection (kuaidi100 ``autonumber``, 17TRACK ``auto_detection``) wins, a
carrier returned by a platform always wins, and the user can always override.

Imported by ``parcelctl list``: keep it to the standard library and parcelctl.status/errors.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from .errors import UsageError
from .status import normalize_number

if TYPE_CHECKING:
    from .models import CarrierCandidate

#: code -> (Chinese name, English name). Codes are the kuaidi100 ``com`` vocabulary, which
#: parcelctl uses as its carrier vocabulary; "cainiao" is the cross-border network (Cainiao
#: provider), not a kuaidi100 code.
CARRIER_NAMES: Final[dict[str, tuple[str, str]]] = {
    "shunfeng": ("顺丰速运", "SF Express"),
    "shunfengkuaiyun": ("顺丰快运", "SF Freight"),
    "zhongtong": ("中通快递", "ZTO Express"),
    "yuantong": ("圆通速递", "YTO Express"),
    "shentong": ("申通快递", "STO Express"),
    "yunda": ("韵达快递", "Yunda Express"),
    "huitongkuaidi": ("百世快递", "Best Express"),
    "ems": ("EMS", "EMS"),
    "jd": ("京东物流", "JD Logistics"),
    "zhaijisong": ("宅急送", "ZJS Express"),
    "jtexpress": ("极兔速递", "J&T Express"),
    "debangwuliu": ("德邦", "Deppon"),
    # Beside debangwuliu (errata Q4, 3SDK code tables).
    "debangkuaidi": ("德邦快递", "Deppon Express"),
    "youzhengguonei": ("邮政快递包裹", "China Post parcel"),
    # UPU S10 R/L/U/C items from China (errata N1).
    "youzhengguoji": ("邮政国际包裹", "China Post International"),
    # Kuaishou expressCode crosswalk entries (errata K4, 3SDK code tables).
    "danniao": ("菜鸟速递 (丹鸟)", "Cainiao Express (Danniao)"),
    "fengwang": ("丰网速运", "Fengwang Express"),
    "youzhengbk": ("邮政标准快递", "China Post standard express"),
    "zhongtongkuaiyun": ("中通快运", "ZTO Freight"),
    "yundakuaiyun": ("韵达快运", "Yunda Freight"),
    "cainiao": ("菜鸟", "Cainiao"),
}

# (regex, carrier codes best first, confidence), ordered: the first match wins.
# Source: tracking-numbers.md §2. Rows with several codes are ambiguous; hint() returns the
# first and hints() all of them.
_RULES: Final[tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...]] = tuple(
    (re.compile(pattern), codes, confidence)
    for pattern, codes, confidence in (
        (r"^SF\d{13}$", ("shunfeng",), "high"),
        (r"^JD[A-Z]{1,2}\d{11,12}$", ("jd",), "high"),
        (r"^JT\d{13}$", ("jtexpress",), "high"),
        (r"^DPK\d{12}$", ("debangwuliu",), "high"),
        # Lazada/Cainiao cross-border also uses YT + 13 digits, hence only medium.
        (r"^YT\d{13}$", ("yuantong",), "medium"),
        # UPU S10 items (errata N1): only E-prefixed ones are EMS; R, L, U and C (registered,
        # letter, unregistered, parcel) from China are China Post international mail. A
        # foreign suffix (e.g. EM263999513JP) is tracked through the postal network, less
        # surely; other service letters are a guess.
        (r"^E[A-Z]\d{9}CN$", ("ems",), "medium"),
        (r"^[RLUC][A-Z]\d{9}CN$", ("youzhengguoji",), "medium"),
        (r"^E[A-Z]\d{9}[A-Z]{2}$", ("ems",), "low"),
        (r"^[A-Z]{2}\d{9}[A-Z]{2}$", ("youzhengguoji",), "low"),
        (r"^LP\d{11,14}([A-Z]{2})?$", ("cainiao",), "low"),
        (r"^77\d{13}$", ("shentong",), "medium"),
        (r"^(43|46)\d{13}$|^3\d{12}$", ("yunda",), "low"),
        (r"^7\d{13}$", ("zhongtong",), "low"),
        (r"^5\d{13}$", ("huitongkuaidi",), "low"),
        (r"^1\d{12}$", ("ems", "youzhengguonei"), "low"),
    )
)

_VALID: Final = re.compile(r"^[A-Z0-9]{5,40}$")

#: Punctuation a number copied out of a Chinese message brings along ("单号：YT…。"):
#: dropped at either end, never inside a number.
_PASTE_PUNCTUATION: Final = "，。；：！？、）】」』”’…～·（【「『“‘《》〈〉 \t\u3000"


def clean_pasted(raw: str) -> str:
    """A pasted number as typed in ASCII: Chinese punctuation around it dropped, full-width
    letters and digits (ＹＴ１２３) made half-width (NFKC). Spaces and dashes are left to
    :func:`normalize_number`."""
    import unicodedata

    text = raw.strip().strip(_PASTE_PUNCTUATION)
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text)


def validate_number(raw: str) -> str:
    """Normalize a user-typed number, or raise UsageError saying what a number looks like."""
    number = normalize_number(clean_pasted(raw))
    if not _VALID.match(number):
        shown = raw.strip()
        shown = shown if len(shown) <= 45 else shown[:42] + "…"
        raise UsageError(
            f"'{shown}' is not a tracking number: expected 5–40 letters and digits "
            "(spaces and dashes are ignored), e.g. YT9693083639795"
        )
    return number


def hints(number: str) -> list[CarrierCandidate]:
    """Every carrier the first matching rule suggests, best first ([] = no idea)."""
    from .models import CarrierCandidate  # here: `list` imports this module for the names

    normalized = normalize_number(number)
    for pattern, codes, confidence in _RULES:
        if pattern.match(normalized):
            return [CarrierCandidate(code, carrier_label(code), confidence) for code in codes]
    return []


def hint_code(normalized: str) -> tuple[str, str]:
    """(code, confidence) of :func:`hint` for a normalized number, ("", "") for no idea,
    without building a candidate (a bulk add asks 100,000 times)."""
    for pattern, codes, confidence in _RULES:
        if pattern.match(normalized):
            return codes[0], confidence
    return "", ""


def hint(number: str) -> CarrierCandidate | None:
    """The best local guess for ``number``, or None. Show low confidence as a guess."""
    found = hints(number)
    return found[0] if found else None


def is_known(code: str) -> bool:
    return code.strip().lower() in CARRIER_NAMES


def nearest(code: str) -> str | None:
    """The known carrier code closest to a mistyped one, or None."""
    import difflib

    found = difflib.get_close_matches(code.strip().lower(), list(CARRIER_NAMES), n=1,
                                      cutoff=0.6)
    return found[0] if found else None


def search(query: str = "") -> list[tuple[str, str, str]]:
    """(code, Chinese name, English name) of every carrier whose code or either name
    contains ``query`` (case-insensitive), in table order; all of them for ``""``."""
    needle = query.strip().lower()
    return [(code, zh, en) for code, (zh, en) in CARRIER_NAMES.items()
            if not needle or needle in code or needle in zh.lower() or needle in en.lower()]


def carrier_label(code: str) -> str:
    """Human name of a carrier code, e.g. ``圆通速递 (YTO Express)``; unknown codes as is."""
    names = CARRIER_NAMES.get(code.strip().lower())
    if names is None:
        return code
    zh, en = names
    return zh if zh == en else f"{zh} ({en})"
