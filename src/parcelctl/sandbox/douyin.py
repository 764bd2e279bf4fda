"""Simulated Douyin shop open platform (抖店 / jinritemai), mounted at ``/douyin``.

Written from the fact sheet douyin.md alone (never from provider code). Documented
behaviour reproduced: ``/{method with "." -> "/"}`` paths, the system parameters, the md5 /
hmac-sha256 signature over ``app_key, method, param_json, timestamp, v`` wrapped in the
secret (``access_token`` and ``sign_method`` unsigned), ``param_json`` as a query/form
parameter or as the JSON POST body, both timestamp forms, the ``code == 10000`` envelope and
``token.create`` (``authorization_code`` + ``code`` or ``authorization_self`` + ``shop_id``)
/ ``token.refresh``, ``order.searchList`` request parameters (seconds, ``page`` from 0,
``size`` ≤ 100).

The sheet leaves most of the rest UNKNOWN. Everything marked ``SANDBOX-ONLY`` (error codes,
authorize page, token lifetimes and rotation, the order list *response* fields and status
codes) is a plausible behaviour the provider must not depend on: the provider only reads
those fields when told where they are.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from .base import Request, Response, Service, html_response, json_response
from .dataset import ShopOrder, at

BEIJING = timezone(timedelta(hours=8))
APP_KEY = "7300000000000000001"
APP_SECRET = "sandbox-douyin-app-secret"  # noqa: S105 - public sandbox credential
SHOP_ID = "88880001"
SHOP_NAME = "沙盒抖店"

# SANDBOX-ONLY error codes (the real table is UNKNOWN).
MISSING_PARAM, BAD_PARAM, BAD_SIGN, BAD_TOKEN, BAD_GRANT, BUSINESS, THROTTLED = (
    40001, 40002, 40004, 30002, 40010, 50002, 90000)

# SANDBOX-ONLY order status codes and response field names (order.searchList v2 is UNKNOWN).
_STATUS = {30: 2, 40: 3, 70: 5, 80: 4}  # 2 awaiting shipment, 3 shipped, 4 cancelled, 5 done
_COMPANY = {6: "yuantong", 4: "shunfeng", 3: "shentong", 11: "yunda", 109: "jtexpress",
            9: "zhongtong", 14: "jd", 8: "youzhengguonei", 17: "debangwuliu"}


def dy_sign(app_key: str, method: str, param_json: str, timestamp: str, v: str,
            sign_method: str) -> str:
    raw = (APP_SECRET + "app_key" + app_key + "method" + method + "param_json" + param_json
           + "timestamp" + timestamp + "v" + v + APP_SECRET).encode("utf-8")
    if sign_method == "hmac-sha256":
        return hmac.new(APP_SECRET.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return hashlib.md5(raw).hexdigest()  # noqa: S324 - mandated by the protocol


def envelope(data: Any = None, code: int = 10000, msg: str = "success", sub_code: str = "",
             sub_msg: str = "", status: int = 200) -> Response:
    return json_response({"code": code, "data": data if data is not None else {}, "msg": msg,
                          "sub_code": sub_code, "sub_msg": sub_msg,
                          "log_id": secrets.token_hex(10)}, status)


class DouyinService(Service):
    name = "douyin"
    rate_limit = None  # UNKNOWN (douyin.md)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._codes: dict[str, datetime] = {}
        self._tokens: dict[str, datetime] = {}
        self._refresh: dict[str, datetime] = {}
        # SANDBOX-ONLY lifetimes and authorize behaviour.
        self.settings: dict[str, Any] = {"approve": True, "access_ttl": 7 * 86400,
                                         "refresh_ttl": 14 * 86400, "code_ttl": 600}

    def credentials(self, base_url: str) -> dict[str, str]:
        # auth_url is a template: the real authorize page is UNKNOWN (SANDBOX-ONLY page).
        return {"app_key": APP_KEY, "app_secret": APP_SECRET, "sign_method": "md5",
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

    def _api(self, request: Request, path_method: str) -> Response:
        p = request.params
        body_json = "application/json" in request.headers.get("content-type", "")
        param_json = request.body.decode("utf-8") if body_json else p.get("param_json", "")
        for key in ("app_key", "method", "timestamp", "v", "sign"):
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
            expires = self._tokens.get(p.get("access_token", ""))
        if expires is None or expires <= self.clock.now():
            return envelope(code=BAD_TOKEN, msg="access_token无效或已过期",
                            sub_code="isv.access-token-expired")
        return self._orders(params)

    # -- tokens -----------------------------------------------------------------------------
    def _create(self, params: dict[str, Any]) -> Response:
        grant = params.get("grant_type")
        now = self.clock.now()
        with self._lock:
            if grant == "authorization_code":
                expires = self._codes.pop(str(params.get("code", "")), None)  # single use
                if expires is None or expires < now:
                    return envelope(code=BAD_GRANT, msg="授权码无效",
                                    sub_code="isv.invalid-code")
            elif grant == "authorization_self":
                if str(params.get("shop_id", "")) != SHOP_ID:
                    return envelope(code=BAD_GRANT, msg="店铺未授权",
                                    sub_code="isv.shop-not-authorized")
            else:
                return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-grant-type")
            return self._issue(now)

    def _refresh_token(self, params: dict[str, Any]) -> Response:
        now = self.clock.now()
        with self._lock:
            if params.get("grant_type") != "refresh_token":
                return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-grant-type")
            # SANDBOX-ONLY rotation: the old refresh token dies at once.
            expires = self._refresh.pop(str(params.get("refresh_token", "")), None)
            if expires is None or expires < now:
                return envelope(code=BAD_GRANT, msg="refresh_token无效",
                                sub_code="isv.invalid-refresh-token")
            return self._issue(now)

    def _issue(self, now: datetime) -> Response:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        ttl = int(self.settings["access_ttl"])
        self._tokens[access] = now + timedelta(seconds=ttl)
        self._refresh[refresh] = now + timedelta(seconds=int(self.settings["refresh_ttl"]))
        return envelope({"access_token": access, "expires_in": ttl, "refresh_token": refresh,
                         "shop_id": SHOP_ID, "shop_name": SHOP_NAME})

    # -- orders (response fields SANDBOX-ONLY) ----------------------------------------------
    def _orders(self, params: dict[str, Any]) -> Response:
        try:
            start, end = int(params["create_time_start"]), int(params["create_time_end"])
            page, size = int(params.get("page", 0)), int(params.get("size", 20))
        except (KeyError, TypeError, ValueError):
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                            sub_msg="create_time_start/create_time_end/page/size")
        if page < 0 or not 1 <= size <= 100 or end < start:
            return envelope(code=BAD_PARAM, msg="参数错误", sub_code="isv.invalid-parameter",
                            sub_msg="page/size")
        rows = []
        for index, order in enumerate(self.dataset.orders):
            created = at(self.dataset.epoch, order.create_hours).timestamp()
            # The shop's subset: the kinds the Taobao buyer does not see (shipped, done).
            if index % 6 in (3, 5) and start <= created <= end:
                rows.append(self._render(order, int(created)))
        rows.sort(key=lambda r: -int(r["create_time"]))
        chunk = rows[page * size:(page + 1) * size]
        return envelope({"shop_order_list": chunk, "page": page, "size": size,
                         "total": len(rows)})

    def _render(self, order: ShopOrder, created: int) -> dict[str, Any]:
        return {"order_id": str(order.oid), "order_status": _STATUS.get(order.status, 3),
                "create_time": created, "product_name": order.title,
                "pay_amount": order.total_fee,
                "logistics_info": [{"tracking_no": n, "company": _COMPANY.get(c, str(c))}
                                   for n, c in order.waybills]}


def _timestamp_ok(value: str) -> bool:
    """SANDBOX-ONLY tolerance (±10 minutes of real time); both documented forms."""
    try:
        when = (float(value) if value.isdigit()
                else datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=BEIJING).timestamp())
    except ValueError:
        return False
    return abs(when - time.time()) <= 600
