"""Kuaishou settings read from config, and the limits a walk of the order list keeps."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, ProviderError
from ..base import as_str
from .protocol import NAME
from .tables import EXPRESS_CODES

#: Defaults of max_pages_per_window / max_pages_per_run: 2,000 pages of 50 = 100,000 orders
#: in one 7-day window; 10,000 pages take at least 35 s at the documented 300 QPS.
MAX_PAGES_PER_WINDOW = 2_000
MAX_PAGES_PER_RUN = 10_000
#: A throttled ("Exceed qps limit") call is asked this many times in all before giving up.
QPS_ATTEMPTS = 5


@dataclass(slots=True)
class PageBudget:
    """Pages left for the whole walk, shared by every window."""

    left: int


def qps_wait(attempt: int, base: float) -> float:
    """Seconds to wait after the ``attempt``-th throttled answer: doubling, jittered."""
    return min(8.0, base * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


def endless_error(what: str, key: str) -> ProviderError:
    return ProviderError(
        f"the order list did not end after {what} (the platform kept answering a new "
        "cursor); nothing of this import was saved", provider=NAME,
        hint=f"if the shop really has that many orders, raise providers.{NAME}.{key}")


def code_set(settings: Mapping[str, Any], key: str) -> set[str]:
    value = settings.get(key) or []
    if not isinstance(value, list):
        value = [value]
    return {as_str(v) for v in value} - {""}


def carriers(settings: Mapping[str, Any]) -> dict[str, str]:
    extra = settings.get("express_codes") or {}
    if not isinstance(extra, Mapping):
        raise ConfigError("express_codes must be a table of expressCode = carrier code",
                          provider=NAME,
                          hint=f"e.g. parcelctl config set providers.{NAME}.express_codes "
                               "'{\"40\" = \"annengwuliu\"}'")
    return EXPRESS_CODES | {as_str(k): as_str(v) for k, v in extra.items()}


def bounded(settings: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"'{key}' must be a whole number from {low} to {high}",
                          provider=NAME,
                          hint=f"run: parcelctl config set providers.{NAME}.{key} {high}")
    return value
