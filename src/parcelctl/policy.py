"""When to look at a parcel again: one place for the whole polling policy.

Each status has an interval; the provider's minimum interval is a floor; jitter spreads
load; parcels with no new event for ``stale_days`` are polled rarely; final statuses never,
except a parcel still on its way back (``returned`` + returning): every ``polling.returned``
minutes until the return ends or goes quiet for ``stale_days`` (errata Q2).
All intervals are configurable under ``[polling]`` (minutes), e.g.
``parcelctl config set polling.in_transit 180``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .models import FINAL_STATUSES, Status

DEFAULT_MINUTES: dict[str, int] = {
    Status.OUT_FOR_DELIVERY.value: 60,
    Status.IN_TRANSIT.value: 240,
    Status.INFO_RECEIVED.value: 360,
    Status.READY_FOR_PICKUP.value: 1440,
    Status.EXCEPTION.value: 720,
    Status.UNKNOWN.value: 360,
    Status.AWAITING_SHIPMENT.value: 360,
    Status.RETURNED.value: 1440,  # only while returning: slowly, it is not coming to you
}


@dataclass(slots=True)
class Policy:
    minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MINUTES))
    stale_days: float = 7.0
    stale_minutes: int = 1440
    jitter: float = 0.1
    #: Floor for every provider, whatever its own minimum says.
    min_minutes: int = 30
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None) -> Policy:
        policy = cls()
        if not isinstance(table, Mapping):
            return policy
        for key, value in table.items():
            if (key in DEFAULT_MINUTES and isinstance(value, int | float)
                    and not isinstance(value, bool) and value > 0):
                policy.minutes[key] = int(value)
        for key in ("stale_days", "stale_minutes", "jitter", "min_minutes"):
            value = table.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                setattr(policy, key, type(getattr(policy, key))(value))
        return policy

    def is_stale(self, last_event: datetime | None, now: datetime) -> bool:
        return last_event is not None and now - last_event > timedelta(days=self.stale_days)

    def next_check(self, status: str, now: datetime, *, provider_min_minutes: int,
                   last_event: datetime | None = None, returning: bool = False
                   ) -> datetime | None:
        """None = never again (delivered, returned, cancelled; a return that went quiet)."""
        if status == Status.RETURNED.value and returning:
            if self.is_stale(last_event, now):
                return None
        elif status in {s.value for s in FINAL_STATUSES}:  # delivered, returned, cancelled
            return None
        minutes = float(self.minutes.get(status, DEFAULT_MINUTES[Status.UNKNOWN.value]))
        if self.is_stale(last_event, now):
            minutes = max(minutes, float(self.stale_minutes))
        floor = float(max(provider_min_minutes, self.min_minutes))
        # Jitter only upwards, so the provider's minimum interval is never undercut.
        minutes = max(minutes, floor) * (1.0 + self.rng.uniform(0.0, self.jitter))
        return now + timedelta(minutes=minutes)
