"""A full disk for the reliability tests: ``install("N")`` lets each store connection grow
the database by at most N pages (SQLite's ``max_page_count``). A write that needs more fails
exactly as it does on a full disk: SQLITE_FULL, "database or disk is full", and SQLite
rolls the whole transaction back by itself."""

from __future__ import annotations

from typing import Any


def install(spec: str) -> None:
    from parcelctl.store import Store

    extra = int(spec or 0)
    migrate = Store._migrate

    def capped(self: Any) -> None:
        migrate(self)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {pages + extra}")

    Store._migrate = capped  # type: ignore[method-assign]
