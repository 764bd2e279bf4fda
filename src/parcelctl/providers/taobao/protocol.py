"""TOP's wire protocol: signing, response framing and ``error_response`` codes.

taobao.md §2-§3: every parameter (system and business) signed as sorted ``name+value``
pairs, empty values skipped; JSON answers framed as ``{"<method>_response": …}`` or
``{"error_response": {code, msg, sub_code, sub_msg}}`` with HTTP 200. errata T1: a method
outside TOP's catalogue answers code 22 (Invalid Method) or 11 (insufficient permissions).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from ...errors import (
    AuthError,
    AuthorizationNeeded,
    ConfigError,
    ProviderError,
    RateLimited,
)
from ...http import redact
from ..base import as_str, expect_dict
from .tables import ERROR_KINDS, NAME

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP signature (taobao.md §2): sorted ``name+value`` pairs, empty values skipped."""
    if method not in SIGN_METHODS:
        raise ConfigError(f"unknown sign_method {method!r}", provider=NAME,
                          hint="use md5, hmac or hmac-sha256")
    text = "".join(f"{k}{params[k]}" for k in sorted(params)
                   if k != "sign" and params[k] not in (None, ""))
    if method == "md5":
        digest = hashlib.md5((secret + text + secret).encode("utf-8"))  # noqa: S324 - protocol
        return digest.hexdigest().upper()
    algo = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode(), text.encode("utf-8"), algo).hexdigest().upper()


def response_key(method: str) -> str:
    """``taobao.trades.sold.get`` -> ``trades_sold_get_response``."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


class TopError(ProviderError):
    """A business ``error_response`` (bad parameter, remote service error…)."""

    def __init__(self, message: str, *, code: str = "", sub_code: str = "",
                 hint: str | None = None) -> None:
        self.code = code
        self.sub_code = sub_code
        super().__init__(message, provider=NAME, hint=hint)


def error_from(payload: Mapping[str, Any], kinds: Mapping[str, str] = ERROR_KINDS
               ) -> ProviderError:
    """Turn an ``error_response`` object into the matching parcelctl error."""
    code = as_str(payload.get("code"))
    sub_code = as_str(payload.get("sub_code"))
    text = redact(as_str(payload.get("sub_msg")) or as_str(payload.get("msg")) or "no message")
    detail = f"{text} (code {code}{', ' + sub_code if sub_code else ''})"
    kind = kinds.get(code, "")
    if kind == "session":
        return AuthorizationNeeded(f"the Taobao session is no longer valid: {detail}",
                                   provider=NAME, hint=f"run: parcelctl link {NAME}")
    if kind == "auth":
        return AuthError(f"the app credentials were rejected: {detail}", provider=NAME,
                         hint=f"check providers.{NAME}.app_key, app_secret and sign_method")
    if kind == "permission":
        return ProviderError(f"the app may not call this API: {detail}", provider=NAME,
                             hint="see the Taobao notes in 'parcelctl providers'")
    if kind == "throttle":
        return RateLimited(f"Taobao is throttling this app: {detail}", provider=NAME,
                           hint="parcelctl will try again on the next sync")
    if code == "21":
        return TopError(f"the gateway did not receive an API method: {detail}", code=code,
                        sub_code=sub_code, hint=f"check providers.{NAME}.base_url")
    if code == "22":
        # errata T1: e.g. taobao.trades.bought.get, which TOP's catalogue no longer has.
        return TopError(f"Taobao does not offer this API method: {detail}", code=code,
                        sub_code=sub_code, hint=f"run: parcelctl config unset "
                        f"providers.{NAME}.trades_method (the default is "
                        "taobao.trades.sold.get)")
    return TopError(f"Taobao rejected the request: {detail}", code=code, sub_code=sub_code,
                    hint="try again later; if it persists, check the configuration")


def unwrap(payload: Any, method: str, kinds: Mapping[str, str] = ERROR_KINDS
           ) -> dict[str, Any]:
    """The ``<method>_response`` object, or the mapped ``error_response`` raised."""
    body = expect_dict(payload, NAME, "the response")
    if "error_response" in body:
        raise error_from(expect_dict(body["error_response"], NAME, "error_response"), kinds)
    return expect_dict(body.get(response_key(method)), NAME, response_key(method))
