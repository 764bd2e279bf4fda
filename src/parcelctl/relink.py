"""Say "link again" before a linked account's authorization runs out.

A platform whose refresh token has a known life (Douyin: 14 days, errata D4; Kuaishou's
refresh_token_expires_in) stores its end as ``accounts.refresh_expires_at``. Past it no
refresh works and only a new link helps, so ``accounts`` and ``sync`` say so a few days
ahead instead of failing on the day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import utcnow

#: How long before the end the warning starts.
WARN_WITHIN = timedelta(days=3)


def relink_warning(provider: str, account: str, refresh_expires_at: str | None,
                   now: datetime | None = None) -> str | None:
    """One line for an authorization that ends within :data:`WARN_WITHIN`, else None."""
    if not refresh_expires_at:
        return None
    try:
        until = datetime.fromisoformat(refresh_expires_at)
    except ValueError:
        return None
    if until.tzinfo is None:
        return None
    left = until - (now or utcnow())
    if left > WARN_WITHIN:
        return None
    command = f"parcelctl link {provider}" + (f" --account {account}"
                                              if account != "default" else "")
    day = until.astimezone().strftime("%Y-%m-%d %H:%M")
    if left <= timedelta():
        return f"{provider}:{account}: the authorization ran out on {day}; run: {command}"
    span = (f"{left.days} day{'s' if left.days > 1 else ''}" if left.days
            else f"{max(1, left.seconds // 3600)} h")
    return (f"{provider}:{account}: the authorization runs out in {span} ({day}); "
            f"link again before then: {command}")
