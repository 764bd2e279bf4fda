"""Opening the store for a command: read-only for the screens that only look, writable
(creating the home) for the ones that change something."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store


def open_store(config: Config, *, readonly: bool = False) -> Store:
    from ..store import Store

    if not readonly:
        config.paths.ensure()
    return Store(config.paths.db_file, readonly=readonly)


def store_exists(config: Config) -> bool:
    return config.paths.db_file.exists()
