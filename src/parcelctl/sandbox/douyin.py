"""Simulated Douyin shop open platform (抖店 / jinritemai), mounted at ``/douyin``.

Written from the fact sheets (errata.md D1-D4 over douyin.md), never from provider code.
Vendor-confirmed behaviour reproduced (source: the official Go SDK, mirror
``zsmhub/doudian-sdk``; official "API调用指南" for D1):

* D1 — ``core/doudian_op_api_client.go``, ``core/http/doudian_op_http_client.go``: the
  system parameters (``app_key``, ``method``, ``v``, ``timestamp``, ``sign``,
  ``sign_method``, ``access_token``) come in the **query string**; ``param_json`` is the raw
  POST body with ``Content-Type: application/json``. A form field ``param_json`` is
  documented nowhere and is **refused**; system parameters sent anywhere but the query are
  not seen. ``GET`` with ``param_json`` in the query is tolerated as the legacy form.
* D3 — ``core/create_token_request.go`` sends ``code`` always (``""`` for
  ``authorization_self``) and ``shop_id`` as a JSON integer; the generated
  ``api/token_create/request/token_create_request.go`` sends ``code`` with ``omitempty``
  and ``shop_id`` as a *string* with ``omitempty``. Both SDK forms are accepted: a missing
  ``code`` for ``authorization_self``, ``shop_id`` as an integer or a numeric string. A
  ``shop_id`` of any other kind, a ``code`` that is not a string, or an
  ``authorization_code`` grant without a code are refused.
* SDK defaults (``core/doudian_op_api_client.go``): ``timestamp`` in epoch seconds and
  ``sign_method=hmac-sha256`` (``utils/sign_util.go`` ``Sign`` always uses HMAC); the
  sandbox's credentials name hmac-sha256. The SDK also sends the header
  ``x-open-no-old-err-code: 1``; no source says the gateway refuses a call without it, so
  the sandbox does not (it counts such calls in ``old_err_code_calls``).
* D4 — ``api/token_create/response/token_create_response.go``: the refresh token lives 14
  days; a refresh more than an hour before the access token expires returns the same pair
  (lifetimes unchanged); within that hour a new pair, the old one valid one more hour;
  after expiry a new pair, the old one dead. ``expires_in`` is a duration by default (the
  core comment, "默认有效期：7天"); ``expires_in_form = "epoch"`` answers the epoch-seconds
  reading of the API comment instead.
* D2 — ``order.searchList`` answers as in ``api/order_searchList/response/…``; see
  :mod:`.douyin_orders`.

Also from douyin.md: the md5 / hmac-sha256 signature over ``app_key, method, param_json,
timestamp, v`` wrapped in the secret (``access_token`` and ``sign_method`` unsigned), both
timestamp forms, the ``code == 10000`` envelope.

``SANDBOX-ONLY`` (no vendor source): the error codes, the authorize page, the throttling
answer, the timestamp tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from .base import Request, Response, Service, html_response
from .douyin_orders import search_list
from .douyin_wire import (
    BAD_GRANT,
    BAD_PARAM,
    BAD_SIGN,
    BAD_TOKEN,
    BUSINESS,
    MISSING_PARAM,
    THROTTLED,
    envelope,
)

BEIJING = timezone(timedelta(hours=8))
APP_KEY = "7300000000000000001"
APP_SECRET = "sandbox-douyin-app-secret"  # noqa: S105 - public sandbox credential
SHOP_ID = "88880001"
SHOP_NAME = "沙盒抖店"
SYSTEM_PARAMS = ("app_key", "method", "timestamp", "v", "sign")
GRACE = timedelta(hours=1)  # D4: the hour before expiry, and the old pair's extra hour


def dy_sign(app_key: str, method: str, param_json: str, timestamp: str, v: str,
            sign_method: str) -> str:
    raw = (APP_SECRET + "app_key" + app_key + "method" + method + "param_json" + param_json
           + "timestamp" + timestamp + "v" + v + APP_SECRET).encode("utf-8")
    if sign_method == "hmac-sha256":
        return hmac.new(APP_SECRET.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return hashlib.md5(raw).hexdigest()  # noqa: S324 - mandated by the protocol


@dataclass(slots=True)
class _Pair:
    access: str
    refresh: str
    access_until: datetime
    refresh_until: datetime


class DouyinService(Service):
    name = "douyin"
    rate_limit = None  # UNKNOWN (douyin.md)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._codes: dict[str, datetime] = {}
        self._by_access: dict[str, _Pair] = {}
        self._by_refresh: dict[str, _Pair] = {}
        self.old_err_code_calls = 0  # calls without the SDK's x-open-no-old-err-code: 1
        # access_ttl: 7 days (core/create_token_request.go comment); refresh_ttl: 14 days (D4).
        self.settings: dict[str, Any] = {"approve": True, "access_ttl": 7 * 86400,
                                         "refresh_ttl": 14 * 86400, "code_ttl": 600,
                                         "expires_in_form": "duration"}

    def credentials(self, base_url: str) -> dict[str, str]:
        # auth_url is a template: the real authorize page is UNKNOWN (SANDBOX-ONLY page).
                # The SDK's signature method (core/doudian_op_api_client.go); md5 is accepted too.
        return {"app_key": APP_KEY, "app_secret": APP_SECRET, "sign_method": "hmac-sha256",
                "base_url": base_url, "auth_url": f"{base_url}/authorize?app_key={{app_key}}"
                "&redirect_uri={redirect_uri}&state={state}"}

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.settings |= {k: v for k, v in settings.items() if k in self.settings}
            return dict(self.settings)

    def endpoint(self, request: Request) -> str:
        return request.path.strip("/").replace("/", ".") or "root"

    def throttled(self) -> Response:
        # SANDBOX-ONLY: throttling is UNKNOWN; HTTP 429 so that generic clients back off.
        return envelope(code=THROTTLED, msg="请求过于频繁", sub_code="isv.api-call-limited",
                        sub_msg="sandbox: real shape unknown", status=429)

    def business_error(self, request: Request) -> Response:
        return envelope(code=BUSINESS, msg="业务处理失败", sub_code="isv.business-failed",
                        sub_msg="sandbox business error")

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/authorize" and request.method == "GET":
            return self._authorize(request.query)
        return self._api(request, path.strip("/").replace("/", "."))

    def _authorize(self, q: dict[str, str]) -> Response:
        # SANDBOX-ONLY page: auto-approves like a sandbox shop owner clicking "授权".
        uri = q.get("redirect_uri", "")
        if q.get("app_key") != APP_KEY or urlsplit(uri).hostname not in ("127.0.0.1",
                                                                          "localhost"):
            return html_response("<h1>invalid authorize request</h1>", 400)
        state = {"state": q["state"]} if "state" in q else {}
        if self.settings["approve"]:
            code = secrets.token_hex(12)
            with self._lock:
                self._codes[code] = self.clock.now() + timedelta(
                    seconds=float(self.settings["code_ttl"]))
            reply = {"code": code} | state
        else:
            reply = {"error": "access_denied"} | state
        sep = "&" if "?" in uri else "?"
        return Response(302, b"", "text/plain", {"Location": f"{uri}{sep}{urlencode(reply)}"})

    # -- the gateway -------------------------------------------------------------------------
    def _business_params(self, request: Request) -> str | Response:
        """``param_json`` from where the vendor reads it (D1), or the refusal."""
        ctype = request.headers.get("content-type", "")
        if request.method == "GET":
            return request.query.get("param_json", "")  # legacy form, tolerated
        # The Go SDK sends the header value "Content-Type: application/json" (sic): a
        # substring test accepts it as the gateway evidently does.
        if "application/json" not in ctype:
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-param-json",
                            sub_msg="param_json must be the raw POST body with "
                            "Content-Type: application/json, not a form field")
        return request.body.decode("utf-8", "replace")

    def _api(self, request: Request, path_method: str) -> Response:
        if request.headers.get("x-open-no-old-err-code") != "1":
            # Not refused: no source says the gateway does (see the module docstring).
            with self._lock:
                self.old_err_code_calls += 1
        param_json = self._business_params(request)
        if isinstance(param_json, Response):
            return param_json
        p = request.query  # system parameters live in the query string only (D1)
        for key in SYSTEM_PARAMS:
            if not p.get(key):
                return envelope(code=MISSING_PARAM, msg="缺少参数", sub_code="isv.missing-"
                                "parameter", sub_msg=key)
        if p["app_key"] != APP_KEY:
            return envelope(code=BAD_PARAM, msg="app_key无效", sub_code="isv.invalid-app-key")
        sign_method = p.get("sign_method", "md5")
        if sign_method not in ("md5", "hmac-sha256") or p["v"] != "2":
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                            sub_msg="sign_method/v")
        expected = dy_sign(p["app_key"], p["method"], param_json, p["timestamp"], p["v"],
                           sign_method)
        if not hmac.compare_digest(p["sign"], expected):
            return envelope(code=BAD_SIGN, msg="签名错误", sub_code="isv.sign-invalid")
        if p["method"] != path_method or not _timestamp_ok(p["timestamp"]):
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                            sub_msg="method/timestamp")
        try:
            params = json.loads(param_json) if param_json else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-param-json")
        if p["method"] == "token.create":
            return self._create(params)
        if p["method"] == "token.refresh":
            return self._refresh_token(params)
        if p["method"] != "order.searchList":
            return envelope(code=BAD_PARAM, msg="接口不存在", sub_code="isv.invalid-method")
        with self._lock:
            pair = self._by_access.get(p.get("access_token", ""))
        if pair is None or pair.access_until <= self.clock.now():
            return envelope(code=BAD_TOKEN, msg="access_token无效或已过期",
                            sub_code="isv.access-token-expired")
        return search_list(self.dataset, params, int(SHOP_ID))

    # -- tokens -----------------------------------------------------------------------------
    def _create(self, params: dict[str, Any]) -> Response:
        grant = params.get("grant_type")
        # D3: the core form ("code": "", integer shop_id) and the generated request's form
        # (code omitted when empty, shop_id a string) are both SDK forms.
        code = params.get("code", "")
        if not isinstance(code, str) or (grant == "authorization_code" and not code):
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.missing-parameter",
                            sub_msg="code must be the authorization code")
        try:
            shop = _shop_id(params.get("shop_id"))
        except ValueError:
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                            sub_msg="shop_id must be a number")
        now = self.clock.now()
        with self._lock:
            if grant == "authorization_code":
                expires = self._codes.pop(code, None)  # single use
                if expires is None or expires < now:
                    return envelope(code=BAD_GRANT, msg="授权码无效",
                                    sub_code="isv.invalid-code")
            elif grant == "authorization_self":
                if shop != int(SHOP_ID):
                    return envelope(code=BAD_GRANT, msg="店铺未授权",
                                    sub_code="isv.shop-not-authorized")
            else:
                return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-grant-type")
            return self._answer(self._issue(now), now)

    def _refresh_token(self, params: dict[str, Any]) -> Response:
        now = self.clock.now()
        with self._lock:
            if params.get("grant_type") != "refresh_token":
                return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-grant-type")
            pair = self._by_refresh.get(str(params.get("refresh_token", "")))
            if pair is None or pair.refresh_until <= now:
                return envelope(code=BAD_GRANT, msg="refresh_token无效",
                                sub_code="isv.invalid-refresh-token")
            if now < pair.access_until - GRACE:  # D4: same pair, lifetimes unchanged
                return self._answer(pair, now)
            if now < pair.access_until:  # D4: the old pair lives one more hour
                pair.access_until = pair.refresh_until = now + GRACE
            else:  # D4: after expiry the old pair dies
                self._by_access.pop(pair.access, None)
                self._by_refresh.pop(pair.refresh, None)
            return self._answer(self._issue(now), now)

    def _issue(self, now: datetime) -> _Pair:
        pair = _Pair(secrets.token_hex(16), secrets.token_hex(16),
                     now + timedelta(seconds=int(self.settings["access_ttl"])),
                     now + timedelta(seconds=int(self.settings["refresh_ttl"])))
        self._by_access[pair.access] = self._by_refresh[pair.refresh] = pair
        return pair

    def _answer(self, pair: _Pair, now: datetime) -> Response:
        left = int((pair.access_until - now).total_seconds())
        expires_in = (int(pair.access_until.timestamp())
                      if self.settings["expires_in_form"] == "epoch" else left)
        # Field names and types: api/token_create/response/token_create_response.go.
        return envelope({"access_token": pair.access, "expires_in": expires_in,
                         "refresh_token": pair.refresh, "scope": "SCOPE",
                         "shop_id": int(SHOP_ID), "shop_name": SHOP_NAME,
                         "authority_id": SHOP_ID, "auth_subject_type": "MiniShop"})


def _shop_id(value: Any) -> int | None:
    """``shop_id`` as either SDK form sends it (JSON integer or numeric string), None when
    absent; ValueError when it is neither."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError("shop_id")


def _timestamp_ok(value: str) -> bool:
    """SANDBOX-ONLY tolerance (±10 minutes of real time); both documented forms."""
    try:
        when = (float(value) if value.isdigit()
                else datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=BEIJING).timestamp())
    except ValueError:
        return False
    return abs(when - time.time()) <= 600
