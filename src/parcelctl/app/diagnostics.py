"""Failures of the machine rather than of parcelctl, explained for the top-level handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import ConfigError, StoreError


def explain(exc: Exception) -> StoreError | ConfigError | None:
    """A failure of the machine rather than of parcelctl (the disk full under the store, a
    read-only file) as an expected one-line error; ``None`` if it is not one."""
    if isinstance(exc, OSError):  # a read-only home, a planted link
        from ..homefiles import explain_os_error

        return explain_os_error(exc)
    if type(exc).__module__ != "sqlite3":  # only SQLite's errors, without importing it
        return None
    from ..config import get_paths
    from ..store import explain as explain_store_error

    return explain_store_error(exc, get_paths().db_file)
