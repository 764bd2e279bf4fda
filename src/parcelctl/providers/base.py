"""Provider interfaces and shared helpers.

Inside a provider, I/O stays apart from parsing: ``build request -> send (HttpClient) ->
parse_*()`` where every ``parse_*`` is a pure function from a decoded payload to model
objects, tested from golden payload files without any network.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from ..errors import AuthorizationNeeded, ConfigError, ProviderChanged
from ..http import HttpClient
from ..models import CarrierCandidate, Order, Status, TokenSet, TrackRequest, TrackResult, utcnow

log = logging.getLogger("parcelctl.providers")


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One ``providers.NAME.KEY`` setting, as ``config set`` checks it and ``config keys``
    lists it. ``secret=True`` alone decides that the value goes to the secret store.

    ``type`` is one of text, url, integer, number, boolean, list, table, any; left out, it
    follows the default (30 -> integer, [] -> list, a ``*_url`` name -> url, else text).
    ``minimum``/``maximum`` bound numbers (defaults: 0 and 1,000,000); ``choices`` limits a
    text to a few values."""

    name: str
    help: str
    default: Any = None
    secret: bool = False
    required: bool = False
    type: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


class Provider(ABC):
    """Common part of every provider."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "tracking" | "platform"
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    config_keys: ClassVar[tuple[ConfigKey, ...]] = ()
    #: Documented request rate (requests/second) for one credential; None = unknown/none.
    rate_per_second: ClassVar[float | None] = None
    #: Default concurrency of in-flight requests.
    concurrency: ClassVar[int] = 4
    capabilities: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Mapping[str, Any], http: HttpClient) -> None:
        self.settings = {k.name: k.default for k in self.config_keys} | dict(settings)
        self.http = http

    @classmethod
    def missing_settings(cls, settings: Mapping[str, Any]) -> list[str]:
        return [k.name for k in cls.config_keys if k.required and not settings.get(k.name)]

    @classmethod
    def is_configured(cls, settings: Mapping[str, Any]) -> bool:
        return not cls.missing_settings(settings)

    def require(self, key: str) -> str:
        value = self.settings.get(key)
        if value in (None, ""):
            raise ConfigError(
                f"'{key}' is not configured",
                provider=self.name,
                hint=f"run: parcelctl config set providers.{self.name}.{key} VALUE",
            )
        return str(value)

    def url(self, key: str = "base_url") -> str:
        return self.require(key).rstrip("/")

    def changed(self, what: str) -> ProviderChanged:
        return ProviderChanged(what, provider=self.name)


class TrackingProvider(Provider):
    kind: ClassVar[str] = "tracking"
    #: Never ask about the same number more often than this (minutes) by default.
    min_interval_minutes: ClassVar[int] = 30
    #: Numbers per request (1 = no batching).
    batch_size: ClassVar[int] = 1

    def numbers_per_call(self) -> int:
        """How many numbers one :meth:`track` call takes: ``batch_size``, unless a provider
        lets its settings change it (a bad setting raises ConfigError)."""
        return self.batch_size

    def check_request(self, request: TrackRequest) -> None:
        """Raise before any network I/O when a request cannot succeed (e.g. phone missing)."""

    @abstractmethod
    async def track(self, requests: Sequence[TrackRequest]) -> list[TrackResult]:
        """Track up to ``batch_size`` numbers. Per-item failures go into ``TrackResult.error``;
        whole-call failures raise :class:`ProviderError`."""

    async def detect_carrier(self, number: str) -> list[CarrierCandidate]:
        """Ask the service which carrier a number belongs to (best first). Default: no idea."""
        return []


TokenSaver = Callable[[TokenSet], Awaitable[None] | None]


@dataclass(slots=True)
class AccountSession:
    """A linked account during one sync: its tokens and how to persist rotated ones."""

    provider: str
    account: str
    tokens: TokenSet
    save: TokenSaver
    #: Incremental sync: orders updated since this instant (None = first sync).
    since: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def store(self, tokens: TokenSet) -> None:
        """Persist first, then switch: a crash in between still leaves a valid token stored."""
        result = self.save(tokens)
        if result is not None:
            await result
        self.tokens = tokens


class PlatformProvider(Provider):
    kind: ClassVar[str] = "platform"
    #: scope -> what it lets parcelctl read, in plain words (shown before consent).
    scopes: ClassVar[dict[str, str]] = {}
    #: Refresh this long before the access token expires.
    refresh_margin: ClassVar[timedelta] = timedelta(minutes=10)
    #: Free-text notes shown by ``link`` and ``providers`` (policy constraints, unknowns).
    notes: ClassVar[str] = ""

    @property
    def redirect_uri(self) -> str:
        return self.require("redirect_uri")

    @abstractmethod
    def authorize_url(self, state: str) -> str: ...

    async def authorize_without_browser(self) -> TokenSet | None:
        """Platforms with a browserless grant (e.g. self-use apps) return tokens here."""
        return None

    @abstractmethod
    async def exchange_code(self, code: str) -> TokenSet: ...

    @abstractmethod
    async def refresh(self, tokens: TokenSet) -> TokenSet: ...

    @abstractmethod
    async def list_orders(self, session: AccountSession) -> list[Order]:
        """All orders the account can see that changed since ``session.since``."""

    async def iter_orders(self, session: AccountSession) -> AsyncIterator[list[Order]]:
        """The same orders, a page at a time as they arrive, so that storing one page
        overlaps fetching the next. An order may come again in a later page only in a newer
        version. This default yields :meth:`list_orders` as one page."""
        yield await self.list_orders(session)

    async def fresh_tokens(self, session: AccountSession, *, force: bool = False) -> TokenSet:
        """Refresh (and persist) when the access token is expired or about to be."""
        tokens = session.tokens
        now = utcnow()
        if tokens.refresh_expires_at and tokens.refresh_expires_at <= now and force:
            raise self.reauthorize("the authorization has expired")
        expiring = tokens.access_expires_at is not None and (
            tokens.access_expires_at - self.refresh_margin <= now
        )
        if force or expiring or not tokens.access_token:
            if not tokens.refresh_token:
                raise self.reauthorize("the access token expired and there is no refresh token")
            new = await self.refresh(tokens)
            await session.store(new)
            return new
        return tokens

    def reauthorize(self, why: str) -> AuthorizationNeeded:
        return AuthorizationNeeded(why, provider=self.name,
                                   hint=f"run: parcelctl link {self.name}")


def as_str(value: Any) -> str:
    """Remote scalars come as strings or numbers; normalize without guessing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def expect_dict(value: Any, provider: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProviderChanged(f"{what} is not a JSON object", provider=provider)
    return value


def expect_list(value: Any, provider: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProviderChanged(f"{what} is not a JSON array", provider=provider)
    return value


def lifetime_end(now: datetime, seconds: int, provider: str) -> datetime:
    """``now + seconds`` for a lifetime a service sent (``expires_in``…). An absurd value
    is a changed API (ProviderChanged), not an OverflowError out of datetime."""
    try:
        return now + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise ProviderChanged(f"a lifetime of {str(seconds)[:24]} seconds is out of range",
                              provider=provider) from None


#: The instants a parcel's times may take. Outside them a time is garbage (0001-01-01 is
#: an "empty" date of some Java backends), and 0001-01-01 in UTC+8 cannot even be shifted
#: to UTC: an OverflowError far from the parser, in the store.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def checked_time(value: datetime, provider: str, what: str = "a time") -> datetime:
    """``value`` if it is a timezone-aware instant a parcel can have; else the provider's
    error (ProviderChanged). Comparing aware datetimes never overflows."""
    if value.tzinfo is None or value.utcoffset() is None or not EARLIEST <= value <= LATEST:
        raise ProviderChanged(f"{what} {value.isoformat()[:32]!r} is out of range",
                              provider=provider)
    return value


def wall_time(text: str, fmt: str, zone: tzinfo, provider: str, what: str = "a time"
              ) -> datetime:
    """A wall-clock time in a service's zone (``yyyy-MM-dd HH:mm:ss`` Beijing time, …),
    checked like :func:`checked_time`; unreadable text is the provider's error too."""
    try:
        parsed = datetime.strptime(text, fmt).replace(tzinfo=zone)
    except ValueError:
        raise ProviderChanged(f"{what} {text[:30]!r} is not '{fmt}'", provider=provider
                              ) from None
    return checked_time(parsed, provider, what)


def map_status(table: Mapping[str, Status], code: str, provider: str) -> Status:
    """Look a remote code up in a provider's table; unknown codes are logged, never guessed."""
    status = table.get(code)
    if status is None:
        log.warning("%s: unmapped status code %r -> unknown", provider, code)
        return Status.UNKNOWN
    return status
