"""parcelctl accounts — linked accounts, token expiry, last sync, health."""

from __future__ import annotations

import typer


def main(json_out: bool = typer.Option(False, "--json", help="JSON array.")) -> None:
    """Show linked accounts."""
    from ..relink import relink_warning
    from .common import load_config, open_store, store_exists
    from .output import accounts_table, console, info, print_json, warn

    config = load_config()
    rows = []
    if store_exists(config):
        with open_store(config, readonly=True) as store:
            rows = [dict(r) for r in store.accounts()]
    data = [{"provider": r["provider"], "account": r["account"], "linked_at": r["linked_at"],
             "access_expires_at": r["access_expires_at"],
             "refresh_expires_at": r["refresh_expires_at"], "last_sync_at": r["last_sync_at"],
             "health": r["health"], "last_error": r["last_error"],
             "warning": relink_warning(r["provider"], r["account"], r["refresh_expires_at"])}
            for r in rows]
    if json_out:
        print_json(data)
        return
    if not data:
        info("no linked accounts — run 'parcelctl link kuaishou'")
        return
    console().print(accounts_table(data))
    for row in data:
        if row["warning"]:
            warn(row["warning"])
