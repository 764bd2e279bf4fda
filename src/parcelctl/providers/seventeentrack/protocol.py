"""17TRACK protocol rules: the envelope, its error codes and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from ...errors import (
    AuthError,
    ConfigError,
    ParcelctlError,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    UsageError,
)
from ...http import redact
from ..base import as_str, expect_dict, expect_list

NAME = "17track"
MAX_BATCH = 40
#: Several clients hard-code ~350 ms between calls [3SDK]: exact 1/3 s spacing collides with
#: the server's one-second window as soon as the network adds a millisecond of jitter.
MIN_SPACING_SECONDS = 0.35
NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{5,50}$")
TOKEN_HINT = f"run: parcelctl config set providers.{NAME}.token VALUE"
ALREADY_REGISTERED = -18019901
NOT_REGISTERED = -18019902
NO_INFO_CODES = frozenset({-18019909, -18019808})

#: Every code of sheet §5 (plus the 429 envelope): what happened, and what to do next.
ERROR_MESSAGES: dict[int, tuple[str, str]] = {
    -18010001: ("this IP address is not on the 17TRACK API whitelist",
                "add it in the 17TRACK API console, or clear the whitelist"),
    -18010002: ("17TRACK rejected the API key (17token)", TOKEN_HINT),
    -18010003: ("17TRACK had an internal error", "try again later"),
    -18010004: ("the 17TRACK account is disabled", "check the account in the 17TRACK console"),
    -18010005: ("this key may not use the requested 17TRACK API",
                f"check the key's permissions, or {TOKEN_HINT}"),
    -18010010: ("a required field is missing in the request", "please report this bug"),
    -18010011: ("a field of the request has an invalid value", "check the number and carrier"),
    -18010012: ("the number format is invalid (5–50 letters, digits or hyphens)",
                "check the tracking number"),
    -18010013: ("17TRACK rejected the submitted data", "please report this bug"),
    -18010014: ("more than 40 numbers in one request", "please report this bug"),
    -18010015: ("a field of the request has an invalid value", "check the number and carrier"),
    -18010016: ("a final-mile carrier is only allowed for postal carriers",
                "remove the final-mile carrier"),
    -18010204: ("no webhook URL is set, 17TRACK cannot push",
                "set the webhook URL in the 17TRACK console"),
    ALREADY_REGISTERED: ("the number is already registered", "nothing to do"),
    -18019902: ("the number is not registered with 17TRACK", "the next sync registers it"),
    -18019903: ("17TRACK cannot detect the carrier", "add it again with --carrier CODE"),
    -18019904: ("only stopped numbers can be retracked", "nothing to do"),
    -18019905: ("each number can be retracked only once", "nothing to do"),
    -18019906: ("only numbers being tracked can be stopped", "nothing to do"),
    -18019907: ("the daily 17TRACK registration limit is reached", "try again tomorrow"),
    -18019908: ("the 17TRACK quota is used up", "buy more quota in the 17TRACK console"),
    -18019909: ("no tracking information yet", "parcelctl will ask again later"),
    -18019910: ("17TRACK does not know that carrier code",
                f"fix providers.{NAME}.carriers or the --carrier option"),
    -18019911: ("17TRACK cannot register numbers of this carrier at the moment",
                "try again later or use another provider"),
    -18019801: ("the number is registered with several carriers", "name the carrier"),
    -18019802: ("the new carrier code may be wrong", "check the carrier"),
    -18019803: ("the old and new carrier codes are the same", "nothing to do"),
    -18019804: ("a new carrier code is required", "name the carrier"),
    -18019805: ("the number is not registered with that carrier", "check the carrier"),
    -18019806: ("a stopped number cannot change carrier", "retrack it first"),
    -18019807: ("the carrier change limit is reached", "nothing to do"),
    -18019808: ("no tracking result yet since the last registration",
                "parcelctl will ask again later"),
    -18019809: ("the number is already registered with that carrier", "nothing to do"),
    -18019810: ("more than one record matches", "name the carrier"),
    -18019811: ("there is nothing to change", "nothing to do"),
    429: ("17TRACK is throttling requests (more than 3 per second)",
          "parcelctl will try again on the next sync"),
}

_ERROR_CLASSES: dict[int, type[ParcelctlError]] = {
    -18010001: AuthError, -18010002: AuthError, -18010004: AuthError, -18010005: AuthError,
    -18010003: TransientError, -18019902: TransientError, -18019808: TransientError,
    -18019907: QuotaExceeded, -18019908: QuotaExceeded, 429: RateLimited,
    -18010011: UsageError, -18010012: UsageError, -18010015: UsageError,
    -18010016: UsageError, -18019903: UsageError, -18019910: UsageError,
    -18010204: ConfigError,
}


@dataclass(frozen=True, slots=True)
class ItemError:
    """One number rejected by 17TRACK while the rest of the call succeeded."""

    code: int
    message: str
    kind: str  # errors.py class name


def describe_error(code: int, remote_message: str = "") -> tuple[str, str | None]:
    """(message, hint) for a 17TRACK error code; unknown codes keep the remote text."""
    known = ERROR_MESSAGES.get(code)
    if known is not None:
        return known
    return f"17TRACK error {code}: {redact(remote_message)[:200]}", None


def error_for(code: int, remote_message: str = "") -> ProviderError:
    """The exception for a whole-call failure: always a ProviderError, so that a sync can
    isolate it (per-item usage/config codes keep their kind only in ``ItemError``)."""
    message, hint = describe_error(code, remote_message)
    cls = _ERROR_CLASSES.get(code, ProviderError)
    if not issubclass(cls, ProviderError):
        cls = ProviderError
    return cls(message, provider=NAME, hint=hint)


def raise_for_envelope(payload: Any) -> dict[str, Any]:
    """Raise the mapped error of a whole-call failure; return ``data`` of a success."""
    body = expect_dict(payload, NAME, "the response")
    code = body.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProviderChanged("the response has no integer 'code'", provider=NAME)
    data = body.get("data")
    if code == 0:
        return expect_dict(data, NAME, "'data'")
    errors = expect_list(data.get("errors") if isinstance(data, dict) else None,
                         NAME, "'data.errors'")
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    inner = first.get("code")
    if isinstance(inner, int) and not isinstance(inner, bool):
        code = inner
    raise error_for(code, as_str(first.get("message")))


def webhook_sign(body: bytes, key: str) -> str:
    """Header ``sign`` of a v2.2 push: plain SHA-256 of ``raw body + "/" + key`` (not HMAC)."""
    return hashlib.sha256(body + b"/" + key.encode("utf-8")).hexdigest()


def verify_webhook(body: bytes, sign: str, key: str) -> bool:
    return hmac.compare_digest(webhook_sign(body, key), sign.strip().lower())
