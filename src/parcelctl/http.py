"""The one place that builds HTTP clients: timeouts, retries, rate limits, redaction.

Providers call :meth:`HttpClient.request`; they never create ``httpx`` clients themselves,
so every request of every provider gets the same politeness rules:

* a timeout on every request (connect and read);
* a minimum spacing between requests per provider (token-bucket style, shared by every
  coroutine of that provider, so concurrency never exceeds the documented rate);
* retries with exponential backoff and jitter for idempotent calls and for 5xx/transport
  errors, never in a tight loop; ``Retry-After`` honoured on 429;
* TLS verification always on (there is deliberately no switch to turn it off).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from . import __version__
from .errors import ProviderChanged, RateLimited, TransientError

log = logging.getLogger("parcelctl.http")

USER_AGENT = f"parcelctl/{__version__} (+https://github.com/parcelctl/parcelctl)"

_SECRETS: set[str] = set()
_SECRET_PARAM = re.compile(
    r"(?i)((?:access_token|refresh_token|app_secret|sign|key|token|17token|secret|code|session)"
    r"=)[^&\s\"']+"
)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` removes it from any text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return _SECRET_PARAM.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        return True


@dataclass(slots=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: Give up waiting for a Retry-After longer than this; the next sync will try again.
    max_retry_after: float = 60.0


class RateLimiter:
    """At most ``rate`` requests per second, spaced evenly, shared across coroutines."""

    def __init__(self, rate: float | None) -> None:
        # 5% margin: the server counts by arrival time, and network jitter must not push a
        # request into the previous second.
        self.interval = 1.05 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)

    def penalize(self, seconds: float) -> None:
        """After a 429, nobody of this provider sends before ``seconds`` have passed."""
        self._next = max(self._next, time.monotonic() + seconds)


class HttpClient:
    """An ``httpx.AsyncClient`` bound to one provider's politeness rules."""

    def __init__(
        self,
        provider: str,
        *,
        rate: float | None = None,
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.limiter = RateLimiter(rate)
        self.retry = retry or RetryPolicy()
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.requests_sent = 0
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max(1, concurrency), max_keepalive_connections=8),
            trust_env=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with rate limiting and retries; return any non-5xx, non-429 response.

        Non-idempotent calls are retried only when the request certainly did not reach the
        server (connect errors), never after a timeout or a 5xx.
        """
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            try:
                async with self.semaphore:
                    self.requests_sent += 1
                    response = await self._client.request(
                        method, url, params=params, data=data, json=json, headers=headers
                    )
            except httpx.ConnectError as exc:
                error: Exception = exc
                retry_ok = True
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                error = exc
                retry_ok = idempotent
            else:
                if response.status_code == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                    self.limiter.penalize(wait)
                    if attempt >= self.retry.attempts or wait > self.retry.max_retry_after:
                        raise RateLimited(
                            "the service is throttling requests (HTTP 429)",
                            provider=self.provider,
                            retry_after=retry_after,
                            hint="parcelctl will try again on the next sync",
                        )
                    log.debug("%s: 429, waiting %.1fs", self.provider, wait)
                    await asyncio.sleep(wait)
                    continue
                if response.status_code >= 500:
                    error = TransientError(
                        f"server error HTTP {response.status_code}", provider=self.provider,
                        hint="the service is having trouble; try again later",
                    )
                    retry_ok = idempotent
                else:
                    return response
            if not retry_ok or attempt >= self.retry.attempts:
                raise _as_provider_error(error, self.provider) from None
            delay = self._backoff(attempt)
            log.debug("%s: %s, retry %d in %.2fs", self.provider, type(error).__name__,
                      attempt, delay)
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        base = min(self.retry.max_delay, self.retry.base_delay * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


def _as_provider_error(error: Exception, provider: str) -> Exception:
    if isinstance(error, TransientError):
        return error
    if isinstance(error, httpx.TimeoutException):
        return TransientError("the service did not answer in time", provider=provider,
                              hint="check your network and try again later")
    return TransientError(f"cannot reach the service ({type(error).__name__})",
                          provider=provider, hint="check your network and try again later")


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_body(response: httpx.Response, provider: str) -> Any:
    """Decode JSON or raise ProviderChanged (HTML error pages, truncated bodies...)."""
    try:
        return response.json()
    except ValueError:
        snippet = response.text[:60].replace("\n", " ")
        raise ProviderChanged(
            f"answered HTTP {response.status_code} with something that is not JSON "
            f"({redact(snippet)!r}…)",
            provider=provider,
        ) from None
