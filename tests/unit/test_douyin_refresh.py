"""A refused Douyin token refresh through the real CLI: which refusals mark the account
``reauth`` (``watch`` then stops syncing it) and which keep it.

The error code table is UNKNOWN (douyin.md): only ``auth_error_codes`` may mean "link again".
"""

from __future__ import annotations

from typing import Any

from tests.integration.clihelp import as_json, cli, configure, control


def health() -> tuple[str, str]:
    [account] = as_json(cli("accounts", "--json"))
    return account["health"], str(account.get("last_error") or "")


def test_sync_keeps_an_account_whose_refresh_fails_with_an_unknown_code(sandbox: Any) -> None:
    from parcelctl.sandbox.douyin import SHOP_ID

    configure(sandbox, "douyin")
    assert cli("config", "set", "providers.douyin.shop_id", SHOP_ID).returncode == 0
    # Short sandbox lifetimes: every sync refreshes, and the refresh token is dead by then.
    control(sandbox, "service/douyin", {"access_ttl": 60, "refresh_ttl": 1})
    assert cli("link", "douyin", "--yes", "--no-browser", "--timeout", "5").returncode == 0
    control(sandbox, "clock", {"advance": 120})

    result = cli("sync")
    assert result.returncode != 0
    state, error = health()
    assert state == "error", (state, error)  # not reauth: watch keeps syncing it
    assert "40010" in error and "auth_error_codes" in error
    assert "40010" in result.stderr and "Traceback" not in result.stderr

    # The user says what 40010 means: now it is "link again".
    assert cli("config", "set", "providers.douyin.auth_error_codes", "[40010]").returncode == 0
    assert cli("sync").returncode != 0
    assert health()[0] == "reauth"
