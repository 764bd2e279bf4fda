"""parcelctl accounts — linked accounts, token expiry, last sync, health."""

from __future__ import annotations

import typer

#: The fields of an account row in TSV or CSV (docs/output.md).
FIELDS = ("account", "health", "refresh_expires_at", "last_sync_at", "last_error", "warning")


def main(
    json_out: bool = typer.Option(False, "--json", help="Print JSON (see docs/output.md); the "
                                  "same as --format json."),
    fmt: str | None = typer.Option(None, "--format", help="table, tsv, csv or json (default: "
                                   "a table on a terminal, tsv when piped)."),
) -> None:
    """Show linked accounts."""
    from ..relink import relink_warning
    from .common import load_config, open_store, store_exists
    from .output import (
        accounts_table,
        choose_format,
        console,
        field,
        info,
        print_json,
        warn,
        write_csv,
        write_tsv,
    )

    chosen = choose_format(fmt, json_out, ("table", "tsv", "csv", "json"))

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
    if chosen == "json":
        print_json(data)
        return
    if chosen in ("tsv", "csv"):
        fields = [[field(f"{r['provider']}:{r['account']}"), field(r["health"]),
                   field(r["refresh_expires_at"]), field(r["last_sync_at"]),
                   field(r["last_error"]), field(r["warning"])] for r in data]
        if chosen == "csv":
            write_csv(FIELDS, fields)
        else:
            write_tsv(fields)
        for row in data:  # for the person reading a cron mail, not only for scripts
            if row["warning"]:
                warn(row["warning"])
        return
    if not data:
        info("no linked accounts — run 'parcelctl link kuaishou'")
        return
    console().print(accounts_table(data))
    for row in data:
        if row["warning"]:
            warn(row["warning"])
