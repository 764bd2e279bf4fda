"""Linking and unlinking platform accounts (the service behind ``parcelctl link``)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable

from .config import Config
from .errors import UsageError
from .services import as_platform, delete_tokens, make_provider, save_tokens
from .store import Store, iso, now_iso

_ACCOUNT = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def check_account_name(account: str) -> str:
    if not _ACCOUNT.match(account):
        raise UsageError(f"'{account[:40]}' is not a valid account name",
                         hint="use letters, digits, '.', '_', '-' or '@' (max 64)")
    return account


def link_account(provider_name: str, *, account: str = "default", open_browser: bool = True,
                 paste: bool = False, timeout: float = 300.0,
                 read_line: Callable[[], str] | None = None,
                 show: Callable[[str], None] | None = None,
                 visit: Callable[[str], str] | None = None, config: Config | None = None
                 ) -> None:
    """Authorize, exchange the code, and store tokens (secret store) + the account (SQLite).

    ``visit`` stands in for a browser (demo and tests): it gets the authorize URL and returns
    the redirect URL the platform sent it to.
    """
    from . import oauth

    check_account_name(account)
    config = config or Config()
    provider, http = make_provider(config, provider_name)
    platform = as_platform(provider)

    def _read() -> str:
        return sys.stdin.readline()

    def _show(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    async def flow() -> None:
        try:
            tokens = await platform.authorize_without_browser()
            if tokens is None:
                state = oauth.new_state()
                url = platform.authorize_url(state)
                if visit is not None:
                    code = oauth.parse_redirect(visit(url), state)
                else:
                    code = await asyncio.to_thread(
                        oauth.obtain_code, url, platform.redirect_uri, state,
                        open_browser=open_browser, paste=paste, timeout=timeout,
                        read_line=read_line or _read, show=show or _show)
                tokens = await platform.exchange_code(code)
        finally:
            await http.aclose()
        save_tokens(config, provider_name, account, tokens)
        config.paths.ensure()
        with Store(config.paths.db_file) as store, store.transaction():
            store.upsert_account(
                provider_name, account, linked_at=now_iso(), health="ok", last_error=None,
                access_expires_at=iso(tokens.access_expires_at)
                if tokens.access_expires_at else None,
                refresh_expires_at=iso(tokens.refresh_expires_at)
                if tokens.refresh_expires_at else None)

    asyncio.run(flow())


def parse_account_ref(ref: str) -> tuple[str, str]:
    provider, _, account = ref.partition(":")
    return provider, check_account_name(account or "default")


def unlink_account(ref: str, *, purge: bool, config: Config | None = None) -> int:
    from .providers import registry

    provider, account = parse_account_ref(ref)
    registry.load(provider)
    config = config or Config()
    if not config.paths.db_file.exists():
        raise UsageError(f"{provider}:{account} is not linked")
    with Store(config.paths.db_file) as store:
        if store.account(provider, account) is None:
            raise UsageError(f"{provider}:{account} is not linked",
                             hint="see 'parcelctl accounts'")
        with store.transaction():
            removed = store.unlink_account(provider, account, purge=purge)
    delete_tokens(config, provider, account)
    return removed
