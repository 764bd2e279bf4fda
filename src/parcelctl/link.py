"""Linking and unlinking platform accounts (the service behind ``parcelctl link``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .config import Config
from .errors import AuthorizationNeeded, UsageError
from .lock import SyncLock
from .services import as_platform, delete_tokens, make_provider, save_tokens
from .store import Store, iso, now_iso

if TYPE_CHECKING:
    from .models import TokenSet

T = TypeVar("T")

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
    for key in oauth.insecure_urls(provider.settings):
        sys.stderr.write(f"warning: providers.{provider_name}.{key} is plain http:// to "
                         "another machine: the app secret and tokens cross the network "
                         "unencrypted (use https://)\n")

    def _read() -> str:
        return sys.stdin.readline()

    def _show(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    async def flow() -> TokenSet:
        try:
            tokens = await platform.authorize_without_browser()
            if tokens is None:
                state = oauth.new_state()
                url = platform.authorize_url(state)
                if visit is not None:
                    code = oauth.parse_redirect(visit(url), state)
                else:
                    code = await _abandonable(lambda: oauth.obtain_code(
                        url, platform.redirect_uri, state, open_browser=open_browser,
                        paste=paste, timeout=timeout, read_line=read_line or _read,
                        show=show or _show))
                try:
                    tokens = await platform.exchange_code(code)
                except AuthorizationNeeded as exc:
                    # An expired or used code is this run's failure (exit 1), not a stored
                    # link gone bad (exit 4, "run: parcelctl link", which is running).
                    raise UsageError(f"the authorization was not accepted: {exc.message}",
                                     provider=provider_name,
                                     hint="start `parcelctl link` again and approve "
                                          "promptly: codes expire within minutes") from None
        finally:
            await http.aclose()
        return tokens

    tokens = asyncio.run(flow())
    # Saved under the sync lock: a sync that loaded the old tokens before this link would
    # otherwise refresh the old grant and save it over the new one when it ends (or mark
    # the fresh link "reauth"). A running sync is waited for; the OAuth dance above is not
    # held up by one.
    config.paths.ensure()
    with SyncLock(config.paths.lock_file):
        twin = _same_shop(config, provider_name, account, tokens.open_id)
        if twin is not None:
            # Two names for one shop imported every order twice, and `archive` of one copy
            # left the other.
            raise UsageError(f"this {provider_name} shop is already linked as "
                             f"{provider_name}:{twin}; nothing was linked",
                             hint=f"to renew that link run: parcelctl link {provider_name} "
                                  f"--account {twin}")
        save_tokens(config, provider_name, account, tokens)
        with Store(config.paths.db_file) as store, store.transaction():
            store.upsert_account(
                provider_name, account, linked_at=now_iso(), health="ok", last_error=None,
                access_expires_at=iso(tokens.access_expires_at)
                if tokens.access_expires_at else None,
                refresh_expires_at=iso(tokens.refresh_expires_at)
                if tokens.refresh_expires_at else None)


def _same_shop(config: Config, provider: str, account: str, open_id: str) -> str | None:
    """Another account name of ``provider`` already linked to the shop ``open_id``."""
    from .services import load_tokens

    if not open_id or not config.paths.db_file.exists():
        return None
    with Store(config.paths.db_file) as store:
        others = [str(row["account"]) for row in store.accounts()
                  if row["provider"] == provider and row["account"] != account]
    for other in others:
        stored = load_tokens(config, provider, other)
        if stored is not None and stored.open_id == open_id:
            return other
    return None


async def _abandonable(work: Callable[[], T]) -> T:
    """``work()`` in a daemon thread. ``asyncio.to_thread`` made Ctrl-C wait for the thread:
    a browser callback listener up to its timeout (300 s), a ``--paste`` prompt until a line
    came. A daemon thread is simply left behind when the wait is cancelled, and dies with
    the process."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        # Cancelled meanwhile (Ctrl-C): nobody waits for the outcome any more.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            try:
                done.set_result(work())
            except BaseException as exc:  # handed to the awaiting side
                done.set_exception(exc)

    threading.Thread(target=run, name="parcelctl-authorize", daemon=True).start()
    return await asyncio.wrap_future(done)


def parse_account_ref(ref: str) -> tuple[str, str]:
    provider, _, account = ref.partition(":")
    return provider, check_account_name(account or "default")


def unlink_account(ref: str, *, purge: bool, config: Config | None = None,
                   confirm: Callable[[int], None] | None = None) -> int:
    """Forget the account; with ``purge`` also its parcels. ``confirm(count)`` is called
    with the number of parcels a purge removes, before anything changes (it raises to stop).
    """
    from .providers import registry

    provider, account = parse_account_ref(ref)
    registry.load(provider)
    config = config or Config()
    if not config.paths.db_file.exists():
        raise UsageError(f"{provider}:{account} is not linked")
    if purge and confirm is not None:
        # Asked before the sync lock is taken: a question left open must not stall cron.
        with Store(config.paths.db_file) as store:
            if store.account(provider, account) is None:
                raise UsageError(f"{provider}:{account} is not linked",
                                 hint="see 'parcelctl accounts'")
            confirm(store.count_only_from(provider, account))
    # Under the sync lock: a sync running meanwhile put the account back when it committed
    # (and its parcels, after --purge). Tokens go first: if the secret store refuses (a
    # corrupt file, a locked keyring) nothing is changed and unlink can simply be run again;
    # the other way round, the link was gone and its refresh token stayed, out of reach.
    with SyncLock(config.paths.lock_file), Store(config.paths.db_file) as store:
        if store.account(provider, account) is None:
            raise UsageError(f"{provider}:{account} is not linked",
                             hint="see 'parcelctl accounts'")
        delete_tokens(config, provider, account)
        with store.transaction():
            return store.unlink_account(provider, account, purge=purge)
