"""A revoked link, a throttled app and a used-up quota, as a user and cron see them (the real
CLI against the sandbox; issue 15 items 4 and 5)."""

from __future__ import annotations

from typing import Any

from .clihelp import as_json, cli, control
from .test_link_e2e import _link_by_paste, shop  # noqa: F401 - the fixture is used by name


def test_revoked_link_exit_4_accounts_reauth_and_watch_says_link_again(shop: Any) -> None:  # noqa: F811
    """FAQ K0006 (``AndersonBY/kwaixiaodian-python-sdk`` ``docs/开发者支持文档/开放平台/应用授权/
    K0006 - 错误信息：AUTHORIZATION_REVOKED.md``): result 24 is "link again", everywhere."""
    assert _link_by_paste(shop).returncode == 0
    control(shop, "service/kuaishou", {"revoke": True})
    result = cli("sync")
    assert result.returncode == 4, result.stderr
    assert "AUTHORIZATION_REVOKED" in result.stderr
    assert "run: parcelctl link kuaishou" in result.stderr
    assert as_json(cli("accounts", "--json"))[0]["health"] == "reauth"
    watched = cli("watch", "--once")
    assert watched.returncode == 4, watched.stderr
    assert "parcelctl link kuaishou" in watched.stderr


def test_throttled_sync_retries_then_succeeds(shop: Any) -> None:  # noqa: F811
    """FAQ K1008 (``…/API调用/K1008 - API调用触发限流告警.md``): "Exceed qps limit" is an
    envelope; the sync waits, asks again and imports everything."""
    assert _link_by_paste(shop).returncode == 0
    control(shop, "faults", {"service": "kuaishou", "endpoint": "order_list", "kind": "429",
                             "count": 3})
    result = cli("sync", "--json")
    assert result.returncode == 0, result.stderr
    seen = {s["order_id"] for p in as_json(cli("list", "--all", "--json"))
            for s in p["sources"] if s["provider"] == "kuaishou"}
    assert seen == {str(o.oid) for o in shop.sandbox.dataset.orders}


def test_used_up_quota_is_one_line_exit_3_and_the_rest_is_saved(shop: Any) -> None:  # noqa: F811
    """FAQ K1008: "[1017] exceed quota limit" — nothing more today. One clear line, exit 3,
    and the parcels of the tracking provider are still refreshed and saved."""
    assert _link_by_paste(shop).returncode == 0
    assert cli("add", "3950055201640", "--carrier", "yunda", "--no-track").returncode == 0
    control(shop, "service/kuaishou", {"daily_quota": 0})
    result = cli("sync")
    assert result.returncode == 3, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if "daily API quota" in line]
    assert len(lines) == 1 and "next sync after" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert as_json(cli("show", "3950055201640", "--json"))["status"] == "exception"
    assert as_json(cli("accounts", "--json"))[0]["health"] == "error"
