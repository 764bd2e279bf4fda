"""parcelctl digest (see the watch/notifications issue)."""

from __future__ import annotations


def main() -> None:
    """Not available yet."""
    from ..errors import UsageError

    raise UsageError("'digest' is not available in this version yet")
