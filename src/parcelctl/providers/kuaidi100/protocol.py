"""Kuaidi100 protocol rules: signing, the request parameter, return codes (kuaidi100.md §2)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ...errors import (
    AuthError,
    ParcelctlError,
    PhoneRequired,
    ProviderError,
    QuotaExceeded,
    TransientError,
    UsageError,
)
from ...models import Status, TrackRequest, TrackResult
from ..base import as_str
from .tables import CARRIER_400_TEXTS

NAME = "kuaidi100"

_KEY_HINT = f"check providers.{NAME}.key and providers.{NAME}.customer (parcelctl config show)"


def _phone_hint(number: str) -> str:
    return (f"run: parcelctl add {number} --phone LAST4 "
            f"(or: parcelctl config set providers.{NAME}.phone LAST4)")


def sign(param: str, key: str, customer: str) -> str:
    """``UPPER(hex(MD5(param + key + customer)))`` over UTF-8 (kuaidi100.md §2.3)."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()  # noqa: S324


def build_param(req: TrackRequest, resultv2: str) -> str:
    """The exact ``param`` string that is signed and sent (compact JSON, fixed key order)."""
    fields: dict[str, str] = {"com": req.carrier.strip().lower(), "num": req.number}
    if req.phone:
        fields["phone"] = req.phone.strip()
    if resultv2:
        fields["resultv2"] = resultv2
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _item_error(req_number: str, carrier: str, exc: ParcelctlError, code: str = ""
                ) -> TrackResult:
    message = exc.message + (f" — {exc.hint}" if exc.hint else "")
    return TrackResult(req_number, carrier, Status.UNKNOWN, raw_status=code, error=message,
                       error_kind=type(exc).__name__)


def _return_code(payload: dict[str, Any], number: str, carrier: str) -> TrackResult:
    code = as_str(payload.get("returnCode"))
    remote = as_str(payload.get("message"))[:80]
    if code == "400":
        if any(text in remote for text in CARRIER_400_TEXTS):
            return _item_error(number, carrier, UsageError(
                f"kuaidi100 does not support carrier code '{carrier}' ({remote})",
                hint="pass another --carrier CODE"), code)
        raise AuthError(f"request rejected (returnCode 400: {remote})", provider=NAME,
                        hint=f"{_KEY_HINT}; the account must be paid and enabled")
    if code == "408":
        return _item_error(number, carrier, PhoneRequired(
            f"{number}: the carrier needs the sender's or receiver's phone, and the one "
            "sent is missing or does not match", hint=_phone_hint(number)), code)
    if code == "500":
        return TrackResult(number, carrier, Status.UNKNOWN, raw_status=code, no_info=True)
    if code == "501":
        # 服务器错误, "also for off-spec params" (kuaidi100.md §2.6): one number's problem as
        # often as the service's. Failing the whole provider for it made one malformed number
        # stop every sync; as this parcel's error it is asked again at its next check (never
        # sooner than the 30-minute rule), and the other parcels go on.
        return _item_error(number, carrier, TransientError(
            f"{number}: kuaidi100 answered returnCode 501 ({remote})", provider=NAME,
            hint="it is asked again at the next check; if it persists, check the number"),
            code)
    if code == "502":
        raise TransientError(f"server error (returnCode {code}: {remote})", provider=NAME,
                             hint="the service is having trouble; try again later")
    if code == "503":
        raise AuthError("signature rejected (returnCode 503)", provider=NAME, hint=_KEY_HINT)
    if code == "601":
        raise QuotaExceeded(f"no query quota left (returnCode 601: {remote})", provider=NAME,
                            hint="top up the kuaidi100 query package; parcelctl retries "
                            "on the next sync")
    raise ProviderError(f"unexpected returnCode {code or '(none)'} ({remote})", provider=NAME,
                        hint="try again later; report it if it persists")


#: ``num`` is 6-32 characters (kuaidi100.md §2.2, newest official docs).
MIN_NUMBER, MAX_NUMBER = 6, 32
