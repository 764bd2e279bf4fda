"""Douyin gateway protocol: request layout, signature, envelope, token answers.

Sources: errata D1/D3/D4 (official Go SDK, mirror ``zsmhub/doudian-sdk``: ``core/
doudian_op_api_client.go``, ``core/http/doudian_op_http_client.go``, ``core/
create_token_request.go``, ``api/token_create/response/token_create_response.go``; the
official "API调用指南") over douyin.md (signature known-answer vectors, envelope).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...errors import AuthorizationNeeded, ConfigError, ProviderChanged, ProviderError
from ...http import redact
from ...models import TokenSet
from ..base import as_str, expect_dict, lifetime_end
from .tables import EPOCH_THRESHOLD, REFRESH_TOKEN_DAYS

NAME = "douyin"
SUCCESS = 10000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: D1: the body is ``param_json`` itself. (The Go SDK sends the header value
#: "Content-Type: application/json" by mistake; the plain value is what the guide says.)
#: ``x-open-no-old-err-code: 1``: the SDK sends it on every call (core/
#: doudian_op_api_client.go), asking for the current error codes rather than the old ones.
JSON_HEADERS = {"Content-Type": "application/json", "x-open-no-old-err-code": "1"}


def method_path(method: str) -> str:
    """``order.searchList`` -> ``/order/searchList``."""
    return "/" + method.replace(".", "/")


def param_json(params: Mapping[str, Any]) -> str:
    """Business parameters as one JSON string, keys sorted recursively, no spaces (the SDK's
    ``utils.Marshal``: Go map order, no HTML escaping)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(app_key: str, app_secret: str, method: str, param_json: str, timestamp: str,
         v: str = "2", sign_method: str = "hmac-sha256") -> str:
    """Lowercase hex of MD5 or HMAC-SHA256 over ``secret + app_key… + v… + secret``.

    ``access_token`` and ``sign_method`` are not signed (douyin.md).
    """
    text = (f"{app_secret}app_key{app_key}method{method}param_json{param_json}"
            f"timestamp{timestamp}v{v}{app_secret}").encode()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()  # noqa: S324 - mandated by the protocol
    if sign_method == "hmac-sha256":
        return hmac.new(app_secret.encode("utf-8"), text, hashlib.sha256).hexdigest()
    raise ConfigError(f"unknown sign_method {sign_method!r}", provider=NAME,
                      hint="use md5 or hmac-sha256")


def request_parts(method: str, params: Mapping[str, Any], *, app_key: str, app_secret: str,
                  timestamp: str, sign_method: str, access_token: str = ""
                  ) -> tuple[str, dict[str, str], bytes]:
    """(path, query, body) of one call (D1): the system parameters go in the query string,
    ``param_json`` is the raw POST body, sent with :data:`JSON_HEADERS`."""
    body = param_json(params)
    query = {"app_key": app_key, "method": method, "timestamp": timestamp, "v": "2",
             "sign_method": sign_method,
             "sign": sign(app_key, app_secret, method, body, timestamp, "2", sign_method)}
    if access_token:
        query["access_token"] = access_token
    return method_path(method), query, body.encode("utf-8")


def token_create_params(*, code: str = "", shop_id: int | None = None) -> dict[str, Any]:
    """``token.create`` as the SDK's ``BuildAccessToken`` sends it (D3): ``code`` is always
    there (``""`` for self-use apps), ``shop_id`` is an integer."""
    if code:
        return {"code": code, "grant_type": "authorization_code"}
    return {"code": "", "grant_type": "authorization_self", "shop_id": shop_id}


def unwrap(payload: Any, auth_codes: frozenset[str] = frozenset(),
           what: str = "the request") -> dict[str, Any]:
    """``data`` of a successful envelope, or the matching error raised.

    No vendor code table is known, so only ``auth_codes`` (configured) become
    AuthorizationNeeded; every other refusal is a plain ProviderError that names its code.
    """
    body = expect_dict(payload, NAME, "the response")
    if "code" in body:
        code = as_str(body["code"])
        ok = code == str(SUCCESS)
    elif "err_no" in body:  # legacy v1 envelope
        code = as_str(body["err_no"])
        ok = code == "0"
    else:
        raise ProviderChanged("the response has neither code nor err_no", provider=NAME)
    if ok:
        data = body.get("data")
        return {} if data in (None, "") else expect_dict(data, NAME, "data")
    sub = as_str(body.get("sub_code"))
    text = redact(as_str(body.get("sub_msg")) or as_str(body.get("msg"))
                  or as_str(body.get("message")) or "no message")
    detail = f"{text} (code {code}{', ' + sub if sub else ''})"
    if code in auth_codes:
        raise AuthorizationNeeded(f"the Douyin authorization is no longer valid: {detail}",
                                  provider=NAME, hint=f"run: parcelctl link {NAME}")
    raise ProviderError(
        f"Douyin rejected {what}: {detail}", provider=NAME,
        hint=f"if the authorization expired run: parcelctl link {NAME} (and add {code} to "
        f"providers.{NAME}.auth_error_codes); otherwise check app_key/app_secret")


def _access_end(value: Any, now: datetime) -> datetime | None:
    text = as_str(value)
    try:
        seconds = int(text) if text else 0
    except ValueError:
        raise ProviderChanged("expires_in is not a number", provider=NAME) from None
    if seconds <= 0:
        return None
    if seconds < EPOCH_THRESHOLD:
        return lifetime_end(now, seconds, NAME)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProviderChanged(f"expires_in {text[:24]} is out of range", provider=NAME) from None


def parse_token(data: Mapping[str, Any], now: datetime, previous: TokenSet | None = None,
                refresh_days: int = REFRESH_TOKEN_DAYS) -> TokenSet:
    """A ``token.create`` / ``token.refresh`` answer.

    D4: the refresh token lives ``refresh_days`` from when it was issued; a refresh more
    than an hour before the access token expires returns the *same* pair with unchanged
    lifetimes, so a pair seen before keeps the expiry times it already had.
    """
    access = as_str(data.get("access_token"))
    if not access:
        raise ProviderChanged("token answer without access_token", provider=NAME)
    access_at = _access_end(data.get("expires_in"), now)
    refresh = as_str(data.get("refresh_token")) or (previous.refresh_token if previous else "")
    refresh_at = lifetime_end(now, refresh_days * 86400, NAME) if refresh else None
    if previous is not None:
        if refresh == previous.refresh_token and previous.refresh_expires_at is not None:
            refresh_at = previous.refresh_expires_at
        if access == previous.access_token and previous.access_expires_at is not None:
            access_at = min(access_at or previous.access_expires_at,
                            previous.access_expires_at)
    return TokenSet(access_token=access, refresh_token=refresh, access_expires_at=access_at,
                    refresh_expires_at=refresh_at,
                    open_id=as_str(data.get("shop_id")) or (previous.open_id if previous
                                                             else ""))
