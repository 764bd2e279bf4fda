"""The Douyin sandbox answers as the vendor does: requests are built here the way the
official Go SDK builds them (mirror ``zsmhub/doudian-sdk``), never with provider code.

SDK construction copied in spirit (not code) from ``core/doudian_op_api_client.go`` and
``core/http/doudian_op_http_client.go``: system parameters ``app_key, method, timestamp
(epoch seconds), sign, v=2, sign_method=hmac-sha256[, access_token]`` url-encoded in the
query string; the POST body is ``param_json`` itself, keys sorted (Go map order), no HTML
escaping; header ``Content-Type`` literally ``"Content-Type: application/json"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from parcelctl.sandbox.douyin import APP_KEY, APP_SECRET, SHOP_ID


def sdk_sign(method: str, body: str, stamp: str) -> str:
    """utils/sign_util.go ``Sign``: HMAC-SHA256 over secret + pattern + secret."""
    pattern = f"app_key{APP_KEY}method{method}param_json{body}timestamp{stamp}v2"
    return hmac.new(APP_SECRET.encode(), (APP_SECRET + pattern + APP_SECRET).encode(),
                    hashlib.sha256).hexdigest()


def sdk_body(param: dict[str, Any]) -> str:
    """utils/sign_util.go ``Marshal``: Go map encoding = sorted keys, compact, no HTML
    escaping, non-ASCII kept."""
    return json.dumps(param, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sdk_call(sb: Any, method: str, param: dict[str, Any], token: str = "",
             *, form: bool = False) -> dict[str, Any]:
    body = sdk_body(param)
    stamp = str(int(time.time()))
    query = {"app_key": APP_KEY, "method": method, "timestamp": stamp,
             "sign": sdk_sign(method, body, stamp), "v": "2", "sign_method": "hmac-sha256"}
    if token:
        query["access_token"] = token
    url = f"{sb.base_url}/douyin/{method.replace('.', '/')}"
    headers = {"from": "sdk", "sdk-type": "golang", "x-open-no-old-err-code": "1"}
    if form:  # the form parcelctl used to send: documented nowhere (errata D1)
        answer = httpx.post(url, params=query, data={"param_json": body}, headers=headers)
    else:
        answer = httpx.post(url, params=query, content=body.encode(), headers=headers | {
            "Content-Type": "Content-Type: application/json"})
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def self_token(sb: Any) -> dict[str, Any]:
    """core/access_token_builder.go ``BuildAccessToken`` without a code: grant
    authorization_self, ``code`` "", integer ``shop_id`` (and null auth_id /
    auth_subject_type: CreateTokenParam has no omitempty)."""
    answer = sdk_call(sb, "token.create", {"code": "", "grant_type": "authorization_self",
                                           "shop_id": int(SHOP_ID), "auth_id": None,
                                           "auth_subject_type": None})
    assert answer["code"] == 10000, answer
    return answer["data"]  # type: ignore[no-any-return]


def test_sdk_shaped_token_create_is_accepted(sandbox: Any) -> None:
    """Source: zsmhub/doudian-sdk core/create_token_request.go (D3) and
    api/token_create/response/token_create_response.go (field names, integer shop_id)."""
    data = self_token(sandbox)
    assert data["access_token"] and data["refresh_token"]
    assert data["shop_id"] == int(SHOP_ID) and data["shop_name"]
    assert data["expires_in"] == 7 * 86400  # core comment: 默认有效期：7天


def test_form_field_param_json_is_refused(sandbox: Any) -> None:
    """Errata D1 (zsmhub/doudian-sdk core/http/doudian_op_http_client.go; official
    API调用指南: param_json in the POST body as application/json): a form field
    ``param_json`` — what parcelctl used to send — is refused with the gateway envelope."""
    answer = sdk_call(sandbox, "token.create", {"code": "", "grant_type":
                                                "authorization_self",
                                                "shop_id": int(SHOP_ID)}, form=True)
    assert answer["code"] != 10000 and set(answer) >= {"msg", "sub_code", "sub_msg", "log_id"}
    assert "application/json" in answer["sub_msg"]


def test_system_parameters_only_count_in_the_query(sandbox: Any) -> None:
    """Errata D1: the gateway reads app_key/method/timestamp/sign/v from the query string."""
    body = sdk_body({"code": "", "grant_type": "authorization_self", "shop_id": 1})
    answer = httpx.post(f"{sandbox.base_url}/douyin/token/create?app_key={APP_KEY}",
                        content=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.json()["code"] != 10000 and answer.json()["sub_msg"] == "method"


@pytest.mark.parametrize("param", [
    {"grant_type": "authorization_self", "shop_id": SHOP_ID},  # generated request form
    {"grant_type": "authorization_self", "shop_id": int(SHOP_ID)},  # no "code"
    {"code": "", "grant_type": "authorization_self", "shop_id": SHOP_ID}],  # string shop_id
    ids=["generated", "code-missing", "shop-id-string"])
def test_token_create_in_the_generated_request_form_is_accepted(
        sandbox: Any, param: dict[str, Any]) -> None:
    """zsmhub/doudian-sdk api/token_create/request/token_create_request.go: ``Code string
    json:"code,omitempty"`` (left out when "") and ``ShopId string json:"shop_id,
    omitempty"`` (a numeric string). The SDK sends this form, so the gateway takes it."""
    answer = sdk_call(sandbox, "token.create", param)
    assert answer["code"] == 10000, answer
    assert answer["data"]["shop_id"] == int(SHOP_ID)


@pytest.mark.parametrize("param", [
    {"code": "", "grant_type": "authorization_self", "shop_id": "my-shop"},
    {"code": "", "grant_type": "authorization_self", "shop_id": 8888.5},
    {"code": 0, "grant_type": "authorization_self", "shop_id": int(SHOP_ID)},
    {"grant_type": "authorization_code"}],
    ids=["shop-id-name", "shop-id-float", "code-not-string", "code-grant-without-code"])
def test_token_create_in_no_sdk_form_is_refused(sandbox: Any, param: dict[str, Any]) -> None:
    """Neither SDK form (core/create_token_request.go: ``ShopId *int64``; the generated
    token_create_request.go: ``ShopId string``, ``Code string``; a tool app's grant needs
    its code, "工具型应用: 传code值")."""
    answer = sdk_call(sandbox, "token.create", param)
    assert answer["code"] != 10000


def test_refresh_follows_the_documented_rotation(sandbox: Any) -> None:
    """Errata D4 (zsmhub/doudian-sdk api/token_create/response/token_create_response.go
    comment): more than an hour before expiry the same pair comes back; within the last
    hour a new pair and the old one lives one more hour; after expiry the old pair dies."""
    first = self_token(sandbox)

    def refresh(token: str) -> dict[str, Any]:
        return sdk_call(sandbox, "token.refresh", {"grant_type": "refresh_token",
                                                   "refresh_token": token})

    same = refresh(first["refresh_token"])["data"]
    assert (same["access_token"], same["refresh_token"]) == (first["access_token"],
                                                              first["refresh_token"])
    httpx.post(f"{sandbox.base_url}/_sandbox/clock", json={"advance": 7 * 86400 - 1800})
    new = refresh(first["refresh_token"])["data"]
    assert new["access_token"] != first["access_token"]
    assert sdk_call(sandbox, "order.searchList", {"page": 0, "size": 1},
                    first["access_token"])["code"] == 10000  # the old one: one more hour
    httpx.post(f"{sandbox.base_url}/_sandbox/clock", json={"advance": 7 * 86400 + 60})
    late = refresh(new["refresh_token"])["data"]  # after expiry: a new pair ...
    assert late["access_token"] != new["access_token"]
    assert refresh(new["refresh_token"])["code"] != 10000  # ... and the old one is dead
    httpx.post(f"{sandbox.base_url}/_sandbox/clock", json={"advance": 14 * 86400 + 60})
    assert refresh(late["refresh_token"])["code"] != 10000  # 14 days (D4)


def test_order_search_list_answers_as_the_sdk_response_struct(sandbox: Any) -> None:
    """Errata D2 (zsmhub/doudian-sdk api/order_searchList/response/
    order_searchList_response.go; request fields from …/request/order_searchList_request.go):
    page/size/total paging from page 0, every status code of the comment, logistics_info
    and sku_order_list product names."""
    token = self_token(sandbox)["access_token"]
    now = int(time.time())
    window = {"create_time_start": now - 90 * 86400, "create_time_end": now, "size": 5}
    first = sdk_call(sandbox, "order.searchList", window | {"page": 0}, token)
    assert first["code"] == 10000, first
    data = first["data"]
    assert set(data) == {"page", "size", "total", "shop_order_list"}
    rows = list(data["shop_order_list"])
    for page in range(1, (data["total"] + 4) // 5):
        rows += sdk_call(sandbox, "order.searchList", window | {"page": page},
                         token)["data"]["shop_order_list"]
    assert len(rows) == data["total"] == len({r["order_id"] for r in rows})
    assert {r["order_status"] for r in rows} == {1, 105, 2, 101, 3, 4, 5}
    for row in rows:
        assert isinstance(row["order_id"], str) and isinstance(row["create_time"], int)
        assert row["sku_order_list"][0]["product_name"]
        for package in row["logistics_info"]:
            assert {"tracking_no", "company", "company_name"} <= set(package)
        assert bool(row["logistics_info"]) == (row["order_status"] in (101, 3, 5))
    created = [r["create_time"] for r in rows]
    assert created == sorted(created, reverse=True)  # default: create_time, newest first


def test_order_search_list_by_update_time(sandbox: Any) -> None:
    """update_time_start/update_time_end and order_by from
    zsmhub/doudian-sdk api/order_searchList/request/order_searchList_request.go."""
    token = self_token(sandbox)["access_token"]
    every = sdk_call(sandbox, "order.searchList", {"size": 100}, token)["data"]
    since = sorted(r["update_time"] for r in every["shop_order_list"])[every["total"] // 2]
    recent = sdk_call(sandbox, "order.searchList", {"size": 100, "update_time_start": since,
                                                    "order_by": "update_time"}, token)["data"]
    assert recent["total"] == sum(r["update_time"] >= since for r in every["shop_order_list"])
    assert 0 < recent["total"] < every["total"]
    refused = sdk_call(sandbox, "order.searchList", {"size": 101}, token)
    assert refused["code"] != 10000  # "单页大小，限制100以内"
