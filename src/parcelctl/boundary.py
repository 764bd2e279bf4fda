"""Where ``sync`` meets a provider: whatever a server sends is that provider's error.

A provider turns a payload into models; a payload nobody foresaw (JSON nested 100,000
deep, a body that lies about its gzip, an event dated 0001-01-01, a field of the wrong
type deep inside) can raise anything from anywhere in that code, or produce models the
store cannot take. Guarding each parser against each shape is whack-a-mole, so the rule is
structural, at the one place every provider is called from:

* :func:`call` and :func:`pages` turn any exception out of a provider's ``track`` or
  ``iter_orders`` into :class:`ProviderChanged` naming the provider (the original is logged
  at debug level, with its traceback). ``sync`` then fails that provider only: one line,
  exit 3, the other providers' answers saved. The machine's own failures (``OSError``: a
  full disk, a read-only home) are not the server's doing and pass through unchanged, as
  do parcelctl's own errors and cancellation.
* Both stop at the run's :class:`Deadline` (``sync.deadline``): a provider still busy then
  fails with one line, and what it answered before stays saved (an account import, being
  all-or-nothing, is rolled back). Providers spend their time inside these calls, so this
  bounds how long ``sync`` holds its lock.
* :func:`vet_result` and :func:`vet_orders` check what came out before it reaches the
  store: every time aware and within :data:`~parcelctl.providers.base.EARLIEST` ..
  ``LATEST``, and at most :data:`MAX_EVENTS` events per parcel per answer (the newest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from .errors import ParcelctlError, ProviderChanged, TransientError
from .models import Order, TrackingEvent, TrackResult
from .providers.base import checked_time

log = logging.getLogger("parcelctl.sync")

T = TypeVar("T")

#: Events kept per parcel from one answer: the newest. A real timeline has tens; an answer
#: with 200,000 is a broken or hostile server, and storing it would slow every ``show``.
MAX_EVENTS = 500

#: Not the server's doing (see the module docstring); the end of the pages.
_PASS_THROUGH = (ParcelctlError, OSError, StopAsyncIteration)


#: ``sync.deadline``: default and range (seconds).
DEADLINE_SECONDS = 1800.0
DEADLINE_RANGE = (1.0, 86400.0)


@dataclass(frozen=True, slots=True)
class Deadline:
    """The end of a run, on the event loop's clock."""

    at: float
    seconds: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        low, high = DEADLINE_RANGE
        seconds = min(max(seconds, low), high)  # a hand-edited file included
        return cls(asyncio.get_running_loop().time() + seconds, seconds)

    def error(self, provider: str) -> TransientError:
        return TransientError(f"stopped at the run's deadline of {self.seconds:g}s "
                              "(sync.deadline)", provider=provider,
                              hint="what was answered before is saved; the next sync "
                              "asks for the rest")


def as_provider_error(exc: Exception, provider: str) -> ProviderChanged:
    log.debug("%s: %s out of the provider's code", provider, type(exc).__name__,
              exc_info=exc)
    return ProviderChanged(f"its answer could not be read ({type(exc).__name__})",
                           provider=provider)


async def call(provider: str, awaitable: Awaitable[T], deadline: Deadline | None = None
               ) -> T:
    """Await one provider call; anything it raises is that provider's error."""
    timeout = asyncio.timeout_at(deadline.at if deadline else None)
    try:
        async with timeout:
            return await awaitable
    except TimeoutError:
        if deadline is not None and timeout.expired():
            raise deadline.error(provider) from None
        raise
    except _PASS_THROUGH:
        raise
    except Exception as exc:
        raise as_provider_error(exc, provider) from None


async def pages(provider: str, source: AsyncIterator[list[Order]],
                deadline: Deadline | None = None) -> AsyncGenerator[list[Order], None]:
    """``source``'s pages, vetted; what fetching or parsing a page raises is the provider's
    error. What the consumer does with a page is not guarded: it is not the server's."""
    try:
        while True:
            try:
                page = await call(provider, anext(source), deadline)
            except StopAsyncIteration:
                return
            yield vet_orders(provider, page)
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def vet_result(provider: str, result: TrackResult) -> TrackResult:
    result.events = _events(provider, result.number, result.events)
    return result


def vet_orders(provider: str, orders: list[Order]) -> list[Order]:
    for order in orders:
        for what in ("created_at", "updated_at", "promised_ship_at"):
            value = getattr(order, what)
            if value is not None:
                _time(provider, value, f"order {order.order_id[:40]} {what}")
        for number, events in order.traces.items():
            order.traces[number] = _events(provider, number, events)
    return orders


def _events(provider: str, number: str, events: list[TrackingEvent]
            ) -> list[TrackingEvent]:
    for event in events:
        _time(provider, event.time, f"an event time of {number[:40]}")
    if len(events) <= MAX_EVENTS:
        return events
    log.warning("%s: %s came with %d events; keeping the newest %d", provider, number[:40],
                len(events), MAX_EVENTS)
    return sorted(events, key=lambda e: e.time, reverse=True)[:MAX_EVENTS]


def _time(provider: str, value: object, what: str) -> None:
    if not isinstance(value, datetime):
        raise ProviderChanged(f"{what} is not a time", provider=provider)
    checked_time(value, provider, what)
