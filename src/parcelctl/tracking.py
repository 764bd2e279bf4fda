"""``parcelctl add``: validate numbers, decide the carrier, store, then track right away."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import carriers
from .config import Config
from .errors import PhoneRequired, UsageError
from .models import CarrierCandidate
from .services import as_tracking, make_provider, settings_for, tracking_provider_name
from .store import Store

_CARRIER_CODE = re.compile(r"^[a-z0-9_]{2,40}$")
_PHONE = re.compile(r"^\d{4,20}$")


@dataclass(slots=True)
class NewParcel:
    number: str
    carrier: str = ""
    guessed: bool = False


def parse_stdin_lines(lines: list[str]) -> list[tuple[str, str | None]]:
    """``NUMBER [CARRIER]`` per line; blank lines and ``#`` comments are skipped."""
    items: list[tuple[str, str | None]] = []
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) > 2:
            raise UsageError(f"line {lineno}: expected 'NUMBER [CARRIER]', got {text[:60]!r}")
        items.append((parts[0], parts[1] if len(parts) == 2 else None))
    if not items:
        raise UsageError("no tracking numbers on standard input",
                         hint="give one 'NUMBER [CARRIER]' per line")
    return items


def check_carrier_code(code: str) -> str:
    code = code.strip().lower()
    if not _CARRIER_CODE.match(code):
        raise UsageError(f"'{code}' is not a carrier code",
                         hint="use a code such as yuantong, shunfeng, zhongtong (see README)")
    return code


def check_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    phone = phone.strip().replace("-", "").replace(" ", "")
    if not _PHONE.match(phone):
        raise UsageError("--phone takes digits only: the full phone number or its last 4 digits")
    return phone


async def resolve_carrier(config: Config, provider_name: str, number: str,
                          explicit: str | None) -> NewParcel:
    """``--carrier`` wins; else the provider's own detection; else the local hint table."""
    if explicit:
        return NewParcel(number, check_carrier_code(explicit))
    candidates: list[CarrierCandidate] = []
    if provider_name == "kuaidi100" and settings_for(config, "kuaidi100").get("key"):
        provider, http = make_provider(config, provider_name)
        from .boundary import call

        try:
            # Whatever the service's answer raises is its error (boundary).
            candidates = await call(provider_name, as_tracking(provider).detect_carrier(number))
        finally:
            await http.aclose()
        codes = list(dict.fromkeys(c.code for c in candidates))
        local = carriers.hint(number)
        # kuaidi100's own detection wins (tracking-numbers.md: the local table is only a
        # hint): the local table may confirm its best match, or pick among its candidates
        # when its pattern is unambiguous. A low-confidence hint that picked a later
        # candidate stored a wrong carrier, and every paid poll then answered "no result".
        if codes and local and (local.code == codes[0]
                                or (local.confidence == "high" and local.code in codes)):
            return NewParcel(number, local.code)
        if len(codes) == 1:
            return NewParcel(number, codes[0])
        if codes:  # never guessed: a wrong carrier costs a paid query on every poll
            shown = ", ".join(f"{c} ({carriers.carrier_label(c)})" for c in codes[:5])
            raise UsageError(f"{number} could belong to several carriers, kuaidi100's best "
                             f"match first: {shown}",
                             hint=f"pick one: parcelctl add {number} --carrier CODE")
    local = carriers.hint(number)
    if local is not None and local.confidence in ("high", "medium"):
        return NewParcel(number, local.code, guessed=local.confidence != "high")
    if provider_name == "kuaidi100":
        guess = f" (looks like {local.code}, a low-confidence guess)" if local else ""
        raise UsageError(f"cannot tell the carrier of {number}{guess}",
                         hint=f"run: parcelctl add {number} --carrier CODE")
    # 17TRACK and Cainiao detect carriers themselves; keep a low-confidence hint out of the key.
    return NewParcel(number, "")


def check_phone_needed(config: Config, provider_name: str, parcel: NewParcel,
                       phone: str | None) -> None:
    if provider_name != "kuaidi100":
        return
    settings = settings_for(config, "kuaidi100")
    needs = settings.get("phone_carriers") or ["shunfeng", "shunfengkuaiyun", "zhongtong"]
    if parcel.carrier in needs and not (phone or settings.get("phone")):
        raise PhoneRequired(
            f"{parcel.number}: {carriers.carrier_label(parcel.carrier)} only answers with the "
            "recipient's phone number",
            provider="kuaidi100",
            hint=f"run: parcelctl add {parcel.number} --phone LAST4",
        )


def store_new(store: Store, parcels: list[NewParcel], *, provider_name: str, label: str,
              phone: str | None) -> list[tuple[int, bool]]:
    """All numbers in one transaction: a bad line stores none of them."""
    with store.transaction():
        return [store.add_parcel(p.number, p.carrier, tracking_provider=provider_name,
                                 label=label, phone=phone, source=("manual", "", ""))
                for p in parcels]


__all__ = ["NewParcel", "carriers", "check_carrier_code", "check_phone", "check_phone_needed",
           "parse_stdin_lines", "resolve_carrier", "store_new", "tracking_provider_name"]
