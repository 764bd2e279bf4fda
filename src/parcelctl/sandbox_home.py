"""Point the current home at a running sandbox, and back (``parcelctl sandbox use`` /
``sandbox leave``).

By hand that took a ``config set`` per provider key (24 of them) and broke whenever the
sandbox came up on another port. ``use`` writes every provider's sandbox settings at once
and keeps what it replaced; ``leave`` puts that back. The replaced values are kept in the
secret store, not in a file: some of them are the user's real keys.
"""

from __future__ import annotations

import json
from typing import Any

from .config import Config, is_secret_key
from .errors import UsageError

#: Secret-store entry holding {dotted key: the value before ``use``, or None if unset}.
SAVED = "sandbox.saved"


def sandbox_settings(base_url: str) -> dict[str, str]:
    """{dotted config key: value} that points every provider at the sandbox at
    ``base_url`` (the credentials ``sandbox serve`` prints)."""
    from .sandbox.server import Sandbox

    sandbox = Sandbox(orders=0)
    sandbox.base_url = base_url.rstrip("/")
    return {f"providers.{name}.{key}": value
            for name, table in sandbox.credentials().items() for key, value in table.items()}


def _current(config: Config, key: str) -> Any:
    return config.secrets.get(key) if is_secret_key(key) else config.get(key)


def _saved(config: Config) -> dict[str, Any] | None:
    raw = config.secrets.get(SAVED)
    if not raw:
        return None
    try:
        saved = json.loads(raw)
    except ValueError:
        return None
    return saved if isinstance(saved, dict) else None


def use(config: Config, base_url: str) -> int:
    """Point every provider at the sandbox; returns how many keys were set. Using it again
    (another port) keeps the values saved the first time."""
    settings = sandbox_settings(base_url)
    saved = _saved(config) or {}
    for key in settings:
        if key not in saved:
            saved[key] = _current(config, key)
    # Saved first: a failure halfway leaves what is needed to go back.
    config.secrets.set(SAVED, json.dumps(saved, ensure_ascii=False))
    for key, value in settings.items():
        config.set(key, value)
    return len(settings)


def in_use(config: Config) -> bool:
    return _saved(config) is not None


def leave(config: Config) -> int:
    """Put back every value ``use`` replaced (unset what was unset); returns how many."""
    saved = _saved(config)
    if saved is None:
        raise UsageError("this home is not pointed at the sandbox",
                         hint="'parcelctl sandbox use' does that; nothing to undo")
    for key, value in saved.items():
        if value is None:
            config.unset(key)
        else:
            config.set(key, value)
    config.secrets.delete(SAVED)
    return len(saved)
