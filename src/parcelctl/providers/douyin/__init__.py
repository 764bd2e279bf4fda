"""Douyin shop (抖店, jinritemai open platform): the seller's orders and their waybills.

Vendor-confirmed (official Go SDK, mirror ``zsmhub/doudian-sdk``; errata D1-D4): the
request layout (system parameters in the query, ``param_json`` as the JSON body),
``token.create`` / ``token.refresh`` as the SDK sends them, the refresh token's 14-day
life, ``order.searchList`` and its response (status codes, ``logistics_info[]``, product
names, ``total``). Those are the defaults; every one can be overridden in config.

Still UNKNOWN, so configurable with no invented default: the authorize page (``auth_url``
template; self-use apps set ``shop_id`` instead) and the error code table
(``auth_error_codes``: only those codes mean "link again"; any other refusal keeps the
account, because ``reauth`` stops ``watch`` syncing it over a code nobody knows).

Douyin has no known trace API: waybills go to the tracking provider like every platform's.
Modules: protocol.py (request layout, signature, envelope, tokens), parse.py (payload ->
orders), tables.py (status and carrier tables with their sources).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from ...errors import ConfigError, ProviderError
from ...http import json_body
from ...models import CHINA_TZ, Order, Status, TokenSet, utcnow
from ..base import AccountSession, ConfigKey, PlatformProvider, as_str
from . import tables
from .parse import OrderSpec, default_spec, get_path, page_total, parse_orders, parse_time
from .protocol import (
    JSON_HEADERS,
    NAME,
    SUCCESS,
    TIME_FORMAT,
    method_path,
    param_json,
    parse_token,
    request_parts,
    sign,
    token_create_params,
    unwrap,
)

__all__ = ["NAME", "SUCCESS", "DouyinProvider", "OrderSpec", "default_spec", "get_path",
           "method_path",
           "page_total", "param_json", "parse_orders", "parse_time", "parse_token", "sign",
           "unwrap"]

OVERLAP = 600  # seconds an incremental window reaches back before the last sync


class DouyinProvider(PlatformProvider):
    """Douyin shop (seller side) orders; traces come from the tracking provider."""

    name: ClassVar[str] = NAME
    display_name: ClassVar[str] = "Douyin shop (抖店)"
    description: ClassVar[str] = (
        "Douyin shop orders (seller side) via the jinritemai open platform: paid, shipped "
        "and completed orders with their waybills.")
    notes: ClassVar[str] = (
        "Seller-side platform. From the official SDK: request layout, tokens (refresh token "
        "good for 14 days: link again before it runs out), order.searchList fields and "
        "status codes; all overridable (order_method, status_map, carrier_map, ...). "
        "UNKNOWN: the authorize page (auth_url template, or shop_id for self-use apps) and "
        "the error code table (auth_error_codes). No Douyin trace API is known: waybills "
        "are tracked by the tracking provider.")
    scopes: ClassVar[dict[str, str]] = {
        "orders": "your shop's orders: id, status, time, item title, waybill numbers"}
    concurrency: ClassVar[int] = 2  # limits UNKNOWN
    capabilities: ClassVar[tuple[str, ...]] = ("orders", "oauth")
    config_keys: ClassVar[tuple[ConfigKey, ...]] = (
        ConfigKey("app_key", "app key", required=True),
        ConfigKey("app_secret", "app secret", secret=True, required=True),
        ConfigKey("sign_method", "hmac-sha256 (the official SDK's) or md5", "hmac-sha256",
                  choices=("hmac-sha256", "md5")),
        ConfigKey("base_url", "API gateway", "https://openapi-fxg.jinritemai.com"),
        ConfigKey("auth_url", "authorize URL template with {app_key} {redirect_uri} {state} "
                  "[UNKNOWN]"),
        ConfigKey("redirect_uri", "OAuth callback", "http://127.0.0.1:8976/callback"),
        ConfigKey("shop_id", "self-use apps: shop id for grant_type=authorization_self"),
        ConfigKey("timestamp_format", "seconds (epoch, the official SDK's) or datetime "
                  "(yyyy-MM-dd HH:mm:ss)", "seconds", choices=("seconds", "datetime")),
        ConfigKey("auth_error_codes", "envelope codes meaning 're-link' [UNKNOWN]", []),
        ConfigKey("refresh_token_days", "refresh token life in days (SDK: 14)",
                  tables.REFRESH_TOKEN_DAYS),
        ConfigKey("order_method", "order list method", tables.ORDER_METHOD),
        ConfigKey("orders_path", "path of the order list inside data", tables.ORDERS_PATH),
        ConfigKey("order_id_field", "path of the order id", tables.ORDER_ID_FIELD),
        ConfigKey("order_status_field", "path of the status code", tables.ORDER_STATUS_FIELD),
        ConfigKey("status_map", "status code -> parcelctl status, over the built-in table",
                  {}),
        ConfigKey("skip_statuses", "status codes not imported (1 = awaiting payment)",
                  list(tables.SKIPPED_STATUSES)),
        ConfigKey("created_field", "path of the creation time", tables.CREATED_FIELD),
        ConfigKey("title_field", "path of the product names", tables.TITLE_FIELD),
        ConfigKey("waybills_path", "path of the package list", tables.WAYBILLS_PATH),
        ConfigKey("waybill_number_field", "path of a package's waybill number",
                  tables.WAYBILL_NUMBER_FIELD),
        ConfigKey("waybill_carrier_field", "path of a package's carrier code",
                  tables.WAYBILL_CARRIER_FIELD),
        ConfigKey("carrier_map", "Douyin carrier code -> carrier code, over the built-in "
                  "table", {}),
        ConfigKey("page_size", "orders per page (max 100)", 100, minimum=1, maximum=100),
        ConfigKey("max_pages", "stop with an error past this many pages in one sync", 500,
                  minimum=1, maximum=100_000),
        ConfigKey("lookback_days", "orders created in the last N days", 90, minimum=1,
                  maximum=3650),
    )

    # -- calls ----------------------------------------------------------------------------
    async def call(self, method: str, params: Mapping[str, Any], access_token: str = "",
                   *, what: str = "the request") -> dict[str, Any]:
        """One signed call (D1 layout); returns ``data`` of the envelope.

        Defaults as ``core/doudian_op_api_client.go`` sends: epoch seconds, hmac-sha256.
        """
        now = datetime.now(CHINA_TZ)
        stamp = (now.strftime(TIME_FORMAT) if self.settings.get("timestamp_format") == "datetime"
                 else str(int(now.timestamp())))
        path, query, body = request_parts(
            method, params, app_key=self.require("app_key"),
            app_secret=self.require("app_secret"), timestamp=stamp,
            sign_method=self.require("sign_method"), access_token=access_token)
        response = await self.http.request("POST", self.url() + path, params=query,
                                           content=body, headers=JSON_HEADERS)
        return unwrap(json_body(response, NAME), self._codes("auth_error_codes"), what)

    def _codes(self, key: str) -> frozenset[str]:
        codes = self.settings.get(key)
        if codes is None:
            return frozenset()
        if isinstance(codes, (str, int)):
            codes = str(codes).split(",")
        return frozenset(as_str(c) for c in codes if as_str(c))

    def _int(self, key: str, low: int, high: int) -> int:
        value = as_str(self.settings.get(key))
        if not value.isdigit() or not low <= int(value) <= high:
            raise ConfigError(f"'{key}' must be a number from {low} to {high}", provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.{key} VALUE")
        return int(value)

    def _table(self, key: str) -> dict[str, str]:
        table = self.settings.get(key) or {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{key} must be a table of code = value", provider=NAME,
                              hint=f"e.g. parcelctl config set providers.{NAME}.{key} "
                              "'{\"5\" = \"delivered\"}'")
        return {as_str(k): as_str(v) for k, v in table.items()}

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

    def _parse_token(self, data: Mapping[str, Any], previous: TokenSet | None = None
                     ) -> TokenSet:
        return parse_token(data, utcnow(), previous,
                           self._int("refresh_token_days", 1, 3650))

    async def exchange_code(self, code: str) -> TokenSet:
        data = await self.call("token.create", token_create_params(code=code))
        return self._parse_token(data)

    async def authorize_without_browser(self) -> TokenSet | None:
        """With ``shop_id`` configured, ``parcelctl link douyin`` needs no browser."""
        if not self.settings.get("shop_id"):
            return None
        return await self.self_authorize()

    async def self_authorize(self) -> TokenSet:
        """Self-use apps: a token for ``shop_id`` without a browser (D3: integer shop_id)."""
        shop = as_str(self.require("shop_id"))
        if not shop.isdigit():
            raise ConfigError("'shop_id' must be the shop's numeric id", provider=NAME,
                              hint=f"run: parcelctl config set providers.{NAME}.shop_id ID")
        data = await self.call("token.create", token_create_params(shop_id=int(shop)))
        return self._parse_token(data)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        # D4: a refresh token lives 14 days; past that, only a new link helps, whatever
        # code the platform would answer (its code table is UNKNOWN).
        if tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= utcnow():
            raise self.reauthorize("the Douyin authorization ran out on "
                                   f"{tokens.refresh_expires_at.astimezone(CHINA_TZ):%Y-%m-%d}"
                                   " (refresh tokens live 14 days)")
        # Any other refusal is a ProviderError naming its code (unwrap), and the account is
        # kept: only ``auth_error_codes`` mean "link again".
        data = await self.call("token.refresh", {"grant_type": "refresh_token",
                                                 "refresh_token": tokens.refresh_token},
                               what="the token refresh")
        return self._parse_token(data, previous=tokens)

    # -- orders ---------------------------------------------------------------------------
    def order_spec(self) -> OrderSpec:
        """The D2 defaults with the configured overrides."""
        try:
            statuses = tables.ORDER_STATUS | {
                k: Status(v) for k, v in self._table("status_map").items()}
        except ValueError as exc:
            raise ConfigError(f"status_map: {exc}", provider=NAME,
                              hint="statuses: " + ", ".join(s.value for s in Status)) from None
        get = self.require
        return OrderSpec(
            get("order_method"), get("orders_path"), get("order_id_field"),
            get("order_status_field"), statuses, get("created_field"), get("title_field"),
            get("waybills_path"), get("waybill_number_field"), get("waybill_carrier_field"),
            tables.CARRIERS | self._table("carrier_map"), self._codes("skip_statuses"),
            tables.UPDATED_FIELD)

    async def list_orders(self, session: AccountSession) -> list[Order]:
        return [order async for page in self.iter_orders(session) for order in page]

    async def iter_orders(self, session: AccountSession) -> AsyncIterator[list[Order]]:
        """Pages of ``order.searchList`` (from page 0), until ``data.total`` rows are seen.

        First sync: orders created in the last ``lookback_days``. Later: orders updated
        since the last sync (``update_time_start``, SDK request struct), a little overlap.
        """
        spec = self.order_spec()  # before any request: a bad setting fails fast
        size, days = self._int("page_size", 1, 100), self._int("lookback_days", 1, 3650)
        bound = self._int("max_pages", 1, 100_000)
        tokens = await self.fresh_tokens(session)
        end = int(time.time())
        oldest = end - days * 86400
        if session.since is None:
            window: dict[str, Any] = {"create_time_start": oldest, "create_time_end": end}
        else:
            start = max(oldest, int(session.since.timestamp()) - OVERLAP)
            window = {"update_time_start": start, "update_time_end": end,
                      "order_by": "update_time"}
        seen = 0
        for page in range(bound):
            data = await self.call(spec.method, window | {"page": page, "size": size},
                                   tokens.access_token, what="the order list")
            orders, rows = parse_orders(data, spec, session.account)
            total = page_total(data)
            yield orders
            seen += rows
            # ``total`` ends it; a short page too, should an answer lack it or shrink.
            if rows < size or (total is not None and seen >= total):
                return
        raise ProviderError(
            f"the order list did not end within {bound} pages of {size}", provider=NAME,
            hint=f"raise providers.{NAME}.max_pages or lower providers.{NAME}.lookback_days")
