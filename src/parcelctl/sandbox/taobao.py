"""Simulated Taobao Open Platform (TOP): gateway, OAuth, a shop's sold trades, traces.

Written from the fact sheets (taobao.md, errata.md T1-T4) and the vendor's own API metadata
(never from provider code). Mounted at ``/taobao``: ``/router/rest`` (gateway),
``/authorize`` and ``/token`` (OAuth). The linked account is a seller (a shop).

Documented behaviour reproduced: all-parameter signing (md5 / hmac / hmac-sha256), the
``<method>_response`` / ``error_response`` framing (HTTP 200) with the fields of
``bububa/opentaobao``'s error response (``request_id``, integer ``code``, ``msg``,
``sub_code``, ``sub_msg``), business (``isv.*``) errors as code 15 "Remote service error"
(taobao.md's doc sample shows 50; TOP's platform table and the SDKs use 15 for them),
code 21, code 22 for a method outside TOP's catalogue (errata T1:
``taobao.trades.bought.get`` is not in it), the double-wrapped lists, ``fields`` selection,
the OAuth code flow and token fields, the ``access_denied`` redirect on refusal, and, per
``bububa/opentaobao`` (generated from TOP metadata, ``metadata/assets/json/``):
``taobao.trades.sold.get`` (``tbtrade/taobao_trades_sold_get.json``: ``fields`` required,
``page_no``/``page_size`` default 40 max 100, ``total_results`` or ``has_next`` with
``use_has_next=true``, ``orders.invoice_no``/``orders.logistics_company`` per sub-order;
"只能获取到三个月以内的交易信息": a ``start_created`` older than 90 days is *cut* to 90 days
(the metadata says only three months can be fetched, not that the call fails; the exact
limit in days is SANDBOX-ONLY); ``type`` "默认同时查询guarantee_trade,auto_delivery,ec,cod,
step": without ``type`` only those types are listed, and the shop's ``tmall_i18n`` trades
only when ``type`` names that type),
``taobao.trade.fullinfo.get`` (``tbtrade/taobao_trade_fullinfo_get.json``: ``fields`` and
``tid`` required, one ``trade``) and ``taobao.logistics.trace.search``
(``tblogistics/taobao_logistics_trace_search.json``: ``tid`` required, ``is_split``,
``sub_tid``; no ``seller_nick``: like any TOP parameter the API does not declare, it is
ignored, not refused). The trace summary ``status`` speaks the vendor Java SDK's
vocabulary (``LogisticsTraceSearchResponse.java``, errata T3), and waybills consigned with
``offline.send`` answer "对方已签收" as soon as they ship, as the metadata warns. Step
``action`` codes follow errata T4 (third-party evidence). Everything marked
``SANDBOX-ONLY`` is a plausible behaviour for an item the sources leave open; providers
must not depend on it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from .base import Request, Response, Service, html_response, json_response
from .dataset import ShopOrder, at

BEIJING = timezone(timedelta(hours=8))
FMT = "%Y-%m-%d %H:%M:%S"
APP_KEY = "23800001"
APP_SECRET = "sandbox-taobao-app-secret"  # noqa: S105 - public sandbox credential
SELLER_ID = "2200000001"
TRADES = "taobao.trades.sold.get"
FULLINFO = "taobao.trade.fullinfo.get"
TRACE = "taobao.logistics.trace.search"
#: sold.get lists only the last three months (metadata; 90 days is our reading).
WINDOW = timedelta(days=90)
#: sold.get's ``type`` default (metadata); ``guarantee_trade`` = fixed + auction.
DEFAULT_TYPES = frozenset({"fixed", "auction", "auto_delivery", "ec", "cod", "step"})
#: SANDBOX-ONLY: the dataset's completed orders (kind 5) are Tmall Global trades, a type
#: the default does not list.
OTHER_TYPE = "tmall_i18n"
#: The part of TOP's catalogue this simulator serves; any other method answers code 22 as
#: TOP does for a method it does not have (errata T1: taobao.trades.bought.get is one).
CATALOGUE = frozenset({TRADES, FULLINFO, TRACE})

# Dataset order status (Kuaishou vocabulary) -> Taobao trade status (trades.sold.get
# metadata: WAIT_SELLER_SEND_GOODS paid, WAIT_BUYER_CONFIRM_GOODS shipped, TRADE_FINISHED,
# TRADE_CLOSED refunded after payment).
_TRADE_STATUS = {30: "WAIT_SELLER_SEND_GOODS", 40: "WAIT_BUYER_CONFIRM_GOODS",
                 70: "TRADE_FINISHED", 80: "TRADE_CLOSED"}

# Step ``action`` per stage: errata T4's codes (third-party evidence; STA_SIGN = signed by a
# station, waiting for pickup) and the sheet's ARRIVE; the stages T4 has no code for use
# SANDBOX-ONLY codes.
_ACTIONS = {
    "accepted": "CONSIGN", "picked_up": "GOT", "in_transit": "DEPARTURE",
    "customs": "DEPARTURE", "customs_failed": "CUSTOMS_FAILED", "arrived_city": "ARRIVAL",
    "out_for_delivery": "SENT_SCAN", "at_station": "STA_SIGN", "delivered": "SIGNED",
    "delivered_station": "TMS_SIGN", "failed_attempt": "FAILED", "problem": "ERROR",
    "returning": "RETURN", "returned": "RETURN_SIGNED", "refused": "FAILED",
    "cancelled": "CANCEL",
}
# Summary ``status`` from the vendor SDK's vocabulary (errata T3) for the last stage; the
# pairing of stages with these texts is SANDBOX-ONLY.
_SUMMARY = {
    "accepted": "物流公司已接单", "delivered": "对方已签收", "delivered_station": "对方已签收",
    "failed_attempt": "签收失败", "refused": "对方拒绝签收", "returning": "签收失败",
    "returned": "签收失败", "cancelled": "物流公司不接单",
}
_MOVING = "物流公司揽收成功"  # every other stage: the carrier has the parcel
_WAITING = "等候发送给物流公司"  # no scan yet
_SIGNED = "对方已签收"
_COMPANIES = {"yuantong": "圆通速递", "shunfeng": "顺丰速运", "shentong": "申通快递",
              "yunda": "韵达快递", "jtexpress": "极兔速递", "zhongtong": "中通快递",
              "jd": "京东快递", "youzhengguonei": "邮政快递包裹", "debangwuliu": "德邦快递",
              "ems": "EMS", "huitongkuaidi": "百世快递", "cainiao": "菜鸟速递"}
_ORDER_FIELDS = ("oid", "title", "pic_path", "total_fee", "num", "status", "invoice_no",
                 "logistics_company", "consign_time")
# The sub-order fields that name the package (metadata: 子订单所在包裹的运单号 / 快递公司名称).
_WAYBILL_FIELDS = ("invoice_no", "logistics_company")


def top_sign(params: dict[str, str], secret: str, method: str) -> str:
    """Sign exactly the parameters received (taobao.md §2), ``sign`` itself excluded."""
    text = "".join(k + params[k] for k in sorted(params) if k != "sign")
    if method == "md5":
        raw = (secret + text + secret).encode("utf-8")
        return hashlib.md5(raw).hexdigest().upper()  # noqa: S324 - mandated by the protocol
    digest = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), digest).hexdigest().upper()


def top_error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Response:
    """``error_response`` with the fields of opentaobao's ErrorResponse (request_id, code
    int, msg, sub_code, sub_msg)."""
    body: dict[str, Any] = {"code": code, "msg": msg}
    if sub_code:
        body |= {"sub_code": sub_code, "sub_msg": sub_msg}
    body["request_id"] = secrets.token_hex(7)
    return json_response({"error_response": body})


def _bad_param(detail: str) -> Response:
    # A business error: code 15, isv.*; the detail after the colon is ours.
    return top_error(15, "Remote service error", "isv.invalid-parameter", f"非法参数:{detail}")


@dataclass(slots=True)
class _Grant:
    redirect_uri: str
    expires: datetime


@dataclass(slots=True)
class _Token:
    expires: datetime
    refresh: str = ""


class TaobaoService(Service):
    name = "taobao"
    rate_limit = None  # UNKNOWN (taobao.md §7)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._sessions: dict[str, _Token] = {}
        self._refresh: dict[str, datetime] = {}
        # SANDBOX-ONLY lifetimes (the sheet gives field names, not values). ``list_waybills``
        # (on by default): trades.sold.get answers the sub-orders' waybill fields; set it
        # off and the list leaves them out (its metadata says the list holds part of a
        # trade, fullinfo.get the rest), so a client must ask fullinfo.get.
        # ``trace_time_format``: the form of trace ``status_time``, a String the metadata
        # gives no format for: "datetime" (yyyy-MM-dd HH:mm:ss, taobao.md's doc copy),
        # "example" (the metadata description's "2010-8-10 15：23：00") or "ms"
        # (SANDBOX-ONLY: epoch milliseconds, a form no client is told to expect).
        self.settings: dict[str, Any] = {"approve": True, "access_ttl": 86400,
                                         "refresh_ttl": 30 * 86400, "code_ttl": 600,
                                         "list_waybills": True,
                                         "trace_time_format": "datetime"}

    def credentials(self, base_url: str) -> dict[str, str]:
        return {"app_key": APP_KEY, "app_secret": APP_SECRET, "sign_method": "md5",
                "base_url": f"{base_url}/router/rest", "auth_url": f"{base_url}/authorize",
                "token_url": f"{base_url}/token"}

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.settings |= {k: v for k, v in settings.items() if k in self.settings}
            return dict(self.settings)

    def endpoint(self, request: Request) -> str:
        if request.path.rstrip("/") == "/router/rest":
            return request.params.get("method") or "router"
        return request.path.strip("/")

    def throttled(self) -> Response:
        # SANDBOX-ONLY: throttling is UNKNOWN; TOP-style code 7 inside the error envelope.
        return top_error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count",
                         "This ban will last for 1 more seconds")

    def business_error(self, request: Request) -> Response:
        return top_error(15, "Remote service error", "isv.invalid-parameter", "非法参数")

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/router/rest":
            return self._gateway(request.params)
        if path == "/authorize" and request.method == "GET":
            return self._authorize(request.query)
        if path == "/token" and request.method == "POST":
            return self._token(request.form)
        return json_response({"error": "not found"}, 404)

    # -- OAuth ------------------------------------------------------------------------------
    def _authorize(self, q: dict[str, str]) -> Response:
        uri = q.get("redirect_uri", "")
        # SANDBOX-ONLY: the registered callback domain of the sandbox app is the loopback.
        if (q.get("response_type") != "code" or q.get("client_id") != APP_KEY
                or urlsplit(uri).hostname not in ("127.0.0.1", "localhost")
                or q.get("view", "web") not in ("web", "tmall", "wap")):
            return html_response("<h1>invalid authorize request</h1>", 400)
        state = {"state": q["state"]} if "state" in q else {}
        if not self.settings["approve"]:
            reply = {"error": "access_denied", "error_description": "authorize reject"} | state
        else:
            code = secrets.token_hex(12)
            with self._lock:
                self._codes[code] = _Grant(uri, self.clock.now() + timedelta(
                    seconds=float(self.settings["code_ttl"])))
            reply = {"code": code} | state
        sep = "&" if "?" in uri else "?"
        return Response(302, b"", "text/plain", {"Location": f"{uri}{sep}{urlencode(reply)}"})

    def _token(self, form: dict[str, str]) -> Response:
        # SANDBOX-ONLY: token errors are UNKNOWN; RFC 6749 style bodies are used.
        if form.get("client_id") != APP_KEY or form.get("client_secret") != APP_SECRET:
            return json_response({"error": "invalid_client",
                                  "error_description": "client authentication failed"}, 401)
        grant = form.get("grant_type")
        now = self.clock.now()
        with self._lock:
            if grant == "authorization_code":
                # SANDBOX-ONLY: single use and a 10-minute life (code rules are UNKNOWN).
                found = self._codes.pop(form.get("code", ""), None)
                if (found is None or found.expires < now
                        or found.redirect_uri != form.get("redirect_uri")):
                    return _oauth_error("invalid_grant", "code is invalid or expired")
            elif grant == "refresh_token":  # SANDBOX-ONLY: the refresh grant is UNKNOWN
                old = form.get("refresh_token", "")
                expires = self._refresh.pop(old, None)
                if expires is None or expires < now:
                    return _oauth_error("invalid_grant", "refresh_token is invalid")
            else:
                return _oauth_error("unsupported_grant_type", "grant_type is not supported")
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            ttl, rttl = int(self.settings["access_ttl"]), int(self.settings["refresh_ttl"])
            self._sessions[access] = _Token(now + timedelta(seconds=ttl), refresh)
            self._refresh[refresh] = now + timedelta(seconds=rttl)
        return json_response({
            "access_token": access, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": refresh, "re_expires_in": rttl, "r1_expires_in": ttl,
            "r2_expires_in": ttl, "w1_expires_in": ttl, "w2_expires_in": ttl,
            "taobao_user_id": SELLER_ID, "taobao_user_nick": self.dataset.seller_nick})

    # -- gateway ----------------------------------------------------------------------------
    def _gateway(self, p: dict[str, str]) -> Response:
        # Codes other than 15, 21 and 22 are SANDBOX-ONLY (TOP-style; the sheet's table is
        # UNKNOWN).
        if not p.get("method"):
            return top_error(21, "Missing method")
        if not p.get("app_key"):
            return top_error(28, "Missing app key")
        if p["app_key"] != APP_KEY:
            return top_error(29, "Invalid app key")
        sign_method = p.get("sign_method", "md5")
        if sign_method not in ("md5", "hmac", "hmac-sha256"):
            return top_error(25, "Invalid signature", "isv.invalid-sign-method", sign_method)
        if not p.get("sign"):
            return top_error(24, "Missing signature")
        if not hmac.compare_digest(p["sign"], top_sign(p, APP_SECRET, sign_method)):
            return top_error(25, "Invalid signature")
        if not _timestamp_ok(p.get("timestamp", "")):
            return top_error(31, "Invalid timestamp", "isv.invalid-timestamp",
                             "timestamp must be within 10 minutes of the server time")
        if p.get("v") != "2.0":
            return top_error(33, "Invalid version")
        if p.get("format") != "json":  # SANDBOX-ONLY: the real default is XML
            return top_error(23, "Invalid format", "isv.invalid-format", "sandbox speaks json")
        if p["method"] not in CATALOGUE:
            return top_error(22, "Invalid method")
        session = p.get("session", "")
        if not session:
            return top_error(26, "Missing session")
        with self._lock:
            token = self._sessions.get(session)
        if token is None or token.expires <= self.clock.now():
            return top_error(27, "Invalid session", "invalid-sessionkey", "SessionKey非法")
        if p["method"] == TRADES:
            return self._trades(p)
        if p["method"] == FULLINFO:
            return self._fullinfo(p)
        return self._trace(p)

    def _mine(self) -> list[tuple[int, ShopOrder]]:
        """The shop's trades of the default types: paid, closed, shipped and finished ones
        (the dataset cycles through six kinds; the kind shipped in two packages for one line
        item is left out: sold.get names one package per sub-order)."""
        return [(i, o) for i, o in enumerate(self.dataset.orders) if i % 6 in (0, 1, 2, 4)]

    def _all(self) -> list[tuple[int, ShopOrder]]:
        """Every trade of the shop: the default types and the ``tmall_i18n`` ones."""
        return [(i, o) for i, o in enumerate(self.dataset.orders)
                if i % 6 in (0, 1, 2, 4, 5)]

    @staticmethod
    def trade_type(index: int) -> str:
        return OTHER_TYPE if index % 6 == 5 else "fixed"

    def _trade_status(self, index: int, order: ShopOrder) -> str:
        if order.status == 80 and (index // 6) % 2:
            return "TRADE_CLOSED_BY_TAOBAO"
        return _TRADE_STATUS.get(order.status, "WAIT_BUYER_CONFIRM_GOODS")

    @staticmethod
    def offline(order: ShopOrder) -> bool:
        """SANDBOX-ONLY: some orders (oid divisible by 4) were consigned with
        ``offline.send``."""
        return order.oid % 4 == 0

    def _trades(self, p: dict[str, str]) -> Response:
        fields = _fields(p)
        if not fields:
            return _bad_param("fields")
        try:
            page_no, size = int(p.get("page_no", "1")), int(p.get("page_size", "40"))
            start = _parse_time(p["start_created"]) if p.get("start_created") else None
            end = _parse_time(p["end_created"]) if p.get("end_created") else None
        except ValueError:
            return _bad_param("page_no/page_size/start_created/end_created")
        if page_no < 1 or not 1 <= size <= 100:  # metadata: default 40, max 100
            return _bad_param("page_size")
        types = _types(p.get("type", ""))
        oldest = self.clock.now() - WINDOW  # three months at most, whatever was asked
        start = max(start, oldest) if start else oldest
        if not self.settings["list_waybills"]:
            fields = [f for f in fields if f.removeprefix("orders.") not in _WAYBILL_FIELDS]
        rows = []
        for index, order in self._all():
            created = at(self.dataset.epoch, order.create_hours)
            if created < start or (end and created > end):
                continue
            if self.trade_type(index) not in types:
                continue
            rows.append((created, self._render(index, order, created, fields)))
        rows.sort(key=lambda r: r[0], reverse=True)  # metadata: newest created first
        chunk = [r[1] for r in rows[(page_no - 1) * size: page_no * size]]
        body: dict[str, Any] = {"trades": {"trade": chunk}}
        if p.get("use_has_next") == "true":
            body["has_next"] = page_no * size < len(rows)
        else:
            body["total_results"] = len(rows)
        return json_response({"trades_sold_get_response": body})

    def _fullinfo(self, p: dict[str, str]) -> Response:
        fields = _fields(p)
        if not fields:
            return _bad_param("fields")
        tid = p.get("tid", "")
        if not tid.isdigit():
            return _bad_param("tid")
        found = next(((i, o) for i, o in self._all() if str(o.oid) == tid), None)
        if found is None:
            # SANDBOX-ONLY code and sub_code for a trade that is not this seller's.
            return top_error(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        index, order = found
        trade = self._render(index, order, at(self.dataset.epoch, order.create_hours), fields)
        return json_response({"trade_fullinfo_get_response": {"trade": trade}})

    def _render(self, index: int, order: ShopOrder, created: datetime,
                fields: list[str]) -> dict[str, Any]:
        status = self._trade_status(index, order)
        full: dict[str, Any] = {
            "tid": order.oid, "created": created.astimezone(BEIJING).strftime(FMT),
            "modified": at(self.dataset.epoch, order.update_hours).astimezone(BEIJING)
            .strftime(FMT), "status": status, "seller_nick": self.dataset.seller_nick,
            "payment": f"{order.total_fee / 100:.2f}", "type": self.trade_type(index)}
        sub: dict[str, Any] = {
            "oid": order.oid * 10 + 1, "title": order.title, "num": order.quantity,
            "pic_path": f"https://img.example.invalid/{order.oid}.jpg", "status": status,
            "total_fee": f"{order.total_fee / 100:.2f}"}
        if order.waybills:
            number = order.waybills[0][0]
            shipment = self.dataset.shipment(number)
            carrier = shipment.carrier if shipment else "yuantong"
            sub |= {"invoice_no": number,
                    "logistics_company": _COMPANIES.get(carrier, carrier)}
        trade = {k: v for k, v in full.items() if k in fields}
        wanted = [f.removeprefix("orders.") for f in fields if f.startswith("orders.")]
        if "orders" in fields:
            wanted = list(_ORDER_FIELDS)
        if wanted:
            trade["orders"] = {"order": [{k: v for k, v in sub.items() if k in wanted}]}
        return trade

    def _trace(self, p: dict[str, str]) -> Response:
        tid = p.get("tid", "")
        if not tid.isdigit():
            return _bad_param("tid")
        if p.get("is_split", "0") not in ("0", "1"):
            return _bad_param("is_split")
        subs = [s for s in p.get("sub_tid", "").split(",") if s]
        if p.get("is_split") == "1" and not 1 <= len(subs) <= 50:
            return _bad_param("sub_tid")
        found = next(((i, o) for i, o in self._all() if str(o.oid) == tid), None)
        if found is None or not found[1].waybills:
            # SANDBOX-ONLY sub_code: the real one for "no trace for this trade" is UNKNOWN.
            return top_error(15, "Remote service error", "isv.logistics-trace-not-exist",
                             "物流信息不存在")
        order = found[1]
        number = order.waybills[0][0]  # one package per trade here (see _mine)
        self.stats.record_number(self.name, number)
        shipment = self.dataset.shipment(number)
        events = shipment.visible(self.hours_now()) if shipment else []
        form = str(self.settings["trace_time_format"])
        steps = [{"status_time": _step_time(at(self.dataset.epoch, e.hours), form),
                  "status_desc": e.text, "action": _ACTIONS[e.stage]} for e in events]
        carrier = shipment.carrier if shipment else "yuantong"
        if self.offline(order):
            summary = _SIGNED  # metadata: offline.send waybills say so as soon as they ship
        elif events:
            summary = _SUMMARY.get(events[-1].stage, _MOVING)
        else:
            summary = _WAITING
        return json_response({"logistics_trace_search_response": {
            "out_sid": number, "company_name": _COMPANIES.get(carrier, carrier),
            "tid": order.oid, "status": summary,
            "trace_list": {"transit_step_info": steps}}})


def _fields(p: dict[str, str]) -> list[str]:
    return [f.strip() for f in p.get("fields", "").split(",") if f.strip()]


def _step_time(when: datetime, form: str) -> str:
    local = when.astimezone(BEIJING)
    if form == "example":  # "如2010-8-10 15：23：00" (trace.search metadata description)
        return f"{local.year}-{local.month}-{local.day} {local:%H}：{local:%M}：{local:%S}"
    if form == "ms":
        return str(int(local.timestamp() * 1000))
    return local.strftime(FMT)


def _types(value: str) -> frozenset[str]:
    """The trade types ``type`` asks for; without it, the metadata's default five
    (guarantee_trade = fixed and auction)."""
    asked = {t.strip() for t in value.split(",") if t.strip()}
    if not asked:
        return DEFAULT_TYPES
    if "guarantee_trade" in asked:
        asked |= {"fixed", "auction"}
    return frozenset(asked)


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, FMT).replace(tzinfo=BEIJING)


def _timestamp_ok(value: str) -> bool:
    """±10 minutes of real time (2ND); epoch ms accepted too (the vendor SDK sends those).

    Real time, not the sandbox clock: tests advance the clock to move parcels, and a
    provider signs with its own wall clock.
    """
    try:
        when = (float(value) / 1000.0 if value.isdigit()
                else _parse_time(value).timestamp())
    except ValueError:
        return False
    return abs(when - time.time()) <= 600
