"""Linking platform accounts through the real CLI against the sandbox (issue: link)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .clihelp import as_json, assert_one_line_error, cli, configure, control


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def shop(sandbox: Any) -> Any:
    configure(sandbox, "kuaishou", "kuaidi100")
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    assert cli("config", "set", "providers.kuaishou.redirect_uri", redirect).returncode == 0
    return sandbox


def _link_by_browser(account: str = "default") -> subprocess.CompletedProcess[str]:
    """`link --no-browser --yes`, then visit the printed URL the way a browser would."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "parcelctl", "link", "kuaishou", "--no-browser", "--yes",
         "--account", account, "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    url = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"https?://\S+/oauth/authorize\S*", line)
        if match:
            url = match.group(0)
            break
    assert url, "no authorize URL printed"
    page = httpx.get(url, follow_redirects=True, timeout=10)  # sandbox -> 127.0.0.1 listener
    assert page.status_code == 200
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _link_by_paste(running: Any, account: str = "default") -> subprocess.CompletedProcess[str]:
    """`--paste`: the user copies the redirect URL from the browser's address bar."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "parcelctl", "link", "kuaishou", "--paste", "--yes",
         "--account", account],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    url = ""
    while not url:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        match = re.search(r"https?://\S+/oauth/authorize\S*", line)
        url = match.group(0) if match else ""
    location = httpx.get(url, follow_redirects=False).headers["location"]
    out, err = proc.communicate(location + "\n", timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_link_sync_list_every_order(shop: Any, parcelctl_home: Path) -> None:
    result = _link_by_browser()
    assert result.returncode == 0, result.stderr
    accounts = as_json(cli("accounts", "--json"))
    assert [(a["provider"], a["account"], a["health"]) for a in accounts] == [
        ("kuaishou", "default", "ok")]
    sync = cli("sync", "--json")
    assert sync.returncode == 0, sync.stderr
    parcels = as_json(cli("list", "--all", "--json"))
    dataset = shop.sandbox.dataset.orders
    order_ids = {str(o.oid) for o in dataset}
    seen = {s["order_id"] for p in parcels for s in p["sources"] if s["provider"] == "kuaishou"}
    assert seen == order_ids  # every order of the last 90 days, exactly
    statuses = {p["status"] for p in parcels}
    assert {"awaiting_shipment", "cancelled"} <= statuses
    unshipped = [p for p in parcels if p["kind"] == "order"]
    assert unshipped and all(p["status"] in ("awaiting_shipment", "cancelled") for p in unshipped)
    shipped = [p for p in parcels if p["kind"] == "waybill"]
    assert shipped and all(p["tracking_provider"] == "kuaidi100" for p in shipped)
    # Waybills carry the tracking provider's status, not just "shipped".
    assert {p["status"] for p in shipped} - {"info_received"}
    for parcel in parcels:
        assert parcel["order"]["shop"] == "沙盒小店"
    # Tokens are in the secret store, never in config.toml or SQLite.
    tokens = json.loads((parcelctl_home / "secrets.json").read_text())
    token = json.loads(tokens["tokens.kuaishou.default"])["access_token"]
    assert token not in (parcelctl_home / "config.toml").read_text()
    assert token.encode() not in (parcelctl_home / "parcels.db").read_bytes()


def test_paste_flow_and_second_account(shop: Any) -> None:
    assert _link_by_paste(shop).returncode == 0
    control(shop, "service/kuaishou", {"open_id": "f19a7c0000othershop"})
    assert _link_by_paste(shop, "shop2").returncode == 0
    accounts = as_json(cli("accounts", "--json"))
    assert {a["account"] for a in accounts} == {"default", "shop2"}


def test_the_same_shop_under_a_second_name_is_refused(shop: Any) -> None:
    """Issue 16 item 17: two account names for one shop gave duplicate parcels."""
    assert _link_by_paste(shop).returncode == 0
    second = _link_by_paste(shop, "again")
    err = assert_one_line_error(second)
    assert "already linked as kuaishou:default" in err
    assert [a["account"] for a in as_json(cli("accounts", "--json"))] == ["default"]
    assert _link_by_paste(shop).returncode == 0  # renewing the same name is fine


def test_state_mismatch_refused(shop: Any, parcelctl_home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "parcelctl", "link", "kuaishou", "--paste", "--yes"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = ""
    while not url:
        match = re.search(r"https?://\S+/oauth/authorize\S*", proc.stdout.readline())
        url = match.group(0) if match else ""
    location = httpx.get(url, follow_redirects=False).headers["location"]
    forged = re.sub(r"state=[^&]+", "state=forged", location)
    out, err = proc.communicate(forged + "\n", timeout=30)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert_one_line_error(result)
    assert "state" in err
    assert as_json(cli("accounts", "--json")) == []


def test_access_denied_stores_nothing(shop: Any, parcelctl_home: Path) -> None:
    control(shop, "service/kuaishou", {"deny": True})
    result = _link_by_paste(shop)
    err = assert_one_line_error(result)
    assert "refused" in err and "parcelctl link" in err
    assert as_json(cli("accounts", "--json")) == []
    secrets = parcelctl_home / "secrets.json"
    assert "tokens." not in (secrets.read_text() if secrets.exists() else "")


def test_rotation_across_expiries_and_revocation_exit_4(shop: Any) -> None:
    assert _link_by_paste(shop).returncode == 0
    assert cli("sync").returncode == 0
    # Access tokens now expire at once: every sync must refresh, with the newest token.
    control(shop, "service/kuaishou", {"access_ttl": 1})
    for _ in range(2):
        control(shop, "clock", {"advance": 3 * 86400})
        result = cli("sync")
        assert result.returncode == 0, result.stderr
    assert as_json(cli("accounts", "--json"))[0]["health"] == "ok"
    # Revoked: exit 4 with the next step, while manual parcels still sync.
    assert cli("add", "3950055201640", "--carrier", "yunda", "--no-track").returncode == 0
    control(shop, "service/kuaishou", {"revoke": True})
    result = cli("sync")
    assert result.returncode == 4, result.stderr
    assert "parcelctl link kuaishou" in result.stderr
    assert "Traceback" not in result.stderr
    assert as_json(cli("show", "3950055201640", "--json"))["status"] == "exception"
    assert as_json(cli("accounts", "--json"))[0]["health"] == "reauth"
    table = cli("accounts", env={"COLUMNS": "200"})
    assert "reauth" in table.stdout and "run: parcelctl link kuaishou" in table.stdout


def test_same_waybill_from_order_and_add_is_one_parcel(shop: Any) -> None:
    shipped = next(o for o in shop.sandbox.dataset.orders if o.waybills)
    number = shipped.waybills[0][0]
    assert cli("add", number, "--no-track").returncode == 0
    assert _link_by_paste(shop).returncode == 0
    assert cli("sync").returncode == 0
    found = [p for p in as_json(cli("list", "--all", "--json"))
             if p["tracking_number"] == number]
    assert len(found) == 1
    providers = sorted(s["provider"] for s in found[0]["sources"])
    assert providers == ["kuaishou", "manual"]
    # Unlink keeps the parcel (it also came from `add`), drops the kuaishou source.
    assert cli("unlink", "kuaishou").returncode == 0
    after = as_json(cli("show", number, "--json"))
    assert [s["provider"] for s in after["sources"]] == ["manual"]


def test_unlink_purge(shop: Any) -> None:
    """Issue 16 item 9: `unlink` keeps every parcel (unshipped orders included) and archive
    state survives linking again; `--purge` asks first, and says how many it removed."""
    assert _link_by_paste(shop).returncode == 0
    assert cli("sync").returncode == 0
    before = as_json(cli("list", "--all", "--json"))
    assert any(p["kind"] == "order" for p in before)
    placeholder = next(p for p in before if p["kind"] == "order")["order"]["id"]
    assert cli("archive", placeholder).returncode == 0
    kept = cli("unlink", "kuaishou")
    assert kept.returncode == 0 and "parcels stay" in kept.stderr + kept.stdout
    remaining = as_json(cli("list", "--all", "--json"))
    assert sorted(map(str, ((p["kind"], p["tracking_number"]) for p in remaining))) == sorted(
        map(str, ((p["kind"], p["tracking_number"]) for p in before)))
    assert _link_by_paste(shop).returncode == 0
    assert cli("sync").returncode == 0
    again = as_json(cli("list", "--all", "--json"))
    # Still unshipped, and still archived as it was left.
    assert [p["archived"] for p in again
            if (p.get("order") or {}).get("id") == placeholder] == [True]
    # No terminal and no --yes: nothing is removed, one line says how to go ahead.
    err = assert_one_line_error(cli("unlink", "kuaishou:default", "--purge"))
    assert "--yes" in err
    assert as_json(cli("accounts", "--json"))
    purged = cli("unlink", "kuaishou:default", "--purge", "--yes")
    assert purged.returncode == 0
    count = len([p for p in again if {s["provider"] for s in p["sources"]} == {"kuaishou"}])
    assert f"{count} parcel" in purged.stderr + purged.stdout
    leftover = [p for p in as_json(cli("list", "--all", "--json"))
                if any(s["provider"] == "kuaishou" for s in p["sources"])]
    assert leftover == []
    assert_one_line_error(cli("unlink", "kuaishou"))


def test_link_bad_input(shop: Any) -> None:
    assert_one_line_error(cli("link", "nosuch", "--yes"))
    assert_one_line_error(cli("link", "kuaidi100", "--yes"))
    assert_one_line_error(cli("link", "kuaishou", "--yes", "--account", "bad name!"))


def test_link_without_a_terminal_asks_for_yes(shop: Any) -> None:
    """No terminal and nothing piped in: the consent question read end-of-file and exited
    130, "interrupted", with no word."""
    result = cli("link", "kuaishou", "--no-browser", input="")
    err = assert_one_line_error(result)
    assert "not a terminal" in err and "--yes" in err
    refused = cli("link", "kuaishou", "--no-browser", input="n\n")
    assert "cancelled" in assert_one_line_error(refused)
    assert as_json(cli("accounts", "--json")) == []


def test_douyin_self_use_app_links_without_browser(sandbox: Any) -> None:
    from parcelctl.sandbox.douyin import SHOP_ID

    configure(sandbox, "douyin")
    assert cli("config", "set", "providers.douyin.shop_id", str(SHOP_ID)).returncode == 0
    result = cli("link", "douyin", "--yes", "--no-browser", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert "authorize" not in result.stdout  # no URL: nothing for a browser to do
    accounts = as_json(cli("accounts", "--json"))
    assert [(a["provider"], a["health"]) for a in accounts] == [("douyin", "ok")]


def test_link_warns_about_plain_http_to_another_machine(parcelctl_home: Path) -> None:
    """Issue 16 item 21: the token exchange sends app_secret to base_url."""
    for key, value in [("app_key", "ks1"), ("app_secret", "S1"), ("sign_secret", "S2"),
                       ("base_url", "http://192.0.2.1")]:
        assert cli("config", "set", f"providers.kuaishou.{key}", value).returncode == 0
    result = cli("link", "kuaishou", "--paste", "--yes", input="\n", timeout=30)
    assert result.returncode == 1
    assert "warning: providers.kuaishou.base_url is plain http://" in result.stderr
    assert "S1" not in result.stdout + result.stderr
