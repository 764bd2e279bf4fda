"""`link douyin` + `sync` through the real CLI against the sandbox, with nothing configured
but what `parcelctl sandbox serve --json` prints for Douyin (app credentials, gateway and
the sandbox's authorize-page template) and a tracking provider.

The sandbox answers as the official Go SDK (mirror ``zsmhub/doudian-sdk``) says the
gateway does (errata D1-D4); the order defaults come from
``api/order_searchList/response/order_searchList_response.go`` (D2).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .clihelp import as_json, cli, configure, stats

SHIPPED = {3: "shipped", 101: "partly shipped", 5: "completed"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def shop(sandbox: Any) -> Any:
    configure(sandbox, "douyin", "kuaidi100")
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    assert cli("config", "set", "providers.douyin.redirect_uri", redirect).returncode == 0
    return sandbox


def link_by_browser() -> subprocess.CompletedProcess[str]:
    """`link douyin --no-browser --yes`, then visit the printed URL as a browser would."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "parcelctl", "link", "douyin", "--no-browser", "--yes",
         "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    url = ""
    deadline = time.monotonic() + 30
    while not url and time.monotonic() < deadline:
        match = re.search(r"https?://\S+/douyin/authorize\S*", proc.stdout.readline())
        url = match.group(0) if match else ""
    assert url, "no authorize URL printed"
    assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sandbox_serve_json_lists_only_app_credentials(sandbox: Any) -> None:
    """What a user copies from `sandbox serve --json` is enough: no order field keys."""
    assert set(sandbox.sandbox.credentials()["douyin"]) == {
        "app_key", "app_secret", "sign_method", "base_url", "auth_url"}


def test_sandbox_credentials_name_the_sdks_signature_method(sandbox: Any) -> None:
    """zsmhub/doudian-sdk core/doudian_op_api_client.go sends sign_method hmac-sha256 (and
    utils/sign_util.go Sign only computes HMAC): the sandbox hands out that method."""
    assert sandbox.sandbox.credentials()["douyin"]["sign_method"] == "hmac-sha256"


def test_link_and_sync_import_orders_and_track_their_waybills(
        shop: Any, parcelctl_home: Path) -> None:
    """D1 (body layout), D3 (token.create), D2 (order.searchList defaults), D4 (14-day
    refresh token stored): zsmhub/doudian-sdk core/ and api/ files named in errata.md."""
    result = link_by_browser()
    assert result.returncode == 0, result.stderr
    [account] = as_json(cli("accounts", "--json"))
    assert (account["provider"], account["health"], account["warning"]) == ("douyin", "ok",
                                                                             None)
    refresh_end = datetime.fromisoformat(account["refresh_expires_at"])
    assert abs(refresh_end - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)

    sync = cli("sync", "--json")
    assert sync.returncode == 0, sync.stderr
    # Every call carried the SDK's x-open-no-old-err-code: 1 (core/doudian_op_api_client.go).
    assert shop.sandbox.services["douyin"].old_err_code_calls == 0
    parcels = as_json(cli("list", "--all", "--json"))
    douyin = [p for p in parcels
              if any(s["provider"] == "douyin" for s in p["sources"])]
    rows = _sandbox_rows(shop)
    paid = {r["order_id"] for r in rows if r["order_status"] != 1}
    seen = {s["order_id"] for p in douyin for s in p["sources"] if s["provider"] == "douyin"}
    assert seen == paid  # every paid order; awaiting payment (1) is not imported
    unshipped = {p["sources"][0]["order_id"]: p["status"] for p in douyin
                 if p["kind"] == "order"}
    assert set(unshipped.values()) == {"awaiting_shipment", "cancelled"}
    waybills = {n["tracking_no"] for r in rows if r["order_status"] in SHIPPED
                for n in r["logistics_info"]}
    shipped = [p for p in douyin if p["kind"] == "waybill"]
    assert {p["tracking_number"] for p in shipped} == waybills
    assert all(p["tracking_provider"] == "kuaidi100" for p in shipped)
    # Handed to the tracking provider like every platform's waybills: they move on.
    asked = {key.split(" ", 1)[1] for key in stats(shop)["numbers"]
             if key.startswith("kuaidi100 ")}
    moving = {n["tracking_no"] for r in rows if r["order_status"] in (3, 101)
              for n in r["logistics_info"]}
    assert moving and moving <= asked
    assert {p["status"] for p in shipped} - {"info_received"}
    titles = {p["title"] for p in douyin}
    assert any(" / " in t for t in titles)  # the product names of a two-product order

    again = cli("sync", "--json")  # a later sync asks by update time
    assert again.returncode == 0, again.stderr
    tokens = json.loads((parcelctl_home / "secrets.json").read_text())
    token = json.loads(tokens["tokens.douyin.default"])["access_token"]
    assert token not in sync.stdout + again.stdout
    assert token.encode() not in (parcelctl_home / "parcels.db").read_bytes()


def test_self_use_app_links_and_syncs_with_a_shop_id(shop: Any) -> None:
    """D3: token.create for a self-use app as the SDK sends it (code "", integer shop_id)."""
    from parcelctl.sandbox.douyin import SHOP_ID

    assert cli("config", "set", "providers.douyin.shop_id", SHOP_ID).returncode == 0
    assert cli("link", "douyin", "--yes", "--no-browser", "--timeout", "5").returncode == 0
    result = cli("sync", "--json")
    assert result.returncode == 0, result.stderr
    [unit] = [u for u in json.loads(result.stdout)["providers"] if u["kind"] == "account"]
    assert unit["ok"] and unit["items"] > 0


def test_link_again_is_said_before_the_refresh_token_runs_out(shop: Any) -> None:
    """D4: refresh tokens live 14 days (token_create_response.go). A shorter configured
    life puts the end inside the warning window: accounts and sync say "link again"."""
    assert cli("config", "set", "providers.douyin.refresh_token_days", "2").returncode == 0
    assert link_by_browser().returncode == 0
    [account] = as_json(cli("accounts", "--json"))
    assert "link again" in account["warning"] and "parcelctl link douyin" in account["warning"]
    shown = cli("accounts")
    assert "link again before then: parcelctl link douyin" in " ".join(shown.stderr.split())
    quiet = cli("sync", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "runs out in 1 day" in quiet.stdout or "runs out in 2 days" in quiet.stdout


def _sandbox_rows(running: Any) -> list[dict[str, Any]]:
    from parcelctl.sandbox.douyin_orders import search_list

    answer = search_list(running.sandbox.dataset, {"size": 100}, 1)
    return json.loads(answer.body)["data"]["shop_order_list"]  # type: ignore[no-any-return]
