"""Douyin shop (抖店, jinritemai open platform): signing, envelope, tokens; orders if configured.

Fact sheet douyin.md is built from third-party SDKs only. Known and implemented: the gateway
(``{base_url}/{method with "." -> "/"}``), system parameters, ``param_json`` with keys sorted
recursively, the md5 / hmac-sha256 signature (``sign()``), the ``code == 10000`` envelope
(legacy ``err_no == 0`` accepted) and the ``token.create`` / ``token.refresh`` methods.

UNKNOWN, therefore configurable with no invented default:

* ``auth_url`` — the authorize page: a URL template with ``{app_key}``, ``{redirect_uri}``
  and ``{state}`` placeholders, copied from the Douyin console (self-use apps set
  ``shop_id`` instead and call :meth:`DouyinProvider.self_authorize`);
* ``auth_error_codes`` — which envelope codes mean "the token expired or was revoked". Only
  these mean "link again", on API calls and on a token refresh alike: any other refusal keeps
  the account (a ProviderError naming the code), because marking it ``reauth`` would stop
  ``watch`` syncing it over a code nobody knows the meaning of;
* order listing — ``order_method`` (``order.searchList`` per the SDKs, whose request
  parameters ``create_time_start``/``create_time_end``/``page``/``size`` are sent) and every
  response path: ``orders_path``, ``order_id_field``, ``order_status_field``, ``status_map``,
  ``created_field``, ``title_field``, ``waybills_path``, ``waybill_number_field``,
  ``waybill_carrier_field``, ``carrier_map``. Without them :meth:`list_orders` raises
  :class:`ConfigError`.

Douyin has no known trace API: waybills are tracked through the tracking provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from ..errors import AuthorizationNeeded, ConfigError, ProviderChanged, ProviderError
from ..http import json_body, redact
from ..models import CHINA_TZ, Order, Status, TokenSet, Waybill, utcnow
from .base import (
    AccountSession,
    ConfigKey,
    PlatformProvider,
    as_str,
    expect_dict,
    lifetime_end,
    map_status,
)

NAME = "douyin"
SUCCESS = 10000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def method_path(method: str) -> str:
    """``order.searchList`` -> ``/order/searchList``."""
    return "/" + method.replace(".", "/")


def param_json(params: Mapping[str, Any]) -> str:
    """Business parameters as one JSON string, keys sorted recursively, no spaces."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(app_key: str, app_secret: str, method: str, param_json: str, timestamp: str,
         v: str = "2", sign_method: str = "md5") -> str:
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


def unwrap(payload: Any, auth_codes: frozenset[str] = frozenset(),
           what: str = "the request") -> dict[str, Any]:
    """``data`` of a successful envelope, or the matching error raised.

    The code table is UNKNOWN (douyin.md), so only ``auth_codes`` (configured) become
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


def parse_token(data: Mapping[str, Any], now: datetime) -> TokenSet:
    access = as_str(data.get("access_token"))
    if not access:
        raise ProviderChanged("token answer without access_token", provider=NAME)
    try:
        lifetime = int(as_str(data.get("expires_in")) or 0)
    except ValueError:
        raise ProviderChanged("expires_in is not a number", provider=NAME) from None
    return TokenSet(access_token=access, refresh_token=as_str(data.get("refresh_token")),
                    access_expires_at=lifetime_end(now, lifetime, NAME) if lifetime else None,
                    open_id=as_str(data.get("shop_id")))


def get_path(obj: Any, path: str) -> Any:
    """Walk a dotted path through JSON objects; None when any step is missing."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ProviderChanged(f"{what} is not a string or number", provider=NAME)
    return as_str(value)


def parse_time(value: Any) -> datetime | None:
    """Epoch seconds (number or digits) or ``yyyy-MM-dd HH:mm:ss`` Beijing time."""
    if value in (None, "", 0):
        return None
    text = as_str(value)
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), CHINA_TZ)
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA_TZ)
    except (ValueError, OverflowError, OSError):
        raise ProviderChanged(f"{text[:30]!r} is not a time", provider=NAME) from None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """Where an order list answer keeps what parcelctl needs (all configured, none known)."""

    method: str
    orders_path: str
    id_field: str
    status_field: str
    status_map: Mapping[str, Status]
    created_field: str = ""
    title_field: str = ""
    waybills_path: str = ""
    number_field: str = ""
    carrier_field: str = ""
    carrier_map: Mapping[str, str] | None = None


def parse_orders(data: Mapping[str, Any], spec: OrderSpec, account: str
                 ) -> tuple[list[Order], int]:
    """Orders of one page and the number of rows the page had."""
    rows = get_path(dict(data), spec.orders_path)
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ProviderChanged(f"{spec.orders_path} is not a list", provider=NAME)
    orders = []
    for raw in rows:
        row = expect_dict(raw, NAME, "order")
        order_id = _id(get_path(row, spec.id_field), spec.id_field)
        if not order_id:
            raise ProviderChanged(f"an order has no {spec.id_field}", provider=NAME)
        code = as_str(get_path(row, spec.status_field))
        order = Order(provider=NAME, account=account, order_id=order_id,
                      status=map_status(spec.status_map, code, NAME), raw_status=code,
                      title=as_str(get_path(row, spec.title_field)) if spec.title_field else "",
                      created_at=parse_time(get_path(row, spec.created_field))
                      if spec.created_field else None)
        packages = get_path(row, spec.waybills_path) if spec.waybills_path else None
        for package in packages if isinstance(packages, list) else [packages] if packages else []:
            item = expect_dict(package, NAME, "package")
            number = get_path(item, spec.number_field)
            number = _id(number, spec.number_field) if number is not None else ""
            raw_carrier = as_str(get_path(item, spec.carrier_field)) if spec.carrier_field else ""
            if number:
                order.waybills.append(Waybill(number, (spec.carrier_map or {}).get(
                    raw_carrier, ""), raw_carrier))
        orders.append(order)
    return orders, len(rows)


class DouyinProvider(PlatformProvider):
    """Douyin shop (seller side) orders; traces come from the tracking provider."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Douyin shop (抖店)"
    description: ClassVar[str] = (
        "Douyin shop orders (seller side) via the jinritemai open platform. Order listing "
        "is off until its response fields are configured: the protocol is known only from "
        "third-party SDKs.")
    notes: ClassVar[str] = (
        "Seller-side platform: no buyer access is known. Known only from third-party SDKs; "
        "UNKNOWN and therefore configurable: the authorize URL (auth_url template), token "
        "lifetimes and refresh rotation, the error code table (auth_error_codes), the "
        "order list response fields (order_method, orders_path, order_id_field, "
        "order_status_field, status_map, waybills_path, ...), carrier codes (carrier_map). "
        "No Douyin trace API is known: waybills are tracked by the tracking provider.")
    scopes: ClassVar[dict[str, str]] = {
        "orders": "your shop's orders: id, status, time, item title, waybill numbers"}
    concurrency: ClassVar[int] = 2  # limits UNKNOWN
    capabilities: ClassVar[tuple[str, ...]] = ("orders", "oauth")
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("app_key", "app key", required=True),
        ConfigKey("app_secret", "app secret", secret=True, required=True),
        ConfigKey("sign_method", "md5 or hmac-sha256", "md5", choices=("md5", "hmac-sha256")),
        ConfigKey("base_url", "API gateway", "https://openapi-fxg.jinritemai.com"),
        ConfigKey("auth_url", "authorize URL template with {app_key} {redirect_uri} {state} "
                  "[UNKNOWN]"),
        ConfigKey("redirect_uri", "OAuth callback", "http://127.0.0.1:8976/callback"),
        ConfigKey("shop_id", "self-use apps: shop id for grant_type=authorization_self"),
        ConfigKey("timestamp_format", "datetime (yyyy-MM-dd HH:mm:ss) or seconds", "datetime",
                  choices=("datetime", "seconds")),
        ConfigKey("auth_error_codes", "envelope codes meaning 're-link' [UNKNOWN]", []),
        ConfigKey("order_method", "order list method, e.g. order.searchList [UNKNOWN]"),
        ConfigKey("orders_path", "path of the order list inside data [UNKNOWN]"),
        ConfigKey("order_id_field", "path of the order id in an order [UNKNOWN]"),
        ConfigKey("order_status_field", "path of the status code in an order [UNKNOWN]"),
        ConfigKey("status_map", "status code -> parcelctl status [UNKNOWN]", {}),
        ConfigKey("created_field", "path of the creation time (seconds) [UNKNOWN]"),
        ConfigKey("title_field", "path of the item title [UNKNOWN]"),
        ConfigKey("waybills_path", "path of the package list in an order [UNKNOWN]"),
        ConfigKey("waybill_number_field", "path of the waybill number in a package [UNKNOWN]"),
        ConfigKey("waybill_carrier_field", "path of the carrier code in a package [UNKNOWN]"),
        ConfigKey("carrier_map", "Douyin carrier code -> carrier code [UNKNOWN]", {}),
        ConfigKey("page_size", "orders per page (max 100)", 100, minimum=1, maximum=100),
        ConfigKey("lookback_days", "orders created in the last N days", 90, minimum=1,
                  maximum=3650),
    )

    # -- calls ----------------------------------------------------------------------------
    async def call(self, method: str, params: Mapping[str, Any], access_token: str = "",
                   *, what: str = "the request") -> dict[str, Any]:
        """One signed call; returns ``data`` of the envelope (``what`` names it in errors)."""
        body = param_json(params)
        sign_method = self.require("sign_method")
        now = datetime.now(CHINA_TZ)
        stamp = (str(int(now.timestamp())) if self.settings.get("timestamp_format") == "seconds"
                 else now.strftime(TIME_FORMAT))
        app_key = self.require("app_key")
        query = {"app_key": app_key, "method": method, "timestamp": stamp, "v": "2",
                 "sign_method": sign_method,
                 "sign": sign(app_key, self.require("app_secret"), method, body, stamp, "2",
                              sign_method)}
        if access_token:
            query["access_token"] = access_token
        # System parameters in the query, param_json as a form field (both seen in SDKs;
        # the form keeps the signed string byte-exact, whatever httpx's JSON encoder does).
        response = await self.http.request("POST", self.url() + method_path(method),
                                           params=query, data={"param_json": body})
        return unwrap(json_body(response, NAME), self._auth_codes(), what)

    def _auth_codes(self) -> frozenset[str]:
        codes = self.settings.get("auth_error_codes") or []
        if isinstance(codes, (str, int)):
            codes = str(codes).split(",")
        return frozenset(as_str(c) for c in codes if as_str(c))

    # -- OAuth ----------------------------------------------------------------------------
    def authorize_url(self, state: str) -> str:
        template = self.settings.get("auth_url")
        if not template:
            raise ConfigError(
                "the Douyin authorize URL is not documented", provider=NAME,
                hint=f"set providers.{NAME}.auth_url to the URL from the Douyin console with "
                "{app_key}, {redirect_uri} and {state} placeholders (self-use apps: set "
                "shop_id instead)")
        values = {"app_key": self.require("app_key"), "redirect_uri": self.redirect_uri,
                  "state": state}
        return str(template).format_map({k: quote(v, safe="") for k, v in values.items()})

    async def exchange_code(self, code: str) -> TokenSet:
        data = await self.call("token.create", {"code": code,
                                                "grant_type": "authorization_code"})
        return parse_token(data, utcnow())

    async def authorize_without_browser(self) -> TokenSet | None:
        """With ``shop_id`` configured, ``parcelctl link douyin`` needs no browser."""
        if not self.settings.get("shop_id"):
            return None
        return await self.self_authorize()

    async def self_authorize(self) -> TokenSet:
        """Self-use apps: a token for ``shop_id`` without a browser."""
        data = await self.call("token.create", {"grant_type": "authorization_self",
                                                "shop_id": self.require("shop_id")})
        return parse_token(data, utcnow())

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        # No blanket "refused => link again": the error code table is UNKNOWN, and a bad
        # signature, a business error or a code nobody has seen yet is no proof that the
        # authorization is gone. AuthorizationNeeded marks the account ``reauth`` and
        # ``watch`` stops syncing it, so only ``auth_error_codes`` (raised by unwrap) mean
        # that; any other refusal is a ProviderError naming the code, and the account is
        # kept and tried again on the next sync (as Kuaishou does with its unknown codes).
        data = await self.call("token.refresh", {"refresh_token": tokens.refresh_token,
                                                 "grant_type": "refresh_token"},
                               what="the token refresh")
        new = parse_token(data, utcnow())
        # Rotation rules are UNKNOWN: keep the old refresh token when none comes back.
        new.refresh_token = new.refresh_token or tokens.refresh_token
        new.open_id = new.open_id or tokens.open_id
        return new

    # -- orders ---------------------------------------------------------------------------
    def order_spec(self) -> OrderSpec:
        method = self.settings.get("order_method")
        if not method:
            raise ConfigError(
                "douyin order listing is not documented; set providers.douyin.order_method "
                "(e.g. order.searchList) and its field keys (orders_path, order_id_field, "
                "order_status_field, status_map, ...) — see README", provider=NAME)
        table = self.settings.get("status_map") or {}
        if not isinstance(table, Mapping):
            raise ConfigError("status_map must be a table of code = status", provider=NAME)
        try:
            statuses = {str(k): Status(str(v)) for k, v in table.items()}
        except ValueError as exc:
            raise ConfigError(f"status_map: {exc}", provider=NAME) from None
        carriers = self.settings.get("carrier_map") or {}
        opt = {k: as_str(self.settings.get(k)) for k in (
            "created_field", "title_field", "waybills_path", "waybill_number_field",
            "waybill_carrier_field")}
        if opt["waybills_path"] and not opt["waybill_number_field"]:
            self.require("waybill_number_field")
        return OrderSpec(
            str(method), self.require("orders_path"), self.require("order_id_field"),
            self.require("order_status_field"), statuses, opt["created_field"],
            opt["title_field"], opt["waybills_path"], opt["waybill_number_field"],
            opt["waybill_carrier_field"],
            {str(k): str(v) for k, v in carriers.items()} if isinstance(carriers, Mapping)
            else {})

    def _int(self, key: str, low: int, high: int) -> int:
        value = as_str(self.settings.get(key))
        if not value.isdigit() or not low <= int(value) <= high:
            raise ConfigError(f"'{key}' must be a number from {low} to {high}", provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key} VALUE")
        return int(value)

    async def list_orders(self, session: AccountSession) -> list[Order]:
        spec = self.order_spec()  # before any request: fail fast when not configured
        size, days = self._int("page_size", 1, 100), self._int("lookback_days", 1, 3650)
        tokens = await self.fresh_tokens(session)
        end = int(time.time())
        window = {"create_time_start": end - days * 86400, "create_time_end": end, "size": size}
        orders: list[Order] = []
        for page in range(10_000):  # page numbers start at 0 (douyin.md)
            data = await self.call(spec.method, window | {"page": page}, tokens.access_token)
            found, rows = parse_orders(data, spec, session.account)
            orders.extend(found)
            if rows < size:  # the total field is UNKNOWN: a short page is the last one
                break
        return orders
