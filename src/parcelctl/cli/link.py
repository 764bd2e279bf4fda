"""parcelctl link / unlink."""

from __future__ import annotations

import typer


def link(
    provider: str = typer.Argument(..., help="Platform: kuaishou, taobao, douyin."),
    account: str = typer.Option("default", "--account", help="Name for this account "
                                "(several per platform are fine)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the URL instead of "
                                    "opening a browser."),
    paste: bool = typer.Option(False, "--paste", help="Paste the redirect URL from the "
                               "browser (machines without a local browser)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Skip the consent question."),
    timeout: float = typer.Option(300.0, "--timeout", min=5.0, max=3600.0,
                                  help="Seconds to wait for the browser."),
) -> None:
    """Authorize a platform account once; its orders then import themselves on sync."""
    from ..errors import UsageError
    from ..link import check_account_name, link_account
    from ..providers import registry
    from .output import info

    check_account_name(account)
    cls = registry.load(provider)
    if cls.kind != "platform":
        raise UsageError(f"'{provider}' is a tracking provider; nothing to link",
                         hint="configure it with 'parcelctl config set "
                         f"providers.{provider}.…'")
    platform_cls = cls
    if not yes:
        info(f"parcelctl will ask {cls.display_name} for read access to:", style="bold")
        for scope, words in getattr(platform_cls, "scopes", {}).items():
            info(f"  • {words}  ({scope})")
        notes = getattr(platform_cls, "notes", "")
        if notes:
            info(notes, style="yellow")
        info("Tokens are kept in your system keyring (or a 0600 file), never in config.toml.")
        if not _consent():
            raise UsageError("cancelled: nothing was linked")
    link_account(provider, account=account, open_browser=not no_browser, paste=paste,
                 timeout=timeout)
    info(f"linked {provider}:{account} — run 'parcelctl sync' to import its orders",
         style="green")


def unlink(
    ref: str = typer.Argument(..., metavar="PROVIDER[:ACCOUNT]", help="e.g. kuaishou or "
                              "kuaishou:shop2."),
    purge: bool = typer.Option(False, "--purge", help="Also delete parcels that came only "
                               "from this account (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --purge: remove without "
                             "asking (needed when input is not a terminal)."),
) -> None:
    """Forget an account's tokens and link (its parcels stay unless --purge)."""
    from ..link import unlink_account
    from .confirm import confirm_removal, plural
    from .output import info

    def ask(count: int) -> None:
        confirm_removal(f"Unlink {ref} and remove {plural(count, 'parcel')} that came only "
                        "from it?", yes=yes)

    removed = unlink_account(ref, purge=purge, confirm=ask)
    if purge:
        info(f"unlinked {ref}, {plural(removed, 'parcel')} removed")
    else:
        info(f"unlinked {ref}; its parcels stay (--purge removes them)")


def _consent() -> bool:
    """The consent answer. Without a terminal and with nothing piped in, the question
    reads end-of-file: that is no consent, and not the Ctrl-C (exit 130) click makes it."""
    import sys

    from ..errors import UsageError

    try:
        return typer.confirm("Continue?", default=True)
    except typer.Abort:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError("no answer to the consent question (input is not a terminal)",
                             hint="read what will be shared above, then run the same "
                                  "command with --yes") from None
        raise
