"""The one place that builds HTTP clients: timeouts, retries, rate limits, redaction.

Providers call :meth:`HttpClient.request`; they never create ``httpx`` clients themselves,
so every request of every provider gets the same politeness rules:

* a deadline on every request: connect, headers and the whole body within ``timeout``
  seconds (``http.timeout``), so a server that drips a byte a second is cut off, not
  waited for (httpx's own timeout is per read);
* a cap on every answer's size, raw and decompressed (``http.max_body_mb``): the body is
  streamed and counted, and gzip/deflate are inflated here with a bounded output, so a
  1 MB gzip that expands to 1 GB costs at most the cap in memory;
* a minimum spacing between requests per provider (token-bucket style, shared by every
  coroutine of that provider, so concurrency never exceeds the documented rate);
* retries with exponential backoff and jitter for idempotent calls and for 5xx/transport
  errors, never in a tight loop; ``Retry-After`` honoured on 429;
* TLS verification always on (there is deliberately no switch to turn it off).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import time
import zlib
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from . import __version__
from .errors import ProviderChanged, ProviderError, RateLimited, TransientError

# Re-exported: providers and the CLI import these from here.
from .redaction import RedactingFilter as RedactingFilter
from .redaction import redact as redact
from .redaction import register_secret as register_secret

log = logging.getLogger("parcelctl.http")

T = TypeVar("T")


def _remember_missing_sniffio() -> None:
    """httpcore runs ``import sniffio`` on every lock it sets up (several per request); when
    sniffio is not installed, every one of those failed imports searches sys.path again,
    which made a thousand-request sync spend seconds in the import system. Recording the
    miss once makes the next imports fail at once, exactly as before (ImportError)."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_missing_sniffio()

@functools.cache
def _tls_context() -> Any:
    """One verified TLS context per process, shared by every provider's client.

    Building one loads the whole CA bundle (~50 ms of CPU), and each provider of each sync
    built its own. Same settings as httpx's default (``verify=True``, honouring
    SSL_CERT_FILE/SSL_CERT_DIR); an httpx without ``create_ssl_context`` keeps its default.
    """
    create = getattr(httpx, "create_ssl_context", None)
    return create(trust_env=True) if create is not None else True


@functools.cache
def _no_ca_context() -> Any:
    """For a provider whose every URL is plain ``http://`` (the sandbox, a local mirror): it
    never does TLS, so it need not load the CA bundle. Verification stays on and no CA is
    trusted, so anything that did try TLS through it would fail closed. One per process."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, hostname checks


#: No URL in it: the project has no public home yet, and an invented one points nowhere.
USER_AGENT = f"parcelctl/{__version__}"

#: Default cap on one answer, raw and decompressed (``http.max_body_mb``), and its range.
MAX_BODY_MB = 10.0
MAX_BODY_RANGE = (1.0, 1024.0)
#: ``http.timeout`` is used as each request's whole deadline; a hand-edited ``inf`` is this.
MAX_TIMEOUT = 3600.0
#: Only encodings this module inflates with a bounded output are asked for.
ACCEPT_ENCODING = "gzip, deflate"

@dataclass(slots=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: Give up waiting for a Retry-After longer than this; the next sync will try again.
    max_retry_after: float = 60.0


class RateLimiter:
    """At most ``rate`` requests per second, spaced evenly, shared across coroutines."""

    def __init__(self, rate: float | None, *, memory: Path | None = None,
                 name: str = "") -> None:
        # 5% margin: the server counts by arrival time, and network jitter must not push a
        # request into the previous second.
        self.interval = 1.05 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()
        # The service counts requests per second across processes: `add` right after a cron
        # `sync` must keep the spacing the last process left off with (``memory`` file).
        self._memory = memory if self.interval else None
        self._name = name
        if self._memory is not None:
            # Never more than one interval: a time in the file that lies ahead (edited by
            # hand, or the wall clock stepped back since) must not stall sync or add.
            self._next = time.monotonic() + min(_recall(self._memory, name), self.interval)

    def remember(self) -> None:
        """Leave the time of this provider's next allowed request for the next process."""
        if self._memory is None:
            return
        wait = min(self._next - time.monotonic(), self.interval)  # spacing, not penalties
        if wait <= 0:
            return
        import json

        from .homefiles import atomic_write

        try:
            data = json.loads(self._memory.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data = data if isinstance(data, dict) else {}
        data[self._name] = time.time() + wait
        try:
            atomic_write(self._memory, json.dumps(data).encode())
        except OSError:
            log.debug("cannot write %s", self._memory)  # a hint, not worth failing over

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


def _recall(memory: Path, name: str) -> float:
    """Seconds to wait before the first request: what the previous process left."""
    import json

    try:
        until = json.loads(memory.read_text(encoding="utf-8")).get(name, 0)
        return max(0.0, float(until) - time.time())
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


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
        rate_memory: Path | None = None,
        tls: bool = True,
        max_body: int = int(MAX_BODY_MB * 2**20),
    ) -> None:
        """``tls=False``: every URL of this provider is ``http://`` (see _no_ca_context).
        ``timeout``: each request's deadline (seconds); ``max_body``: bytes per answer."""
        self.provider = provider
        self._verify = _tls_context if tls else _no_ca_context
        self.limiter = RateLimiter(rate, memory=rate_memory, name=provider)
        self.retry = retry or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self.semaphore = asyncio.Semaphore(self.concurrency)
        self.requests_sent = 0
        self._timeout = min(max(timeout, 0.001), MAX_TIMEOUT)
        self.max_body = max(1, max_body)
        self._transport = transport
        # Lanes: one single-connection client per request in flight instead of one pool of
        # ``concurrency`` connections. httpcore walks every connection of its pool (and asks
        # each socket whether it is still readable) on every request, which cost a wide
        # provider about 1 ms of CPU per request at 13 in flight: enough to make a 200-page
        # order import CPU-bound. A lane is taken LIFO, so its kept-alive connection is warm.
        # An injected transport (tests) is shared by one client, as before.
        self._idle: list[httpx.AsyncClient] = []
        self._lanes: list[httpx.AsyncClient] = []
        if transport is not None:
            self._lanes.append(self._new_client(self.concurrency))
        else:
            self._new_lane()  # the first one now: it builds the TLS context (see _tls_context)
        self._idle.append(self._lanes[0])
        self._backend_ready = transport is not None

    async def _load_backend(self) -> None:
        """Load the async network backend before the first rate slot is taken.

        httpcore imports anyio's asyncio backend on its first request: 30-50 ms that would
        fall between the slot and the send. The first request then arrives late, and
        squeezed against the next one it can put four requests into one of 17TRACK's
        seconds when an `add` follows another process at the remembered spacing.
        """
        import anyio.lowlevel

        await anyio.lowlevel.checkpoint()
        self._backend_ready = True

    def _new_client(self, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
            transport=self._transport,
            follow_redirects=False,
            verify=self._verify() if self._transport is None else True,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections),
            trust_env=True,
        )

    def _new_lane(self) -> httpx.AsyncClient:
        client = self._new_client(1)
        self._lanes.append(client)
        return client

    def _take_lane(self) -> httpx.AsyncClient:
        """Called holding the semaphore, so there are never more lanes than ``concurrency``."""
        if self._transport is not None:
            return self._lanes[0]
        return self._idle.pop() if self._idle else self._new_lane()

    def _give_back(self, client: httpx.AsyncClient) -> None:
        if self._transport is None:
            self._idle.append(client)

    async def aclose(self) -> None:
        lanes, self._lanes, self._idle = self._lanes, [], []
        for client in lanes:
            await client.aclose()
        self.limiter.remember()

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
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        resend_unanswered: bool = True,
    ) -> httpx.Response:
        """Send with rate limiting and retries; return any non-5xx, non-429 response.

        Non-idempotent calls are retried only when the request certainly did not reach the
        server (connect errors), never after a timeout or a 5xx. ``resend_unanswered=False``
        keeps the retries after an error answer (5xx) but not after a request that may have
        been served and got no answer (read timeout, dropped connection): a paid query that
        locks numbers asked twice (Kuaidi100) must not go out again seconds later.
        """
        if not self._backend_ready:
            await self._load_backend()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.semaphore:
                    client = self._take_lane()
                    try:
                        # The rate slot is taken last, right before the send: a wait for a
                        # free slot or a lane in between would bunch requests up.
                        await self.limiter.acquire()
                        self.requests_sent += 1
                        response = await self._send(client, client.build_request(
                            method, url, params=params, data=data, json=json,
                            content=content, headers=headers))
                    finally:
                        self._give_back(client)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error: Exception = exc
                retry_ok = True  # nothing was sent
            except (httpx.TimeoutException, httpx.TransportError, TimeoutError) as exc:
                error = exc
                retry_ok = idempotent and resend_unanswered
            else:
                if response.status_code == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                    # Never longer than we would wait ourselves (a far-future HTTP date,
                    # a clock step): the other requests of this run wait on it too.
                    self.limiter.penalize(min(wait, self.retry.max_retry_after))
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
                raise _as_provider_error(error, self.provider, self._timeout, url) from None
            delay = self._backoff(attempt)
            log.debug("%s: %s, retry %d in %.2fs", self.provider, type(error).__name__,
                      attempt, delay)
            await asyncio.sleep(delay)

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request
                    ) -> httpx.Response:
        """One exchange within the deadline, its body read capped (see :func:`read_capped`).
        A cancelled or refused read closes the connection, never returns it to the pool."""
        async with asyncio.timeout(self._timeout):
            streamed = await client.send(request, stream=True)
            try:
                body = await read_capped(streamed, self.max_body, self.provider)
            finally:
                await streamed.aclose()
        return complete(streamed, body)

    def _backoff(self, attempt: int) -> float:
        base = min(self.retry.max_delay, self.retry.base_delay * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


def _as_provider_error(error: Exception, provider: str, timeout: float,
                       url: str = "") -> Exception:
    if isinstance(error, TransientError):
        return error
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout) and url:
        # Name the address: a base_url pointing at a sandbox that is not running (or a
        # typo in it) is the usual cause. Only scheme, host and port: a query may carry
        # a key.
        parts = httpx.URL(url)
        where = f"{parts.scheme}://{parts.host}" + (f":{parts.port}" if parts.port else "")
        hint = ("is the sandbox running? start it with: parcelctl sandbox serve"
                if parts.host in ("127.0.0.1", "localhost") else
                "check your network and the provider's base_url, then try again")
        return TransientError(f"cannot reach {where} ({type(error).__name__})",
                              provider=provider, hint=hint)
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return TransientError(f"the service did not answer within {timeout:g}s "
                              "(http.timeout)", provider=provider,
                              hint="check your network and try again later")
    return TransientError(f"cannot reach the service ({type(error).__name__})",
                          provider=provider, hint="check your network and try again later")


def too_large(provider: str, limit: int) -> ProviderError:
    return ProviderError(f"answered with more than {limit / 2**20:g} MB; refused",
                         provider=provider,
                         hint="if such answers are genuine, raise http.max_body_mb")


class _Inflater:
    """gzip/deflate with a bounded output per call (``zlib``'s ``max_length``)."""

    def __init__(self, encoding: str, provider: str) -> None:
        self.encoding = encoding
        self.provider = provider
        self.started = False
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        """At most ``room`` bytes out; exactly ``room`` means "there was more"."""
        try:
            out = self._z.decompress(data, room)
        except zlib.error:
            if self.encoding != "deflate" or self.started:
                raise self.lie() from None
            # "deflate" is raw DEFLATE on some servers (httpx accepts both).
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            self.started = True
            return self.feed(data, room)
        self.started = True
        return out

    def finish(self) -> None:
        if not self._z.eof:
            raise self.lie()

    def lie(self) -> ProviderChanged:
        return ProviderChanged(f"sent a body that is not the {self.encoding} it declares "
                               "(Content-Encoding)", provider=self.provider)


async def read_capped(response: httpx.Response, limit: int, provider: str) -> bytes:
    """The decoded body of a streamed response, refused past ``limit`` bytes raw or
    decoded. A declared Content-Length over the limit is refused before reading."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(provider, limit)
    try:
        content = response.content  # read already: an answer built in memory (tests)
    except httpx.ResponseNotRead:
        pass
    else:
        if len(content) > limit:
            raise too_large(provider, limit)
        return content
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding, provider)
    elif encoding not in ("", "identity"):
        raise ProviderChanged(f"sent a body in an encoding parcelctl did not ask for "
                              f"({encoding[:30]!r})", provider=provider)
    parts: list[bytes] = []
    raw = size = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise too_large(provider, limit)
        if inflater is not None:
            chunk = inflater.feed(chunk, limit - size + 1)
        size += len(chunk)
        if size > limit:
            raise too_large(provider, limit)
        parts.append(chunk)
    if inflater is not None and raw:
        inflater.finish()
    return b"".join(parts)


def complete(streamed: httpx.Response, body: bytes) -> httpx.Response:
    """A read response with ``body`` as its (already decoded) content."""
    headers = [(k, v) for k, v in streamed.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    extensions = {k: v for k, v in streamed.extensions.items()
                  if k in ("http_version", "reason_phrase")}
    return httpx.Response(streamed.status_code, headers=headers, content=body,
                          request=streamed.request, extensions=extensions)


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


#: A JSON escape of a UTF-16 surrogate; only lone ones survive decoding (pairs are joined).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def json_body(response: httpx.Response, provider: str) -> Any:
    """Decode JSON or raise ProviderChanged (HTML error pages, truncated bodies...)."""
    try:
        data = response.json()
        # "\ud800" is valid JSON but decodes to a string that cannot be encoded: SQLite,
        # hashing and the terminal would fail on it later. It becomes U+FFFD here.
        if _SURROGATE_ESCAPE.search(response.content):
            data = _scrub(data)
        return data
    except RecursionError:
        raise ProviderChanged("answered with JSON nested too deeply to read",
                              provider=provider) from None
    except ValueError:
        snippet = response.text[:60].replace("\n", " ")
        raise ProviderChanged(
            f"answered HTTP {response.status_code} with something that is not JSON "
            f"({redact(snippet)!r}…)",
            provider=provider,
        ) from None


def post_within(url: str, *, content: bytes, headers: Mapping[str, str], deadline: float,
                max_body: int = 64 * 1024) -> int:
    """POST and read the answer within ``deadline`` seconds in all (a receiver that
    drips its answer is a failed delivery, not a slow success); the status code. Raises
    ``httpx.HTTPError`` or ``TimeoutError``. For callers without an event loop of their
    own (notification channels); inside one it runs on a helper thread."""
    deadline = min(max(deadline, 0.001), MAX_TIMEOUT)

    async def post() -> int:
        async with httpx.AsyncClient(timeout=deadline, follow_redirects=False,
                                     headers={"Accept-Encoding": ACCEPT_ENCODING}) as client:
            async with asyncio.timeout(deadline):
                streamed = await client.send(client.build_request(
                    "POST", url, content=content, headers=dict(headers)), stream=True)
                try:
                    await read_capped(streamed, max_body, "webhook")
                except ProviderError:
                    pass  # the status is the answer; an odd body does not undo delivery
                finally:
                    await streamed.aclose()
                return streamed.status_code

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(post())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, post()).result()


async def gather_or_cancel(jobs: list[Awaitable[T]]) -> list[T]:
    """Like ``gather``, but the first failure cancels (and awaits) the other jobs, so a
    failing provider never leaves requests running in the background."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
