"""Kuaishou protocol rules: signing, the response envelope and its error codes, windows.

Fact sheet: protocols/kuaishou.md (§2.5 OAuth codes, §4 signing, §5 envelope, §6 windows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ...errors import (
    REPORT_WITH,
    AuthError,
    AuthorizationNeeded,
    ConfigError,
    ProviderChanged,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from ...http import redact
from ...models import CHINA_TZ, utcnow
from ..base import as_str, expect_dict

NAME = "kuaishou"
ORDER_METHOD = "open.order.cursor.list"
SIGNED_KEYS = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")
SIGN_METHODS = ("HMAC_SHA256", "MD5")
NOMORE = "nomore"
#: The oldest window starts this far inside the 90-day limit so that clock skew between us
#: and the platform never turns it into error 300005.
EDGE_MARGIN = timedelta(hours=1)
#: Incremental sync re-reads a little before ``since``: updateTime may lag the real change.
OVERLAP = timedelta(minutes=10)

_BUG_HINT = f"this is a parcelctl bug; please report it with {REPORT_WITH}"
_LINK_HINT = f"run: parcelctl link {NAME}"
_CRED_HINT = (f"check app_key, app_secret and sign_secret "
              f"(parcelctl config set providers.{NAME}.KEY VALUE)")

#: OAuth result codes (§2.5) -> (exception class, what it means, hint).
OAUTH_ERRORS: dict[int, tuple[type[ProviderError], str, str]] = {
    100200100: (ProviderError, "the platform says a parameter is missing (invalid_request)",
                _BUG_HINT),
    100200101: (AuthError, "the platform rejected the app credentials (unauthorized_client)",
                _CRED_HINT),
    100200102: (AuthorizationNeeded, "the authorization is no longer valid", _LINK_HINT),
    100200103: (ProviderError, "unsupported response type", _BUG_HINT),
    100200104: (ProviderError, "unsupported grant type", _BUG_HINT),
    100200105: (AuthorizationNeeded, "the authorization code is invalid, expired or used",
                _LINK_HINT),
    100200106: (AuthorizationNeeded, "the requested access was refused or cancelled",
                _LINK_HINT),
    100200107: (AuthorizationNeeded, "the platform does not recognise this account (openid)",
                _LINK_HINT),
    100200500: (TransientError, "the platform's authorization server failed",
                "try again later"),
}

#: Time-window business errors (§6): parcelctl plans the windows, so these are our bugs.
WINDOW_ERRORS: dict[int, str] = {
    300003: "ENDTIME MUST AFTER BEGINTIME",
    300004: "SEARCH TIME RANGE EXPAND 7 DAYS",
    300005: "CAN NOT SEARCH BEFORE 90 DAYS",
    300019: "SEARCH TIME RANGE EXPAND LIMIT",
}

#: Gateway codes of business calls (errata K1): the link must be made again. 24 and 26 are
#: the official FAQ's (K0006 AUTHORIZATION_REVOKED: revoked, a test user's 10 days over, or
#: the service subscription ended; K0005 主账号不存在: the authorizing sub-account was
#: deleted); 21 and 22 are the authentication/authorization groups of
#: ``whalesky-labs/kwaishop-php-sdk`` ``src/Client/Pipeline/ResponseParser.php`` (21 is
#: renewed with the refresh token first: ``token_error_codes``).
REAUTH_ERRORS: dict[int, str] = {
    21: "the platform no longer accepts this authorization",
    22: "the authorization lacks the order permission (merchant_order)",
    24: "the shop's authorization was revoked or ran out (test users: after 10 days; "
        "services: when the subscription ends)",
    26: "the account that authorized parcelctl no longer exists",
}
#: Signature failures (same PHP SDK); FAQ K1004 is titled 验签失败 (errata K3: "K1004" is
#: the article's number, not a code the API returns).
SIGNATURE_CODES = frozenset({27, 28})
#: Throttling (errata K2; FAQ K1008 for the texts, the PHP SDK for the codes): the QPS kind
#: passes in a moment, the quota kind only the next day.
QPS_CODES = frozenset({15, 16, 17, 802000})
QUOTA_CODES = frozenset({1016, 1017})

_INTEGER = re.compile(r"-?[0-9]{1,20}")


def sign(params: Mapping[str, str | None], sign_secret: str, sign_method: str) -> str:
    """§4: exactly the seven documented keys, sorted, raw values, ``&signSecret=`` appended."""
    if sign_method not in SIGN_METHODS:
        raise ConfigError(f"sign_method must be HMAC_SHA256 or MD5, not {sign_method!r}",
                          provider=NAME)
    text = "&".join(f"{k}={params[k]}" for k in sorted(SIGNED_KEYS)
                    if params.get(k) is not None)
    message = f"{text}&signSecret={sign_secret}".encode()
    if sign_method == "MD5":
        return hashlib.md5(message).hexdigest()  # noqa: S324 - the protocol's choice
    digest = hmac.new(sign_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def to_int(value: Any, what: str) -> int:
    if type(value) is int:  # the usual case first: a page parses ~150 of them (benchmarks)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ProviderChanged(f"{what} is not a number", provider=NAME)


def _detail(payload: Mapping[str, Any]) -> str:
    for key in ("error_msg", "sub_msg", "msg", "error"):
        text = payload.get(key)
        if isinstance(text, str) and text.strip():
            return redact(" ".join(text.split()))[:120]
    return ""


def codes_of(payload: Mapping[str, Any]) -> set[str]:
    return {as_str(payload.get(k)) for k in ("result", "code", "sub_code")} - {""}


def throttle_kind(payload: Any) -> str | None:
    """"qps", "quota" or None for a failed envelope. The FAQ's texts decide first ("Exceed
    qps limit…", "Exceed quota limit…", "[1017] exceed quota limit…"), then the codes."""
    if not isinstance(payload, dict):
        return None
    text = " ".join(as_str(payload.get(k)) for k in ("error_msg", "msg", "sub_msg")).lower()
    if "exceed qps limit" in text:
        return "qps"
    if "exceed quota limit" in text:
        return "quota"
    codes = codes_of(payload)
    if codes & {str(c) for c in QUOTA_CODES}:
        return "quota"
    if codes & {str(c) for c in QPS_CODES}:
        return "qps"
    return None


def next_quota_day(now: datetime) -> datetime:
    """When the daily quota starts again: the next midnight in China time (the platform's
    day; FAQ K1008 says "次日再进行调用")."""
    local = now.astimezone(CHINA_TZ)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def raise_for_result(payload: Any, *, credential_codes: Iterable[str] = ("100200101",)
                     ) -> dict[str, Any]:
    """Return the envelope when ``result == 1``; otherwise raise the matching error (§2.5, §5)."""
    data = expect_dict(payload, NAME, "the answer")
    result = to_int(data.get("result"), "result")
    if result == 1:
        return data
    raise envelope_error(data, result, set(credential_codes))


def envelope_error(data: Mapping[str, Any], result: int, credential_codes: set[str]
                   ) -> ProviderError:
    detail = _detail(data)
    suffix = f" ({detail})" if detail else ""
    if result in OAUTH_ERRORS:
        cls, what, hint = OAUTH_ERRORS[result]
        return cls(f"{what}{suffix}", provider=NAME, hint=hint)
    kind = throttle_kind(data)
    if kind == "quota":
        reset = next_quota_day(utcnow()).strftime("%Y-%m-%d %H:%M %z")
        return QuotaExceeded(
            f"daily API quota used up; next sync after {reset[:-2]}:{reset[-2:]}{suffix}",
            provider=NAME, hint="a test user gets 2,000 calls a day; the app's quota is "
            "raised in the Kuaishou console")
    if kind == "qps":
        return RateLimited(f"the platform is throttling this app{suffix}", provider=NAME,
                           hint="parcelctl will try again on the next sync")
    if result in REAUTH_ERRORS:
        return AuthorizationNeeded(f"{REAUTH_ERRORS[result]}{suffix}", provider=NAME,
                                   hint=_LINK_HINT)
    if result in SIGNATURE_CODES:
        return AuthError(f"the platform rejected the request signature{suffix}",
                         provider=NAME, hint=_CRED_HINT + " and sign_method")
    if result in WINDOW_ERRORS:
        return ProviderError(f"the platform refused the time window parcelctl asked for "
                             f"({result} {WINDOW_ERRORS[result]})", provider=NAME,
                             hint=_BUG_HINT)
    if codes_of(data) & credential_codes:
        return AuthError(f"the platform rejected the request signature or app key{suffix}",
                         provider=NAME, hint=_CRED_HINT)
    return ProviderError(f"the platform answered error {result}{suffix}", provider=NAME,
                         hint=f"try again later; if it persists report it with {REPORT_WITH}")


def page_cursor(payload: Any) -> str | None:
    """The cursor of the next page, or None on the last one (envelope checked first)."""
    data = expect_dict(raise_for_result(payload).get("data"), NAME, "data")
    cursor = data.get("cursor")
    if not isinstance(cursor, str):
        raise ProviderChanged("data.cursor is not a string", provider=NAME)
    return None if cursor == NOMORE else cursor


def plan_windows(now: datetime, since: datetime | None, *, history_days: int = 90,
                 window_days: int = 7) -> tuple[list[tuple[int, int]], int]:
    """(windows as (beginTime, endTime) in ms, newest first; queryType).

    First sync: every window of the history by create time (queryType 1). Incremental: only
    [since − overlap, now] by update time (queryType 2), clipped to what the platform allows.
    """
    oldest = now - timedelta(days=history_days) + EDGE_MARGIN
    if since is None:
        begin, query_type = oldest, 1
    else:
        begin, query_type = max(min(since, now) - OVERLAP, oldest), 2
    size = timedelta(days=window_days)
    windows: list[tuple[int, int]] = []
    end = now
    while end > begin:
        start = max(begin, end - size)
        windows.append((_to_ms(start), _to_ms(end)))
        end = start
    return windows, query_type


def _to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
