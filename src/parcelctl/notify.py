"""Notification channels (desktop, webhook, command, apprise) — filled in by the watch issue."""

from __future__ import annotations

from typing import Any


def after_sync(config: Any, store: Any, summary: Any) -> None:
    """Record and deliver notifications for the changes of one sync run."""
    return None
